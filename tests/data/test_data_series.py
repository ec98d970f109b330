"""Time series from CSV: the three layouts, the grid, missing values, the errors, the split by
time (no leakage), scaling from the training part only, windows, named series."""

from __future__ import annotations

import numpy as np
import pytest

from rnnjax.data.series import (
    SERIES_SOURCES,
    Scaler,
    Series,
    calendar_features,
    read_series,
    time_split,
    training_starts,
    windows,
)


def _write(tmp_path, text: str, name: str = "s.csv", bom: bool = False, crlf: bool = False):
    path = tmp_path / name
    data = text.replace("\n", "\r\n") if crlf else text
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8"))
    return path


def _monthly(n: int, start: str = "2000-01") -> list[str]:
    first = np.datetime64(start, "M")
    return [str(first + np.timedelta64(i, "M")) for i in range(n)]


@pytest.mark.parametrize("bom,crlf", [(False, False), (True, True)])
def test_single_layout_monthly(tmp_path, bom, crlf):
    stamps = _monthly(30)
    path = _write(tmp_path, "timestamp,value\n" + "".join(
        f"{s},{i * 1.5}\n" for i, s in enumerate(stamps)), bom=bom, crlf=crlf)
    (series,) = read_series(path)
    assert (series.name, series.frequency, series.period) == ("value", "monthly", 12)
    np.testing.assert_array_equal(series.values, np.arange(30) * 1.5)
    # months since 1970-01: January 2000 is 360, so the calendar phase is the month of year
    assert series.steps[0] == 360 and series.future_labels(1) == ["2002-07-01"]


def test_wide_and_long_layouts_agree(tmp_path):
    stamps = ["2000Q1", "2000Q2", "2000Q3", "2000Q4", "2001-Q1", "2001Q2"]
    a, b = np.arange(6.0), np.arange(6.0) ** 2
    wide = _write(tmp_path, "timestamp,a,b\n" + "".join(
        f"{s},{x},{y}\n" for s, x, y in zip(stamps, a, b, strict=True)), "wide.csv")
    long = _write(tmp_path, "series_id,timestamp,value\n" + "".join(
        f"{k},{s},{v}\n" for k, col in (("a", a), ("b", b))
        for s, v in zip(stamps, col, strict=True)), "long.csv")
    for path in (wide, long):
        got = {s.name: s for s in read_series(path)}
        assert sorted(got) == ["a", "b"]
        np.testing.assert_array_equal(got["a"].values, a)
        np.testing.assert_array_equal(got["b"].values, b)
        assert got["a"].frequency == "quarterly" and got["a"].period == 4
    assert [s.name for s in read_series(wide, columns=["b"])] == ["b"]


def test_half_hourly_and_integer_steps(tmp_path):
    first = np.datetime64("2000-06-05T00:00:00", "s")
    stamps = [str(first + np.timedelta64(1800 * i, "s")).replace("T", " ") for i in range(10)]
    (series,) = read_series(_write(tmp_path, "t,v\n" + "".join(f"{s},{i}\n" for i, s in
                                                               enumerate(stamps))))
    assert (series.frequency, series.period) == ("30min", 48)
    (steps,) = read_series(_write(tmp_path, "t,v\n0,1\n1,2\n2,4\n", "int.csv"), period=3)
    assert (steps.frequency, steps.period) == ("step", 3)


def test_missing_values_interpolated_trimmed_or_refused(tmp_path):
    stamps = _monthly(12)
    cells = ["", "1", "2", "NA", "", "5", "6", "7", "", "", "", "8"]
    path = _write(tmp_path, "timestamp,value\n" + "".join(
        f"{s},{c}\n" for s, c in zip(stamps, cells, strict=True)))
    with pytest.raises(ValueError, match=r"column 'value' .* 3 missing in a row between rows "
                                         r"9-13"):
        read_series(path, max_gap=2)
    (series,) = read_series(path, max_gap=3)
    # the leading empty cell is dropped; 3, 4 interpolated; 7..8 over three missing months
    np.testing.assert_allclose(series.values, [1, 2, 3, 4, 5, 6, 7, 7.25, 7.5, 7.75, 8])
    assert series.filled == 5 and series.labels[0] == "2000-02"
    # a month absent from the file is a missing point too
    gap = _write(tmp_path, "t,v\n2000-01,1\n2000-02,2\n2000-04,4\n2000-05,5\n", "gap.csv")
    np.testing.assert_allclose(read_series(gap)[0].values, [1, 2, 3, 4, 5])


