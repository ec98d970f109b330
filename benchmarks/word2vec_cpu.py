r"""word2vec (skip-gram, negative sampling) training speed and quality: rnnjax vs gensim, on CPU.

    python -m benchmarks.word2vec_cpu                          # enwiki_text, default settings
    python -m benchmarks.word2vec_cpu --path=FILE --rounds=3

Both train on the same sentences with the same settings (experiments/word2vec/configs.py's
default: 100 dimensions, window 5, 5 negatives, min_count 5, subsampling 1e-3, 5 epochs, lr
0.025 -> 1e-4). Each round trains every implementation once, from scratch, with seed = round
(interleaved, so drift on a shared machine hits all alike):
  rnnjax      the host pipeline (``SkipGramBatches``: pairs, noise words) + the jitted sparse step
              (``make_sparse_train_step``), compiled before the clock starts; no evaluation or
              checkpoints (the run harness adds those)
  gensim_w1   gensim ``Word2Vec(sg=1)``, 1 worker thread (its Cython loop)
  gensim_w2   the same with 2 worker threads (one per core here)
  rnnjax_uN   rnnjax with N pairs per sparse update (``--update_sizes``; the default is 64)
Speed is corpus words per second: the corpus's in-vocabulary words x epochs / training seconds,
the same numerator for all; ratios are to gensim_w2 (medians over rounds). Quality: analogy
accuracy, WordSim-353 and SimLex-999 Spearman of every round's vectors, mean ± std over rounds
(seeds). ``--breakdown`` times where rnnjax's time goes (median of 3 per piece): epoch pair
generation, batch assembly (noise words), the device step alone on precomputed batches, and a
floor for the step (the same gathers and scatter-adds without the loss). The 1-minute load
average is recorded before and after.
"""

from __future__ import annotations

import functools
import json
import os
import statistics
import sys
import time
from typing import Any

import numpy as np
from absl import app, flags

from benchmarks import common
from rnnjax.memory import keep_freed_memory

_CORPUS = flags.DEFINE_string("corpus", "enwiki_text", "A corpus of rnnjax.data.CORPORA.")
_PATH = flags.DEFINE_string("path", None, "A text file instead (corpus 'text').")
_SENTENCES = flags.DEFINE_string("sentences", "line", "line | paragraph (see the config).")
_ROUNDS = flags.DEFINE_integer("rounds", 3, "Interleaved rounds (seeds 0..rounds-1).")
_EPOCHS = flags.DEFINE_integer("epochs", None, "Epochs per training (default: the config's).")
_IMPLS = flags.DEFINE_list("impls", ["rnnjax", "gensim_w1", "gensim_w2"], "Implementations.")
_UPDATE_SIZES = flags.DEFINE_list("update_sizes", [], "Also time rnnjax with these "
                                  "optim.pairs_per_update values (implementations rnnjax_uN).")
_BREAKDOWN = flags.DEFINE_bool("breakdown", True, "Also time the pieces of rnnjax's epoch.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/word2vec_cpu.json", "JSON output.")


def make_config(seed: int) -> Any:
    from experiments.word2vec.configs import get_config

    config = get_config("text")
    config.data.corpus = "text" if _PATH.value else _CORPUS.value
    config.data.path = _PATH.value
    config.data.sentences = _SENTENCES.value
    config.seed = seed
    if _EPOCHS.value:
        config.num_epochs = _EPOCHS.value
    return config


