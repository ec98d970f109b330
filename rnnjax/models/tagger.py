"""A recurrent sequence tagger (part-of-speech tagging; Graves 2012 ch. 2, Plank et al. 2016).

    e_t = dropout(E[w_t])                 embedding (random or pretrained)
    h_t = StackedRNN(e)_t                 uni- or bidirectional (h_t = [h_fwd_t; h_bwd_t]), any cell
    logits_t = dropout(h_t) W + b         one softmax over the tags per token

Trained with the masked token cross-entropy of ``rnnjax.losses.masked_cross_entropy``: padded
positions have zero features (``StackedRNN`` masks by length), no loss and no gradient, so a
padded batch gives every sentence the logits it has alone.

Options (off by default; the default model is unchanged):
  ``char_encoder="bilstm" | "cnn"``: e_t = dropout([E[w_t]; char_features(word t)]) with the
      character BiLSTM of Lample et al. 2016 or the character CNN of Ma & Hovy 2016
      (``rnnjax.models.char_features``); the call then takes ``chars`` [B, T, W] and
      ``char_lengths`` [B, T].
  ``crf=True``: the logits are the emissions of a linear-chain CRF (``rnnjax.crf``; Huang et al.
      2015, Lample et al. 2016): ``tag_loss`` is -log p(tags | logits), ``decode`` is Viterbi;
      ``crf_scheme`` ("IOB1", "IOB2", "IOBES") forbids the transitions that scheme cannot
      produce, given ``tag_names``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from rnnjax import regularizers
from rnnjax.crf import CRF
from rnnjax.losses import sequence_mask
from rnnjax.models.char_features import CHAR_ENCODERS
from rnnjax.models.classifier import EmbeddedRNN
from rnnjax.ops import over_rows
from rnnjax.validation import check_choice, check_positive_int, fail

CHAR_CHOICES = ("none", *CHAR_ENCODERS)

Array = jax.Array


class RNNTagger(EmbeddedRNN):
    """tokens [B, T] and lengths [B] (and chars [B, T, W], char_lengths [B, T] with a
    ``char_encoder``) -> per-token tag logits [B, T, num_tags]."""

    where = "RNNTagger"

    def __init__(self, vocab_size: int, num_tags: int, *, rngs: nnx.Rngs, cell: str = "lstm",
                 embed_size: int = 100, hidden_size: int = 100, num_layers: int = 1,
                 bidirectional: bool = True, dropout: float = 0.0, impl: str = "auto",
                 embeddings: Any = None, freeze_embeddings: bool = False,
                 char_encoder: str = "none", num_chars: int = 0, char_embed_size: int = 25,
                 char_size: int = 25, char_width: int = 3, crf: bool = False,
                 crf_scheme: str = "none", tag_names: Sequence[str] | None = None):
        self.num_tags = check_positive_int(self.where, "num_tags", num_tags)
        check_choice(self.where, "char_encoder", char_encoder, CHAR_CHOICES)
        check_choice(self.where, "crf_scheme", crf_scheme, ("none", "IOB1", "IOB2", "IOBES"))
        if crf_scheme != "none" and not crf:
            fail(self.where, "crf_scheme", "'none' without crf=True", repr(crf_scheme))
        chars = None
        if char_encoder != "none":
            check_positive_int(self.where, "num_chars", num_chars)
            options = ({"hidden_size": char_size, "cell": cell, "impl": impl}
                       if char_encoder == "bilstm" else
                       {"num_filters": char_size, "width": char_width, "dropout": dropout})
            chars = CHAR_ENCODERS[char_encoder](num_chars, rngs=rngs, embed_size=char_embed_size,
                                                **options)
        self.chars = nnx.data(chars)
        super().__init__(vocab_size, num_tags, rngs=rngs, cell=cell, embed_size=embed_size,
                         hidden_size=hidden_size, num_layers=num_layers,
                         bidirectional=bidirectional, dropout=dropout, impl=impl,
                         embeddings=embeddings, freeze_embeddings=freeze_embeddings,
                         feature_size=self.chars.output_size if self.chars else 0)
        self.crf = nnx.data(CRF(num_tags, tag_names=tag_names,
                        scheme=None if crf_scheme == "none" else crf_scheme) if crf else None)

    def __call__(self, tokens: Array, lengths: Array, *, chars: Array | None = None,
                 char_lengths: Array | None = None, dropout_key: Array | None = None
                 ) -> Array:
        features = None
        if self.chars is not None:
            if chars is None or char_lengths is None:
                fail(self.where, "chars", "given (with char_lengths) with a char_encoder", None)
            char_key = None
            if dropout_key is not None:
                dropout_key, char_key = jax.random.split(dropout_key)
            features = self.chars(chars, char_lengths, dropout_key=char_key)
        h, key = self.encode(tokens, lengths, dropout_key, features)
        h = regularizers.dropout(h, self.dropout, key)
        return over_rows(self.out, h).astype(jnp.float32)

    def tag_loss(self, logits: Array, tags: Array, lengths: Array, weight: Array | None = None
                 ) -> tuple[Array, Array]:
        """(summed negative log-likelihood, the number of tokens it sums over): per token
        cross-entropy, or with a CRF the sentences' -log p(tags | logits). A tag < 0 (e.g. one
        unseen in training) is left out: that token without a CRF, its sentence with one."""
        mask = sequence_mask(lengths, logits.shape[1], weight)
        if self.crf is None:
            scored = mask * (tags >= 0)
            nll = optax.softmax_cross_entropy_with_integer_labels(logits, jnp.maximum(tags, 0))
            return (nll * scored).sum(), scored.sum()
        sentence_weight = (jnp.ones(lengths.shape) if weight is None else weight) * jnp.all(
            (tags >= 0) | (mask == 0), axis=1)
        nll = -self.crf.log_likelihood(logits, jnp.maximum(tags, 0), lengths)
        return (nll * sentence_weight).sum(), (mask * sentence_weight[:, None]).sum()

    def decode(self, logits: Array, lengths: Array) -> Array:
        """The predicted tags [B, T]: Viterbi with a CRF, else the per-token argmax."""
        if self.crf is None:
            return logits.argmax(-1).astype(jnp.int32)
        return self.crf.decode(logits, lengths)
