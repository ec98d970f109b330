"""Layers that run recurrent cells over time: RNN, Bidirectional, StackedRNN.

Inputs are batch-major [batch, time, features]. ``RNN`` runs a recurrence: it hoists the input
projection out of the loop (one matmul for all steps), then runs the cell's step with one of the
implementations in ``IMPLS`` (see :func:`resolve_impl`). ``Bidirectional`` runs both directions in
one scan and ``StackedRNN`` runs its layers as one wavefront scan where the cell allows it
(``rnnjax.recurrence``).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax import cpu_kernels, regularizers
from rnnjax.cells import LogLinearCell, LSTMCell, RecurrentCell, make_cell
from rnnjax.cells.base import as_blocks, from_blocks
from rnnjax.linear_scan import log_linear_recurrence
from rnnjax.recurrence import accumulation_dtype, lanes_recurrence, time_mask
from rnnjax.validation import (
    check_carry,
    check_choice,
    check_float_array,
    check_positive_int,
    check_rate,
    check_seq_lengths,
    fail,
)

Array = jax.Array
#: "auto": the fastest correct choice (resolve_impl); "scan": lax.scan + autodiff, any cell;
#: "xla": hand-written backward (rnnjax.recurrence), cells with ``math`` (LSTM, GRU, Elman);
#: "triton"/"triton_cell": the fused GPU kernels (``rnnjax_kernels``, LSTMCell); "*_interpret": the
#: same kernels under Triton's CPU interpreter (tests); "parallel": the log-space parallel scan of
#: the cells whose gates read x_t only (minGRU, minLSTM; ``rnnjax.linear_scan``); "cpu_fused": the
#: fused C++ LSTM kernel of ``rnnjax.cpu_kernels`` (LSTMCell, CPU, float32/bfloat16).
# Widest layers the wavefront runs by default. On a 2-core CPU (benchmarks/results/layers_cpu.md)
# it is 3-5% faster than layer by layer at H = 256, even at H = 200, and 17-37% slower at
# H = 650 and 1024: there one lane's product fills the cores, and the wavefront loses the hoisted
# input projection of the upper layers.
WAVEFRONT_MAX_HIDDEN = 256

IMPLS = ("auto", "scan", "xla", "triton", "triton_cell", "triton_interpret",
         "triton_cell_interpret", "parallel", "cpu_fused")
SKIPS = ("none", "residual", "dense")


def reverse_within_lengths(x: Array, seq_lengths: Array | None) -> Array:
    """Reverse x [B, T, ...] along time within each sequence's length; padding stays in place."""
    if seq_lengths is None:
        return jnp.flip(x, axis=1)
    t = jnp.arange(x.shape[1])[None, :]
    index = jnp.where(t < seq_lengths[:, None], seq_lengths[:, None] - 1 - t, t)
    return jnp.take_along_axis(x, index.reshape(*index.shape, *([1] * (x.ndim - 2))), axis=1)


@functools.cache
def _triton_available() -> bool:
    if jax.default_backend() != "gpu":
        return False
    try:
        import rnnjax_kernels
    except ImportError:
        return False
    return rnnjax_kernels.gpu_available()


#: the Triton kernels "auto" tries for an LSTMCell on a GPU, in order of preference.
AUTO_KERNELS = ("triton", "triton_cell")


def _kernel_accepts(kernel: str, cell: LSTMCell, dtype: Any) -> bool:
    """Whether ``kernel``'s input checks (``rnnjax_kernels.check_arrays``) pass for the arrays
    ``RNN`` would hand it for inputs of ``dtype``: the projected gates, W_h and the carry."""
    import rnnjax_kernels

    inputs = jax.ShapeDtypeStruct((1, 1, cell.input_size), dtype)
    gates = jax.eval_shape(cell.project_inputs, inputs)
    carry = jax.ShapeDtypeStruct((1, cell.hidden_size), accumulation_dtype(dtype))
    try:
        rnnjax_kernels.check_arrays(gates, jax.ShapeDtypeStruct(cell.w_h.shape, cell.w_h.dtype),
                                    carry, carry, kernel)
    except (TypeError, ValueError):
        return False
    return True


def _cpu_kernel_runs(dtype: Any) -> bool:
    """Whether ``"auto"`` sends an LSTMCell to the fused CPU kernel: the extension is loaded, the
    inputs are float32 or bfloat16 and each call sees one device's rows: the process computes on
    one CPU device, or on several with the mesh of all of them set by ``jax.set_mesh`` (the call
    then runs per device, ``rows_per_device``) or inside a ``shard_map`` over all of them. XLA
    does not partition a custom call itself: under plain ``jax.jit`` with sharded inputs every
    device would run the whole batch."""
    mesh = jax.sharding.get_abstract_mesh()
    return (jax.default_backend() == "cpu"
            and (jax.device_count() == 1 or mesh.size == jax.device_count())
            and jnp.dtype(dtype) in (jnp.dtype(jnp.float32), jnp.dtype(jnp.bfloat16))
            and cpu_kernels.available())


