"""The run harness on a toy task: outputs, resume, refused resumes, lock, divergence, selection,
replicates, torn metrics."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from flax import nnx
from toy_task import SelectingToyTask, ToyTask, toy_config

from rnnjax.train.checkpoint import Checkpointer
from rnnjax.train.metrics import read_metrics
from rnnjax.train.run import Diverged, aggregate, run, run_replicates
from rnnjax.train.workdir import WorkdirLock


def losses(workdir) -> dict[int, float]:
    return {r["step"]: r["train_loss"] for r in read_metrics(workdir) if "epoch" not in r}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """(workdir, results) of one uninterrupted 3-epoch toy run."""
    workdir = tmp_path_factory.mktemp("toy")
    return workdir, run(ToyTask(toy_config()), workdir)


def test_a_run_writes_its_files_and_learns(finished):
    workdir, results = finished
    assert results["status"] == "complete" and results["experiment"] == "toy"
    assert (results["epochs"], results["steps"]) == (3, 24)
    assert results["test_accuracy"] > 0.9 and results["valid_loss"] < 0.7
    assert sorted(losses(workdir)) == list(range(2, 25, 2))
    assert [r["epoch"] for r in read_metrics(workdir) if "epoch" in r] == [1, 2, 3]
    assert json.loads((workdir / "run.json").read_text())["fingerprint"]
    assert json.loads((workdir / "config.json").read_text()) == toy_config().to_dict()
    assert Checkpointer(workdir).latest_step() == 24
    assert results["train_examples_per_s"] > 0 and "machine" in results
    assert results["session_cpu_time_s"] > 0


def test_a_finished_run_is_not_retrained(finished):
    workdir, results = finished
    again = run(ToyTask(toy_config()), workdir)
    assert again["steps"] == 24 and again["test_loss"] == results["test_loss"]


def test_more_epochs_continue_a_run_exactly(finished, tmp_path):
    run(ToyTask(toy_config(num_epochs=1)), tmp_path)
    run(ToyTask(toy_config()), tmp_path)  # num_epochs may change on resume
    assert losses(tmp_path) == losses(finished[0])


def test_a_changed_config_is_refused_before_anything_is_written(finished):
    workdir = finished[0]
    before = {p.name: p.read_bytes() for p in workdir.iterdir() if p.is_file()}
    with pytest.raises(ValueError, match=r"run: config must be the config of the run stored in "
                       r".* got changes to data.batch_size: 8 -> 4; optim.learning_rate: 0.5 -> "
                       r"0.1\. Use a new --workdir, or accept them with "
                       r"--allow_changes=data.batch_size,optim.learning_rate"):
        run(ToyTask(toy_config(**{"optim.learning_rate": 0.1, "data.batch_size": 4})), workdir)
    assert {p.name: p.read_bytes() for p in workdir.iterdir() if p.is_file()} == before


def test_allowed_changes_are_recorded(tmp_path):
    run(ToyTask(toy_config(num_epochs=1)), tmp_path)
    run(ToyTask(toy_config(**{"optim.learning_rate": 0.1})), tmp_path,
        allow_changes=["optim.*"])
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["changes"] == [{"at_step": 8, "fields": {
        "num_epochs": [1, 3], "optim.learning_rate": [0.5, 0.1]}}]
    assert json.loads((tmp_path / "config.json").read_text())["optim"]["learning_rate"] == 0.1


def test_changed_data_is_refused_even_when_the_field_is_allowed(finished):
    with pytest.raises(ValueError, match=r"run: the data must be the data the run in .* was "
                       r"trained on \(config.data, fingerprint [0-9a-f]{12}\), got different "
                       r"data \(fingerprint [0-9a-f]{12}\)"):
        run(ToyTask(toy_config(**{"data.shift": 2.0})), finished[0], allow_changes=["data.*"])


def test_a_locked_workdir_is_refused_naming_the_holder(tmp_path):
    with WorkdirLock("test", tmp_path), pytest.raises(
            RuntimeError, match=rf"run: workdir must be free of other runs, got .*in use by "
            rf"process {__import__('os').getpid()}"):
        run(ToyTask(toy_config()), tmp_path)


@pytest.mark.parametrize(("workdir", "error", "message"), [
    ("", ValueError, r"run: workdir must be a directory path \(e.g. --workdir=/tmp/run\), got ''"),
    (None, ValueError, r"run: workdir must be a directory path"),
])
def test_bad_workdir(workdir, error, message):
    with pytest.raises(error, match=message):
        run(ToyTask(toy_config()), workdir)


def test_a_workdir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match=r"run: workdir must be a directory, got .*file"):
        run(ToyTask(toy_config()), tmp_path / "file")


def test_a_refused_new_run_leaves_no_directory(tmp_path):
    with pytest.raises(ValueError, match=r"run: config.num_epochs must be a positive int"):
        run(ToyTask(toy_config(num_epochs=0)), tmp_path / "new")
    with pytest.raises(ValueError, match=r"make_optimizer: optim.name must be one of"):
        run(ToyTask(toy_config(**{"optim.name": "adamw"})), tmp_path / "new")
    with pytest.raises(TypeError):  # from building the model
        run(ToyTask(toy_config(**{"model.features": "two"})), tmp_path / "new")
    assert not (tmp_path / "new").exists()


def kernel_norm(params) -> float:
    return float(np.linalg.norm(np.asarray(params["kernel"].value)))


def test_a_non_finite_validation_loss_stops_the_run_naming_the_last_good_checkpoint(tmp_path):
    """The validation loss turns NaN once the weights pass a norm between steps 6 and 8: the
    epoch's checkpoint (step 8) is not saved and step 6 is named."""
    reference = tmp_path / "reference"
    run(ToyTask(toy_config(num_epochs=1)), reference)
    abstract = nnx.eval_shape(lambda: nnx.Linear(2, 2, rngs=nnx.Rngs(0)))
    ckpt = Checkpointer(reference)
    norms = {s: kernel_norm(ckpt.restore(nnx.state(abstract), step=s)[0]) for s in (6, 8)}
    assert norms[6] < norms[8]
    threshold = (norms[6] + norms[8]) / 2

    class Fragile(ToyTask):
        def evaluate(self, model, split):
            metrics = super().evaluate(model, split)
            return {**metrics, "loss": math.nan} if kernel_norm(nnx.state(model)) > threshold \
                else metrics

    with pytest.raises(Diverged, match=r"run: training diverged: the validation loss is nan at "
                       r"step 8 .* the last checkpoint with a finite validation loss is step 6"):
        run(Fragile(toy_config(num_epochs=1)), tmp_path / "fragile")
    assert Checkpointer(tmp_path / "fragile").all_steps() == [4, 6]
    results = json.loads((tmp_path / "fragile" / "results.json").read_text())
    assert results["status"] == "diverged" and results["last_good_step"] == 6


