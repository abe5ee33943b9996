"""Time series: CSV reading with dates and missing values, chronological splits, windows, baselines, metrics.

Dimension letters: T time steps, C columns (features), W window length, h horizon,
K target columns, M windows.

Everything here keeps time in order: splits are contiguous (train, then validation, then
test), windows never shuffle a series, and a window's inputs are always strictly before its
targets. Scaling is fitted on the training part only (:class:`~rnnlab.models.Forecaster`
keeps it).
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import zlib
from pathlib import Path

import numpy as np

from rnnlab._checks import check_int, check_memory
from rnnlab.data.dates import date_strings, fill_gaps, infer_frequency, parse_dates
from rnnlab.data.dates import gaps as gap_count
from rnnlab.errors import ConfigError, DataError

MISSING_TOKENS = {"", "na", "nan", "n/a", "null", "none", "?", "-"}
DATE_NAMES = ("date", "datetime", "time", "timestamp", "day", "week")


MISSING_RULES = ("error", "interpolate", "mask")


def read_csv_series(path, columns=None, *, date_columns=None, date_format=None, missing: str = "error",
                    gaps: str = "error"):
    """Read a time series from a CSV file (``.csv.gz`` too) with a header row.

    columns: the value columns to read, by name (default: every column that is not a date).
    date_columns: the columns that make up each row's date (one column in any format
    :mod:`rnnlab.data.dates` reads, ``year`` + ``month`` [+ ``day``], or a date and an hour);
    default: found by name (``date``, ``time``, ... or ``year`` + ``month``), none if there is
    none. date_format: strptime codes for the date (the date columns joined by a space). Dates
    must increase: a series is never reordered.
    missing (empty cells) and gaps (missing timestamps, found from the inferred frequency):
    "error" (refuse, naming the count and the first), "interpolate" (linear in time; leading and
    trailing ones take the nearest value) or "mask" (kept as NaN: no window that touches one is
    used, see :func:`windows`). A long-format file (a row per date and series) is read by
    :func:`rnnlab.data.panel.read_long_series`.

    Returns ``(values, meta)``: values (T, C) float64 on the regular grid (gap rows inserted);
    meta has ``columns``, ``dates`` (ISO strings or None), ``unit`` (their resolution),
    ``frequency`` (a dict, or None), ``missing`` (empty cells per column), ``gaps`` (missing
    timestamps), ``masked`` (values left NaN) and ``path``.
    """
    for name, rule in (("missing", missing), ("gaps", gaps)):
        if rule not in MISSING_RULES:
            raise ConfigError(f"{name} should be one of {', '.join(MISSING_RULES)}, got {rule!r}")
    path = Path(path)
    header, body, lines = csv_rows(path)
    columns, date_columns = choose_columns(path, header, columns, date_columns)
    index = {h: i for i, h in enumerate(header)}
    values = parse_values(path, body, lines, [(name, index[name]) for name in columns])
    stamps, unit = (read_dates(path, body, lines, [index[c] for c in date_columns], date_format) if date_columns
                    else (None, None))
    return finish_series(path, values, columns, stamps, unit, lines, missing, gaps)


def finish_series(path, values, columns, stamps, unit, lines, missing: str, gaps: str):
    """``(values, meta)`` of :func:`read_csv_series` from parsed values (T, C) and their timestamps
    (or None): missing values and gaps refused, interpolated or masked. ``lines``: each row's line
    in the file (None for rows built from several, as a long-format file's)."""
    cells = np.isnan(values)
    counts = {name: int(cells[:, j].sum()) for j, name in enumerate(columns)}
    meta = {"columns": columns, "dates": None, "unit": unit, "frequency": None, "missing": counts, "gaps": 0,
            "path": str(path)}
    if cells.any() and missing == "error":
        first = {name: int(np.flatnonzero(cells[:, j])[0]) for j, name in enumerate(columns) if counts[name]}
        shown = None if stamps is None else date_strings(stamps, unit)
        where = {n: f"line {lines[r]}" if shown is None else shown[r] for n, r in first.items()}
        parts = [f"{n!r}: {counts[n]} (first at {where[n]})" for n in first]
        raise DataError(f"{path} has missing values in {'; '.join(parts)}; fill them with linear interpolation "
                        "(--missing interpolate) or keep them out of every window (--missing mask), or clean the file")
    fill = cells if missing == "interpolate" else np.zeros_like(cells)
    if stamps is not None:
        stamps, values, fill = _regular_grid(path, lines, stamps, values, fill, gaps, meta)
        meta["dates"] = date_strings(stamps, meta["unit"])
    for j, name in enumerate(columns):
        if np.isnan(values[:, j]).all():
            raise DataError(f"{path}: column {name!r} has no values at all")
    if fill.any():
        values = np.where(fill, interpolate_missing(values), values)
    meta["masked"] = int(np.isnan(values).sum())
    return values, meta


def _regular_grid(path, lines, stamps, values, fill, gaps, meta):
    """The rows on the series' regular grid: its frequency inferred, its gaps refused or filled with
    NaN rows (to interpolate, with ``gaps`` "interpolate", or to keep masked)."""
    freq = infer_frequency(stamps, meta["unit"])
    meta["frequency"] = freq.to_dict()
    count, first = gap_count(stamps, freq)
    meta["gaps"] = count
    if not count:
        return stamps, values, fill
    if gaps == "error":
        raise DataError(f"{path}: {count:,} missing timestamps in this {freq.describe()} series, the first after "
                        f"{date_strings(stamps[first : first + 1], meta['unit'])[0]}"
                        + (f" (line {lines[first]})" if lines is not None else "") + "; fill them "
                        "(--gaps interpolate) or keep them out of every window and loss (--gaps mask)")
    grid, full = fill_gaps(stamps, values, freq)
    inserted = np.isnan(fill_gaps(stamps, np.zeros((len(stamps), 1)), freq)[1][:, 0])
    filled = np.zeros(full.shape, dtype=bool)
    filled[~inserted] = fill
    if gaps == "interpolate":
        filled[inserted] = True
    return grid, full, filled


def csv_rows(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """``(header, rows, line numbers)`` of a CSV file; blank lines are skipped, and every row has
    the header's number of fields (errors name the file's own line numbers)."""
    if not path.is_file():
        raise DataError(f"no such CSV file: {path}" if not path.exists() else f"{path} is not a file")
    try:
        data = path.read_bytes()
        text = (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8-sig")
    except (UnicodeDecodeError, OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        if not isinstance(exc, UnicodeDecodeError):
            raise DataError(f"{path} is not a readable gzip file ({exc})") from None
        raise DataError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text))
    rows, lines = [], []
    for r in reader:
        if any(c.strip() for c in r):
            rows.append(r)
            lines.append(reader.line_num)
    if not rows:
        raise DataError(f"{path} is empty: a CSV series needs a header row and data rows")
    header = [h.strip() for h in rows[0]]
    body, lines = rows[1:], lines[1:]
    if not body:
        raise DataError(f"{path} has a header ({', '.join(header)}) but no data rows")
    for r, row in enumerate(body):
        if len(row) != len(header):
            raise DataError(f"{path}, line {lines[r]}: {len(row)} fields, but the header has {len(header)}")
    return header, body, lines


def choose_columns(path: Path, header: list[str], columns, date_columns) -> tuple[list[str], list[str]]:
    """The value and date columns to read: as asked, or found by name (see :func:`read_csv_series`)."""
    if date_columns is None:
        lower = {h.lower(): h for h in header}
        if "year" in lower and "month" in lower:
            date_columns = [lower["year"], lower["month"]] + ([lower["day"]] if "day" in lower else [])
        else:
            date_columns = [lower[n] for n in DATE_NAMES if n in lower][:1]
    else:
        date_columns = [date_columns] if isinstance(date_columns, str) else list(date_columns)
    if columns is None:
        columns = [h for h in header if h not in date_columns]
    else:
        columns = [columns] if isinstance(columns, str) else list(columns)
    for name in [*columns, *date_columns]:
        if name not in header:
            raise DataError(f"{path} has no column {name!r}; its columns are {', '.join(header)}")
    if not columns:
        raise DataError(f"{path}: no value columns to read (columns: {', '.join(header)})")
    return columns, date_columns


def parse_values(path: Path, body, lines, columns: list[tuple[str, int]]) -> np.ndarray:
    """The value columns ``(name, field index)`` as (T, C) float64, NaN where a value is missing."""
    values = np.empty((len(body), len(columns)))
    for j, (name, k) in enumerate(columns):
        for r, row in enumerate(body):
            cell = row[k].strip()
            if cell.lower() in MISSING_TOKENS:
                values[r, j] = math.nan
                continue
            try:
                values[r, j] = float(cell)
            except ValueError:
                raise DataError(f"{path}, line {lines[r]}, column {name!r}: {cell!r} is not a number") from None
            if not math.isfinite(values[r, j]):  # inf, 1e400: a value, not a gap, but none a model can read
                marks = ", ".join(sorted(MISSING_TOKENS)[1:])
                raise DataError(f"{path}, line {lines[r]}, column {name!r}: {cell!r} is not a finite number; "
                                f"mark a missing value with an empty cell or one of {marks}")
    return values


def read_dates(path, body, lines, idx, date_format) -> tuple[np.ndarray, str]:
    """``(stamps, unit)`` of the rows' date cells (see :mod:`rnnlab.data.dates`), strictly increasing."""
    stamps, unit = parse_dates([[row[i] for i in idx] for row in body], date_format,
                               where=lambda r: f"{path}, line {lines[r]}")
    bad = np.flatnonzero(np.diff(stamps.astype(np.int64)) <= 0)
    if bad.size:
        r = int(bad[0]) + 1
        shown = date_strings(stamps[r - 1 : r + 1], unit)
        raise DataError(f"{path}, line {lines[r]}: dates should increase, but {shown[1]} follows {shown[0]}; "
                        "sort the file by date (a series is never reordered here)")
    return stamps, unit


def interpolate_missing(values) -> np.ndarray:
    """NaNs of each column of (T, C) filled linearly in the row index; leading/trailing gaps by the nearest value."""
    v = np.array(values, dtype=np.float64)
    t = np.arange(v.shape[0])
    for j in range(v.shape[1]):
        ok = ~np.isnan(v[:, j])
        if not ok.all():
            v[:, j] = np.interp(t, t[ok], v[ok, j])
    return v


def split_points(T: int, val_fraction: float, test_fraction: float) -> tuple[int, int]:
    """``(a, b)``: rows ``[:a]`` train, ``[a:b]`` validation, ``[b:]`` test, in time order."""
    for name, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if isinstance(f, bool) or not (isinstance(f, (int, float)) and 0.0 < f < 1.0):  # the rule of ForecastData
            raise ConfigError(f"{name} should be a number > 0 and < 1, got {f!r}")
    if val_fraction + test_fraction >= 1.0:
        raise ConfigError("val_fraction + test_fraction should leave some training data (sum below 1)")
    b = T - round(T * test_fraction)
    a = b - round(T * val_fraction)
    return a, b


def windows(values, window: int, horizon: int, targets=None, start: int = 0, stop: int | None = None):
    """Sliding windows over a (T, C) series, in time order.

    Each window j takes inputs ``values[s - W : s]`` and targets ``values[s : s + h, targets]``
    for every forecast origin s with ``start <= s`` and ``s + h <= stop`` (and ``s >= W``): the
    targets lie in ``[start, stop)`` while the inputs may reach back before ``start`` (they are
    past observations). A window whose inputs or targets hold a masked value (NaN) is left out,
    so no prediction reads one and no loss scores one. targets: column indices (default: all).

    Returns ``(X (M, W, C), Y (M, h, K), origins (M,))``.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2:
        raise DataError(f"a series should be a (T, C) array, got shape {v.shape}")
    W, h = check_int("window", window), check_int("horizon", horizon)
    stop = v.shape[0] if stop is None else stop
    targets = list(range(v.shape[1])) if targets is None else list(targets)
    first = max(start, W)
    origins = np.arange(first, stop - h + 1)
    gap = np.concatenate([[0], np.cumsum(np.isnan(v).any(axis=1))])  # rows with a masked value, cumulated
    origins = origins[gap[origins + h] == gap[origins - W]]  # no masked value in a window or its targets
    if origins.size == 0:
        raise DataError(f"no complete window: a window of {W} steps and a horizon of {h} need more than the "
                        f"{stop - start} steps available here; lower window or horizon")
    check_memory(f"{origins.size:,} windows of {W:,} steps", 8 * origins.size * (W * v.shape[1] + h * len(targets)),
                 "lower --window or --horizon")
    X = np.lib.stride_tricks.sliding_window_view(v, W, axis=0)[origins - W].transpose(0, 2, 1)
    Y = np.lib.stride_tricks.sliding_window_view(v[:, targets], h, axis=0)[origins].transpose(0, 2, 1)
    return np.ascontiguousarray(X), np.ascontiguousarray(Y), origins


# -- baselines and metrics ----------------------------------------------------------------------------


def persistence_forecast(values, origins, horizon: int, targets=None) -> np.ndarray:
    """Persistence (naive): every step of the horizon repeats the last observed value. -> (M, h, K)."""
    v = np.asarray(values, dtype=np.float64)
    targets = list(range(v.shape[1])) if targets is None else list(targets)
    last = v[np.asarray(origins) - 1][:, targets]  # (M, K)
    return np.repeat(last[:, None, :], horizon, axis=1)


def seasonal_naive_forecast(values, origins, horizon: int, season: int, targets=None) -> np.ndarray:
    """Seasonal naive: step k of the horizon repeats the value one season before it,
    ``y[s + k - m * ceil((k + 1) / m)]`` (only observed values). -> (M, h, K)."""
    v = np.asarray(values, dtype=np.float64)
    m = check_int("season", season)
    targets = list(range(v.shape[1])) if targets is None else list(targets)
    origins = np.asarray(origins)
    k = np.arange(horizon)
    back = m * ((k // m) + 1)  # the smallest multiple of m that reaches before the origin
    idx = origins[:, None] + k[None, :] - back[None, :]
    if idx.min() < 0:
        raise DataError(f"the seasonal naive forecast needs {m} steps of history before the first origin")
    return v[idx][:, :, targets]


def drift_forecast(values, origins, horizon: int, window: int, targets=None) -> np.ndarray:
    """Drift: the line through the first and last values of the ``window`` steps before each origin,
    continued: ``y[s-1] + k * (y[s-1] - y[s-W]) / (W - 1)`` for step k = 1..h. -> (M, h, K)."""
    v = np.asarray(values, dtype=np.float64)
    W = check_int("window", window, minimum=2)
    targets = list(range(v.shape[1])) if targets is None else list(targets)
    origins = np.asarray(origins)
    last, first = v[origins - 1][:, targets], v[origins - W][:, targets]
    k = np.arange(1, horizon + 1)[None, :, None]
    return last[:, None, :] + k * ((last - first) / (W - 1))[:, None, :]


def window_mean_forecast(values, origins, horizon: int, window: int, targets=None) -> np.ndarray:
    """Window mean: every step of the horizon is the mean of the ``window`` steps before the origin. -> (M, h, K)."""
    v = np.asarray(values, dtype=np.float64)
    W = check_int("window", window)
    targets = list(range(v.shape[1])) if targets is None else list(targets)
    means = np.lib.stride_tricks.sliding_window_view(v[:, targets], W, axis=0)[np.asarray(origins) - W].mean(axis=-1)
    return np.repeat(means[:, None, :], horizon, axis=1)


def future_windows(values, origins, horizon: int, columns) -> np.ndarray:
    """The values of ``columns`` over each origin's horizon, ``values[s : s + h, columns]``: (M, h, F)."""
    v = np.asarray(values, dtype=np.float64)
    idx = np.asarray(origins)[:, None] + np.arange(horizon)[None, :]
    return v[idx][:, :, list(columns)]


def mae(y_true, y_pred) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(np.asarray(y_true) - np.asarray(y_pred))))


