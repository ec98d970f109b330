"""Argument checks shared by rnnjax's public entry points.

Every check raises at the call site, before any tracing, with a message of the form
``<function>: <argument> must be <expected>, got <actual>`` so that a user never sees an error
from deep inside ``jax.lax.scan``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import jax.numpy as jnp
import numpy as np


def fail(where: str, name: str, expected: str, actual: Any, exc: type[Exception] = ValueError):
    """Raise ``exc`` naming the function, the argument, the expectation and the actual value."""
    raise exc(f"{where}: {name} must be {expected}, got {actual}")


def one_line(err: BaseException) -> str:
    """The last non-empty line of ``err``'s message (some errors embed a whole traceback, whose
    last line starts with the exception's class name, which is dropped)."""
    message = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    return re.sub(r"^[\w.]+(Error|Exception): ", "", lines[-1])


def check_positive_int(where: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        fail(where, name, "a positive int", repr(value))
    return int(value)


def check_nonnegative_int(where: str, name: str, value: Any) -> int:
    """An int >= 0 (e.g. a budget or a count where 0 means none or all)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        fail(where, name, "an int >= 0", repr(value))
    return int(value)


def check_rate(where: str, name: str, value: Any) -> float:
    """A probability in [0, 1) (dropout, zoneout, DropConnect rates)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value < 1.0:
        fail(where, name, "a float in [0, 1)", repr(value))
    return float(value)


def check_nonnegative_float(where: str, name: str, value: Any) -> float:
    """A finite number >= 0 (NaN and infinity are refused: ``nan < 0`` is False)."""
    if (isinstance(value, bool) or not isinstance(value, int | float | np.floating)
            or not np.isfinite(value) or value < 0):
        fail(where, name, "a finite float >= 0", repr(value))
    return float(value)


def check_choice(where: str, name: str, value: Any, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if value not in choices:
        fail(where, name, f"one of {choices}", repr(value))
    return value


def check_choices(where: str, name: str, values: Any, choices: Iterable[str]) -> tuple[str, ...]:
    """A non-empty list of distinct names, each one of ``choices``."""
    choices = tuple(choices)
    if isinstance(values, str) or not isinstance(values, list | tuple) or not values:
        fail(where, name, f"a non-empty list of names from {choices}", repr(values))
    for value in values:
        check_choice(where, name, value, choices)
    if len(set(values)) != len(values):
        fail(where, name, "a list without repeats", repr(values))
    return tuple(values)


def check_float_array(where: str, name: str, x: Any, ndim: int, last_dim: int | None = None):
    """A floating array of rank ``ndim`` whose last axis (if given) has size ``last_dim``."""
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        fail(where, name, f"an array of rank {ndim}", type(x).__name__, TypeError)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        fail(where, name, "a floating-point array", f"dtype {x.dtype}", TypeError)
    if x.ndim != ndim:
        fail(where, name, f"of rank {ndim}", f"shape {tuple(x.shape)}")
    if last_dim is not None and x.shape[-1] != last_dim:
        fail(where, name, f"of last dimension {last_dim}", f"shape {tuple(x.shape)}")
    return x


def check_seq_lengths(where: str, seq_lengths: Any, batch: int, time: int):
    """Integer lengths of shape [batch]; values in [1, time] are checked when concrete."""
    if seq_lengths is None:
        return None
    if not hasattr(seq_lengths, "dtype") or not jnp.issubdtype(seq_lengths.dtype, jnp.integer):
        actual = getattr(seq_lengths, "dtype", type(seq_lengths).__name__)
        fail(where, "seq_lengths", "an integer array", actual, TypeError)
    if tuple(seq_lengths.shape) != (batch,):
        fail(where, "seq_lengths", f"of shape ({batch},)", f"shape {tuple(seq_lengths.shape)}")
    try:
        values = np.asarray(seq_lengths)
    except Exception:  # a tracer: the range check happens where values are concrete
        return seq_lengths
    if values.size and (values.min() < 1 or values.max() > time):
        fail(where, "seq_lengths", f"in [1, {time}]", f"values in [{values.min()}, {values.max()}]")
    return seq_lengths


def check_tree_shapes(where: str, name: str, tree: Any, reference: Any):
    """``tree`` must have the structure and leaf shapes of ``reference``."""
    import jax

    got = jax.tree.map(lambda a: tuple(jnp.shape(a)), tree)
    want = jax.tree.map(lambda a: tuple(jnp.shape(a)), reference)
    if jax.tree.structure(tree) != jax.tree.structure(reference) or got != want:
        fail(where, name, f"a carry shaped {want}", got)
    return tree


def check_carry(where: str, name: str, carry: Any, reference: Any):
    """A recurrent carry: the structure and leaf shapes of ``reference``, floating-point leaves."""
    import jax

    check_tree_shapes(where, name, carry, reference)
    for leaf in jax.tree.leaves(carry):
        if not hasattr(leaf, "dtype") or not jnp.issubdtype(leaf.dtype, jnp.floating):
            fail(where, name, "a carry of floating-point arrays",
                 f"dtype {getattr(leaf, 'dtype', type(leaf).__name__)}", TypeError)
    return carry