def rows_per_device(fn: Any, batch: int, in_axes: tuple[int | None, ...],
                    out_axes: tuple[int, ...]) -> Any:
    """``fn`` split over the devices of the mesh set by ``jax.set_mesh`` along the batch axis of
    each argument and output (``None``: an argument every device reads whole, e.g. W_h): per-core
    data parallelism, each device runs ``fn`` on its B / devices rows; ``shard_map``'s transpose
    sums the cotangents of the whole arguments over the devices. ``fn`` itself when no mesh of
    several devices is set, when its axes are already manual (inside ``shard_map``) or when
    ``batch`` does not split evenly (then XLA runs the whole batch on every device)."""
    mesh = jax.sharding.get_abstract_mesh()
    if mesh.size < 2 or mesh.manual_axes or batch % mesh.size:
        return fn

    def spec(axis: int | None) -> jax.sharding.PartitionSpec:
        if axis is None:
            return jax.sharding.PartitionSpec()
        return jax.sharding.PartitionSpec(*([None] * axis), mesh.axis_names)

    return jax.shard_map(fn, mesh=mesh, in_specs=tuple(map(spec, in_axes)),
                         out_specs=tuple(map(spec, out_axes)), check_vma=False)


def resolve_impl(impl: str, cell: RecurrentCell, zoneout: float = 0.0,
                 dtype: Any = jnp.float32) -> str:
    """An explicit ``impl`` as given; ``"auto"`` for inputs of ``dtype`` -> for an LSTMCell on a
    GPU with the kernels' dependencies, the first of ``AUTO_KERNELS`` whose input checks accept
    the cell's head size and dtypes (the whole-sequence kernel takes heads <= 64 units, the cell
    kernel any; both float32 or bfloat16 gates with W_h of the same dtype); for an LSTMCell on
    one CPU device or per device of a set mesh, ``"cpu_fused"`` when its extension is built
    (``_cpu_kernel_runs``; it beats "xla" on every LSTM row of
    benchmarks/results/layers_cpu.md); ``"parallel"`` for minGRU/minLSTM (``LogLinearCell``);
    ``"xla"`` for any other cell with a hand-written backward (``cell.math``, and for an LSTMCell
    no kernel accepts); ``"scan"`` for the rest and whenever zoneout is on."""
    if impl != "auto":
        return impl
    if isinstance(cell, LogLinearCell) and not zoneout:  # minGRU, minLSTM: "parallel"
        return "parallel"
    if zoneout or cell.math is None:
        return "scan"
    if type(cell) is LSTMCell and _triton_available():
        for kernel in AUTO_KERNELS:
            if _kernel_accepts(kernel, cell, dtype):
                return kernel
    if type(cell) is LSTMCell and _cpu_kernel_runs(dtype):
        return "cpu_fused"
    return "xla"


