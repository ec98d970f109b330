"""rnnjax.train.config: the run and optim sections hold exactly the given fields (``None`` leaves
a field out, so the harness's default applies) and pass the harness's own checks."""

from __future__ import annotations

import pytest

from rnnjax.train.config import optim_config, run_config, smoke_test
from rnnjax.train.optim import check_optim_config, learning_rate
from rnnjax.train.replicates import replicate_list
from rnnjax.train.run import check_run_config


def test_run_config_holds_the_given_fields_and_leaves_out_the_unset():
    c = run_config("row", seeds=3, num_epochs=8, patience=2, log_every_steps=10,
                   checkpoint_every_steps=50)
    assert c.to_dict() == {"name": "row", "seed": 0, "seeds": 3, "num_epochs": 8,
                           "steps_per_epoch": 0, "patience": 2, "log_every_steps": 10,
                           "checkpoint_every_steps": 50}
    check_run_config(c)
    assert replicate_list(c) == [{"seed": 0}, {"seed": 1}, {"seed": 2}]

    plain = run_config("lm", seeds=None, num_epochs=1, log_every_steps=1,
                       checkpoint_every_steps=1, divergence_factor=0)
    assert "seeds" not in plain and "patience" not in plain
    assert plain.divergence_factor == 0 and isinstance(plain.divergence_factor, int)
    check_run_config(plain)
    assert replicate_list(plain) is None  # no seeds field: one plain run


def test_run_config_fields_keep_their_types_for_command_line_overrides():
    c = run_config("row", num_epochs=8, log_every_steps=10, checkpoint_every_steps=50)
    c.num_epochs = 12
    with pytest.raises(TypeError):
        c.num_epochs = "twelve"
    assert "patience" not in c and "divergence_factor" not in c


def test_smoke_test_is_one_seed_of_a_few_logged_steps():
    c = smoke_test(run_config("row", seeds=3, num_epochs=8, patience=2, log_every_steps=10,
                              checkpoint_every_steps=50), num_epochs=2)
    assert (c.name, c.seeds, c.num_epochs, c.steps_per_epoch, c.log_every_steps) == (
        "quick", 1, 2, 3, 1)
    assert c.patience == 2 and c.checkpoint_every_steps == 50  # the rest is the variant's
    stream = smoke_test(run_config("lm", seeds=None, num_epochs=5, log_every_steps=50,
                                   checkpoint_every_steps=500), "tiny", steps_per_epoch=2)
    assert "seeds" not in stream and (stream.name, stream.steps_per_epoch) == ("tiny", 2)


def test_optim_config_drives_the_schedule_and_leaves_out_the_unset():
    c = optim_config("sgd", learning_rate=1.0, momentum=0.0, lr_decay=0.5, lr_decay_after=4,
                     clip_norm=5.0)
    assert c.to_dict() == {"name": "sgd", "learning_rate": 1.0, "momentum": 0.0,
                           "lr_decay": 0.5, "lr_decay_after": 4, "clip_norm": 5.0,
                           "weight_decay": 0.0}
    check_optim_config(c)
    # Zaremba et al. 2014's small config: 1.0 for 4 epochs, then halved every epoch
    assert [learning_rate(c, epoch) for epoch in range(6)] == [1.0, 1.0, 1.0, 1.0, 0.5, 0.25]

    kim = optim_config("adadelta", learning_rate=1.0, clip_norm=0.0, lr_decay=None,
                       lr_decay_after=None, weight_decay=None, max_norm=3.0,
                       max_norm_params=("out.kernel",))
    assert kim.to_dict() == {"name": "adadelta", "learning_rate": 1.0, "clip_norm": 0.0,
                             "max_norm": 3.0, "max_norm_params": ("out.kernel",)}
    check_optim_config(kim)
    assert learning_rate(kim, 9) == 1.0  # no decay fields: a constant rate
