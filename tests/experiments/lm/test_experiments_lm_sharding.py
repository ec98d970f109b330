"""Data parallelism gives the single-device losses: over 2 fake CPU devices in one process, and
over 2 processes joined by ``jax.distributed`` (one CPU device each, on localhost), which train
with the same losses as the process with two devices: the multi-host launch flags work. One
2-device process serves both comparisons."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from lm_helpers import REPO, cli, step_losses, subprocess_env

SCRIPT = """
import json, sys
import jax
from lm_helpers import make_config
from experiments.lm.train import train_and_evaluate

overrides, workdir = json.loads(sys.argv[1]), sys.argv[2]
assert jax.device_count() == 2, jax.devices()
train_and_evaluate(make_config(overrides), workdir)
try:
    train_and_evaluate(make_config(overrides, **{"data.batch_size": 5}), workdir + "_odd")
except ValueError as err:
    print(err)
"""


@pytest.fixture(scope="module")
def two_devices(overrides, compile_cache, tmp_path_factory) -> tuple[Path, str]:
    """The workdir of the run of ``overrides`` in one process with 2 fake CPU devices, and what
    that process printed (the refusal of a batch of 5)."""
    env = subprocess_env(compile_cache, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    env["PYTHONPATH"] += f":{REPO / 'tests' / 'experiments' / 'lm'}"
    workdir = tmp_path_factory.mktemp("two_devices") / "dp2"
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(overrides), str(workdir)],
                          cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return workdir, done.stdout


def test_two_devices_match_one_device(two_devices, reference_run):
    workdir, printed = two_devices
    assert ("lm: config.data.batch_size must be a multiple of the device count "
            "(2), got 5") in printed
    sharded, single = step_losses(workdir), step_losses(reference_run)
    assert sorted(sharded) == sorted(single)
    np.testing.assert_allclose([sharded[s] for s in sorted(single)],
                               [single[s] for s in sorted(single)], rtol=2e-5)
    results = json.loads((workdir / "results.json").read_text())
    reference = json.loads((reference_run / "results.json").read_text())
    assert "2 x cpu" in results["machine"]
    assert results["test_loss"] == pytest.approx(reference["test_loss"], rel=2e-5)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_processes_match_one_process_with_two_devices(two_devices, overrides, compile_cache,
                                                          tmp_path):
    single, _ = two_devices
    hosts = tmp_path / "two_processes"
    address = f"--coordinator_address=127.0.0.1:{_free_port()}"
    processes = [subprocess.Popen(cli(hosts, overrides, address, "--num_processes=2",
                                      f"--process_id={i}"),
                                  cwd=REPO, env=subprocess_env(compile_cache),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for i in range(2)]
    logs = [p.communicate(timeout=600)[0] for p in processes]
    for process, log in zip(processes, logs, strict=True):
        assert process.returncode == 0, log[-3000:]
    multi, reference = step_losses(hosts), step_losses(single)
    assert sorted(multi) == sorted(reference) == list(range(1, 9))
    np.testing.assert_allclose([multi[s] for s in sorted(reference)],
                               [reference[s] for s in sorted(reference)], rtol=1e-6)
    results = json.loads((hosts / "results.json").read_text())
    assert "2 x cpu" in results["machine"]
    assert results["test_loss"] == pytest.approx(
        json.loads((single / "results.json").read_text())["test_loss"], rel=1e-6)
