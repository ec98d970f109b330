"""Neural Turing Machine (Graves, Wayne & Danihelka 2014, "Neural Turing Machines") as a cell.

A controller (an LSTM, or a feed-forward layer) reads the input x_t and the previous read vectors
r_{t-1}; its output h_t parameterises read and write heads over a memory M_t of N rows of width M.
One step (``NTMCell.step``):

    h_t = controller([x_t ; r_{t-1}], h_{t-1})
    per write head: w_t = address(h_t, M_{t-1}, w_{t-1}), erase e_t, add a_t
    M_t = write(M_{t-1}, w_t, e_t, a_t)                                          (eqs. 3-4)
    per read head:  w_t = address(h_t, M_t, w_{t-1});   r_t = read(M_t, w_t)   (eq. 2)
    y_t = [h_t ; r_t]

so reads see this step's writes. ``address`` chains the functions below, each one equation of
section 3.3 of the paper: content addressing (eqs. 5-6), interpolation (eq. 7), the circular
shift convolution (eq. 8) and sharpening (eq. 9). The head activations are: key k raw,
beta = softplus >= 0, g = sigmoid, shift weights s = softmax over the ``shift_range`` offsets
-(S-1)/2 .. (S-1)/2, gamma = 1 + softplus >= 1, erase e = sigmoid, add a = tanh.

The memory starts at a small constant (1e-6, the initialisation Collier & Beel 2018 found the
most reliable), the weightings at location 0 and the read vectors at zero.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax import initializers as inits
from rnnjax.cells.base import Array, RecurrentCell
from rnnjax.lstm_xla import lstm_gates
from rnnjax.validation import check_choice, check_positive_int, fail

CONTROLLERS = ("lstm", "feedforward")
#: the initial value of every memory cell
MEMORY_INIT = 1e-6
#: added under the square roots of the norms in the cosine similarity (no NaN at zero vectors)
NORM_EPS = 1e-8


class NTMState(NamedTuple):
    """The NTM's carry. Leading axis: batch."""

    controller: tuple[Array, ...]  # (h, c) of an LSTM controller, (h,) of a feed-forward one
    memory: Array  # M_t [B, N, M]
    reads: Array  # r_t [B, R, M]
    read_weights: Array  # w_t of the read heads [B, R, N]
    write_weights: Array  # w_t of the write heads [B, W, N]


# ---- addressing (Graves et al. 2014, section 3.3), pure functions over leading axes ----------
def cosine_similarity(key: Array, memory: Array) -> Array:
    """K[u, v] = u . v / (||u|| ||v||) (eq. 6) of key [..., M] with every row of memory [..., N, M].

    The norms are sqrt(sum v^2 + 1e-8), so a zero key or row gives similarity 0, never NaN, and
    finite gradients.
    """
    dot = jnp.einsum("...m,...nm->...n", key, memory)
    key_norm = jnp.sqrt(jnp.sum(key * key, -1, keepdims=True) + NORM_EPS)
    row_norm = jnp.sqrt(jnp.sum(memory * memory, -1) + NORM_EPS)
    return dot / (key_norm * row_norm)


def content_weighting(key: Array, beta: Array, memory: Array) -> Array:
    """w^c_t(i) = exp(beta K[k, M(i)]) / sum_j exp(beta K[k, M(j)]) (eq. 5); beta [..., 1]."""
    return jax.nn.softmax(beta * cosine_similarity(key, memory), axis=-1)


def interpolate(content: Array, previous: Array, gate: Array) -> Array:
    """w^g_t = g_t w^c_t + (1 - g_t) w_{t-1} (eq. 7); gate [..., 1] in [0, 1]."""
    return gate * content + (1.0 - gate) * previous


def shift_offsets(shift_range: int) -> range:
    """The offsets -(S-1)/2 .. (S-1)/2 that ``shift_range`` S = len(s_t) covers."""
    half = shift_range // 2
    return range(-half, half + 1)


def circular_shift(weights: Array, shift: Array) -> Array:
    """w~_t(i) = sum_j w^g_t(j) s_t(i - j) (eq. 8), indices modulo N.

    ``shift`` [..., S] holds s_t over the offsets of :func:`shift_offsets` (S odd): the weight
    at offset k moves mass from location j to j + k.
    """
    offsets = shift_offsets(shift.shape[-1])
    return sum(shift[..., index, None] * jnp.roll(weights, offset, axis=-1)
               for index, offset in enumerate(offsets))


def sharpen(weights: Array, gamma: Array) -> Array:
    """w_t(i) = w~_t(i)^gamma / sum_j w~_t(j)^gamma (eq. 9); gamma [..., 1] >= 1.

    Computed as softmax(gamma log max(w~, tiny)): the same value for w~ > 0, and neither
    0^gamma nor its derivative log(0) can make a NaN.
    """
    tiny = jnp.finfo(weights.dtype).tiny
    return jax.nn.softmax(gamma * jnp.log(jnp.maximum(weights, tiny)), axis=-1)


