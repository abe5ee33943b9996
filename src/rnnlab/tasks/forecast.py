"""The forecast task: a time series from a CSV file, forecast h steps ahead, against naive baselines."""

from __future__ import annotations

import csv
import dataclasses
import io
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from rnnlab import datasets
from rnnlab.config import check_fields, option
from rnnlab.data.series import (
    extend_dates,
    forecast_metrics,
    mase_scale,
    persistence_forecast,
    read_csv_series,
    seasonal_naive_forecast,
    split_points,
    windows,
)
from rnnlab.errors import ConfigError, DataError
from rnnlab.models.encoder import check_values
from rnnlab.models.forecaster import LOSSES, Forecaster
from rnnlab.tasks.base import RecurrentModelConfig, RunConfig, Task, TaskData


def _read_series(path: str, columns, dates, missing):
    return read_csv_series(path, None if columns is None else list(columns), date_columns=dates, missing=missing)


def column_names(text: str) -> list[str]:
    """A comma-separated list of column names -> the names, stripped, empty ones dropped."""
    return [c.strip() for c in text.split(",") if c.strip()]


@dataclass
class ForecastData:
    """Which series, which columns, how it is split and windowed."""

    file: str = option("sunspots", "a CSV file with a header row, or a bundled series' name (rnnlab datasets)",
                     positional=True)
    column: str = option("", "the column(s) to forecast, comma-separated (default: the bundled series' column, or "
                       "the file's only value column)")
    features: str = option("", "more input columns, comma-separated (multivariate input; default: none)")
    date_column: str = option("", "the date column(s), comma-separated (default: found by name: date, time, or "
                            "year + month)")
    missing: str = option("error", "missing values: refuse them, or fill them by linear interpolation",
                          choices=("error", "interpolate"))
    window: int = option(120, "past steps the model reads for each forecast", minimum=1)
    horizon: int = option(1, "steps ahead to forecast (and to score on the test part)", minimum=1)
    strategy: str = option("direct", "multi-step forecasts: direct (all horizon steps at once) or recursive (a "
                         "1-step model fed its own forecasts)", choices=("direct", "recursive"))
    season: int = option(0, "season length for the seasonal naive baseline and MASE (0: the bundled series' "
                         "own, sunspots 132 months, co2 52 weeks; none for a file of your own)", minimum=0)
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
                              "forecast: drop --features or use --strategy direct")

    @property
    def model_horizon(self) -> int:
        """Steps the model itself forecasts at once: 1 for the recursive strategy."""
        return 1 if self.strategy == "recursive" else self.horizon

    # -- derived -----------------------------------------------------------------------------------
    def targets(self) -> list[str]:
        named = column_names(self.column)
        if named:
            return named
        if self.file in datasets.DATASETS:
            return [datasets.DATASETS[self.file].defaults["column"]]
        return []  # the file's value columns (checked when read)

    def season_length(self) -> int:
        if self.season:
            return self.season
        return datasets.DATASETS[self.file].defaults.get("season", 1) if self.file in datasets.DATASETS else 1

    def read(self):
        """``(values (T, C), meta)`` with the target columns first, then the features (copies of a
        cached read: a command reads the file once, however many times it asks)."""
        targets, features = self.targets(), column_names(self.features)
        dates = tuple(column_names(self.date_column)) or None
        if targets:
            overlap = sorted(set(targets) & set(features))
            if overlap:
                raise ConfigError(f"{', '.join(overlap)} is both forecast and a feature; list it once")
        path = datasets.resolve(self.file, "series")
        values, meta = datasets.read_once(_read_series, path, tuple(targets + features) or None, dates, self.missing)
        values, meta = values.copy(), {**meta, "dates": meta["dates"] and list(meta["dates"])}
        if not targets:
            if len(meta["columns"]) != 1:
                raise ConfigError(f"{self.file} has several value columns ({', '.join(meta['columns'])}): choose the "
                                  "one(s) to forecast with --column")
        meta["targets"] = targets or meta["columns"]
        return values, meta


@dataclass
class ForecasterConfig(RecurrentModelConfig):
    """A Forecaster's architecture (columns, horizon and scaling come from the data)."""

    relative: bool = option(True, "read each window relative to its last value and forecast the change")
    loss: str = option("mse", "training loss on scaled values", choices=LOSSES)


