"""The names tasks: a char-level RNN that classifies a first name by country (``config.task =
"classify"``), and a country-conditioned char LM that generates names (``"generate"``, in
experiments/names/generate.py).

Both read the same data (``rnnjax.data.names``: each name given to the country where it is most
frequent, countries with at least ``data.min_names`` names, a split by a hash of each name) and
keep the character vocabulary and the categories in the workdir. The classifier is an
``RNNClassifier`` over the characters of a name, trained with the cross-entropy of its country and
early-stopped on the valid accuracy; reported: accuracy, balanced accuracy (the mean over
countries of the per-country recall, as the countries differ in size) and, at test, the confusion
matrix (workdir/confusion_test.json).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging
from flax import nnx

from rnnjax.data import Labels, Vocab
from rnnjax.data.names import Names, load_names, split_names
from rnnjax.data.padded import PaddedBatches
from rnnjax.models import make_model
from rnnjax.train.run import Task
from rnnjax.train.task_data import check_batch_sizes, fingerprint, load_stored, save_missing
from rnnjax.train.workdir import write_json
from rnnjax.validation import check_positive_int

VOCAB_FILE, LABELS_FILE, CONFUSION_FILE = "vocab.json", "categories.json", "confusion_test.json"
_WHERE = "names"


class NamesTask(Task):
    """The data both names tasks share: splits, characters, categories."""

    experiment = "names"

    def load(self, workdir: Path) -> None:
        data = self.config.data
        check_batch_sizes(_WHERE, data, self.mesh)
        check_positive_int(_WHERE, "config.data.min_names", data.min_names)
        self.data = load_names(data.corpus, min_names=data.min_names, data_dir=data.data_dir)
        self.splits: dict[str, Names] = split_names(self.data)
        stored = load_stored(workdir, {VOCAB_FILE: Vocab.load, LABELS_FILE: Labels.load})
        if stored:
            self.vocab, self.labels = stored
        else:
            chars = Counter(char for name in self.splits["train"].names for char in name)
            self.vocab = Vocab.from_counts(chars, "char")
            self.labels = Labels(self.data.category_names())
        logging.info("%d names of %d categories: %s", len(self.data), len(self.labels), ", ".join(
            f"{split} {len(names)}" for split, names in self.splits.items()))

    def fingerprint(self) -> str:
        return fingerprint(["\n".join((split, *names.names, *names.categories))
                            for split, names in self.splits.items()],
                           "\n".join((*self.vocab.tokens, *self.labels.names)))

    def save(self, workdir: Path) -> None:
        save_missing(workdir, {VOCAB_FILE: self.vocab.to_json(),
                               LABELS_FILE: self.labels.to_json()})

    def summary(self) -> dict[str, Any]:
        data = self.config.data
        return {"task": self.config.task, "corpus": os.path.basename(str(data.corpus)),
                "min_names": data.min_names}


class NameClassifierTask(NamesTask):
    """``config.model``: an ``RNNClassifier`` over the characters of a name."""

    batch_fields = ("chars", "chars_lengths", "label", "weight")

    unit = "names"
    selection = ("valid_accuracy", "max")

    def load(self, workdir: Path) -> None:
        super().load(workdir)
        self.examples = {split: {"chars": [self.vocab.lookup(name) for name in names.names],
                                 "label": self.labels.encode(names.categories, _WHERE)}
                         for split, names in self.splits.items()}
        self.train_batches = PaddedBatches(self.examples["train"], self.config.data.batch_size,
                                           shuffle=True, seed=self.config.seed)

    def build_model(self, rngs: nnx.Rngs) -> nnx.Module:
        return make_model(self.config.model, vocab_size=len(self.vocab),
                          num_classes=len(self.labels), rngs=rngs)

    def prepare_evaluation(self, graphdef: Any) -> None:
        def predict(params, chars, lengths):
            logits = nnx.merge(graphdef, params)(chars, lengths)
            return logits.argmax(-1), jax.nn.log_softmax(logits)

        self._predict = jax.jit(predict)
        self._eval_batches = {split: PaddedBatches(examples, self.config.data.eval_batch_size,
                                                   shuffle=False)
                              for split, examples in self.examples.items() if split != "train"}

    def loss(self, model, state, batch, key):
        logits = model(batch["chars"], batch["chars_lengths"], dropout_key=key)
        nll = optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"])
        mean = (nll * batch["weight"]).sum() / jnp.maximum(batch["weight"].sum(), 1.0)
        return mean, (mean, state)

    def count(self, batch: Mapping[str, np.ndarray]) -> int:
        return int(batch["weight"].sum())

    def evaluate(self, model: nnx.Module, split: str) -> dict[str, float]:
        """Loss, accuracy and balanced accuracy; the confusion matrix is kept for
        ``write_outputs``."""
        params, classes = nnx.state(model), len(self.labels)
        confusion = np.zeros((classes, classes), np.int64)  # [true, predicted]
        nll = 0.0
        for batch in self._eval_batches[split].iter_epoch():
            real = batch["weight"] > 0
            predicted, log_probs = self._predict(params, batch["chars"], batch["chars_lengths"])
            truth = batch["label"][real]
            np.add.at(confusion, (truth, np.asarray(predicted)[real]), 1)
            nll -= float(np.asarray(log_probs)[real][np.arange(len(truth)), truth].sum())
        per_class = confusion.sum(1)
        recall = np.diag(confusion)[per_class > 0] / per_class[per_class > 0]
        self.confusion = confusion
        total = int(confusion.sum())
        return {"loss": nll / total, "accuracy": int(np.trace(confusion)) / total,
                "balanced_accuracy": float(recall.mean())}

    def write_outputs(self, model: nnx.Module, split: str, workdir: Path) -> None:
        """The confusion matrix of the final (test) evaluation: workdir/confusion_test.json."""
        del model, split
        write_json(workdir / CONFUSION_FILE, {
            "categories": list(self.labels.names), "confusion": self.confusion.tolist()})

    def describe(self, split: str, metrics: Mapping[str, float]) -> str:
        return (f"{split} loss {metrics['loss']:.4f} | accuracy {100 * metrics['accuracy']:.2f}% "
                f"| balanced {100 * metrics['balanced_accuracy']:.2f}%")

