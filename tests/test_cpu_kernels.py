"""The fused CPU LSTM kernel (rnnjax.cpu_kernels) against the pure-JAX reference and torch."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from rnnjax_testing import assert_close

from rnnjax import cpu_kernels
from rnnjax.cells import LSTMCell, make_cell
from rnnjax.layers import RNN, Bidirectional, reverse_within_lengths
from rnnjax.lstm_xla import lstm_recurrence_scan, lstm_recurrence_xla

needs_kernel = pytest.mark.skipif(
    not cpu_kernels.available(), reason=f"fused CPU kernel unavailable: {cpu_kernels.load_error()}")

fused = cpu_kernels.lstm_recurrence_cpu


def arrays(batch, time, hidden, heads, dtype=jnp.float32, seed=0):
    """gates_x, w_h, h0, c0 of the contract, with non-zero initial carries: standard normal
    (w_h scaled by 0.4), drawn with numpy (no random-number program to compile per shape)."""
    rng = np.random.default_rng(seed)
    d = hidden // heads
    return (jnp.asarray(rng.standard_normal((batch, time, 4 * hidden)), dtype),
            jnp.asarray(rng.standard_normal((heads, d, 4 * d)) * 0.4, dtype),
            jnp.asarray(rng.standard_normal((batch, hidden)), jnp.float32),
            jnp.asarray(rng.standard_normal((batch, hidden)), jnp.float32))


def gradients_and_values(fn, seq_lengths, seed=5):
    """(gates_x, w_h, h0, c0) -> (their gradients, fn's outputs), one jitted program: the
    gradients of a scalar of all three outputs with random weights (drawn with numpy, outside
    the program), so every cotangent is non-trivial."""
    def loss(args, weights):
        outputs = fn(*args, seq_lengths)
        return sum(jnp.sum(o.astype(jnp.float32) * w)
                   for o, w in zip(outputs, weights, strict=True)), outputs

    gradients = jax.jit(jax.grad(loss, has_aux=True))

    def run(*args):
        rng = np.random.default_rng(seed)
        weights = [rng.standard_normal(o.shape, np.float32)
                   for o in jax.eval_shape(lambda *a: fn(*a, seq_lengths), *args)]
        return gradients(args, weights)

    return run


# (batch, time, hidden, heads, lengths): batch 5 splits unevenly over the threads
CASES = [(5, 6, 16, 1, (6, 2, 6, 1, 3)), (1, 1, 4, 1, None), (2, 4, 12, 3, (2, 4))]


@needs_kernel
@pytest.mark.parametrize(("batch", "time", "hidden", "heads", "lengths"), CASES)
def test_values_and_gradients_equal_the_autodiff_reference(batch, time, hidden, heads, lengths):
    args = arrays(batch, time, hidden, heads)
    seq_lengths = None if lengths is None else jnp.array(lengths)
    grads, (hs, h, c) = gradients_and_values(fused, seq_lengths)(*args)
    expected_grads, expected = gradients_and_values(lstm_recurrence_scan, seq_lengths)(*args)
    assert_close((hs, h, c), expected)
    if lengths is not None:  # past a length: zero output, the carry of the last valid step
        for b, length in enumerate(lengths):
            np.testing.assert_array_equal(hs[b, length:], 0.0)
            assert_close(h[b], hs[b, length - 1])
    assert_close(grads, expected_grads, rtol=1e-5, atol=2e-6)


@needs_kernel
@pytest.mark.parametrize("threads", ["1", "3"])
def test_thread_count_does_not_change_results(monkeypatch, threads):
    args = arrays(5, 4, 8, 1)
    # the kernel reads RNNJAX_CPU_THREADS at each call: one compiled program serves both counts
    run = gradients_and_values(fused, jnp.array([4, 1, 3, 4, 2]))
    expected = run(*args)
    monkeypatch.setenv("RNNJAX_CPU_THREADS", threads)
    assert_close(run(*args), expected, rtol=1e-6, atol=1e-6)


@needs_kernel
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
@pytest.mark.parametrize("threads", ["2", "3"])
def test_column_split_equals_the_row_split(monkeypatch, dtype, threads):
    """Hidden units split over the threads (one barrier per step) against batch rows split."""
    args = arrays(4, 5, 10, 1, dtype)
    run = gradients_and_values(fused, jnp.array([5, 2, 1, 4]))
    monkeypatch.setenv("RNNJAX_CPU_THREADS", threads)
    results = {}
    for split in ("rows", "columns"):
        monkeypatch.setenv("RNNJAX_CPU_SPLIT", split)
        results[split] = jax.tree.map(lambda a: a.astype(jnp.float32), run(*args))
    tolerance = 1e-5 if dtype == jnp.float32 else 2e-2
    assert_close(results["columns"], results["rows"], rtol=tolerance, atol=tolerance)


def reversed_reference(gates_x, w_h, h0, c0, seq_lengths):
    """A backward-direction recurrence: the reference on inputs reversed within the lengths."""
    hs, h, c = lstm_recurrence_scan(reverse_within_lengths(gates_x, seq_lengths), w_h, h0, c0,
                                    seq_lengths)
    return reverse_within_lengths(hs, seq_lengths), h, c


@needs_kernel
@pytest.mark.parametrize("split", ["rows", "columns"])
def test_reverse_equals_the_reference_on_reversed_inputs(monkeypatch, split):
    monkeypatch.setenv("RNNJAX_CPU_SPLIT", split)
    args = arrays(5, 6, 16, 1, seed=1)
    lengths = jnp.array([6, 2, 6, 1, 3])

    def reverse_fused(*args):
        return fused(*args, reverse=True)

    grads, values = gradients_and_values(reverse_fused, lengths)(*args)
    expected_grads, expected = gradients_and_values(reversed_reference, lengths)(*args)
    assert_close(values, expected)
    assert_close(grads, expected_grads, rtol=1e-5, atol=2e-6)


@needs_kernel
def test_bidirectional_call_equals_two_reference_directions():
    """Two heads; the one-head call of both directions is checked through the layer in
    test_bidirectional_layer_with_cpu_fused_equals_xla."""
    forward_args, backward_args = arrays(3, 5, 8, 2, seed=2), arrays(3, 5, 8, 2, seed=3)
    lengths = jnp.array([5, 3, 1])

    def both(*args):
        return cpu_kernels.bidirectional_lstm_recurrence_cpu(*args, lengths)

    def reference(*args):
        outputs = (lstm_recurrence_scan(*(a[0] for a in args), lengths),
                   reversed_reference(*(a[1] for a in args), lengths))
        return tuple(jnp.stack(pair) for pair in zip(*outputs, strict=True))

    args = tuple(jnp.stack(pair) for pair in zip(forward_args, backward_args, strict=True))
    grads, values = gradients_and_values(lambda *a: both(*a[:4]), None)(*args)
    expected_grads, expected = gradients_and_values(lambda *a: reference(*a[:4]), None)(*args)
    assert_close(values, expected)
    assert_close(grads, expected_grads, rtol=1e-5, atol=2e-6)


@needs_kernel
def test_bfloat16_matches_the_xla_path():
    args = arrays(3, 6, 8, 2, jnp.bfloat16)
    lengths = jnp.array([6, 2, 4])
    grads, (hs, h, c) = gradients_and_values(fused, lengths)(*args)
    reference, expected = gradients_and_values(lstm_recurrence_xla, lengths)(*args)
    assert hs.dtype == jnp.bfloat16 and h.dtype == c.dtype == jnp.float32
    assert_close((hs.astype(jnp.float32), h, c), expected, rtol=1e-2, atol=1e-2)
    assert grads[0].dtype == grads[1].dtype == jnp.bfloat16
    assert_close(jax.tree.map(lambda g: g.astype(jnp.float32), grads), reference,
                 rtol=3e-2, atol=3e-2)


@needs_kernel
def test_equals_torch_lstm_values_and_recurrent_weight_gradient():
    torch = pytest.importorskip("torch")
    batch, time, inputs, hidden = 3, 7, 5, 6
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(inputs, hidden, batch_first=True)
    x = torch.randn(batch, time, inputs)
    h0, c0 = torch.randn(1, batch, hidden), torch.randn(1, batch, hidden)
    ys, (h_n, c_n) = lstm(x, (h0, c0))
    (ys.sum() + h_n.sum() * 2 + c_n.sum() * 3).backward()

    def numpy(t):
        return jnp.asarray(t.detach().numpy())

    gates_x = numpy(x @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + lstm.bias_hh_l0)
    w_h = numpy(lstm.weight_hh_l0.T)[None]  # torch's gate order is also (i, f, g, o)

    def loss(w):
        hs, h, c = fused(gates_x, w, numpy(h0[0]), numpy(c0[0]))
        return hs.sum() + h.sum() * 2 + c.sum() * 3, (hs, h, c)

    grad, (hs, h, c) = jax.jit(jax.grad(loss, has_aux=True))(w_h)
    assert_close((hs, h, c), (numpy(ys), numpy(h_n[0]), numpy(c_n[0])))
    assert_close(grad[0], numpy(lstm.weight_hh_l0.grad.T), rtol=1e-5, atol=1e-5)


@needs_kernel
def test_layer_impl_cpu_fused_equals_xla_with_reverse_lengths_and_carry():
    cell = LSTMCell(3, 8, rngs=nnx.Rngs(0), num_heads=2)
    x = jax.random.normal(jax.random.PRNGKey(1), (3, 6, 3))
    lengths = jnp.array([6, 3, 1])
    carry = (jax.random.normal(jax.random.PRNGKey(2), (3, 8)),
             jax.random.normal(jax.random.PRNGKey(3), (3, 8)))
    layers = {impl: RNN(cell, reverse=True, impl=impl) for impl in ("cpu_fused", "xla")}

    def run(impl):
        graphdef, state = nnx.split(layers[impl])

        def loss(state):
            y, (h, c) = nnx.merge(graphdef, state)(x, seq_lengths=lengths, initial_carry=carry)
            return jnp.sum(jnp.sin(y)) + jnp.sum(h * c), (y, h, c)

        return jax.jit(jax.grad(loss, has_aux=True))(state)

    assert_close(run("cpu_fused"), run("xla"), rtol=1e-5, atol=1e-5)


@needs_kernel
def test_bidirectional_layer_with_cpu_fused_equals_xla(monkeypatch):
    """Both directions in one kernel call (one per thread) against the two-lane XLA scan."""
    monkeypatch.setenv("RNNJAX_CPU_THREADS", "2")
    cells = [LSTMCell(3, 8, rngs=nnx.Rngs(seed)) for seed in (4, 5)]
    x = jax.random.normal(jax.random.PRNGKey(6), (3, 6, 3))
    lengths = jnp.array([6, 2, 4])
    carry = tuple((jax.random.normal(jax.random.PRNGKey(7 + k), (3, 8)),
                   jax.random.normal(jax.random.PRNGKey(9 + k), (3, 8))) for k in range(2))

    def run(impl):
        layer = Bidirectional(RNN(cells[0], impl=impl), RNN(cells[1], reverse=True, impl=impl))
        graphdef, state = nnx.split(layer)

        def loss(state):
            y, ((h_f, c_f), (h_b, c_b)) = nnx.merge(graphdef, state)(
                x, seq_lengths=lengths, initial_carry=carry)
            return jnp.sum(jnp.sin(y)) + jnp.sum(h_f * c_b) + jnp.sum(h_b - c_f), y

        return jax.jit(jax.grad(loss, has_aux=True))(state)

    assert_close(run("cpu_fused"), run("xla"), rtol=1e-5, atol=1e-5)


def test_layer_rejects_cpu_fused_for_other_cells():
    with pytest.raises(ValueError, match=r'impl must be "scan", "xla" or "auto" for GRUCell'):
        RNN(make_cell("gru", 3, 4, rngs=nnx.Rngs(0)), impl="cpu_fused")


@needs_kernel
def test_rejects_inputs_outside_the_kernel_dtypes():
    gates_x, w_h, h0, c0 = arrays(2, 3, 8, 1)
    with pytest.raises(TypeError, match="w_h must be of gates_x's dtype float32"):
        fused(gates_x, w_h.astype(jnp.bfloat16), h0, c0)
    with pytest.raises(TypeError, match="h0 must be of dtype float32"):
        fused(gates_x, w_h, h0.astype(jnp.bfloat16), c0)
    with pytest.raises(ValueError, match=r"gates_x must be of last dimension 32"):
        fused(gates_x[..., :30], w_h, h0, c0)


def test_without_the_extension_rnnjax_runs_the_other_impls(monkeypatch):
    assert "rnnjax.cpu_kernels._absent is not built" in cpu_kernels._load(
        "rnnjax.cpu_kernels._absent")
    monkeypatch.setattr(cpu_kernels, "available", lambda: False)
    monkeypatch.setattr(cpu_kernels, "load_error", lambda: "the extension is not built")
    cell = LSTMCell(3, 4, rngs=nnx.Rngs(0))
    with pytest.raises(RuntimeError, match=r'impl must be "xla" or "auto" \(the extension is not'):
        RNN(cell, impl="cpu_fused")
    layer = RNN(cell)
    assert layer.resolved_impl() == "xla"
    y, _ = layer(jnp.ones((2, 3, 3)))
    assert y.shape == (2, 3, 4) and bool(jnp.all(jnp.isfinite(y)))


@needs_kernel
def test_auto_runs_the_fused_kernel_for_lstm_on_one_cpu_device(monkeypatch):
    def auto(kind: str, dtype=jnp.float32) -> str:
        return RNN(make_cell(kind, 3, 4, rngs=nnx.Rngs(0))).resolved_impl(dtype)

    assert auto("lstm") == auto("lstm", jnp.bfloat16) == "cpu_fused"
    assert auto("lstm", jnp.float64) == "xla"  # the kernel takes float32 and bfloat16 only
    assert auto("gru") == "xla"  # LSTMCell only
    assert RNN(LSTMCell(3, 4, rngs=nnx.Rngs(0)), zoneout=0.1).resolved_impl() == "scan"
    # a custom call is not partitioned over devices: with several CPU devices "auto" keeps "xla"
    monkeypatch.setattr(jax, "device_count", lambda: 2)
    assert auto("lstm") == "xla"
