"""``--per_core``: the launch makes one XLA device per core (each batch split over them, the fused
LSTM kernel run per device) and trains with the single-device run's losses."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest
from lm_helpers import REPO, cli, step_losses, subprocess_env


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing to split")
def test_per_core_trains_like_one_device(overrides, compile_cache, reference_run, tmp_path):
    workdir = tmp_path / "per_core"
    done = subprocess.run(cli(workdir, overrides, "--per_core"), cwd=REPO,
                          env=subprocess_env(compile_cache), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((workdir / "results.json").read_text())
    assert "2 x cpu" in results["machine"]  # quick's batch sizes are even: two of the cores
    sharded, single = step_losses(workdir), step_losses(reference_run)
    assert sorted(sharded) == sorted(single)
    np.testing.assert_allclose([sharded[s] for s in sorted(single)],
                               [single[s] for s in sorted(single)], rtol=2e-5)
    assert results["test_loss"] == pytest.approx(
        json.loads((reference_run / "results.json").read_text())["test_loss"], rel=2e-5)
