"""A series' timestamps: reading the usual date formats, the frequency, gaps, and calendar features.

Timestamps are ``datetime64[s]`` arrays in UTC (a date with a UTC offset is converted; one
without is taken as it is written). What a date cell may hold, tried in this order:

- ``--date-format`` given: ``datetime.strptime`` codes (``%d.%m.%Y %H:%M``, ``%z`` for offsets);
- ``YYYY`` (a year), ``YYYYMMDD``, ``YYYY-MM`` (a month), Unix seconds (nine or more digits);
- ``YYYY/MM/DD`` with an optional `` HH:MM[:SS]``;
- ISO 8601: ``2010-01-01``, ``2010-01-01T05:00``, ``2010-01-01 05:00:00+01:00``, ``...Z``.

``01/02/2010`` could be the first of February or the second of January: it is refused, with
the two ``--date-format`` spellings that settle it. Two date columns are a year and a month
(and a third the day), or a date and an hour of the day (``0``-``23`` or ``HH:MM``).

The frequency is the most common step between rows (months for monthly data, else seconds);
a step that is a multiple of it is a gap of missing timestamps, any other step an error.

Example::

    >>> stamps, unit = parse_dates([["2011-01-01", "0"], ["2011-01-01", "1"], ["2011-01-01", "3"]])
    >>> freq = infer_frequency(stamps, unit)
    >>> freq.describe(), gaps(stamps, freq)
    ('hourly', (1, 1))
    >>> date_strings(extend(stamps, freq, 2), unit)
    ['2011-01-01T04:00', '2011-01-01T05:00']
    >>> np.round(calendar_features(stamps[:1], ["hour", "weekday"]), 3).tolist()  # a Saturday, midnight
    [[0.0, 1.0, -0.975, -0.223]]
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from rnnlab.errors import ConfigError, DataError

CALENDAR = {"hour": 24.0, "weekday": 7.0, "yearday": 365.25, "month": 12.0}  # name: its period
AMBIGUOUS = re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}( |$)")
SLASHED = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
SECONDS_A_DAY = 86_400


@dataclass(frozen=True)
class Frequency:
    """The step between a regular series' rows: ``step`` ``unit``s ("months" or "seconds")."""

    unit: str
    step: int

    NAMES: ClassVar[dict] = {("months", 1): "monthly", ("months", 3): "quarterly", ("months", 12): "yearly",
                             ("seconds", 60): "every minute", ("seconds", 3600): "hourly",
                             ("seconds", 86400): "daily", ("seconds", 604800): "weekly"}

    def describe(self) -> str:
        """``hourly``, ``daily``, ``monthly``..., else ``every 15 minutes`` and the like."""
        if (self.unit, self.step) in self.NAMES:
            return self.NAMES[(self.unit, self.step)]
        if self.unit == "months":
            return f"every {self.step} months"
        for size, name in ((86400, "days"), (3600, "hours"), (60, "minutes")):
            if self.step % size == 0:
                return f"every {self.step // size} {name}"
        return f"every {self.step} seconds"

    def to_dict(self) -> dict:
        return {"unit": self.unit, "step": self.step, "name": self.describe()}

    @classmethod
    def from_dict(cls, values: dict | None) -> Frequency | None:
        """The frequency :meth:`to_dict` wrote (None stays None: a series without dates)."""
        return None if not values else cls(values["unit"], int(values["step"]))


def to_utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def parse_one(text: str, date_format: str | None = None) -> tuple[dt.datetime, str]:
    """``(datetime, unit)`` of one date cell; unit "month" (a year or a month), "day" or "second".
    A ValueError says why it cannot be read."""
    t = text.strip()
    if date_format:
        return to_utc(dt.datetime.strptime(t, date_format)), "second"
    if re.fullmatch(r"\d{4}", t):
        return dt.datetime(int(t), 1, 1), "month"
    if re.fullmatch(r"\d{8}", t):
        return dt.datetime(int(t[:4]), int(t[4:6]), int(t[6:])), "day"
    if re.fullmatch(r"\d{9,}(\.\d+)?", t):
        return dt.datetime.fromtimestamp(float(t), dt.UTC).replace(tzinfo=None), "second"
    if re.fullmatch(r"\d{4}-\d{2}", t):
        return dt.datetime(int(t[:4]), int(t[5:]), 1), "month"
    m = SLASHED.match(t)
    if m:
        y, mo, d, hh, mm, ss = (int(g) if g else 0 for g in m.groups())
        return dt.datetime(y, mo, d, hh, mm, ss), "second" if m.group(4) else "day"
    if AMBIGUOUS.match(t):
        raise ValueError("day and month could be in either order: give --date-format '%d/%m/%Y' or '%m/%d/%Y' "
                         "(with the separators and any time the file uses)")
    value = dt.datetime.fromisoformat(t)
    return to_utc(value), "day" if len(t) == 10 else "second"


