"""Encoder-decoder with attention (Luong, Pham & Manning 2015; the grid of Britz et al. 2017).

    encoder:   m = StackedRNN_enc(dropout(E_src[x]))            masked by the source lengths
               bidirectional "all" layers, only the "first" (GNMT) or "none"
    bridge:    decoder carry_0 = tanh(W_b [final encoder carry of the top layer])   ("dense")
               or zeros ("zero")
    decoder:   h_t = StackedRNN_dec([dropout(E_tgt[y_{t-1}]); h~_{t-1} if input feeding])
    attention: c_t = sum_s a_ts m_s,  a_t = softmax_s score(h_t, m_s)   (rnnjax.attention)
               h~_t = tanh(W_c [c_t; h_t])         (h~_t = h_t without attention)
    output:    p(y_t | y_<t, x) = softmax(W_o dropout(h~_t) + b_o)

Encoder and decoder stacks take residual or dense ("ResD") skips and dropout between layers
(``rnnjax.layers.StackedRNN``). Without input feeding the decoder runs over the whole target in
one ``StackedRNN`` call and attends for all steps at once; input feeding (Luong et al. 2015,
section 3.3) makes step t depend on h~_{t-1}, so teacher forcing then loops ``step`` over time.
``step`` is also what greedy and beam search (``rnnjax.models.decoding``) run.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from rnnjax import regularizers
from rnnjax.attention import ATTENTIONS, Attention, memory_mask
from rnnjax.cells import CELLS
from rnnjax.layers import SKIPS, StackedRNN
from rnnjax.models.lm import check_tokens
from rnnjax.ops import over_rows
from rnnjax.validation import check_choice, check_positive_int, check_rate, fail

Array = jax.Array
BIDIRECTIONAL = ("all", "first", "none")
BRIDGES = ("dense", "zero")


class Memory(NamedTuple):
    """What the decoder reads from the encoder; batch-major, so beams tile it on axis 0."""

    states: Array  # [B, S, M] encoder outputs (zero past each length)
    keys: Array  # [B, S, K] the attention's query-independent side (or states)
    mask: Array  # [B, S] bool, True at the valid source positions
    carry: list[Any]  # the decoder's initial carry (the bridge's output), one per layer


class Seq2Seq(nnx.Module):
    """The encoder-decoder above; ``impl`` goes to both stacks unchanged (the config picks it)."""

    def __init__(self, source_vocab_size: int, target_vocab_size: int, *, rngs: nnx.Rngs,
                 cell: str = "gru", decoder_cell: str | None = None, embed_size: int = 128,
                 hidden_size: int = 128, encoder_layers: int = 2, decoder_layers: int = 2,
                 bidirectional: str = "all", encoder_skip: str = "none",
                 decoder_skip: str = "none", attention: str = "general",
                 attention_size: int | None = None, input_feeding: bool = False,
                 bridge: str = "dense", dropout: float = 0.0, impl: str = "auto"):
        where = "Seq2Seq"
        self.source_vocab_size = check_positive_int(where, "source_vocab_size", source_vocab_size)
        self.target_vocab_size = check_positive_int(where, "target_vocab_size", target_vocab_size)
        check_choice(where, "cell", cell, CELLS)
        decoder_cell = check_choice(where, "decoder_cell", decoder_cell or cell, CELLS)
        embed_size = check_positive_int(where, "embed_size", embed_size)
        hidden = check_positive_int(where, "hidden_size", hidden_size)
        encoder_layers = check_positive_int(where, "encoder_layers", encoder_layers)
        check_positive_int(where, "decoder_layers", decoder_layers)
        self.bidirectional = check_choice(where, "bidirectional", bidirectional, BIDIRECTIONAL)
        check_choice(where, "encoder_skip", encoder_skip, SKIPS)
        check_choice(where, "decoder_skip", decoder_skip, SKIPS)
        self.attention_kind = check_choice(where, "attention", attention, ATTENTIONS)
        self.bridge_kind = check_choice(where, "bridge", bridge, BRIDGES)
        self.dropout = check_rate(where, "dropout", dropout)
        self.input_feeding = bool(input_feeding)
        if self.input_feeding and attention == "none":
            fail(where, "input_feeding", "False without attention (it feeds the attentional "
                 "state back)", True)

        self.source_embed = nnx.Embed(source_vocab_size, embed_size, rngs=rngs)
        self.target_embed = nnx.Embed(target_vocab_size, embed_size, rngs=rngs)
        stack = {"rngs": rngs, "dropout": self.dropout, "impl": impl}
        bottom_layers = 1 if bidirectional == "first" else encoder_layers
        self.encoder = StackedRNN(cell, embed_size, hidden, bottom_layers,
                                  bidirectional=bidirectional != "none",
                                  skip=encoder_skip, **stack)
        memory_size = self.encoder.output_size
        self.encoder_top = nnx.data(None)
        if bidirectional == "first" and encoder_layers > 1:
            self.encoder_top = StackedRNN(cell, memory_size, hidden, encoder_layers - 1,
                                          skip=encoder_skip, **stack)
            memory_size = hidden
        self.decoder = StackedRNN(decoder_cell, embed_size + hidden * self.input_feeding, hidden,
                                  decoder_layers, skip=decoder_skip, **stack)
        if bridge == "dense":
            top = (self.encoder_top or self.encoder).layers[-1]
            source_size = sum(leaf.shape[-1] for leaf in jax.tree.leaves(top.initial_carry(1)))
            target_size = sum(leaf.shape[-1]
                              for leaf in jax.tree.leaves(self.decoder.initial_carry(1)))
            self.bridge = nnx.Linear(source_size, target_size, rngs=rngs)
        if attention != "none":
            self.attention = Attention(attention, hidden, memory_size, rngs=rngs,
                                       attention_size=attention_size)
            self.combine = nnx.Linear(memory_size + hidden, hidden, use_bias=False, rngs=rngs)
        self.out = nnx.Linear(hidden, target_vocab_size, rngs=rngs)
        self.hidden_size = hidden

    # ---- encoder --------------------------------------------------------------------------
    def encode(self, source: Array, source_lengths: Array, *,
               dropout_key: Array | None = None) -> Memory:
        """source [B, S] int, source_lengths [B] -> the decoder's ``Memory``."""
        check_tokens("Seq2Seq.encode", source)
        keys = [None] * 4 if dropout_key is None else list(jax.random.split(dropout_key, 4))
        x = regularizers.dropout(self.source_embed(source), self.dropout, keys[0])
        states, carries = self.encoder(x, seq_lengths=source_lengths, dropout_key=keys[1])
        if self.encoder_top is not None:
            states = regularizers.dropout(states, self.dropout, keys[2])
            states, carries = self.encoder_top(states, seq_lengths=source_lengths,
                                               dropout_key=keys[3])
        mask = memory_mask(source_lengths, source.shape[1])
        return Memory(states, self.attention.keys(states) if self.attention_kind != "none"
                      else states, mask, self._bridge(carries[-1], source.shape[0]))

    def _bridge(self, encoder_carry: Any, batch: int) -> list[Any]:
        """The decoder's initial carry: zeros, or tanh(W_b [encoder top layer's final carry])."""
        zeros = self.decoder.initial_carry(batch)
        if self.bridge_kind == "zero":
            return zeros
        projected = jnp.tanh(self.bridge(jnp.concatenate(jax.tree.leaves(encoder_carry), -1)))
        leaves, treedef = jax.tree.flatten(zeros)
        cuts = np.cumsum([leaf.shape[-1] for leaf in leaves])[:-1]
        return jax.tree.unflatten(treedef, jnp.split(projected, cuts.tolist(), -1))

    # ---- decoder --------------------------------------------------------------------------
    def _attend(self, h: Array, memory: Memory) -> tuple[Array, Array | None]:
        """h [B, (T,) H] -> (h~ = tanh(W_c [c; h]), attention weights), one or all steps."""
        if self.attention_kind == "none":
            return h, None
        context, weights = self.attention(h, memory.states, memory.mask, memory.keys)
        return jnp.tanh(over_rows(self.combine, jnp.concatenate([context, h], -1))), weights

    def _logits(self, h_att: Array, key: Array | None) -> Array:
        h_att = regularizers.dropout(h_att, self.dropout, key)
        return over_rows(self.out, h_att).astype(jnp.float32)

    def initial_state(self, memory: Memory) -> dict[str, Any]:
        """Decoder state before the first target token: the bridged carry (and h~_0 = 0)."""
        state = {"carry": memory.carry}
        if self.input_feeding:
            state["feed"] = jnp.zeros((memory.states.shape[0], self.hidden_size),
                                      memory.states.dtype)
        return state

    def step(self, memory: Memory, state: dict[str, Any], token: Array, *,
             dropout_key: Array | None = None) -> tuple[Array, dict[str, Any], Array | None]:
        """One decoder step: previous token [B] -> (logits [B, V], state, weights [B, S])."""
        keys = [None] * 3 if dropout_key is None else list(jax.random.split(dropout_key, 3))
        x = regularizers.dropout(self.target_embed(token), self.dropout, keys[0])
        if self.input_feeding:
            x = jnp.concatenate([x, state["feed"]], -1)
        h, carry = self.decoder.step(x, state["carry"], dropout_key=keys[1])
        h_att, weights = self._attend(h, memory)
        state = {"carry": carry, **({"feed": h_att} if self.input_feeding else {})}
        return self._logits(h_att, keys[2]), state, weights

    def __call__(self, source: Array, source_lengths: Array, target_inputs: Array, *,
                 dropout_key: Array | None = None) -> tuple[Array, Array | None]:
        """Teacher forcing: target_inputs [B, T] (y_0 = BOS, y_1, ...) -> (logits [B, T, V]
        float32 for y_1 ..., attention weights [B, T, S] or None)."""
        check_tokens("Seq2Seq", target_inputs)
        keys = [None] * 4 if dropout_key is None else list(jax.random.split(dropout_key, 4))
        memory = self.encode(source, source_lengths, dropout_key=keys[0])
        if self.input_feeding:
            return self._teacher_forced_steps(memory, target_inputs, keys[1])
        x = regularizers.dropout(self.target_embed(target_inputs), self.dropout, keys[1])
        h, _ = self.decoder(x, initial_carry=memory.carry, dropout_key=keys[2])
        h_att, weights = self._attend(h, memory)
        return self._logits(h_att, keys[3]), weights

    def _teacher_forced_steps(self, memory: Memory, target_inputs: Array,
                              key: Array | None) -> tuple[Array, Array]:
        """Input feeding: ``step`` over the target, h~_{t-1} fed into step t."""
        graphdef, params = nnx.split(self)

        def body(state, inputs):
            token, t = inputs
            step_key = None if key is None else jax.random.fold_in(key, t)
            logits, state, weights = nnx.merge(graphdef, params).step(
                memory, state, token, dropout_key=step_key)
            return state, (logits, weights)

        time = target_inputs.shape[1]
        _, (logits, weights) = jax.lax.scan(
            body, self.initial_state(memory), (target_inputs.T, jnp.arange(time)))
        return jnp.swapaxes(logits, 0, 1), jnp.swapaxes(weights, 0, 1)
