"""A default classify run on a user's file reports the TF-IDF + LR baseline fitted on the same
fold: in each replicate's results.json, in the run's mean and in its last log line; the run's
start line gives the training data's size and the time estimate follows."""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline

from experiments.classify.configs import get_config
from experiments.classify.train import train_and_evaluate
from rnnjax.data.labelled import load_labelled, make_splits

CLASSES = {"pos": ("good", "great", "fine", "fun"), "neg": ("bad", "dull", "poor", "awful"),
           "mixed": ("long", "odd", "loud", "slow")}


@pytest.fixture(scope="module")
def noisy_tsv(tmp_path_factory) -> Path:
    """150 sentences of 3 classes; each adjective is the class's with probability 0.6, else any
    class's, so neither model is perfect."""
    rng = np.random.default_rng(3)
    everything = [w for words in CLASSES.values() for w in words]
    lines = []
    for label, words in CLASSES.items():
        for _ in range(50):
            picks = [rng.choice(words) if rng.random() < 0.6 else rng.choice(everything)
                     for _ in range(2)]
            lines.append(f"{label}\tthe film was {picks[0]} and {picks[1]} .\n")
    path = tmp_path_factory.mktemp("data") / "noisy.tsv"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def quick(path: Path, **overrides):
    config = get_config("quick")
    config.update_from_flattened_dict({"data.name": "file", "data.path": str(path),
                                       "data.folds_to_run": 1, **overrides})
    return config


class Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def default_run(noisy_tsv, tmp_path_factory) -> tuple[Path, dict, list[str]]:
    workdir, lines = tmp_path_factory.mktemp("run"), Lines()
    absl_logger = logging.getLogger("absl")
    level = absl_logger.level
    absl_logger.addHandler(lines)
    absl_logger.setLevel(logging.INFO)
    try:
        results = train_and_evaluate(quick(noisy_tsv), workdir)
    finally:
        absl_logger.removeHandler(lines)
        absl_logger.setLevel(level)
    return workdir, results, lines.lines


def independent_fit(path: Path, fold: int) -> float:
    """scikit-learn's TF-IDF (sublinear, 1-2-grams) + one-vs-rest liblinear logistic regression
    on the fold's train part, C of the best valid accuracy (first on ties), test accuracy."""
    config = quick(path).data
    data = load_labelled("file", path=path)
    splits = make_splits(data, fold=fold, num_folds=config.num_folds,
                         valid_fraction=config.valid_fraction)
    texts, labels = data.tokenize(), data.label_ids
    parts = {s: ([texts[i] for i in rows], labels[rows]) for s, rows in splits.items()}
    best = None
    for c in (1.0, 3.0, 10.0, 30.0, 100.0):
        model = make_pipeline(
            # the analyzer: unigrams and bigrams of the token list
            TfidfVectorizer(sublinear_tf=True, analyzer=lambda t: [
                *t, *(f"{a} {b}" for a, b in itertools.pairwise(t))]),
            OneVsRestClassifier(LogisticRegression(C=c, solver="liblinear", max_iter=2000)))
        model.fit(*parts["train"])
        valid = np.mean(model.predict(parts["valid"][0]) == parts["valid"][1])
        if best is None or valid > best[0]:
            best = (valid, model)
    return float(np.mean(best[1].predict(parts["test"][0]) == parts["test"][1]))


def test_the_recorded_baseline_equals_an_independent_fit_on_the_same_split(default_run,
                                                                          noisy_tsv):
    workdir, results, _ = default_run
    replicate = json.loads((workdir / "seed0-fold0" / "results.json").read_text())
    expected = independent_fit(noisy_tsv, fold=0)
    assert 0.4 < expected < 1.0  # better than chance (1/3), not perfect: a real comparison
    assert replicate["test_tfidf_lr_accuracy"] == pytest.approx(expected, abs=1e-12)
    assert results["mean"]["test_tfidf_lr_accuracy"] == pytest.approx(expected, abs=1e-12)
    stored = json.loads((workdir / "results.json").read_text())
    assert stored["mean"]["test_tfidf_lr_accuracy"] == results["mean"]["test_tfidf_lr_accuracy"]


def test_the_last_line_sets_the_model_beside_the_baseline(default_run):
    _, results, lines = default_run
    mean = results["mean"]
    assert lines[-1] == (f"model {100 * mean['test_accuracy']:.1f} % vs TF-IDF+LR "
                         f"{100 * mean['test_tfidf_lr_accuracy']:.1f} % test accuracy (mean of 1 "
                         "replicate: the same folds and splits)")


def test_the_run_starts_with_the_data_size_then_estimates_its_time(default_run, noisy_tsv):
    _, _, lines = default_run
    config = quick(noisy_tsv)
    data = load_labelled("file", path=noisy_tsv)
    train = make_splits(data, fold=0, num_folds=config.data.num_folds,
                        valid_fraction=config.data.valid_fraction)["train"]
    tokens = sum(len(data.tokenize()[i]) for i in train)
    steps = -(-len(train) // config.data.batch_size)
    starts = [line for line in lines if line.startswith("training on")]
    assert starts == [f"training on {len(train)} examples, {tokens} tokens: 2 epochs of {steps} "
                      f"steps, {2 * steps} steps to go (early stopping may end it sooner); the "
                      "time estimate follows after 4 steps"]
    estimate = next(i for i, line in enumerate(lines) if line.startswith("estimated time:"))
    assert lines.index(starts[0]) < estimate
    assert f" for {2 * steps - 4} steps at " in lines[estimate]


def test_switching_the_baseline_off_resumes_a_finished_run(default_run, noisy_tsv):
    workdir, results, _ = default_run
    again = train_and_evaluate(quick(noisy_tsv, baseline=""), workdir)
    assert again["replicates"] == results["replicates"]


def test_an_unknown_baseline_fails_before_training(noisy_tsv, tmp_path):
    with pytest.raises(ValueError, match=r"classify: config.baseline must be one of "
                       r"\('', 'tfidf_lr', 'nbsvm'\), got 'svm'"):
        train_and_evaluate(quick(noisy_tsv, baseline="svm"), tmp_path / "run")
    assert not (tmp_path / "run").exists()
