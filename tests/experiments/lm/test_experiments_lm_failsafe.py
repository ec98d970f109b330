"""The LM launch fails safe: one-line errors before training, refused resumes that leave the
workdir intact, a workdir lock, caught divergence.

Each kind of error the command line turns into its one line is launched once (a bad config
value, an unknown field, a bad literal, a file that is not there, a workdir that is a file, a
lock, a divergence, a refused resume): ``python -m experiments.lm``'s main run in this process
with its flags parsed from the command line (``run_main_in_process``; a child process would
re-import jax for each, ~4 s); the messages of the other config checks are tested on
``train_and_evaluate`` in test_experiments_lm_run.py."""

from __future__ import annotations

import json
import os

import pytest
from absl.testing import flagsaver
from lm_helpers import make_config
from rnnjax_testing import run_main_in_process

from experiments.lm.sample import main as sample
from experiments.lm.train import train_and_evaluate
from rnnjax.train.workdir import WorkdirLock


def error_line(capsys, *args: str) -> str:
    """The one line ``python -m experiments.lm --config=...:quick ARGS`` prints on stderr when
    it fails, asserting its exit status 2 and that it printed no traceback."""
    capsys.readouterr()
    status = run_main_in_process("experiments.lm", "--config=experiments/lm/configs.py:quick",
                                 *args)
    stderr = capsys.readouterr().err
    assert status == 2, stderr[-2000:]
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in stderr, stderr[-2000:]
    return errors[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory, overrides):
    """A finished run (in-process) of the quick config with ``overrides`` for 1 epoch."""
    workdir = tmp_path_factory.mktemp("finished")
    assert train_and_evaluate(make_config(overrides, num_epochs=1), workdir)[
        "status"] == "complete"
    return workdir


def test_a_refused_resume_leaves_the_workdir_usable(finished, overrides, capsys):
    files = {p: p.read_bytes() for p in finished.rglob("*") if p.is_file() and p.name != ".lock"}
    args = [f"--config.{k}={v}" for k, v in overrides.items() if k != "num_epochs"]
    line = error_line(capsys, f"--workdir={finished}", *args, "--config.model.hidden_size=32",
                      "--config.optim.learning_rate=1")
    assert line.startswith(f"error: run: config must be the config of the run stored in "
                           f"{finished}")
    assert line.endswith("got changes to model.hidden_size: 16 -> 32; optim.learning_rate: 0.002 "
                         "-> 1.0. Use a new --workdir, or accept them with "
                         "--allow_changes=model.hidden_size,optim.learning_rate")
    assert {p: p.read_bytes() for p in finished.rglob("*")
            if p.is_file() and p.name != ".lock"} == files
    with flagsaver.as_parsed(workdir=str(finished), prime="Romeo", length="5",
                             temperature="0.8", top_k="0", seed="0"):  # the sample command's main
        sample([])
    assert capsys.readouterr().out.startswith("Romeo")


def test_new_data_at_the_same_path_is_refused(finished, overrides, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("another text entirely\n" * 2000)
    config = make_config(overrides, num_epochs=1, **{"data.path": str(other)})
    with pytest.raises(ValueError, match=r"data.path: .*--allow_changes=data.path"):
        train_and_evaluate(config, finished)
    with pytest.raises(ValueError, match="run: the data must be the data the run in"):
        train_and_evaluate(config, finished, allow_changes=["data.path"])


def test_a_second_run_on_a_locked_workdir_is_refused(capsys, tmp_path):
    with WorkdirLock("test", tmp_path):  # an flock: a second open of the file is refused
        line = error_line(capsys, f"--workdir={tmp_path}")
    assert f"in use by process {os.getpid()}" in line


@pytest.mark.parametrize(("args", "message"), [
    (["--config.optim.lr=3"], "flag --config.optim.lr: the config has no field 'optim.lr'"),
    (["--config.num_epochs=two"], "flag --config.num_epochs=two: invalid literal for int()"),
    (["--config.data.corpus=text", "--config.data.path=/nonexistent.txt"],
     "read_text_path: path must be an existing text file or directory, got '/nonexistent.txt'"),
])
def test_bad_configs_fail_in_one_line_before_anything_is_written(capsys, tmp_path, args,
                                                                 message):
    line = error_line(capsys, f"--workdir={tmp_path / 'run'}", *args)
    assert message in line
    assert not (tmp_path / "run").exists()


def test_a_workdir_that_is_a_file_fails_in_one_line(capsys, tmp_path):
    workdir = tmp_path / "file"
    workdir.write_text("x")
    assert "run: workdir must be a directory, got " in error_line(capsys, f"--workdir={workdir}")


def test_divergence_ends_with_one_line_and_a_diverged_status(capsys, tmp_path):
    line = error_line(capsys, f"--workdir={tmp_path}", "--config.steps_per_epoch=30",
                      "--config.optim.learning_rate=1e6")
    assert line.startswith("error: run: training diverged: the training loss")
    assert json.loads((tmp_path / "results.json").read_text())["status"] == "diverged"


def test_a_text_of_one_long_line_trains(tmp_path):
    text = tmp_path / "one_line.txt"
    text.write_text("the quick brown fox jumps over the lazy dog " * 2100)  # 90k chars, no \n
    config = make_config({"data.corpus": "text", "data.path": str(text), "data.eval_bptt": 32})
    assert train_and_evaluate(config, tmp_path / "run")["status"] == "complete"
