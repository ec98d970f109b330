"""The translation task: teacher-forced training of ``rnnjax.models.Seq2Seq``, BLEU/chrF evaluation.

Targets are BOS y_1 ... y_n EOS; the decoder reads BOS y_1 ... y_n and predicts y_1 ... EOS. The
loss is the mean NLL per target token (label smoothing, Szegedy et al. 2016, optional on the
optimised objective only). After every epoch the model translates the valid split greedily (at
most ``config.valid_pairs`` of it, a fixed random subset); the epoch with the best valid BLEU is
kept and translates the whole test split greedily and with beam search. BLEU and chrF are
sacrebleu's corpus scores of the detokenised output against the raw references.

The training budget: ``config.train_tokens`` bounds the target tokens trained on. When
``num_epochs`` passes over the data would exceed it, the run's ``num_epochs`` epochs become
periods of equal length that together train on about that many tokens (the batches run on
through the data's shuffled passes, e.g. 1.3 passes in 8 periods), each period ending in the
evaluation and checkpoint of an epoch, with the learning-rate schedule per period; otherwise the
epochs are whole passes, as without a budget.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import sacrebleu
from absl import logging
from flax import nnx

from experiments.seq2seq.attention_maps import plot_attention
from rnnjax.data.padded import PaddedBatches
from rnnjax.data.parallel import (
    SPLITS,
    TOKENIZERS,
    encode_pairs,
    load_pairs,
    load_tokenizer,
    train_tokenizer,
)
from rnnjax.models import make_model
from rnnjax.models.decoding import beam_search, greedy_decode
from rnnjax.train.replicates import run_experiment
from rnnjax.train.run import Task
from rnnjax.train.task_data import check_batch_sizes, fingerprint, load_stored, save_missing
from rnnjax.train.workdir import write_atomic
from rnnjax.validation import (
    check_choice,
    check_nonnegative_int,
    check_positive_int,
    check_rate,
    fail,
)

TOKENIZER_FILE = "tokenizers.json"
_WHERE = "seq2seq"


def token_nll(model, batch, key=None, label_smoothing=0.0):
    """(objective, NLL summed over real target tokens, their count) of a padded batch."""
    target = batch["target"]
    logits, _ = model(batch["source"], batch["source_lengths"], target[:, :-1], dropout_key=key)
    labels = target[:, 1:]
    mask = (jnp.arange(labels.shape[1]) < batch["target_lengths"][:, None] - 1) * batch[
        "weight"][:, None]
    nll = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    smoothed = nll if not label_smoothing else optax.softmax_cross_entropy(
        logits, optax.smooth_labels(jax.nn.one_hot(labels, logits.shape[-1]), label_smoothing))
    count = jnp.maximum(mask.sum(), 1.0)
    return (smoothed * mask).sum() / count, (nll * mask).sum(), mask.sum()


def pad_to_multiple(batch: dict[str, np.ndarray], multiple: int) -> dict[str, np.ndarray]:
    """The source and target columns zero-padded to a multiple of ``multiple`` (fewer distinct
    shapes, so fewer compilations of the train step, for some padding)."""
    out = dict(batch)
    for name in ("source", "target"):
        extra = -batch[name].shape[1] % multiple
        out[name] = np.pad(batch[name], ((0, 0), (0, extra)))
    return out


class TranslationTask(Task):
    """``config.data`` names the pairs (trans_de_en or a file), ``config.model`` a Seq2Seq,
    ``config.decode`` the beam search of the test evaluation."""

    experiment = "seq2seq"
    unit = "tokens"
    selection = ("valid_bleu", "max")
    resumable_changes = (*Task.resumable_changes, "decode.samples", "decode.heatmaps")

    def load(self, workdir: Path) -> None:
        data, decode = self.config.data, self.config.decode
        check_batch_sizes(_WHERE, data, self.mesh, ("batch_size",))
        for name in ("eval_batch_size", "max_length", "source_vocab_size", "target_vocab_size",
                     "pad_to"):
            check_positive_int(_WHERE, f"config.data.{name}", data[name])
        for name in ("beam_size", "max_length"):
            check_positive_int(_WHERE, f"config.decode.{name}", decode[name])
        check_rate(_WHERE, "config.label_smoothing", self.config.label_smoothing)
        check_choice(_WHERE, "config.data.tokenizer", data.tokenizer, TOKENIZERS)
        self.pairs = load_pairs(None if data.path else data.corpus, path=data.path,
                                direction=data.direction, data_dir=data.data_dir)
        origin = data.path or f"the prepared {data.corpus} train.tsv"
        stored = load_stored(workdir, {TOKENIZER_FILE: read_tokenizers})
        if stored:
            self.tokenizers = stored[0]
        else:
            train = self.pairs["train"]
            self.tokenizers = [
                train_tokenizer(data.tokenizer, [p.source for p in train], data.source_vocab_size),
                train_tokenizer(data.tokenizer, [p.target for p in train], data.target_vocab_size)]
        self.examples = {}
        for split in SPLITS:  # max_length bounds training pairs; valid and test are scored whole
            source, target, _ = encode_pairs(
                self.pairs[split], *self.tokenizers, origin=origin, where=_WHERE,
                max_length=data.max_length if split == "train" else 10**9,
                too_long=data.too_long if split == "train" else "error")
            self.examples[split] = {"source": source, "target": target}
        self.dropped = len(self.pairs["train"]) - len(self.examples["train"]["source"])
        if self.dropped:
            logging.info("%d of %d training pairs are longer than max_length=%d: dropped",
                         self.dropped, len(self.pairs["train"]), data.max_length)
        self.train_batches = PaddedBatches(self.examples["train"], data.batch_size, shuffle=True,
                                           seed=self.config.seed)
        # the same in every pass (a short last batch is filled, not dropped)
        self.batches_per_pass = self.train_batches.num_batches(0)
        self.period = self.budget_period()
        valid_pairs = check_nonnegative_int(_WHERE, "config.valid_pairs",
                                            self.config.get("valid_pairs", 0))
        self.scored = {"valid": self.subset("valid", valid_pairs), "test": self.subset("test", 0)}

    def budget_period(self) -> int | None:
        """The steps of each of the ``num_epochs`` periods that spend ``config.train_tokens``
        target tokens, or None when ``num_epochs`` whole passes fit in the budget (or there is
        none): then an epoch is a pass over the training pairs."""
        config = self.config
        budget = check_nonnegative_int(_WHERE, "config.train_tokens",
                                       config.get("train_tokens", 0))
        per_pass = int(sum(len(t) - 1 for t in self.examples["train"]["target"]))
        batches = self.batches_per_pass
        steps = math.ceil(budget * batches / per_pass) if budget else 0
        if not steps or steps >= config.num_epochs * batches:
            return None
        period = math.ceil(steps / config.num_epochs)
        logging.info("config.train_tokens=%s: %d epochs of %d steps (%.2f passes over the %s "
                     "target tokens of the training pairs)", f"{budget:,}", config.num_epochs,
                     period, config.num_epochs * period / batches, f"{per_pass:,}")
        return period

    def subset(self, split: str, limit: int) -> dict[str, Any]:
        """{"pairs", "examples"} of ``split`` scored by ``evaluate``: all of them, or ``limit``
        (> 0) drawn at random once (seed 0), in file order."""
        pairs, examples = self.pairs[split], self.examples[split]
        if not limit or limit >= len(pairs):
            return {"pairs": pairs, "examples": examples}
        rows = np.sort(np.random.default_rng(0).choice(len(pairs), limit, replace=False))
        return {"pairs": [pairs[i] for i in rows],
                "examples": {k: [v[i] for i in rows] for k, v in examples.items()}}

    def data_size(self) -> dict[str, int]:
        examples = self.examples["train"]
        return {"pairs": len(examples["source"]),
                "source tokens": int(sum(map(len, examples["source"]))),
                "target tokens": int(sum(map(len, examples["target"])))}

    def fingerprint(self) -> str:
        return fingerprint([t.to_bytes() for t in self.tokenizers], [
            (ids, b"|") for split in SPLITS
            for ids in (*self.examples[split]["source"], *self.examples[split]["target"])])

    def save(self, workdir: Path) -> None:
        sides = {side: base64.b64encode(t.to_bytes()).decode("ascii")
                 for side, t in zip(("source", "target"), self.tokenizers, strict=True)}
        save_missing(workdir, {TOKENIZER_FILE: json.dumps({"kind": self.config.data.tokenizer,
                                                          **sides})})

    def build_model(self, rngs: nnx.Rngs) -> nnx.Module:
        return make_model(self.config.model, rngs=rngs, source_vocab_size=len(self.tokenizers[0]),
                          target_vocab_size=len(self.tokenizers[1]))

    def check(self, model: nnx.Module) -> None:
        alpha = self.config.decode.alpha
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or alpha < 0:
            fail(_WHERE, "config.decode.alpha", "a number >= 0 (GNMT length penalty)", alpha)

    def prepare_evaluation(self, graphdef: Any) -> None:
        self._eval_step = jax.jit(lambda params, batch: token_nll(nnx.merge(graphdef, params),
                                                                  batch)[1:])

    def num_batches(self, epoch: int) -> int:
        """A pass over the pairs, or a period of the token budget (``budget_period``)."""
        return self.period or self.train_batches.num_batches(epoch)

    def batch(self, epoch: int, index: int) -> dict[str, np.ndarray]:
        """Batch ``index`` of the pass, or of the period (the batches of the passes in order)."""
        if self.period:
            epoch, index = divmod(epoch * self.period + index, self.batches_per_pass)
        return pad_to_multiple(self.train_batches.batch(epoch, index), self.config.data.pad_to)

    def loss(self, model, state, batch, key):
        objective, nll, count = token_nll(model, batch, key, self.config.label_smoothing)
        return objective, (nll / jnp.maximum(count, 1.0), state)

    def count(self, batch: dict[str, np.ndarray]) -> int:
        return int(((batch["target_lengths"] - 1) * batch["weight"]).sum())

    # ---- evaluation -------------------------------------------------------------------------
    def _eval_batches(self, split: str) -> tuple[PaddedBatches, np.ndarray]:
        """The scored pairs of the split sorted by source length (fewer padded steps), and
        that order."""
        examples = self.scored[split]["examples"]
        order = np.argsort([len(s) for s in examples["source"]], kind="stable")
        sorted_examples = {k: [v[i] for i in order] for k, v in examples.items()}
        return PaddedBatches(sorted_examples, self.config.data.eval_batch_size,
                             shuffle=False), order

    def translate(self, model: nnx.Module, split: str, beam: bool = False
                  ) -> tuple[list[str], list[np.ndarray]]:
        """Detokenised translations of ``split`` in file order and, greedy, each one's
        (output tokens, attention weights [output tokens + EOS, source tokens])."""
        decode, target = self.config.decode, self.tokenizers[1]
        batches, order = self._eval_batches(split)
        texts, weights = [""] * len(order), [None] * len(order)
        ids = {"bos_id": target.bos_id, "eos_id": target.eos_id,
               "max_length": decode.max_length}
        for batch in map(partial(pad_to_multiple, multiple=self.config.data.pad_to),
                         batches.iter_epoch()):
            source, lengths = batch["source"], batch["source_lengths"]
            if beam:
                tokens, counts, _ = beam_search(model, source, lengths, beam_size=decode.beam_size,
                                                alpha=decode.alpha, **ids)
                attention = None
            else:
                tokens, counts, attention = greedy_decode(model, source, lengths, **ids)
            for row, index in enumerate(batch["index"]):
                if index >= 0:
                    texts[order[index]] = target.decode(tokens[row, : counts[row]])
                    if attention is not None:  # the output tokens and their attention
                        weights[order[index]] = (tokens[row, : counts[row]], attention[
                            row, : counts[row] + 1, : lengths[row]])
        return texts, weights

    def evaluate(self, model: nnx.Module, split: str) -> dict[str, float]:
        params, total, count = nnx.state(model), 0.0, 0.0
        batches, _ = self._eval_batches(split)
        for batch in batches.iter_epoch():
            nll, tokens = self._eval_step(params, pad_to_multiple(batch, self.config.data.pad_to))
            total, count = total + float(nll), count + float(tokens)
        loss = total / count
        references = [p.target for p in self.scored[split]["pairs"]]
        metrics = {"loss": loss, "ppl": math.exp(min(loss, 700.0))}
        greedy, weights = self.translate(model, split)
        metrics |= self._scores(greedy, references, "")
        if split == "test":
            beam, _ = self.translate(model, split, beam=True)
            metrics |= self._scores(beam, references, "_beam")
            self.test_outputs = greedy, beam, weights
        return metrics

    @staticmethod
    def _scores(hypotheses: list[str], references: list[str], suffix: str) -> dict[str, float]:
        return {f"bleu{suffix}": sacrebleu.corpus_bleu(hypotheses, [references]).score,
                f"chrf{suffix}": sacrebleu.corpus_chrf(hypotheses, [references]).score}

    def write_outputs(self, model: nnx.Module, split: str, workdir: Path) -> None:
        """The test translations of the final evaluation: samples/test.tsv (source, reference,
        greedy, beam) and the first ``decode.heatmaps`` attention heat maps."""
        del model, split
        greedy, beam, weights = self.test_outputs
        folder = workdir / "samples"
        folder.mkdir(exist_ok=True)
        rows = ["source\treference\tgreedy\tbeam\n"] + [
            f"{p.source}\t{p.target}\t{g}\t{b}\n"
            for p, g, b in zip(self.pairs["test"], greedy, beam, strict=True)]
        write_atomic(folder / "test.tsv", "".join(rows))
        source, target = self.tokenizers
        for i in range(min(self.config.decode.heatmaps, len(greedy))):
            if weights[i] is not None:
                output, attention = weights[i]
                plot_attention(attention, [source.decode([t]) or "</s>"
                                           for t in self.examples["test"]["source"][i]],
                               [target.decode([t]) for t in output]
                               + ["</s>"] * (len(attention) > len(output)),
                               folder / f"attention_{i}.png")

    def after_epoch(self, model: nnx.Module, epoch: int, workdir: Path, key: jax.Array) -> None:
        count = self.config.decode.samples
        if not count:
            return
        valid = self.pairs["valid"][:count]
        keep = {k: v[:count] for k, v in self.examples["valid"].items()}
        batch = PaddedBatches(keep, count, shuffle=False).batch(0, 0)
        target = self.tokenizers[1]
        tokens, counts, _ = greedy_decode(model, batch["source"], batch["source_lengths"],
                                          max_length=self.config.decode.max_length,
                                          bos_id=target.bos_id, eos_id=target.eos_id)
        text = "".join(f"{p.source}\n  = {p.target}\n  > {target.decode(t[:n])}\n"
                       for p, t, n in zip(valid, tokens, counts, strict=True))
        (workdir / "samples").mkdir(exist_ok=True)
        write_atomic(workdir / "samples" / f"epoch_{epoch:03d}.txt", text)
        logging.info("samples:\n%s", text)

    def describe(self, split: str, metrics: dict[str, float]) -> str:
        beam = f" | beam BLEU {metrics['bleu_beam']:.2f}" if "bleu_beam" in metrics else ""
        return (f"{split} loss {metrics['loss']:.3f} | BLEU {metrics['bleu']:.2f} | chrF "
                f"{metrics['chrf']:.1f}{beam}")

    def summary(self) -> dict[str, Any]:
        data = self.config.data
        return {"corpus": Path(data.path).name if data.path else data.corpus,
                "direction": "source-target" if data.path else data.direction,
                "tokenizer": data.tokenizer}


def read_tokenizers(path: Path) -> list[Any]:
    """The (source, target) tokenizers a run saved in ``path`` (tokenizers.json)."""
    payload = json.loads(path.read_text(encoding="utf-8"))
    return [load_tokenizer(payload["kind"], base64.b64decode(payload[side]))
            for side in ("source", "target")]


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str | Path,
                       allow_changes: Iterable[str] = ()) -> dict[str, Any]:
    """Train the translation model of ``config`` in ``workdir`` (resuming it); its results."""
    return run_experiment(TranslationTask, config, workdir, allow_changes)
