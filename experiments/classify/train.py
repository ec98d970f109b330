"""The classification task: sentences (or documents) -> one label, cross-entropy, accuracy.

One run is one row of a table on one dataset: every fold x seed of ``config.seeds`` through
``run_replicates`` (one resumable sub-run each, ``workdir/seed<s>-fold<k>/``), aggregated to the
mean and std of the test accuracy. Each sub-run trains on its fold's training part, keeps the
parameters of the epoch with the best held-out accuracy (``config.patience`` epochs without
improvement stop it) and scores them on the fold's test part.
"""

from __future__ import annotations

import functools
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

from rnnjax.data import UNK, Vocab, embedding_matrix, load_vectors
from rnnjax.data.labelled import NAMES, fold_count, load_labelled, make_splits
from rnnjax.data.padded import PaddedBatches
from rnnjax.models import make_model
from rnnjax.train import sharding
from rnnjax.train.replicates import replicate_list, run_experiment
from rnnjax.train.run import Task
from rnnjax.train.task_data import check_batch_sizes, fingerprint, save_missing
from rnnjax.validation import check_choice, fail

_WHERE = "classify"
VOCAB_FILE = "vocab.json"
# The embedding table has len(vocab) rounded up to a multiple of this many rows (the extra rows
# are never looked up), so that the folds' vocabularies give one parameter shape and the
# replicates after the first reuse the compiled programs from the persistent compilation cache
# (rnnjax.compilation, on for every command-line run).
VOCAB_ROWS_MULTIPLE = 2048
cached_vectors = functools.cache(load_vectors)  # the same file for every fold and seed


def weighted_nll_and_correct(model: nnx.Module, batch: Mapping[str, Any], key: Any = None
                             ) -> tuple[jax.Array, jax.Array]:
    """Per-example NLL and correctness, zero on filler rows (weight 0)."""
    logits = model(batch["tokens"], batch["tokens_lengths"], dropout_key=key)
    nll = optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"])
    correct = (logits.argmax(-1) == batch["label"]).astype(jnp.float32)
    return nll * batch["weight"], correct * batch["weight"]