class HeadParams(NamedTuple):
    """One set of addressing parameters per head (leading axes [..., heads])."""

    key: Array  # k_t [..., M]
    beta: Array  # key strength [..., 1], >= 0
    gate: Array  # interpolation gate g_t [..., 1], in (0, 1)
    shift: Array  # shift weighting s_t [..., S], sums to 1
    gamma: Array  # sharpening exponent [..., 1], >= 1


def address(params: HeadParams, memory: Array, previous: Array) -> Array:
    """The addressing pipeline of Figure 2: eqs. 5-6, 7, 8, 9 in that order.

    params: heads [B, K, ...]; memory [B, N, M]; previous weightings [B, K, N] -> [B, K, N].
    """
    content = content_weighting(params.key, params.beta, memory[:, None])
    gated = interpolate(content, previous, params.gate)
    return sharpen(circular_shift(gated, params.shift), params.gamma)


def read(memory: Array, weights: Array) -> Array:
    """r_t = sum_i w_t(i) M_t(i) (eq. 2): memory [B, N, M], weights [B, R, N] -> [B, R, M]."""
    return jnp.einsum("brn,bnm->brm", weights, memory)


def write(memory: Array, weights: Array, erase: Array, add: Array) -> Array:
    """Erase then add, for W write heads at once (eqs. 3-4):

        M~_t(i) = M_{t-1}(i) prod_h [1 - w^h_t(i) e^h_t],    M_t(i) = M~_t(i) + sum_h w^h_t(i) a^h_t

    memory [B, N, M]; weights [B, W, N]; erase (in [0, 1]) and add [B, W, M]. The erasures
    multiply, so their order does not matter (section 3.2).
    """
    keep = jnp.prod(1.0 - weights[..., :, None] * erase[..., None, :], axis=1)
    return memory * keep + jnp.einsum("bwn,bwm->bnm", weights, add)


class NTMSpec(NamedTuple):
    """The sizes one NTM step needs (hashable: a static argument of the jitted step)."""

    controller: str
    hidden_size: int
    memory_width: int
    num_read_heads: int
    num_write_heads: int
    shift_range: int


def head_sizes(spec: NTMSpec) -> tuple[int, ...]:
    """Widths of the blocks of w_heads: every read head's (k, beta, g, s, gamma), every write
    head's (k, beta, g, s, gamma), then all write heads' erase and add vectors."""
    addressing = spec.memory_width + 3 + spec.shift_range
    return ((addressing,) * (spec.num_read_heads + spec.num_write_heads)
            + (2 * spec.memory_width * spec.num_write_heads,))


def controller_step(spec: NTMSpec, params: dict[str, Array], carry: NTMState, x_proj: Array
                    ) -> tuple[Array, ...]:
    """The controller's new state from x_t W_x + b and [h_{t-1} ;] r_{t-1}: an LSTM
    (rnnjax.cells.LSTMCell's equations) or h_t = tanh(x_t W_x + r_{t-1} W_h + b)."""
    reads = carry.reads.reshape(carry.reads.shape[0], -1)
    if spec.controller == "feedforward":
        return (jnp.tanh(x_proj + reads @ params["w_h"]),)
    h, c = carry.controller
    i, f, g, o = lstm_gates(x_proj + jnp.concatenate([h, reads], -1) @ params["w_h"])
    c_new = f * c + i * g
    return o * jnp.tanh(c_new), c_new


def emit_heads(spec: NTMSpec, params: dict[str, Array], h: Array
               ) -> tuple[HeadParams, HeadParams, Array, Array]:
    """(read heads' params, write heads' params, erase [B, W, M], add [B, W, M]) from h_t."""
    batch, width = h.shape[0], spec.memory_width
    sizes = head_sizes(spec)
    flat = h @ params["w_heads"] + params["b_heads"]
    reads, writes, vectors = jnp.split(flat, [sizes[0] * spec.num_read_heads, sum(sizes[:-1])],
                                       axis=-1)

    def addressing(raw: Array, heads: int) -> HeadParams:
        raw = raw.reshape(batch, heads, -1)
        key, beta, gate, shift, gamma = jnp.split(
            raw, [width, width + 1, width + 2, width + 2 + spec.shift_range], axis=-1)
        return HeadParams(key, jax.nn.softplus(beta), jax.nn.sigmoid(gate),
                          jax.nn.softmax(shift, axis=-1), 1.0 + jax.nn.softplus(gamma))

    erase, add = jnp.split(vectors.reshape(batch, spec.num_write_heads, 2 * width), 2, -1)
    return (addressing(reads, spec.num_read_heads), addressing(writes, spec.num_write_heads),
            jax.nn.sigmoid(erase), jnp.tanh(add))


