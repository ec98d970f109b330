"""The classification tests' user file: two classes told apart by their adjectives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

WORDS = {"pos": ("good", "great", "fine", "fun"), "neg": ("bad", "dull", "poor", "awful")}


@pytest.fixture(scope="module")
def tsv(tmp_path_factory) -> Path:
    """80 short sentences (one padded length), two classes told apart by their adjectives."""
    rng = np.random.default_rng(0)
    lines = [f"{label}\tthe film was {rng.choice(words)} and {rng.choice(words)} .\n"
             for label, words in WORDS.items() for _ in range(40)]
    path = tmp_path_factory.mktemp("data") / "tiny.tsv"
    path.write_text("".join(lines), encoding="utf-8")
    return path
