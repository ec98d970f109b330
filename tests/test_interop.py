"""Parity with torch.nn RNN/LSTM/GRU through rnnjax.interop (outputs, states, gradients)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from rnnjax.interop import carries_from_torch, carries_to_torch, from_torch, to_torch
from rnnjax.layers import StackedRNN

torch = pytest.importorskip("torch")

TORCH_MODULES = {
    "lstm": lambda **kw: torch.nn.LSTM(**kw),
    "gru": lambda **kw: torch.nn.GRU(**kw),
    "rnn_tanh": lambda **kw: torch.nn.RNN(nonlinearity="tanh", **kw),
    "rnn_relu": lambda **kw: torch.nn.RNN(nonlinearity="relu", **kw),
}
RTOL, ATOL = 1e-5, 1e-5


def torch_forward(module, x, lengths, state):
    """torch's output sequence (batch-major, zero-padded) and final state."""
    if not module.batch_first:
        x = x.transpose(0, 1)
    if lengths is not None:
        x = torch.nn.utils.rnn.pack_padded_sequence(
            x, torch.as_tensor(lengths), batch_first=module.batch_first, enforce_sorted=False)
    out, final = module(x, state)
    if lengths is not None:
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(
            out, batch_first=module.batch_first, total_length=6)
    if not module.batch_first:
        out = out.transpose(0, 1)
    return out, final


# Pairwise: every module with and without bidirectional and with and without lengths, and
# every (bidirectional, lengths) pair, in 10 cases rather than the 20 of the full product.
@pytest.mark.parametrize(("name", "num_layers", "bidirectional", "with_lengths"), [
    ("lstm", 1, False, True), ("lstm", 1, True, False),
    ("lstm", 3, False, False), ("lstm", 3, True, True),
    ("gru", 2, False, True), ("gru", 2, True, False),
    ("rnn_tanh", 2, False, False), ("rnn_tanh", 2, True, True),
    ("rnn_relu", 1, False, True), ("rnn_relu", 1, True, False),
])
def test_outputs_states_and_gradients_match_torch(name, num_layers, bidirectional, with_lengths):
    """Modules of one and several layers, batch-first or not, with and without biases; each
    module with and without bidirectional and lengths, and each of their pairs (pairwise)."""
    torch.manual_seed(num_layers)
    module = TORCH_MODULES[name](input_size=5, hidden_size=7, num_layers=num_layers,
                                 bidirectional=bidirectional, batch_first=num_layers != 2,
                                 bias=name != "rnn_relu").double()
    stack = from_torch(module)
    lengths = np.array([6, 3, 1, 5]) if with_lengths else None
    x = torch.randn(4, 6, 5, dtype=torch.float64, requires_grad=True)
    states = num_layers * (2 if bidirectional else 1)
    h0 = torch.randn(states, 4, 7, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(states, 4, 7, dtype=torch.float64, requires_grad=True)
    torch_state = (h0, c0) if name == "lstm" else h0
    out, final = torch_forward(module, x, lengths, torch_state)
    final = final if isinstance(final, tuple) else (final,)
    loss = (out.sin().sum() + sum(f.cos().sum() for f in final))
    loss.backward()

    graphdef, state = nnx.split(stack)
    carries = carries_from_torch(stack, h0.detach().float().numpy(),
                                 c0.detach().float().numpy() if name == "lstm" else None)
    seq_lengths = None if lengths is None else jnp.asarray(lengths)

    def jax_loss(state, x, carries):
        y, final = nnx.merge(graphdef, state)(x, seq_lengths=seq_lengths, initial_carry=carries)
        return jnp.sum(jnp.sin(y)) + sum(jnp.sum(jnp.cos(f)) for f in jax.tree.leaves(final)), (
            y, final)

    x32 = jnp.asarray(x.detach().float().numpy())
    (_, (y, final_jax)), grads = jax.jit(jax.value_and_grad(jax_loss, (0, 1, 2), has_aux=True))(
        state, x32, carries)
    np.testing.assert_allclose(y, out.detach().numpy(), rtol=RTOL, atol=ATOL)
    for ours, theirs in zip(jax.tree.leaves(carries_to_torch(stack, final_jax)), final,
                            strict=True):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grads[1], x.grad.numpy(), rtol=RTOL, atol=ATOL)
    d_state = carries_to_torch(stack, grads[2])
    np.testing.assert_allclose(jax.tree.leaves(d_state)[0], h0.grad.numpy(), rtol=RTOL, atol=ATOL)
    # weight gradients, every layer and direction: weight_ih = w_x^T, weight_hh = w_h^T and
    # bias_ih carries dL/db (b = b_ih + b_hh), so the gradient module converted to torch holds them
    grad_module = to_torch(nnx.merge(graphdef, grads[0]))
    for name, grad in grad_module.named_parameters():
        expected = getattr(module, name).grad if hasattr(module, name) else None
        if expected is not None and not name.startswith("bias_hh"):
            np.testing.assert_allclose(grad.detach().numpy(), expected.numpy(), rtol=RTOL,
                                       atol=ATOL, err_msg=name)


@pytest.mark.parametrize("kind", ["lstm", "gru", "elman_tanh"])
def test_to_torch_computes_the_same_function(kind):
    stack = StackedRNN(kind, 3, 4, 2, rngs=nnx.Rngs(0), bidirectional=True)
    module = to_torch(stack)
    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    out, _ = module(torch.from_numpy(x))
    forward = nnx.jit(lambda stack, x: stack(x)[0])
    ours = forward(stack, jnp.asarray(x))
    np.testing.assert_allclose(ours, out.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(forward(from_torch(module), jnp.asarray(x)), ours, rtol=1e-6,
                               atol=1e-6)


def test_interop_rejects_what_torch_cannot_express():
    with pytest.raises(TypeError, match=r"from_torch: module must be a torch\.nn\.RNN"):
        from_torch(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="proj_size"):
        from_torch(torch.nn.LSTM(3, 4, proj_size=2))
    with pytest.raises(ValueError, match="to_torch: layer must be a StackedRNN without skips"):
        to_torch(StackedRNN("lstm", 3, 4, 2, rngs=nnx.Rngs(0), skip="residual"))
    with pytest.raises(ValueError, match="to_torch: layer must be built from dense LSTMCell"):
        to_torch(StackedRNN("peephole_lstm", 3, 4, 1, rngs=nnx.Rngs(0)))


def test_carries_from_torch_checks_the_state_layout():
    stack = StackedRNN("lstm", 3, 4, 2, rngs=nnx.Rngs(0), bidirectional=True)
    with pytest.raises(ValueError, match=r"h0 must be of shape \[4, batch, hidden\]"):
        carries_from_torch(stack, np.zeros((2, 1, 4)), np.zeros((4, 1, 4)))


def test_from_torch_converts_a_bfloat16_module():
    torch.manual_seed(0)
    module = torch.nn.LSTM(5, 7, num_layers=2, batch_first=True).to(torch.bfloat16)
    stack = from_torch(module)
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(nnx.state(stack)))
    x = torch.randn(3, 4, 5)
    expected, _ = module.float()(x)  # the same bfloat16 weights, computed in float32
    np.testing.assert_allclose(np.asarray(stack(jnp.asarray(x.numpy()))[0]),
                               expected.detach().numpy(), rtol=1e-5, atol=1e-5)
