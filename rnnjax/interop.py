"""Conversion between ``torch.nn.RNN``/``LSTM``/``GRU`` and rnnjax's ``StackedRNN``.

torch is imported only inside these functions; rnnjax never needs it at import time.

Weight mapping for layer k (and ``_reverse`` for the backward direction), gate orders being equal
(LSTM i, f, g, o; GRU r, z, n):
    w_x = weight_ih_lk^T,  w_h = weight_hh_lk^T,  b = bias_ih_lk + bias_hh_lk
except the GRU's b_hn = bias_hh_lk[2H:], which stays inside r * (h W_hn + b_hn).
State layout: torch's h_n / c_n are [num_layers * num_directions, B, H]; rnnjax's carries are a
list per layer of (forward, backward) pairs when bidirectional, with (h, c) for LSTMs.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
from flax import nnx

from rnnjax.cells import ElmanCell, GRUCell, LSTMCell, RecurrentCell
from rnnjax.layers import RNN, Bidirectional, StackedRNN
from rnnjax.validation import fail

_TORCH_TO_KIND = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "elman_tanh", "RNN_RELU": "elman_relu"}


def _directions(layer: RNN | Bidirectional) -> list[RNN]:
    return [layer.forward, layer.backward] if isinstance(layer, Bidirectional) else [layer]


def _numpy(tensor) -> np.ndarray:
    """float32 numpy copy of a torch tensor of any floating dtype (bfloat16 included)."""
    return tensor.detach().cpu().float().numpy()


def from_torch(module) -> StackedRNN:
    """The rnnjax ``StackedRNN`` computing what ``module`` computes, with its weights.

    Call it on batch-major input whatever ``module.batch_first`` is; with ``seq_lengths`` it
    returns what torch returns for the packed sequence, zero-padded. The parameters are float32
    whatever the module's floating dtype (bfloat16 and float16 convert exactly).
    """
    import torch

    if not isinstance(module, torch.nn.RNNBase):
        fail("from_torch", "module", "a torch.nn.RNN, LSTM or GRU", type(module).__name__,
             TypeError)
    if getattr(module, "proj_size", 0):
        fail("from_torch", "module", "an LSTM without projection (proj_size=0)", module.proj_size)
    kind = _TORCH_TO_KIND[module.mode]
    cell_kwargs = {"forget_bias": 0.0} if kind == "lstm" else {}
    stack = StackedRNN(kind, module.input_size, module.hidden_size, module.num_layers,
                       rngs=nnx.Rngs(0), bidirectional=module.bidirectional,
                       dropout=float(module.dropout), cell_kwargs=cell_kwargs)
    hidden = module.hidden_size
    for k, layer in enumerate(stack.layers):
        for rnn, suffix in zip(_directions(layer), ("", "_reverse"), strict=False):
            cell = rnn.cell
            w_ih = _numpy(getattr(module, f"weight_ih_l{k}{suffix}"))
            w_hh = _numpy(getattr(module, f"weight_hh_l{k}{suffix}"))
            if module.bias:
                b_ih = _numpy(getattr(module, f"bias_ih_l{k}{suffix}"))
                b_hh = _numpy(getattr(module, f"bias_hh_l{k}{suffix}"))
            else:
                b_ih = b_hh = np.zeros(w_ih.shape[0], np.float32)
            cell.w_x.value = jnp.asarray(w_ih.T)
            cell.w_h.value = jnp.asarray(w_hh.T).reshape(cell.w_h.value.shape)
            if isinstance(cell, GRUCell):
                cell.b.value = jnp.asarray(b_ih + np.concatenate([b_hh[: 2 * hidden],
                                                                  np.zeros(hidden, np.float32)]))
                cell.b_hn.value = jnp.asarray(b_hh[2 * hidden :])
            else:
                cell.b.value = jnp.asarray(b_ih + b_hh)
    return stack


def _torch_class_and_kwargs(cell: RecurrentCell):
    import torch

    if type(cell) is LSTMCell and cell.num_heads == 1:
        return torch.nn.LSTM, {}
    if type(cell) is GRUCell and cell.reset_after:
        return torch.nn.GRU, {}
    if type(cell) is ElmanCell:
        return torch.nn.RNN, {"nonlinearity": cell.activation}
    fail("to_torch", "layer", "built from dense LSTMCell, GRUCell(reset_after=True) or ElmanCell",
         type(cell).__name__)


def to_torch(layer: StackedRNN | RNN):
    """The ``torch.nn`` module (batch_first=True, bias=True) computing what ``layer`` computes."""
    import torch

    if isinstance(layer, RNN):
        layers, dropout = [layer], 0.0
    elif isinstance(layer, StackedRNN):
        if layer.skip != "none" or layer.variational:
            fail("to_torch", "layer", "a StackedRNN without skips or variational dropout "
                 "(torch has neither)", f"skip={layer.skip!r}, variational={layer.variational}")
        layers, dropout = list(layer.layers), layer.dropout
    else:
        fail("to_torch", "layer", "a StackedRNN or RNN", type(layer).__name__, TypeError)
    first = _directions(layers[0])[0]
    if first.reverse:
        fail("to_torch", "layer", "a forward-running RNN", "reverse=True")
    cls, kwargs = _torch_class_and_kwargs(first.cell)
    hidden = first.cell.hidden_size
    module = cls(first.cell.input_size, hidden, num_layers=len(layers), batch_first=True,
                 bidirectional=isinstance(layers[0], Bidirectional), dropout=dropout, **kwargs)
    with torch.no_grad():
        for k, each in enumerate(layers):
            for rnn, suffix in zip(_directions(each), ("", "_reverse"), strict=False):
                cell = rnn.cell
                w_h = np.asarray(cell.w_h.value).reshape(hidden, -1)
                b_ih, b_hh = np.asarray(cell.b.value), np.zeros_like(np.asarray(cell.b.value))
                if isinstance(cell, GRUCell):
                    b_hh[2 * hidden :] = np.asarray(cell.b_hn.value)
                for name, value in (("weight_ih", np.asarray(cell.w_x.value).T),
                                    ("weight_hh", w_h.T), ("bias_ih", b_ih), ("bias_hh", b_hh)):
                    getattr(module, f"{name}_l{k}{suffix}").copy_(torch.from_numpy(value.copy()))
    return module


def _per_direction(stack: StackedRNN, carries: list[Any]) -> list[Any]:
    """Flatten per-layer carries into torch's order: layer 0 forward, layer 0 backward, ..."""
    flat = []
    for layer, carry in zip(stack.layers, carries, strict=True):
        flat.extend(carry if isinstance(layer, Bidirectional) else [carry])
    return flat


