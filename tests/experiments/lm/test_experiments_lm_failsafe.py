"""The LM launch fails safe: one-line errors before training, refused resumes that leave the
workdir intact, a workdir lock, caught divergence."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from lm_helpers import REPO, subprocess_env

from rnnjax.train.workdir import WorkdirLock

QUICK = [sys.executable, "-m", "experiments.lm", "--config=experiments/lm/configs.py:quick"]


def launch(compile_cache, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*QUICK, *args], cwd=REPO, env=subprocess_env(compile_cache),
                          capture_output=True, text=True, timeout=300)


def error_line(done: subprocess.CompletedProcess) -> str:
    """The one line a failed launch prints (stderr also holds absl's INFO log lines)."""
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    return errors[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory, compile_cache, overrides):
    workdir = tmp_path_factory.mktemp("finished")
    done = launch(compile_cache, f"--workdir={workdir}", "--config.num_epochs=1",
                  *(f"--config.{k}={v}" for k, v in overrides.items() if k != "num_epochs"))
    assert done.returncode == 0, done.stderr[-2000:]
    return workdir


def test_a_refused_resume_leaves_the_workdir_usable(finished, compile_cache, overrides):
    files = {p: p.read_bytes() for p in finished.rglob("*") if p.is_file() and p.name != ".lock"}
    args = [f"--config.{k}={v}" for k, v in overrides.items() if k != "num_epochs"]
    line = error_line(launch(compile_cache, f"--workdir={finished}", *args,
                             "--config.model.hidden_size=32", "--config.optim.learning_rate=1"))
    assert line.startswith(f"error: run: config must be the config of the run stored in "
                           f"{finished}")
    assert line.endswith("got changes to model.hidden_size: 16 -> 32; optim.learning_rate: 0.002 "
                         "-> 1.0. Use a new --workdir, or accept them with "
                         "--allow_changes=model.hidden_size,optim.learning_rate")
    assert {p: p.read_bytes() for p in finished.rglob("*")
            if p.is_file() and p.name != ".lock"} == files
    sample = subprocess.run([sys.executable, "-m", "experiments.lm.sample",
                             f"--workdir={finished}", "--length=5"], cwd=REPO,
                            env=subprocess_env(compile_cache), capture_output=True, text=True)
    assert sample.returncode == 0, sample.stderr[-2000:]


def test_new_data_at_the_same_path_is_refused(finished, compile_cache, overrides, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("another text entirely\n" * 2000)
    args = [f"--config.{k}={v}" for k, v in overrides.items() if k != "data.path"]
    line = error_line(launch(compile_cache, f"--workdir={finished}", *args,
                             f"--config.data.path={other}"))
    assert "data.path:" in line and "--allow_changes=data.path" in line
    line = error_line(launch(compile_cache, f"--workdir={finished}", *args,
                             f"--config.data.path={other}", "--allow_changes=data.path"))
    assert "run: the data must be the data the run in" in line


def test_a_second_run_on_a_locked_workdir_is_refused(compile_cache, tmp_path):
    with WorkdirLock("test", tmp_path):
        line = error_line(launch(compile_cache, f"--workdir={tmp_path}"))
    assert f"in use by process {os.getpid()}" in line


@pytest.mark.parametrize(("args", "message"), [
    (["--config.sample.top_k=500"], "lm: config.sample.top_k must be an int in [0, "),
    (["--config.data.eval_batch_size=1000"],
     "lm: config.data.eval_batch_size * (config.data.eval_bptt + 1) must be at most the 49702 "
     "tokens of the valid split, got 1000 * (256 + 1) = 257000"),
    (["--config.data.corpus=enwik8"], "load_corpus: corpus must be one of"),
    (["--config.optim.lr=3"], "flag --config.optim.lr: the config has no field 'optim.lr'"),
    (["--config.num_epochs=two"], "flag --config.num_epochs=two: invalid literal for int()"),
    (["--config.model.cell=lstmm"], "RNNLM: cell must be one of"),
    (["--config.data.corpus=text", "--config.data.path=/nonexistent.txt"],
     "read_text_path: path must be an existing text file or directory, got '/nonexistent.txt'"),
])
def test_bad_configs_fail_in_one_line_before_anything_is_written(compile_cache, tmp_path, args,
                                                                 message):
    line = error_line(launch(compile_cache, f"--workdir={tmp_path / 'run'}", *args))
    assert message in line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("workdir", "message"), [
    ("", "run: workdir must be a directory path (e.g. --workdir=/tmp/run), got ''"),
    ("FILE", "run: workdir must be a directory, got "),
])
def test_bad_workdirs_fail_in_one_line(compile_cache, tmp_path, workdir, message):
    if workdir == "FILE":
        workdir = tmp_path / "file"
        workdir.write_text("x")
    assert message in error_line(launch(compile_cache, f"--workdir={workdir}"))


def test_divergence_ends_with_one_line_and_a_diverged_status(compile_cache, tmp_path):
    line = error_line(launch(compile_cache, f"--workdir={tmp_path}", "--config.steps_per_epoch=30",
                             "--config.optim.learning_rate=1e6"))
    assert line.startswith("error: run: training diverged: the training loss")
    assert json.loads((tmp_path / "results.json").read_text())["status"] == "diverged"


def test_a_text_of_one_long_line_trains(compile_cache, tmp_path):
    text = tmp_path / "one_line.txt"
    text.write_text("the quick brown fox jumps over the lazy dog " * 2100)  # 90k chars, no \n
    done = launch(compile_cache, f"--workdir={tmp_path / 'run'}", "--config.data.corpus=text",
                  f"--config.data.path={text}", "--config.data.eval_bptt=32")
    assert done.returncode == 0, done.stderr[-2000:]
