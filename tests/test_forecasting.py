"""Forecast metrics against hand-computed values; the baselines on series they must get right."""

from __future__ import annotations

import numpy as np
import pytest

from rnnjax.forecasting import (
    baseline_forecasts,
    coverage,
    mase,
    mase_scale,
    msis,
    scores,
    smape,
)


def test_mase_by_hand():
    train = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    # period 2: |2 - 1|, |5 - 3|, |4 - 2| -> mean 5/3
    assert mase_scale(train, 2) == pytest.approx(5 / 3)
    # period longer than the training part: the one-step naive error, (2 + 1 + 3 + 1) / 4
    assert mase_scale(train, 12) == pytest.approx(7 / 4)
    # errors 1 and 3 -> mean 2, scaled by 5/3
    assert mase([6.0, 7.0], [5.0, 10.0], 5 / 3) == pytest.approx(1.2)
    with pytest.raises(ValueError, match="scale must be > 0"):
        mase([1.0], [1.0], 0.0)


def test_smape_by_hand():
    # 200/2 * (|10 - 8| / 18 + |5 - 5| / 10) = 100 * 2/18
    assert smape([10.0, 5.0], [8.0, 5.0]) == pytest.approx(100 * 2 / 18)
    assert smape([0.0, 2.0], [0.0, 2.0]) == 0.0  # 0/0 counts 0
    assert smape([1.0], [-1.0]) == pytest.approx(200.0)


def test_coverage_and_msis_by_hand():
    actual = np.array([1.0, 5.0, 10.0])
    lower, upper = np.array([0.0, 6.0, 8.0]), np.array([2.0, 8.0, 9.0])
    assert coverage(actual, lower, upper) == pytest.approx(1 / 3)
    # level 0.8, alpha 0.2, 2/alpha = 10: widths 2, 2, 1; penalties 0, 10 * 1, 10 * 1
    # -> (2 + 12 + 11) / 3 = 25/3, scaled by 2
    assert msis(actual, lower, upper, 2.0, 0.8) == pytest.approx(25 / 6)
    both = scores(actual, actual, lower, upper, 2.0, 0.8)
    assert both["mase"] == 0.0 and both["msis"] == pytest.approx(25 / 6)
    assert "coverage" not in scores(actual, actual, actual * np.nan, actual, 1.0, 0.8)


def test_naive_baselines_by_hand():
    values = np.arange(20, dtype=np.float64) % 4 * 10 + np.arange(20)  # season 4 plus a trend
    naive = baseline_forecasts("naive", values, 12, [12, 16], 4, 4)
    np.testing.assert_array_equal(naive.point, [[values[11]] * 4, [values[15]] * 4])
    seasonal = baseline_forecasts("seasonal_naive", values, 12, [12, 16], 6, 4)
    np.testing.assert_array_equal(seasonal.point[0], values[[8, 9, 10, 11, 8, 9]])
    # training residuals of the seasonal naive are all 4: sigma 0, interval = point
    np.testing.assert_allclose(seasonal.lower, seasonal.point)
    # a one-step naive interval widens like sqrt(h)
    width = naive.upper - naive.lower
    np.testing.assert_allclose(width[0] / width[0, 0], np.sqrt([1, 2, 3, 4]))
    with pytest.raises(ValueError, match="origins must be in"):
        baseline_forecasts("naive", values, 12, [10], 4, 4)


@pytest.mark.parametrize("method", ["ets", "arima"])
def test_statistical_baselines_follow_a_seasonal_trend(method):
    """On a noisy seasonal series with a linear trend, ETS and ARIMA fitted on the training
    part beat the seasonal naive forecast, which misses the trend's growth over a season."""
    rng = np.random.default_rng(0)
    t = np.arange(48)
    values = 50 + 1.5 * t + 6 * np.sin(2 * np.pi * t / 4 + 0.5) + rng.normal(0, 0.5, t.size)
    origins = [36, 42]
    actual = np.stack([values[o:o + 6] for o in origins])
    scale = mase_scale(values[:36], 4)
    snaive = baseline_forecasts("seasonal_naive", values, 36, origins, 6, 4)
    fitted = baseline_forecasts(method, values, 36, origins, 6, 4)
    assert mase(actual, fitted.point, scale) < 0.5 * mase(actual, snaive.point, scale)
    assert coverage(actual, fitted.lower, fitted.upper) > 0.6
