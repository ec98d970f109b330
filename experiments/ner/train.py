"""The NER task: an ``RNNTagger`` (optionally with character features and a CRF) trained on
entity tags, scored by entity-level F1.

Tags are read in their file's scheme and rewritten in ``data.scheme`` (IOBES by default, as in
Lample et al. 2016; ``rnnjax.data.ner``). Words seen fewer than ``data.min_count`` times in the
training split map to ``<unk>``; with ``data.vectors`` a word's row starts at the vector of its
lowercase form (GloVe is lowercased) and ``data.vectors_vocab = N`` adds the vectors' first N words
to the vocabulary. Evaluation decodes every sentence (Viterbi with a CRF, else the per-token
argmax), rewrites gold and predicted tags in IOB2 and scores them with ``seqeval``
(``rnnjax.entities.entity_scores``: exact span and type, micro-averaged, the CoNLL measure).
A gold tag never seen in training cannot be predicted: its entities count as missed, its tokens
as errors, and its sentences are left out of the CRF loss; their number is logged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging
from flax import nnx

from experiments.launch import over_seeds
from rnnjax.data import Labels, Vocab, embedding_matrix, load_vectors
from rnnjax.data.chars import SplitChars, char_vocab
from rnnjax.data.ner import ner_splits
from rnnjax.data.padded import PaddedBatches
from rnnjax.data.tagged import TaggedSentence
from rnnjax.entities import convert_tags, entity_scores
from rnnjax.models import make_model
from rnnjax.train import sharding
from rnnjax.train.run import Task
from rnnjax.train.task_data import check_batch_sizes, fingerprint, load_stored, save_missing
from rnnjax.train.workdir import write_atomic
from rnnjax.validation import check_choice, check_positive_int, fail

VOCAB_FILE, CHARS_FILE, TAGS_FILE = "vocab.json", "chars.json", "tags.json"
PREDICTIONS_FILE = "test_predictions.conll"
TRAINING_SCHEMES = ("IOB2", "IOBES")
_WHERE = "ner"
_FIELDS = ("words", "words_lengths", "tags", "weight")


def check_ner_config(config: ml_collections.ConfigDict) -> None:
    """The data and model fields this task reads, before any data is loaded."""
    data, model = config.data, config.model
    for name in ("min_count", "max_word_length"):
        check_positive_int(_WHERE, f"config.data.{name}", data[name])
    check_choice(_WHERE, "config.data.scheme", data.scheme, TRAINING_SCHEMES)
    if model.crf and model.crf_scheme not in ("none", data.scheme):
        fail(_WHERE, "config.model.crf_scheme", f"'none' or config.data.scheme "
             f"({data.scheme!r})", repr(model.crf_scheme))
    if data.vectors_vocab and not data.vectors:
        fail(_WHERE, "config.data.vectors_vocab", "0 without data.vectors",
             repr(data.vectors_vocab))
    if not data.path and (data.valid or data.test):
        fail(_WHERE, "config.data.valid/test", "unset without config.data.path (the corpus "
             "has its own splits)", repr((data.valid, data.test)))


def word_ids(index: Mapping[str, int], words: Sequence[str]) -> np.ndarray:
    """Ids of ``words`` in ``index`` ({token: id} of a ``Vocab``); a missing word takes its
    lowercase form's id if any, else ``<unk>``'s."""
    return np.asarray([index.get(w, index.get(w.lower(), Vocab.unk_id)) for w in words],
                      np.int32)


def build_tagger(config: ml_collections.ConfigDict, vocab: Vocab, chars: Vocab, tags: Labels,
                 rngs: nnx.Rngs, embeddings: Any = None) -> nnx.Module:
    """The ``RNNTagger`` of ``config.model`` for these vocabularies (training and predict)."""
    return make_model(config.model, vocab_size=len(vocab), num_tags=len(tags),
                      num_chars=len(chars), tag_names=tags.names, rngs=rngs,
                      embeddings=embeddings)


class NERTask(Task):
    """``config.data`` names the corpus or CoNLL file, ``config.model`` an ``RNNTagger``."""

    experiment = "ner"
    unit = "tokens"
    selection = ("valid_f1", "max")

    def load(self, workdir: Path) -> None:
        data = self.config.data
        check_batch_sizes(_WHERE, data, self.mesh)
        check_ner_config(self.config)
        self.splits, self.repaired = ner_splits(
            data.path or data.corpus, valid=data.valid, test=data.test, data_dir=data.data_dir,
            word_column=data.word_column, tag_column=data.tag_column, scheme=data.scheme,
            source_scheme=data.source_scheme or None)
        train = self.splits["train"]
        self.vectors = (load_vectors(data.vectors, data_dir=data.data_dir) if data.vectors
                        else None)
        if self.vectors is not None and self.config.model.embed_size != self.vectors.dim:
            fail(_WHERE, "config.model.embed_size", f"the vectors' width {self.vectors.dim}",
                 self.config.model.embed_size)
        stored = load_stored(workdir, {VOCAB_FILE: Vocab.load, CHARS_FILE: Vocab.load,
                                       TAGS_FILE: Labels.load})
        if stored is None:
            counts = Counter(word for words, _ in train for word in words)
            vocab = Vocab.from_counts(counts, "word", min_count=data.min_count)
            if data.vectors_vocab:  # the pretrained words after the training words
                known = set(vocab.tokens)
                extra = [w for w in self.vectors.words[:data.vectors_vocab] if w not in known]
                vocab = Vocab((*vocab.tokens, *extra), "word")
            stored = (vocab, char_vocab(words for words, _ in train),
                      Labels(sorted({tag for _, tags in train for tag in tags})))
        self.vocab, self.chars, self.tags = stored
        for split in ("valid", "test"):
            unseen = Counter(tag for _, tags in self.splits[split] for tag in tags
                             if tag not in self.tags.index)
            if unseen:
                logging.warning("%s: %d tokens carry tags never seen in training (%s); the "
                                "model cannot predict them, they count as errors", split,
                                sum(unseen.values()), ", ".join(sorted(unseen)))
        self.examples = {split: self._encode(sentences) for split, sentences in self.splits.items()}
        self.split_chars = SplitChars(
            self.splits, self.chars if self.config.model.char_encoder != "none" else None,
            max_word_length=data.max_word_length)
        self.train_batches = PaddedBatches(self.examples["train"], data.batch_size,
                                           shuffle=True, seed=self.config.seed)
        logging.info("%s", ", ".join(f"{split} {len(s)} sentences"
                                     for split, s in self.splits.items()))

    def _encode(self, sentences: Sequence[TaggedSentence]) -> dict[str, list[np.ndarray]]:
        """Word ids and tag ids (-1: a tag unseen in training), one array per sentence."""
        index, words_index = self.tags.index, {t: i for i, t in enumerate(self.vocab.tokens)}
        return {"words": [word_ids(words_index, words) for words, _ in sentences],
                "tags": [np.asarray([index.get(t, -1) for t in tags], np.int32)
                         for _, tags in sentences]}

    def fingerprint(self) -> str:
        return fingerprint(*(ids.tobytes() + b"|" for split in sorted(self.examples)
                             for field in ("words", "tags") for ids in self.examples[split][field]),
                           "\n".join((*self.vocab.tokens, *self.chars.tokens, *self.tags.names)))

    def save(self, workdir: Path) -> None:
        save_missing(workdir, {VOCAB_FILE: self.vocab.to_json(), CHARS_FILE: self.chars.to_json(),
                               TAGS_FILE: self.tags.to_json()})

    def build_model(self, rngs: nnx.Rngs) -> nnx.Module:
        embeddings = None
        if self.vectors is not None:
            if not hasattr(self, "_embeddings"):  # GloVe is lowercased
                self._embeddings, found = embedding_matrix(
                    [t.lower() for t in self.vocab.tokens], self.vectors, self.config.seed)
                logging.info("pretrained vectors for %d of %d words", found, len(self.vocab))
            embeddings = self._embeddings
        return build_tagger(self.config, self.vocab, self.chars, self.tags, rngs, embeddings)

    def batch(self, epoch: int, index: int) -> dict[str, np.ndarray]:
        return self.split_chars.batch(self.train_batches.batch(epoch, index), "train", _FIELDS)

    def loss(self, model, state, batch, key):
        logits = model(batch["words"], batch["words_lengths"], chars=batch.get("chars"),
                       char_lengths=batch.get("char_lengths"), dropout_key=key)
        nll, count = model.tag_loss(logits, batch["tags"], batch["words_lengths"],
                                    batch["weight"])
        mean = nll / jnp.maximum(count, 1.0)
        return mean, (mean, state)

    def count(self, batch: Mapping[str, np.ndarray]) -> int:
        return int((batch["words_lengths"] * batch["weight"]).sum())

    def prepare_evaluation(self, graphdef: Any) -> None:
        def step(params, batch):
            model = nnx.merge(graphdef, params)
            lengths = batch["words_lengths"]
            logits = model(batch["words"], lengths, chars=batch.get("chars"),
                           char_lengths=batch.get("char_lengths"))
            nll, count = model.tag_loss(logits, batch["tags"], lengths, batch["weight"])
            return nll, count, model.decode(logits, lengths)

        self._eval_step = jax.jit(step)
        self._eval_batches = {split: PaddedBatches(self.examples[split],
                                                   self.config.data.eval_batch_size,
                                                   shuffle=False) for split in ("valid", "test")}
        self.predictions: dict[str, list[list[str]]] = {}

    def predict(self, model: nnx.Module, split: str) -> tuple[list[list[str]], float, float]:
        """(the predicted tags of every sentence of ``split``, summed loss, its count)."""
        params = nnx.state(model)
        predicted: list[Any] = [None] * len(self.splits[split])
        nll = count = 0.0
        for batch in self._eval_batches[split].iter_epoch():
            inputs = sharding.shard_batch(self.split_chars.batch(batch, split, _FIELDS),
                                          self.mesh)
            batch_nll, batch_count, paths = self._eval_step(params, inputs)
            nll, count = nll + float(batch_nll), count + float(batch_count)
            paths = np.asarray(paths)
            for row, example in enumerate(batch["index"].tolist()):
                if example >= 0:
                    predicted[example] = [self.tags.names[i]
                                          for i in paths[row, :batch["words_lengths"][row]]]
        return predicted, nll, count

    def evaluate(self, model: nnx.Module, split: str) -> dict[str, float]:
        """Entity-level F1 / precision / recall (micro and per type), token accuracy, loss."""
        predicted, nll, count = self.predict(model, split)
        self.predictions[split] = predicted
        scheme = self.config.data.scheme
        gold = [tags for _, tags in self.splits[split]]
        gold_iob2, _ = convert_tags(gold, "IOB2", scheme)
        predicted_iob2, invalid = convert_tags(predicted, "IOB2", scheme)
        flat_gold = [t for tags in gold for t in tags]
        flat_predicted = [t for tags in predicted for t in tags]
        correct = sum(g == p for g, p in zip(flat_gold, flat_predicted, strict=True))
        return {"loss": nll / max(count, 1.0), **entity_scores(gold_iob2, predicted_iob2),
                "accuracy": correct / len(flat_gold),
                "invalid_predicted_tags": float(invalid)}

    def write_outputs(self, model: nnx.Module, split: str, workdir: Path) -> None:
        """``test_predictions.conll``: word, gold tag, predicted tag (conlleval's input)."""
        lines = []
        for (words, gold), predicted in zip(self.splits[split], self.predictions[split],
                                            strict=True):
            lines += [f"{w} {g} {p}" for w, g, p in zip(words, gold, predicted, strict=True)]
            lines.append("")
        write_atomic(workdir / PREDICTIONS_FILE, "\n".join(lines))

    def describe(self, split: str, metrics: Mapping[str, float]) -> str:
        per_type = " ".join(f"{k[3:]} {100 * v:.1f}" for k, v in sorted(metrics.items())
                            if k.startswith("f1_"))
        return (f"{split} loss {metrics['loss']:.4f} | entity F1 {100 * metrics['f1']:.2f}% "
                f"(precision {100 * metrics['precision']:.2f}, recall "
                f"{100 * metrics['recall']:.2f}; {per_type}) | token accuracy "
                f"{100 * metrics['accuracy']:.2f}%")

    def summary(self) -> dict[str, Any]:
        data = self.config.data
        return {"corpus": Path(data.path).name if data.path else data.corpus,
                "vectors": Path(data.vectors).name if data.vectors else None,
                "scheme": data.scheme}


# train_and_evaluate(config, workdir, allow_changes): config.seeds replicates, or one run
train_and_evaluate = over_seeds(NERTask)
