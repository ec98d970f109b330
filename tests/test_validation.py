"""Bad input fails at the call site with the argument named, expected vs actual."""

import jax.numpy as jnp
import pytest
from flax import nnx

from rnnjax.cells import LSTMCell, make_cell
from rnnjax.layers import RNN, Bidirectional, StackedRNN


@pytest.fixture
def layer():
    return RNN(make_cell("lstm", 3, 4, rngs=nnx.Rngs(0)))


X = jnp.zeros((2, 5, 3))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda r: r(jnp.zeros((5, 3))), ValueError, r"x must be of rank 3, got shape \(5, 3\)"),
        (lambda r: r(jnp.zeros((2, 5, 7))), ValueError, r"x must be of last dimension 3"),
        (lambda r: r(jnp.zeros((2, 5, 3), jnp.int32)), TypeError, r"x must be a floating"),
        (lambda r: r([[1.0]]), TypeError, r"x must be an array of rank 3, got list"),
        (lambda r: r(X, seq_lengths=jnp.array([0, 5])), ValueError,
         r"seq_lengths must be in \[1, 5\], got values in \[0, 5\]"),
        (lambda r: r(X, seq_lengths=jnp.array([6, 5])), ValueError, r"seq_lengths must be in"),
        (lambda r: r(X, seq_lengths=jnp.array([5])), ValueError,
         r"seq_lengths must be of shape \(2,\), got shape \(1,\)"),
        (lambda r: r(X, seq_lengths=jnp.array([5.0, 5.0])), TypeError,
         r"seq_lengths must be an integer array, got float32"),
        (lambda r: r(X, initial_carry=(jnp.zeros((2, 4)), jnp.zeros((2, 3)))), ValueError,
         r"RNN: initial_carry must be a carry shaped"),
        (lambda r: r(X, initial_carry=jnp.zeros((2, 4))), ValueError, r"initial_carry"),
        (lambda r: r(X, initial_carry=(jnp.zeros((2, 4), jnp.int32),) * 2), TypeError,
         r"RNN: initial_carry must be a carry of floating-point arrays, got dtype int32"),
    ],
)
def test_rnn_rejects_bad_calls(layer, call, error, message):
    with pytest.raises(error, match=message):
        call(layer)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: make_cell("lsmt", 3, 4, rngs=nnx.Rngs(0)), r"make_cell: kind must be one of"),
        (lambda: make_cell("lstm", 0, 4, rngs=nnx.Rngs(0)), r"input_size must be a positive int"),
        (lambda: LSTMCell(3, 6, rngs=nnx.Rngs(0), num_heads=4), r"hidden_size must be a multiple"),
        (lambda: make_cell("elman_tanh", 3, 4, rngs=nnx.Rngs(0), activation="gelu"),
         r"activation must be one of"),
        (lambda: RNN(make_cell("gru_cho", 3, 4, rngs=nnx.Rngs(0)), impl="xla"),
         r'impl must be "scan" or "auto" for GRUCell'),
        (lambda: RNN(make_cell("gru", 3, 4, rngs=nnx.Rngs(0)), impl="triton"),
         r'impl must be "scan", "xla" or "auto" for GRUCell'),
        (lambda: RNN(make_cell("peephole_lstm", 3, 4, rngs=nnx.Rngs(0)), impl="xla"),
         r'impl must be "scan" or "auto" for PeepholeLSTMCell'),
        (lambda: RNN(make_cell("lstm", 3, 4, rngs=nnx.Rngs(0)), impl="xla", zoneout=0.1),
         r"zoneout must be 0 with impl='xla'"),
        (lambda: RNN(make_cell("lstm", 3, 4, rngs=nnx.Rngs(0)), impl="cudnn"),
         r"impl must be one of"),
        (lambda: RNN(make_cell("lstm", 3, 4, rngs=nnx.Rngs(0)), zoneout=1.0),
         r"zoneout must be a float in \[0, 1\)"),
        (lambda: StackedRNN("lstm", 3, 4, 0, rngs=nnx.Rngs(0)), r"num_layers must be a positive"),
        (lambda: StackedRNN("lstm", 3, 4, 2, rngs=nnx.Rngs(0), skip="highway"),
         r"skip must be one of"),
        (lambda: StackedRNN("lstm", 3, 4, 2, rngs=nnx.Rngs(0), dropout=-0.1), r"dropout must be"),
        (lambda: Bidirectional(*(RNN(make_cell("gru", 3, 4, rngs=nnx.Rngs(0))),) * 2),
         r"backward must be an RNN with reverse=True"),
        (lambda: Bidirectional(*(RNN(make_cell("gru", 3, 4, rngs=nnx.Rngs(0)), reverse=True),) * 2),
         r"forward must be an RNN with reverse=False, got reverse=True"),
        (lambda: StackedRNN("lstm", 3, 4, 2, rngs=nnx.Rngs(0), skip="residual", wavefront=True),
         r"wavefront must be None or False for this stack"),
        (lambda: StackedRNN("lstm", 3, 4, 2, rngs=nnx.Rngs(0), wavefront="yes"),
         r"wavefront must be None, True or False"),
    ],
)
def test_constructors_reject_bad_arguments(build, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build()


def test_stack_rejects_wrong_number_of_carries():
    stack = StackedRNN("lstm", 3, 4, 2, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"initial_carry must be a list of 2 layer carries"):
        stack(X, initial_carry=[stack.initial_carry(2)[0]])


@pytest.mark.parametrize("impl", ["scan", "xla"])
def test_int_initial_carry_is_refused_by_every_impl(impl):
    gru = RNN(make_cell("gru", 3, 4, rngs=nnx.Rngs(0)), impl=impl)
    with pytest.raises(TypeError, match=r"RNN: initial_carry must be a carry of floating-point"):
        gru(X, initial_carry=jnp.zeros((2, 4), jnp.int32))


@pytest.mark.parametrize("carry", [jnp.zeros((2, 4)), [jnp.zeros((2, 4))] * 3])
def test_bidirectional_initial_carry_must_be_a_pair(carry):
    layer = Bidirectional(RNN(make_cell("gru", 3, 4, rngs=nnx.Rngs(0))),
                          RNN(make_cell("gru", 3, 4, rngs=nnx.Rngs(1)), reverse=True))
    with pytest.raises(TypeError, match=r"Bidirectional: initial_carry must be a \(forward, "
                       r"backward\) pair, got (ArrayImpl|list of length 3)"):
        layer(X, initial_carry=carry)
