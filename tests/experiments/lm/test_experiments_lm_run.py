"""The LM on the run harness, end to end on a tiny corpus: outputs, determinism, NaN stop,
config errors."""

from __future__ import annotations

import json
import math

import jax.numpy as jnp
import optax
import pytest
from flax import nnx
from lm_helpers import make_config, step_losses

from experiments.lm.configs import get_config
from experiments.lm.tables import TABLES
from experiments.lm.train import load_model, train_and_evaluate
from rnnjax.data import Vocab, load_corpus
from rnnjax.models import make_model
from rnnjax.train.checkpoint import Checkpointer
from rnnjax.train.metrics import read_metrics


def test_run_writes_every_output(reference_run):
    results = json.loads((reference_run / "results.json").read_text())
    assert results["status"] == "complete"
    assert results["epochs"] == 2 and results["steps"] == 8
    for key in ("valid_ppl", "valid_bpc", "test_ppl", "test_bpc", "wall_time_s",
                "train_tokens_per_s", "machine", "command"):
        assert key in results, key
    assert results["test_bpc"] == pytest.approx(results["test_loss"] / 0.6931471805599453)
    assert sorted(step_losses(reference_run)) == list(range(1, 9))
    epochs = [r for r in read_metrics(reference_run) if "epoch" in r]
    assert [r["epoch"] for r in epochs] == [1, 2] and [r["step"] for r in epochs] == [4, 8]
    assert json.loads((reference_run / "config.json").read_text())["name"] == "quick"
    assert len(Vocab.load(reference_run / "vocab.json")) > 10
    assert sorted(p.name for p in (reference_run / "samples").iterdir()) == [
        "epoch_001.txt", "epoch_002.txt"]
    assert list((reference_run / "tensorboard").iterdir())
    assert Checkpointer(reference_run).latest_step() == 8  # saved after each epoch


def test_same_seed_same_losses_and_a_finished_run_is_not_retrained(reference_run, overrides,
                                                                     tmp_path):
    config = make_config(overrides)
    first = train_and_evaluate(config, tmp_path)
    assert step_losses(tmp_path) == step_losses(reference_run)
    again = train_and_evaluate(config, tmp_path)
    assert again["steps"] == first["steps"] == 8
    assert again["test_loss"] == first["test_loss"]


