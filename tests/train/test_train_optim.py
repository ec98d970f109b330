"""Optimisers: the per-epoch schedule of Zaremba et al. 2014, clipping, weight decay, errors."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from rnnjax.train.optim import OPTIMIZERS, learning_rate, make_optimizer


def sgd(**fields):
    return {"name": "sgd", "learning_rate": 1.0, **fields}


def test_schedule_is_constant_for_lr_decay_after_epochs_then_decays_every_epoch():
    optim = sgd(lr_decay=0.5, lr_decay_after=4)
    assert [learning_rate(optim, e) for e in range(7)] == [1, 1, 1, 1, 0.5, 0.25, 0.125]


def update(config, grads, params, lr=None):
    tx = make_optimizer(config)
    state = tx.init(params)
    if lr is not None:
        state.hyperparams["learning_rate"] = jnp.asarray(lr)
    return tx.update(grads, state, params)[0]


def test_sgd_step_is_minus_lr_times_gradient_and_lr_is_injected():
    params, grads = {"w": jnp.ones(3)}, {"w": jnp.array([1.0, -2.0, 0.5])}
    np.testing.assert_allclose(update(sgd(learning_rate=0.1), grads, params)["w"],
                               [-0.1, 0.2, -0.05], rtol=1e-6)
    np.testing.assert_allclose(update(sgd(), grads, params, lr=0.5)["w"], [-0.5, 1.0, -0.25])


def test_clipping_bounds_the_global_norm():
    params = {"a": jnp.zeros(2), "b": jnp.zeros(1)}
    grads = {"a": jnp.array([6.0, 0.0]), "b": jnp.array([8.0])}  # global norm 10
    updates = update(sgd(clip_norm=5.0), grads, params)
    assert float(optax.global_norm(updates)) == pytest.approx(5.0)
    assert float(optax.global_norm(update(sgd(clip_norm=20.0), grads, params))) == 10.0


def test_sgd_momentum_accumulates_the_gradient():
    tx = make_optimizer(sgd(learning_rate=0.1, momentum=0.9))
    params, grads = {"w": jnp.zeros(1)}, {"w": jnp.ones(1)}
    state = tx.init(params)
    first, state = tx.update(grads, state, params)
    second, _ = tx.update(grads, state, params)
    np.testing.assert_allclose([first["w"][0], second["w"][0]], [-0.1, -0.19], rtol=1e-6)


def test_weight_decay_adds_l2_gradient():
    params = {"w": jnp.array([2.0, -4.0])}
    updates = update(sgd(weight_decay=0.1), {"w": jnp.zeros(2)}, params)
    np.testing.assert_allclose(updates["w"], [-0.2, 0.4], rtol=1e-6)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_descends_a_quadratic(name):
    params = {"w": jnp.array([1.0, -2.0])}
    config = {"name": name, "learning_rate": 1.0 if name == "adadelta" else 0.1}
    updates = update(config, params, params)  # gradient of |w|^2 / 2 is w
    assert float(jnp.vdot(updates["w"], params["w"])) < 0


@pytest.mark.parametrize(("fields", "message"), [
    ({"name": "lamb"}, "optim.name must be one of"),
    ({"learning_rate": 0.0}, "optim.learning_rate must be a number > 0.0, got 0.0"),
    ({"learning_rate": "1"}, "optim.learning_rate must be a number > 0.0, got '1'"),
    ({"lr_decay": 0.0}, "optim.lr_decay must be a number > 0.0 and <= 1.0, got 0.0"),
    ({"lr_decay_after": -1}, "optim.lr_decay_after must be an int >= 0, got -1"),
    ({"clip_norm": -5.0}, "optim.clip_norm must be a number >= 0.0, got -5.0"),
    ({"weight_decay": -1e-4}, "optim.weight_decay must be a number >= 0.0"),
    ({"momentum": 1.5}, "optim.momentum must be a number >= 0.0 and <= 1.0, got 1.5"),
    ({"gradient_noise": -1.0}, "optim.gradient_noise must be a number >= 0.0, got -1.0"),
])
def test_bad_optimizer_fields(fields, message):
    with pytest.raises(ValueError, match=f"make_optimizer: {message}"):
        make_optimizer(sgd(**fields))


def test_max_norm_projects_the_named_columns_after_the_step():
    params = {"out": {"kernel": jnp.asarray([[3.0, 0.1], [4.0, 0.1]]), "bias": jnp.ones(2)},
              "conv": {"kernel": jnp.full((2, 2), 10.0)}}
    zero = {"out": {"kernel": jnp.zeros((2, 2)), "bias": jnp.zeros(2)},
            "conv": {"kernel": jnp.zeros((2, 2))}}
    step = update(sgd(max_norm=3.0, max_norm_params=["out.kernel"]), zero, params)
    new = optax.apply_updates(params, step)
    # column 0 has norm 5 -> scaled to 3; column 1 is within the limit; others untouched
    np.testing.assert_allclose(new["out"]["kernel"], [[1.8, 0.1], [2.4, 0.1]], rtol=1e-6)
    np.testing.assert_array_equal(new["conv"]["kernel"], params["conv"]["kernel"])
    np.testing.assert_array_equal(new["out"]["bias"], params["out"]["bias"])
    with pytest.raises(ValueError, match=r"optim.max_norm_params must be a list of parameter "
                       r"path patterns"):
        make_optimizer(sgd(max_norm=3.0, max_norm_params="out.kernel"))


def test_gradient_noise_has_variance_eta_over_one_plus_t_to_the_055():
    """Neelakantan et al. 2015: N(0, eta / (1 + t)^0.55) added to the gradient at step t; the
    seed picks the noise."""
    params = {"w": jnp.zeros(40_000)}

    def steps(seed: int) -> list[jnp.ndarray]:
        tx = make_optimizer(sgd(gradient_noise=4.0), seed=seed)
        state, out = tx.init(params), []
        for _ in range(3):
            step, state = tx.update({"w": jnp.zeros(40_000)}, state, params)
            out.append(step["w"])
        return out

    first = steps(3)
    np.testing.assert_allclose([float(jnp.std(s)) for s in first],
                               [np.sqrt(4.0 / (1 + t) ** 0.55) for t in range(3)], rtol=0.02)
    assert not np.allclose(first[0], steps(4)[0])


def test_state_without_gradient_noise_keeps_the_structure_earlier_checkpoints_have():
    """clip -> weight decay -> optimiser -> max-norm, each stage present even when off (identity):
    the optimiser state saved before gradient noise existed must still restore."""
    import jax

    params = {"w": jnp.ones((2, 3))}
    c = {"name": "adam", "learning_rate": 1e-3}
    earlier = optax.inject_hyperparams(lambda learning_rate: optax.chain(
        optax.identity(), optax.identity(), optax.adam(learning_rate), optax.identity()))(
        learning_rate=1e-3)
    assert (jax.tree.structure(make_optimizer(c).init(params))
            == jax.tree.structure(earlier.init(params)))
    noisy = make_optimizer({**c, "gradient_noise": 0.01}).init(params)
    assert jax.tree.structure(noisy) != jax.tree.structure(earlier.init(params))
