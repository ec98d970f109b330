"""The translation task's token budget (epochs become periods that spend config.train_tokens),
its valid subset and the size of its training data; the default config has both fields."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.seq2seq.configs import get_config
from experiments.seq2seq.long_pairs import translate
from experiments.seq2seq.train import TranslationTask


def loaded(pairs_file, tmp_path, **fields) -> TranslationTask:
    config = get_config("quick")
    config.data.path = str(pairs_file)
    config.steps_per_epoch = 0
    for name, value in fields.items():
        setattr(config, name, value)
    task = TranslationTask(config)
    task.load(tmp_path)
    return task


def target_tokens(task: TranslationTask) -> int:
    """Target tokens of one pass (the unit of ``count``: the pieces and EOS, BOS not)."""
    return sum(len(t) - 1 for t in task.examples["train"]["target"])


def test_a_budget_below_the_epochs_makes_periods_through_the_passes(pairs_file, tmp_path):
    plain = loaded(pairs_file, tmp_path)
    passes = plain.train_batches.num_batches(0)
    assert plain.period is None and plain.num_batches(0) == passes
    budget = int(1.5 * target_tokens(plain))  # 1.5 passes, in num_epochs = 2 periods
    task = loaded(pairs_file, tmp_path, train_tokens=budget)
    steps = -(-3 * passes // 2)
    assert task.period == -(-steps // 2) and task.num_batches(0) == task.num_batches(1)
    # the periods' batches are the passes' batches, in order
    periods = [task.batch(epoch, index)["index"] for epoch in range(2)
               for index in range(task.period)]
    in_passes = [task.train_batches.batch(p, i)["index"] for p in range(2)
                 for i in range(passes)][: 2 * task.period]
    assert all(np.array_equal(a, b) for a, b in zip(periods, in_passes, strict=True))
    spent = sum(task.count(task.batch(epoch, index)) for epoch in range(2)
                for index in range(task.period))
    assert spent == pytest.approx(budget, rel=0.05)  # whole steps of batches of varied sizes
    # a budget above num_epochs passes leaves the epochs whole
    roomy = loaded(pairs_file, tmp_path, train_tokens=3 * target_tokens(plain))
    assert roomy.period is None and roomy.num_batches(1) == passes


def test_the_valid_subset_is_fixed_and_in_file_order(pairs_file, tmp_path):
    task = loaded(pairs_file, tmp_path, valid_pairs=10)
    valid = task.scored["valid"]
    assert len(task.pairs["valid"]) > 10 and len(valid["pairs"]) == 10
    lines = [p.line for p in valid["pairs"]]
    assert lines == sorted(lines) and set(lines) <= {p.line for p in task.pairs["valid"]}
    again = loaded(pairs_file, tmp_path, valid_pairs=10)
    assert [p.line for p in again.scored["valid"]["pairs"]] == lines
    assert task.scored["test"]["pairs"] == task.pairs["test"]  # the test is scored whole
    everything = loaded(pairs_file, tmp_path, valid_pairs=0)
    assert everything.scored["valid"]["pairs"] == everything.pairs["valid"]


def test_the_data_size_counts_pairs_and_tokens(pairs_file, tmp_path):
    task = loaded(pairs_file, tmp_path)
    train = task.pairs["train"]
    # word tokens, plus BOS and EOS on the target side and EOS on the source side
    assert task.data_size() == {
        "pairs": len(train), "source tokens": sum(len(p.source.split()) + 1 for p in train),
        "target tokens": sum(len(p.target.split()) + 2 for p in train)}


@pytest.mark.parametrize(("field", "value"), [("train_tokens", -1), ("valid_pairs", 1.5)])
def test_bad_budget_fields_are_named(pairs_file, tmp_path, field, value):
    with pytest.raises(ValueError, match=rf"seq2seq: config.{field} must be an int >= 0, got "):
        loaded(pairs_file, tmp_path, **{field: value})


def test_the_default_budgets_its_training_and_scores_a_valid_subset():
    config = get_config("default")
    assert config.train_tokens > 0 and config.valid_pairs > 0
    assert "train_tokens" not in get_config("baseline")  # the committed grid: whole epochs


def test_the_made_up_language_reverses_rotates_and_swaps():
    assert translate("the cat sat down") == "tec iht nwud tes"
    assert translate("a b c") == "b e c"
