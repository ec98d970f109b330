"""DialogueRNN (Majumder, Poria, Hazarika, Mihalcea, Gelbukh & Cambria, AAAI 2019, "DialogueRNN:
An Attentive RNN for Emotion Detection in Conversations", section 3) and two baselines.

A conversation is a sequence of utterance features u_t [D_m], each spoken by one party
s(u_t) in [0, P). DialogueRNN keeps a global state g_t, one party state q_{p,t} per party and an
emotion state e_t, each updated by its own recurrent cell (GRUs in the paper; here any
``rnnjax.cells`` kind, run through ``rnnjax.layers.RNN``). Per utterance t (section 3.2):

    global state (eq. 1):    g_t = GRU_G(g_{t-1}, u_t ⊕ q_{s(u_t),t-1})
    attention (eq. 2-3):     α_t = softmax(u_t^T W_α [g_1, ..., g_{t-1}]),
                             c_t = α_t [g_1, ..., g_{t-1}]^T          (c_1 = 0: no history)
    speaker update (eq. 4):  q_{s(u_t),t} = GRU_P(q_{s(u_t),t-1}, u_t ⊕ c_t)
    listener update (eq. 5): q_{i,t} = q_{i,t-1} for every i != s(u_t) (the paper's simple
                             form, the default); ``listener_update=True`` gives the listeners a
                             GRU_L: q_{i,t} = GRU_L(q_{i,t-1}, u_t ⊕ c_t) (the paper feeds
                             the listener's visual features v_{i,t}, absent from text-only
                             data: here the utterance the listener heard)
    emotion (eq. 6):         e_t = GRU_E(e_{t-1}, q_{s(u_t),t})
    classifier (eq. 7-9):    l_t = ReLU(W_l e_t + b_l),  P_t = softmax(W_smax l_t + b_smax)

With a cell whose carry is more than its output (an LSTM's (h, c)), the states that other
equations read (q in eq. 1 and 6, g in eq. 2-3) are the cells' outputs and the whole carry is
what persists. Utterances past a conversation's length change no state, attend to nothing and
get zero emotion states; positions j >= t are masked out of the attention of step t.

Baselines (``UtteranceClassifier``): the same classifier head (eq. 7-9) on u_t alone
(``context="none"``), or on the outputs of one recurrent layer over the conversation that reads
u_t and the one-hot speaker id (``context="rnn"``, no party states).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax.attention import Attention
from rnnjax.cells import make_cell
from rnnjax.layers import RNN
from rnnjax.recurrence import time_mask
from rnnjax.regularizers import dropout
from rnnjax.validation import check_choice, check_positive_int, check_rate, fail

Array = jax.Array
CONTEXTS = ("none", "rnn")


class DialogueStates(NamedTuple):
    global_states: Array  # [B, T, D_g]: g_t (zeros past the length)
    party_states: Array  # [B, T, P, D_p]: q_{p,t}, every party after utterance t
    speaker_states: Array  # [B, T, D_p]: q_{s(u_t),t} (zeros past the length)
    attention: Array  # [B, T, T]: α_t over g_1..g_{t-1} (row t zero at t = 0 and past the length)


class DialogueOutput(NamedTuple):
    logits: Array  # [B, T, C]: unnormalised log P_t
    attention: Array  # [B, T, T]: α_t over the earlier global states (zeros for the baselines)


def check_dialogue_inputs(where: str, utterances: Array, speakers: Array, lengths: Array,
                          utterance_size: int) -> None:
    """Shapes and dtypes of a batch (values are not read: they may be traced)."""
    if utterances.ndim != 3 or utterances.shape[-1] != utterance_size:
        fail(where, "utterances", f"a float array [B, T, {utterance_size}]",
             f"shape {utterances.shape}")
    if not jnp.issubdtype(utterances.dtype, jnp.floating):
        fail(where, "utterances", "floating point", utterances.dtype)
    for name, array, shape in (("speakers", speakers, utterances.shape[:2]),
                               ("lengths", lengths, utterances.shape[:1])):
        if tuple(array.shape) != tuple(shape) or not jnp.issubdtype(array.dtype, jnp.integer):
            fail(where, name, f"an int array of shape {tuple(shape)}",
                 f"shape {array.shape}, dtype {array.dtype}")


class EmotionHead(nnx.Module):
    """Eq. 7-9: l_t = ReLU(W_l e_t + b_l), logits_t = W_smax l_t + b_smax, with inverted
    dropout on e_t and l_t when a key is given."""

    def __init__(self, input_size: int, hidden_size: int, num_classes: int, dropout_rate: float,
                 *, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(input_size, hidden_size, rngs=rngs)
        self.out = nnx.Linear(hidden_size, num_classes, rngs=rngs)
        self.dropout_rate = dropout_rate

    def __call__(self, emotions: Array, key: Array | None) -> Array:
        keys = (None, None) if key is None else jax.random.split(key)
        hidden = jax.nn.relu(self.hidden(dropout(emotions, self.dropout_rate, keys[0])))
        return self.out(dropout(hidden, self.dropout_rate, keys[1]))


def _check_sizes(where: str, **sizes: int) -> None:
    for name, value in sizes.items():
        check_positive_int(where, name, value)


def _rows(tree: Any) -> Any:
    """[B, P, ...] leaves -> [B * P, ...]."""
    return jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), tree)


def _parties(tree: Any, parties: int) -> Any:
    """[B * P, ...] leaves -> [B, P, ...]."""
    return jax.tree.map(lambda x: x.reshape(-1, parties, *x.shape[1:]), tree)


def _select(tree: Any, who: Array) -> Any:
    """The speaker's entry of [B, P, ...] leaves: sum_p who[b, p] x[b, p] (who one-hot)."""
    return jax.tree.map(lambda x: jnp.einsum("bp,bp...->b...", who.astype(x.dtype), x), tree)


