"""Optimisers and the per-epoch learning-rate decay of Zaremba et al. 2014.

    lr(epoch) = learning_rate * lr_decay ** max(0, epoch + 1 - lr_decay_after)   (epoch from 0)

i.e. constant for ``lr_decay_after`` epochs, then multiplied by ``lr_decay`` at the start of every
later epoch (small config: 1.0 for 4 epochs, then halved). The optimiser takes the rate as an
injected hyperparameter so that the training loop sets it per epoch, also mid-epoch on resume.
Update: with ``gradient_noise`` = eta > 0, first add Gaussian noise of variance eta / (1 + t)^0.55
to the gradient at step t (Neelakantan et al. 2015, "Adding Gradient Noise Improves Learning for
Very Deep Networks"; the Neural Programmer's training), then clip the gradient's global norm
(``clip_norm`` > 0), add ``weight_decay * params``
(L2, coupled: for Adam this is not AdamW), then the optimiser's own rule; with ``max_norm`` > 0,
finally rescale every column k of the 2-D parameters named by ``max_norm_params`` so that
||W[:, k]||_2 <= max_norm after the step (Hinton et al. 2012; Kim 2014's constraint on the softmax
weights, s = 3).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from rnnjax.validation import check_choice, fail

# name -> (learning rate, optim config) -> the optimiser's own update rule.
OPTIMIZERS = {
    "sgd": lambda lr, c: optax.sgd(lr, momentum=c.get("momentum") or None),
    "adam": lambda lr, c: optax.adam(lr),  # b1 0.9, b2 0.999, eps 1e-8
    "rmsprop": lambda lr, c: optax.rmsprop(lr, decay=0.95),  # char-rnn's decay
    "adadelta": lambda lr, c: optax.adadelta(lr, rho=0.95, eps=1e-6),  # Zeiler 2012 / Kim 2014
}
_WHERE = "make_optimizer"


def _check_number(name: str, value: Any, low: float, *, strict: bool, upper: float | None = None):
    ok = (not isinstance(value, bool) and isinstance(value, int | float)
          and (value > low if strict else value >= low) and (upper is None or value <= upper))
    if not ok:
        bound = f"> {low}" if strict else f">= {low}"
        fail(_WHERE, f"optim.{name}", f"a number {bound}" + (f" and <= {upper}" if upper else ""),
             repr(value))
    return float(value)


def check_optim_config(c: Mapping[str, Any]) -> None:
    """Raise on an unknown optimiser or an out-of-range hyperparameter."""
    check_choice(_WHERE, "optim.name", c.get("name"), OPTIMIZERS)
    _check_number("learning_rate", c.get("learning_rate"), 0.0, strict=True)
    _check_number("lr_decay", c.get("lr_decay", 1.0), 0.0, strict=True, upper=1.0)
    after = c.get("lr_decay_after", 0)
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        fail(_WHERE, "optim.lr_decay_after", "an int >= 0", repr(after))
    _check_number("clip_norm", c.get("clip_norm", 0.0), 0.0, strict=False)
    _check_number("weight_decay", c.get("weight_decay", 0.0), 0.0, strict=False)
    _check_number("momentum", c.get("momentum", 0.0), 0.0, strict=False, upper=1.0)
    _check_number("max_norm", c.get("max_norm", 0.0), 0.0, strict=False)
    _check_number("gradient_noise", c.get("gradient_noise", 0.0), 0.0, strict=False)
    names = c.get("max_norm_params", ())
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        fail(_WHERE, "optim.max_norm_params", "a list of parameter path patterns such as "
             "'out.kernel'", repr(names))


def learning_rate(c: Mapping[str, Any], epoch: int) -> float:
    """The rate of (0-based) ``epoch``: constant for ``lr_decay_after`` epochs, then decayed."""
    decay, after = c.get("lr_decay", 1.0), c.get("lr_decay_after", 0)
    return float(c["learning_rate"] * decay ** max(0, epoch + 1 - after))


def _path_name(path: tuple[Any, ...]) -> str:
    """'out.kernel' for the key path of a parameter (dict keys, attributes, indices)."""
    parts = []
    for key in path:
        part = getattr(key, "key", getattr(key, "name", getattr(key, "idx", key)))
        parts.append(str(part))
    return ".".join(p for p in parts if p != "value")


def max_norm_columns(limit: float, patterns: tuple[str, ...]) -> optax.GradientTransformation:
    """After the update, W[:, k] *= min(1, limit / ||W[:, k]||) for every 2-D parameter whose
    path matches one of ``patterns`` (fnmatch, e.g. "out.kernel"); a projection, so it reads the
    parameters and replaces the update u by proj(W + u) - W."""

    def update(updates, state, params):
        if params is None:
            raise ValueError("max_norm_columns: params must be passed to update, got None")

        def project(path, u, w):
            if w.ndim != 2 or not any(fnmatch.fnmatchcase(_path_name(path), p)
                                      for p in patterns):
                return u
            new = w + u
            norms = jnp.sqrt(jnp.sum(jnp.square(new), axis=0, keepdims=True))
            return new * jnp.minimum(1.0, limit / jnp.maximum(norms, 1e-7)) - w

        return jax.tree_util.tree_map_with_path(project, updates, params), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


class NoiseState(NamedTuple):
    step: jax.Array  # int32 t, the updates done
    key: jax.Array  # raw uint32 key (optimiser states hold plain arrays: checkpoints, puts)


def gradient_noise(eta: float, seed: int) -> optax.GradientTransformation:
    """g_t + N(0, eta / (1 + t)^0.55) for every gradient entry at step t = 0, 1, ...
    (Neelakantan et al. 2015; ``optax.add_noise`` keeps a typed key in its state)."""

    def init(params):
        del params
        return NoiseState(jnp.zeros([], jnp.int32), jax.random.PRNGKey(seed))

    def update(updates, state, params=None):
        del params
        key, sample = jax.random.split(state.key)
        leaves, treedef = jax.tree.flatten(updates)
        std = jnp.sqrt(eta / (1.0 + state.step) ** 0.55)
        noisy = [u + (std * jax.random.normal(k, u.shape)).astype(u.dtype)
                 for u, k in zip(leaves, jax.random.split(sample, len(leaves)), strict=True)]
        return jax.tree.unflatten(treedef, noisy), NoiseState(state.step + 1, key)

    return optax.GradientTransformation(init, update)


def make_optimizer(c: Mapping[str, Any], seed: int = 0) -> optax.GradientTransformation:
    """gradient noise -> clip -> weight decay -> ``c["name"]`` -> max-norm projection, with the
    learning rate an injected hyperparameter; ``seed`` seeds the gradient noise."""
    check_optim_config(c)
    clip, weight_decay = c.get("clip_norm", 0.0), c.get("weight_decay", 0.0)
    limit, patterns = c.get("max_norm", 0.0), tuple(c.get("max_norm_params", ()))
    noise = c.get("gradient_noise", 0.0)

    # the noise stage exists only when on, so that the optimiser state of every other config keeps
    # its structure and earlier checkpoints resume
    noise_stage = (gradient_noise(noise, seed),) if noise else ()

    def chain(learning_rate: float) -> optax.GradientTransformation:
        return optax.chain(
            *noise_stage,
            optax.clip_by_global_norm(clip) if clip else optax.identity(),
            optax.add_decayed_weights(weight_decay) if weight_decay else optax.identity(),
            OPTIMIZERS[c["name"]](learning_rate, c),
            max_norm_columns(limit, patterns) if limit else optax.identity(),
        )

    return optax.inject_hyperparams(chain)(learning_rate=learning_rate(c, 0))
