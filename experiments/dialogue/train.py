"""The dialogue task: label every utterance of a conversation (``config.model``: DialogueRNN or a
baseline, ``rnnjax.models.dialogue_rnn``) on the conversations of ``rnnjax.data.dialogue``.

The three splits are drawn from ``default_rng((config.data.seed, split index))``, the same for
every training seed. Loss: the cross-entropy of each utterance's label, averaged over the
utterances of a batch (the paper's eq. 10 without its L2 term). Metrics per split: ``loss``,
``accuracy``, ``weighted_f1`` (per-class F1 weighted by the class's support, the paper's
metric) and the accuracy on each utterance kind (``accuracy_reveal``, ``accuracy_neutral``,
``accuracy_empathy``: only the first is possible without the speakers' states); the valid
weighted F1 selects the epoch whose parameters are tested.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from sklearn.metrics import f1_score

from experiments import launch
from rnnjax.data import SPLITS
from rnnjax.data.dialogue import (
    KINDS,
    Dialogues,
    check_dialogues,
    context_free_accuracy,
    synthetic_dialogues,
)
from rnnjax.data.padded import PaddedBatches
from rnnjax.models import make_model
from rnnjax.models.bit_sequences import parameter_count
from rnnjax.train.run import Task
from rnnjax.train.task_data import check_batch_sizes, fingerprint
from rnnjax.validation import check_choice, check_positive_int, fail

_WHERE = "dialogue"
#: where conversations come from (config.data.source)
SOURCES = ("synthetic",)


def utterance_mask(lengths: jax.Array, weight: jax.Array, time: int) -> jax.Array:
    """[B, T] float: 1 at the utterances t < lengths[b] of real rows (weight > 0)."""
    return (jnp.arange(time)[None, :] < lengths[:, None]) * (weight[:, None] > 0)


class DialogueTask(Task):
    experiment = "dialogue"
    unit = "utterances"
    selection = ("valid_weighted_f1", "max")
    batch_fields = ("utterances", "speakers", "labels", "lengths", "weight")

    def load(self, workdir: Path) -> None:
        del workdir
        data = self.config.data
        check_choice(_WHERE, "config.data.source", data.source, SOURCES)
        check_batch_sizes(_WHERE, data, self.mesh)
        generator = dict(data.generator)
        self.splits: dict[str, Dialogues] = {}
        for index, split in enumerate(SPLITS):
            count = check_positive_int(_WHERE, f"config.data.num_{split}", data[f"num_{split}"])
            try:
                self.splits[split] = synthetic_dialogues(
                    np.random.default_rng((data.seed, index)), count, **generator)
            except TypeError as err:
                fail(_WHERE, "config.data.generator", "arguments of synthetic_dialogues",
                     str(err))
        self.sizes = {"utterance_size": self.splits["train"].utterances.shape[-1],
                      "num_classes": generator["num_moods"],
                      "num_parties": generator["num_parties"]}
        for split, dialogues in self.splits.items():
            check_dialogues(f"{_WHERE} {split}", dialogues, self.sizes["num_parties"],
                            self.sizes["num_classes"])
        self.train_batches = PaddedBatches(self.splits["train"]._asdict(), data.batch_size,
                                           shuffle=True, seed=self.config.seed)

    def fingerprint(self) -> str:
        return fingerprint(*(array for split in SPLITS for array in self.splits[split]))

    def build_model(self, rngs: nnx.Rngs) -> nnx.Module:
        return make_model(self.config.model, rngs=rngs, **self.sizes)

    def loss(self, model: nnx.Module, state: Any, batch: dict[str, jax.Array], key: jax.Array):
        logits = model(batch["utterances"], batch["speakers"], batch["lengths"],
                       dropout_key=key).logits
        mask = utterance_mask(batch["lengths"], batch["weight"], logits.shape[1])
        nll = optax.softmax_cross_entropy_with_integer_labels(logits, batch["labels"])
        mean = jnp.sum(nll * mask) / jnp.maximum(mask.sum(), 1.0)
        return mean, (mean, state)

    def count(self, batch: dict[str, np.ndarray]) -> int:
        return int(np.sum(batch["lengths"] * (batch["weight"] > 0)))

    def prepare_evaluation(self, graphdef: Any) -> None:
        def predict(state, utterances, speakers, lengths):
            logits = nnx.merge(graphdef, state)(utterances, speakers, lengths).logits
            return logits.argmax(-1), jax.nn.log_softmax(logits)

        self._predict = jax.jit(predict)
        self._eval_batches = {split: PaddedBatches(self.splits[split]._asdict(),
                                                   self.config.data.eval_batch_size,
                                                   shuffle=False)
                              for split in SPLITS if split != "train"}

    def evaluate(self, model: nnx.Module, split: str) -> dict[str, float]:
        state = nnx.state(model)
        labels, predicted, kinds, nll = [], [], [], []
        for batch in self._eval_batches[split].iter_epoch():
            guess, log_p = self._predict(state, batch["utterances"], batch["speakers"],
                                         batch["lengths"])
            inside = np.asarray(utterance_mask(batch["lengths"], batch["weight"],
                                               batch["labels"].shape[1])) > 0
            gold = batch["labels"][inside]
            labels.append(gold)
            predicted.append(np.asarray(guess)[inside])
            kinds.append(batch["kinds"][inside])
            nll.append(-np.take_along_axis(np.asarray(log_p)[inside], gold[:, None], 1)[:, 0])
        gold, guess, kind = (np.concatenate(x) for x in (labels, predicted, kinds))
        right = guess == gold
        metrics = {"loss": float(np.concatenate(nll).mean()), "accuracy": float(right.mean()),
                   "weighted_f1": float(f1_score(gold, guess, average="weighted", zero_division=0))}
        for index, name in enumerate(KINDS):
            if np.any(kind == index):
                metrics[f"accuracy_{name}"] = float(right[kind == index].mean())
        return metrics

    def summary(self) -> dict[str, Any]:
        """The data source, the context-free ceiling on the test split (the best accuracy of
        any model that sees one utterance alone) and the model's parameter count."""
        if not hasattr(self, "splits"):
            self.load(Path())
        model = nnx.eval_shape(lambda: self.build_model(nnx.Rngs(0)))
        return {"source": self.config.data.source, "parameters": parameter_count(model),
                "context_free_ceiling": context_free_accuracy(self.splits["test"])}


train_and_evaluate = launch.over_seeds(DialogueTask)
