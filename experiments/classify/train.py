"""The classification task: sentences (or documents) -> one label, cross-entropy, accuracy.

One run is one row of a table on one dataset: every fold x seed of ``config.seeds`` through
``run_replicates`` (one resumable sub-run each, ``workdir/seed<s>-fold<k>/``), aggregated to the
mean and std of the test accuracy. Each sub-run trains on its fold's training part, keeps the
parameters of the epoch with the best held-out accuracy (``config.patience`` epochs without
improvement stop it) and scores them on the fold's test part.

Beside the model, ``config.baseline`` (``rnnjax.baselines``: TF-IDF + logistic regression by
default, "" for none) is fitted on the same fold's training part, its C chosen on the same held-out
part, and scored on the same test part: ``test_<baseline>_accuracy`` in each replicate's
results.json, its mean over the replicates in the run's, and the run's last log line sets the
two side by side. The fit is deterministic, so it runs once per fold and process (the seeds of a
fold share it) and only when a replicate finishes (a resumed run does not refit it before).
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

from rnnjax.baselines import BASELINES, LABELS, fit_fold
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
# The baseline's fits of this process: (kind, data, fold and split fields) -> its scores.
BASELINE_FITS: dict[tuple[Any, ...], dict[str, Any]] = {}


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
    # the baseline is fitted beside the model: switching it never alters what was trained
    resumable_changes = (*Task.resumable_changes, "baseline")

    def load(self, workdir: Path) -> None:
        config, data = self.config, self.config.data
        check_choice(_WHERE, "config.baseline", config.get("baseline", ""), ("", *BASELINES))
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
        self.train_batches = self.batches["train"]
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

    def loss(self, model, state, batch, key):
        nll, _ = weighted_nll_and_correct(model, batch, key)
        mean = nll.sum() / jnp.maximum(batch["weight"].sum(), 1.0)
        return mean, (mean, state)

    def count(self, batch: Mapping[str, np.ndarray]) -> int:
        return int(batch["weight"].sum())

    def evaluate(self, model: nnx.Module, split: str) -> dict[str, float]:
        """Mean NLL and accuracy over ``split`` ("valid" or "test"); the test's metrics also
        hold ``<baseline>_accuracy``, ``config.baseline``'s on the same test part."""
        batches, params = self.batches[split], nnx.state(model)
        totals = [self._eval_step(params, sharding.shard_batch(b, self.mesh))
                  for b in batches.iter_epoch()]
        nll, correct = (float(sum(t[i] for t in totals)) for i in (0, 1))
        metrics = {"loss": nll / batches.num_examples, "accuracy": correct / batches.num_examples}
        kind = self.config.get("baseline", "")
        if split == "test" and kind:
            metrics[f"{kind}_accuracy"] = self.baseline_fit(kind)["test_accuracy"]
        return metrics

    def baseline_fit(self, kind: str) -> dict[str, Any]:
        """Baseline ``kind`` fitted on this fold's train part, C chosen on its valid part,
        scored on its test part (``rnnjax.baselines.fit_fold``); once per fold and process."""
        data = self.config.data
        key = (kind, dataset_name(data), data.path, data.data_dir, data.fold, data.num_folds,
               data.valid_fraction, data.max_len)
        if key not in BASELINE_FITS:
            BASELINE_FITS[key] = fit_fold(kind, self.data, self.splits, data.max_len)
            logging.info("%s on fold %d: C=%g, test accuracy %.4f", LABELS[kind], data.fold,
                         BASELINE_FITS[key]["C"], BASELINE_FITS[key]["test_accuracy"])
        return BASELINE_FITS[key]

    def describe(self, split: str, metrics: Mapping[str, float]) -> str:
        baselines = "".join(f" | {LABELS[k]} accuracy {metrics[f'{k}_accuracy']:.4f}"
                            for k in BASELINES if f"{k}_accuracy" in metrics)
        return (f"{split} loss {metrics['loss']:.4f} | accuracy {metrics['accuracy']:.4f}"
                f"{baselines}")

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
    """Every fold x seed of ``config`` in ``workdir`` (resumable); the aggregated results, the
    model's test accuracy logged beside the baseline's."""
    data = config.data
    results = run_experiment(ClassificationTask, config, workdir, allow_changes,
                             num_folds=fold_count(dataset_name(data), data.num_folds))
    logging.info("%s", against_baseline(results))
    return results


def against_baseline(results: Mapping[str, Any]) -> str:
    """'model 52.1 % vs TF-IDF+LR 55.6 % test accuracy (mean of 10 replicates: the same folds
    and splits)' from a run's results (one run or the aggregate of replicates)."""
    mean = results.get("mean", results)
    if "test_accuracy" not in mean:
        return "no test accuracy yet"
    scores = [f"model {100 * mean['test_accuracy']:.1f} %"] + [
        f"{LABELS[k]} {100 * mean[f'test_{k}_accuracy']:.1f} %" for k in BASELINES
        if f"test_{k}_accuracy" in mean]
    count = results.get("replicates_done", 1)
    where = f"mean of {count} replicate{'s' * (count != 1)}" if "replicates" in results else (
        "one run")
    same = ": the same folds and splits" if len(scores) > 1 else ""
    return f"{' vs '.join(scores)} test accuracy ({where}{same})"
