"""Where rnnjax's SGNS and gensim's differ: ablation rows on one corpus, several seeds each.

    python -m experiments.word2vec.ablation --config=experiments/word2vec/configs.py:enwiki \
        --workdir=results/word2vec/ablation/enwiki [--rows=ours,gensim] [--seeds=3]

A row is an engine (``rnnjax``: this experiment's training, ``train_and_evaluate``; ``gensim``:
``Word2Vec(sg=1)`` on the same sentences, as ``peers.py``) with one change from the config's
settings (``ROWS``). gensim's knobs move it towards our algorithm (one worker: strictly
sequential SGD, no Hogwild threads; no reduced windows) and ours towards gensim's (updates of
fewer pairs: closer to one update per pair). Each row runs seeds 0..seeds-1 and writes
workdir/ROW/results.json (``kind: "ablation"``): the final analogy accuracy and Spearman's rho on
WordSim-353 and SimLex-999 of every seed, with their mean and std (``aggregate``). The rnnjax
runs train in workdir/ROW/run (a run of replicates; resumable).
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Any

import ml_collections
from absl import flags, logging
from ml_collections import config_flags

from experiments.word2vec.peers import gensim_vectors, gensim_word2vec
from experiments.word2vec.train import Word2VecTask, load_sentences
from rnnjax import cli
from rnnjax.data import load_analogies, load_word_pairs
from rnnjax.data.word_benchmarks import WORD_PAIRS
from rnnjax.embeddings import benchmark_metrics
from rnnjax.train.metrics import machine
from rnnjax.train.replicates import aggregate, run_experiment
from rnnjax.train.run import RESULTS_FILE
from rnnjax.train.workdir import write_json
from rnnjax.validation import check_positive_int, fail

# --workdir (the ablation's directory) is the flag experiments.word2vec.peers defines
CONFIG = config_flags.DEFINE_config_file(
    "config", str(Path(__file__).with_name("configs.py")) + ":enwiki",
    "Config file and variant of the corpus and settings.", lock_config=False)
# row -> (engine, what changes, config overrides (rnnjax) or Word2Vec keywords (gensim))
ROWS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "ours": ("rnnjax", "the config as it was (updates of 64 pairs, input vectors "
             "U[-0.5/D, 0.5/D] as word2vec.c)", {"model.init_range": 0.5}),
    "ours_updates_of_4": ("rnnjax", "sequential updates of 4 pairs (config.optim."
                          "pairs_per_update=4, batches of 16,384 pairs)",
                          {"optim.pairs_per_update": 4, "data.batch_size": 16384,
                           "model.init_range": 0.5}),
    "ours_gensim_init": ("rnnjax", "input vectors U[-1/D, 1/D) as gensim 4 (word2vec.c: "
                         "U[-0.5/D, 0.5/D]; SkipGram(init_range=1.0))", {"model.init_range": 1.0}),
    "gensim": ("gensim", "gensim 4.4.0 as peers.py runs it (2 worker threads)",
               {"workers": 2}),
    "gensim_1_worker": ("gensim", "1 worker thread: strictly sequential per-pair SGD",
                        {"workers": 1}),
    "gensim_no_reduced_windows": ("gensim", "shrink_windows=False: every centre uses the full "
                                  "window", {"workers": 2, "shrink_windows": False}),
}
METRICS = ("analogy", "wordsim353", "simlex999")
_ROWS = flags.DEFINE_list("rows", list(ROWS), f"Rows to run, of {', '.join(ROWS)}.")
_SEEDS = flags.DEFINE_integer("seeds", 3, "Seeds 0..seeds-1 of every row.")


def _rnnjax_seeds(config: ml_collections.ConfigDict, overrides: dict[str, Any], seeds: int,
                  workdir: Path) -> list[dict[str, Any]]:
    config = ml_collections.ConfigDict(config.to_dict())
    config.update_from_flattened_dict({**overrides, "seed": 0})
    config.seeds = seeds
    results = run_experiment(Word2VecTask, config, workdir)
    return [{"seed": r["seed"], **{f"test_{m}": r[f"test_{m}"] for m in METRICS}}
            for r in results.get("replicates", [results])]


def _gensim_seeds(config: ml_collections.ConfigDict, keywords: dict[str, Any], seeds: int
                  ) -> list[dict[str, Any]]:
    sentences = load_sentences(config.data)
    analogies = load_analogies(data_dir=config.eval.data_dir)
    pairs = {name: load_word_pairs(name, data_dir=config.eval.data_dir) for name in WORD_PAIRS}
    rows = []
    for seed in range(seeds):
        seeded = ml_collections.ConfigDict(config.to_dict())
        seeded.seed = seed
        model, seconds = gensim_word2vec(sentences, seeded, **keywords)
        metrics = benchmark_metrics(gensim_vectors(model), analogies, pairs,
                                    restrict=config.eval.restrict)
        rows.append({"seed": seed, "train_seconds": round(seconds, 1),
                     **{f"test_{m}": metrics[m] for m in METRICS}})
        logging.info("gensim seed %d: %s", seed, rows[-1])
    return rows


def ablation(config: ml_collections.ConfigDict, workdir: str | Path) -> None:
    """Every row of ``--rows`` with ``--seeds`` seeds on ``config``'s corpus."""
    seeds = check_positive_int("word2vec.ablation", "--seeds", _SEEDS.value)
    unknown = [row for row in _ROWS.value if row not in ROWS]
    if unknown:
        fail("word2vec.ablation", "--rows", f"names among {', '.join(ROWS)}", unknown)
    for row in _ROWS.value:
        engine, change, settings = ROWS[row]
        started = time.perf_counter()
        out = Path(workdir) / row
        out.mkdir(parents=True, exist_ok=True)
        if engine == "rnnjax":
            per_seed = _rnnjax_seeds(config, settings, seeds, out / "run")
        else:
            per_seed = _gensim_seeds(config, settings, seeds)
        results = {"status": "complete", "experiment": "word2vec", "kind": "ablation",
                   "name": row, "engine": engine, "change": change, "settings": settings,
                   "corpus": config.data.corpus, "replicates": per_seed,
                   **aggregate(per_seed), "wall_time_s": round(time.perf_counter() - started, 1),
                   "machine": machine(), "command": shlex.join(["python", *sys.orig_argv[1:]])}
        write_json(out / RESULTS_FILE, results)
        print(row, {m: f"{results['mean'][f'test_{m}']:.4f} ± {results['std'][f'test_{m}']:.4f}"
                    for m in METRICS})


def main(argv: list[str]) -> None:
    del argv
    ablation(CONFIG.value, flags.FLAGS.workdir)


if __name__ == "__main__":
    cli.run(main)