def carries_to_torch(stack: StackedRNN, carries: list[Any]):
    """``stack``'s final carries -> torch's ``h_n`` (or ``(h_n, c_n)`` for LSTMs), numpy arrays."""
    flat = _per_direction(stack, carries)
    if isinstance(flat[0], tuple):
        return tuple(np.stack([np.asarray(carry[j]) for carry in flat]) for j in range(2))
    return np.stack([np.asarray(carry) for carry in flat])


def carries_from_torch(stack: StackedRNN, h0, c0=None) -> list[Any]:
    """torch's ``h_0`` (and ``c_0``) [layers * directions, B, H] -> ``stack``'s initial carries."""
    expected = len(_per_direction(stack, [layer.initial_carry(1) for layer in stack.layers]))
    for name, state in (("h0", h0), ("c0", c0)):
        if state is not None and (np.ndim(state) != 3 or np.shape(state)[0] != expected):
            fail("carries_from_torch", name,
                 f"of shape [{expected}, batch, hidden] (layers x directions first)",
                 f"shape {np.shape(state)}")
    states = iter(range(expected))
    carries = []
    for layer in stack.layers:
        directions = []
        for _ in _directions(layer):
            i = next(states)
            h = jnp.asarray(np.asarray(h0[i]))
            directions.append(h if c0 is None else (h, jnp.asarray(np.asarray(c0[i]))))
        carries.append(tuple(directions) if isinstance(layer, Bidirectional) else directions[0])
    return carries