class RNN(nnx.Module):
    """Runs ``cell`` over time.

    ``seq_lengths`` [B] makes outputs past each length exactly zero and returns the carry of each
    sequence's last valid step; nothing past a length (not even NaN) reaches outputs or gradients.
    ``reverse=True`` runs from each sequence's last valid step back to its first. The final carry
    can be fed back as ``initial_carry`` (truncated BPTT). Regularisers (active only when a
    ``dropout_key`` is given): ``zoneout`` on the carry, ``dropconnect`` on the recurrent matrices.
    Under ``jax.jit`` lengths cannot be checked; values outside [0, T] are clamped into it.
    """

    def __init__(self, cell: RecurrentCell, *, reverse: bool = False, impl: str = "auto",
                 zoneout: float = 0.0, dropconnect: float = 0.0, unroll: int = 1):
        if not isinstance(cell, RecurrentCell):
            fail("RNN", "cell", "a RecurrentCell", type(cell).__name__, TypeError)
        self.cell = cell
        self.reverse = bool(reverse)
        self.impl = check_choice("RNN", "impl", impl, IMPLS)
        self.zoneout = check_rate("RNN", "zoneout", zoneout)
        self.dropconnect = check_rate("RNN", "dropconnect", dropconnect)
        self.unroll = check_positive_int("RNN", "unroll", unroll)
        name = type(cell).__name__
        if impl == "xla" and cell.math is None:
            fail("RNN", "impl", f'"scan" or "auto" for {name} (impl="xla" runs LSTMCell, '
                 "GRUCell(reset_after=True) and ElmanCell)", repr(impl))
        if impl.startswith("triton") and type(cell) is not LSTMCell:
            fail("RNN", "impl", f'"scan", "xla" or "auto" for {name} (the Triton kernels run '
                 "LSTMCell only)", repr(impl))
        if impl == "cpu_fused" and type(cell) is not LSTMCell:
            fail("RNN", "impl", f'"scan", "xla" or "auto" for {name} (impl="cpu_fused" runs '
                 "LSTMCell only)", repr(impl))
        if impl == "cpu_fused" and not cpu_kernels.available():
            fail("RNN", "impl", f'"xla" or "auto" ({cpu_kernels.load_error()})', repr(impl),
                 RuntimeError)
        if impl == "parallel" and not isinstance(cell, LogLinearCell):
            fail("RNN", "impl", f'"scan" or "auto" for {name} (impl="parallel" runs the cells '
                 "whose gates read x_t only: mingru, minlstm)", repr(impl))
        if self.zoneout and impl not in ("scan", "auto"):
            fail("RNN", "zoneout", f'0 with impl={impl!r} (zoneout runs with impl="scan")',
                 zoneout)

    @property
    def output_size(self) -> int:
        return self.cell.output_size

    def resolved_impl(self, dtype: Any = jnp.float32) -> str:
        """The implementation a call on inputs of ``dtype`` runs (``resolve_impl``)."""
        return resolve_impl(self.impl, self.cell, self.zoneout, dtype)

    def initial_carry(self, batch_size: int) -> Any:
        return self.cell.initial_carry(batch_size)

    def __call__(self, x: Array, *, seq_lengths: Array | None = None, initial_carry: Any = None,
                 dropout_key: Array | None = None, projected: bool = False) -> tuple[Array, Any]:
        """x [B, T, input_size] -> (outputs [B, T, output_size], final carry).

        ``projected=True``: x is already ``cell.project_inputs`` of the inputs [B, T, G*H], e.g.
        rows gathered from a projected embedding table.
        """
        seq_lengths = self._check_inputs(x, seq_lengths, projected)
        carry = self._start(x.shape[0], x.dtype, initial_carry)
        dropconnect_key, zoneout_key = self._keys(dropout_key)
        impl = self.resolved_impl(x.dtype)
        params = self._recurrent_params(dropconnect_key)
        if impl == "cpu_fused":  # the kernel reads and writes batch-major in input order
            x_proj = self._project(x, seq_lengths, projected, time_major=False,
                                   reading_order=False)
            return self._cpu_fused(params["w_h"], carry, x_proj, seq_lengths)
        x_proj = self._project(x, seq_lengths, projected)
        if impl == "scan":
            y, carry = self._scan(params, carry, x_proj, seq_lengths, zoneout_key)
        elif impl == "xla":
            (y,), (carry,) = run_lanes([self], [x_proj], [params], [carry], seq_lengths)
        elif impl == "parallel":
            mask = None if seq_lengths is None else time_mask(seq_lengths, x.shape[0], x.shape[1])
            y, carry = log_linear_recurrence(*self.cell.log_coefficients(x_proj), carry, mask)
        else:
            y, carry = self._triton(impl, params["w_h"], carry, x_proj, seq_lengths)
        return self._output(y, seq_lengths), carry

    def _check_inputs(self, x: Array, seq_lengths: Array | None, projected: bool = False
                      ) -> Array | None:
        """Validate x and seq_lengths; lengths that are tracers are clamped to [0, T]."""
        check_float_array("RNN", "x", x, 3, self.projected_size if projected
                          else self.cell.input_size)
        batch, time, _ = x.shape
        check_seq_lengths("RNN", seq_lengths, batch, time)
        return None if seq_lengths is None else jnp.clip(seq_lengths, 0, time)

    def _start(self, batch: int, dtype: Any, initial_carry: Any, where: str = "RNN",
               name: str = "initial_carry") -> Any:
        """The carry before step 0: zeros, or ``initial_carry`` checked against them."""
        zeros = self.cell.initial_carry(batch, accumulation_dtype(dtype))
        if initial_carry is None:
            return zeros
        return check_carry(where, name, initial_carry, zeros)

    @staticmethod
    def _keys(dropout_key: Array | None) -> tuple[Array | None, Array | None]:
        """(DropConnect key, zoneout key) of a call."""
        return (None, None) if dropout_key is None else tuple(jax.random.split(dropout_key))

    @property
    def projected_size(self) -> int:
        """Width G*H of ``cell.project_inputs``'s output."""
        probe = jax.ShapeDtypeStruct((1, self.cell.input_size), jnp.float32)
        return jax.eval_shape(self.cell.project_inputs, probe).shape[-1]

    def _project(self, x: Array, seq_lengths: Array | None, projected: bool = False,
                 time_major: bool = True, reading_order: bool = True) -> Array:
        """Time-major x_t W_x + b [T, B, G*H] (batch-major [B, T, G*H] when not
        ``time_major``), in the order the recurrence reads it (input order when not
        ``reading_order``: the fused CPU kernel reverses a direction itself).

        Padding is replaced by zeros with a select before any arithmetic, so that a NaN or inf
        there cannot reach a gradient.
        """
        if seq_lengths is not None:
            inside = time_mask(seq_lengths, x.shape[0], x.shape[1]).T
            x = jnp.where(inside[:, :, None], x, jnp.zeros((), x.dtype))
        if self.reverse and reading_order:
            x = reverse_within_lengths(x, seq_lengths)
        if time_major:
            x = jnp.swapaxes(x, 0, 1)
        return x if projected else self.cell.project_inputs(x)

    def _recurrent_params(self, dropconnect_key: Array | None) -> dict[str, Array]:
        return regularizers.dropconnect(self.cell.recurrent_params(),
                                        self.cell.recurrent_weight_names, self.dropconnect,
                                        dropconnect_key)

    def _output(self, y: Array, seq_lengths: Array | None) -> Array:
        """Time-major outputs in reading order -> batch-major outputs in input order."""
        y = jnp.swapaxes(y, 0, 1)
        return reverse_within_lengths(y, seq_lengths) if self.reverse else y

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
        time, batch, _ = x_proj.shape
        keys = jax.random.split(zoneout_key, time) if zoneout_key is not None and rate else None
        masked = seq_lengths is not None

        def body(carry, inputs):
            x_t, m_t, key_t = inputs
            new = cell.step(params, carry, x_t)
            new = regularizers.zoneout(carry, new, rate, key_t)
            if masked:
                new = jax.tree.map(lambda n, o: jnp.where(
                    m_t.reshape(-1, *(1,) * (n.ndim - 1)), n, o), new, carry)
            y = cell.output(new)
            return new, (jnp.where(m_t[:, None], y, 0.0) if masked else y)

        mask = time_mask(seq_lengths, batch, time) if masked else None
        return jax.lax.scan(body, carry, (x_proj, mask, keys), unroll=self.unroll)[::-1]

    def _cpu_fused(self, w_h, carry, gates_x, seq_lengths):
        """Batch-major gates_x [B, T, 4H] in input order -> outputs [B, T, H], final carry."""
        h0, c0 = carry
        if seq_lengths is None:
            seq_lengths = jnp.full(gates_x.shape[:1], gates_x.shape[1], jnp.int32)
        recurrence = functools.partial(cpu_kernels.lstm_recurrence_cpu, reverse=self.reverse)
        y, h, c = rows_per_device(recurrence, gates_x.shape[0], (0, None, 0, 0, 0), (0, 0, 0))(
            gates_x, w_h.astype(gates_x.dtype), h0, c0, seq_lengths)
        return y, (h, c)

    def _triton(self, impl, w_h, carry, gates_x, seq_lengths):
        import rnnjax_kernels  # GPU / interpreter dependencies load only on this path

        h0, c0 = carry
        y, h, c = rnnjax_kernels.lstm_recurrence(jnp.swapaxes(gates_x, 0, 1), w_h, h0, c0,
                                                 seq_lengths, impl=impl)
        return jnp.swapaxes(y, 0, 1), (h, c)


