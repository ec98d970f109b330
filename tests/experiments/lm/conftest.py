"""A tiny text corpus, overrides of the ``quick`` config, and one reference run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lm_helpers import make_config

from experiments.lm.train import train_and_evaluate
from rnnjax.data import load_splits


@pytest.fixture(scope="session")
def corpus_file(tmp_path_factory) -> Path:
    """20,000 characters of the embedded Shakespeare as a ``text`` corpus (90/5/5 split)."""
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    path.write_text(load_splits("shakespeare")["train"][:20_000])
    return path


@pytest.fixture(scope="session")
def overrides(corpus_file) -> dict[str, object]:
    """Changes to ``quick``: 2 epochs of 4 steps."""
    return {"data.corpus": "text", "data.path": str(corpus_file), "data.eval_bptt": 32,
            "num_epochs": 2, "steps_per_epoch": 4}


@pytest.fixture(scope="session")
def compile_cache(tmp_path_factory) -> Path:
    """The suite's compilation cache (tests/conftest.py), else one of this session's own."""
    shared = os.environ.get("JAX_COMPILATION_CACHE_DIR")
    return Path(shared) if shared else tmp_path_factory.mktemp("jax_cache")


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory, overrides) -> Path:
    """The workdir of one uninterrupted in-process run of ``make_config(overrides)``."""
    workdir = tmp_path_factory.mktemp("reference")
    train_and_evaluate(make_config(overrides), workdir)
    return workdir
