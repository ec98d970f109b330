"""The translation experiment end to end on a small pairs file: the quick config, its outputs,
resuming, and errors that name the field or the line."""

from __future__ import annotations

import json
from pathlib import Path

import jax
import numpy as np
import pytest

from experiments.seq2seq.configs import GRID, get_config
from experiments.seq2seq.train import token_nll, train_and_evaluate


def config(pairs_file: Path, **overrides):
    """The quick config on ``pairs_file``, with enough steps (3 epochs of 20) to learn it."""
    c = get_config("quick")
    c.update_from_flattened_dict({"data.path": str(pairs_file), "steps_per_epoch": 20,
                                  "num_epochs": 3, "data.batch_size": 16,
                                  "optim.learning_rate": 1e-2, **overrides})
    return c


@pytest.fixture(scope="module")
def quick_run(pairs_file, tmp_path_factory) -> tuple[Path, dict]:
    workdir = tmp_path_factory.mktemp("quick")
    return workdir, train_and_evaluate(config(pairs_file), workdir)


def test_quick_run_writes_scores_translations_and_heat_maps(quick_run):
    workdir, results = quick_run
    assert results["status"] == "complete" and results["steps"] == 60
    # learnt the word-by-word translation (an untrained model scores BLEU ~0)
    assert results["test_bleu"] >= 20 and results["test_bleu_beam"] >= 20
    for key in ("test_bleu", "test_bleu_beam", "test_chrf", "test_chrf_beam", "valid_bleu",
                "best_valid_bleu", "test_loss", "train_tokens_per_s"):
        assert isinstance(results[key], float), key
    assert json.loads((workdir / "results.json").read_text())["test_bleu_beam"] == results[
        "test_bleu_beam"]
    rows = (workdir / "samples" / "test.tsv").read_text().splitlines()
    assert rows[0] == "source\treference\tgreedy\tbeam" and len(rows) > 2
    assert (workdir / "samples" / "attention_0.png").stat().st_size > 1000
    assert (workdir / "samples" / "epoch_002.txt").read_text().count("\n  > ") == 2
    assert results["corpus"] == "numbers.tsv" and results["tokenizer"] == "word"


def test_a_finished_run_is_read_back_not_retrained(quick_run, pairs_file):
    workdir, results = quick_run
    again = train_and_evaluate(config(pairs_file), workdir)
    assert again["steps"] == results["steps"] and again["test_bleu"] == results["test_bleu"]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("model.attention", "luong", r"Seq2Seq: attention must be one of \('none', 'additive', "
                                 r"'dot', 'general'\), got 'luong'"),
    ("model.bridge", "copy", "Seq2Seq: bridge must be one of"),
    ("data.tokenizer", "chars", "seq2seq: config.data.tokenizer must be one of"),
    ("data.too_long", "cut", "seq2seq: too_long must be one of"),
    ("decode.beam_size", 0, "seq2seq: config.decode.beam_size must be a positive int, got 0"),
    ("data.max_length", 4, r"seq2seq: the (source|target) of line \d+ of .*numbers.tsv must be "
                           r"at most max_length=4 tokens"),
])
def test_bad_config_fails_before_training(pairs_file, tmp_path, field, value, message):
    overrides = {field: value}
    if field == "data.max_length":
        overrides["data.too_long"] = "error"
    with pytest.raises(ValueError, match=message):
        train_and_evaluate(config(pairs_file, **overrides), tmp_path)
    assert not (tmp_path / "metrics.jsonl").exists()


def test_a_bad_line_is_named(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("ein Satz .\ta sentence .\nkein Tab hier\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"load_pairs: line 2 of .*pairs.tsv must be "
                       r"source<TAB>target \(exactly one tab\), got 0 tabs"):
        train_and_evaluate(config(path), tmp_path / "run")


def test_every_grid_row_builds_a_config():
    for row, changes in GRID.items():
        c = get_config(row)
        assert c.name == row and all(c[k.split(".")[0]][k.split(".")[1]] == v
                                     for k, v in changes.items())


def test_label_smoothing_mixes_the_uniform_distribution_into_the_targets():
    """optax.smooth_labels: CE = (1 - a) NLL + a mean_k(-log p_k) over the real target tokens;
    the reported NLL stays the plain one."""
    logits = jax.random.normal(jax.random.PRNGKey(0), (2, 3, 5))
    target = np.array([[2, 1, 4, 3], [2, 0, 3, 0]], np.int32)
    batch = {"source": np.ones((2, 4), np.int32), "source_lengths": np.array([4, 2], np.int32),
             "target": target, "target_lengths": np.array([4, 3], np.int32),
             "weight": np.ones(2, np.float32)}

    def model(*args, **kwargs):
        return logits, None

    log_p = np.asarray(jax.nn.log_softmax(logits))
    real = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]  # t < target_length - 1
    nll = -sum(log_p[b, t, target[b, t + 1]] for b, t in real)
    uniform = -sum(log_p[b, t].mean() for b, t in real)
    plain, plain_nll, count = token_nll(model, batch)
    smooth, smooth_nll, _ = token_nll(model, batch, label_smoothing=0.1)
    assert float(count) == 5 and float(plain_nll) == pytest.approx(nll, rel=1e-5)
    assert float(smooth_nll) == pytest.approx(nll, rel=1e-5)
    assert float(plain) == pytest.approx(nll / 5, rel=1e-5)
    assert float(smooth) == pytest.approx((0.9 * nll + 0.1 * uniform) / 5, rel=1e-5)
