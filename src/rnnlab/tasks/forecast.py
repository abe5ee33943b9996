"""The forecast task: a time series from a CSV file, forecast h steps ahead, against naive baselines.

Its config (:class:`ForecastData`, :class:`ForecasterConfig`) and the data it trains on: the
series read once (dates in any usual format, gaps refused, filled or masked), calendar features
computed from the dates, windows of the past with the known future of the covariates. What it
reports, draws and backtests is in :mod:`rnnlab.tasks.forecast_report`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from rnnlab import datasets
from rnnlab.config import check_fields, option
from rnnlab.data.dates import (
    Frequency,
    calendar_columns,
    calendar_features,
    check_calendar,
    check_calendar_frequency,
)
from rnnlab.data.panel import read_long_series
from rnnlab.data.series import MISSING_RULES, future_windows, read_csv_series, split_points, windows
from rnnlab.errors import ConfigError, DataError
from rnnlab.models.encoder import check_values
from rnnlab.models.forecast_head import LOSSES, check_quantiles
from rnnlab.models.forecaster import Forecaster
from rnnlab.tasks.base import RecurrentModelConfig, RunConfig, TaskData
from rnnlab.tasks.forecast_report import ForecastReport


def _read_series(path: str, columns, dates, date_format, missing, gaps, series_id, n_targets):
    columns = None if columns is None else list(columns)
    if series_id:
        return read_long_series(path, series_id, columns, n_targets=n_targets, date_columns=dates,
                                date_format=date_format or None, missing=missing, gaps=gaps)
    return read_csv_series(path, columns, date_columns=dates, date_format=date_format or None, missing=missing,
                           gaps=gaps)


def column_names(text: str) -> list[str]:
    """A comma-separated list of column names -> the names, stripped, empty ones dropped."""
    return [c.strip() for c in text.split(",") if c.strip()]


@dataclass
class ForecastData:
    """Which series, which columns and covariates, how its dates are read, split and windowed."""

    file: str = option("sunspots", "a CSV file with a header row (.csv.gz too), or a bundled series' name "
                       "(rnnlab datasets)", positional=True)
    column: str = option("", "the column(s) to forecast, comma-separated (default: the bundled series' column, or "
                         "the file's only value column)")
    features: str = option("", "more input columns observed in the past only, comma-separated (default: none)")
    future_features: str = option("", "input columns known in advance (holidays, a schedule), comma-separated: the "
                                  "model also reads their values over the horizon")
    calendar: str = option("", "calendar features computed from the dates, known in advance: any of hour, weekday, "
                           "yearday, month, comma-separated (each as a sine and cosine pair)")
    date_column: str = option("", "the date column(s), comma-separated: one date, year + month [+ day], or a date "
                              "and an hour (default: found by name: date, time, or year + month)")
    series_id: str = option("", "a long-format file's series column (a row per date and series): one model "
                            "forecasts every series, each scaled on its own (default: a single series)")
    date_format: str = option("", "strptime codes for the dates, e.g. %d/%m/%Y %H:%M (default: ISO 8601, "
                              "YYYY/MM/DD, YYYYMMDD, YYYY-MM, Unix seconds)")
    missing: str = option("error", "empty cells: refuse them, fill them by linear interpolation, or keep them out "
                          "of every window and loss", choices=MISSING_RULES)
    gaps: str = option("error", "missing timestamps (rows the frequency says should be there): refuse, "
                       "interpolate, or mask like missing values", choices=MISSING_RULES)
    conformal: bool = option(False, "calibrate the intervals on the validation part (split conformal: each "
                             "horizon step's interval widened until it covers its share there)")
    window: int = option(120, "past steps the model reads for each forecast", minimum=1)
    horizon: int = option(1, "steps ahead to forecast (and to score on the test part)", minimum=1)
    strategy: str = option("direct", "multi-step forecasts: direct (all horizon steps at once) or recursive (a "
                           "1-step model fed its own forecasts)", choices=("direct", "recursive"))
    season: int = option(0, "season length for the seasonal naive baseline and MASE (0: the bundled series' "
                         "own, sunspots 132 months, co2 52 weeks; none for a file of your own)", minimum=0)
    more_seasons: str = option("", "more seasonal naive baselines: their season lengths, comma-separated (default: "
                               "the bundled series' own, bike-hourly 168)")
    val_fraction: float = option(0.15, "the part after training held out for validation (in time order)",
                                 above=0.0, below=1.0)
    test_fraction: float = option(0.15, "the last part, for the test metrics", above=0.0, below=1.0)

    def __post_init__(self):
        check_fields(self)
        if not self.file:
            raise ConfigError("file should name a CSV file or a bundled series")
        split_points(1000, self.val_fraction, self.test_fraction)
        if self.strategy == "recursive" and column_names(self.features):
            raise ConfigError("the recursive strategy feeds forecasts back as inputs, so every input must be "
                              "forecast or known in advance: drop --features (or give them as --future-features), "
                              "or use --strategy direct")
        check_calendar(column_names(self.calendar))
        self.baseline_seasons()

    @property
    def model_horizon(self) -> int:
        """Steps the model itself forecasts at once: 1 for the recursive strategy."""
        return 1 if self.strategy == "recursive" else self.horizon

    # -- derived -----------------------------------------------------------------------------------
    def targets(self) -> list[str]:
        """The columns to forecast: as given, else the bundled series' own, else [] (the file's only one)."""
        return column_names(self.column) or ([self.bundled_default("column")] if self.bundled_default("column")
                                             else [])

    def season_length(self) -> int:
        return self.season or self.bundled_default("season", 1)

    def bundled_default(self, name: str, default=None):
        """A default of the bundled series this config reads (``default`` for a file of your own)."""
        bundled = datasets.DATASETS.get(self.file)
        return bundled.defaults.get(name, default) if bundled is not None else default

    def date_columns(self) -> tuple | None:
        """The date columns: as given, else the bundled series' own, else None (found by name)."""
        return tuple(column_names(self.date_column) or column_names(self.bundled_default("date_column", ""))) or None

    def baseline_seasons(self) -> list[int]:
        """The season lengths of the seasonal naive baselines: ``season_length()`` first, then the others."""
        try:
            more = [int(m) for m in column_names(self.more_seasons)] or self.bundled_default("seasons", [])
        except ValueError:
            raise ConfigError(f"more_seasons should be whole numbers, comma-separated, got {self.more_seasons!r}") \
                from None
        if any(m < 2 for m in more):
            raise ConfigError(f"more_seasons should be season lengths of at least 2 steps, got {self.more_seasons!r}")
        seasons = [self.season_length(), *more]
        return [m for i, m in enumerate(seasons) if m > 1 and m not in seasons[:i]]

    def read(self):
        """``(values (T, C), meta)``: the target columns first, then the past features, the future
        features and the calendar features (computed from the dates); meta adds ``targets``,
        ``future`` (the columns known in advance) and ``calendar``. Copies of a cached read: a
        command reads the file once, however many times it asks."""
        targets, features = self.targets(), column_names(self.features)
        future, calendar = column_names(self.future_features), column_names(self.calendar)
        named = targets + features + future
        repeated = sorted({c for c in named if named.count(c) > 1})
        if repeated:
            raise ConfigError(f"{', '.join(repeated)} is named twice (as a target, a feature or a future feature); "
                              "list each column once")
        path = datasets.resolve(self.file, "series")
        if self.series_id and not targets:
            raise ConfigError("with --series-id, name the column to forecast in every series with --column")
        values, meta = datasets.read_once(_read_series, path, tuple(named) or None, self.date_columns(),
                                          self.date_format, self.missing, self.gaps, self.series_id, len(targets))
        values, meta = values.copy(), {**meta, "dates": meta["dates"] and list(meta["dates"])}
        if self.series_id:
            targets = [c for cols in meta["series_columns"].values() for c in cols]
        if not targets:
            if len(meta["columns"]) != 1:
                raise ConfigError(f"{self.file} has several value columns ({', '.join(meta['columns'])}): choose the "
                                  "one(s) to forecast with --column")
        if calendar:
            check_calendar_frequency(calendar, Frequency.from_dict(meta["frequency"]))
            stamps = np.array(meta["dates"], dtype="datetime64[s]")
            values = np.concatenate([values, calendar_features(stamps, calendar)], axis=1)
            meta["columns"] = meta["columns"] + calendar_columns(calendar)
        meta["targets"] = targets or meta["columns"][:1]
        meta["future"] = future + calendar_columns(calendar)
        meta["calendar"] = calendar
        return values, meta