class Ours:
    """rnnjax's pipeline and step for ``config``; ``train()`` runs every epoch from scratch."""

    def __init__(self, sentences, config):
        import jax
        from flax import nnx

        from rnnjax.data.skipgram import SkipGramBatches, SkipGramVocab
        from rnnjax.models.word2vec import SkipGram, make_sparse_train_step

        self.config, data = config, config.data
        self.vocab = SkipGramVocab.build(sentences, data.min_count)
        ids, numbers = self.vocab.encode(sentences)
        self.words = int(ids.size)
        self.batches = SkipGramBatches(ids, numbers, self.vocab.counts, window=data.window,
                                       negatives=data.negatives, sample=data.sample,
                                       batch_size=data.batch_size, seed=config.seed)
        self.model = SkipGram(len(self.vocab), config.model.dim,
                              rngs=nnx.Rngs(params=jax.random.PRNGKey(config.seed)))
        self.graphdef, self.params = nnx.split(self.model)
        self.step = make_sparse_train_step(self.graphdef, config.optim.pairs_per_update)
        # compile on a copy, before any clock starts
        copy = jax.tree.map(lambda x: x.copy(), self.params)
        jax.block_until_ready(self.step(copy, None, {}, self.batches.batch(0, 0), None, 0.0))

    def learning_rate(self, epoch: int, index: int, count: int) -> float:
        optim = self.config.optim
        done = (epoch + index / count) / self.config.num_epochs
        return optim.learning_rate - (optim.learning_rate - optim.final_learning_rate) * done

    def train(self) -> float:
        started = time.perf_counter()
        for epoch in range(self.config.num_epochs):
            count = self.batches.num_batches(epoch)
            for index in range(count):
                self.params, _, _, loss = self.step(
                    self.params, None, {}, self.batches.batch(epoch, index), None,
                    self.learning_rate(epoch, index, count))
            float(loss)  # wait for the epoch's last step
        return time.perf_counter() - started

    def vectors(self):
        from rnnjax.data import WordVectors

        return WordVectors(self.vocab.words, np.asarray(self.params["input_vectors"].get_value()))

    def breakdown(self, repeats: int = 3) -> dict[str, float]:
        """Seconds per epoch of each piece (epoch 0's data), median of ``repeats``."""
        import jax
        import jax.numpy as jnp

        from rnnjax.data.skipgram import skipgram_pairs

        batches, chunk = self.batches, self.config.optim.pairs_per_update
        host = [batches.batch(0, i) for i in range(batches.num_batches(0))]

        def pairs() -> None:
            rng = np.random.default_rng([self.config.seed, 0])
            skipgram_pairs(batches.ids, batches.sentences, batches.keep, batches.window, rng)

        def assemble() -> None:
            for index in range(len(host)):
                batches.batch(0, index)

        def step() -> None:
            for batch in host:
                self.params, _, _, loss = self.step(self.params, None, {}, batch, None, 1e-4)
            float(loss)

        @functools.partial(jax.jit, donate_argnums=(0,))
        def traffic(matrices, inputs, targets):
            """The step's gathers and scatter-adds alone (the rows moved, no loss)."""
            def update(matrices, piece):
                source, target = matrices
                i, t = piece
                return (source.at[i].add(1e-9 * source[i]),
                        target.at[t].add(1e-9 * target[t])), None
            pieces = (inputs.reshape(-1, chunk), targets.reshape(-1, chunk, targets.shape[1]))
            return jax.lax.scan(update, matrices, pieces)[0]

        matrices = [tuple(jnp.array(self.params[name].get_value())
                          for name in ("input_vectors", "output_vectors"))]

        def floor() -> None:
            for batch in host:
                matrices[0] = traffic(matrices[0], batch["inputs"], batch["targets"])
            jax.block_until_ready(matrices[0])

        floor()  # compile
        out = {}
        for name, piece in (("pairs (subsampling, windows)", pairs),
                            ("batches (noise words)", assemble), ("device step", step),
                            ("floor: gathers + scatter-adds only", floor)):
            times = []
            for _ in range(repeats):
                tick = time.perf_counter()
                piece()
                times.append(time.perf_counter() - tick)
            out[name] = statistics.median(times)
        out["pairs per epoch"] = batches.num_pairs(0)
        return out


def gensim_run(sentences, config, workers: int) -> tuple[float, Any, int]:
    from experiments.word2vec.peers import gensim_vectors, gensim_word2vec

    model, seconds = gensim_word2vec(sentences, config, workers=workers)
    return seconds, gensim_vectors(model), sum(model.wv.get_vecattr(w, "count")
                                               for w in model.wv.index_to_key)


def machine() -> dict[str, Any]:
    """``benchmarks.common.machine()`` and gensim's version."""
    import gensim

    return {**common.machine(), "gensim": gensim.__version__}