class ForecastTask(Task):
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

    def prepare(self, config: RunConfig, rng_data, rng_val) -> TaskData:
        d = config.data
        values, meta, (a, b) = self.split(d)
        K = len(meta["targets"])
        check_values(values, meta["columns"], d.file)
        self.check_informative(d, values[:a, :K], meta["targets"])
        X, Y, _ = windows(values, d.window, d.model_horizon, range(K), 0, a)
        Xv, Yv, _ = windows(values, d.window, d.model_horizon, range(K), a, b)
        return TaskData((X, Y), (Xv, Yv), {"values": values, "meta": meta, "bounds": (a, b)})

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
            if np.ptp(train[:, k]) == 0:
                raise DataError(f"{series.file}: column {name!r} is constant over the training part: there is "
                                "nothing to forecast, and MASE would be undefined")
            if np.all(train[season:, k] == train[:-season, k]):
                raise DataError(f"{series.file}: column {name!r} repeats exactly every {season} steps over the "
                                "training part: the seasonal naive forecast is perfect and MASE undefined")

    def build_model(self, config: RunConfig, data: TaskData, rng):
        d, meta, (a, _) = config.data, data.info["meta"], data.info["bounds"]
        model = Forecaster(meta["columns"], meta["targets"], horizon=d.model_horizon, window=d.window, rng=rng,
                           **vars(config.model))
        return model.fit_scaling(data.info["values"][:a])

    def test_windows(self, series: ForecastData):
        values, meta, (a, b) = self.split(series)
        K = len(meta["targets"])
        X, Y, origins = windows(values, series.window, series.horizon, range(K), b)
        return values, meta, (a, b), X, Y, origins

    @staticmethod
    def predict_test(model, series: ForecastData, X):
        """The model's ``series.horizon``-step forecasts for test windows X: (M, h, K)."""
        return model.forecast_windows(X, series.horizon) if series.strategy == "recursive" else model.predict(X)

    def intro(self, config: RunConfig, data: TaskData, out) -> None:
        d, values, meta, (a, b) = config.data, data.info["values"], data.info["meta"], data.info["bounds"]
        dates = meta["dates"]
        span = f" ({dates[0]} to {dates[-1]})" if dates else ""
        filled = {k: v for k, v in meta["missing"].items() if v}
        print(f"series: {d.file}: {values.shape[0]:,} steps{span}; forecasting {', '.join(meta['targets'])}"
              + (f" from {', '.join(meta['columns'])}" if len(meta["columns"]) > len(meta["targets"]) else "")
              + (f"; missing values interpolated: {filled}" if filled else ""), file=out)
        print(f"split in time order: train {a:,}, validation {b - a:,}, test {values.shape[0] - b:,} steps; "
              f"windows of {d.window} steps, horizon {d.horizon}"
              + (" (recursive: a 1-step model fed its own forecasts)" if d.strategy == "recursive" else "")
              + f"; {data.train[0].shape[0]:,} training windows", file=out)

    def title(self, config: RunConfig) -> str:
        d = config.data
        return f"{config.model.cell.upper()} forecaster on {Path(d.file).name}, horizon {d.horizon}"

    def loss_label(self, config: RunConfig) -> str:
        return f"{config.model.loss.upper()} on standardised values"

    def baselines(self, series: ForecastData, values, origins, targets):
        """The baselines' forecasts for the given origins: {name: (M, h, K)}."""
        out = {"persistence": persistence_forecast(values, origins, series.horizon, targets)}
        m = series.season_length()
        if m > 1:
            out[f"seasonal naive ({m})"] = seasonal_naive_forecast(values, origins, series.horizon, m, targets)
        return out

    def report(self, model, config: RunConfig, validation, out) -> dict:
        d = config.data
        values, meta, (a, b), X, Y, origins = self.test_windows(d)
        K = len(meta["targets"])
        scale = mase_scale(values[:a, :K], d.season_length())
        rows = {"model": forecast_metrics(Y, self.predict_test(model, d, X), scale)}
        for name, pred in self.baselines(d, values, origins, range(K)).items():
            rows[name] = forecast_metrics(Y, pred, scale)
        how = " (recursive: a 1-step model fed its own forecasts)" if d.strategy == "recursive" else ""
        print(f"test part: {len(origins):,} forecasts of {d.horizon} step(s){how} "
              + (f"from {meta['dates'][b]} on" if meta["dates"] else f"from step {b} on"), file=out)
        print(f"  {'':<24}{'MAE':>10}{'RMSE':>10}{'MASE':>8}", file=out)
        for name, r in rows.items():
            print(f"  {name:<24}{r['mae']:>10.4g}{r['rmse']:>10.4g}{r['mase']:>8.3f}", file=out)
        best = min((r["mae"], n) for n, r in rows.items() if n != "model")
        verdict = "beats" if rows["model"]["mae"] < best[0] else "does not beat"
        print(f"  the model {verdict} the best baseline ({best[1]}) in test MAE "
              f"(MASE: MAE over the in-sample {'seasonal ' if d.season_length() > 1 else ''}naive MAE)", file=out)
        return {"test": rows, "origins": len(origins), "horizon": d.horizon}

    def forecast_table(self, model, config: RunConfig, steps: int, from_end: bool = False):
        """``(rows, meta)``: a ``steps``-step forecast from the start of the test part (or from the
        series' end), each row ``{"step", "date", "column": forecast, "column_actual": value or None}``."""
        values, meta, (_, b) = self.split(config.data)
        origin = values.shape[0] if from_end else b
        K = len(meta["targets"])
        pred = model.forecast(values[:origin], steps)  # (steps, K)
        dates = meta["dates"]
        if dates:
            dates = dates + extend_dates(dates, origin + steps - len(dates))
        rows = []
        for k in range(steps):
            t = origin + k
            row = {"step": k + 1, "date": dates[t] if dates else None}
            for j, name in enumerate(meta["targets"][:K]):
                row[name] = float(pred[k, j])
                row[f"{name}_actual"] = float(values[t, j]) if t < values.shape[0] else None
            rows.append(row)
        return rows, {"origin": origin, "history": values[:origin, :K], "dates": dates, "targets": meta["targets"]}

    def rolling_table(self, model, config: RunConfig):
        """``(rows, meta)`` like :meth:`forecast_table`, for the test part: row k is the
        ``horizon``-step-ahead forecast of test step k (made from the window before it) and the actual value."""
        d = config.data
        values, meta, (_, b), X, Y, origins = self.test_windows(d)
        pred = self.predict_test(model, d, X)[:, -1, :]  # (M, K): the last step of each forecast
        dates = meta["dates"]
        rows = []
        for j, origin in enumerate(origins):
            t = int(origin) + d.horizon - 1
            row = {"step": t - b + 1, "date": dates[t] if dates else None}
            for k, name in enumerate(meta["targets"]):
                row[name] = float(pred[j, k])
                row[f"{name}_actual"] = float(Y[j, -1, k])
            rows.append(row)
        return rows, {"origin": b, "history": values[:b, : len(meta["targets"])], "dates": dates,
                      "targets": meta["targets"]}

    def plots(self, model, config: RunConfig, folder) -> list:
        from rnnlab.plot import plot_forecast

        h = config.data.horizon
        rows, meta = self.rolling_table(model, config)
        title = f"{self.title(config)}: {h}-step-ahead forecasts over the test part"
        return [plot_forecast(rows, meta, Path(folder) / "forecast-test.png", title=title)]

    def evaluate_file(self, model, config: RunConfig, path, out) -> dict:
        return self.report(model, dataclasses.replace(config, data=dataclasses.replace(config.data, file=str(path))),
                           None, out)


def forecast_csv(rows: list[dict]) -> str:
    """A forecast table (:meth:`ForecastTask.forecast_table`'s rows) as CSV text, empty cells for None."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)
    return buf.getvalue()


def forecast_mae(rows: list[dict], target: str) -> tuple[float, int] | None:
    """``(MAE, n)`` of a forecast table's ``target`` column against the n actual values it has, or None."""
    errors = [abs(r[target] - r[f"{target}_actual"]) for r in rows if r[f"{target}_actual"] is not None]
    return (sum(errors) / len(errors), len(errors)) if errors else None
