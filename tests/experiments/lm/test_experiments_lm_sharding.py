"""Data parallelism over 4 fake CPU devices gives the single-device losses."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from lm_helpers import REPO, step_losses, subprocess_env

SCRIPT = """
import json, sys
import jax
from lm_helpers import make_config
from experiments.lm.train import train_and_evaluate

overrides, workdir = json.loads(sys.argv[1]), sys.argv[2]
assert jax.device_count() == 4, jax.devices()
train_and_evaluate(make_config(overrides), workdir)
try:
    train_and_evaluate(make_config(overrides, **{"data.batch_size": 6}), workdir + "_odd")
except ValueError as err:
    print(err)
"""


def test_four_devices_match_one_device(reference_run, overrides, compile_cache, tmp_path):
    env = subprocess_env(compile_cache, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    env["PYTHONPATH"] += f":{REPO / 'tests' / 'experiments' / 'lm'}"
    workdir = tmp_path / "dp4"
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(overrides), str(workdir)],
                          cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert ("lm: config.data.batch_size must be a multiple of the device count "
            "(4), got 6") in done.stdout
    sharded, single = step_losses(workdir), step_losses(reference_run)
    assert sorted(sharded) == sorted(single)
    np.testing.assert_allclose([sharded[s] for s in sorted(single)],
                               [single[s] for s in sorted(single)], rtol=2e-5)
    results = json.loads((workdir / "results.json").read_text())
    reference = json.loads((reference_run / "results.json").read_text())
    assert "4 x cpu" in results["machine"]
    assert results["test_loss"] == pytest.approx(reference["test_loss"], rel=2e-5)
