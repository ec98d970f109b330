"""The classification experiment end to end on a user's TSV file: folds x seeds through
run_replicates, resume, every variant's model, errors before training, the report tables."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from flax import nnx

from experiments.classify.configs import VARIANTS, get_config
from experiments.classify.tables import RUNS, TABLE_A, accuracy, plot_accuracy
from experiments.classify.train import ClassificationTask, replicates, train_and_evaluate
from experiments.report.tables import load_run, render
from rnnjax.data import WordVectors, save_word2vec_text


def quick(tsv: Path, **overrides):
    """The quick config on ``tsv``, at a rate that learns it in the quick config's 2 epochs."""
    config = get_config("quick")
    config.update_from_flattened_dict({"data.name": "file", "data.path": str(tsv),
                                       "optim.learning_rate": 3e-2, **overrides})
    return config


@pytest.fixture(scope="module")
def quick_run(tsv, tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("quick")
    train_and_evaluate(quick(tsv), workdir)
    return workdir


def test_quick_runs_every_fold_and_aggregates(quick_run):
    results = json.loads((quick_run / "results.json").read_text())
    assert results["status"] == "complete" and results["replicates_done"] == 2
    assert [r["replicate"] for r in results["replicates"]] == ["seed0-fold0", "seed0-fold1"]
    assert results["dataset"] == "file:tiny.tsv" and results["max_len"] == 400
    accuracies = [r["test_accuracy"] for r in results["replicates"]]
    assert results["mean"]["test_accuracy"] == pytest.approx(np.mean(accuracies))
    # learnt: the adjectives separate the classes (chance is 1/2 on every fold)
    assert min(accuracies) >= 0.75 and np.mean(accuracies) >= 0.85
    for sub in ("seed0-fold0", "seed0-fold1"):
        run = json.loads((quick_run / sub / "results.json").read_text())
        assert run["status"] == "complete" and run["best_epoch"] in (1, 2)
        assert run["config"]["data"]["fold"] == int(sub[-1])
    assert accuracy(load_run(quick_run / "results.json")).endswith("(2×1)")


def test_a_finished_run_is_read_and_more_seeds_extend_it(quick_run, tsv):
    again = train_and_evaluate(quick(tsv), quick_run)
    assert again["replicates"] == json.loads((quick_run / "results.json").read_text())[
        "replicates"]
    assert replicates(quick(tsv, seeds=2)) == [
        {"seed": 0, "data.fold": 0}, {"seed": 0, "data.fold": 1},
        {"seed": 1, "data.fold": 0}, {"seed": 1, "data.fold": 1}]


def test_report_tables_and_plot(quick_run, tmp_path):
    run = load_run(quick_run / "results.json")
    assert "file:tiny.tsv" in render(RUNS, [run])
    assert "| BiLSTM | not run | not run | not run |" in render(TABLE_A, [run])
    assert plot_accuracy([run], tmp_path).is_file()


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_builds_its_model_on_a_user_file(variant, tsv, tmp_path):
    vectors = tmp_path / "vectors.txt"
    save_word2vec_text(WordVectors(("the", "film", "good"), np.ones((3, 5), np.float32)),
                       vectors)
    config = get_config(variant)
    if config.model.get("vectors"):
        config.model.vectors = str(vectors)
    config.update_from_flattened_dict({"data.name": "file", "data.path": str(tsv)})
    task = ClassificationTask(config)
    task.load(tmp_path)
    model = nnx.eval_shape(lambda: task.build_model(nnx.Rngs(0)))
    task.check(model)
    assert model.num_classes == 2 and len(task.data.classes) == 2
    if config.model.get("vectors"):
        assert task.embeddings.shape[1] == 5


def test_vectors_of_the_wrong_dimension_fail_before_training(tsv, tmp_path):
    vectors = tmp_path / "vectors.txt"
    save_word2vec_text(WordVectors(("the",), np.ones((1, 4), np.float32)), vectors)
    config = quick(tsv, **{"model.vectors": str(vectors), "model.embed_size": 8})
    with pytest.raises(ValueError, match=r"classify: config.model.embed_size must be None or 4, "
                       r"the dimension of config.model.vectors '.*vectors.txt', got 8"):
        train_and_evaluate(config, tmp_path / "run")
    assert not (tmp_path / "run" / "seed0-fold0" / "checkpoints").exists()
    three = tmp_path / "three.tsv"
    three.write_text("a\tx\nb\ty\nc\tz\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"config.model.output must be 'softmax' for data of "
                       r"more than 2 classes .*, got 'sigmoid' with 3 classes"):
        keras = get_config("keras_tiny")
        keras.update_from_flattened_dict({"data.name": "file", "data.path": str(three)})
        train_and_evaluate(keras, tmp_path / "keras")
    with pytest.raises(ValueError, match=r"config.data.folds_to_run must be an int in \[0, 10\]"):
        replicates(quick(tsv, **{"data.folds_to_run": 11}))
    with pytest.raises(ValueError, match=r"classify: config.data.name must be one of .*'mr_subset'"
                       r".*, got 'mr_subsett'"):
        replicates(quick(tsv, **{"data.name": "mr_subsett", "data.path": None}))


def test_a_bad_file_is_reported_by_its_line(tmp_path):
    """What ``--config.data.path=FILE`` alone does (in-process: rnnjax.cli prints the error as
    the command's one line)."""
    bad = tmp_path / "bad.tsv"
    bad.write_text("pos\tfine\nneg no tab here\n", encoding="utf-8")
    config = get_config("quick")
    config.data.path = str(bad)  # a path alone means the user's file
    with pytest.raises(ValueError, match=re.escape(
            f"line 2 of {bad} must be 'label<TAB>text', got 'neg no tab here' (no tab)")):
        train_and_evaluate(config, tmp_path / "run")


def test_the_vocabulary_comes_from_the_training_part_only(tmp_path):
    """Every sentence has a word of its own: only the training sentences' words get ids."""
    lines = [f"{label}\tword{i} is {label}\n" for i, label in enumerate(["pos", "neg"] * 20)]
    path = tmp_path / "unique.tsv"
    path.write_text("".join(lines), encoding="utf-8")
    task = ClassificationTask(quick(path))
    task.load(tmp_path)
    train = {f"word{i}" for i in task.splits["train"]}
    unique = {tok for tok in task.vocab.tokens if tok.startswith("word")}
    assert unique == train and len(train) < 40
