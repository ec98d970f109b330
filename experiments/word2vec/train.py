"""The word2vec task: skip-gram with negative sampling on a text, evaluated on word benchmarks.

Data: ``rnnjax.data.skipgram`` (sentences, phrases, vocabulary, subsampling, dynamic windows,
unigram^(3/4) noise words) -> ``SkipGramBatches``. Model: ``rnnjax.models.word2vec.SkipGram``,
updated by sparse SGD (``make_sparse_train_step``) with the learning rate decaying linearly over
all of training from ``optim.learning_rate`` to ``optim.final_learning_rate`` (gensim's
alpha -> min_alpha; word2vec.c decays to ~0 by words processed). Evaluation after every epoch:
the mean SGNS loss of a fixed batch, analogy accuracy (questions-words, by section) and Spearman
on WordSim-353 and SimLex-999 (``rnnjax.embeddings``). The input vectors are written after every
epoch to ``WORKDIR/vectors.txt`` (word2vec text format) with ``vocab.tsv`` (word, count).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from absl import logging
from flax import nnx

from rnnjax import embeddings
from rnnjax.data import (
    WordVectors,
    load_analogies,
    load_splits,
    load_word_pairs,
    save_word2vec_text,
)
from rnnjax.data.corpora import SPLITS, get_spec, read_text_path
from rnnjax.data.prefetch import Prefetcher
from rnnjax.data.skipgram import (
    SENTENCE_UNITS,
    Sentences,
    SkipGramBatches,
    SkipGramVocab,
    find_phrases,
    merge_phrases,
    text_sentences,
)
from rnnjax.data.word_benchmarks import WORD_PAIRS
from rnnjax.models.word2vec import SkipGram, make_sparse_train_step
from rnnjax.train.replicates import run_experiment
from rnnjax.train.run import Task
from rnnjax.train.task_data import fingerprint, save_missing
from rnnjax.validation import check_choice, check_positive_int, fail

VECTORS_FILE = "vectors.txt"
VOCAB_FILE = "vocab.tsv"
PEERS_FILE = "peers.json"  # written by experiments.word2vec.peers
_WHERE = "word2vec"


def _check_number(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value < high:
        fail(_WHERE, name, f"a number in [{low:g}, {high:g})", repr(value))
    return float(value)


def check_config(config: ml_collections.ConfigDict) -> None:
    """The fields of a word2vec config, before any data is read."""
    data, optim = config.data, config.optim
    for name in ("window", "negatives", "min_count", "batch_size", "phrase_min_count"):
        check_positive_int(_WHERE, f"config.data.{name}", data[name])
    if data.max_vocab is not None:
        check_positive_int(_WHERE, "config.data.max_vocab", data.max_vocab)
    if isinstance(data.phrases, bool) or not isinstance(data.phrases, int) or data.phrases < 0:
        fail(_WHERE, "config.data.phrases", "an int >= 0 (passes of phrase merging)",
             repr(data.phrases))
    check_positive_int(_WHERE, "config.model.dim", config.model.dim)
    check_positive_int(_WHERE, "config.eval.restrict", config.eval.restrict)
    _check_number("config.data.sample", data.sample, 0.0, 1.0)
    _check_number("config.data.phrase_threshold", data.phrase_threshold, 0.0, float("inf"))
    first = _check_number("config.optim.learning_rate", optim.learning_rate, 1e-12, 10.0)
    _check_number("config.optim.final_learning_rate", optim.final_learning_rate, 0.0, first)
    chunk = check_positive_int(_WHERE, "config.optim.pairs_per_update", optim.pairs_per_update)
    if data.batch_size % chunk:
        fail(_WHERE, "config.data.batch_size", "a multiple of config.optim.pairs_per_update "
             f"({chunk})", data.batch_size)


def load_sentences(data: ml_collections.ConfigDict) -> Sentences:
    """The sentences of ``config.data``: its corpus (a named one, all splits, or the file or
    directory ``path``), cut into lines or paragraphs, lower-cased, with ``phrases`` passes of
    phrase merging (Mikolov et al. 2013b)."""
    check_choice(_WHERE, "config.data.sentences", data.sentences, SENTENCE_UNITS)
    if data.corpus == "text" and data.path is None:
        fail(_WHERE, "config.data.path", "a text file or directory (--config.data.path=FILE)",
             None)
    if get_spec(_WHERE, data.corpus).kind == "path":
        text = read_text_path(data.path)
    else:
        texts = load_splits(data.corpus, data_dir=data.data_dir, path=data.path)
        text = "".join(texts[split] for split in SPLITS)
    sentences = text_sentences(text, data.sentences, lowercase=data.lowercase)
    if not sentences:
        fail(_WHERE, "config.data.path" if data.corpus == "text" else "config.data.corpus",
             "a corpus with at least one word", f"none in {data.path or data.corpus!r}")
    for _ in range(data.phrases):
        phrases = find_phrases(sentences, data.phrase_min_count, data.phrase_threshold)
        sentences = merge_phrases(sentences, phrases)
    return sentences


class Word2VecTask(Task):
    """``config.data`` names the corpus and the sampling, ``config.model.dim`` the vector size,
    ``config.optim`` the linear learning-rate decay, ``config.eval`` the benchmarks."""

    experiment = "word2vec"
    unit = "pairs"
    # The learning rate decays over num_epochs, so more epochs change what the first ones did.
    resumable_changes = tuple(f for f in Task.resumable_changes if f != "num_epochs")

    def load(self, workdir: Path) -> None:
        data = self.config.data
        check_config(self.config)
        sentences = load_sentences(data)
        self.vocab = SkipGramVocab.build(sentences, data.min_count, max_size=data.max_vocab,
                                         field="config.data.min_count")
        self.ids, self.sentence_ids = self.vocab.encode(sentences)
        self.batches = SkipGramBatches(
            self.ids, self.sentence_ids, self.vocab.counts, window=data.window,
            negatives=data.negatives, sample=data.sample, batch_size=data.batch_size,
            seed=self.config.seed)
        self.monitor = self.batches.batch(0, 0)  # fixed pairs whose loss is reported
        self.prefetch = Prefetcher(self.batches.batch)
        evaluation = self.config.eval
        self.analogies = self.word_pairs = None
        if evaluation.benchmarks:
            self.analogies = load_analogies(data_dir=evaluation.data_dir)
            self.word_pairs = {name: load_word_pairs(name, data_dir=evaluation.data_dir)
                               for name in WORD_PAIRS}
        logging.info("word2vec: %d words in %d sentences, vocabulary %d (min_count %d), "
                     "%d pairs in epoch 1", self.ids.size, len(sentences), len(self.vocab),
                     data.min_count, self.batches.num_pairs(0))

    def fingerprint(self) -> str:
        return fingerprint("\n".join(self.vocab.words), self.vocab.counts, self.ids,
                           self.sentence_ids)

    def save(self, workdir: Path) -> None:
        save_missing(workdir, {VOCAB_FILE: "".join(
            f"{word}\t{count}\n" for word, count in zip(self.vocab.words,
                                                        self.vocab.counts.tolist(), strict=True))})

    def build_model(self, rngs: nnx.Rngs) -> nnx.Module:
        return SkipGram(len(self.vocab), self.config.model.dim, rngs=rngs,
                        init_range=self.config.model.init_range)

    def make_optimizer(self) -> optax.GradientTransformation:
        """No optimiser state: the sparse step applies SGD itself."""
        return optax.identity()

    def make_train_step(self, graphdef: Any, tx: optax.GradientTransformation) -> Any:
        del tx
        return make_sparse_train_step(graphdef, self.config.optim.pairs_per_update)

    def learning_rate(self, epoch: int, fraction: float = 0.0) -> float:
        """Linear from ``learning_rate`` to ``final_learning_rate`` over all epochs."""
        optim = self.config.optim
        done = (epoch + fraction) / self.config.num_epochs
        return optim.learning_rate - (optim.learning_rate - optim.final_learning_rate) * done

    def num_batches(self, epoch: int) -> int:
        return self.batches.num_batches(epoch)

    def batch(self, epoch: int, index: int) -> dict[str, np.ndarray]:
        """The batch, with the next ones built meanwhile (``Prefetcher``)."""
        count = self.num_batches(epoch)
        if self.config.steps_per_epoch:
            count = min(count, self.config.steps_per_epoch)
        return self.prefetch.get(epoch, index, count)

    def loss(self, model, state, batch, key):
        """The summed SGNS loss of the batch (what the sparse step descends) and its mean."""
        del key
        losses = model(batch["inputs"], batch["targets"], batch["weights"])
        return losses.sum(), (losses.sum() / jnp.maximum(batch["weights"][:, 0].sum(), 1.0),
                              state)

    def count(self, batch: Mapping[str, np.ndarray]) -> int:
        return int(batch["weights"][:, 0].sum())

    def vectors(self, model: nnx.Module) -> WordVectors:
        return WordVectors(self.vocab.words, np.asarray(jax.device_get(
            model.input_vectors[...]), np.float32))

    def evaluate(self, model: nnx.Module, split: str) -> dict[str, float]:
        """Monitor loss, and the benchmarks (the same for "valid" and "test": word2vec has no
        held-out split; "test" is the final evaluation)."""
        del split
        batch = self.monitor
        losses = np.asarray(model(batch["inputs"], batch["targets"], batch["weights"]))
        metrics = {"loss": float(losses.sum() / batch["weights"][:, 0].sum())}
        if self.analogies is not None:
            metrics.update(embeddings.benchmark_metrics(
                self.vectors(model), self.analogies, self.word_pairs,
                restrict=self.config.eval.restrict))
        return metrics

    def after_epoch(self, model: nnx.Module, epoch: int, workdir: Path, key: jax.Array) -> None:
        vectors = self.vectors(model)
        save_word2vec_text(vectors, workdir / VECTORS_FILE)
        for word in self.config.eval.probe_words:
            if word in vectors.index:
                neighbours = embeddings.nearest(vectors, word, 8)
                logging.info("%s: %s", word, ", ".join(w for w, _ in neighbours))

    def describe(self, split: str, metrics: Mapping[str, float]) -> str:
        text = f"{split} loss {metrics['loss']:.4f}"
        if "analogy" in metrics:
            text += (f" | analogy {100 * metrics['analogy']:.2f}% | wordsim353 "
                     f"{metrics['wordsim353']:.3f} | simlex999 {metrics['simlex999']:.3f}")
        return text

    def summary(self) -> dict[str, Any]:
        data = self.config.data
        return {"corpus": data.corpus if data.corpus != "text" else str(data.path),
                "words": int(self.ids.size), "vocab_size": len(self.vocab),
                "pairs_per_epoch": self.batches.num_pairs(0)}


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str | Path,
                       allow_changes: Iterable[str] = ()) -> dict[str, Any]:
    """Train word2vec with ``config`` in ``workdir`` (resuming it); its results."""
    return run_experiment(Word2VecTask, config, workdir, allow_changes)
