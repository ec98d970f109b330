"""RNNForecaster: shapes per decoder and head, masking by lengths, teacher forcing against free
running, the losses against hand-computed values, and learning a sine wave."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from rnnjax.data.series import calendar_features
from rnnjax.models import make_model
from rnnjax.models.forecaster import RNNForecaster, gaussian_nll, pinball_loss

B, C, H = 3, 10, 4


@nnx.jit
def forecast(model: RNNForecaster, context: jax.Array, past: jax.Array, future: jax.Array,
             lengths: jax.Array | None = None, teacher: jax.Array | None = None) -> jax.Array:
    """The model's outputs, compiled as one program (an eager call compiles each op apart)."""
    return model(context, past, future, lengths=lengths, teacher=teacher)


def _inputs(seed: int = 0):
    rng = np.random.default_rng(seed)
    steps = np.arange(C + H)[None, :] + np.arange(B)[:, None]
    calendar = calendar_features(steps, 12)
    return (jnp.asarray(rng.normal(size=(B, C)), jnp.float32), jnp.asarray(calendar[:, :C]),
            jnp.asarray(calendar[:, C:]))


@pytest.mark.parametrize("decoder,head,outputs", [
    ("direct", "point", 1), ("autoregressive", "gaussian", 2), ("direct", "quantile", 3)])
def test_shapes_intervals_and_losses(decoder, head, outputs):
    model = RNNForecaster(H, rngs=nnx.Rngs(0), cell="gru", hidden_size=8, decoder=decoder,
                          head=head)
    context, past, future = _inputs()
    out = forecast(model, context, past, future)
    assert out.shape == (B, H, outputs)
    lower, upper = model.interval(out)
    assert model.point(out).shape == lower.shape == (B, H)
    if head == "point":
        assert np.isnan(np.asarray(lower)).all()
    else:
        assert (np.asarray(lower) <= np.asarray(upper)).all()
    assert np.isfinite(float(model.loss(out, jnp.zeros((B, H)))))


def test_padding_past_lengths_changes_nothing():
    """A context of length L padded to C (garbage after L) forecasts what the same L points
    alone forecast, with the same future calendar."""
    model = RNNForecaster(H, rngs=nnx.Rngs(1), cell="lstm", hidden_size=8,
                          decoder="autoregressive")
    context, past, future = _inputs()
    lengths = jnp.asarray([C, 6, 3])
    garbage = context.at[1, 6:].set(1e6).at[2, 3:].set(jnp.nan)
    out = forecast(model, garbage, past, future, lengths)
    for b, length in enumerate([C, 6, 3]):
        alone = forecast(model, context[b:b + 1, :length], past[b:b + 1, :length],
                         future[b:b + 1])
        np.testing.assert_allclose(out[b], alone[0], rtol=1e-5, atol=1e-5)


def test_teacher_forcing_equals_free_running_on_its_own_predictions():
    model = RNNForecaster(H, rngs=nnx.Rngs(2), cell="lstm", hidden_size=8,
                          decoder="autoregressive", head="gaussian", num_layers=2)
    context, past, future = _inputs()
    free = forecast(model, context, past, future)
    forced = forecast(model, context, past, future, teacher=model.point(free))
    np.testing.assert_allclose(forced, free, rtol=1e-5, atol=1e-5)
    other = forecast(model, context, past, future, teacher=model.point(free) + 1.0)
    np.testing.assert_allclose(other[:, 0], free[:, 0], rtol=1e-6)  # step 0 sees no teacher
    assert not np.allclose(other[:, 1:], free[:, 1:])


def test_pinball_loss_by_hand():
    # y = 10; predictions 8 (q 0.1), 11 (q 0.5), 14 (q 0.9):
    # 0.1 * 2 = 0.2; (0.5 - 1) * (-1) = 0.5; (0.9 - 1) * (-4) = 0.4 -> mean 1.1 / 3
    loss = pinball_loss(jnp.asarray([[8.0, 11.0, 14.0]]), jnp.asarray([10.0]),
                        jnp.asarray([0.1, 0.5, 0.9]))
    assert float(loss) == pytest.approx(1.1 / 3, rel=1e-6)
    # the median quantile's loss is half the absolute error
    half = pinball_loss(jnp.asarray([[3.0]]), jnp.asarray([5.0]), jnp.asarray([0.5]))
    assert float(half) == pytest.approx(1.0)


