"""The linear-chain CRF against brute-force enumeration of every tag path."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.test_util import check_grads

from rnnjax.crf import (
    CRF,
    FORBIDDEN,
    allowed_transitions,
    crf_log_partition,
    crf_path_score,
    viterbi_decode,
)

NUM_TAGS, TIME = 3, 4
LENGTHS = np.array([4, 1, 3])


def _params(seed: int, dtype=np.float32):
    rng = np.random.default_rng(seed)
    emissions = rng.normal(size=(len(LENGTHS), TIME, NUM_TAGS)).astype(dtype)
    transitions = rng.normal(size=(NUM_TAGS, NUM_TAGS)).astype(dtype)
    start, end = rng.normal(size=(2, NUM_TAGS)).astype(dtype)
    return emissions, transitions, start, end


def _brute_force(emission, length, transitions, start, end):
    """{path: score} of every tag path of one sentence, by the definition of score(y)."""
    scores = {}
    for path in itertools.product(range(len(start)), repeat=int(length)):
        score = start[path[0]] + end[path[-1]] + sum(emission[t, y] for t, y in enumerate(path))
        score += sum(transitions[a, b] for a, b in itertools.pairwise(path))
        scores[path] = score
    return scores


@jax.jit
def _crf_outputs(emissions, tags, lengths, transitions, start, end):
    """(log Z, (Viterbi paths, their scores), score(tags)) of a batch, as one program."""
    args = (transitions, start, end)
    return (crf_log_partition(emissions, lengths, *args), viterbi_decode(emissions, lengths, *args),
            crf_path_score(emissions, tags, lengths, *args))


def test_log_partition_score_and_viterbi_equal_brute_force():
    emissions, transitions, start, end = _params(0)
    gold = np.random.default_rng(1).integers(0, NUM_TAGS, size=(len(LENGTHS), TIME))
    log_z, (paths, best_scores), gold_scores = _crf_outputs(emissions, gold, LENGTHS,
                                                            transitions, start, end)
    for b, length in enumerate(LENGTHS):
        scores = _brute_force(emissions[b], length, transitions, start, end)
        values = np.array(list(scores.values()))
        np.testing.assert_allclose(log_z[b], np.log(np.exp(values).sum()), rtol=1e-5)
        best = max(scores, key=scores.get)
        assert tuple(np.asarray(paths[b, :length])) == best
        assert not np.asarray(paths[b, length:]).any()
        np.testing.assert_allclose(best_scores[b], scores[best], rtol=1e-5)
        np.testing.assert_allclose(gold_scores[b], scores[tuple(gold[b, :length])], rtol=1e-5)


def test_padding_changes_nothing():
    emissions, transitions, start, end = _params(2)
    noisy = emissions.copy()
    tags = np.zeros((len(LENGTHS), TIME + 2), np.int64)
    padded = np.concatenate([noisy, 100 * np.ones((len(LENGTHS), 2, NUM_TAGS), np.float32)], 1)
    for b, length in enumerate(LENGTHS):
        padded[b, length:] = 50.0 * (b + 1)
        tags[b, length:] = 2
    args = (transitions, start, end)
    log_z, (paths, _), tag_scores = _crf_outputs(padded, tags, LENGTHS, *args)
    expected_log_z, (expected_paths, _), expected_scores = _crf_outputs(
        emissions, tags[:, :TIME], LENGTHS, *args)
    np.testing.assert_allclose(log_z, expected_log_z, rtol=1e-6)
    np.testing.assert_allclose(tag_scores, expected_scores, rtol=1e-6)
    np.testing.assert_array_equal(paths[:, :TIME], expected_paths)


def test_log_likelihood_gradients_float64():
    with jax.enable_x64(True):
        emissions, transitions, start, end = _params(3, np.float64)
        tags = jnp.asarray(np.random.default_rng(4).integers(0, NUM_TAGS, (len(LENGTHS), TIME)))
        lengths = jnp.asarray(LENGTHS)

        @jax.jit
        def nll(e, a, s, f):
            return (crf_log_partition(e, lengths, a, s, f)
                    - crf_path_score(e, tags, lengths, a, s, f)).sum()

        check_grads(nll, (jnp.asarray(emissions), jnp.asarray(transitions), jnp.asarray(start),
                          jnp.asarray(end)), order=1, modes=["rev"], atol=1e-6, rtol=1e-6)
        # d log Z / d e_t[k] is the marginal p(y_t = k): each row of a valid step sums to 1
        marginals = jax.jit(jax.grad(lambda e: crf_log_partition(
            e, lengths, jnp.asarray(transitions), jnp.asarray(start), jnp.asarray(end)).sum()))(
            jnp.asarray(emissions))
        valid = np.arange(TIME)[None, :] < LENGTHS[:, None]
        np.testing.assert_allclose(np.asarray(marginals.sum(-1)), valid.astype(float),
                                   atol=1e-12)


IOB2_TAGS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")
IOBES_TAGS = ("O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC")


def _valid_iob2(path):
    previous = "O"
    for tag in path:
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            return False
        previous = tag
    return True


def _valid_iobes(path):
    previous = "O"
    for tag in path:
        opens_inside = tag[:1] in "IE"
        if opens_inside != (previous[:1] in "BI") or (opens_inside and previous[2:] != tag[2:]):
            return False
        previous = tag
    return previous[:1] in "OES"


@pytest.mark.parametrize("tags,scheme,valid", [(IOB2_TAGS, "IOB2", _valid_iob2),
                                               (IOBES_TAGS, "IOBES", _valid_iobes)])
def test_constraints_match_the_scheme_and_forbidden_paths_are_never_decoded(tags, scheme, valid):
    allowed, start, end = allowed_transitions(tags, scheme)
    for path in itertools.product(tags, repeat=3):
        ids = [tags.index(t) for t in path]
        steps = itertools.pairwise(ids)
        ok = start[ids[0]] and end[ids[-1]] and all(allowed[a, b] for a, b in steps)
        assert ok == valid(path), path
    crf = CRF(len(tags), tag_names=tags, scheme=scheme)
    # emissions that favour forbidden tags (I- / E- everywhere) still decode to valid paths
    inside = np.array([t[:1] in "IE" for t in tags], np.float32)
    emissions = jnp.asarray(np.random.default_rng(5).normal(size=(16, 5, len(tags)))
                            + 5 * inside, jnp.float32)
    lengths = jnp.asarray(np.random.default_rng(6).integers(1, 6, 16))
    paths, log_likelihood = nnx.jit(lambda crf, emissions, lengths: (
        crf.decode(emissions, lengths),
        crf.log_likelihood(emissions, jnp.zeros((16, 5), jnp.int32), lengths)))(
        crf, emissions, lengths)
    for path, length in zip(np.asarray(paths), np.asarray(lengths), strict=True):
        assert valid([tags[i] for i in path[:length]])
    assert float(crf.scores()[0][tags.index("O"), tags.index("I-PER")]) == FORBIDDEN
    assert np.all(np.isfinite(np.asarray(log_likelihood)))


def test_crf_module_learns_transitions():
    """Emissions carry no information; the tag alternates 0, 1, 0, 1: only transitions (and
    the start score) can learn it, and training must reach near-certain likelihood."""
    import optax

    crf = CRF(2)
    tags = jnp.asarray(np.tile([0, 1], 4)[None].repeat(4, 0))
    emissions, lengths = jnp.zeros((4, 8, 2)), jnp.asarray([8, 5, 3, 1])
    optimizer = nnx.Optimizer(crf, optax.adam(0.3), wrt=nnx.Param)

    @nnx.jit
    def step(crf, optimizer):
        loss, grads = nnx.value_and_grad(
            lambda m: -m.log_likelihood(emissions, tags, lengths).mean())(crf)
        optimizer.update(crf, grads)
        return loss

    for _ in range(60):
        loss = step(crf, optimizer)
    assert float(loss) < 0.05
    decoded = np.asarray(crf.decode(emissions, lengths))
    np.testing.assert_array_equal(decoded[0], np.asarray(tags[0]))