def can_share_scan(rnns: list[RNN], dtype: Any = jnp.float32, *, forced: bool = False) -> bool:
    """True when ``rnns`` can run as lanes of one ``lanes_recurrence``: every one resolves to
    impl "xla" for inputs of ``dtype`` (with ``forced``, e.g. ``StackedRNN(wavefront=True)``,
    an "auto" layer that would run the fused CPU kernel counts too) and their cells have the
    same math, class and recurrent-matrix shape."""
    first = rnns[0].cell
    runs_xla = ("xla", "cpu_fused") if forced else ("xla",)
    return all(rnn.resolved_impl(dtype) in runs_xla and rnn.impl in ("auto", "xla")
               and type(rnn.cell) is type(first)
               and rnn.cell.math == first.math and rnn.cell.w_h.shape == first.w_h.shape
               for rnn in rnns)


def _stack_lanes(rnns: list[RNN], params: list[dict], carries: list[Any]):
    """Stack per-lane recurrent weights and carries on a leading lane axis."""
    weights = [rnn.cell.recurrent_weights(p) for rnn, p in zip(rnns, params, strict=True)]
    w_h = jnp.stack([w for w, _ in weights])
    b_h = None if weights[0][1] is None else jnp.stack([b for _, b in weights])
    carry0 = tuple(jnp.stack(leaves) for leaves in zip(*map(as_blocks, carries), strict=True))
    return w_h, b_h, carry0


def _unstack_carries(final: tuple[Array, ...]) -> list[Any]:
    return [from_blocks(tuple(leaf[lane] for leaf in final)) for lane in range(final[0].shape[0])]