def test_an_exploding_loss_stops_the_run(tmp_path):
    config = toy_config(**{"optim.learning_rate": 1e4, "data.shift": 0.0})
    with pytest.raises(Diverged, match=r"running mean .* exceeds 3 x the initial loss"):
        run(ToyTask(config), tmp_path)


def test_selection_tests_the_best_epoch_and_patience_stops_early(tmp_path):
    # A learning rate so high that validation accuracy stops improving after epoch 1.
    config = toy_config(num_epochs=8, patience=2, divergence_factor=0.0,
                        **{"optim.learning_rate": 50.0, "data.shift": 0.3})
    results = run(SelectingToyTask(config), tmp_path)
    epochs = [r for r in read_metrics(tmp_path) if "epoch" in r]
    best = max(epochs, key=lambda r: (r["valid_accuracy"], -r["epoch"]))
    assert results["best_epoch"] == best["epoch"]
    assert results["best_valid_accuracy"] == best["valid_accuracy"]
    assert results["epochs"] == len(epochs) < 8 and results["epochs"] == best["epoch"] + 2
    again = run(SelectingToyTask(config), tmp_path)  # stopped early: not resumed into training
    assert again["steps"] == results["steps"] and again["test_loss"] == results["test_loss"]


def test_replicates_run_each_once_and_aggregate(tmp_path):
    results = run_replicates(ToyTask, toy_config(num_epochs=1), tmp_path,
                             [{"seed": 0}, {"seed": 1}, {"seed": 2}])
    rows = [json.loads((tmp_path / f"seed{s}" / "results.json").read_text()) for s in range(3)]
    assert results["status"] == "complete" and results["replicates_done"] == 3
    accuracies = [r["test_accuracy"] for r in rows]
    assert results["mean"]["test_accuracy"] == pytest.approx(np.mean(accuracies))
    assert results["std"]["test_accuracy"] == pytest.approx(np.std(accuracies, ddof=1))
    assert results["session_cpu_time_s"] == pytest.approx(
        sum(r["session_cpu_time_s"] for r in rows), abs=0.2)
    stamp = (tmp_path / "seed1" / "results.json").stat().st_mtime_ns
    again = run_replicates(ToyTask, toy_config(num_epochs=1), tmp_path,
                           [{"seed": 0}, {"seed": 1}, {"seed": 2}])
    assert (tmp_path / "seed1" / "results.json").stat().st_mtime_ns == stamp
    assert again["mean"] == results["mean"]
    with pytest.raises(ValueError, match=r"changes to optim.learning_rate"):
        run_replicates(ToyTask, toy_config(num_epochs=1, **{"optim.learning_rate": 0.1}),
                       tmp_path, [{"seed": 0}])


def test_aggregate_of_one_row_has_zero_std():
    stats = aggregate([{"test_accuracy": 0.5, "name": "x", "valid_loss": 1.0}])
    assert stats["mean"] == {"test_accuracy": 0.5, "valid_loss": 1.0}
    assert stats["std"] == {"test_accuracy": 0.0, "valid_loss": 0.0}


def test_a_torn_metrics_line_from_a_killed_run_is_dropped_on_resume(tmp_path):
    run(ToyTask(toy_config(num_epochs=1)), tmp_path)
    with (tmp_path / "metrics.jsonl").open("a") as f:
        f.write('{"step": 9, "train_lo')
    run(ToyTask(toy_config(num_epochs=2)), tmp_path)
    rows = read_metrics(tmp_path)
    assert [r["epoch"] for r in rows if "epoch" in r] == [1, 2]
    assert (tmp_path / "metrics.jsonl").read_text().endswith("}\n")


def test_a_corrupt_metrics_line_is_named(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"step": 1}\nnot json\n{"step": 2}\n')
    with pytest.raises(ValueError, match=r"read_metrics: line 2 of .*metrics.jsonl must be a JSON "
                       r"object, got 'not json'"):
        read_metrics(tmp_path)


def test_the_task_state_flows_from_batch_to_batch_and_resets_per_epoch(tmp_path):
    """A task state with a leading batch axis (here a counter, reported as the loss)."""

    class Counting(ToyTask):
        def initial_state(self, model):
            return np.zeros((self.config.data.batch_size,), np.float32)

        def loss(self, model, state, batch, key):
            loss, _ = super().loss(model, state, batch, key)
            return loss, (state.mean(), state + 1)

    run(Counting(toy_config(num_epochs=2, log_every_steps=1, divergence_factor=0.0)), tmp_path)
    assert list(losses(tmp_path).values()) == [*range(8), *range(8)]
