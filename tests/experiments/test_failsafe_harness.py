"""The harness's fail-safe conventions through the experiments' own entry points: replicates
never mix data (classify folds, names seeds), nothing is written before the input validated
(classify), and Ctrl-C ends a CLI run in one line with a resumable workdir (lm: the interrupted
run is a child process, the same command then resumes it with its main run in this process,
``run_main_in_process``)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from rnnjax_testing import run_main_in_process

from experiments.classify.configs import get_config as classify_config
from experiments.classify.train import train_and_evaluate as classify
from experiments.names.configs import get_config as names_config
from experiments.names.tasks import train_and_evaluate as names
from rnnjax.data import load_splits
from rnnjax.train.workdir import LOCK_FILE

REPO = Path(__file__).resolve().parents[2]


def write_tsv(path: Path, classes: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    words = ["good", "bad", "dull", "fun", "odd", "grim"]
    path.write_text("".join(f"c{k}\tthe film was {words[k]} and {rng.choice(words)} .\n"
                            for k in range(classes) for _ in range(20)))
    return path


def quick_classify(path: Path, **overrides):
    config = classify_config("quick")
    config.update_from_flattened_dict({"data.name": "file", "data.path": str(path),
                                       "num_epochs": 1, "steps_per_epoch": 2, **overrides})
    return config


def test_classify_never_averages_folds_trained_on_different_data(tmp_path):
    data, workdir = write_tsv(tmp_path / "data.tsv", 2), tmp_path / "run"
    classify(quick_classify(data, **{"data.folds_to_run": 1}), workdir)
    write_tsv(data, 4)  # new content in the same file
    refused = (r"the data must be the data replicate seed0-fold0 in .*seed0-fold0 was trained "
               r"on \(config.data.path '.*data.tsv', fingerprint [0-9a-f]{12}\), got different "
               r"data \(fingerprint [0-9a-f]{12}\)")
    for folds in (1, 2):  # the complete run again, and its extension to a second fold
        with pytest.raises(ValueError, match=refused):
            classify(quick_classify(data, **{"data.folds_to_run": folds}), workdir)
    results = classify(quick_classify(data, **{"data.folds_to_run": 2}), workdir, ["data"])
    assert results["status"] == "complete" and results["replicates_done"] == 2
    fingerprints = json.loads((workdir / "run.json").read_text())["fingerprints"]
    for fold in (0, 1):  # both folds trained on the 4 classes
        sub = json.loads((workdir / f"seed0-fold{fold}" / "run.json").read_text())
        assert sub["fingerprint"] == fingerprints[f"seed0-fold{fold}"]
        assert len(json.loads((workdir / f"seed0-fold{fold}" / "vocab.json").read_text())[
            "tokens"]) > 0


def test_names_more_seeds_on_changed_data_is_refused(tmp_path):
    path = tmp_path / "names.tsv"
    rows = [f"{stem}{middle}{end}\t{country}\n" for country, end in (("A", "ov"), ("B", "ini"))
            for stem in ("Ala", "Bor", "Cen", "Dav", "Eri", "Fil", "Gus", "Hel", "Ivo", "Jan")
            for middle in "aeo"]
    path.write_text("".join(rows))
    config = names_config("quick")
    config.update_from_flattened_dict({"data.corpus": str(path), "data.min_names": 5,
                                       "steps_per_epoch": 2})
    names(config, tmp_path / "run")
    path.write_text("".join(rows[::-1] + [f"Kar{end}\tB\n" for end in ("ini", "ino")]))
    config.seeds = 2
    with pytest.raises(ValueError, match=r"the data must be the data replicate seed0 in "):
        names(config, tmp_path / "run", ["seeds"])


@pytest.mark.parametrize("bad", [{"data.batch_size": 0}, "malformed"])
def test_a_refused_classify_command_leaves_the_corrected_one_free_to_run(tmp_path, bad):
    data, workdir = write_tsv(tmp_path / "data.tsv", 2), tmp_path / "run"
    workdir.mkdir()
    if bad == "malformed":
        data.write_text("pos\tfine film\nno tab on this line\n")
        with pytest.raises(ValueError, match=r"data\.tsv"):
            classify(quick_classify(data), workdir)
        write_tsv(data, 2)
    else:
        with pytest.raises(ValueError, match=r"config.data.batch_size must be a positive int"):
            classify(quick_classify(data, **bad), workdir)
    assert [p.name for p in workdir.iterdir()] == [LOCK_FILE]  # nothing written
    assert classify(quick_classify(data, **{"data.folds_to_run": 1}), workdir)[
        "status"] == "complete"


def test_ctrl_c_ends_the_cli_in_one_line_and_the_same_command_resumes(tmp_path, caplog):
    corpus = tmp_path / "text.txt"
    corpus.write_text(load_splits("shakespeare")["train"][:20_000])
    workdir = tmp_path / "run"
    command = [sys.executable, "-m", "experiments.lm", "--config=experiments/lm/configs.py:quick",
               f"--workdir={workdir}", "--config.data.corpus=text",
               f"--config.data.path={corpus}", "--config.data.eval_bptt=32",
               "--config.steps_per_epoch=400", "--config.sample.length=5"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    child = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    metrics, deadline = workdir / "metrics.jsonl", time.time() + 240
    while time.time() < deadline and child.poll() is None and (
            not metrics.is_file() or metrics.read_text().count("\n") < 3):
        time.sleep(0.2)
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=120)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert child.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr
    assert lines[-1].startswith("interrupted at step ") and lines[-1].endswith(
        f"resume with the same command (--workdir={workdir})")
    step = int(lines[-1].split()[3].rstrip(";"))
    assert 3 <= step < 400
    with caplog.at_level(logging.INFO):
        assert run_main_in_process(*command[2:]) == 0  # python -m experiments.lm ...
    assert f"resumed from step {step} " in caplog.text
    assert json.loads((workdir / "results.json").read_text())["steps"] == 400
