"""The language-model task: truncated backpropagation through time over a token stream.

Each epoch walks the training stream in [batch, bptt] chunks (``rnnjax.data.LMBatches``). The
recurrent carry flows from chunk to chunk with its gradient stopped and is reset at the start of
every epoch; evaluation carries the state through the whole valid/test stream. The loss is the
token NLL; with ``loss_sum_over_time`` the optimised objective is sum over time of the batch mean
(Zaremba et al. 2014's ``ptb_word_lm``, which their lr 1 and clip 5 assume). Reported: perplexity
exp(NLL) and, at char level, bits per character NLL / ln 2.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from absl import logging
from flax import nnx

from rnnjax.data import CORPORA, LMBatches, Vocab, load_corpus
from rnnjax.models import make_model
from rnnjax.models.sampling import check_sampling, sample_text
from rnnjax.train import sharding
from rnnjax.train.checkpoint import read_config, restore_params
from rnnjax.train.replicates import run_experiment
from rnnjax.train.run import Task
from rnnjax.train.task_data import check_batch_sizes, fingerprint, load_stored, save_missing
from rnnjax.train.workdir import write_atomic
from rnnjax.validation import check_positive_int, fail

VOCAB_FILE = "vocab.json"
_WHERE = "lm"


def nll_metrics(nll: float, level: str) -> dict[str, float]:
    """Mean NLL in nats per token -> {loss, ppl} and, at char level, bpc.

    Perplexity = exp(nll); bits per character = nll / ln 2.
    """
    out = {"loss": nll, "ppl": math.exp(min(nll, 700.0))}
    if level == "char":
        out["bpc"] = nll / math.log(2.0)
    return out


def make_eval_step(graphdef: Any, mesh: jax.sharding.Mesh) -> Callable:
    """jit(params, carry, inputs, targets, length) -> (NLL in nats summed over the first
    ``length`` steps, carry)."""

    def step(params, carry, inputs, targets, length):
        logits, carry = nnx.merge(graphdef, params)(inputs, carry)
        nll = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
        return jnp.where(jnp.arange(inputs.shape[1]) < length, nll, 0.0).sum(), carry

    replicated, batched = sharding.replicated(mesh), sharding.batch_sharding(mesh)
    return jax.jit(step, donate_argnums=(1,), out_shardings=(replicated, batched))


class LanguageModelTask(Task):
    """``config.data`` names a corpus (or a text file), ``config.model`` an ``rnnjax.models``
    LM; ``config.sample`` the text sampled after every epoch."""

    experiment = "lm"
    unit = "tokens"

    @property
    def selection(self) -> tuple[str, str] | None:  # type: ignore[override]
        """Early stopping on the validation loss where the config sets ``patience`` > 0."""
        return ("valid_loss", "min") if self.config.get("patience", 0) else None

    def load(self, workdir: Path) -> None:
        data = self.config.data
        check_batch_sizes(_WHERE, data, self.mesh)
        for name in ("bptt", "eval_bptt"):
            check_positive_int(_WHERE, f"config.data.{name}", data[name])
        stored = load_stored(workdir, {VOCAB_FILE: Vocab.load})
        self.corpus = load_corpus(
            data.corpus, data_dir=data.data_dir, path=data.path, level=data.level,
            max_vocab=None if stored else data.max_vocab, vocab=stored[0] if stored else None)
        splits = {"train": self.corpus.train_ids, "valid": self.corpus.valid_ids,
                  "test": self.corpus.test_ids}
        for split, ids in splits.items():
            size, length = ((data.batch_size, data.bptt) if split == "train"
                            else (data.eval_batch_size, data.eval_bptt))
            prefix = "" if split == "train" else "eval_"
            if size * (length + 1) > ids.size:
                fail(_WHERE, f"config.data.{prefix}batch_size * (config.data.{prefix}bptt + 1)",
                     f"at most the {ids.size} tokens of the {split} split",
                     f"{size} * ({length} + 1) = {size * (length + 1)}; lower them or use a "
                     "longer text")
        self.train_batches = LMBatches(self.corpus.train_ids, data.batch_size, data.bptt,
                                       random_bptt=data.random_bptt, seed=self.config.seed,
                                       drop_last=True)
        self.eval_ids = {"valid": self.corpus.valid_ids, "test": self.corpus.test_ids}

    def fingerprint(self) -> str:
        corpus = self.corpus
        return fingerprint([np.asarray(ids, np.int32) for ids in (
            corpus.train_ids, corpus.valid_ids, corpus.test_ids)], "\n".join(corpus.vocab.tokens))

    def save(self, workdir: Path) -> None:
        save_missing(workdir, {VOCAB_FILE: self.corpus.vocab.to_json()})

    def build_model(self, rngs: nnx.Rngs) -> nnx.Module:
        return make_model(self.config.model, vocab_size=len(self.corpus.vocab), rngs=rngs)

    def check(self, model: nnx.Module) -> None:
        sample = self.config.sample
        check_sampling(_WHERE, "config.sample.", self.corpus.vocab, sample.prime, sample.length,
                       sample.temperature, sample.top_k)

    def prepare_evaluation(self, graphdef: Any) -> None:
        self._eval_step = make_eval_step(graphdef, self.mesh)

    def initial_state(self, model: nnx.Module) -> Any:
        return model.initial_carry(self.config.data.batch_size)

    def loss(self, model, carry, batch, key):
        inputs, targets = batch
        logits, carry = model(inputs, carry, dropout_key=key)
        nll = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
        objective = nll.mean(0).sum() if self.config.loss_sum_over_time else nll.mean()
        return objective, (nll.mean(), carry)

    def count(self, batch: tuple[np.ndarray, np.ndarray]) -> int:
        return batch[1].size

    def evaluate(self, model: nnx.Module, split: str) -> dict[str, float]:
        """Mean NLL per token of the split's stream, carrying the state through all of it.

        A shorter last chunk is padded to ``eval_bptt`` (and its padding not scored), so that
        one compiled step serves every chunk.
        """
        data, mesh = self.config.data, self.mesh
        bptt = data.eval_bptt
        batches = LMBatches(self.eval_ids[split], data.eval_batch_size, bptt)
        carry = sharding.shard_batch(model.initial_carry(data.eval_batch_size), mesh)
        params = nnx.state(model)
        sums, count = [], 0
        for inputs, targets in batches.iter_epoch(0):
            length = inputs.shape[1]
            pad = ((0, 0), (0, bptt - length))
            chunk = sharding.shard_batch((np.pad(inputs, pad), np.pad(targets, pad)), mesh)
            nll, carry = self._eval_step(params, carry, *chunk, length)
            sums.append(nll)
            count += targets.size
        return nll_metrics(float(sum(sums)) / count, self.corpus.vocab.level)

    def after_epoch(self, model: nnx.Module, epoch: int, workdir: Path, key: jax.Array) -> None:
        sample = self.config.sample
        text = sample_text(model, self.corpus.vocab, sample.prime, sample.length, key=key,
                           temperature=sample.temperature, top_k=sample.top_k)
        (workdir / "samples").mkdir(exist_ok=True)
        write_atomic(workdir / "samples" / f"epoch_{epoch:03d}.txt", text)
        logging.info("sample:\n%s", text)

    def describe(self, split: str, metrics: Mapping[str, float]) -> str:
        """'valid bpc 2.104' at char level, else 'valid ppl 120.70'."""
        if "bpc" in metrics:
            return f"{split} bpc {metrics['bpc']:.3f}"
        return f"{split} ppl {metrics['ppl']:.2f}"

    def summary(self) -> dict[str, Any]:
        data = self.config.data
        spec = CORPORA.get(data.corpus)
        return {"corpus": data.corpus, "level": data.level or (spec.level if spec else None)}


def load_model(workdir: str | Path) -> tuple[nnx.Module, Vocab, ml_collections.ConfigDict]:
    """(model with the latest checkpoint's parameters, its vocabulary, its config)."""
    config = read_config(workdir)
    vocab = Vocab.load(Path(workdir) / VOCAB_FILE)
    abstract = nnx.eval_shape(lambda: make_model(config.model, vocab_size=len(vocab),
                                                 rngs=nnx.Rngs(0)))
    return restore_params(workdir, abstract), vocab, config


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str | Path,
                       allow_changes: Iterable[str] = ()) -> dict[str, Any]:
    """Train the language model of ``config`` in ``workdir`` (resuming it); its results."""
    return run_experiment(LanguageModelTask, config, workdir, allow_changes)
