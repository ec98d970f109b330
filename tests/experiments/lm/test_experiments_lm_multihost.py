"""Two processes joined by ``jax.distributed`` (one CPU device each, on localhost) train the LM
with the same losses as one process with two devices: the multi-host launch flags work."""

from __future__ import annotations

import json
import socket
import subprocess

import numpy as np
import pytest
from lm_helpers import REPO, cli, step_losses, subprocess_env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_processes_match_one_process_with_two_devices(overrides, compile_cache, tmp_path):
    overrides = {**overrides, "num_epochs": 1, "steps_per_epoch": 3}
    env = subprocess_env(compile_cache)
    hosts, single = tmp_path / "two_processes", tmp_path / "two_devices"
    address = f"--coordinator_address=127.0.0.1:{_free_port()}"
    processes = [subprocess.Popen(cli(hosts, overrides, address, "--num_processes=2",
                                      f"--process_id={i}"),
                                  cwd=REPO, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for i in range(2)]
    done = subprocess.run(cli(single, overrides), cwd=REPO, capture_output=True, text=True,
                          env={**env, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"})
    logs = [p.communicate(timeout=600)[0] for p in processes]
    assert done.returncode == 0, done.stderr[-3000:]
    for process, log in zip(processes, logs, strict=True):
        assert process.returncode == 0, log[-3000:]
    multi, reference = step_losses(hosts), step_losses(single)
    assert sorted(multi) == sorted(reference) == [1, 2, 3]
    np.testing.assert_allclose([multi[s] for s in (1, 2, 3)],
                               [reference[s] for s in (1, 2, 3)], rtol=1e-6)
    results = json.loads((hosts / "results.json").read_text())
    assert "2 x cpu" in results["machine"]
    assert results["test_loss"] == pytest.approx(
        json.loads((single / "results.json").read_text())["test_loss"], rel=1e-6)