def test_gaussian_nll_by_hand():
    mean, sigma, y = 1.0, 2.0, 4.0
    expected = math.log(2.0) + 0.5 * (3.0 / 2.0) ** 2 + 0.5 * math.log(2 * math.pi)
    assert float(gaussian_nll(jnp.asarray(mean), jnp.asarray(sigma), jnp.asarray(y))) == \
        pytest.approx(expected, rel=1e-6)


def test_make_model_builds_it_and_rejects_bad_fields():
    model = make_model({"kind": "rnn_forecaster", "cell": "gru", "hidden_size": 4}, horizon=2,
                       rngs=nnx.Rngs(0))
    assert isinstance(model, RNNForecaster)
    with pytest.raises(ValueError, match="decoder must be one of"):
        RNNForecaster(2, rngs=nnx.Rngs(0), decoder="seq")
    with pytest.raises(ValueError, match="level must be a coverage"):
        RNNForecaster(2, rngs=nnx.Rngs(0), level=1.5)


def test_learns_a_sine_wave():
    """Period-12 sine with noise: after 100 Adam steps the direct GRU's test MSE is far below
    the series' variance (0.5) and below seasonal naive's, which is 2 x the noise variance
    (0.0025 at steps 75-300 against the bound 0.01)."""
    rng = np.random.default_rng(0)
    t = np.arange(600)
    noise = 0.05
    y = np.sin(2 * np.pi * t / 12) + noise * rng.normal(size=t.size)
    context, horizon = 24, 6
    starts = np.arange(0, 500 - context - horizon)
    test_starts = np.arange(500 - context, 600 - context - horizon, horizon)

    def batch(s):
        idx = s[:, None] + np.arange(context + horizon)[None]
        cal = calendar_features(t[idx], 12)
        return (jnp.asarray(y[idx[:, :context]], jnp.float32), jnp.asarray(cal[:, :context]),
                jnp.asarray(cal[:, context:]), jnp.asarray(y[idx[:, context:]], jnp.float32))

    model = RNNForecaster(horizon, rngs=nnx.Rngs(0), cell="gru", hidden_size=16, head="point",
                          point_loss="mse")
    tx = optax.adam(1e-2)
    graphdef, params = nnx.split(model)
    opt_state = tx.init(params)

    @jax.jit
    def step(params, opt_state, ctx, past, future, targets):
        def objective(p):
            m = nnx.merge(graphdef, p)
            return m.loss(m(ctx, past, future), targets)
        loss, grads = jax.value_and_grad(objective)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    for i in range(100):
        chosen = np.random.default_rng(i).choice(starts, 32)
        params, opt_state, _ = step(params, opt_state, *batch(chosen))
    ctx, past, future, targets = batch(test_starts)
    trained = nnx.merge(graphdef, params)
    mse = float(jnp.mean(jnp.square(trained.point(forecast(trained, ctx, past, future))
                                    - targets)))
    assert mse < 2 * noise ** 2 + 0.005, mse


def test_window_norm_makes_forecasts_follow_the_level():
    """With window normalisation, adding c to the context adds c to every location output (and
    leaves the Gaussian's sigma); without it, it does not."""
    context, past, future = _inputs()
    for head in ("gaussian", "quantile"):
        model = RNNForecaster(H, rngs=nnx.Rngs(3), cell="gru", hidden_size=8, head=head,
                              decoder="autoregressive")
        base = forecast(model, context, past, future)
        shifted = forecast(model, context + 5.0, past, future)
        np.testing.assert_allclose(model.point(shifted), model.point(base) + 5.0, atol=1e-4)
        np.testing.assert_allclose(model.interval(shifted)[0], model.interval(base)[0] + 5.0,
                                   atol=1e-4)
    plain = RNNForecaster(H, rngs=nnx.Rngs(3), cell="gru", hidden_size=8, window_norm=False)
    moved = (plain.point(forecast(plain, context + 5.0, past, future))
             - plain.point(forecast(plain, context, past, future)))
    assert not np.allclose(moved, 5.0, atol=1e-2)
