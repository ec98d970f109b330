"""Layers that run recurrent cells over time: RNN, Bidirectional, StackedRNN.

Inputs are batch-major [batch, time, features]. ``RNN`` is the one place that runs a recurrence:
it hoists the input projection out of the loop (one matmul for all steps), then runs the cell's
step with ``jax.lax.scan`` (``impl="scan"``) or, for a plain LSTMCell, a fused implementation
(``impl="xla"``: pure-JAX custom VJP; ``"triton"``/``"triton_cell"``: the kernels in ``kernels/``,
``"triton_interpret"``/``"triton_cell_interpret"`` the same under Triton's CPU interpreter;
``"auto"``: Triton on a GPU, xla elsewhere).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax import regularizers
from rnnjax.cells import LSTMCell, RecurrentCell, make_cell
from rnnjax.lstm_xla import accumulation_dtype, lstm_recurrence_xla, time_mask
from rnnjax.validation import (
    check_choice,
    check_float_array,
    check_positive_int,
    check_rate,
    check_seq_lengths,
    check_tree_shapes,
    fail,
)

Array = jax.Array
IMPLS = ("scan", "xla", "triton", "triton_cell", "triton_interpret", "triton_cell_interpret",
         "auto")
SKIPS = ("none", "residual", "dense")


def reverse_within_lengths(x: Array, seq_lengths: Array | None) -> Array:
    """Reverse x [B, T, ...] along time within each sequence's length; padding stays in place."""
    if seq_lengths is None:
        return jnp.flip(x, axis=1)
    t = jnp.arange(x.shape[1])[None, :]
    index = jnp.where(t < seq_lengths[:, None], seq_lengths[:, None] - 1 - t, t)
    return jnp.take_along_axis(x, index.reshape(*index.shape, *([1] * (x.ndim - 2))), axis=1)


def resolve_impl(impl: str) -> str:
    """``"auto"`` -> ``"triton"`` on a GPU with the kernels' dependencies, else ``"xla"``."""
    if impl != "auto":
        return impl
    if jax.default_backend() != "gpu":
        return "xla"
    try:
        import kernels
    except ImportError:
        return "xla"
    return "triton" if kernels.gpu_available() else "xla"


class RNN(nnx.Module):
    """Runs ``cell`` over time with ``jax.lax.scan`` (or a fused LSTM implementation).

    ``seq_lengths`` [B] makes outputs past each length exactly zero and returns the carry of each
    sequence's last valid step; ``reverse=True`` runs from each sequence's last valid step back to
    its first. The final carry can be fed back as ``initial_carry`` (truncated BPTT).
    Regularisers (active only when a ``dropout_key`` is given): ``zoneout`` on the carry,
    ``dropconnect`` on the recurrent matrices.
    """

    def __init__(self, cell: RecurrentCell, *, reverse: bool = False, impl: str = "scan",
                 zoneout: float = 0.0, dropconnect: float = 0.0, unroll: int = 1):
        if not isinstance(cell, RecurrentCell):
            fail("RNN", "cell", "a RecurrentCell", type(cell).__name__, TypeError)
        self.cell = cell
        self.reverse = bool(reverse)
        self.impl = check_choice("RNN", "impl", impl, IMPLS)
        self.zoneout = check_rate("RNN", "zoneout", zoneout)
        self.dropconnect = check_rate("RNN", "dropconnect", dropconnect)
        self.unroll = check_positive_int("RNN", "unroll", unroll)
        if impl != "scan":
            if type(cell) is not LSTMCell:
                fail("RNN", "impl", f'"scan" for {type(cell).__name__} (fused paths run LSTMCell '
                     "only)", repr(impl))
            if self.zoneout:
                fail("RNN", "zoneout", f'0 with impl={impl!r} (zoneout runs with impl="scan")',
                     zoneout)

    @property
    def output_size(self) -> int:
        return self.cell.output_size

    def initial_carry(self, batch_size: int) -> Any:
        return self.cell.initial_carry(batch_size)

    def __call__(self, x: Array, *, seq_lengths: Array | None = None, initial_carry: Any = None,
                 dropout_key: Array | None = None) -> tuple[Array, Any]:
        """x [B, T, input_size] -> (outputs [B, T, output_size], final carry)."""
        check_float_array("RNN", "x", x, 3, self.cell.input_size)
        batch, time, _ = x.shape
        check_seq_lengths("RNN", seq_lengths, batch, time)
        zeros = self.cell.initial_carry(batch, accumulation_dtype(x.dtype))
        carry = zeros if initial_carry is None else initial_carry
        check_tree_shapes("RNN", "initial_carry", carry, zeros)
        dropconnect_key, zoneout_key = (None, None) if dropout_key is None else (
            jax.random.split(dropout_key))

        if self.reverse:
            x = reverse_within_lengths(x, seq_lengths)
        x_proj = self.cell.project_inputs(x)
        params = regularizers.dropconnect(self.cell.recurrent_params(),
                                          self.cell.recurrent_weight_names, self.dropconnect,
                                          dropconnect_key)
        impl = resolve_impl(self.impl)
        if impl == "scan":
            y, carry = self._scan(params, carry, x_proj, seq_lengths, zoneout_key)
        else:
            y, carry = self._fused_lstm(impl, params["w_h"], carry, x_proj, seq_lengths)
        if self.reverse:
            y = reverse_within_lengths(y, seq_lengths)
        return y, carry

    def step(self, x_t: Array, carry: Any) -> tuple[Array, Any]:
        """One step on a raw input x_t [B, input_size]: (y_t [B, output_size], carry).

        The same cell math as ``__call__`` (any ``impl``), for loops that feed an output back
        as the next input (decoders). Zoneout and DropConnect are not applied, so a layer that
        uses them steps only in evaluation.
        """
        if self.reverse:
            fail("RNN.step", "self.reverse", "False (a reversed layer needs the whole sequence)",
                 True)
        carry, y = self.cell(carry, x_t)
        return y, carry

    def _scan(self, params, carry, x_proj, seq_lengths, zoneout_key):
        cell, rate = self.cell, self.zoneout
        batch, time, _ = x_proj.shape
        keys = jax.random.split(zoneout_key, time) if zoneout_key is not None and rate else None
        masked = seq_lengths is not None

        def body(carry, inputs):
            x_t, m_t, key_t = inputs
            new = cell.step(params, carry, x_t)
            new = regularizers.zoneout(carry, new, rate, key_t)
            if masked:
                new = jax.tree.map(lambda n, o: jnp.where(m_t[:, None], n, o), new, carry)
            y = cell.output(new)
            return new, (jnp.where(m_t[:, None], y, 0.0) if masked else y)

        carry, y = jax.lax.scan(
            body, carry, (jnp.swapaxes(x_proj, 0, 1), time_mask(seq_lengths, batch, time), keys),
            unroll=self.unroll,
        )
        return jnp.swapaxes(y, 0, 1), carry

    def _fused_lstm(self, impl, w_h, carry, gates_x, seq_lengths):
        h0, c0 = carry
        if impl == "xla":
            y, h, c = lstm_recurrence_xla(gates_x, w_h, h0, c0, seq_lengths)
        else:
            import kernels  # GPU / interpreter dependencies load only on this path

            y, h, c = kernels.lstm_recurrence(gates_x, w_h, h0, c0, seq_lengths, impl=impl)
        return y, (h, c)


