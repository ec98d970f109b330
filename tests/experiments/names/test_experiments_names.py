"""The names experiment end to end on a small name<TAB>category file: the quick classifier (with
its confusion matrix), the n-gram baseline on the same split, the quick generator and the sample
command (with one-line errors)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.names.configs import get_config
from experiments.names.ngram import fit
from experiments.names.tasks import make_task, train_and_evaluate

REPO = Path(__file__).resolve().parents[3]
STEMS = ("Ala", "Bor", "Cen", "Dav", "Eri", "Fil", "Gus", "Hel", "Ivo", "Jan", "Kar", "Lud")
ENDINGS = {"Slavic": "ov", "Italian": "ini", "Dutch": "je"}


@pytest.fixture(scope="module")
def names_file(tmp_path_factory) -> Path:
    """36 names per category, told apart by their endings."""
    path = tmp_path_factory.mktemp("names") / "names.tsv"
    path.write_text("".join(f"{stem}{middle}{ending}\t{category}\n"
                            for category, ending in ENDINGS.items()
                            for stem in STEMS for middle in ("a", "e", "o")))
    return path


def config_for(variant: str, names_file: Path):
    config = get_config(variant)
    config.data.corpus, config.data.min_names = str(names_file), 10
    return config


def test_quick_classifier_learns_the_endings_and_writes_the_confusion_matrix(names_file,
                                                                             tmp_path):
    config = config_for("quick", names_file)
    # up to 6 passes over the training names (early stopping once valid accuracy stalls)
    config.num_epochs, config.steps_per_epoch, config.optim.learning_rate = 6, 0, 2e-2
    results = train_and_evaluate(config, tmp_path / "run")
    assert results["status"] == "complete" and results["task"] == "classify"
    assert results["test_accuracy"] >= 0.9  # three categories: chance is 1/3
    confusion = json.loads((tmp_path / "run" / "confusion_test.json").read_text())
    assert confusion["categories"] == sorted(ENDINGS)
    counts = confusion["confusion"]
    assert len(counts) == 3 and all(len(row) == 3 for row in counts)
    assert results["test_accuracy"] == pytest.approx(
        sum(counts[k][k] for k in range(3)) / sum(map(sum, counts)))


def test_bilstm_ngrams_variant_builds_a_classifier_with_the_ngram_bag():
    import jax.numpy as jnp
    from flax import nnx

    from rnnjax.models import make_model

    model = make_model(get_config("bilstm_ngrams").model, vocab_size=30, num_classes=4,
                       rngs=nnx.Rngs(0))
    assert model.ngrams.max_order == 4 and model.ngrams.num_buckets == 2**16
    assert model(jnp.ones((2, 5), jnp.int32), jnp.asarray([5, 2])).shape == (2, 4)


def test_ngram_baseline_learns_the_endings_on_the_same_split(names_file, tmp_path):
    task = make_task(config_for("quick", names_file))
    task.load(tmp_path)
    fitted = fit(task, (1, 3), [10.0])
    assert fitted["test_accuracy"] == 1.0 and fitted["C"] == 10.0


def run_sample(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    return subprocess.run([sys.executable, "-m", "experiments.names.sample", *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)


def test_quick_generator_then_the_sample_command(names_file, tmp_path):
    workdir = tmp_path / "generator"
    results = train_and_evaluate(config_for("quick_generator", names_file), workdir)
    assert results["status"] == "complete" and results["test_bpc"] > 0
    report = json.loads((workdir / "samples_test.json").read_text())
    assert sorted(report) == sorted(ENDINGS)
    assert all(len(r["samples"]) == 5 for r in report.values())
    assert 0.0 <= results["test_novel_real_fraction"] <= results["test_real_fraction"] <= 1.0

    out = run_sample(f"--workdir={workdir}", "--country=italian", "--start=Lu", "-n", "4",
                     "--temperature=0.5")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 5 and all(line.startswith("Lu") for line in lines[:4])
    assert lines[4].startswith("# 4 names of Italian at temperature 0.5: ")
    out = run_sample(f"--workdir={workdir}", "--country=Atlantis")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1] == (
        "error: sample: --country must be one of the 3 countries ('Dutch', 'Italian', "
        "'Slavic'), got 'Atlantis'")