def _test_split_nll(model: nnx.Module, config, vocab: Vocab) -> float:
    """Mean NLL per token of the test split computed in one pass per stream (no bptt chunks):
    the split cut into ``eval_batch_size`` contiguous streams, each read from a zero state."""
    ids = load_corpus("text", path=config.data.path, vocab=vocab).test_ids
    streams = config.data.eval_batch_size
    data = ids[: ids.size // streams * streams].reshape(streams, -1)
    logits, _ = model(jnp.asarray(data[:, :-1]), model.initial_carry(streams))
    return float(optax.softmax_cross_entropy_with_integer_labels(logits, data[:, 1:]).mean())


def test_load_model_gives_the_parameters_the_run_was_evaluated_with(reference_run):
    """The loaded model reproduces the test loss recorded at the end of training, computed
    independently of the harness's evaluation; a freshly initialised model does not."""
    model, vocab, config = load_model(reference_run)
    assert config.name == "quick" and model.vocab_size == len(vocab)
    recorded = json.loads((reference_run / "results.json").read_text())["test_loss"]
    assert _test_split_nll(model, config, vocab) == pytest.approx(recorded, rel=1e-5)
    untrained = make_model(config.model, vocab_size=len(vocab), rngs=nnx.Rngs(config.seed))
    # 8 steps move the loss by ~0.01 nats here: far beyond the 1e-5 tolerance above
    assert abs(_test_split_nll(untrained, config, vocab) - recorded) > 1e-3


def test_nan_loss_stops_and_deletes_the_checkpoint_whose_evaluation_is_nan(overrides, tmp_path):
    # lr 1e30: the parameters after step 1 are finite but huge, their outputs NaN.
    config = make_config(overrides, checkpoint_every_steps=1, **{
        "model.cell": "elman_relu", "model.impl": "scan", "optim.name": "sgd",
        "optim.learning_rate": 1e30, "optim.clip_norm": 0.0})
    with pytest.raises(FloatingPointError, match=r"run: training diverged: the training loss is "
                       r"(nan|inf) at step 2 \(epoch 1, batch 2\); training stopped, no "
                       r"checkpoint with a finite validation loss was saved"):
        train_and_evaluate(config, tmp_path)
    assert Checkpointer(tmp_path).all_steps() == []
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["status"] == "diverged" and results["last_good_step"] is None


def test_divergence_after_a_good_epoch_keeps_and_names_that_checkpoint(overrides, tmp_path):
    good = {"model.cell": "elman_relu", "model.impl": "scan", "optim.name": "sgd",
            "optim.learning_rate": 0.1, "optim.clip_norm": 0.0, "num_epochs": 1}
    train_and_evaluate(make_config(overrides, **good), tmp_path)  # checkpoint at step 4
    blow_up = make_config(overrides, checkpoint_every_steps=1,
                          **{**good, "num_epochs": 2, "optim.learning_rate": 1e30})
    with pytest.raises(FloatingPointError, match=r"the training loss is (nan|inf) at step 6 "
                       r"\(epoch 2, batch 2\).*the last checkpoint with a finite validation "
                       r"loss is step 4 in .*--allow_changes=optim.learning_rate"):
        train_and_evaluate(blow_up, tmp_path, allow_changes=["optim.learning_rate"])
    assert Checkpointer(tmp_path).all_steps() == [4]
    recorded = json.loads((tmp_path / "run.json").read_text())["changes"]
    assert recorded == [{"at_step": 4, "fields": {"checkpoint_every_steps": [500, 1],
                                                  "num_epochs": [1, 2],
                                                  "optim.learning_rate": [0.1, 1e30]}}]


def test_exploding_loss_is_caught_before_it_is_nan(overrides, tmp_path):
    config = make_config(overrides, steps_per_epoch=30, **{"optim.learning_rate": 1e6})
    with pytest.raises(FloatingPointError, match=r"training diverged: the training loss's "
                       r"running mean .* exceeds 2 x the initial loss 4.2"):
        train_and_evaluate(config, tmp_path)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("model.cell", "lstmm", "RNNLM: cell must be one of"),
    ("model.kind", "transformer", "make_model: model.kind must be one of"),
    ("model.dropout", 1.5, "RNNLM: dropout must be a float in"),
    ("optim.name", "adamw", "make_optimizer: optim.name must be one of"),
    ("optim.learning_rate", -1.0, "make_optimizer: optim.learning_rate must be a number > 0"),
    ("optim.lr_decay", 2.0, "make_optimizer: optim.lr_decay must be a number > 0.0 and <= 1"),
    ("num_epochs", 0, "run: config.num_epochs must be a positive int, got 0"),
    ("data.bptt", -3, "lm: config.data.bptt must be a positive int"),
    ("steps_per_epoch", -1, "run: config.steps_per_epoch must be an int >= 0"),
    ("data.corpus", "enwik8", "load_corpus: corpus must be one of"),
    ("sample.top_k", 500, r"lm: config.sample.top_k must be an int in \[0, "),
    ("data.eval_batch_size", 1000, r"lm: config.data.eval_batch_size \* \(config.data.eval_bptt "
     r"\+ 1\) must be at most the \d+ tokens of the valid split, got 1000 \* \(32 \+ 1\) = 33000"),
])
def test_bad_config_fails_before_anything_is_written(overrides, tmp_path, field, value, message):
    with pytest.raises(ValueError, match=message):
        train_and_evaluate(make_config(overrides, **{field: value}), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_every_cell_trains_with_the_default_impl_and_a_wrong_impl_fails_before_training(
        overrides, tmp_path):
    results = train_and_evaluate(make_config(overrides, **{"model.cell": "gru",
                                                          "model.impl": "auto"}), tmp_path / "gru")
    assert results["status"] == "complete"
    config = make_config(overrides, **{"model.cell": "peephole_lstm", "model.impl": "xla"})
    with pytest.raises(ValueError, match=r'RNN: impl must be "scan" or "auto" for PeepholeLSTM'):
        train_and_evaluate(config, tmp_path / "peephole")
    assert not (tmp_path / "peephole" / "metrics.jsonl").exists()


def test_bengio_window_lm_trains_at_word_level(corpus_file, tmp_path):
    config = get_config("bengio")
    config.update_from_flattened_dict({
        "data.corpus": "text", "data.path": str(corpus_file), "data.level": "word",
        "num_epochs": 1, "steps_per_epoch": 2, "data.batch_size": 4, "data.eval_batch_size": 4,
        "data.bptt": 8, "data.eval_bptt": 8, "sample.length": 4})
    results = train_and_evaluate(config, tmp_path)
    assert results["level"] == "word" and "valid_bpc" not in results
    assert results["model"]["kind"] == "bengio" and results["test_ppl"] > 1


def test_patience_stops_early_and_scores_the_best_epoch(overrides, tmp_path):
    # lr 1e-30 leaves the float32 parameters unchanged: the validation loss never improves after
    # epoch 1, so patience 1 stops after epoch 2.
    config = make_config(overrides, num_epochs=6, **{"optim.learning_rate": 1e-30})
    config.patience = 1
    results = train_and_evaluate(config, tmp_path)
    assert results["status"] == "complete"
    assert results["epochs"] == 2 and results["best_epoch"] == 1
    assert results["best_valid_loss"] == pytest.approx(results["valid_loss"])
    values = {column.title: column.value(results) for column in TABLES[1].columns}
    assert values["epochs"].endswith(", best 1")
    assert values["valid bits/char"] == f"{results['best_valid_loss'] / math.log(2):.3f}"