def rmse(y_true, y_pred) -> float:
    """Root mean squared error."""
    return float(np.sqrt(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2)))


def mase_scale(train_values, season: int = 1) -> float:
    """The in-sample MAE of the (seasonal) naive forecast on the training part: MASE's denominator
    (Hyndman and Koehler, 2006). train_values: (T,) or (T, K)."""
    v = np.asarray(train_values, dtype=np.float64)
    m = check_int("season", season)
    if v.shape[0] <= m:
        raise DataError(f"MASE needs more than {m} training steps")
    diffs = np.abs(v[m:] - v[:-m])
    if np.isnan(diffs).all():
        raise DataError(f"MASE needs pairs of observed training values {m} steps apart; there are none")
    scale = float(np.nanmean(diffs))  # pairs with a masked value are left out
    if scale == 0.0:
        raise DataError("MASE is undefined: the training series is constant")
    return scale


def mase(y_true, y_pred, scale: float) -> float:
    """Mean absolute scaled error: MAE / ``scale`` (see :func:`mase_scale`); below 1 beats the in-sample naive."""
    return mae(y_true, y_pred) / scale


def forecast_metrics(y_true, y_pred, scale: float) -> dict:
    """``{"mae", "rmse", "mase"}`` of a forecast."""
    return {"mae": mae(y_true, y_pred), "rmse": rmse(y_true, y_pred), "mase": mase(y_true, y_pred, scale)}