def run_lanes(rnns: list[RNN], x_projs: list[Array], params: list[dict], carries: list[Any],
              seq_lengths: Array | None) -> tuple[list[Array], list[Any]]:
    """Run ``rnns`` (``can_share_scan``) side by side in one scan on their time-major inputs.

    Returns each lane's time-major outputs [T, B, H] and final carry.
    """
    w_h, b_h, carry0 = _stack_lanes(rnns, params, carries)
    time, batch, _ = x_projs[0].shape
    mask = None if seq_lengths is None else time_mask(seq_lengths, batch, time)
    ys, final = lanes_recurrence(rnns[0].cell.math, jnp.stack(x_projs, 1), w_h, carry0,
                                 mask=mask, b_h=b_h)
    return [ys[:, lane] for lane in range(len(rnns))], _unstack_carries(final)


def _check_pair(where: str, name: str, value: Any) -> tuple[Any, Any]:
    if value is None:
        return None, None
    if not isinstance(value, tuple | list) or len(value) != 2:
        actual = f"{type(value).__name__} of length {len(value)}" if isinstance(
            value, tuple | list) else type(value).__name__
        fail(where, name, "a (forward, backward) pair", actual, TypeError)
    return tuple(value)


class Bidirectional(nnx.Module):
    """Runs ``forward`` (reverse=False) and ``backward`` (reverse=True) and merges their outputs
    ("concat" / "sum"). Both directions run in one call of the fused CPU kernel when both resolve
    to impl "cpu_fused", else in one scan when their cells allow it (:func:`can_share_scan`).
    The backward direction respects ``seq_lengths``.
    Carry: (forward carry, backward carry).
    """

    def __init__(self, forward: RNN, backward: RNN, merge: str = "concat"):
        for name, rnn, reverse in (("forward", forward, False), ("backward", backward, True)):
            if not isinstance(rnn, RNN):
                fail("Bidirectional", name, "an RNN", type(rnn).__name__, TypeError)
            if rnn.reverse != reverse:
                fail("Bidirectional", name, f"an RNN with reverse={reverse}",
                     f"reverse={rnn.reverse}")
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
        carry_f, carry_b = _check_pair("Bidirectional", "initial_carry", initial_carry)
        key_f, key_b = (None, None) if dropout_key is None else jax.random.split(dropout_key)
        directions = [self.forward, self.backward]
        fused = self._runs_cpu_fused(x.dtype)
        if fused or can_share_scan(directions, x.dtype):
            seq_lengths = self.forward._check_inputs(x, seq_lengths)
            carries = [rnn._start(x.shape[0], x.dtype, c, "Bidirectional", f"initial_carry[{i}]")
                       for i, (rnn, c) in enumerate(zip(directions, (carry_f, carry_b),
                                                        strict=True))]
            params = [rnn._recurrent_params(rnn._keys(k)[0])
                      for rnn, k in zip(directions, (key_f, key_b), strict=True)]
        if fused:
            (y_f, y_b), (carry_f, carry_b) = self._cpu_fused(x, seq_lengths, params, carries)
        elif can_share_scan(directions, x.dtype):
            ys, (carry_f, carry_b) = run_lanes(
                directions, [rnn._project(x, seq_lengths) for rnn in directions], params, carries,
                seq_lengths)
            y_f, y_b = (rnn._output(y, seq_lengths) for rnn, y in zip(directions, ys, strict=True))
        else:
            y_f, carry_f = self.forward(x, seq_lengths=seq_lengths, initial_carry=carry_f,
                                        dropout_key=key_f)
            y_b, carry_b = self.backward(x, seq_lengths=seq_lengths, initial_carry=carry_b,
                                         dropout_key=key_b)
        y = jnp.concatenate([y_f, y_b], -1) if self.merge == "concat" else y_f + y_b
        return y, (carry_f, carry_b)

    def _runs_cpu_fused(self, dtype: Any) -> bool:
        """Both directions run the fused CPU kernel with recurrent weights of one shape."""
        return all(rnn.resolved_impl(dtype) == "cpu_fused" for rnn in (self.forward, self.backward)
                   ) and self.forward.cell.w_h.shape == self.backward.cell.w_h.shape

    def _cpu_fused(self, x: Array, seq_lengths: Array | None, params: list[dict],
                   carries: list[Any]) -> tuple[tuple[Array, Array], tuple[Any, Any]]:
        """Both directions in one call of the fused CPU kernel (one core each on two cores);
        inputs and outputs stay batch-major and in input order: no transposes or reversals."""
        directions = (self.forward, self.backward)
        gates_x = jnp.stack([rnn._project(x, seq_lengths, time_major=False, reading_order=False)
                             for rnn in directions])
        w_h = jnp.stack([p["w_h"] for p in params]).astype(gates_x.dtype)
        h0, c0 = (jnp.stack(leaves) for leaves in zip(*carries, strict=True))
        if seq_lengths is None:
            seq_lengths = jnp.full(x.shape[:1], x.shape[1], jnp.int32)
        ys, h, c = rows_per_device(cpu_kernels.bidirectional_lstm_recurrence_cpu, x.shape[0],
                                   (1, None, 1, 1, 0), (1, 1, 1))(gates_x, w_h, h0, c0,
                                                                  seq_lengths)
        return (ys[0], ys[1]), ((h[0], c[0]), (h[1], c[1]))


