"""``--config.model.vectors=FILE`` on every classify variant, those without vectors included."""

from __future__ import annotations

import pytest
from absl import flags
from ml_collections import config_flags

from experiments.classify import configs


@pytest.mark.parametrize("variant", ["quick", "keras_tiny", "kim_rand", "kim_static", "bilstm"])
def test_vectors_can_be_set_from_the_command_line(variant):
    argv = ["classify", f"--config={configs.__file__}:{variant}",
            "--config.model.vectors=/data/vectors.txt"]
    values = flags.FlagValues()
    config_flags.DEFINE_config_file("config", flag_values=values, sys_argv=argv)
    values(argv)
    assert values.config.model.vectors == "/data/vectors.txt"
    assert configs.get_config(variant).model.vectors in (None, "glove_6b_50d")
