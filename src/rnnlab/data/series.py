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
import datetime as _dt
import io
import math
from pathlib import Path

import numpy as np

from rnnlab._checks import check_int, check_memory
from rnnlab.errors import ConfigError, DataError

MISSING_TOKENS = {"", "na", "nan", "n/a", "null", "none", "?", "-"}
DATE_NAMES = ("date", "datetime", "time", "timestamp", "day", "week")


def _parse_date(text: str) -> str:
    """``YYYYMMDD``, ``YYYY-MM-DD`` (and ISO date-times) or ``YYYY-MM`` -> an ISO string."""
    t = text.strip()
    if len(t) == 8 and t.isdigit():
        t = f"{t[:4]}-{t[4:6]}-{t[6:]}"
    if len(t) == 7 and t[4] == "-":
        _dt.date.fromisoformat(t + "-01")
        return t
    return _dt.datetime.fromisoformat(t).isoformat().removesuffix("T00:00:00")


def read_csv_series(path, columns=None, *, date_columns=None, missing: str = "error"):
    """Read a time series from a CSV file with a header row.

    columns: the value columns to read, by name (default: every column that is not a date).
    date_columns: the columns that make up each row's date: one column (``YYYY-MM-DD``,
    ``YYYYMMDD`` or an ISO date-time) or ``year`` and ``month`` (and ``day``); default: found by
    name (``date``, ``time``, ... or ``year`` + ``month``), none if there is none. Dates must
    increase: a series is never reordered.
    missing: "error" (default: refuse, naming the columns, counts and first dates) or
    "interpolate" (linear in the row index; leading and trailing gaps take the nearest value).

    Returns ``(values, meta)``: values (T, C) float64; meta has ``columns``, ``dates`` (ISO
    strings or None), ``missing`` (count per column, before interpolation) and ``path``.
    """
    if missing not in ("error", "interpolate"):
        raise ConfigError(f"missing should be 'error' or 'interpolate', got {missing!r}")
    path = Path(path)
    header, body, lines = _csv_rows(path)
    columns, date_columns = _choose_columns(path, header, columns, date_columns)
    index = {h: i for i, h in enumerate(header)}
    dates = _dates(path, body, lines, [index[c] for c in date_columns]) if date_columns else None
    values = _parse_values(path, body, lines, [(name, index[name]) for name in columns])
    gaps = np.isnan(values)
    counts = {name: int(gaps[:, j].sum()) for j, name in enumerate(columns)}
    if gaps.any():
        if missing == "error":
            parts = []
            for j, name in enumerate(columns):
                if counts[name]:
                    first = int(np.flatnonzero(gaps[:, j])[0])
                    where = dates[first] if dates else f"line {lines[first]}"
                    parts.append(f"{name!r}: {counts[name]} (first at {where})")
            raise DataError(f"{path} has missing values in {'; '.join(parts)}; fill them with linear interpolation "
                            "(missing='interpolate', --missing interpolate) or clean the file")
        for name in columns:
            if counts[name] == len(values):
                raise DataError(f"{path}: column {name!r} has no values at all")
        values = interpolate_missing(values)
    return values, {"columns": columns, "dates": dates, "missing": counts, "path": str(path)}


def _csv_rows(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """``(header, rows, line numbers)`` of a CSV file; blank lines are skipped, and every row has
    the header's number of fields (errors name the file's own line numbers)."""
    if not path.is_file():
        raise DataError(f"no such CSV file: {path}" if not path.exists() else f"{path} is not a file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
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


def _choose_columns(path: Path, header: list[str], columns, date_columns) -> tuple[list[str], list[str]]:
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


def _parse_values(path: Path, body, lines, columns: list[tuple[str, int]]) -> np.ndarray:
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


def _dates(path, body, lines, idx) -> list[str]:
    out = []
    for r, row in enumerate(body):
        parts = [row[i].strip() for i in idx]
        try:
            if len(parts) == 1:
                out.append(_parse_date(parts[0]))
            else:
                y, m = int(parts[0]), int(parts[1])
                d = _dt.date(y, m, int(parts[2]) if len(parts) > 2 else 1)
                out.append(d.isoformat() if len(parts) > 2 else d.isoformat()[:7])
        except ValueError:
            raise DataError(f"{path}, line {lines[r]}: cannot read the date {' '.join(parts)!r}") from None
    bad = next((r for r in range(1, len(out)) if out[r] <= out[r - 1]), None)
    if bad is not None:
        raise DataError(f"{path}, line {lines[bad]}: dates should increase, but {out[bad]} follows {out[bad - 1]}; "
                        "sort the file by date (a series is never reordered here)")
    return out


def extend_dates(dates: list[str], n: int) -> list[str | None]:
    """``n`` dates after the end of a regular series, stepping by its last interval (``YYYY-MM`` by
    months, ``YYYY-MM-DD`` by days); None for anything else."""
    if not dates or len(dates) < 2 or n <= 0:
        return [None] * max(n, 0)
    a, b = dates[-2], dates[-1]
    try:
        if len(b) == 7:
            ya, ma, yb, mb = int(a[:4]), int(a[5:]), int(b[:4]), int(b[5:])
            step = (yb - ya) * 12 + (mb - ma)
            k0 = yb * 12 + mb - 1
            return [f"{(k0 + step * i) // 12:04d}-{(k0 + step * i) % 12 + 1:02d}" for i in range(1, n + 1)]
        if len(b) == 10:
            da, db = _dt.date.fromisoformat(a), _dt.date.fromisoformat(b)
            return [(db + (db - da) * i).isoformat() for i in range(1, n + 1)]
    except ValueError:
        pass
    return [None] * n


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
    past observations). targets: column indices (default: all).

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
    scale = float(np.mean(np.abs(v[m:] - v[:-m])))
    if scale == 0.0:
        raise DataError("MASE is undefined: the training series is constant")
    return scale


def mase(y_true, y_pred, scale: float) -> float:
    """Mean absolute scaled error: MAE / ``scale`` (see :func:`mase_scale`); below 1 beats the in-sample naive."""
    return mae(y_true, y_pred) / scale


def forecast_metrics(y_true, y_pred, scale: float) -> dict:
    """``{"mae", "rmse", "mase"}`` of a forecast."""
    return {"mae": mae(y_true, y_pred), "rmse": rmse(y_true, y_pred), "mase": mase(y_true, y_pred, scale)}