def main(argv: list[str]) -> None:
    del argv
    from experiments.word2vec.train import load_sentences
    from rnnjax.data import load_analogies, load_word_pairs
    from rnnjax.data.word_benchmarks import WORD_PAIRS
    from rnnjax.embeddings import benchmark_metrics

    for impl in _IMPLS.value:
        if impl not in ("rnnjax", "gensim_w1", "gensim_w2"):
            raise app.UsageError(f"--impls: {impl!r} is not rnnjax, gensim_w1 or gensim_w2")
    impls = [*_IMPLS.value, *(f"rnnjax_u{int(size)}" for size in _UPDATE_SIZES.value)]
    load_before = os.getloadavg()[0]
    sentences = load_sentences(make_config(0).data)
    analogies = load_analogies()
    pairs = {name: load_word_pairs(name) for name in WORD_PAIRS}
    runs: dict[str, list[dict[str, Any]]] = {impl: [] for impl in impls}
    words = breakdown = None
    for seed in range(_ROUNDS.value):
        for impl in impls:
            config = make_config(seed)
            if impl.startswith("rnnjax"):
                if impl != "rnnjax":
                    config.optim.pairs_per_update = int(impl.removeprefix("rnnjax_u"))
                ours = Ours(sentences, config)
                seconds, vectors, words = ours.train(), ours.vectors(), ours.words
                if _BREAKDOWN.value and breakdown is None and impl == "rnnjax":
                    breakdown = ours.breakdown()
            else:
                seconds, vectors, gensim_words = gensim_run(sentences, config,
                                                            int(impl.rpartition("w")[2]))
                words = words or gensim_words
            metrics = benchmark_metrics(vectors, analogies, pairs, restrict=config.eval.restrict)
            runs[impl].append({"seed": seed, "seconds": seconds, **{
                k: metrics[k] for k in ("analogy", "wordsim353", "simlex999")}})
            print(f"round {seed} {impl}: {seconds:.1f} s, analogy {metrics['analogy']:.4f}, "
                  f"wordsim353 {metrics['wordsim353']:.3f}, simlex999 "
                  f"{metrics['simlex999']:.3f}", file=sys.stderr, flush=True)
    epochs = make_config(0).num_epochs
    rows = summarise(runs, words * epochs)
    table = format_table(rows, breakdown)
    print(table)
    os.makedirs(os.path.dirname(_OUT.value) or ".", exist_ok=True)
    with open(_OUT.value, "w") as f:
        json.dump({"machine": machine(), "command": " ".join(["python", "-m",
                                                             "benchmarks.word2vec_cpu",
                                                             *sys.argv[1:]]),
                   "corpus": _PATH.value or _CORPUS.value, "corpus_words": words,
                   "epochs": epochs, "rows": rows, "runs": runs, "breakdown_s": breakdown,
                   "load_average_1min": [load_before, os.getloadavg()[0]], "table": table},
                  f, indent=1)


def summarise(runs: dict[str, list[dict[str, Any]]], words: int) -> list[dict[str, Any]]:
    """Median seconds and words/s, ratio to gensim_w2, mean ± std of each quality metric."""
    reference = statistics.median(r["seconds"] for r in runs["gensim_w2"]) if runs.get(
        "gensim_w2") else None
    rows = []
    for impl, per_round in runs.items():
        seconds = statistics.median(r["seconds"] for r in per_round)
        row = {"impl": impl, "median_seconds": seconds, "words_per_s": words / seconds,
               "speed_vs_gensim_w2": reference / seconds if reference else None}
        for metric in ("analogy", "wordsim353", "simlex999"):
            values = [r[metric] for r in per_round]
            row[metric] = {"mean": float(np.mean(values)),
                           "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}
        rows.append(row)
    return rows


def format_table(rows: list[dict[str, Any]], breakdown: dict[str, float] | None) -> str:
    def mean_std(stat: dict[str, float], scale: float, digits: int) -> str:
        return f"{stat['mean'] * scale:.{digits}f} ± {stat['std'] * scale:.{digits}f}"

    lines = ["| implementation | median s | words/s | speed vs gensim_w2 | analogy % | "
             "WS-353 rho | SimLex rho |", "|---" * 7 + "|"]
    for row in rows:
        ratio = row["speed_vs_gensim_w2"]
        lines.append(f"| {row['impl']} | {row['median_seconds']:.1f} | "
                     f"{row['words_per_s']:,.0f} | {'-' if ratio is None else f'{ratio:.2f}x'} | "
                     f"{mean_std(row['analogy'], 100, 2)} | {mean_std(row['wordsim353'], 1, 3)} "
                     f"| {mean_std(row['simlex999'], 1, 3)} |")
    if breakdown:
        lines += ["", "| rnnjax, one epoch | seconds |", "|---|---|"]
        lines += [f"| {name} | {value:.2f} |" if isinstance(value, float) else
                  f"| {name} | {value:,} |" for name, value in breakdown.items()]
    return "\n".join(lines)



if __name__ == "__main__":
    keep_freed_memory()
    app.run(main)