def hour_of(text: str) -> dt.timedelta:
    """An hour column's cell: ``5``, ``05:30`` or ``05:30:00``."""
    t = text.strip()
    if re.fullmatch(r"\d{1,2}", t) and int(t) < 24:
        return dt.timedelta(hours=int(t))
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", t)
    if m and int(m.group(1)) < 24:
        return dt.timedelta(hours=int(m.group(1)), minutes=int(m.group(2)), seconds=int(m.group(3) or 0))
    raise ValueError(f"{t!r} is not an hour of the day (0-23 or HH:MM)")


def parse_row(parts: list[str], date_format: str | None) -> tuple[dt.datetime, str]:
    """One row's date from its date columns (see the module docstring)."""
    if len(parts) == 1:
        return parse_one(parts[0], date_format)
    if date_format:
        return parse_one(" ".join(parts), date_format)
    if all(re.fullmatch(r"\d{1,4}", p.strip()) for p in parts) and len(parts[0].strip()) == 4:
        y, m = int(parts[0]), int(parts[1])
        return (dt.datetime(y, m, int(parts[2])), "day") if len(parts) > 2 else (dt.datetime(y, m, 1), "month")
    if len(parts) == 2:
        day, _ = parse_one(parts[0])
        return day + hour_of(parts[1]), "second"
    raise ValueError("three date columns should be a year, a month and a day")


def parse_dates(rows: list[list[str]], date_format: str | None = None, where=None) -> tuple[np.ndarray, str]:
    """``(stamps (T,) datetime64[s], unit)`` of the rows' date cells; unit is the finest any row
    needs ("month", "day" or "second"). ``where(r)`` names row r in errors (default: "row r")."""
    stamps, units = [], set()
    for r, parts in enumerate(rows):
        try:
            value, unit = parse_row(parts, date_format)
        except (ValueError, OverflowError, OSError) as exc:
            place = where(r) if where else f"row {r + 1}"
            hint = "" if date_format or "order" in str(exc) else "; give --date-format with strptime codes"
            raise DataError(f"{place}: cannot read the date {' '.join(parts)!r} ({exc}){hint}") from None
        stamps.append(value)
        units.add(unit)
    unit = "second" if "second" in units else "day" if "day" in units else "month"
    return np.array(stamps, dtype="datetime64[s]"), unit


def date_strings(stamps: np.ndarray, unit: str) -> list[str]:
    """ISO strings at the series' resolution: ``1749-01``, ``2011-01-01``, ``2011-01-01T05:00``."""
    stamps = np.asarray(stamps, dtype="datetime64[s]")
    if unit == "month":
        return [str(s) for s in stamps.astype("datetime64[M]")]
    if unit == "day" or (stamps.astype(np.int64) % SECONDS_A_DAY == 0).all():
        return [str(s) for s in stamps.astype("datetime64[D]")]
    seconds = (stamps.astype(np.int64) % 60 != 0).any()
    return [str(x) for x in np.datetime_as_string(stamps, unit="s" if seconds else "m")]


def month_index(stamps: np.ndarray) -> np.ndarray:
    return np.asarray(stamps, dtype="datetime64[s]").astype("datetime64[M]").astype(np.int64)


def positions(stamps: np.ndarray, freq: Frequency) -> np.ndarray:
    """Each timestamp's position in units of the frequency (not divided yet: the caller checks)."""
    if freq.unit == "months":
        return month_index(stamps)
    return np.asarray(stamps, dtype="datetime64[s]").astype(np.int64)


def infer_frequency(stamps: np.ndarray, unit: str) -> Frequency:
    """The most common step between consecutive timestamps (months for month-resolution dates)."""
    if len(stamps) < 2:
        raise DataError("a series needs at least two dated rows to have a frequency")
    freq_unit = "months" if unit == "month" else "seconds"
    steps = np.diff(positions(stamps, Frequency(freq_unit, 1)))
    values, counts = np.unique(steps[steps > 0], return_counts=True)
    if values.size == 0:
        raise DataError("every row has the same date: a series needs increasing dates")
    return Frequency(freq_unit, int(values[np.argmax(counts)]))


