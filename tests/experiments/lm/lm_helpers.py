"""Helpers of the training tests: the ``quick`` config with overrides, its CLI, child env."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from experiments.lm.configs import get_config
from rnnjax.train.metrics import read_metrics

REPO = Path(__file__).resolve().parents[3]


def make_config(overrides: dict[str, object], **more: object):
    config = get_config("quick")
    config.update_from_flattened_dict({**overrides, **more})
    return config


def cli(workdir: Path, overrides: dict[str, object], *extra: str) -> list[str]:
    """The ``python -m experiments.lm`` command of ``make_config(overrides)``."""
    return [sys.executable, "-m", "experiments.lm",
            "--config=experiments/lm/configs.py:quick", f"--workdir={workdir}",
            *(f"--config.{k}={v}" for k, v in overrides.items()), *extra]


def subprocess_env(cache_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a child run: repo importable, a compilation cache shared by children."""
    return {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu",
            "JAX_COMPILATION_CACHE_DIR": str(cache_dir),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0", **extra}


def step_losses(workdir: Path) -> dict[int, float]:
    """{step: training loss} of every per-step row of metrics.jsonl."""
    return {r["step"]: r["train_loss"] for r in read_metrics(workdir) if "epoch" not in r}