class Bidirectional(nnx.Module):
    """Runs ``forward`` and ``backward`` (``reverse=True``) and merges outputs ("concat" / "sum").

    The backward direction respects ``seq_lengths``. Carry: (forward carry, backward carry).
    """

    def __init__(self, forward: RNN, backward: RNN, merge: str = "concat"):
        if not backward.reverse:
            fail("Bidirectional", "backward", "an RNN with reverse=True", "reverse=False")
        self.merge = check_choice("Bidirectional", "merge", merge, ("concat", "sum"))
        if merge == "sum" and forward.output_size != backward.output_size:
            fail("Bidirectional", "merge", '"concat" when directions differ in size',
                 f"sum of {forward.output_size} and {backward.output_size}")
        self.forward, self.backward = forward, backward

    @property
    def output_size(self) -> int:
        out = self.forward.output_size
        return out + self.backward.output_size if self.merge == "concat" else out

    def initial_carry(self, batch_size: int) -> tuple[Any, Any]:
        return self.forward.initial_carry(batch_size), self.backward.initial_carry(batch_size)

    def __call__(self, x: Array, *, seq_lengths: Array | None = None, initial_carry: Any = None,
                 dropout_key: Array | None = None) -> tuple[Array, tuple[Any, Any]]:
        carry_f, carry_b = (None, None) if initial_carry is None else initial_carry
        key_f, key_b = (None, None) if dropout_key is None else jax.random.split(dropout_key)
        y_f, carry_f = self.forward(x, seq_lengths=seq_lengths, initial_carry=carry_f,
                                    dropout_key=key_f)
        y_b, carry_b = self.backward(x, seq_lengths=seq_lengths, initial_carry=carry_b,
                                     dropout_key=key_b)
        y = jnp.concatenate([y_f, y_b], -1) if self.merge == "concat" else y_f + y_b
        return y, (carry_f, carry_b)


