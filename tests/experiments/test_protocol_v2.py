"""Every experiment's quick config trains to the same losses under Task protocol v2 as under v1.

The expected values were recorded with the v1 protocol at commit 78df4ce (before the harness
gained its evaluation and output hooks, the shared helpers, the replicate spec and the grid
runner): the training loss of every step (metrics.jsonl), the final test loss and the data
fingerprint. A change to the harness that alters what any experiment trains, scores or
fingerprints changes them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rnnjax.data import load_splits
from rnnjax.train.metrics import read_metrics

STEPS = 2  # training steps per case: one epoch of STEPS batches


def _text(folder: Path) -> Path:
    path = folder / "plays.txt"
    path.write_text(load_splits("shakespeare")["train"][:20_000])
    return path


def _classify(folder: Path) -> Path:
    rng, words = np.random.default_rng(0), {"pos": ("good", "great", "fun"),
                                            "neg": ("bad", "dull", "poor")}
    path = folder / "tiny.tsv"
    path.write_text("".join(f"{label}\tthe film was {rng.choice(w)} and {rng.choice(w)} .\n"
                            for label, w in words.items() for _ in range(40)))
    return path


def _names(folder: Path) -> Path:
    stems = ("Ala", "Bor", "Cen", "Dav", "Eri", "Fil", "Gus", "Hel", "Ivo", "Jan", "Kar", "Lud")
    path = folder / "names.tsv"
    path.write_text("".join(f"{stem}{middle}{ending}\t{category}\n" for category, ending in
                            (("Slavic", "ov"), ("Italian", "ini"), ("Dutch", "je"))
                            for stem in stems for middle in "aeo"))
    return path


def _tagged(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    lines = []
    for _ in range(60):
        noun = [f"{rng.choice(['the', 'a'])}/DT", f"{rng.choice(['cat', 'dog', 'fish'])}/NN"]
        lines.append(" ".join([*noun, f"{rng.choice(['sees', 'likes'])}/VBZ", *noun, "./."]))
    path = folder / "corpus.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def _pairs(folder: Path) -> Path:
    german, english = ("eins", "zwei", "drei", "vier"), ("one", "two", "three", "four")
    lines = []
    for i in range(4, 200):
        digits = [int(d) for d in np.base_repr(i, 4)]
        lines.append(" ".join(german[d] for d in digits) + " .\t"
                     + " ".join(english[d] for d in digits) + " .\n")
    path = folder / "pairs.tsv"
    path.write_text("".join(lines))
    return path


# experiment -> (module, config variant, data file maker, config overrides given the file)
CASES = {
    "lm": ("experiments.lm", "quick", _text,
           lambda p: {"data.corpus": "text", "data.path": p, "data.eval_bptt": 32}),
    "classify": ("experiments.classify", "quick", _classify,
                 lambda p: {"data.name": "file", "data.path": p, "data.folds_to_run": 1,
                            # v1's Adam rate; the default is now 4e-3 (README, Defaults)
                            "optim.learning_rate": 2e-3}),
    "names": ("experiments.names", "quick", _names,
              lambda p: {"data.corpus": p, "data.min_names": 10}),
    "names_generator": ("experiments.names", "quick_generator", _names,
                        lambda p: {"data.corpus": p, "data.min_names": 10, "sample.count": 2}),
    "tagging": ("experiments.tagging", "quick", _tagged,
                lambda p: {"data.corpus": p, "data.ood_test": None}),
    "seq2seq": ("experiments.seq2seq", "quick", _pairs,
                lambda p: {"data.path": p, "decode.heatmaps": 0, "decode.samples": 0}),
    "word2vec": ("experiments.word2vec", "quick", _text,
                 lambda p: {"data.corpus": "text", "data.path": p, "eval.benchmarks": False,
                            "data.batch_size": 256,
                            # v1's initialisation (word2vec.c's); the default is now gensim's
                            "model.init_range": 0.5}),
}

# the module whose train_and_evaluate(config, workdir, allow_changes) launches the experiment
TRAIN_MODULES = {"experiments.names": "experiments.names.tasks"}

# Recorded with the v1 protocol at commit 78df4ce: (train loss of each step, test loss).
V1_LOSSES: dict[str, tuple[list[float], float]] = {
    "classify": ([0.739300012588501, 0.6551886200904846], 0.6879438757896423),
    "lm": ([4.203168869018555, 4.205746650695801], 4.186171234631147),
    "names": ([1.1531025171279907, 0.968299150466919], 1.1082850297292073),
    "names_generator": ([3.225520610809326, 3.2882673740386963], 3.261350458318537),
    "seq2seq": ([1.9514604806900024, 1.935949444770813], 1.911224865522541),
    "tagging": ([1.3889827728271484, 1.383928656578064], 1.3819390402899847),
    "word2vec": ([4.118259429931641, 4.129117965698242], 4.11800479888916),
}

# The data fingerprints (run.json) of the same runs under v1: the shared fingerprint helper
# reproduces each task's digest, so workdirs of v1 runs resume.
V1_FINGERPRINTS = {
    "classify": "cb4ff9b23da0e491cbfb692b2729ce98032e4efdfd8a01864eb327786059d995",
    "lm": "62666c1c99b124daa78d43affbb237244adeca96eb910ba091374ed1d5992333",
    "names": "d0628f40381b68f792204a7053b7ecb2b5c2785d21a954c5cc96d59551a73f8f",
    "names_generator": "d0628f40381b68f792204a7053b7ecb2b5c2785d21a954c5cc96d59551a73f8f",
    "seq2seq": "44a714b9bbe8e1714e860b07d8300cd6283145b2482fb214f67c78decfebe74a",
    "tagging": "f407312d7682ff0916369497651c5a9e778d6b5cff9db7831156dcdba0bde73d",
    "word2vec": "45ccf1c1490731c7fcdc2ea656738c44a3a630ac4f9496260921f42b8e8bb422",
}


def _train(case: str, folder: Path) -> tuple[list[float], float, str]:
    """Run the case's quick config for one epoch of STEPS steps; its losses and data
    fingerprint."""
    import importlib

    module, variant, make_data, overrides = CASES[case]
    configs = importlib.import_module(f"{module}.configs")
    train = importlib.import_module(TRAIN_MODULES.get(module, f"{module}.train"))
    config = configs.get_config(variant)
    config.update_from_flattened_dict({**overrides(str(make_data(folder))), "num_epochs": 1,
                                       "steps_per_epoch": STEPS, "log_every_steps": 1})
    workdir = folder / "run"
    results = train.train_and_evaluate(config, workdir, [])
    run_dir = workdir if "replicates" not in results else workdir / results["replicates"][0][
        "replicate"]
    losses = [row["train_loss"] for row in read_metrics(run_dir) if "epoch" not in row]
    final = json.loads((run_dir / "results.json").read_text())["test_loss"]
    return losses, final, json.loads((run_dir / "run.json").read_text())["fingerprint"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_quick_config_losses_equal_the_v1_protocol(case, tmp_path):
    losses, final, fingerprint = _train(case, tmp_path)
    expected_losses, expected_final = V1_LOSSES[case]
    assert losses == pytest.approx(expected_losses, rel=1e-6)
    assert final == pytest.approx(expected_final, rel=1e-6)
    assert fingerprint == V1_FINGERPRINTS[case]


def test_recorded_seed_lists_read_as_the_first_seed_and_a_count():
    """Commands recorded when ``config.seeds`` listed the seeds still run: every
    ``--config.seeds=`` in results/**/results.json maps to an int count from a first seed."""
    import shlex

    from experiments.launch import legacy_seeds

    assert legacy_seeds(["m", "--config.seeds=3,4,5", "--config.seeds=0,", "--config.seeds=2"]) == [
        "m", "--config.seed=3", "--config.seeds=3", "--config.seed=0", "--config.seeds=1",
        "--config.seeds=2"]
    assert legacy_seeds(["--config.seeds=0,2"]) == ["--config.seeds=0,2"]  # left to be refused
    root = Path(__file__).resolve().parents[2]
    recorded = {json.loads(p.read_text()).get("command", "")
                for p in (root / "results").rglob("results.json")}
    seeds = [arg.split("=", 1)[1] for command in recorded
             for arg in legacy_seeds(shlex.split(command)) if arg.startswith("--config.seeds=")]
    assert seeds and all(value.isdigit() for value in seeds)
