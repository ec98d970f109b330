"""Real-valued time series from CSV files: reading, the time grid, missing values, splits by time,
scaling and training windows.

Three layouts, told apart by the header (UTF-8, optional BOM, ``\\n`` or ``\\r\\n`` lines):

* ``timestamp,value``: one series;
* ``timestamp,series_a,series_b,...``: one series per column (wide);
* ``series_id,timestamp,value``: one series per id, rows of an id in time order (long; the first
  header is one of ``LONG_ID_HEADERS``).

Timestamps are ISO 8601 dates or date-times (``2000-06-05``, ``2000-06-05 00:30:00``,
``1949-01``), quarters (``1956Q1``, ``1956-Q1``) or plain integers (a step index). They must
increase strictly. The frequency is the smallest step between timestamps (months for month starts,
else seconds; ``FREQUENCIES``) unless given, and every step must be a multiple of it; the points
the grid lacks become missing values. The seasonal period defaults to the frequency's
(``FREQUENCIES``: 12 monthly, 4 quarterly, 48 half-hourly, 7 daily, ...).

Missing values (an empty cell, ``NA``, ``NaN``, ``null`` or a point absent from the grid), the
stated rule: leading and trailing runs are dropped; an interior run of at most ``max_gap``
points is filled by linear interpolation between its neighbours; a longer run is an error naming
the column and the rows around it. Non-numeric and non-finite (``inf``) values are errors naming
the column and the row (the file's line number, the header being line 1).

Splits by time (``TimeSplit``): the last ``horizon * test_windows`` points are the test part,
forecast from ``test_windows`` rolling origins ``horizon`` apart, each with the true history
before it; the ``horizon * valid_windows`` points before them are the validation part, the rest
the training part. Scaling (``Scaler``) and every fitted statistic use the training part only.
"""

from __future__ import annotations

import ast
import csv
import io
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnjax.data.prepare import Package, Source, prepared_dir, read_texts, register
from rnnjax.validation import check_positive_int, fail

_WHERE = "read_series"
LONG_ID_HEADERS = ("series_id", "unique_id", "id", "series")
MISSING = frozenset({"", "na", "nan", "null", "none"})
# name -> (unit "M" months | "s" seconds | "step" integers, size of one step, seasonal period)
FREQUENCIES: dict[str, tuple[str, int, int]] = {
    "monthly": ("M", 1, 12), "quarterly": ("M", 3, 4), "yearly": ("M", 12, 1),
    "15min": ("s", 900, 96), "30min": ("s", 1800, 48), "hourly": ("s", 3600, 24),
    "daily": ("s", 86400, 7), "weekly": ("s", 7 * 86400, 52), "step": ("step", 1, 1),
}
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_INTEGER = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class Series:
    """One regular series: ``values`` [T] float64 without gaps, ``steps`` [T] int64 the grid
    index of each point (months since 1970-01 for months, seconds / step size since the epoch
    for seconds, the integer itself for steps), ``labels`` the timestamps as text."""

    name: str
    values: np.ndarray
    steps: np.ndarray
    labels: tuple[str, ...]
    frequency: str
    period: int
    filled: int  # interior missing points filled by interpolation

    def __len__(self) -> int:
        return len(self.values)

    def future_labels(self, count: int) -> list[str]:
        """Timestamps of the ``count`` points after the last one, in the series' notation."""
        unit, size, _ = FREQUENCIES[self.frequency]
        last = int(self.steps[-1])
        out = []
        for k in range(1, count + 1):
            step = last + k
            if unit == "step":
                out.append(str(step))
            elif unit == "M":
                month = np.datetime64("1970-01") + np.timedelta64(step * size, "M")
                out.append(str(np.datetime64(month, "D")))
            else:
                out.append(str(np.datetime64(step * size, "s")).replace("T", " "))
        return out