@functools.partial(jax.jit, static_argnums=0)
def ntm_step(spec: NTMSpec, params: dict[str, Array], carry: NTMState, x_proj: Array
             ) -> NTMState:
    """One NTM step: controller, write heads (address, erase, add), then read heads (module
    docstring). Jitted, so that a step run outside a scan compiles once."""
    controller = controller_step(spec, params, carry, x_proj)
    read_heads, write_heads, erase, add = emit_heads(spec, params, controller[0])
    write_weights = address(write_heads, carry.memory, carry.write_weights)
    memory = write(carry.memory, write_weights, erase, add)
    read_weights = address(read_heads, memory, carry.read_weights)
    return NTMState(controller, memory, read(memory, read_weights), read_weights, write_weights)


class NTMCell(RecurrentCell):
    """A Neural Turing Machine as a recurrent cell (see the module docstring).

    ``hidden_size`` is the controller's width; outputs are [h_t ; r_t] of width
    hidden_size + num_read_heads * memory_width. Parameters: w_x [I, G*H] and b [G*H] (the
    controller's input part; G = 4 for the LSTM, 1 for the feed-forward controller with tanh),
    w_h [H + R*M, G*H] for an LSTM controller or [R*M, G*H] for a feed-forward one (the
    recurrent part: h_{t-1} and the read vectors r_{t-1}), w_heads [H, P] and b_heads [P] (every
    head's parameters from h_t).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        rngs: nnx.Rngs,
        memory_size: int = 128,
        memory_width: int = 20,
        num_read_heads: int = 1,
        num_write_heads: int = 1,
        shift_range: int = 3,
        controller: str = "lstm",
        forget_bias: float = 1.0,
        kernel_init: inits.Initializer | None = None,
        recurrent_init: inits.Initializer | None = None,
        bias_init: inits.Initializer | None = None,
    ):
        where = "NTMCell"
        self.memory_size = check_positive_int(where, "memory_size", memory_size)
        self.memory_width = check_positive_int(where, "memory_width", memory_width)
        self.num_read_heads = check_positive_int(where, "num_read_heads", num_read_heads)
        self.num_write_heads = check_positive_int(where, "num_write_heads", num_write_heads)
        shift_range = check_positive_int(where, "shift_range", shift_range)
        if shift_range % 2 == 0:
            fail(where, "shift_range", "an odd int (offsets -(S-1)/2 .. (S-1)/2)", shift_range)
        self.shift_range = shift_range
        self.controller = check_choice(where, "controller", controller, CONTROLLERS)
        hidden_size = check_positive_int(where, "hidden_size", hidden_size)
        recurrent_rows = self.num_read_heads * memory_width + (
            hidden_size if controller == "lstm" else 0)
        gates = 4 if controller == "lstm" else 1
        self.input_size = check_positive_int(where, "input_size", input_size)
        self.hidden_size = hidden_size
        kernel_init = kernel_init or inits.lecun_normal()
        bias = (bias_init or inits.zeros)(rngs.params(), (gates * hidden_size,))
        if controller == "lstm":
            bias = bias.at[hidden_size:2 * hidden_size].add(forget_bias)
        self.w_x = nnx.Param(kernel_init(rngs.params(), (input_size, gates * hidden_size)))
        self.w_h = nnx.Param((recurrent_init or inits.lecun_normal())(
            rngs.params(), (recurrent_rows, gates * hidden_size)))
        self.b = nnx.Param(bias)
        self.spec = NTMSpec(controller, hidden_size, memory_width, self.num_read_heads,
                            self.num_write_heads, shift_range)
        width = sum(head_sizes(self.spec))
        self.w_heads = nnx.Param(inits.lecun_normal()(rngs.params(), (hidden_size, width)))
        self.b_heads = nnx.Param(jnp.zeros((width,)))

    @property
    def output_size(self) -> int:
        return self.hidden_size + self.num_read_heads * self.memory_width

    def initial_carry(self, batch_size: int, dtype: Any = jnp.float32) -> NTMState:
        zeros = jnp.zeros((batch_size, self.hidden_size), dtype)
        controller = (zeros, zeros) if self.controller == "lstm" else (zeros,)
        first = jax.nn.one_hot(0, self.memory_size, dtype=dtype)
        return NTMState(
            controller=controller,
            memory=jnp.full((batch_size, self.memory_size, self.memory_width), MEMORY_INIT,
                            dtype),
            reads=jnp.zeros((batch_size, self.num_read_heads, self.memory_width), dtype),
            read_weights=jnp.broadcast_to(first, (batch_size, self.num_read_heads,
                                                  self.memory_size)),
            write_weights=jnp.broadcast_to(first, (batch_size, self.num_write_heads,
                                                   self.memory_size)))

    def recurrent_params(self) -> dict[str, Array]:
        return {"w_h": self.w_h[...], "w_heads": self.w_heads[...], "b_heads": self.b_heads[...]}

    def step(self, params: dict[str, Array], carry: NTMState, x_proj: Array) -> NTMState:
        """One NTM step (:func:`ntm_step`)."""
        return ntm_step(self.spec, params, carry, x_proj)

    def output(self, carry: NTMState) -> Array:
        """y_t = [h_t ; r_t (the read heads one after another)]."""
        reads = carry.reads.reshape(carry.reads.shape[0], -1)
        return jnp.concatenate([carry.controller[0], reads], axis=-1)
