"""The NER experiment end to end on a small CoNLL file: the quick config learns learnable entities,
writes its predictions, ``predict`` tags raw text from the workdir; one-line config errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from experiments.ner.configs import get_config
from experiments.ner.predict import tag_sentences, tokenize
from experiments.ner.train import PREDICTIONS_FILE, train_and_evaluate

NAMES, PLACES = ("Anna", "Boris", "Clara", "Dmitri"), ("Paris", "Oslo", "Lima")


def sentence(rng: np.random.Generator) -> list[tuple[str, str]]:
    """e.g. Anna Boris went to Oslo . : a two-word PER entity and a LOC entity."""
    first, last = rng.choice(NAMES, 2, replace=False)
    return [(str(first), "B-PER"), (str(last), "I-PER"), ("went", "O"), ("to", "O"),
            (str(rng.choice(PLACES)), "B-LOC"), (".", "O")]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, dict]:
    folder, rng = tmp_path_factory.mktemp("ner"), np.random.default_rng(0)
    path = folder / "train.conll"
    path.write_text("-DOCSTART- O\n\n" + "\n".join(
        "".join(f"{w} {t}\n" for w, t in sentence(rng)) for _ in range(40)))
    config = get_config("quick")
    config.data.path = str(path)
    config.num_epochs, config.steps_per_epoch = 6, 0
    config.optim.learning_rate = 3e-2
    config.model.dropout = 0.0
    return folder / "run", train_and_evaluate(config, folder / "run")


def test_quick_config_learns_entities_and_writes_predictions(trained):
    workdir, results = trained
    assert results["status"] == "complete"
    assert results["test_f1"] >= 0.9 and results["test_f1_PER"] >= 0.9
    assert json.loads((workdir / "results.json").read_text())["scheme"] == "IOBES"
    lines = (workdir / PREDICTIONS_FILE).read_text().splitlines()
    assert len(lines[0].split()) == 3 and lines[0].split()[1] in ("B-PER", "S-PER")


def test_predict_tags_raw_text_from_the_workdir(trained):
    workdir, _ = trained
    assert tokenize("Anna's U.S. trip, 3-0.") == ["Anna", "'s", "U.S.", "trip", ",", "3-0", "."]
    tags = tag_sentences(str(workdir), [tokenize("Clara Anna went to Lima .")])
    assert tags == [["B-PER", "I-PER", "O", "O", "B-LOC", "O"]]


def test_config_errors_are_one_line(tmp_path):
    config = get_config("quick")
    config.model.crf_scheme = "IOB2"
    with pytest.raises(ValueError, match=r"ner: config.model.crf_scheme must be 'none' or "
                       r"config.data.scheme \('IOBES'\)"):
        train_and_evaluate(config, tmp_path / "a")
    config = get_config("quick")
    config.data.test = "test.conll"
    with pytest.raises(ValueError, match=r"ner: config.data.valid/test must be unset without "
                       r"config.data.path"):
        train_and_evaluate(config, tmp_path / "b")
