"""A run killed with SIGKILL mid-epoch and restarted continues with the uninterrupted losses.

The run is a child process (the kill); the restart, the same command, runs its main in this
process (``run_main_in_process``)."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import time

from lm_helpers import REPO, cli, step_losses, subprocess_env
from rnnjax_testing import run_main_in_process

from rnnjax.train.checkpoint import Checkpointer


def logged_steps(workdir) -> int:
    """Per-step rows completely written to metrics.jsonl so far."""
    path = workdir / "metrics.jsonl"
    text = path.read_text() if path.is_file() else ""
    return sum('"epoch"' not in line for line in text[: text.rfind("\n") + 1].splitlines())


def test_sigkill_mid_epoch_then_restart_repeats_the_uninterrupted_losses(
        reference_run, overrides, compile_cache, tmp_path, caplog):
    workdir, env = tmp_path / "run", subprocess_env(compile_cache)
    command = cli(workdir, overrides, "--config.checkpoint_every_steps=1")
    with (tmp_path / "killed.log").open("w") as log:
        child = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 300
        while logged_steps(workdir) < 6:  # epoch 2 of 4 steps each: steps 5-8
            assert child.poll() is None, (tmp_path / "killed.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the child never reached step 6"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert 5 <= Checkpointer(workdir).latest_step() < 8
    assert not (workdir / "results.json").exists() or json.loads(
        (workdir / "results.json").read_text())["status"] == "partial"

    with caplog.at_level(logging.INFO):
        assert run_main_in_process(*command[2:]) == 0  # python -m experiments.lm ...
    assert "resumed from step" in caplog.text
    assert step_losses(workdir) == step_losses(reference_run)
    resumed = json.loads((workdir / "results.json").read_text())
    reference = json.loads((reference_run / "results.json").read_text())
    assert resumed["status"] == "complete" and resumed["steps"] == 8
    assert resumed["test_loss"] == reference["test_loss"]
