"""DialogueRNN (Majumder et al. 2019): eq. 1-5 against a hand loop over the utterances, the
attention's masking, padding invariance for several cell kinds, one-line errors, and learning
on synthetic conversations where only a model with party states labels the neutral
utterances."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from rnnjax_testing import small_cell_kwargs

from rnnjax.data.dialogue import NEUTRAL, synthetic_dialogues
from rnnjax.models import DialogueRNN, UtteranceClassifier, make_model

RNG = np.random.default_rng(0)
UTTERANCES = jnp.asarray(RNG.normal(size=(2, 6, 3)), jnp.float32)
SPEAKERS = jnp.array([[0, 2, 2, 1, 0, 2], [1, 0, 1, 1, 0, 0]], jnp.int32)
LENGTHS = jnp.array([6, 4], jnp.int32)


def tiny(cell: str = "gru", listener_update: bool = False, parties: int = 3) -> DialogueRNN:
    return DialogueRNN(3, 4, rngs=nnx.Rngs(1), num_parties=parties, cell=cell, global_size=5,
                       party_size=4, emotion_size=3, classifier_size=6,
                       listener_update=listener_update, cell_kwargs=small_cell_kwargs(cell, 4))


def hand_loop(model: DialogueRNN, b: int) -> dict[str, np.ndarray]:
    """Eq. 1-5 for conversation b, one utterance at a time, with numpy attention: the global
    states, every party's state after each utterance and the attention weights."""
    u = np.asarray(UTTERANCES[b, :int(LENGTHS[b])])
    speakers = np.asarray(SPEAKERS[b])
    w_alpha = np.asarray(model.attention.w_memory.kernel[...])  # g_j W -> [D_m]
    party_cell, global_cell = model.party_rnn.cell, model.global_rnn.cell
    carries = [party_cell.initial_carry(1) for _ in range(model.num_parties)]
    global_carry, history, out = global_cell.initial_carry(1), [], {"q": [], "g": [], "a": []}
    for t, u_t in enumerate(u):
        s = speakers[t]
        q_s = party_cell.output(carries[s])
        global_carry, g_t = global_cell(global_carry, jnp.asarray(np.concatenate(
            [u_t, np.asarray(q_s)[0]]))[None])
        alpha = np.zeros(len(UTTERANCES[b]))
        context = np.zeros(model.global_rnn.output_size, np.float32)
        if t:
            gs = np.stack(history)  # g_1 .. g_{t-1}
            scores = gs @ w_alpha @ u_t  # u_t^T W_alpha g_j
            alpha[:t] = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
            context = alpha[:t] @ gs
        heard = jnp.asarray(np.concatenate([u_t, context]), jnp.float32)[None]
        new = [carries[i] if i != s and not model.listener_update
               else (model.listener_rnn.cell if i != s else party_cell)(carries[i], heard)[0]
               for i in range(model.num_parties)]
        carries = new
        history.append(np.asarray(g_t)[0])
        out["g"].append(history[-1])
        out["q"].append(np.stack([np.asarray(party_cell.output(c))[0] for c in carries]))
        out["a"].append(alpha)
    return {k: np.stack(v) for k, v in out.items()}


@nnx.jit
def states_of(model: DialogueRNN):
    """The model's states on the test batch, compiled as one program."""
    return model.states(UTTERANCES, SPEAKERS, LENGTHS)


@pytest.fixture(scope="module")
def gru_states():
    """A GRU DialogueRNN without the listener update and its states on the test batch."""
    model = tiny()
    return model, states_of(model)