def _where(condition: Array, new: Any, old: Any) -> Any:
    """Leaf by leaf, ``new`` where ``condition`` (broadcast over trailing axes), else ``old``."""
    return jax.tree.map(lambda n, o: jnp.where(
        condition.reshape(*condition.shape, *(1,) * (n.ndim - condition.ndim)), n, o), new, old)


class DialogueRNN(nnx.Module):
    """The model of the module docstring, for ``num_parties`` parties."""

    def __init__(self, utterance_size: int, num_classes: int, *, rngs: nnx.Rngs,
                 num_parties: int = 2, cell: str = "gru", global_size: int = 64,
                 party_size: int = 64, emotion_size: int = 64, classifier_size: int = 64,
                 listener_update: bool = False, dropout: float = 0.0, impl: str = "auto",
                 cell_kwargs: dict[str, Any] | None = None):
        where = "DialogueRNN"
        _check_sizes(where, utterance_size=utterance_size, num_classes=num_classes,
                     num_parties=num_parties, global_size=global_size, party_size=party_size,
                     emotion_size=emotion_size, classifier_size=classifier_size)
        dropout = check_rate(where, "dropout", dropout)
        self.utterance_size, self.num_parties = utterance_size, num_parties
        self.listener_update = bool(listener_update)
        kwargs = dict(cell_kwargs or {})

        def layer(input_size: int, hidden_size: int) -> RNN:
            return RNN(make_cell(cell, input_size, hidden_size, rngs=rngs, **kwargs), impl=impl)

        # g_t reads u_t ⊕ q (eq. 1) and q reads u_t ⊕ c_t, c_t as wide as g_t (eq. 4): the
        # width of q, a cell's output, does not depend on its input size
        party_out = nnx.eval_shape(lambda: make_cell(cell, 1, party_size, rngs=nnx.Rngs(0),
                                                     **kwargs)).output_size
        self.global_rnn = layer(utterance_size + party_out, global_size)
        global_out = self.global_rnn.output_size
        self.party_rnn = layer(utterance_size + global_out, party_size)
        self.listener_rnn = (layer(utterance_size + global_out, party_size)
                             if self.listener_update else None)
        self.emotion_rnn = layer(self.party_rnn.output_size, emotion_size)
        self.attention = Attention("general", utterance_size, global_out, rngs=rngs)
        self.head = EmotionHead(self.emotion_rnn.output_size, classifier_size, num_classes,
                                dropout, rngs=rngs)

    def __call__(self, utterances: Array, speakers: Array, lengths: Array, *,
                 dropout_key: Array | None = None) -> DialogueOutput:
        """utterances [B, T, D_m] float, speakers [B, T] int in [0, P), lengths [B] int in
        [1, T] -> logits [B, T, C] and the attention weights [B, T, T]."""
        states = self.states(utterances, speakers, lengths)
        emotions, _ = self.emotion_rnn(states.speaker_states, seq_lengths=lengths)  # eq. 6
        return DialogueOutput(self.head(emotions, dropout_key), states.attention)

    def states(self, utterances: Array, speakers: Array, lengths: Array) -> DialogueStates:
        """Eq. 1-5 over the conversations (same arguments as ``__call__``)."""
        check_dialogue_inputs("DialogueRNN", utterances, speakers, lengths, self.utterance_size)
        batch, time, _ = utterances.shape
        live = time_mask(jnp.clip(lengths, 0, time), batch, time)  # [T, B]
        # padding selected away before any arithmetic: no NaN there reaches a gradient
        utterances = jnp.where(live.T[..., None], utterances, jnp.zeros((), utterances.dtype))
        who = jax.nn.one_hot(speakers.T, self.num_parties) * live[..., None]  # [T, B, P]
        history = jnp.zeros((batch, time, self.global_rnn.output_size), utterances.dtype)
        start = (self.global_rnn.initial_carry(batch),
                 _parties(self.party_rnn.initial_carry(batch * self.num_parties),
                          self.num_parties), history)
        inputs = (jnp.arange(time), jnp.swapaxes(utterances, 0, 1), who, live)
        (_, _, history), steps = jax.lax.scan(self._step, start, inputs)
        return DialogueStates(history, *(jnp.swapaxes(x, 0, 1) for x in steps))

    def _party_outputs(self, carries: Any) -> Array:
        """The party states q [B, P, D_p] (the party cell's outputs) of carries [B, P, ...]."""
        return _parties(self.party_rnn.cell.output(_rows(carries)), self.num_parties)

    def _step(self, state: tuple[Any, Any, Array], inputs: tuple[Array, ...]
              ) -> tuple[tuple[Any, Any, Array], tuple[Array, Array, Array]]:
        """One utterance, eq. 1-5: emits every party's state, the speaker's (eq. 6's input;
        zeros past the length) and α_t."""
        global_carry, party_carries, history = state
        t, u_t, who, live = inputs
        parties = self.num_parties
        g_t, new_global = self.global_rnn.step(
            jnp.concatenate([u_t, _select(self._party_outputs(party_carries), who)], -1),
            global_carry)
        # eq. 2-3 over g_1..g_{t-1}; at t = 0 position 0 (zeros) is attended and c_t zeroed
        earlier = jnp.arange(history.shape[1])[None, :] < jnp.maximum(t, 1)
        context, alpha = self.attention(u_t, history,
                                        jnp.broadcast_to(earlier, history.shape[:2]))
        context, alpha = context * (t > 0), alpha * (t > 0) * live[:, None]
        heard = jnp.concatenate([u_t, context], -1)
        speaker_state, speaker_carry = self.party_rnn.step(heard, _select(party_carries, who))
        if self.listener_rnn is None:
            others = party_carries
        else:
            _, listened = self.listener_rnn.step(jnp.repeat(heard, parties, axis=0),
                                                 _rows(party_carries))
            others = _where(live[:, None], _parties(listened, parties), party_carries)
        speaker_carry = jax.tree.map(lambda x: jnp.broadcast_to(
            x[:, None], (x.shape[0], parties, *x.shape[1:])), speaker_carry)
        new_parties = _where(who > 0, speaker_carry, others)
        new_global = _where(live, new_global, global_carry)
        history = history.at[:, t].set(jnp.where(live[:, None], g_t, 0.0))
        emitted = jnp.where(live[:, None], speaker_state, 0.0)
        return ((new_global, new_parties, history),
                (self._party_outputs(new_parties), emitted, alpha))


