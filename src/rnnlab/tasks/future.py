"""The known future of a forecast: its dates, its calendar features, and the future features a user gives.

A model with future covariates needs their values over every step it forecasts. Inside the
series they are read from it; past its end the calendar features are computed from the dates
(stepping by the series' frequency), and the other future features come from a CSV file the
user gives (``rnnlab forecast RUN --future FILE``) with the series' date column(s) and those
features' columns, one row per date forecast.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnlab.data.dates import Frequency, calendar_features, date_strings, extend
from rnnlab.data.series import read_csv_series
from rnnlab.errors import ConfigError, DataError


def extended_dates(meta: dict, origin: int, steps: int) -> list[str] | None:
    """The dates of ``steps`` steps from ``origin`` (past the series' end, stepping by its frequency)."""
    if not meta["dates"]:
        return None
    stamps = np.array(meta["dates"], dtype="datetime64[s]")
    need = origin + steps - len(stamps)
    if need > 0:
        stamps = np.concatenate([stamps, extend(stamps, Frequency.from_dict(meta["frequency"]), need)])
    return date_strings(stamps[origin : origin + steps], meta["unit"])


def future_covariates(series, values, meta, origin: int, steps: int, future_file=None):
    """``(dates or None, covariates (steps, F) or None)`` for the steps from ``origin`` on.

    series: the run's ForecastData (its date columns and format read ``future_file``); values,
    meta: the series as :meth:`ForecastData.read` gives it.
    """
    dates = extended_dates(meta, origin, steps)
    if not meta["future"]:
        return dates, None
    columns, T = meta["columns"], values.shape[0]
    out = np.full((steps, len(meta["future"])), np.nan)
    inside = min(steps, max(T - origin, 0))
    idx = [columns.index(c) for c in meta["future"]]
    out[:inside] = values[origin : origin + inside, idx]
    calendar = [c for c in meta["future"] if c.rsplit("_", 1)[0] in meta["calendar"]]
    if calendar:
        feats = calendar_features(np.array(dates, dtype="datetime64[s]"), meta["calendar"])
        out[:, [meta["future"].index(c) for c in calendar]] = feats
    user = [c for c in meta["future"] if c not in calendar]
    if user and inside < steps:
        out[inside:, [meta["future"].index(c) for c in user]] = read_future_file(series, user, dates[inside:],
                                                                                 future_file)
    if np.isnan(out).any():
        step = int(np.flatnonzero(np.isnan(out).any(axis=1))[0])
        raise DataError(f"the future covariates are masked (missing) at {dates[step] if dates else step}: the model "
                        "cannot forecast through them; forecast from another origin")
    return dates, out


def read_future_file(series, columns: list[str], dates: list[str], future_file) -> np.ndarray:
    """The ``columns`` of ``future_file`` at ``dates`` (steps, F); errors name the missing columns or dates."""
    first = dates[0] if dates else "?"
    if future_file is None:
        raise ConfigError(f"the forecast runs past the series' end ({first} on) and the model reads the future values "
                          f"of {', '.join(columns)}: give them in a CSV file with --future FILE (a date column and "
                          f"{', '.join(columns)})")
    names = series.date_columns()
    values, meta = read_csv_series(Path(future_file), columns, date_columns=names and list(names),
                                   date_format=series.date_format or None, gaps="mask")
    if not meta["dates"]:
        raise DataError(f"{future_file} has no date column: name it like the series' (--date-column)")
    at = {d: i for i, d in enumerate(meta["dates"])}
    missing = [d for d in dates if d not in at or np.isnan(values[at[d]]).any()]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise DataError(f"{future_file} lacks the values of {', '.join(columns)} at {missing[0]}{more}: it should "
                        f"cover every forecast date from {first} to {dates[-1]}")
    return values[[at[d] for d in dates]]
