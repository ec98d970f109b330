"""The dialogue experiment end to end on its quick config (metrics, the context-free ceiling,
the report row), its baseline variants building, and one-line errors before any training."""

from __future__ import annotations

import pytest

from experiments.dialogue import tables
from experiments.dialogue.configs import VARIANTS, get_config
from experiments.dialogue.train import DialogueTask, train_and_evaluate
from experiments.report.tables import load_run, render


def test_quick_run_reports_weighted_f1_and_the_table_row(tmp_path):
    workdir = tmp_path / "quick"
    results = train_and_evaluate(get_config("quick"), workdir)
    assert results["status"] == "complete" and results["source"] == "synthetic"
    for key in ("test_weighted_f1", "test_accuracy", "test_accuracy_reveal",
                "context_free_ceiling"):
        assert 0.0 <= results[key] <= 1.0, key
    table = render(tables.TABLES[0], [load_run(workdir / "results.json")])
    assert "| quick | DialogueRNN (gru, g 8, q 8, e 8) |" in table


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v != "quick"])
def test_every_variant_builds_its_model(variant):
    config = get_config(variant)
    config.data.num_train = config.data.num_valid = config.data.num_test = 4
    summary = DialogueTask(config).summary()
    assert summary["parameters"] > 0 and 0.0 < summary["context_free_ceiling"] <= 1.0


@pytest.mark.parametrize(("field", "value", "message"), [
    ("data.source", "iemocap", "dialogue: config.data.source must be one of"),
    ("data.batch_size", 0, "dialogue: config.data.batch_size must be a positive int"),
    ("data.num_valid", 0, "dialogue: config.data.num_valid must be a positive int"),
    ("data.generator", {"num_parties": 2, "num_moods": 4, "turns": 3},
     "dialogue: config.data.generator must be arguments of synthetic_dialogues"),
    ("model.cell", "gruu", "make_cell: kind must be one of"),
    ("model.party_size", 0, "DialogueRNN: party_size must be a positive int"),
])
def test_bad_config_fails_in_one_line_before_training(tmp_path, field, value, message):
    config = get_config("quick")
    section, name = field.split(".")
    config[section][name] = value
    with pytest.raises(ValueError, match="^" + message):
        train_and_evaluate(config, tmp_path / "run")
    assert not (tmp_path / "run" / "checkpoints").exists()