@dataclass
class ForecasterConfig(RecurrentModelConfig):
    """A Forecaster's architecture (columns, horizon and scaling come from the data)."""

    relative: bool = option(True, "read each window relative to its last value and forecast the change")
    loss: str = option("mse", "training loss on scaled values: a point forecast (mse, mae), quantiles (pinball "
                       "loss) or a Gaussian's mean and scale (negative log-likelihood)", choices=LOSSES)
    quantiles: str = option("0.1,0.5,0.9", "the probabilities a quantile forecast gives (and a Gaussian's "
                            "intervals are read at), comma-separated")
    log_targets: bool = option(False, "model log(1 + y) of the targets: for counts and other positive series whose "
                               "spread grows with their level (the intervals then widen with it)")

    def __post_init__(self):
        super().__post_init__()
        self.quantile_list()

    def quantile_list(self) -> list[float]:
        try:
            return list(check_quantiles(float(q) for q in column_names(self.quantiles)))
        except ValueError:
            raise ConfigError(f"quantiles should be numbers between 0 and 1, comma-separated, got "
                              f"{self.quantiles!r}") from None


class ForecastTask(ForecastReport):
    """Time-series forecasting (see :class:`~rnnlab.models.Forecaster`)."""

    # the Task declaration every task makes (tasks/base.py): name, help, config classes, defaults
    name = "forecast"
    description = "forecast a time series from a CSV file h steps ahead, against persistence and seasonal naive"
    data_config = ForecastData
    model_config = ForecasterConfig
    train_defaults: ClassVar[dict] = {"epochs": 40, "batch_size": 64, "lr": 3e-3, "clip_norm": 5.0,
                                      "early_stopping": 10}

    def split(self, series: ForecastData):
        """``(values, meta, (a, b))``: the series and the train / validation / test boundaries."""
        values, meta = series.read()
        a, b = split_points(values.shape[0], series.val_fraction, series.test_fraction)
        if a <= series.window:
            raise DataError(f"{series.file}: the training part has {a} steps, not more than the window "
                            f"({series.window}); lower --window or the held-out fractions")
        return values, meta, (a, b)

    def check_config(self, config: RunConfig) -> None:
        if config.train.monitor == "val_accuracy":
            raise ConfigError("a forecaster has no accuracy: monitor val_loss or train_loss")
        if config.model.relative and config.data.window == 1:
            raise ConfigError("a window of 1 step read relative to its last value is always 0, so the model would "
                              "see nothing: use --window 2 or more, or --relative false")

    def windowed(self, series: ForecastData, values, meta, start, stop, horizon=None):
        """``(arrays, origins)``: the model's data for the origins whose targets lie in [start, stop):
        ``(X, Y)``, or ``(X, Y, future)`` for a model with future covariates."""
        h = horizon or series.model_horizon
        K = len(meta["targets"])
        X, Y, origins = windows(values, series.window, h, range(K), start, stop)
        if not meta["future"]:
            return (X, Y), origins
        idx = [meta["columns"].index(c) for c in meta["future"]]
        return (X, Y, future_windows(values, origins, h, idx)), origins

    def prepare(self, config: RunConfig, rng_data, rng_val) -> TaskData:
        d = config.data
        values, meta, (a, b) = self.split(d)
        K = len(meta["targets"])
        observed = values[~np.isnan(values).any(axis=1)]
        check_values(observed, meta["columns"], d.file)
        self.check_informative(d, values[:a, :K], meta["targets"])
        train, _ = self.windowed(d, values, meta, 0, a)
        validation, _ = self.windowed(d, values, meta, a, b)
        return TaskData(train, validation, {"values": values, "meta": meta, "bounds": (a, b)})

    def data_files(self, config: RunConfig) -> list:
        return [datasets.resolve(config.data.file, "series")]

    @staticmethod
    def check_informative(series: ForecastData, train, targets) -> None:
        """Before training: each target must change over the training part (else there is nothing to
        forecast, and MASE is undefined), and the season must fit in it."""
        season = series.season_length()
        if season >= train.shape[0]:
            raise DataError(f"{series.file}: the season ({season} steps) is not shorter than the training part "
                            f"({train.shape[0]} steps); lower --season or give a longer series")
        for k, name in enumerate(targets):
            seen = train[:, k][~np.isnan(train[:, k])]
            if seen.size == 0 or np.ptp(seen) == 0:
                raise DataError(f"{series.file}: column {name!r} is constant over the training part: there is "
                                "nothing to forecast, and MASE would be undefined")
            both = ~np.isnan(train[season:, k]) & ~np.isnan(train[:-season, k])
            if np.all(train[season:, k][both] == train[:-season, k][both]):
                raise DataError(f"{series.file}: column {name!r} repeats exactly every {season} steps over the "
                                "training part: the seasonal naive forecast is perfect and MASE undefined")

    def build_model(self, config: RunConfig, data: TaskData, rng):
        d, meta, (a, _) = config.data, data.info["meta"], data.info["bounds"]
        m = config.model
        options = {**vars(m), "quantiles": m.quantile_list()}
        model = Forecaster(meta["columns"], meta["targets"], future=meta["future"], horizon=d.model_horizon,
                           window=d.window, rng=rng, **options)
        train = data.info["values"][:a]
        return model.fit_scaling(train[~np.isnan(train).any(axis=1)])  # masked rows never set the scaling

    def intro(self, config: RunConfig, data: TaskData, out) -> None:
        d, values, meta, (a, b) = config.data, data.info["values"], data.info["meta"], data.info["bounds"]
        dates = meta["dates"]
        span = f" ({dates[0]} to {dates[-1]}, {meta['frequency']['name']})" if dates else ""
        filled = {k: v for k, v in meta["missing"].items() if v}
        inputs = [c for c in meta["columns"] if c not in meta["targets"]]
        print(f"series: {d.file}: {values.shape[0]:,} steps{span}; forecasting {', '.join(meta['targets'])}"
              + (f" from {', '.join(meta['targets'] + inputs)}" if inputs else "")
              + (f"; known in advance: {', '.join(meta['future'])}" if meta["future"] else ""), file=out)
        if filled or meta["gaps"]:
            how = {"interpolate": "interpolated", "mask": "masked (no window uses them)"}
            print("missing: " + "; ".join(
                ([f"empty cells {filled}, {how.get(d.missing, '')}"] if filled else [])
                + ([f"{meta['gaps']:,} missing timestamps, {how.get(d.gaps, '')}"] if meta["gaps"] else [])), file=out)
        print(f"split in time order: train {a:,}, validation {b - a:,}, test {values.shape[0] - b:,} steps; "
              f"windows of {d.window} steps, horizon {d.horizon}"
              + (" (recursive: a 1-step model fed its own forecasts)" if d.strategy == "recursive" else "")
              + f"; {data.train[0].shape[0]:,} training windows", file=out)