@pytest.mark.parametrize(("cell", "listener"), [("gru", False), ("gru", True), ("lstm", False)])
def test_states_follow_eq_1_to_5_utterance_by_utterance(cell, listener, gru_states):
    model, states = gru_states
    if (cell, listener) != ("gru", False):
        model = tiny(cell, listener)
        states = states_of(model)
    for b, n in enumerate(LENGTHS.tolist()):
        expected = hand_loop(model, b)
        np.testing.assert_allclose(states.global_states[b, :n], expected["g"], atol=1e-5)
        np.testing.assert_allclose(states.party_states[b, :n], expected["q"], atol=1e-5)
        np.testing.assert_allclose(states.attention[b, :n], expected["a"], atol=1e-6)
        speaker_states = expected["q"][np.arange(n), np.asarray(SPEAKERS[b, :n])]
        np.testing.assert_allclose(states.speaker_states[b, :n], speaker_states, atol=1e-5)
        # past the length: no state changes, nothing attended, no speaker state
        np.testing.assert_array_equal(states.party_states[b, n:],
                                      np.broadcast_to(states.party_states[b, n - 1],
                                                      states.party_states[b, n:].shape))
        assert not np.asarray(states.global_states[b, n:]).any()
        assert not np.asarray(states.attention[b, n:]).any()
        assert not np.asarray(states.speaker_states[b, n:]).any()


def test_only_the_speaker_changes_its_state_without_the_listener_update(gru_states):
    states = np.asarray(gru_states[1].party_states)
    for b, n in enumerate(LENGTHS.tolist()):
        previous = np.zeros_like(states[b, 0])
        for t in range(n):
            changed = np.abs(states[b, t] - previous).max(-1) > 0
            np.testing.assert_array_equal(changed, np.arange(3) == int(SPEAKERS[b, t]))
            previous = states[b, t]


def test_attention_covers_exactly_the_earlier_utterances(gru_states):
    alpha = np.asarray(gru_states[1].attention)
    for b, n in enumerate(LENGTHS.tolist()):
        assert not alpha[b, 0].any()
        for t in range(1, n):
            np.testing.assert_allclose(alpha[b, t, :t].sum(), 1.0, rtol=1e-6)
            assert (alpha[b, t, :t] > 0).all() and not alpha[b, t, t:].any()


def test_padding_never_changes_a_conversation_and_nan_padding_keeps_gradients():
    """An LSTM, whose (c, h) carry the padding must leave unchanged in every party (every cell
    kind runs in the experiment's config; the GRU's padding is checked by the equation test)."""
    model = tiny("lstm")
    garbage = UTTERANCES.at[1, 4:].set(jnp.nan)

    def scored(m):
        logits = m(garbage, SPEAKERS, LENGTHS).logits
        return logits[1, :4].sum(), logits

    (_, logits), grads = nnx.jit(nnx.value_and_grad(scored, has_aux=True))(model)
    alone = nnx.jit(lambda m: m(UTTERANCES[1:, :4], SPEAKERS[1:, :4], LENGTHS[1:]).logits)(model)
    np.testing.assert_allclose(logits[1, :4], alone[0], rtol=1e-5, atol=1e-6)
    assert np.isfinite(np.asarray(logits)).all()
    assert all(np.isfinite(np.asarray(leaf)).all() for leaf in jax.tree.leaves(grads))


def test_baselines_read_one_utterance_or_the_conversation():
    logits_of = nnx.jit(lambda model, *conversations: model(*conversations).logits)
    free = UtteranceClassifier(3, 4, rngs=nnx.Rngs(0), context="none", classifier_size=6)
    logits = logits_of(free, UTTERANCES, SPEAKERS, LENGTHS)
    np.testing.assert_allclose(logits[0, 2], logits_of(free, UTTERANCES[:1, 2:3],
                                                       SPEAKERS[:1, :1], jnp.array([1]))[0, 0],
                               rtol=1e-6)
    gru = make_model({"kind": "utterance_classifier", "context": "rnn", "hidden_size": 5},
                     rngs=nnx.Rngs(0), utterance_size=3, num_classes=4, num_parties=3)
    other_speaker = SPEAKERS.at[0, 1].set(0)
    changed = (logits_of(gru, UTTERANCES, other_speaker, LENGTHS)
               - logits_of(gru, UTTERANCES, SPEAKERS, LENGTHS))
    assert not np.asarray(changed[0, 0]).any() and np.abs(np.asarray(changed[0, 1:])).min() > 0


