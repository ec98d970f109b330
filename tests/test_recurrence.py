"""rnnjax.recurrence: the hand-written backward (one layer, parallel lanes, wavefront stack)
against float64 finite differences, and the wavefront against running its layers one by one."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from rnnjax_testing import assert_close, check_scalar_loss_gradients

from rnnjax.cells.elman import MATHS
from rnnjax.cells.gru import GRU_MATH
from rnnjax.lstm_xla import LSTM_MATH
from rnnjax.recurrence import lanes_recurrence, math_step

CELL_MATHS = {"lstm": LSTM_MATH, "gru": GRU_MATH, "elman_tanh": MATHS["tanh"],
              "elman_relu": MATHS["relu"]}
BATCH, TIME, HIDDEN = 2, 4, 3
LENGTHS = jnp.array([4, 2])


def problem(kind, lanes, stacked=False, heads=1, seed=0, dtype=jnp.float64):
    """Random arguments of lanes_recurrence for ``lanes`` lanes of cell ``kind`` (drawn by
    numpy: no program to compile per shape)."""
    math = CELL_MATHS[kind]
    gates = math.num_gates
    normal = np.random.default_rng(seed).normal
    d = HIDDEN // heads
    x_lanes = 1 if stacked else lanes
    args = {
        "x_proj": normal(size=(TIME, x_lanes, BATCH, gates * HIDDEN)),
        "w_h": normal(size=(lanes, heads, d, gates * d)) * 0.5,
        "carry0": tuple(normal(size=(lanes, BATCH, HIDDEN)) * 0.5
                        for _ in range(2 if kind == "lstm" else 1)),
        "b_h": normal(size=(lanes, gates * HIDDEN)) if kind == "gru" else None,
    }
    if stacked:
        args["w_in"] = normal(size=(lanes - 1, HIDDEN, gates * HIDDEN)) * 0.5
        args["b_in"] = normal(size=(lanes - 1, gates * HIDDEN))
    return math, {name: jax.tree.map(lambda a: jnp.asarray(a, dtype), value)
                  for name, value in args.items()}


def reference(math, x_proj, w_h, carry0, *, mask=None, b_h=None, w_in=None, b_in=None,
              in_scale=None):
    """The same computation, lane by lane and step by step (autodiff through math_step)."""
    lanes = w_h.shape[0]
    ys, finals, inputs = [], [], None
    for lane in range(lanes):
        if w_in is not None and lane > 0:
            below = inputs if in_scale is None else inputs * in_scale[:, lane - 1]
            x_lane = below @ w_in[lane - 1] + b_in[lane - 1]
        else:
            x_lane = x_proj[:, lane]
        carry = tuple(c[lane] for c in carry0)
        outs = []
        for t in range(x_lane.shape[0]):
            new = math_step(math, w_h[lane], None if b_h is None else b_h[lane], carry, x_lane[t])
            if mask is not None:
                new = tuple(jnp.where(mask[t][:, None], n, o)
                            for n, o in zip(new, carry, strict=True))
            carry = new
            outs.append(new[0] if mask is None else jnp.where(mask[t][:, None], new[0], 0.0))
        inputs = jnp.stack(outs)
        ys.append(inputs)
        finals.append(carry)
    ys = ys[-1:] if w_in is not None else ys
    return jnp.stack(ys, 1), tuple(jnp.stack(leaf) for leaf in zip(*finals, strict=True))


def loss(fn, math, fixed):
    def value(args):
        ys, final = fn(math, **args, **fixed)
        return jnp.sum(jnp.sin(ys)) + sum(jnp.sum(jnp.cos(c)) for c in final)

    return value


CASES = [  # kind, lanes, stacked, heads, lengths, in_scale over time (T) or shared (1)
    ("lstm", 1, False, 1, False, None),
    ("gru", 1, False, 1, True, None),
    ("elman_tanh", 1, False, 1, True, None),
    ("elman_relu", 1, False, 1, False, None),
    ("lstm", 2, False, 3, True, None),
    ("lstm", 3, True, 1, True, TIME),
    ("gru", 2, True, 1, False, 1),
    ("gru", 2, False, 1, True, None),  # parallel lanes: both directions of a Bidirectional
    ("elman_tanh", 2, True, 1, True, TIME),  # an Elman wavefront with dropout between layers
]


@pytest.mark.parametrize(("kind", "lanes", "stacked", "heads", "lengths", "scale"), CASES)
def test_backward_float64_check_grads_and_equals_reference(kind, lanes, stacked, heads,
                                                            lengths, scale):
    with jax.enable_x64(True):
        math, args = problem(kind, lanes, stacked, heads)
        fixed = {"mask": (jnp.arange(TIME)[:, None] < LENGTHS[None, :]) if lengths else None}
        if scale is not None:
            keep = np.random.default_rng(9).random((scale, lanes - 1, BATCH, HIDDEN)) < 0.7
            fixed["in_scale"] = jnp.where(keep, 1 / 0.7, 0.0)
        ours_loss, reference_loss = (loss(lanes_recurrence, math, fixed),
                                     loss(reference, math, fixed))

        @jax.jit  # one compilation for both outputs and both gradients
        def outputs_and_gradients(args):
            return ((lanes_recurrence(math, **args, **fixed), jax.grad(ours_loss)(args)),
                    (reference(math, **args, **fixed), jax.grad(reference_loss)(args)))

        (ours, ours_grad), (expected, expected_grad) = outputs_and_gradients(args)
        assert_close(ours, expected, rtol=1e-10, atol=1e-12)
        check_scalar_loss_gradients(ours_loss, (args,), eps=1e-6, atol=1e-6, rtol=1e-6)
        assert_close(ours_grad, expected_grad, rtol=1e-9, atol=1e-11)


def test_masked_steps_output_zero_and_freeze_the_carry():
    math, args = problem("gru", 2, dtype=jnp.float32)
    mask = jnp.arange(TIME)[:, None] < LENGTHS[None, :]
    ys, (h,) = lanes_recurrence(math, **args, mask=mask)
    np.testing.assert_array_equal(ys[2:, :, 1], 0.0)
    assert_close(h[:, 1], ys[1, :, 1])


def test_stacked_weights_must_be_dense():
    math, args = problem("lstm", 2, stacked=True, dtype=jnp.float32)
    args["w_h"] = jnp.zeros((2, 3, 1, 4))
    with pytest.raises(ValueError, match=r"w_h must be dense \(K = 1\) for a stacked wavefront"):
        lanes_recurrence(math, **args)