def gaps(stamps: np.ndarray, freq: Frequency) -> tuple[int, int | None]:
    """``(missing timestamps, row after which the first gap opens or None)``; a DataError names the
    first step that is not a whole number of the frequency's steps."""
    steps = np.diff(positions(stamps, freq))
    bad = np.flatnonzero(steps % freq.step != 0)
    if bad.size:
        r = int(bad[0])
        raise DataError(f"the dates are irregular: row {r + 2} comes {steps[r]} {freq.unit} after the one before, not "
                        f"a whole number of the series' step ({freq.describe()})")
    missing = steps // freq.step - 1
    first = np.flatnonzero(missing > 0)
    return int(missing.sum()), (int(first[0]) if first.size else None)


def fill_gaps(stamps: np.ndarray, values: np.ndarray, freq: Frequency) -> tuple[np.ndarray, np.ndarray]:
    """``(stamps, values)`` on the full regular grid: a row of NaN for every missing timestamp."""
    pos = positions(stamps, freq)
    index = (pos - pos[0]) // freq.step
    full = np.full((int(index[-1]) + 1, values.shape[1]), np.nan)
    full[index] = values
    return extend(stamps[:1], freq, int(index[-1]), include_start=True), full


def extend(stamps: np.ndarray, freq: Frequency, n: int, include_start: bool = False) -> np.ndarray:
    """The ``n`` timestamps after the last one, stepping by ``freq`` (with the last one first when
    ``include_start``)."""
    last = np.asarray(stamps, dtype="datetime64[s]")[-1]
    k = np.arange(0 if include_start else 1, n + 1)
    if freq.unit == "months":
        months = last.astype("datetime64[M]") + k * freq.step
        return months.astype("datetime64[s]") + (last - last.astype("datetime64[M]").astype("datetime64[s]"))
    return last + (k * freq.step).astype("timedelta64[s]")


def check_calendar(names: list[str]) -> None:
    """A ConfigError for an unknown calendar feature."""
    unknown = [n for n in names if n not in CALENDAR]
    if unknown:
        raise ConfigError(f"unknown calendar feature(s) {', '.join(unknown)}; known: {', '.join(CALENDAR)}")


def check_calendar_frequency(names: list[str], freq: Frequency | None) -> None:
    """A ConfigError when calendar features are asked of a series without dates, or one the
    frequency makes the same on every row (the hour of a daily series)."""
    if names and freq is None:
        raise ConfigError("calendar features need dates: the file has no date column (give --date-column)")
    coarse = {"hour": SECONDS_A_DAY, "weekday": 7 * SECONDS_A_DAY}
    for name in names:
        if name in coarse and freq is not None and (freq.unit == "months" or freq.step % coarse[name] == 0):
            raise ConfigError(f"the {name} calendar feature is the same on every row of a {freq.describe()} series")


def calendar_features(stamps: np.ndarray, names: list[str]) -> np.ndarray:
    """(T, 2 * len(names)) sine and cosine of each calendar feature's phase: hour of the day (with
    minutes), weekday (Monday 0), day of the year (day 1 at phase 0, period 365.25 days), month
    (January 0); columns ``name_sin, name_cos`` in the order given."""
    s = np.asarray(stamps, dtype="datetime64[s]")
    seconds = s.astype(np.int64)
    days = s.astype("datetime64[D]").astype(np.int64)
    phase = {
        "hour": (seconds % SECONDS_A_DAY) / 3600.0,
        "weekday": ((days + 3) % 7).astype(np.float64),  # 1970-01-01 was a Thursday (3)
        "yearday": (days - s.astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)).astype(np.float64),
        "month": (month_index(s) % 12).astype(np.float64),
    }
    cols = []
    for name in names:
        angle = 2 * np.pi * phase[name] / CALENDAR[name]
        cols += [np.sin(angle), np.cos(angle)]
    return np.stack(cols, axis=1) if cols else np.zeros((len(s), 0))


def calendar_columns(names: list[str]) -> list[str]:
    """The column names :func:`calendar_features` gives: ``hour_sin, hour_cos, ...``."""
    return [f"{n}_{f}" for n in names for f in ("sin", "cos")]
