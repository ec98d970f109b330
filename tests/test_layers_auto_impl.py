"""impl="auto" on a GPU: for every cell kind, hidden/head size and dtype it picks an implementation
whose input checks pass.

No GPU is needed: the availability probes report a GPU and the kernel launch is replaced by
zeros of its output shapes, so ``RNN.__call__`` runs (abstractly, under ``jax.eval_shape``, on
parameters that are only shapes) up to and through the kernels' own input validation
(``rnnjax_kernels.jax_binding._check_inputs``) on exactly the arrays a real call would pass.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import pytest
from flax import nnx

from rnnjax import layers
from rnnjax.cells import CELLS, LSTMCell, make_cell
from rnnjax.layers import RNN, StackedRNN
from rnnjax_kernels import jax_binding

HIDDEN = (16, 64, 128, 256, 1024)
# (input dtype, parameter dtype)
DTYPES = [(jnp.float32, jnp.float32), (jnp.bfloat16, jnp.float32), (jnp.bfloat16, jnp.bfloat16),
          (jnp.float32, jnp.bfloat16)]
BATCH, TIME, INPUT = 2, 3, 8


@pytest.fixture
def simulated_gpu(monkeypatch) -> list[str]:
    """A GPU backend as far as impl selection and the kernels' checks can tell; returns the list
    of kernel impls launched."""
    launched: list[str] = []

    def launch(gates_x, w_h, h0, c0, lengths, impl):
        launched.append(impl)
        batch, time, four_h = gates_x.shape
        carry = jnp.zeros((batch, four_h // 4), jnp.float32)
        return jnp.zeros((batch, time, four_h // 4), gates_x.dtype), carry, carry

    monkeypatch.setattr(layers, "_triton_available", lambda: True)
    monkeypatch.setattr(layers, "_cpu_kernel_runs", lambda dtype: False)  # the backend is a GPU
    monkeypatch.setattr(jax_binding, "gpu_available", lambda: True)
    monkeypatch.setattr(jax_binding, "_recurrence", launch)
    return launched


def _expected_lstm_impl(head: int, input_dtype, param_dtype) -> str:
    """The rule, written out: the kernels take float32/bfloat16 gates (x W_x + b, in the promoted
    dtype of inputs and parameters) with W_h of the same dtype; the whole-sequence kernel heads of
    <= 64 units, the cell kernel any head."""
    if jnp.promote_types(input_dtype, param_dtype) != jnp.dtype(param_dtype):
        return "xla"
    return "triton" if head <= 64 else "triton_cell"


def _layer(kind: str, hidden: int, **kwargs) -> Callable[[], RNN]:
    if kind == "depth_gated_lstm":
        kwargs["lower_size"] = 0  # the first layer of a depth-gated stack
    return lambda: RNN(make_cell(kind, INPUT, hidden, rngs=nnx.Rngs(0), **kwargs))


def _resolve_and_run(make: Callable[[], nnx.Module], input_dtype, param_dtype) -> list[str]:
    """Build ``make()`` with parameters of ``param_dtype`` as shapes only and call it on inputs
    of ``input_dtype`` under ``jax.eval_shape`` (raises if an implementation refuses the call);
    returns the impl each RNN layer resolved to for the call."""
    graphdef, state = nnx.split(nnx.eval_shape(make))
    state = jax.tree.map(lambda a: jax.ShapeDtypeStruct(
        a.shape, param_dtype if jnp.issubdtype(a.dtype, jnp.floating) else a.dtype), state)
    resolved = []

    def call(state, x):
        module = nnx.merge(graphdef, state)
        rnns = [module] if isinstance(module, RNN) else list(module.layers)
        resolved.extend(rnn.resolved_impl(x.dtype) for rnn in rnns)
        return module(x, seq_lengths=jnp.array([TIME, 1]))

    jax.eval_shape(call, state, jax.ShapeDtypeStruct((BATCH, TIME, INPUT), input_dtype))
    return resolved


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_every_cell_size_and_dtype_resolves_to_an_impl_that_accepts_it(kind, simulated_gpu):
    lstm = CELLS[kind][0] is LSTMCell
    # mixed dtypes matter to the kernels' dtype rule only: other cells take float32 and bfloat16
    for hidden in HIDDEN:
        for input_dtype, param_dtype in DTYPES if lstm else DTYPES[::2]:
            where = (f"{kind} H={hidden} inputs {jnp.dtype(input_dtype).name} parameters "
                     f"{jnp.dtype(param_dtype).name}")
            launched = len(simulated_gpu)
            [impl] = _resolve_and_run(_layer(kind, hidden), input_dtype, param_dtype)
            if lstm:
                assert impl == _expected_lstm_impl(hidden, input_dtype, param_dtype), where
            else:
                assert not impl.startswith("triton"), where
            assert simulated_gpu[launched:] == ([impl] if impl.startswith("triton") else []), where


@pytest.mark.parametrize(("hidden", "heads", "expected"),
                         [(256, 4, "triton"), (1024, 16, "triton"), (1024, 8, "triton_cell")])
def test_multi_head_lstm_runs_the_sequence_kernel_up_to_64_units_a_head(hidden, heads, expected,
                                                                        simulated_gpu):
    for input_dtype, param_dtype in DTYPES[:3]:
        make = _layer("lstm", hidden, num_heads=heads)
        assert _resolve_and_run(make, input_dtype, param_dtype) == [expected]
        assert simulated_gpu[-1] == expected


def test_default_language_model_stack_runs_the_cell_kernel(simulated_gpu):
    """The default char LM's recurrence (2 x 256 LSTM, experiments/lm) on a GPU."""
    stack = lambda: StackedRNN("lstm", INPUT, 256, num_layers=2, rngs=nnx.Rngs(0))  # noqa: E731
    assert _resolve_and_run(stack, jnp.float32, jnp.float32) == ["triton_cell"] * 2
    assert simulated_gpu == ["triton_cell", "triton_cell"]


def test_without_a_gpu_auto_never_picks_a_kernel():
    assert not layers._triton_available()
    for kind in CELLS:
        [impl] = _resolve_and_run(_layer(kind, 16), jnp.float32, jnp.float32)
        assert not impl.startswith("triton"), kind
