"""Many series in one long-format CSV: a row per date and series, pivoted into one column per series.

A file such as ``date,store,sales,holiday`` with ``--series-id store`` holds one series per
store. Each target column becomes one column per series, named ``sales:A``, ``sales:B``, ... on
the union of every series' dates (a series absent on a date has a missing value there, which
``missing`` then refuses, interpolates or masks). The other columns are shared covariates: the
same value for every series on a date (a holiday, the weather of one city), and a file where they
differ is refused, naming the column and the date. One model then forecasts every series, each
column scaled by its own training statistics.

Example::

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "long.csv"
    >>> _ = path.write_text("date,store,sales\\n2020-01-01,A,1\\n2020-01-01,B,10\\n2020-01-02,A,2\\n"
    ...                     "2020-01-02,B,20\\n")
    >>> values, meta = read_long_series(path, "store", ["sales"], n_targets=1)
    >>> meta["columns"], meta["series"], values.tolist()
    (['sales:A', 'sales:B'], ['A', 'B'], [[1.0, 10.0], [2.0, 20.0]])
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnlab.data.dates import date_strings, parse_dates
from rnnlab.data.series import choose_columns, csv_rows, finish_series, parse_values
from rnnlab.errors import DataError


def read_long_series(path, series_id: str, columns, *, n_targets: int, date_columns=None, date_format=None,
                     missing: str = "error", gaps: str = "error"):
    """``(values (T, S * n_targets + others), meta)``: the first ``n_targets`` of ``columns``
    pivoted per series (``name:id``, series in order of first appearance), then the shared
    covariates; meta as :func:`~rnnlab.data.series.read_csv_series` gives it, with ``series`` (the
    ids) and ``series_columns`` (each id's target columns)."""
    path = Path(path)
    header, body, lines = csv_rows(path)
    if series_id not in header:
        raise DataError(f"{path} has no column {series_id!r} (the series id); its columns are {', '.join(header)}")
    columns, date_columns = choose_columns(path, [h for h in header if h != series_id], columns, date_columns)
    if not date_columns:
        raise DataError(f"{path}: a long-format file needs a date column to line its series up (give --date-column)")
    index = {h: i for i, h in enumerate(header)}
    ids = [row[index[series_id]].strip() for row in body]
    blank = next((r for r, i in enumerate(ids) if not i), None)
    if blank is not None:
        raise DataError(f"{path}, line {lines[blank]}: the series id {series_id!r} is empty")
    series = list(dict.fromkeys(ids))
    stamps, unit = parse_dates([[row[index[c]] for c in date_columns] for row in body], date_format,
                               where=lambda r: f"{path}, line {lines[r]}")
    values = parse_values(path, body, lines, [(name, index[name]) for name in columns])
    grid = np.unique(stamps)
    pos = np.searchsorted(grid, stamps)
    which = np.array([series.index(i) for i in ids])
    check_unique(path, lines, pos, which, series, date_strings(grid, unit))
    targets, shared = columns[:n_targets], columns[n_targets:]
    wide = np.full((len(grid), len(series) * len(targets) + len(shared)), np.nan)
    for k in range(len(targets)):
        wide[pos, which * len(targets) + k] = values[:, k]
    shared_values = shared_covariates(path, lines, pos, values[:, n_targets:], shared, date_strings(grid, unit))
    wide[:, len(series) * len(targets) :] = shared_values
    names = [f"{t}:{s}" for s in series for t in targets] + shared
    out, meta = finish_series(path, wide, names, grid, unit, None, missing, gaps)
    meta["series"] = series
    meta["series_columns"] = {s: [f"{t}:{s}" for t in targets] for s in series}
    return out, meta


def check_unique(path, lines, pos, which, series, dates) -> None:
    """A DataError naming the line of a second row for the same series and date."""
    key = pos * len(series) + which
    order = np.argsort(key, kind="stable")
    dup = np.flatnonzero(np.diff(key[order]) == 0)
    if dup.size:
        r = int(order[dup[0] + 1])
        raise DataError(f"{path}, line {lines[r]}: a second row for series {series[which[r]]!r} on {dates[pos[r]]}")


def shared_covariates(path, lines, pos, values, names, dates) -> np.ndarray:
    """(T, len(names)): each shared covariate's value on each date; a DataError where two series disagree."""
    out = np.full((len(dates), len(names)), np.nan)
    for j, name in enumerate(names):
        column = values[:, j]
        seen = ~np.isnan(column)
        out[pos[seen][::-1], j] = column[seen][::-1]  # written backwards: each date keeps its first row's value
        clash = seen & (out[pos, j] != column)
        if clash.any():
            r = int(np.flatnonzero(clash)[0])
            raise DataError(f"{path}, line {lines[r]}: column {name!r} differs between series on {dates[pos[r]]}; "
                            "covariates of a long-format file are shared by every series (give a column per series "
                            "as a wide file instead)")
    return out
