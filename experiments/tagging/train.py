"""The POS-tagging task: an ``RNNTagger`` trained with the masked token cross-entropy.

Sentences come as padded, length-bucketed batches (``rnnjax.data.padded.PaddedBatches``). Words
counted fewer than ``data.min_count`` times in the training split map to ``<unk>`` (so that
``<unk>`` is trained); a token is "unknown" when its word never occurs in the training split.
With pretrained vectors (``data.vectors``) a word takes the vector of its lowercase form (GloVe is
lowercased), and ``data.vectors_vocab = N`` adds the vectors' first N words to the vocabulary (as
Plank et al. 2016 add their embeddings' words), so that a word unseen in training keeps its
pretrained row; a word missing from such a vocabulary then takes the row of its lowercase form.
With ``model.char_encoder`` ("bilstm": Lample et al. 2016, "cnn": Ma & Hovy 2016) each word's
embedding is concatenated with features of its characters (``rnnjax.models.char_features``); the
character vocabulary is the training split's characters (saved with the run), so an unknown word
is still read letter by letter. With ``data.word_dropout = alpha > 0`` each training token's
word is replaced by ``<unk>`` with probability alpha / (alpha + count(word)) (Kiperwasser &
Goldberg 2016's word dropout), so that ``<unk>`` is trained on rare words, as unknown words are
rare ones, even when every training word has its own row (``data.min_count = 1``); its letters
are still read. Every evaluation also scores the most-frequent-tag baseline on
the same sentences: each known word gets its most frequent training tag, an unknown word the most
frequent training tag overall.
Tokens whose gold tag never occurs in training (e.g. WSJ's ``''``, which the OANC sample writes
``"``) count as errors for both and are left out of the loss.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging
from flax import nnx

from experiments.launch import over_seeds
from rnnjax.data import Labels, Vocab, embedding_matrix, load_vectors
from rnnjax.data.chars import SplitChars, char_vocab
from rnnjax.data.padded import PaddedBatches
from rnnjax.data.tagged import TaggedSentence, read_tagged, tagged_splits
from rnnjax.losses import masked_cross_entropy, sequence_mask
from rnnjax.models import make_model
from rnnjax.train import sharding
from rnnjax.train.run import Task
from rnnjax.train.task_data import check_batch_sizes, fingerprint, load_stored, save_missing
from rnnjax.validation import check_nonnegative_float, check_positive_int, fail

VOCAB_FILE, CHARS_FILE, TAGS_FILE = "vocab.json", "chars.json", "tags.json"
_WHERE = "tagging"
# per-batch sums of the evaluation step, in this order
_SUMS = ("nll", "scored", "correct", "tokens", "unknown_correct", "unknown")
_EVAL_FIELDS = ("words", "words_lengths", "tags", "unknown", "weight")


def _ratio(a: float, b: float) -> float | None:
    """a / b, or None (the metric is left out) when nothing was counted."""
    return float(a / b) if b else None


def _basename(spec: str | None) -> str | None:
    """A corpus name, or the file name of a path."""
    return spec and os.path.basename(str(spec))


def _batched(examples: Mapping[str, list[np.ndarray]]) -> dict[str, list[np.ndarray]]:
    """The fields the train and evaluation steps read."""
    return {k: examples[k] for k in ("words", "tags", "unknown")}


def most_frequent_tags(train: Sequence[TaggedSentence]) -> tuple[dict[str, str], str]:
    """({word: its most frequent training tag}, the most frequent tag overall); ties go to the
    tag seen first."""
    counts: dict[str, Counter] = {}
    for words, tags in train:
        for word, tag in zip(words, tags, strict=True):
            counts.setdefault(word, Counter())[tag] += 1
    overall = Counter(tag for _, tags in train for tag in tags)
    return {w: c.most_common(1)[0][0] for w, c in counts.items()}, overall.most_common(1)[0][0]


def unknown_rates(vocab: Vocab, counts: Mapping[str, int], alpha: float) -> np.ndarray:
    """Per word id, the probability alpha / (alpha + count(word)) that word dropout replaces the
    word by ``<unk>`` in a training batch (Kiperwasser & Goldberg 2016, their alpha 0.25); 0 for the
    ids of words without a training count (``<unk>``, ``<eos>``, pretrained-only words)."""
    count = np.asarray([counts.get(token, 0) for token in vocab.tokens], np.float64)
    return np.where(count > 0, alpha / (alpha + np.maximum(count, 1.0)), 0.0)


class TaggingTask(Task):
    """``config.data`` names the tagged corpora, ``config.model`` an ``RNNTagger``."""

    batch_fields = ("words", "words_lengths", "tags", "weight")

    experiment = "tagging"
    unit = "tokens"
    selection = ("valid_accuracy", "max")

    def load(self, workdir: Path) -> None:
        data = self.config.data
        check_batch_sizes(_WHERE, data, self.mesh)
        check_positive_int(_WHERE, "config.data.min_count", data.min_count)
        options = {"data_dir": data.data_dir, "format": data.format,
                   "word_column": data.word_column, "tag_column": data.tag_column}
        self.splits = tagged_splits(data.corpus, valid=data.valid, test=data.test, **options)
        if data.ood_test:
            self.splits["ood"] = read_tagged(data.ood_test, **options)
        train = self.splits["train"]
        counts = Counter(word for words, _ in train for word in words)
        if data.vectors_vocab and not data.vectors:
            fail(_WHERE, "config.data.vectors_vocab", "0 without data.vectors",
                 repr(data.vectors_vocab))
        self.vectors = (load_vectors(data.vectors, data_dir=data.data_dir) if data.vectors
                        else None)
        uses_chars = self.config.model.get("char_encoder", "none") != "none"
        stored = load_stored(workdir, {VOCAB_FILE: Vocab.load, TAGS_FILE: Labels.load,
                                       **({CHARS_FILE: Vocab.load} if uses_chars else {})})
        if stored:
            self.vocab, self.tags, *chars = stored
            self.chars = chars[0] if chars else None
        else:
            self.vocab = Vocab.from_counts(counts, "word", min_count=data.min_count)
            if data.vectors_vocab:  # the pretrained words after the training words
                known = set(self.vocab.tokens)
                extra = [w for w in self.vectors.words[:data.vectors_vocab] if w not in known]
                self.vocab = Vocab((*self.vocab.tokens, *extra), "word")
            self.tags = Labels(sorted({tag for _, tags in train for tag in tags}))
            self.chars = char_vocab(words for words, _ in train) if uses_chars else None
        self.split_chars = (SplitChars(self.splits, self.chars,
                                       max_word_length=data.max_word_length)
                            if uses_chars else SplitChars(self.splits, None))
        alpha = check_nonnegative_float(_WHERE, "config.data.word_dropout",
                                        data.get("word_dropout", 0.0))
        self.unknown_rates = unknown_rates(self.vocab, counts, alpha) if alpha else None
        self.baseline = most_frequent_tags(train)
        self.examples = {split: self._encode(sentences, counts)
                         for split, sentences in self.splits.items()}
        self.train_batches = PaddedBatches(_batched(self.examples["train"]), data.batch_size,
                                           shuffle=True, seed=self.config.seed)
        logging.info("%s", ", ".join(f"{split} {len(s)} sentences" for split, s
                                     in self.splits.items()))

    def _encode(self, sentences: Sequence[TaggedSentence], train_counts: Mapping[str, int]
                ) -> dict[str, list[np.ndarray]]:
        """Word ids, tag ids (-1: a tag unseen in training), unknown-word flags and the
        baseline's correctness, one array per sentence."""
        table, fallback = self.baseline
        index = self.tags.index
        known = set(self.vocab.tokens) if self.config.data.vectors_vocab else None
        out: dict[str, list[np.ndarray]] = {"words": [], "tags": [], "unknown": [], "mft": []}
        for words, tags in sentences:
            out["words"].append(self.vocab.lookup(
                words if known is None else (w if w in known else w.lower() for w in words)))
            out["tags"].append(np.asarray([index.get(t, -1) for t in tags], np.int32))
            out["unknown"].append(np.asarray([w not in train_counts for w in words], np.int32))
            out["mft"].append(np.asarray([table.get(w, fallback) == t
                                          for w, t in zip(words, tags, strict=True)], np.int32))
        return out

    def fingerprint(self) -> str:
        chars = self.chars.tokens if self.chars else ()
        return fingerprint([(ids, b"|") for split in sorted(self.examples)
                            for field in ("words", "tags") for ids in self.examples[split][field]],
                           "\n".join((*self.vocab.tokens, *self.tags.names, *chars)))

    def save(self, workdir: Path) -> None:
        save_missing(workdir, {VOCAB_FILE: self.vocab.to_json(), TAGS_FILE: self.tags.to_json(),
                               **({CHARS_FILE: self.chars.to_json()} if self.chars else {})})

    def build_model(self, rngs: nnx.Rngs) -> nnx.Module:
        embeddings = None
        if self.vectors is not None:
            if not hasattr(self, "_embeddings"):
                # GloVe is lowercased: a word takes the vector of its lowercase form
                self._embeddings, found = embedding_matrix(
                    [t.lower() for t in self.vocab.tokens], self.vectors, self.config.seed)
                logging.info("pretrained vectors for %d of %d words", found, len(self.vocab))
            embeddings = self._embeddings
        return make_model(self.config.model, vocab_size=len(self.vocab),
                          num_tags=len(self.tags), num_chars=len(self.chars or ()), rngs=rngs,
                          embeddings=embeddings)

    def prepare_evaluation(self, graphdef: Any) -> None:
        def step(params, batch):
            logits = nnx.merge(graphdef, params)(
                batch["words"], batch["words_lengths"], chars=batch.get("chars"),
                char_lengths=batch.get("char_lengths"))
            mask = sequence_mask(batch["words_lengths"], logits.shape[1], batch["weight"])
            tags = batch["tags"]
            scored = mask * (tags >= 0)
            nll = optax.softmax_cross_entropy_with_integer_labels(logits, jnp.maximum(tags, 0))
            correct = mask * (logits.argmax(-1) == tags)
            unknown = mask * batch["unknown"]
            return jnp.stack([(nll * scored).sum(), scored.sum(), correct.sum(), mask.sum(),
                              (correct * unknown).sum(), unknown.sum()])

        self._eval_step = jax.jit(step)
        self._eval_batches = {
            split: PaddedBatches(_batched(examples), self.config.data.eval_batch_size,
                                 shuffle=False)
            for split, examples in self.examples.items() if split != "train"}

    def batch(self, epoch: int, index: int) -> dict[str, np.ndarray]:
        """The training batch, its words dropped to ``<unk>`` at ``unknown_rates`` with a draw
        fixed by (seed, epoch, index), so a resumed run sees the same batch."""
        batch = self.train_batches.batch(epoch, index)
        if self.unknown_rates is not None:
            words = batch["words"]
            draw = np.random.default_rng((self.config.seed, epoch, index)).random(words.shape)
            dropped = np.where(draw < self.unknown_rates[words], self.vocab.unk_id, words)
            batch = {**batch, "words": dropped.astype(np.int32)}
        return self.split_chars.batch(batch, "train", self.batch_fields)

    def loss(self, model, state, batch, key):
        logits = model(batch["words"], batch["words_lengths"], chars=batch.get("chars"),
                       char_lengths=batch.get("char_lengths"), dropout_key=key)
        nll, count = masked_cross_entropy(logits, batch["tags"], batch["words_lengths"],
                                          batch["weight"])
        mean = nll / jnp.maximum(count, 1.0)
        return mean, (mean, state)

    def count(self, batch: Mapping[str, np.ndarray]) -> int:
        return int((batch["words_lengths"] * batch["weight"]).sum())

    def _scores(self, model: nnx.Module, split: str) -> dict[str, float]:
        params = nnx.state(model)
        sums = np.zeros(len(_SUMS))
        for batch in self._eval_batches[split].iter_epoch():
            inputs = self.split_chars.batch(batch, split, _EVAL_FIELDS)
            sums += np.asarray(self._eval_step(params, sharding.shard_batch(inputs, self.mesh)))
        total = dict(zip(_SUMS, sums.tolist(), strict=True))
        examples = self.examples[split]
        mft = np.concatenate(examples["mft"])
        unknown = np.concatenate(examples["unknown"]).astype(bool)
        tags = np.concatenate(examples["tags"])
        metrics = {"loss": _ratio(total["nll"], total["scored"]),
                   "accuracy": _ratio(total["correct"], total["tokens"]),
                   "unknown_accuracy": _ratio(total["unknown_correct"], total["unknown"]),
                   "unknown_fraction": _ratio(total["unknown"], total["tokens"]),
                   "unseen_tag_fraction": float((tags < 0).mean()),
                   "baseline_accuracy": float(mft.mean()),
                   "baseline_unknown_accuracy": _ratio(float(mft[unknown].sum()), unknown.sum())}
        return {name: value for name, value in metrics.items() if value is not None}

    def evaluate(self, model: nnx.Module, split: str) -> dict[str, float]:
        """Token accuracy (all, unknown words) and the baseline's; at test also the
        out-of-domain set's, prefixed ``ood_``."""
        metrics = self._scores(model, split)
        if split == "test" and "ood" in self.examples:
            metrics.update({f"ood_{k}": v for k, v in self._scores(model, "ood").items()})
        return metrics

    def describe(self, split: str, metrics: Mapping[str, float]) -> str:
        unknown = metrics.get("unknown_accuracy", float("nan"))
        text = (f"{split} loss {metrics['loss']:.4f} | accuracy {100 * metrics['accuracy']:.2f}% "
                f"(unknown words {100 * unknown:.1f}%) | most-frequent-tag "
                f"baseline {100 * metrics['baseline_accuracy']:.2f}%")
        if "ood_accuracy" in metrics:
            text += (f" | out of domain {100 * metrics['ood_accuracy']:.2f}% (baseline "
                     f"{100 * metrics['ood_baseline_accuracy']:.2f}%)")
        return text

    def summary(self) -> dict[str, Any]:
        data = self.config.data
        return {"corpus": _basename(data.corpus), "ood_test": _basename(data.ood_test),
                "vectors": _basename(data.vectors)}


# train_and_evaluate(config, workdir, allow_changes): config.seeds replicates, or one run
train_and_evaluate = over_seeds(TaggingTask)
