"""Forecast accuracy metrics and the statistical baselines an RNN forecaster is judged against.

Metrics (``actual``, ``forecast``, ``lower``, ``upper``: arrays of one shape; ``scale`` from the
training part, ``mase_scale``):

* MASE, Hyndman & Koehler (2006) "Another look at measures of forecast accuracy", eq. for q_t:
  mean |y_t - yhat_t| / scale, scale = 1/(n - m) sum_{t=m+1..n} |y_t - y_{t-m}| over the n
  training points (the in-sample seasonal-naive error, m the seasonal period; m = 1 when the
  training part is not longer than a period). It is undefined for a constant training part,
  which ``rnnjax.data.series.time_split`` refuses.
* sMAPE as in the M4 competition (Makridakis, Spiliotis & Assimakopoulos 2018/2020):
  200/h sum |y_t - yhat_t| / (|y_t| + |yhat_t|) (a term 0/0 counts 0).
* Coverage: the fraction of points with lower <= y <= upper.
* MSIS, the M4 scaled interval score (Gneiting & Raftery 2007's interval score, scaled like
  MASE): mean[(U - L) + 2/a (L - y) 1{y < L} + 2/a (y - U) 1{y > U}] / scale, a = 1 - level.

Baselines, each fitted on the training part only and forecasting ``horizon`` points from every
origin of a part with the true history before that origin (parameters fixed, state updated):

* ``naive``: yhat_{n+h} = y_n; interval sigma sqrt(h), sigma the training one-step residuals' sd
  (Hyndman & Athanasopoulos, "Forecasting: Principles and Practice", 3rd ed., 5.5).
* ``seasonal_naive``: yhat_{n+h} = y_{n+h-m(k+1)}, k = floor((h-1)/m); interval sigma sqrt(k+1).
* ``ets``: statsmodels' ``ETSModel`` (Hyndman et al. 2008) with additive errors; the trend (none
  or additive damped) and seasonality (none, additive, or multiplicative for positive series)
  chosen by AIC on the training part; intervals from the model's prediction distribution.
* ``arima``: statsmodels' ``SARIMAX``: ARIMA(p,1,q)(0,1,1)_m for a seasonal series (the
  (0,1,1)(0,1,1) "airline model" of Box & Jenkins among (p, q) in {(0,1), (1,1), (1,0)}),
  ARIMA(p,1,q) otherwise, chosen by AIC; Gaussian intervals from the state-space model.
  For a long season (m > ``LONG_SEASON``, e.g. 24 hours or 48 half-hours) a seasonal ARIMA's
  state is too large to fit in minutes on long series, so the series is seasonally adjusted by
  STL (Cleveland et al. 1990, robust, re-run on each origin's history), ARIMA(p,1,q) fits the
  adjusted training part, and the last season of the STL seasonal component is added back
  (seasonal naive on it; the interval ignores the seasonal component's uncertainty). ETS with
  such a season starts from statsmodels' heuristic initial states instead of estimating m.

statsmodels is imported only when ETS or ARIMA is asked for (its import takes seconds).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from rnnjax.validation import check_choice, fail

BASELINES = ("naive", "seasonal_naive", "ets", "arima")
_WHERE = "forecasting"
# the (p, q) orders ``arima`` compares by AIC
ARIMA_ORDERS = ((0, 1), (1, 1), (1, 0))
# seasonal periods above this (a year of months): STL + ARIMA, heuristic ETS initialisation
LONG_SEASON = 12


# ---- metrics -----------------------------------------------------------------------------
def mase_scale(train: np.ndarray, period: int) -> float:
    """The in-sample seasonal-naive mean absolute error of ``train`` (MASE's denominator)."""
    train = np.asarray(train, np.float64)
    m = period if len(train) > period else 1
    return float(np.mean(np.abs(train[m:] - train[:-m])))


def mase(actual: np.ndarray, forecast: np.ndarray, scale: float) -> float:
    """Mean absolute scaled error (Hyndman & Koehler 2006)."""
    if not scale > 0:
        fail("mase", "scale", "> 0 (a training part that is not constant)", scale)
    return float(np.mean(np.abs(np.asarray(actual) - np.asarray(forecast))) / scale)


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent, as in M4: 200 * mean |y - f| / (|y| + |f|)."""
    actual, forecast = np.asarray(actual, np.float64), np.asarray(forecast, np.float64)
    denominator = np.abs(actual) + np.abs(forecast)
    terms = np.divide(np.abs(actual - forecast), denominator,
                      out=np.zeros_like(denominator), where=denominator > 0)
    return float(200.0 * np.mean(terms))


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Fraction of ``actual`` inside [lower, upper]."""
    actual = np.asarray(actual)
    return float(np.mean((np.asarray(lower) <= actual) & (actual <= np.asarray(upper))))


def msis(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, scale: float,
         level: float) -> float:
    """Mean scaled interval score of the central ``level`` interval (M4)."""
    if not 0 < level < 1:
        fail("msis", "level", "in (0, 1)", level)
    alpha = 1.0 - level
    y, lo, hi = (np.asarray(a, np.float64) for a in (actual, lower, upper))
    score = (hi - lo) + (2 / alpha) * (lo - y) * (y < lo) + (2 / alpha) * (y - hi) * (y > hi)
    return float(np.mean(score) / scale)


def scores(actual: np.ndarray, forecast: np.ndarray, lower: np.ndarray, upper: np.ndarray,
           scale: float, level: float) -> dict[str, float]:
    """{mase, smape} and, when the interval is finite, {coverage, msis}."""
    out = {"mase": mase(actual, forecast, scale), "smape": smape(actual, forecast)}
    if np.isfinite(lower).all() and np.isfinite(upper).all():
        out["coverage"] = coverage(actual, lower, upper)
        out["msis"] = msis(actual, lower, upper, scale, level)
    return out


# ---- baselines ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Forecasts:
    """[origins, horizon] arrays: point forecasts and the central ``level`` interval."""

    point: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def _normal_interval(point: np.ndarray, sigma: np.ndarray, level: float) -> Forecasts:
    z = NormalDist().inv_cdf((1 + level) / 2)
    return Forecasts(point, point - z * sigma, point + z * sigma)


def _naive(values, train_end, origins, horizon, period, level) -> Forecasts:
    train = values[:train_end]
    m = period if train_end > period else 1
    sigma = float(np.std(train[m:] - train[:-m]))
    steps = np.arange(horizon)
    seasons = steps // m + 1
    point = np.stack([values[o - m + (steps % m)] for o in origins])
    return _normal_interval(point, np.broadcast_to(sigma * np.sqrt(seasons), point.shape), level)


def _ets_candidates(period: int, positive: bool, length: int) -> list[dict]:
    trends = [{"trend": None}, {"trend": "add", "damped_trend": True}]
    seasonals = [{"seasonal": None}]
    if period > 1 and length >= 2 * period:
        seasonals.append({"seasonal": "add", "seasonal_periods": period})
        if positive:
            seasonals.append({"seasonal": "mul", "seasonal_periods": period})
    start = {"initialization_method": "heuristic"} if period > LONG_SEASON else {}
    return [{"error": "add", **start, **t, **s} for t in trends for s in seasonals]


def _ets(values, train_end, origins, horizon, period, level) -> Forecasts:
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    train = pd.Series(values[:train_end])
    best = None
    for options in _ets_candidates(period, bool(np.all(values > 0)), train_end):
        fitted = ETSModel(train, **options).fit(disp=False)
        if best is None or fitted.aic < best[1].aic:
            best = options, fitted
    options, fitted = best
    rows = []
    for origin in origins:
        state = ETSModel(pd.Series(values[:origin]), **options).smooth(fitted.params)
        frame = state.get_prediction(start=origin, end=origin + horizon - 1).summary_frame(
            alpha=1 - level)
        rows.append(frame[["mean", "pi_lower", "pi_upper"]].to_numpy().T)
    point, lower, upper = np.stack(rows, axis=1)
    return Forecasts(point, lower, upper)


def _arima(values, train_end, origins, horizon, period, level) -> Forecasts:
    from statsmodels.tsa.seasonal import STL
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    long_season = period > LONG_SEASON

    def adjusted(history: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(history less its STL seasonal component, that component's next ``horizon``)."""
        if not long_season:
            return history, np.zeros(horizon)
        seasonal = STL(history, period=period, robust=True).fit().seasonal
        return history - seasonal, seasonal[len(history) - period + np.arange(horizon) % period]

    seasonal_order = ((0, 1, 1, period) if 1 < period <= LONG_SEASON and train_end >= 3 * period
                      else (0, 0, 0, 0))
    train, _ = adjusted(values[:train_end])
    best = None
    for p, q in ARIMA_ORDERS:
        fitted = SARIMAX(train, order=(p, 1, q), seasonal_order=seasonal_order).fit(disp=False)
        if best is None or fitted.aic < best.aic:
            best = fitted
    rows = []
    for origin in origins:
        history, season = adjusted(values[:origin])
        forecast = best.apply(history).get_forecast(horizon)
        interval = forecast.conf_int(alpha=1 - level)
        rows.append((forecast.predicted_mean + season, interval[:, 0] + season,
                     interval[:, 1] + season))
    point, lower, upper = (np.stack(parts) for parts in zip(*rows, strict=True))
    return Forecasts(point, lower, upper)


_METHODS = {"naive": lambda v, e, o, h, m, lv: _naive(v, e, o, h, 1, lv),
            "seasonal_naive": _naive, "ets": _ets, "arima": _arima}


def baseline_forecasts(method: str, values: np.ndarray, train_end: int, origins: Sequence[int],
                       horizon: int, period: int, level: float = 0.9) -> Forecasts:
    """``method`` (``BASELINES``) fitted on ``values[:train_end]``, forecasting ``horizon``
    points from each origin (the first forecast point) with ``values[:origin]`` as history."""
    check_choice(_WHERE, "method", method, BASELINES)
    values = np.asarray(values, np.float64)
    if origins and (min(origins) < train_end or max(origins) > len(values)):
        fail(_WHERE, "origins", f"in [train_end={train_end}, {len(values)}]",
             f"{min(origins)}..{max(origins)}")
    with warnings.catch_warnings():  # convergence chatter of the optimisers
        warnings.simplefilter("ignore")
        result = _METHODS[method](values, train_end, list(origins), horizon, period, level)
    if not np.isfinite(result.point).all():
        fail(_WHERE, f"the {method} forecasts", "finite", "NaN or inf (the fit failed)")
    return result


__all__ = ["BASELINES", "Forecasts", "baseline_forecasts", "coverage", "mase", "mase_scale",
           "msis", "scores", "smape"]