class UtteranceClassifier(nnx.Module):
    """The baselines of the module docstring: eq. 7-9 on u_t (``context="none"``) or on a
    recurrent layer over [u_t ; one-hot s(u_t)] (``context="rnn"``)."""

    def __init__(self, utterance_size: int, num_classes: int, *, rngs: nnx.Rngs,
                 num_parties: int = 2, context: str = "rnn", cell: str = "gru",
                 hidden_size: int = 64, classifier_size: int = 64, dropout: float = 0.0,
                 impl: str = "auto", cell_kwargs: dict[str, Any] | None = None):
        where = "UtteranceClassifier"
        _check_sizes(where, utterance_size=utterance_size, num_classes=num_classes,
                     num_parties=num_parties, hidden_size=hidden_size,
                     classifier_size=classifier_size)
        self.context = check_choice(where, "context", context, CONTEXTS)
        dropout = check_rate(where, "dropout", dropout)
        self.utterance_size, self.num_parties = utterance_size, num_parties
        features = utterance_size
        if context == "rnn":
            self.rnn = RNN(make_cell(cell, utterance_size + num_parties, hidden_size, rngs=rngs,
                                     **dict(cell_kwargs or {})), impl=impl)
            features = self.rnn.output_size
        self.head = EmotionHead(features, classifier_size, num_classes, dropout, rngs=rngs)

    def __call__(self, utterances: Array, speakers: Array, lengths: Array, *,
                 dropout_key: Array | None = None) -> DialogueOutput:
        check_dialogue_inputs("UtteranceClassifier", utterances, speakers, lengths,
                              self.utterance_size)
        features = utterances
        if self.context == "rnn":
            onehot = jax.nn.one_hot(speakers, self.num_parties, dtype=utterances.dtype)
            features, _ = self.rnn(jnp.concatenate([utterances, onehot], -1),
                                   seq_lengths=lengths)
        batch, time = speakers.shape
        return DialogueOutput(self.head(features, dropout_key),
                              jnp.zeros((batch, time, time), utterances.dtype))
