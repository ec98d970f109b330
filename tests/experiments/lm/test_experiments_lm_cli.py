"""Every LM entry point end to end, tiny: the default command, sampling, compare, report.

The commands of the experiment run their mains in this process (``run_main_in_process``: a
child process would re-import jax), the report, which shares no flags with them, in a child."""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import subprocess
import sys
from pathlib import Path

import pytest
from absl.testing import flagsaver
from rnnjax_testing import run_main_in_process

from experiments.lm.configs import VARIANTS, get_config
from experiments.lm.sample import main as sample
from rnnjax.data import load_splits
from rnnjax.train.optim import learning_rate

REPO = Path(__file__).resolve().parents[3]


def run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-m", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def default_run(tmp_path_factory) -> Path:
    """README's main command, 1 epoch of 2 steps: the char LSTM on the embedded Shakespeare."""
    workdir = tmp_path_factory.mktemp("default")
    log = logging.handlers.BufferingHandler(capacity=10_000)
    logging.getLogger().addHandler(log)
    try:
        assert run_main_in_process("experiments.lm", f"--workdir={workdir}",
                                   "--config.num_epochs=1", "--config.steps_per_epoch=2",
                                   "--config.sample.length=10") == 0
    finally:
        logging.getLogger().removeHandler(log)
    logged = "\n".join(record.getMessage() for record in log.buffer)
    assert "valid bpc" in logged and "sample:" in logged
    return workdir


def test_default_command_is_the_shakespeare_char_lstm(default_run):
    results = json.loads((default_run / "results.json").read_text())
    assert results["name"] == "shakespeare_char" and results["corpus"] == "shakespeare"
    assert results["status"] == "complete" and results["steps"] == 2
    assert 0 < results["valid_bpc"] < 8 and 0 < results["test_bpc"] < 8


def test_sample_prints_the_prime_and_its_continuation(default_run, capsys):
    """``python -m experiments.lm.sample``'s main, in-process with its flags parsed."""
    with flagsaver.as_parsed(workdir=str(default_run), prime="ROMEO:", length="25",
                             temperature="0", top_k="5", seed="0"):
        sample([])
    printed = capsys.readouterr().out
    assert printed.startswith("ROMEO:") and len(printed) == len("ROMEO:") + 25 + 1


def test_compare_a_learning_rate_grid_then_report(tmp_path):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text(load_splits("shakespeare")["train"][:20_000])
    root = tmp_path / "compare"
    assert run_main_in_process(
        "experiments.lm.compare", "--config=experiments/lm/configs.py:quick", "--cells=gru",
        "--learning_rates=0.002,0.001", f"--workdir={root}", "--config.data.corpus=text",
        f"--config.data.path={corpus}", "--config.data.eval_bptt=32",
        "--config.steps_per_epoch=1") == 0
    rows = json.loads((root / "compare.json").read_text())
    assert [r["name"] for r in rows] == ["quick/gru/lr0.002", "quick/gru/lr0.001"]
    assert [r["model"]["impl"] for r in rows] == ["auto", "auto"]
    assert (root / "gru" / "lr0.001" / "results.json").is_file()
    out = tmp_path / "report"
    run("experiments.report", f"--results={root}", f"--out_dir={out}")
    table, plot = (out / "lm" / "REPORT.md").read_text(), out / "lm" / "curves.png"
    assert "| quick/gru/lr0.001 | text | gru 2x16 | adam 0.001, clip 5 | 1/1 (1 steps) |" in table
    assert "bits/char" in table and plot.stat().st_size > 1000


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_documents_its_command(variant):
    config = get_config(variant)
    assert config.name == variant
    doc = sys.modules[get_config.__module__].__dict__[variant].__doc__
    assert "python -m experiments.lm" in doc


def test_default_variant_and_unknown_variant():
    assert get_config().name == "shakespeare_char"
    with pytest.raises(ValueError, match="get_config: variant must be one of"):
        get_config("zaremba_huge")


def test_zaremba_small_is_the_paper_config():
    c = get_config("zaremba_small")
    assert (c.model.num_layers, c.model.hidden_size, c.num_epochs, c.data.batch_size,
            c.data.bptt, c.optim.learning_rate, c.optim.clip_norm, c.model.init_scale,
            c.model.dropout) == (2, 200, 13, 20, 20, 1.0, 5.0, 0.1, 0.0)


def test_zaremba_small_is_constant_for_4_epochs_then_halved_every_epoch():
    optim = get_config("zaremba_small").optim
    assert [learning_rate(optim, e) for e in range(7)] == [1, 1, 1, 1, 0.5, 0.25, 0.125]


def test_zaremba_medium_and_large_decay_after_6_and_14_epochs():
    medium, large = get_config("zaremba_medium").optim, get_config("zaremba_large").optim
    assert learning_rate(medium, 5) == 1.0
    assert learning_rate(medium, 7) == pytest.approx(1 / 1.2**2)
    assert learning_rate(large, 13) == 1.0
    assert learning_rate(large, 14) == pytest.approx(1 / 1.15)