class StackedRNN(nnx.Module):
    """``num_layers`` recurrent layers of one cell kind, uni- or bidirectional.

    Between layers: dropout (``variational=True`` shares the mask over time, Gal & Ghahramani
    2016) and skip connections as in Britz et al. 2017:
      * ``"residual"``: a layer's output is f_k(in_k) + in_k wherever the sizes match;
      * ``"dense"`` (ResD): the input of layer k >= 1 is the sum of all lower layers' outputs,
        and the stack's output is the sum of all layers' outputs.
    The depth-gated LSTM passes each layer's memory cell up to the next (Yao et al. 2015); the
    stack then returns only the top layer's h.
    """

    def __init__(self, kind: str, input_size: int, hidden_size: int, num_layers: int, *,
                 rngs: nnx.Rngs, bidirectional: bool = False, dropout: float = 0.0,
                 variational: bool = False, skip: str = "none", impl: str = "scan",
                 zoneout: float = 0.0, dropconnect: float = 0.0, unroll: int = 1,
                 cell_kwargs: dict[str, Any] | None = None):
        where = "StackedRNN"
        self.num_layers = check_positive_int(where, "num_layers", num_layers)
        self.hidden_size = check_positive_int(where, "hidden_size", hidden_size)
        self.dropout = check_rate(where, "dropout", dropout)
        self.skip = check_choice(where, "skip", skip, SKIPS)
        self.variational = bool(variational)
        self.depth_gated = kind == "depth_gated_lstm"
        if self.depth_gated and (bidirectional or skip != "none"):
            fail(where, "kind", "not depth_gated_lstm with bidirectional or skip connections",
                 repr(kind))
        rnn_kwargs = {"impl": impl, "zoneout": zoneout, "dropconnect": dropconnect,
                      "unroll": unroll}
        cell_kwargs = dict(cell_kwargs or {})

        def rnn(layer: int, size: int, reverse: bool) -> RNN:
            kwargs = dict(cell_kwargs)
            if self.depth_gated:
                size, kwargs["lower_size"] = (size, 0) if layer == 0 else (hidden_size, hidden_size)
            cell = make_cell(kind, size, hidden_size, rngs=rngs, **kwargs)
            return RNN(cell, reverse=reverse, **rnn_kwargs)

        layers, size = [], input_size
        for layer in range(self.num_layers):
            if bidirectional:
                layers.append(Bidirectional(rnn(layer, size, False), rnn(layer, size, True)))
            else:
                layers.append(rnn(layer, size, False))
            size = layers[-1].output_size
        self.layers = nnx.List(layers)
        self.input_size = input_size

    @property
    def output_size(self) -> int:
        return self.hidden_size if self.depth_gated else self.layers[-1].output_size

    def initial_carry(self, batch_size: int) -> list[Any]:
        return [layer.initial_carry(batch_size) for layer in self.layers]

    def __call__(self, x: Array, *, seq_lengths: Array | None = None,
                 initial_carry: list[Any] | None = None,
                 dropout_key: Array | None = None) -> tuple[Array, list[Any]]:
        """x [B, T, input_size] -> (outputs [B, T, output_size], one final carry per layer)."""
        if initial_carry is not None and len(initial_carry) != self.num_layers:
            fail("StackedRNN", "initial_carry", f"a list of {self.num_layers} layer carries",
                 f"{len(initial_carry)} entries")
        carries = initial_carry or [None] * self.num_layers
        keys = (jax.random.split(dropout_key, 2 * self.num_layers) if dropout_key is not None
                else [None] * (2 * self.num_layers))

        def run_layer(k: int, layer: Any, inputs: Array) -> tuple[Array, Any]:
            return layer(inputs, seq_lengths=seq_lengths, initial_carry=carries[k],
                         dropout_key=keys[2 * k + 1])

        return self._through_layers(x, run_layer, keys[::2], locked=self.variational)

    def step(self, x_t: Array, carries: list[Any], *, dropout_key: Array | None = None
             ) -> tuple[Array, list[Any]]:
        """One step of a unidirectional stack: x_t [B, input_size] -> (y_t, carries).

        Dropout and skips as in ``__call__``. Pass the same ``dropout_key`` at every step of a
        sequence for variational dropout (one mask over time), a new key per step otherwise.
        """
        if any(isinstance(layer, Bidirectional) for layer in self.layers):
            fail("StackedRNN.step", "self.bidirectional", "False (a backward direction needs "
                 "the whole sequence)", True)
        if len(carries) != self.num_layers:
            fail("StackedRNN.step", "carries", f"a list of {self.num_layers} layer carries",
                 f"{len(carries)} entries")
        if dropout_key is not None and any(layer.zoneout or layer.dropconnect
                                           for layer in self.layers):
            fail("StackedRNN.step", "dropout_key", "None for layers with zoneout or "
                 "DropConnect (step runs them in evaluation only)", "a key")
        keys = (jax.random.split(dropout_key, self.num_layers) if dropout_key is not None
                else [None] * self.num_layers)
        return self._through_layers(x_t, lambda k, layer, inputs: layer.step(inputs, carries[k]),
                                    keys, locked=False)

    def _through_layers(self, x: Array, run_layer: Any, dropout_keys: list[Any], *,
                        locked: bool) -> tuple[Array, list[Any]]:
        """The stack's wiring, shared by whole sequences and single steps: dropout on the
        input of every layer above the first, then the residual or dense (ResD) skips."""
        inputs, outputs, final = x, [], []
        for k, layer in enumerate(self.layers):
            if k > 0:
                inputs = regularizers.dropout(inputs, self.dropout, dropout_keys[k],
                                              locked=locked)
            y, carry = run_layer(k, layer, inputs)
            if self.skip == "residual" and y.shape[-1] == inputs.shape[-1]:
                y = y + inputs
            outputs.append(y)
            final.append(carry)
            inputs = sum(outputs) if self.skip == "dense" else y
        if self.depth_gated:
            inputs = inputs[..., : self.hidden_size]
        return inputs, final
