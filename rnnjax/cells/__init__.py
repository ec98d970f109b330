"""Recurrent cells and a factory that builds one by name (what configs use)."""

from __future__ import annotations

from typing import Any

from flax import nnx

from rnnjax import initializers as inits
from rnnjax.cells.base import RecurrentCell
from rnnjax.cells.elman import ElmanCell
from rnnjax.cells.gru import GRUCell
from rnnjax.cells.indrnn import IndRNNCell
from rnnjax.cells.lstm import (
    CoupledLSTMCell,
    DepthGatedLSTMCell,
    LayerNormLSTMCell,
    LSTMCell,
    PeepholeLSTMCell,
)
from rnnjax.cells.minimal import LogLinearCell, MinGRUCell, MinLSTMCell
from rnnjax.cells.ntm import NTMCell
from rnnjax.validation import check_choice

# name -> (class, fixed keyword arguments)
CELLS: dict[str, tuple[type[RecurrentCell], dict[str, Any]]] = {
    "elman_tanh": (ElmanCell, {"activation": "tanh"}),
    "elman_relu": (ElmanCell, {"activation": "relu"}),
    "irnn": (ElmanCell, {"activation": "relu", "recurrent_init": inits.identity()}),
    "lstm": (LSTMCell, {}),
    "peephole_lstm": (PeepholeLSTMCell, {}),
    "coupled_lstm": (CoupledLSTMCell, {}),
    "depth_gated_lstm": (DepthGatedLSTMCell, {}),
    "layernorm_lstm": (LayerNormLSTMCell, {}),
    "gru": (GRUCell, {"reset_after": True}),
    "gru_cho": (GRUCell, {"reset_after": False}),
    "indrnn": (IndRNNCell, {}),
    "mingru": (MinGRUCell, {}),
    "minlstm": (MinLSTMCell, {}),
    "ntm": (NTMCell, {}),
}


def make_cell(kind: str, input_size: int, hidden_size: int, *, rngs: nnx.Rngs,
              **cell_kwargs: Any) -> RecurrentCell:
    """Build the cell named ``kind`` (a key of ``CELLS``), passing it ``cell_kwargs``."""
    check_choice("make_cell", "kind", kind, CELLS)
    cls, fixed = CELLS[kind]
    return cls(input_size, hidden_size, rngs=rngs, **{**fixed, **cell_kwargs})


__all__ = [
    "CELLS",
    "CoupledLSTMCell",
    "DepthGatedLSTMCell",
    "ElmanCell",
    "GRUCell",
    "IndRNNCell",
    "LSTMCell",
    "LayerNormLSTMCell",
    "LogLinearCell",
    "MinGRUCell",
    "MinLSTMCell",
    "NTMCell",
    "PeepholeLSTMCell",
    "RecurrentCell",
    "make_cell",
]