class ClassificationTask(Task):
    """``config.data`` names a dataset or a user file, ``config.model`` an ``rnnjax.models``
    classifier (``rnn_classifier`` or ``kim_cnn``) and its word vectors."""

    experiment = "classify"
    unit = "sentences"
    selection = ("valid_accuracy", "max")

    def load(self, workdir: Path) -> None:
        config, data = self.config, self.config.data
        check_batch_sizes(_WHERE, data, self.mesh)
        if isinstance(data.max_len, bool) or not isinstance(data.max_len, int) or (
                data.max_len < 0):
            fail(_WHERE, "config.data.max_len", "an int >= 0 (0: no truncation)",
                 repr(data.max_len))
        self.data = load_labelled(dataset_name(data), data_dir=data.data_dir, path=data.path)
        if config.model.get("output") == "sigmoid" and len(self.data.classes) != 2:
            fail(_WHERE, "config.model.output", "'softmax' for data of more than 2 classes "
                 "(one sigmoid unit is a binary classifier)",
                 f"'sigmoid' with {len(self.data.classes)} classes in {self.data.name}")
        self.splits = splits = make_splits(self.data, fold=data.fold, num_folds=data.num_folds,
                                           valid_fraction=data.valid_fraction)
        raw = self.data.tokenize()
        self.truncated = sum(len(t) > data.max_len for t in raw) if data.max_len else 0
        # a text with no token left after clean_str (e.g. only accented letters) reads as <unk>
        tokens = [t[: data.max_len or None] or [UNK] for t in raw]
        self.vocab = Vocab.from_sequences(tokens[i] for i in splits["train"])
        self.table_rows = -(-len(self.vocab) // VOCAB_ROWS_MULTIPLE) * VOCAB_ROWS_MULTIPLE
        ids = [self.vocab.lookup(t) for t in tokens]
        labels = self.data.label_ids
        self.batches = {split: PaddedBatches(
            {"tokens": [ids[i] for i in rows], "label": labels[rows]},
            data.batch_size if split == "train" else data.eval_batch_size,
            shuffle=split == "train", seed=config.seed) for split, rows in splits.items()}
        self.embeddings = None
        if config.model.get("vectors"):
            vectors = cached_vectors(config.model.vectors, data_dir=data.data_dir)
            size = config.model.get("embed_size")
            if size is not None and size != vectors.dim:
                fail(_WHERE, "config.model.embed_size", f"None or {vectors.dim}, the dimension "
                     f"of config.model.vectors {config.model.vectors!r}", size)
            self.embeddings, found = embedding_matrix(self.vocab.tokens, vectors, config.seed)
            self.embeddings = np.pad(self.embeddings,
                                     ((0, self.table_rows - len(self.vocab)), (0, 0)))
            logging.info("%d of %d words have vectors in %s", found, len(self.vocab),
                         config.model.vectors)
        logging.info("%s fold %d: %s examples (train/valid/test), %d classes, vocabulary %d, "
                     "%d texts truncated to %d tokens", self.data.name, data.fold,
                     "/".join(str(len(r)) for r in splits.values()), len(self.data.classes),
                     len(self.vocab), self.truncated, data.max_len)

    def fingerprint(self) -> str:
        return fingerprint("\n".join(self.vocab.tokens), [
            batches.batch(0, index)["tokens"] for batches in self.batches.values()
            for index in range(batches.num_batches())])

    def save(self, workdir: Path) -> None:
        save_missing(workdir, {VOCAB_FILE: self.vocab.to_json()})

    def build_model(self, rngs: nnx.Rngs) -> nnx.Module:
        fields = {k: v for k, v in self.config.model.to_dict().items() if k != "vectors"}
        extra = {}
        if self.embeddings is not None:
            fields.pop("embed_size", None)
            extra["embeddings"] = self.embeddings
        return make_model(fields, rngs=rngs, vocab_size=self.table_rows,
                          num_classes=len(self.data.classes), **extra)

    def prepare_evaluation(self, graphdef: Any) -> None:
        def sums(params, batch):
            nll, correct = weighted_nll_and_correct(nnx.merge(graphdef, params), batch)
            return nll.sum(), correct.sum()

        self._eval_step = jax.jit(sums)

    def num_batches(self, epoch: int) -> int:
        return self.batches["train"].num_batches(epoch)

    def batch(self, epoch: int, index: int) -> dict[str, np.ndarray]:
        return self.batches["train"].batch(epoch, index)

    def loss(self, model, state, batch, key):
        nll, _ = weighted_nll_and_correct(model, batch, key)
        mean = nll.sum() / jnp.maximum(batch["weight"].sum(), 1.0)
        return mean, (mean, state)

    def count(self, batch: Mapping[str, np.ndarray]) -> int:
        return int(batch["weight"].sum())

    def evaluate(self, model: nnx.Module, split: str) -> dict[str, float]:
        """Mean NLL and accuracy over ``split`` ("valid" or "test")."""
        batches, params = self.batches[split], nnx.state(model)
        totals = [self._eval_step(params, sharding.shard_batch(b, self.mesh))
                  for b in batches.iter_epoch()]
        nll, correct = (float(sum(t[i] for t in totals)) for i in (0, 1))
        return {"loss": nll / batches.num_examples, "accuracy": correct / batches.num_examples}

    def describe(self, split: str, metrics: Mapping[str, float]) -> str:
        return f"{split} loss {metrics['loss']:.4f} | accuracy {metrics['accuracy']:.4f}"

    def summary(self) -> dict[str, Any]:
        data = self.config.data
        dataset = data.name if data.path is None else f"file:{Path(data.path).name}"
        return {"dataset": dataset, "max_len": data.max_len,
                "vectors": self.config.model.get("vectors")}


def dataset_name(data: ml_collections.ConfigDict) -> str:
    """``data.name``, checked; "file" whenever ``data.path`` is given (the user's file)."""
    if data.path is not None:
        return "file"
    if data.name == "file":
        fail(_WHERE, "config.data.path", "a label<TAB>text or .csv file for data.name 'file'",
             None)
    return check_choice(_WHERE, "config.data.name", data.name, NAMES)


def replicates(config: ml_collections.ConfigDict) -> list[dict[str, int]]:
    """Every seed of ``config.seeds`` on every fold run (``rnnjax.train.replicate_list``,
    seed-major: a full cross-validation with the first seed comes first)."""
    data = config.data
    return replicate_list(config, fold_count(dataset_name(data), data.num_folds))


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str | Path,
                       allow_changes: Iterable[str] = ()) -> dict[str, Any]:
    """Every fold x seed of ``config`` in ``workdir`` (resumable); the aggregated results."""
    data = config.data
    return run_experiment(ClassificationTask, config, workdir, allow_changes,
                          num_folds=fold_count(dataset_name(data), data.num_folds))
