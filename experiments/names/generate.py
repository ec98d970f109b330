"""The name generator: a country-conditioned char LSTM (``RNNLM`` with ``num_conditions``).

A name c_1..c_n of country k is the sequence <eos> c_1 .. c_n <eos>; the LM reads
x = (<eos>, c_1, .., c_n) with the country's embedding at every step and is trained on the
masked cross-entropy of y = (c_1, .., c_n, <eos>) (``rnnjax.losses``), so it learns
p(c_t | c_<t, k) and where a name ends. Sampling (``rnnjax.models.sampling.generate``) starts
from <eos> followed by the given first letters and stops at the next <eos>.

At test, ``sample.count`` names are drawn per country at ``sample.temperature`` and each is
classed as a real name of that country (the dictionary lists it there, with any frequency) or
not, and as a copy of a training name (of any country) or not; reported per country in
workdir/samples_test.json and, averaged over the countries, as ``novel_real_fraction`` (real and
not seen in training), ``real_fraction`` and ``copied_fraction``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging
from flax import nnx

from experiments.names.train import NamesTask
from rnnjax.data import Vocab
from rnnjax.data.padded import PaddedBatches
from rnnjax.losses import masked_cross_entropy
from rnnjax.models import make_model
from rnnjax.models.sampling import generate
from rnnjax.train.workdir import write_atomic, write_json
from rnnjax.validation import check_nonnegative_float, check_positive_int, fail

SAMPLES_FILE = "samples_test.json"
_WHERE = "names"


def start_ids(vocab: Vocab, start: str, where: str = _WHERE, name: str = "start"
              ) -> np.ndarray:
    """<eos> and the ids of the first letters ``start``; a letter the model never saw is an
    error (from ``where``, naming the argument ``name``)."""
    unknown = sorted({char for char in start if char not in vocab.tokens[2:]})
    if unknown:
        fail(where, name, "letters that occur in the training names", f"{start!r} (unseen: "
             f"{''.join(unknown)!r})")
    return np.concatenate([[vocab.eos_id], vocab.lookup(start)]).astype(np.int32)


def sample_names(model: nnx.Module, vocab: Vocab, category: int, start: str, count: int, *,
                 key: jax.Array, temperature: float, top_k: int = 0, max_length: int = 30
                 ) -> list[str]:
    """``count`` names of category ``category`` that begin with ``start``: each sample runs
    until <eos> or ``max_length`` more characters."""
    prime = np.tile(start_ids(vocab, start), (count, 1))
    tokens = generate(model, prime, max_length, key=key, temperature=temperature, top_k=top_k,
                      condition=np.full(count, category, np.int32))
    names = []
    for row in tokens.tolist():
        end = row.index(vocab.eos_id) if vocab.eos_id in row else len(row)
        names.append(start + "".join("\ufffd" if i == vocab.unk_id else vocab.tokens[i]
                                     for i in row[:end]))
    return names


def novelty(samples: list[str], real: Collection[str], seen: Collection[str]
            ) -> dict[str, float]:
    """Fractions of ``samples`` that are real (in ``real``), copies (in ``seen``), and real but
    not seen."""
    n = len(samples)
    return {"real_fraction": sum(s in real for s in samples) / n,
            "copied_fraction": sum(s in seen for s in samples) / n,
            "novel_real_fraction": sum(s in real and s not in seen for s in samples) / n}


class NameGeneratorTask(NamesTask):
    """``config.model``: an ``RNNLM`` conditioned on the country; ``config.sample``: sampling."""

    batch_fields = ("inputs", "inputs_lengths", "targets", "country", "weight")

    unit = "chars"

    def load(self, workdir: Path) -> None:
        super().load(workdir)
        sample = self.config.sample
        check_positive_int(_WHERE, "config.sample.count", sample.count)
        check_positive_int(_WHERE, "config.sample.max_length", sample.max_length)
        check_nonnegative_float(_WHERE, "config.sample.temperature", sample.temperature)
        eos = [self.vocab.eos_id]
        self.examples = {}
        for split, names in self.splits.items():
            ids = [self.vocab.lookup(name) for name in names.names]
            self.examples[split] = {"inputs": [np.asarray([*eos, *x], np.int32) for x in ids],
                                    "targets": [np.asarray([*x, *eos], np.int32) for x in ids],
                                    "country": self.labels.encode(names.categories, _WHERE)}
        self.train_batches = PaddedBatches(self.examples["train"], self.config.data.batch_size,
                                           shuffle=True, seed=self.config.seed)

    def build_model(self, rngs: nnx.Rngs) -> nnx.Module:
        return make_model(self.config.model, vocab_size=len(self.vocab),
                          num_conditions=len(self.labels), rngs=rngs)

    def prepare_evaluation(self, graphdef: Any) -> None:
        def nll_sum(params, batch):
            logits, _ = nnx.merge(graphdef, params)(batch["inputs"], None,
                                                    condition=batch["country"])
            return masked_cross_entropy(logits, batch["targets"], batch["inputs_lengths"],
                                        batch["weight"])

        self._nll_sum = jax.jit(nll_sum)
        self._eval_batches = {split: PaddedBatches(examples, self.config.data.eval_batch_size,
                                                   shuffle=False)
                              for split, examples in self.examples.items() if split != "train"}

    def loss(self, model, state, batch, key):
        logits, _ = model(batch["inputs"], None, condition=batch["country"], dropout_key=key)
        nll, count = masked_cross_entropy(logits, batch["targets"], batch["inputs_lengths"],
                                          batch["weight"])
        mean = nll / jnp.maximum(count, 1.0)
        return mean, (mean, state)

    def count(self, batch: Mapping[str, np.ndarray]) -> int:
        return int((batch["inputs_lengths"] * batch["weight"]).sum())

    def evaluate(self, model: nnx.Module, split: str) -> dict[str, float]:
        """NLL per character (the end mark included), in nats and bits; at test also the
        samples' novelty, averaged over the countries."""
        params, total, count = nnx.state(model), 0.0, 0.0
        for batch in self._eval_batches[split].iter_epoch():
            batch = {k: batch[k] for k in ("inputs", "inputs_lengths", "targets", "country",
                                           "weight")}
            nll, n = self._nll_sum(params, batch)
            total, count = total + float(nll), count + float(n)
        metrics = {"loss": total / count, "bpc": total / count / math.log(2.0)}
        if split == "test":
            metrics.update(self._novelty(model))
        return metrics

    def _novelty(self, model: nnx.Module) -> dict[str, float]:
        sample = self.config.sample
        seen = set(self.splits["train"].names)
        key = jax.random.PRNGKey(self.config.seed)
        report = {}
        for k, country in enumerate(self.labels.names):
            names = sample_names(model, self.vocab, k, "", sample.count,
                                 key=jax.random.fold_in(key, k), temperature=sample.temperature,
                                 max_length=sample.max_length)
            report[country] = {**novelty(names, self.data.members[country], seen),
                               "samples": names}
        self.samples = report
        return {name: float(np.mean([r[name] for r in report.values()]))
                for name in ("novel_real_fraction", "real_fraction", "copied_fraction")}

    def write_outputs(self, model: nnx.Module, split: str, workdir: Path) -> None:
        """The test samples and their classes per country: workdir/samples_test.json."""
        del model, split
        write_json(workdir / SAMPLES_FILE, self.samples)

    def after_epoch(self, model: nnx.Module, epoch: int, workdir: Path, key: jax.Array) -> None:
        """Five names of each of the first five countries, in workdir/samples/."""
        lines = [f"{country}: " + ", ".join(sample_names(
            model, self.vocab, k, "", 5, key=jax.random.fold_in(key, k),
            temperature=self.config.sample.temperature, max_length=self.config.sample.max_length))
            for k, country in enumerate(self.labels.names[:5])]
        (workdir / "samples").mkdir(exist_ok=True)
        write_atomic(workdir / "samples" / f"epoch_{epoch:03d}.txt", "\n".join(lines) + "\n")
        logging.info("samples:\n%s", "\n".join(lines))

    def describe(self, split: str, metrics: Mapping[str, float]) -> str:
        text = f"{split} loss {metrics['loss']:.4f} | {metrics['bpc']:.3f} bits/char"
        if "novel_real_fraction" in metrics:
            text += (f" | samples: {100 * metrics['novel_real_fraction']:.1f}% real and unseen, "
                     f"{100 * metrics['real_fraction']:.1f}% real, "
                     f"{100 * metrics['copied_fraction']:.1f}% copies")
        return text
