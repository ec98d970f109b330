"""An RNN forecaster of real-valued series: an encoder over the context window, then ``horizon``
steps ahead, directly or autoregressively, as a point or with a prediction interval.

Inputs (scaled values, ``rnnjax.data.series``): at context step t the stack reads
x_t = [y_t, c_{t+1}], the value and (``calendar=True``) the calendar features of the *next*
point (``rnnjax.data.series.calendar_features``: known in advance), so the output at the last
context step already knows the season of the first forecast point.

Window normalisation (``window_norm=True``, the default): the mean of each window's valid
context values is subtracted from its inputs (and teacher values) and added back to the location
outputs (point, mean, quantiles), so the network forecasts relative to the window's level, as
DeepAR (Salinas et al. 2020) divides by the context's mean; a level never seen in training (a
trending series' test part) then looks like one that was.

Decoders:

* ``"direct"`` (multi-output, Ben Taieb et al. 2012 "MIMO"): the last valid output h_C and the
  calendar of all ``horizon`` future points go through one linear layer to all ``horizon``
  predictions at once; no prediction is fed back, so there is no exposure bias.
* ``"autoregressive"``: one linear head per step; after the context the same stack reads
  [y_{C+j-1}, c_{C+j}] for j = 1..H-1, where y_{C+j-1} is the true value while training (teacher
  forcing, Williams & Zipser 1989) and the model's own point prediction when forecasting. The
  choice about exposure bias (Bengio et al. 2015: at test time the model sees its own, imperfect,
  inputs, which it never saw in training) is to keep plain teacher forcing, without scheduled
  sampling: the validation metrics, on which runs are selected, are measured free-running, so a
  model that compounds its errors is seen as such.

Heads (the last axis P of the outputs): ``"point"`` (P = 1; loss ``point_loss`` "mse" or
"mae"), ``"gaussian"`` (P = 2: mean mu and sigma = softplus(raw) + 1e-3, loss the Gaussian
negative log-likelihood, interval mu ± z sigma with z the normal quantile of (1 + level) / 2),
``"quantile"`` (P = 3: the quantiles (1 - level)/2, 0.5, (1 + level)/2, loss the pinball loss of
Koenker & Bassett 1978 averaged over the quantiles; point forecast the median, interval the outer
two, sorted so that they never cross).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax.layers import StackedRNN
from rnnjax.validation import check_choice, check_positive_int, check_rate, fail

Array = jax.Array
DECODERS = ("direct", "autoregressive")
HEADS = ("point", "gaussian", "quantile")
POINT_LOSSES = ("mse", "mae")
CALENDAR_FEATURES = 2
_WHERE = "RNNForecaster"
_MIN_SIGMA = 1e-3


def pinball_loss(quantile_predictions: Array, targets: Array, quantiles: Array) -> Array:
    """Mean over everything of rho_q(y - q_hat) = max(q (y - q_hat), (q - 1)(y - q_hat)),
    the quantile (pinball) loss of Koenker & Bassett (1978). ``quantile_predictions`` [..., Q],
    ``targets`` [...], ``quantiles`` [Q]."""
    residual = targets[..., None] - quantile_predictions
    return jnp.mean(jnp.maximum(quantiles * residual, (quantiles - 1.0) * residual))


def gaussian_nll(mean: Array, sigma: Array, targets: Array) -> Array:
    """Mean of -log N(y; mu, sigma^2) = log sigma + (y - mu)^2 / (2 sigma^2) + log(2 pi) / 2."""
    return jnp.mean(jnp.log(sigma) + 0.5 * jnp.square((targets - mean) / sigma)
                    + 0.5 * math.log(2 * math.pi))


def _last_valid(outputs: Array, lengths: Array) -> Array:
    """outputs [B, T, O] at t = lengths - 1 -> [B, O]."""
    index = jnp.clip(lengths - 1, 0, outputs.shape[1] - 1)
    return jnp.take_along_axis(outputs, index[:, None, None], axis=1)[:, 0]


class RNNForecaster(nnx.Module):
    """``StackedRNN(cell)`` encoder, ``decoder`` in ``DECODERS``, ``head`` in ``HEADS``.

    ``__call__(context [B, C], context_calendar [B, C, 2], future_calendar [B, H, 2], *,
    lengths [B] in [1, C] or None, teacher [B, H] or None, dropout_key=None) -> [B, H, P]``:
    the head's outputs for the ``horizon`` points after each context's last valid step
    (context steps past ``lengths`` are ignored). ``teacher`` (targets) turns on teacher
    forcing for the autoregressive decoder; without it the decoder feeds its own predictions.
    """

    def __init__(self, horizon: int, *, rngs: nnx.Rngs, cell: str = "lstm",
                 hidden_size: int = 64, num_layers: int = 1, decoder: str = "direct",
                 head: str = "quantile", level: float = 0.9, point_loss: str = "mae",
                 calendar: bool = True, window_norm: bool = True, dropout: float = 0.0,
                 impl: str = "auto"):
        self.horizon = check_positive_int(_WHERE, "horizon", horizon)
        check_positive_int(_WHERE, "hidden_size", hidden_size)
        check_positive_int(_WHERE, "num_layers", num_layers)
        self.decoder = check_choice(_WHERE, "decoder", decoder, DECODERS)
        self.head = check_choice(_WHERE, "head", head, HEADS)
        self.point_loss = check_choice(_WHERE, "point_loss", point_loss, POINT_LOSSES)
        if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
            fail(_WHERE, "level", "a coverage in (0, 1), e.g. 0.9", repr(level))
        self.level = float(level)
        self.calendar = bool(calendar)
        self.window_norm = bool(window_norm)
        self.num_outputs = {"point": 1, "gaussian": 2, "quantile": 3}[head]
        features = 1 + CALENDAR_FEATURES * self.calendar
        self.rnn = StackedRNN(cell, features, hidden_size, num_layers, rngs=rngs,
                              dropout=check_rate(_WHERE, "dropout", dropout), impl=impl)
        size = self.rnn.output_size
        if decoder == "direct":
            self.out = nnx.Linear(size + horizon * CALENDAR_FEATURES * self.calendar,
                                  horizon * self.num_outputs, rngs=rngs)
        else:
            self.out = nnx.Linear(size, self.num_outputs, rngs=rngs)

    @property
    def quantiles(self) -> tuple[float, float, float]:
        return ((1 - self.level) / 2, 0.5, (1 + self.level) / 2)

    def _inputs(self, values: Array, calendar: Array) -> Array:
        """[B, T, features]: each value beside the calendar of the point after it."""
        if not self.calendar:
            return values[..., None]
        return jnp.concatenate([values[..., None], calendar], axis=-1)

    def __call__(self, context: Array, context_calendar: Array, future_calendar: Array, *,
                 lengths: Array | None = None, teacher: Array | None = None,
                 dropout_key: Array | None = None) -> Array:
        batch, steps = context.shape
        if future_calendar.shape[1] != self.horizon:
            fail(_WHERE, "future_calendar", f"[B, {self.horizon}, 2] (the horizon)",
                 f"shape {tuple(future_calendar.shape)}")
        if lengths is None:
            lengths = jnp.full((batch,), steps, jnp.int32)
        valid = jnp.arange(steps)[None, :] < lengths[:, None]
        level = jnp.zeros((batch, 1))
        if self.window_norm:
            level = (jnp.where(valid, context, 0.0).sum(1, keepdims=True)
                     / jnp.maximum(lengths, 1)[:, None])
        context = jnp.where(valid, context - level, 0.0)
        if teacher is not None:
            teacher = teacher - level
        return self._add_level(self._forecast(context, context_calendar, future_calendar,
                                              lengths, teacher, dropout_key), level)

    def _add_level(self, outputs: Array, level: Array) -> Array:
        """Shift the location outputs (all but the Gaussian's sigma) by ``level`` [B, 1]."""
        location = jnp.asarray([1.0, 0.0] if self.head == "gaussian"
                               else [1.0] * self.num_outputs)
        return outputs + level[:, :, None] * location

    def _forecast(self, context: Array, context_calendar: Array, future_calendar: Array,
                  lengths: Array, teacher: Array | None, dropout_key: Array | None) -> Array:
        """The head's outputs for normalised inputs (``__call__``)."""
        batch, steps = context.shape
        # the calendar of the point after context step t: t + 1 inside the context, else the
        # (t + 1 - length)-th future point
        t = jnp.arange(steps)[None, :]
        index = jnp.where(t + 1 < lengths[:, None], t + 1, steps + t + 1 - lengths[:, None])
        index = jnp.clip(index, 0, steps + self.horizon - 1)
        calendar = jnp.concatenate([context_calendar, future_calendar], axis=1)
        following = jnp.take_along_axis(calendar, index[..., None], axis=1)
        outputs, carries = self.rnn(self._inputs(context, following), seq_lengths=lengths,
                                    dropout_key=dropout_key)
        last = _last_valid(outputs, lengths)
        if self.decoder == "direct":
            features = [last]
            if self.calendar:
                features.append(future_calendar.reshape(batch, -1))
            return self.out(jnp.concatenate(features, -1)).reshape(
                batch, self.horizon, self.num_outputs)
        first = self.out(last)
        if self.horizon == 1:
            return first[:, None]
        if teacher is not None:  # teacher forcing: the true previous values, one pass
            rest, _ = self.rnn(self._inputs(teacher[:, :-1], future_calendar[:, 1:]),
                               initial_carry=carries, dropout_key=dropout_key)
            return jnp.concatenate([first[:, None], self.out(rest)], axis=1)
        predictions = [first]
        for j in range(1, self.horizon):
            x = self._inputs(self.point(predictions[-1]), future_calendar[:, j])
            y, carries = self.rnn.step(x, carries, dropout_key=dropout_key)
            predictions.append(self.out(y))
        return jnp.stack(predictions, axis=1)

    # ---- what the outputs mean ------------------------------------------------------------
    def point(self, outputs: Array) -> Array:
        """The point forecast [...] of outputs [..., P]: the value, the mean or the median."""
        return outputs[..., 1] if self.head == "quantile" else outputs[..., 0]

    def sigma(self, outputs: Array) -> Array:
        return jax.nn.softplus(outputs[..., 1]) + _MIN_SIGMA

    def interval(self, outputs: Array) -> tuple[Array, Array]:
        """(lower, upper) of the central ``level`` prediction interval (NaN for ``point``)."""
        if self.head == "gaussian":
            z = NormalDist().inv_cdf((1 + self.level) / 2)
            spread = z * self.sigma(outputs)
            return outputs[..., 0] - spread, outputs[..., 0] + spread
        if self.head == "quantile":
            ordered = jnp.sort(outputs, axis=-1)
            return ordered[..., 0], ordered[..., 2]
        nan = jnp.full(outputs.shape[:-1], jnp.nan)
        return nan, nan

    def loss(self, outputs: Array, targets: Array) -> Array:
        """The head's loss (module docstring), a mean over batch and horizon."""
        if self.head == "gaussian":
            return gaussian_nll(outputs[..., 0], self.sigma(outputs), targets)
        if self.head == "quantile":
            return pinball_loss(outputs, targets, jnp.asarray(self.quantiles))
        error = outputs[..., 0] - targets
        return jnp.mean(jnp.square(error) if self.point_loss == "mse" else jnp.abs(error))