@pytest.mark.parametrize(("call", "message"), [
    (lambda: tiny()(UTTERANCES, SPEAKERS[:, :5], LENGTHS),
     r"^DialogueRNN: speakers must be an int array of shape \(2, 6\)"),
    (lambda: tiny()(UTTERANCES[..., :2], SPEAKERS, LENGTHS),
     r"^DialogueRNN: utterances must be a float array \[B, T, 3\]"),
    (lambda: DialogueRNN(3, 4, rngs=nnx.Rngs(0), num_parties=0),
     "^DialogueRNN: num_parties must be a positive int, got 0"),
    (lambda: DialogueRNN(3, 4, rngs=nnx.Rngs(0), cell="gruu"), "^make_cell: kind must be one of"),
    (lambda: DialogueRNN(3, 4, rngs=nnx.Rngs(0), dropout=1.5),
     r"^DialogueRNN: dropout must be a float in \[0, 1\)"),
    (lambda: UtteranceClassifier(3, 4, rngs=nnx.Rngs(0), context="bag"),
     "^UtteranceClassifier: context must be one of"),
])
def test_bad_inputs_fail_in_one_line(call, message):
    with pytest.raises(ValueError, match=message) as err:
        call()
    assert "\n" not in str(err.value)


def train_neutral_accuracy(model: nnx.Module, steps: int) -> float:
    """The accuracy on the neutral test utterances after ``steps`` Adam steps on 256 synthetic
    two-party conversations with three moods and no empathy."""
    kwargs = {"num_moods": 3, "min_turns": 4, "max_turns": 8, "empathy": 0.0, "noise": 0.3,
              "feature_size": 8}
    train = synthetic_dialogues(np.random.default_rng(0), 256, **kwargs)
    test = synthetic_dialogues(np.random.default_rng(1), 200, **kwargs)
    graphdef, params = nnx.split(model)
    tx = optax.adam(3e-3)
    opt_state = tx.init(params)

    def loss(params, u, s, lengths, labels):
        logits = nnx.merge(graphdef, params)(u, s, lengths).logits
        mask = jnp.arange(u.shape[1])[None] < lengths[:, None]
        nll = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
        return jnp.sum(nll * mask) / mask.sum()

    @jax.jit
    def step(params, opt_state, *batch):
        grads = jax.grad(loss)(params, *batch)
        updates, opt_state = tx.update(grads, opt_state)
        return optax.apply_updates(params, updates), opt_state

    for i in range(steps):
        rows = np.random.default_rng(i).choice(len(train.lengths), 32, replace=False)
        params, opt_state = step(params, opt_state, *(jnp.asarray(a[rows]) for a in (
            train.utterances, train.speakers, train.lengths, train.labels)))
    logits = jax.jit(lambda params: nnx.merge(graphdef, params)(
        test.utterances, test.speakers, test.lengths).logits)(params)
    inside = np.arange(test.labels.shape[1])[None] < test.lengths[:, None]
    neutral = inside & (test.kinds == NEUTRAL)
    return float((np.asarray(logits.argmax(-1)) == test.labels)[neutral].mean())


def test_dialogue_rnn_learns_the_neutral_utterances_that_need_party_states():
    """A neutral utterance carries no cue: its label is its speaker's last revealed mood, so
    it is learnable only through the speakers' states; a classifier of single utterances
    stays near chance (1/3) on them with the same training."""
    model = DialogueRNN(8, 3, rngs=nnx.Rngs(0), global_size=16, party_size=16,
                        emotion_size=16, classifier_size=16)
    assert train_neutral_accuracy(model, 60) > 0.85
    alone = UtteranceClassifier(8, 3, rngs=nnx.Rngs(0), context="none", classifier_size=16)
    assert train_neutral_accuracy(alone, 60) < 0.5