@pytest.mark.parametrize("body,message", [
    ("2000-01,1\n2000-02,abc\n", r"column 'value', row 3 must be a number .*'abc'"),
    ("2000-01,1\n2000-02,inf\n", r"column 'value', row 3 must be a finite number"),
    ("2000-01,1\n2000-03,2\n2000-02,3\n", r"column 'value', row 4 .* out of order"),
    ("2000-01,1\n2000-01,2\n", r"column 'value', row 3 .* duplicated"),
    ("2000-01,1\nyesterday,2\n", r"column 'value', row 3 must be a timestamp"),
    ("2000-01,1\n2000-02\n", r"row 3 must be 2 cells"),
])
def test_bad_input_names_column_and_row(tmp_path, body, message):
    with pytest.raises(ValueError, match=message):
        read_series(_write(tmp_path, "timestamp,value\n" + body))


def _series(values, period: int = 4) -> Series:
    values = np.asarray(values, np.float64)
    steps = np.arange(len(values), dtype=np.int64)
    return Series("x", values, steps, tuple(map(str, steps)), "step", period, 0)


def test_short_and_constant_series_refused():
    with pytest.raises(ValueError, match=r"series 'x' must be at least 14 points .*got 13"):
        time_split(_series(np.arange(13.0)), context=4, horizon=2, test_windows=2,
                   valid_windows=2)
    with pytest.raises(ValueError, match="constant"):
        time_split(_series(np.full(40, 3.0)), context=4, horizon=2, test_windows=2,
                   valid_windows=1)


def test_split_windows_do_not_leak_and_scaling_uses_train_only():
    rng = np.random.default_rng(0)
    values = rng.normal(size=60)
    series = _series(values)
    split = time_split(series, context=8, horizon=3, test_windows=2, valid_windows=2)
    assert (split.train_end, split.valid_end) == (48, 54)
    assert split.origins("valid") == [48, 51] and split.origins("test") == [54, 57]
    starts = training_starts(split, 8)
    # every target of every training window lies before the validation part
    assert starts.max() + 8 + 3 == split.train_end and starts.min() == 0
    # changing everything after the training part changes neither the windows nor the scaler
    changed = values.copy()
    changed[split.train_end:] += 100.0
    scaler, scaler2 = Scaler.fit(values, split), Scaler.fit(changed, split)
    assert scaler == scaler2
    assert scaler.mean == pytest.approx(values[:48].mean())
    assert scaler.std == pytest.approx(values[:48].std())
    w = windows(scaler.scale(values), series.steps, starts, 8, 3, 4)
    w2 = windows(scaler.scale(changed), series.steps, starts, 8, 3, 4)
    for key in w:
        np.testing.assert_array_equal(w[key], w2[key])
    np.testing.assert_allclose(w["targets"][5], scaler.scale(values[13:16]), rtol=1e-6)
    np.testing.assert_allclose(scaler.unscale(scaler.scale(values)), values)
    # a forecast past the end has NaN targets and the calendar of the future steps
    tail = windows(scaler.scale(values), series.steps, np.array([55]), 5, 3, 4)
    assert np.isnan(tail["targets"][0, 1:]).all()
    np.testing.assert_allclose(tail["future_calendar"][0],
                               calendar_features(np.array([60, 61, 62]), 4))


def test_calendar_features_are_the_phase_in_the_season():
    np.testing.assert_allclose(calendar_features(np.array([0, 3, 12, 15]), 12),
                               [[0, 1], [1, 0], [0, 1], [1, 0]], atol=1e-6)


def test_named_series_are_registered_with_checksums():
    assert {"air_passengers", "wineind", "ausbeer", "taylor", "co2_weekly"} <= set(
        SERIES_SOURCES)
    assert all(len(source.sha256) == 64 for source in SERIES_SOURCES.values())