def check_dilations(where: str, dilations: Any, num_layers: int, name: str = "dilations"
                    ) -> tuple[int, ...]:
    """``dilations``: one positive int per layer (Chang et al. 2017 use 2^l for layer l)."""
    if (not isinstance(dilations, list | tuple) or len(dilations) != num_layers
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1
                       for d in dilations)):
        fail(where, name, f"{num_layers} positive ints (one per layer, e.g. "
             f"{[2 ** layer for layer in range(num_layers)]})", repr(dilations))
    return tuple(dilations)


class DilatedRNN(nnx.Module):
    """A recurrent layer whose step t reads the state of step t - d: h_t = f(x_t, h_{t-d})
    (the dilated recurrent skip connection of Chang et al. 2017, eq. 1).

    Positions t = j (mod d) form d independent chains. The layer folds them into the batch
    ([B, T] -> [B*d, ceil(T/d)], time padded to a multiple of d), runs ``rnn`` once over all
    chains (any impl) and unfolds the outputs. Chain j of a sequence of length L has
    ceil((L - j) / d) steps, so ``seq_lengths`` mask exactly as in ``RNN``: outputs past L are 0
    and nothing there reaches outputs or gradients.

    Carry: every leaf of the cell's carry with a chain axis, [B, d, ...]. Entry j of
    ``initial_carry`` is the state position j reads (h_{j-d}); entry j of the final carry is the
    state position L + j would read (h_{L+j-d}), so a final carry fed back as the next chunk's
    initial carry continues every chain, and ``step`` uses the carry as a ring buffer.
    """

    def __init__(self, rnn: RNN, dilation: int):
        if not isinstance(rnn, RNN):
            fail("DilatedRNN", "rnn", "an RNN", type(rnn).__name__, TypeError)
        if rnn.reverse:
            fail("DilatedRNN", "rnn", "an RNN with reverse=False (dilated layers run forward "
                 "only)", "reverse=True")
        self.rnn = rnn
        self.dilation = check_positive_int("DilatedRNN", "dilation", dilation)

    @property
    def output_size(self) -> int:
        return self.rnn.output_size

    @property
    def zoneout(self) -> float:
        return self.rnn.zoneout

    @property
    def dropconnect(self) -> float:
        return self.rnn.dropconnect

    def initial_carry(self, batch_size: int) -> Any:
        return jax.tree.map(lambda c: jnp.repeat(c[:, None], self.dilation, 1),
                            self.rnn.initial_carry(batch_size))

    def __call__(self, x: Array, *, seq_lengths: Array | None = None, initial_carry: Any = None,
                 dropout_key: Array | None = None) -> tuple[Array, Any]:
        """x [B, T, input_size] -> (outputs [B, T, output_size], final carry [B, d, ...])."""
        d = self.dilation
        lengths = self.rnn._check_inputs(x, seq_lengths)
        batch, time, features = x.shape
        chunks = -(-time // d)
        if initial_carry is None:
            initial_carry = self.initial_carry(batch)
        initial_carry = check_carry("DilatedRNN", "initial_carry", initial_carry,
                                    self.initial_carry(batch))
        lengths = jnp.full((batch,), time) if lengths is None else lengths
        inside = jnp.arange(time)[None, :] < lengths[:, None]
        x = jnp.where(inside[:, :, None], x, jnp.zeros((), x.dtype))
        x = jnp.pad(x, ((0, 0), (0, chunks * d - time), (0, 0)))
        folded = x.reshape(batch, chunks, d, features).swapaxes(1, 2)
        chain_lengths = jnp.maximum((lengths[:, None] - jnp.arange(d) + d - 1) // d, 0)
        # an empty chain (L < d) runs one step on zeros whose output and carry are discarded
        y, final = self.rnn(folded.reshape(batch * d, chunks, features),
                            seq_lengths=jnp.maximum(chain_lengths, 1).reshape(-1),
                            initial_carry=jax.tree.map(
                                lambda c: c.reshape(batch * d, *c.shape[2:]), initial_carry),
                            dropout_key=dropout_key)
        y = y.reshape(batch, d, chunks, -1).swapaxes(1, 2).reshape(batch, chunks * d, -1)
        y = jnp.where(inside[:, :, None], y[:, :time], jnp.zeros((), y.dtype))
        next_reads = (lengths[:, None] + jnp.arange(d)) % d  # the chain position L + j reads

        def carry_out(last: Array, start: Array) -> Array:
            last = last.reshape(batch, d, *last.shape[1:])
            empty = (chain_lengths == 0).reshape(batch, d, *([1] * (last.ndim - 2)))
            last = jnp.where(empty, start, last)
            return jnp.take_along_axis(last, next_reads.reshape(empty.shape), axis=1)

        return y, jax.tree.map(carry_out, final, initial_carry)

    def step(self, x_t: Array, carry: Any) -> tuple[Array, Any]:
        """One step: the state read is the carry's entry 0; the new state joins at the end."""
        y, new = self.rnn.step(x_t, jax.tree.map(lambda c: c[:, 0], carry))
        return y, jax.tree.map(lambda c, n: jnp.concatenate([c[:, 1:], n[:, None]], 1),
                               carry, new)


class StackedRNN(nnx.Module):
    """``num_layers`` recurrent layers of one cell kind, uni- or bidirectional.

    Between layers: dropout (``variational=True`` shares the mask over time, Gal & Ghahramani
    2016) and skip connections as in Britz et al. 2017:
      * ``"residual"``: a layer's output is f_k(in_k) + in_k wherever the sizes match;
      * ``"dense"`` (ResD): x_{k+1} = f_k(x_k) + sum_{j <= k} x_j, every lower layer's input
        (the stack's input x_1 too where its size matches) added to a layer's output (Britz et
        al. 2017); the stack's output is x_{L+1}.
    The depth-gated LSTM passes each layer's memory cell up to the next (Yao et al. 2015); the
    stack then returns only the top layer's h.

    ``wavefront``: run the layers as one wavefront scan (``rnnjax.recurrence``; layer l at step
    t alongside layer l+1 at step t-1), with the same outputs and gradients as layer by layer.
    None (default) uses it wherever it applies and is not slower: several unidirectional layers
    without skips whose cells resolve to impl "xla" (dense LSTM, GRU, Elman), no zoneout, and
    ``hidden_size`` <= ``WAVEFRONT_MAX_HIDDEN``. True requires it, False turns it off.

    ``dilations``: one positive int d_l per layer; layer l is then a ``DilatedRNN`` whose step
    t reads h_{t-d_l} (Chang et al. 2017, who use d_l = 2^l); unidirectional stacks only.
    """

    def __init__(self, kind: str, input_size: int, hidden_size: int, num_layers: int, *,
                 rngs: nnx.Rngs, bidirectional: bool = False, dropout: float = 0.0,
                 variational: bool = False, skip: str = "none", impl: str = "auto",
                 zoneout: float = 0.0, dropconnect: float = 0.0, unroll: int = 1,
                 wavefront: bool | None = None, cell_kwargs: dict[str, Any] | None = None,
                 dilations: list[int] | tuple[int, ...] | None = None):
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
        if wavefront not in (None, True, False):
            fail(where, "wavefront", "None, True or False", repr(wavefront))
        self.wavefront = wavefront
        if dilations is not None:
            dilations = check_dilations(where, dilations, self.num_layers)
            if bidirectional:
                fail(where, "bidirectional", "False with dilations (dilated layers run forward "
                     "only)", True)
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
            elif dilations is not None:
                layers.append(DilatedRNN(rnn(layer, size, False), dilations[layer]))
            else:
                layers.append(rnn(layer, size, False))
            size = layers[-1].output_size
        self.layers = nnx.List(layers)
        self.input_size = input_size
        if wavefront and not self._wavefront_applies():
            fail(where, "wavefront", "None or False for this stack (the wavefront runs >= 2 "
                 "unidirectional layers without skips, of dense LSTM, GRU or Elman cells with "
                 "impl 'auto' or 'xla' and no zoneout)", True)

    @property
    def output_size(self) -> int:
        return self.hidden_size if self.depth_gated else self.layers[-1].output_size

    def initial_carry(self, batch_size: int) -> list[Any]:
        return [layer.initial_carry(batch_size) for layer in self.layers]

    def _wavefront_applies(self, dtype: Any = jnp.float32) -> bool:
        layers = list(self.layers)
        if self.wavefront is None and self.hidden_size > WAVEFRONT_MAX_HIDDEN:
            return False
        return (self.wavefront is not False and len(layers) > 1 and self.skip == "none"
                and all(isinstance(layer, RNN) for layer in layers)
                and getattr(layers[0].cell, "num_heads", 1) == 1
                and can_share_scan(layers, dtype, forced=bool(self.wavefront)))

    def __call__(self, x: Array, *, seq_lengths: Array | None = None,
                 initial_carry: list[Any] | None = None, dropout_key: Array | None = None,
                 projected: bool = False) -> tuple[Array, list[Any]]:
        """x [B, T, input_size] -> (outputs [B, T, output_size], one final carry per layer).

        ``projected=True``: x is the first layer's ``cell.project_inputs`` of the inputs (see
        ``RNN``); the first layer must be unidirectional.
        """
        if projected and not isinstance(self.layers[0], RNN):
            fail("StackedRNN", "projected", "False for a bidirectional first layer", True)
        if initial_carry is not None and (not isinstance(initial_carry, list | tuple)
                                          or len(initial_carry) != self.num_layers):
            fail("StackedRNN", "initial_carry", f"a list of {self.num_layers} layer carries",
                 f"{type(initial_carry).__name__} of {len(initial_carry)} entries"
                 if isinstance(initial_carry, list | tuple) else type(initial_carry).__name__)
        carries = initial_carry or [None] * self.num_layers
        keys = (jax.random.split(dropout_key, 2 * self.num_layers) if dropout_key is not None
                else [None] * (2 * self.num_layers))
        if self._wavefront_applies(x.dtype):
            return self._wavefront(x, seq_lengths, carries, keys, projected)

        def run_layer(k: int, layer: Any, inputs: Array) -> tuple[Array, Any]:
            first_projected = {"projected": True} if projected and k == 0 else {}
            return layer(inputs, seq_lengths=seq_lengths, initial_carry=carries[k],
                         dropout_key=keys[2 * k + 1], **first_projected)

        return self._through_layers(x, run_layer, keys[::2], locked=self.variational,
                                    projected=projected)

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
                                    keys, locked=False, projected=False)

    def _through_layers(self, x: Array, run_layer: Any, dropout_keys: list[Any], *,
                        locked: bool, projected: bool) -> tuple[Array, list[Any]]:
        """The stack's wiring, shared by whole sequences and single steps: dropout on the
        input of every layer above the first, then the residual or dense (ResD) skips (none
        around the first layer when its input is ``projected``)."""
        inputs, final, summed = x, [], None
        for k, layer in enumerate(self.layers):
            given = inputs
            if k > 0:
                inputs = regularizers.dropout(inputs, self.dropout, dropout_keys[k],
                                              locked=locked)
            y, carry = run_layer(k, layer, inputs)
            final.append(carry)
            direct = not (projected and k == 0) and given.shape[-1] == y.shape[-1]
            if self.skip == "residual" and direct:
                y = y + inputs
            elif self.skip == "dense":  # x_{k+1} = f_k(x_k) + sum_{j <= k} x_j
                if direct:
                    summed = given if summed is None else summed + given
                y = y if summed is None else y + summed
            inputs = y
        if self.depth_gated:
            inputs = inputs[..., : self.hidden_size]
        return inputs, final

    def _wavefront(self, x: Array, seq_lengths: Array | None, carries: list[Any],
                   keys: list[Array | None], projected: bool) -> tuple[Array, list[Any]]:
        """The layers as one wavefront ``lanes_recurrence``; same keys as layer by layer."""
        layers = list(self.layers)
        first = layers[0]
        seq_lengths = first._check_inputs(x, seq_lengths, projected)
        batch, time, _ = x.shape
        starts = [layer._start(batch, x.dtype, carry, "StackedRNN", f"initial_carry[{k}]")
                  for k, (layer, carry) in enumerate(zip(layers, carries, strict=True))]
        params = [layer._recurrent_params(layer._keys(keys[2 * k + 1])[0])
                  for k, layer in enumerate(layers)]
        w_h, b_h, carry0 = _stack_lanes(layers, params, starts)
        w_in = jnp.stack([layer.cell.w_x[...] for layer in layers[1:]])
        b_in = jnp.stack([layer.cell.b[...] for layer in layers[1:]])
        in_scale = None
        if keys[2] is not None and self.dropout:
            shape = regularizers.dropout_shape((batch, time, self.hidden_size), self.variational)
            in_scale = jnp.stack([jnp.swapaxes(regularizers.dropout_scale(
                self.dropout, keys[2 * k], shape, x.dtype), 0, 1)
                for k in range(1, len(layers))], 1)  # [T or 1, L-1, B, H]
        mask = None if seq_lengths is None else time_mask(seq_lengths, batch, time)
        ys, final = lanes_recurrence(first.cell.math,
                                     first._project(x, seq_lengths, projected)[:, None],
                                     w_h, carry0, mask=mask, b_h=b_h, w_in=w_in, b_in=b_in,
                                     in_scale=in_scale)
        return first._output(ys[:, 0], seq_lengths), _unstack_carries(final)
