"""Protocol v2 on a toy task read from a file: the replicate spec, replicates never mixing data
(refused, or restarted with --allow_changes=data), nothing written before the data validated,
extending a one-seed run, the grid runner, Ctrl-C, the evaluation and output hooks, and the
shared data helpers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from toy_task import ToyTask, blobs, toy_config

from rnnjax.train.replicates import replicate_list, run_experiment, run_grid
from rnnjax.train.run import Interrupted, run
from rnnjax.train.task_data import check_batch_sizes, fingerprint, load_stored, save_missing
from rnnjax.train.workdir import LOCK_FILE, WorkdirLock
from rnnjax.validation import fail


class FileToyTask(ToyTask):
    """The toy blobs, their separation ``shift`` read from the file ``config.data.path``."""

    def load(self, workdir: Path) -> None:
        text = Path(self.config.data.path).read_text().strip()
        try:
            shift = float(text)
        except ValueError:
            fail("toy", f"line 1 of {self.config.data.path}", "a number", repr(text))
        if self.config.data.batch_size < 1:
            fail("toy", "config.data.batch_size", "a positive int", self.config.data.batch_size)
        self.splits = {name: blobs(self.config.data.size, shift, seed)
                       for name, seed in (("train", 0), ("valid", 1), ("test", 2))}

    def fingerprint(self) -> str:
        return fingerprint(*self.splits["train"])


def with_fields(config, **fields):
    """``config`` with dotted ``fields`` set, new ones added."""
    for name, value in fields.items():
        *parents, leaf = name.split(".")
        node = config
        for parent in parents:
            node = node[parent]
        node[leaf] = value
    return config


def file_config(path: Path, **fields):
    return with_fields(toy_config(num_epochs=1, checkpoint_every_steps=100,
                                  **{"data.size": 32}),
                       **{"seeds": 2, "data.path": str(path), "data.fold": 0, **fields})


@pytest.fixture()
def data_file(tmp_path) -> Path:
    path = tmp_path / "shift.txt"
    path.write_text("1.5\n")
    return path


def test_the_replicate_spec_is_seeds_from_seed_times_folds():
    config = with_fields(toy_config(seed=3), seeds=2)
    assert replicate_list(config) == [{"seed": 3}, {"seed": 4}]
    assert replicate_list(toy_config()) is None  # one seed, no folds: a plain run
    config.data.folds_to_run = 2
    assert replicate_list(config, num_folds=5) == [
        {"seed": 3, "data.fold": 0}, {"seed": 3, "data.fold": 1},
        {"seed": 4, "data.fold": 0}, {"seed": 4, "data.fold": 1}]
    config.data.folds_to_run = 0  # all folds
    assert len(replicate_list(config, num_folds=5)) == 10
    with pytest.raises(ValueError, match=r"config.seeds must be an int >= 1 .*got \(0, 1\)"):
        replicate_list(with_fields(toy_config(), seeds=(0, 1)))
    with pytest.raises(ValueError, match=r"config.data.folds_to_run must be an int in \[0, 5\]"):
        replicate_list(with_fields(toy_config(), **{"data.folds_to_run": 6}), num_folds=5)


def test_changed_data_under_finished_replicates_is_refused_or_restarts_them(data_file, tmp_path):
    workdir = tmp_path / "run"
    first = run_experiment(FileToyTask, file_config(data_file, seeds=1, **{
        "data.folds_to_run": 1}), workdir, num_folds=2)
    data_file.write_text("0.5\n")  # new content in the same file
    for seeds in (1, 2):  # the complete run again, and its extension by a seed
        with pytest.raises(ValueError, match=(
                r"run: the data must be the data replicate seed0-fold0 in .*seed0-fold0 was "
                r"trained on \(config.data.path '.*shift.txt', fingerprint [0-9a-f]{12}\), got "
                r"different data \(fingerprint [0-9a-f]{12}\).*--allow_changes=data")):
            run_experiment(FileToyTask, file_config(data_file, seeds=seeds, **{
                "data.folds_to_run": 1}), workdir, num_folds=2)
    assert json.loads((workdir / "results.json").read_text())["mean"] == first["mean"]
    restarted = run_experiment(FileToyTask, file_config(data_file, **{"data.folds_to_run": 1}),
                               workdir, ["data"], num_folds=2)
    assert restarted["replicates_done"] == 2 and restarted["mean"] != first["mean"]
    recorded = json.loads((workdir / "run.json").read_text())["fingerprints"]
    assert len(set(recorded.values())) == 1 and sorted(recorded) == ["seed0-fold0", "seed1-fold0"]


def test_a_plain_run_on_changed_data_restarts_only_when_allowed(data_file, tmp_path):
    run(FileToyTask(file_config(data_file, seeds=1)), tmp_path / "run")
    data_file.write_text("0.5\n")
    with pytest.raises(ValueError, match=r"config.data.path '.*shift.txt', fingerprint"):
        run(FileToyTask(file_config(data_file, seeds=1, num_epochs=2)), tmp_path / "run")
    again = run(FileToyTask(file_config(data_file, seeds=1, num_epochs=2)), tmp_path / "run",
                allow_changes=["data"])
    fresh = run(FileToyTask(file_config(data_file, seeds=1, num_epochs=2)), tmp_path / "new")
    assert again["steps"] == fresh["steps"] and again["test_loss"] == fresh["test_loss"]


def test_nothing_is_written_before_the_data_and_config_validated(data_file, tmp_path):
    workdir = tmp_path / "run"
    for bad, field in ((file_config(data_file, **{"data.batch_size": 0}), "batch_size"),
                       (file_config(tmp_path / "missing.txt"), "missing.txt")):
        with pytest.raises((ValueError, OSError), match=field):
            run_experiment(FileToyTask, bad, workdir)
        assert not workdir.exists()
    workdir.mkdir()  # an existing empty directory stays empty
    data_file.write_text("not a number\n")
    with pytest.raises(ValueError, match=r"line 1 of .*shift.txt must be a number"):
        run_experiment(FileToyTask, file_config(data_file), workdir)
    assert [p.name for p in workdir.iterdir()] == [LOCK_FILE]
    data_file.write_text("1.5\n")  # the corrected command runs
    assert run_experiment(FileToyTask, file_config(data_file, **{"data.batch_size": 16}),
                          workdir)["status"] == "complete"


def test_one_seed_extends_to_more_seeds_without_retraining(data_file, tmp_path):
    workdir = tmp_path / "run"
    single = run_experiment(FileToyTask, file_config(data_file, seeds=1), workdir)
    stamp = (workdir / "checkpoints").stat().st_mtime_ns
    extended = run_experiment(FileToyTask, file_config(data_file, seeds=3), workdir)
    assert [r["replicate"] for r in extended["replicates"]] == ["seed0", "seed1", "seed2"]
    assert extended["replicates"][0]["test_loss"] == single["test_loss"]
    assert (workdir / "seed0" / "checkpoints").stat().st_mtime_ns == stamp
    assert not (workdir / "checkpoints").exists()


def test_the_grid_runs_each_row_and_goes_on_after_a_diverged_row(data_file, tmp_path):
    rows = {"good": file_config(data_file), "lr/huge": file_config(data_file, **{
        "optim.learning_rate": 1e30})}
    results = run_grid(FileToyTask, rows, tmp_path)
    assert results["lr/huge"] is None
    assert results["good"]["status"] == "complete" and results["good"]["replicates_done"] == 2
    assert json.loads((tmp_path / "good" / "results.json").read_text())["mean"] == results[
        "good"]["mean"]
    assert json.loads((tmp_path / "lr" / "huge" / "seed0" / "results.json").read_text())[
        "status"] == "diverged"


def test_ctrl_c_checkpoints_the_last_step_unlocks_and_resumes_exactly(tmp_path):
    class Interruptible(ToyTask):
        stop_at: int | None = 11

        def batch(self, epoch, index):
            if epoch * 8 + index == self.stop_at:
                raise KeyboardInterrupt
            return super().batch(epoch, index)

    config = toy_config(log_every_steps=1, num_epochs=2, checkpoint_every_steps=100)
    with pytest.raises(Interrupted, match=r"^interrupted at step 11; resume with the same "):
        run(Interruptible(config), tmp_path / "cut")
    WorkdirLock("test", tmp_path / "cut").release()  # the lock is free
    resumed = Interruptible(config)
    resumed.stop_at = None
    resumed = run(resumed, tmp_path / "cut")
    whole = run(ToyTask(config), tmp_path / "whole")
    assert resumed["test_loss"] == whole["test_loss"] and resumed["steps"] == 16
    rows = [(tmp_path / d / "metrics.jsonl").read_text() for d in ("cut", "whole")]
    assert [json.loads(r)["train_loss"] for r in rows[0].splitlines() if "epoch" not in r] == [
        json.loads(r)["train_loss"] for r in rows[1].splitlines() if "epoch" not in r]


def test_evaluation_is_prepared_after_the_checks_and_outputs_get_the_workdir(tmp_path):
    calls = []

    class Hooked(ToyTask):
        def check(self, model):
            calls.append("check")

        def prepare_evaluation(self, graphdef):
            calls.append("prepare_evaluation")

        def write_outputs(self, model, split, workdir):
            calls.append("write_outputs")
            (workdir / f"{split}.txt").write_text("outputs")

    run(Hooked(toy_config(num_epochs=1)), tmp_path)
    assert calls == ["check", "prepare_evaluation", "write_outputs"]
    assert (tmp_path / "test.txt").read_text() == "outputs"


def test_data_helpers(tmp_path):
    ids = np.arange(5, dtype=np.int32)
    assert fingerprint("ab", ids, [b"|", ("c",)]) == fingerprint(b"ab" + ids.tobytes() + b"|c")
    assert fingerprint("ab") != fingerprint("ba")
    assert load_stored(tmp_path, {"a.txt": Path.read_text}) is None
    save_missing(tmp_path, {"a.txt": "first"})
    save_missing(tmp_path, {"a.txt": "second"})  # a resumed run keeps the first vocabulary
    assert load_stored(tmp_path, {"a.txt": Path.read_text}) == ["first"]
    from rnnjax.train import sharding

    with pytest.raises(ValueError, match=r"config.data.eval_batch_size must be a positive int"):
        check_batch_sizes("toy", {"batch_size": 8, "eval_batch_size": 0}, sharding.make_mesh())