def _time(text: str) -> tuple[str, int] | None:
    """(unit, position) of a timestamp: ("M", months since 1970-01) for a month start, ("s",
    seconds since the epoch), ("step", n) for an integer; None when unreadable."""
    text = text.strip()
    if _INTEGER.match(text):
        return "step", int(text)
    quarter = _QUARTER.match(text)
    if quarter:
        return "M", (int(quarter[1]) - 1970) * 12 + 3 * (int(quarter[2]) - 1)
    try:
        moment = np.datetime64(text.replace(" ", "T"), "s")
    except ValueError:
        return None
    if np.isnat(moment):
        return None
    month = moment.astype("datetime64[M]")
    if moment == month.astype("datetime64[s]"):
        return "M", int(month.astype(np.int64))
    return "s", int(moment.astype(np.int64))


def _value(text: str, where: str) -> float:
    """A cell as a float (NaN when missing); an error for text or a non-finite number."""
    if text.strip().lower() in MISSING:
        return math.nan
    try:
        number = float(text)
    except ValueError:
        fail(_WHERE, where, "a number (or an empty cell / NA for a missing value)", repr(text))
    if not math.isfinite(number):
        fail(_WHERE, where, "a finite number", repr(text))
    return number


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(header, [(line number, cells)]) of a CSV file; blank lines skipped."""
    try:
        data = path.read_bytes()
    except OSError as err:
        fail(_WHERE, "path", "a readable CSV file", f"{str(path)!r} ({err.strerror})",
             FileNotFoundError)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        fail(_WHERE, str(path), "UTF-8 text", f"the byte {data[err.start]:#04x} at offset "
             f"{err.start}")
    rows = [(number, cells) for number, cells in
            enumerate(csv.reader(io.StringIO(text, newline="")), start=1) if cells]
    if len(rows) < 2:
        fail(_WHERE, str(path), "a header line and at least one data line",
             f"{len(rows)} non-empty lines")
    header = [cell.strip() for cell in rows[0][1]]
    if len(header) < 2:
        fail(_WHERE, f"{path}: the header", "at least two columns (timestamp,value)",
             repr(",".join(header)))
    for number, cells in rows[1:]:
        if len(cells) != len(header):
            fail(_WHERE, f"{path}: row {number}", f"{len(header)} cells like the header",
                 f"{len(cells)}")
    return header, rows[1:]


def _columns(path: Path, header: list[str], rows: list[tuple[int, list[str]]]
             ) -> dict[str, tuple[list[int], list[str], list[float]]]:
    """{series name: (line numbers, timestamps, values)} for any of the three layouts."""
    if header[0].lower() in LONG_ID_HEADERS:
        if len(header) != 3:
            fail(_WHERE, f"{path}: the header", "series_id,timestamp,value in the long layout",
                 repr(",".join(header)))
        out: dict[str, tuple[list[int], list[str], list[float]]] = {}
        for number, (ident, stamp, value) in rows:
            lines, stamps, values = out.setdefault(ident.strip(), ([], [], []))
            lines.append(number)
            stamps.append(stamp)
            values.append(_value(value, f"{path}: column {header[2]!r}, row {number}"))
        return out
    return {name: ([n for n, _ in rows], [cells[0] for _, cells in rows],
                   [_value(cells[j], f"{path}: column {name!r}, row {n}") for n, cells in rows])
            for j, name in enumerate(header[1:], start=1)}


def _grid(path: Path, column: str, lines: Sequence[int], stamps: Sequence[str],
          frequency: str) -> tuple[str, np.ndarray]:
    """(frequency, each point's index on the grid), checking order and the grid."""
    parsed = []
    for number, stamp in zip(lines, stamps, strict=True):
        time = _time(stamp)
        if time is None:
            fail(_WHERE, f"{path}: column {column!r}, row {number}",
                 "a timestamp (ISO date or date-time, YYYYQn or an integer)", repr(stamp))
        parsed.append(time)
    units = {unit for unit, _ in parsed}
    if units == {"M", "s"}:  # month starts among finer timestamps: all in seconds
        parsed = [("s", int((np.datetime64("1970-01") + np.timedelta64(p, "M")).astype(
            "datetime64[s]").astype(np.int64))) if u == "M" else (u, p) for u, p in parsed]
        units = {"s"}
    if len(units) != 1:
        fail(_WHERE, f"{path}: column {column!r}", "timestamps of one kind",
             f"a mix of {sorted(units)}")
    unit = units.pop()
    positions = np.asarray([p for _, p in parsed], np.int64)
    diffs = np.diff(positions)
    bad = np.flatnonzero(diffs <= 0)
    if bad.size:
        i = int(bad[0])
        what = "duplicated" if diffs[i] == 0 else "out of order"
        fail(_WHERE, f"{path}: column {column!r}, row {lines[i + 1]}",
             "a timestamp after the previous row's (sorted, no duplicates)",
             f"{stamps[i + 1]!r}, {what} (row {lines[i]} has {stamps[i]!r})")
    if frequency == "auto":
        step = int(diffs.min()) if diffs.size else 1
        found = [name for name, (u, size, _) in FREQUENCIES.items()
                 if u == unit and size == step]
        frequency = found[0] if found else None
        if frequency is None:
            fail(_WHERE, f"{path}: column {column!r}", f"a step of one of {list(FREQUENCIES)} "
                 "(or pass the frequency)", f"a smallest step of {step} {unit}")
    elif FREQUENCIES[frequency][0] != unit:
        fail(_WHERE, f"{path}: column {column!r}", f"timestamps of a {frequency} series",
             f"{stamps[0]!r}")
    size = FREQUENCIES[frequency][1]
    off = np.flatnonzero((positions - positions[0]) % size)
    if off.size:
        i = int(off[0])
        fail(_WHERE, f"{path}: column {column!r}, row {lines[i]}",
             f"a timestamp on the {frequency} grid of row {lines[0]}", repr(stamps[i]))
    return frequency, positions // size


def fill_missing(values: np.ndarray, max_gap: int, where: str = _WHERE,
                 rows: Sequence[int] | None = None) -> tuple[np.ndarray, int, int]:
    """(values without leading/trailing NaNs and with interior runs of <= ``max_gap`` NaNs
    linearly interpolated, offset of the first kept point, count filled); a longer interior run
    is an error naming ``where`` and the rows (``rows[i]`` of point i) around it."""
    known = np.flatnonzero(~np.isnan(values))
    if known.size < 2:
        fail(_WHERE, where, "at least two numbers", f"{known.size}")
    first, last = int(known[0]), int(known[-1])
    kept = values[first:last + 1].copy()
    missing = np.isnan(kept)
    if missing.any():
        index = np.arange(len(kept))
        edges = np.flatnonzero(np.diff(np.concatenate([[0], missing.astype(np.int8), [0]])))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            if stop - start > max_gap:
                around = (f"rows {rows[first + start - 1]}-{rows[first + stop]}" if rows
                          else f"points {first + start}-{first + stop - 1}")
                fail(_WHERE, where, f"interior gaps of at most {max_gap} missing points "
                     "(data.max_gap) to interpolate", f"{stop - start} missing in a row "
                     f"between {around}")
        kept[missing] = np.interp(index[missing], index[~missing], kept[~missing])
    return kept, first, int(missing.sum())


def read_series(path: str | os.PathLike, *, frequency: str = "auto", period: int = 0,
                max_gap: int = 3, columns: Sequence[str] = ()) -> list[Series]:
    """Every series of the CSV ``path`` (see the module docstring), or those named in
    ``columns``; ``period`` 0 takes the frequency's seasonal period."""
    path = Path(path).expanduser()
    if frequency != "auto" and frequency not in FREQUENCIES:
        fail(_WHERE, "frequency", f"'auto' or one of {list(FREQUENCIES)}", repr(frequency))
    if isinstance(period, bool) or not isinstance(period, int) or period < 0:
        fail(_WHERE, "period", "an int >= 0 (0: the frequency's)", repr(period))
    if isinstance(max_gap, bool) or not isinstance(max_gap, int) or max_gap < 0:
        fail(_WHERE, "max_gap", "an int >= 0", repr(max_gap))
    header, rows = _read_rows(path)
    found = _columns(path, header, rows)
    for name in columns:
        if name not in found:
            fail(_WHERE, "columns", f"series of {path} ({sorted(found)})", repr(name))
    out = []
    for name in columns or found:
        lines, stamps, raw = found[name]
        freq, steps = _grid(path, name, lines, stamps, frequency)
        length = int(steps[-1] - steps[0]) + 1
        values = np.full(length, np.nan)
        values[steps - steps[0]] = raw
        rows_at = [0] * length
        for i, position in enumerate((steps - steps[0]).tolist()):
            rows_at[position] = lines[i]
        # a grid point without a row sits between the rows either side of it
        for i in range(1, length):
            rows_at[i] = rows_at[i] or rows_at[i - 1]
        filled, first, count = fill_missing(values, max_gap, f"{path}: column {name!r}", rows_at)
        grid = np.arange(len(filled), dtype=np.int64) + steps[0] + first
        label = {int(s): t.strip() for s, t in zip(steps.tolist(), stamps, strict=True)}
        labels = tuple(label.get(int(s), "") for s in grid)
        out.append(Series(name, filled, grid, labels, freq,
                          period or FREQUENCIES[freq][2], count))
    return out


def write_series_csv(stamps: Sequence[str], values: Sequence[float | None]) -> str:
    """``timestamp,value`` CSV text (None -> an empty cell)."""
    lines = ["timestamp,value"]
    lines += [f"{s},{'' if v is None else repr(float(v))}" for s, v in
              zip(stamps, values, strict=True)]
    return "\n".join(lines) + "\n"


# ---- splits, scaling, windows -------------------------------------------------------------
@dataclass(frozen=True)
class TimeSplit:
    """Points [0, train_end) train, [train_end, valid_end) valid, [valid_end, T) test; the
    forecast origins of each evaluated part are ``horizon`` apart from its start."""

    length: int
    horizon: int
    train_end: int
    valid_end: int

    def origins(self, part: str) -> list[int]:
        """Forecast origins of ``part`` ("valid" or "test"): the first forecast point of each
        window (the history is everything before it)."""
        start, stop = ((self.train_end, self.valid_end) if part == "valid"
                       else (self.valid_end, self.length))
        return list(range(start, stop, self.horizon))


def time_split(series: Series, *, context: int, horizon: int, test_windows: int,
               valid_windows: int) -> TimeSplit:
    """The split of ``series`` (module docstring); an error when the training part cannot hold
    one window of ``context + horizon`` points or is constant (MASE undefined)."""
    for name, value in (("context", context), ("horizon", horizon),
                        ("test_windows", test_windows)):
        check_positive_int("time_split", f"data.{name}", value)
    if isinstance(valid_windows, bool) or not isinstance(valid_windows, int) or valid_windows < 0:
        fail("time_split", "data.valid_windows", "an int >= 0", repr(valid_windows))
    length = len(series)
    valid_end = length - horizon * test_windows
    train_end = valid_end - horizon * valid_windows
    needed = context + horizon + horizon * (test_windows + valid_windows)
    if train_end < context + horizon:
        fail("time_split", f"series {series.name!r}", f"at least {needed} points (context "
             f"{context} + horizon {horizon} to train, + {test_windows + valid_windows} "
             f"windows of {horizon} to validate and test)", f"{length} points")
    train = series.values[:train_end]
    m = min(series.period, train_end - 1)
    if np.all(train[m:] == train[:-m]):
        fail("time_split", f"series {series.name!r}", "a training part that varies (MASE "
             "divides by its seasonal-naive error)", f"a constant (or exactly {m}-periodic) "
             f"training part, value {train[0]:g}")
    return TimeSplit(length, horizon, train_end, valid_end)


@dataclass(frozen=True)
class Scaler:
    """z = (y - mean) / std with the mean and standard deviation of the training part only."""

    mean: float
    std: float

    @classmethod
    def fit(cls, values: np.ndarray, split: TimeSplit) -> Scaler:
        train = np.asarray(values[:split.train_end], np.float64)
        return cls(float(train.mean()), float(train.std()) or 1.0)

    def scale(self, y: np.ndarray) -> np.ndarray:
        return (np.asarray(y, np.float64) - self.mean) / self.std

    def unscale(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, np.float64) * self.std + self.mean


def calendar_features(steps: np.ndarray, period: int) -> np.ndarray:
    """[..., 2] sin and cos of 2 pi (step mod period) / period: the position in the season
    (month of year, quarter, time of day, weekday) for grids counted from the epoch."""
    phase = 2 * np.pi * np.mod(steps, max(period, 1)) / max(period, 1)
    return np.stack([np.sin(phase), np.cos(phase)], axis=-1).astype(np.float32)


def training_starts(split: TimeSplit, context: int) -> np.ndarray:
    """First points of every training window (``context`` inputs then ``horizon`` targets) that
    lies wholly inside the training part: no target reaches the validation or test points."""
    return np.arange(0, split.train_end - context - split.horizon + 1, dtype=np.int64)


def windows(scaled: np.ndarray, steps: np.ndarray, starts: np.ndarray, context: int,
            horizon: int, period: int) -> dict[str, np.ndarray]:
    """Arrays of the windows starting at ``starts``: ``context`` [N, C] float32 (scaled
    values), ``targets`` [N, H], ``context_calendar`` [N, C, 2], ``future_calendar`` [N, H, 2];
    ``targets`` past the end of the series (a forecast beyond the data) are NaN."""
    index = starts[:, None] + np.arange(context + horizon)[None, :]
    padded = np.concatenate([scaled, np.full(horizon, np.nan)]).astype(np.float32)
    grid = np.concatenate([steps, steps[-1] + 1 + np.arange(horizon)])
    calendar = calendar_features(grid[index], period)
    return {"context": padded[index[:, :context]], "targets": padded[index[:, context:]],
            "context_calendar": calendar[:, :context], "future_calendar": calendar[:, context:]}


# ---- named series inside packages (``python -m rnnjax.data prepare --corpus=NAME``) ---------
_PMDARIMA = Package("wheel", "pmdarima", "2.1.1")
_STATSMODELS = Package("wheel", "statsmodels", "0.15.0")
SERIES_FILE = "series.csv"


def _array_literal(archive: Path, module: str) -> list[float | None]:
    """The numbers of the one ``np.array([...])`` literal of ``module`` in a pmdarima wheel,
    parsed with ``ast`` (the package is never imported)."""
    sources = read_texts(archive, lambda p: p == module, module)
    lists = [node.args[0] for node in ast.walk(ast.parse(sources[module]))
             if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "array"
             and node.args and isinstance(node.args[0], ast.List)]
    if len(lists) != 1:
        fail("prepare", "archive", f"a pmdarima wheel whose {module} holds one array literal",
             f"{len(lists)} literals")
    return ast.literal_eval(lists[0])


def _monthly_labels(start: str, count: int, months: int = 1) -> list[str]:
    first = np.datetime64(start, "M")
    return [str(first + np.timedelta64(i * months, "M")) for i in range(count)]


def _pmdarima_extractor(module: str, labels):
    def extract(archive: Path, tmp: Path) -> dict[str, str]:
        del tmp
        values = _array_literal(archive, f"pmdarima/datasets/{module}.py")
        return {SERIES_FILE: write_series_csv(labels(len(values)), values)}
    return extract


def _co2_extract(archive: Path, tmp: Path) -> dict[str, str]:
    """statsmodels' Mauna Loa weekly CO2 (``date,co2``, dates YYYYMMDD, empty = missing)."""
    del tmp
    member = "statsmodels/datasets/co2/co2.csv"
    rows = read_texts(archive, lambda p: p == member, member)[member].splitlines()[1:]
    stamps, values = [], []
    for row in rows:
        date, value = row.split(",")
        stamps.append(f"{date[:4]}-{date[4:6]}-{date[6:]}")
        values.append(float(value) if value.strip() else None)
    return {SERIES_FILE: write_series_csv(stamps, values)}


def _half_hours(start: str):
    first = np.datetime64(start, "s")
    return lambda n: [str(first + np.timedelta64(1800 * i, "s")).replace("T", " ")
                      for i in range(n)]


_PMDARIMA_LICENCE = "MIT (pmdarima); data from R's datasets/forecast/fpp packages"
SERIES_SOURCES: dict[str, Source] = {source.name: register(source) for source in (
    Source("air_passengers", _PMDARIMA,
           "f0ba1f576670ae32edd41262115e1f86f96d1f2b5285ab89da05bf9a05364a00",
           _pmdarima_extractor("airpassengers", lambda n: _monthly_labels("1949-01", n)),
           "monthly international airline passengers (thousands), 1949-1960; Box & Jenkins "
           "(1976) series G; 144 points", _PMDARIMA_LICENCE),
    Source("wineind", _PMDARIMA,
           "2ba6b7074713a39bb8fd89756295221642149f9928ac0c64902299685916fff8",
           _pmdarima_extractor("wineind", lambda n: _monthly_labels("1980-01", n)),
           "monthly Australian wine sales (bottles <= 1 litre), 1980-01 to 1994-08; R forecast "
           "package; 176 points", _PMDARIMA_LICENCE),
    Source("ausbeer", _PMDARIMA,
           "372f6571e6553d0c8fb012e809a45c406b4254f3ae32e5c39b39b97d58045e6e",
           _pmdarima_extractor("ausbeer", lambda n: _monthly_labels("1956-01", n, 3)),
           "quarterly Australian beer production (megalitres), 1956Q1-2008Q3 (then an "
           "empty 2008Q4 cell); R fpp package; 211 points", _PMDARIMA_LICENCE),
    Source("taylor", _PMDARIMA,
           "ce3842de757c787148d5fe3e16b9bff2aefc717e96b24e80a942db8b57ffa9d2",
           _pmdarima_extractor("taylor", _half_hours("2000-06-05T00:00:00")),
           "half-hourly electricity demand of England and Wales (MW), 2000-06-05 to 2000-08-27; "
           "Taylor (2003); 4032 points", _PMDARIMA_LICENCE),
    Source("co2_weekly", _STATSMODELS,
           "5c85752327b8a7cbc4f5f97cbd701c61a02ca8f44e4774420c81e193b8de2b65", _co2_extract,
           "weekly Mauna Loa atmospheric CO2 (ppm), 1958-03-29 to 2001-12-29, 59 missing "
           "weeks; statsmodels datasets; 2284 points", "public domain (statsmodels: BSD-3)"),
)}


def load_series(spec: str, *, data_dir: str | os.PathLike | None = None, **options
                ) -> list[Series]:
    """The series of a named corpus (``SERIES_SOURCES``, prepared) or of a CSV file path;
    ``options`` go to ``read_series``."""
    if spec in SERIES_SOURCES:
        series = read_series(prepared_dir("load_series", spec, data_dir) / SERIES_FILE,
                             **options)
        return [Series(spec, *(getattr(s, f) for f in ("values", "steps", "labels",
                                                       "frequency", "period", "filled")))
                for s in series]
    return read_series(spec, **options)
