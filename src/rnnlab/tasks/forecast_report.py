"""What the forecast task reports, tabulates and draws: the test part scored against the baselines.

:class:`ForecastReport` is the part of :class:`~rnnlab.tasks.forecast.ForecastTask` that reads
a trained model's forecasts: the test metrics (point and, for a probabilistic model, its
intervals), the forecast tables behind ``rnnlab forecast`` and the plots. Its subclass provides
``split`` and ``windowed`` (the data).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path
from typing import NamedTuple

import numpy as np

from rnnlab.data.intervals import conformal_offsets, crps_gaussian, interval_report, widen
from rnnlab.data.series import (
    drift_forecast,
    forecast_metrics,
    mase_scale,
    persistence_forecast,
    seasonal_naive_forecast,
    window_mean_forecast,
)
from rnnlab.errors import DataError
from rnnlab.models.forecast_head import map_forecast
from rnnlab.tasks.base import RunConfig, Task
from rnnlab.tasks.future import future_covariates


class ScoredTest(NamedTuple):
    """The test part's forecasts: the series, its metadata and bounds, the origins kept (those whose
    windows, targets and baselines read only observed values), the actual values Y (M, h, K), the
    model's forecast (:meth:`~rnnlab.models.Forecaster.predict_distribution`'s dict) and each
    baseline's (M, h, K)."""

    values: np.ndarray
    meta: dict
    bounds: tuple
    origins: np.ndarray
    actual: np.ndarray
    forecast: dict
    baselines: dict


def quantile_name(target: str, p: float) -> str:
    """The forecast table's column of a quantile: ``cnt_q10`` for 0.1, ``cnt_q2.5`` for 0.025."""
    return f"{target}_q{p * 100:g}"


class ForecastReport(Task):
    """The reports of the forecast task (see the module docstring)."""

    def title(self, config: RunConfig) -> str:
        d = config.data
        return f"{config.model.cell.upper()} forecaster on {Path(d.file).name}, horizon {d.horizon}"

    def loss_label(self, config: RunConfig) -> str:
        return {"quantile": "pinball loss", "gaussian": "Gaussian negative log-likelihood"}.get(
            config.model.loss, config.model.loss.upper()) + " on standardised values"

    def baselines(self, series, values, origins, targets) -> dict:
        """The baselines' forecasts for the given origins, scored by the same code: {name: (M, h, K)}."""
        h, W = series.horizon, series.window
        out = {"persistence": persistence_forecast(values, origins, h, targets)}
        for m in series.baseline_seasons():
            out[f"seasonal naive ({m})"] = seasonal_naive_forecast(values, origins, h, m, targets)
        if W > 1:
            out[f"drift ({W})"] = drift_forecast(values, origins, h, W, targets)
        out[f"window mean ({W})"] = window_mean_forecast(values, origins, h, W, targets)
        return out

    def scored_test(self, model, series, chosen=None) -> ScoredTest:
        """The model's and the baselines' forecasts from the test part's origins (those in
        ``chosen`` if given), keeping the origins where every one of them reads observed values only."""
        values, meta, (a, b) = self.split(series)
        arrays, origins = self.windowed(series, values, meta, b, values.shape[0], series.horizon)
        keep = np.ones(len(origins), dtype=bool) if chosen is None else np.isin(origins, chosen)
        K = len(meta["targets"])
        base = self.baselines(series, values, origins, range(K))
        for pred in base.values():
            keep &= np.isfinite(pred).all(axis=(1, 2))
        if not keep.any():
            raise DataError(f"{series.file}: no test window (of those asked for) with observed values for the model "
                            "and every baseline")
        arrays = tuple(x[keep] for x in arrays)
        future = arrays[2] if len(arrays) > 2 else None
        forecast = self.calibrated(model, series, model.forecast_windows(arrays[0], series.horizon, future,
                                                                         distribution=True))
        return ScoredTest(values, meta, (a, b), origins[keep], arrays[1], forecast,
                          {k: v[keep] for k, v in base.items()})

    def calibration(self, model, series):
        """With ``series.conformal``: the split-conformal offsets (h, K, pairs) of the model's intervals,
        from its forecasts of the validation part, in the space it models (log(1 + y) with
        log_targets); else None."""
        if not series.conformal or not model.head.probabilistic or len(model.head.quantiles) < 2:
            return None
        values, meta, (a, b) = self.split(series)
        arrays, _ = self.windowed(series, values, meta, a, b, series.horizon)
        future = arrays[2] if len(arrays) > 2 else None
        found = model.forecast_windows(arrays[0], series.horizon, future, distribution=True)
        return conformal_offsets(model.target_space(arrays[1]), model.target_space(found["quantiles"]),
                                 found["probs"])

    def calibrated(self, model, series, found: dict) -> dict:
        """A forecast (:meth:`~rnnlab.models.Forecaster.predict_distribution`'s dict, ``h`` steps or
        fewer) with its intervals calibrated (see :meth:`calibration`); unchanged without it."""
        offsets = self.calibration(model, series)
        if offsets is None:
            return found
        q = found["quantiles"]
        steps = q.shape[-3]
        widened = widen(model.target_space(q), offsets[:steps])
        return {**found, "quantiles": model.series_space(widened)}

    def metrics(self, model, series, test: ScoredTest) -> dict:
        """MAE, RMSE and MASE of the model and each baseline; a probabilistic model's interval
        coverage and pinball loss (and CRPS for a Gaussian)."""
        K = len(test.meta["targets"])
        scale = mase_scale(test.values[: test.bounds[0], :K], series.season_length())
        rows = {"model": forecast_metrics(test.actual, test.forecast["point"], scale)}
        for name, pred in test.baselines.items():
            rows[name] = forecast_metrics(test.actual, pred, scale)
        out = {"test": rows, "origins": len(test.origins), "horizon": series.horizon}
        if K > 1:  # several series (target columns) in one model: each scored on its own too
            out["per_target"] = {}
            for k, name in enumerate(test.meta["targets"]):
                scale_k = mase_scale(test.values[: test.bounds[0], k], series.season_length())
                out["per_target"][name] = {
                    forecaster: forecast_metrics(test.actual[..., k], pred[..., k], scale_k)
                    for forecaster, pred in {"model": test.forecast["point"], **test.baselines}.items()}
        if model.head.probabilistic:
            out["intervals"] = interval_report(test.actual, test.forecast["quantiles"], test.forecast["probs"])
            if test.forecast["std"] is not None:
                out["intervals"]["crps"] = crps_gaussian(test.actual, test.forecast["point"], test.forecast["std"])
        return out

    def report(self, model, config: RunConfig, validation, out) -> dict:
        d = config.data
        test = self.scored_test(model, d)
        results = self.metrics(model, d, test)
        rows, dates, b = results["test"], test.meta["dates"], test.bounds[1]
        how = " (recursive: a 1-step model fed its own forecasts)" if d.strategy == "recursive" else ""
        print(f"test part: {len(test.origins):,} forecasts of {d.horizon} step(s){how} "
              + (f"from {dates[b]} on" if dates else f"from step {b} on"), file=out)
        print(f"  {'':<24}{'MAE':>10}{'RMSE':>10}{'MASE':>8}", file=out)
        for name, r in rows.items():
            print(f"  {name:<24}{r['mae']:>10.4g}{r['rmse']:>10.4g}{r['mase']:>8.3f}", file=out)
        best = min((r["mae"], n) for n, r in rows.items() if n != "model")
        verdict = "beats" if rows["model"]["mae"] < best[0] else "does not beat"
        print(f"  the model {verdict} the best baseline ({best[1]}) in test MAE "
              f"(MASE: MAE over the in-sample {'seasonal ' if d.season_length() > 1 else ''}naive MAE)", file=out)
        for name, table in results.get("per_target", {}).items():
            best = min((r["mae"], n) for n, r in table.items() if n != "model")
            print(f"  {name}: model MAE {table['model']['mae']:.4g}, MASE {table['model']['mase']:.3f}; best baseline "
                  f"{best[1]} {best[0]:.4g}", file=out)
        if "intervals" in results:
            iv = results["intervals"]
            spans = "; ".join(f"{i['nominal']:.0%} interval ({i['lower']:g}-{i['upper']:g}) covers "
                              f"{i['coverage']:.1%}" for i in iv["intervals"])
            crps = f"; CRPS {iv['crps']:.4g}" if "crps" in iv else ""
            print(f"  intervals: {spans or 'none (one quantile)'}; mean pinball loss {iv['pinball']:.4g}{crps}",
                  file=out)
        return results

    # -- forecast tables -----------------------------------------------------------------------------
    def forecast_table(self, model, config: RunConfig, steps: int, from_end: bool = False, future_file=None):
        """``(rows, meta)``: a ``steps``-step forecast from the start of the test part (or from the
        series' end), each row ``{"step", "date", name: forecast, name_qP: quantiles, name_actual}``."""
        values, meta, (_, b) = self.split(config.data)
        origin = values.shape[0] if from_end else b
        history = values[:origin]
        if model.window and np.isnan(history[-model.window :]).any():
            raise DataError(f"{config.data.file}: the last {model.window} steps before the forecast origin hold "
                            "masked values: the model cannot read them; forecast from another origin")
        dates, future = future_covariates(config.data, values, meta, origin, steps, future_file)
        found = model.forecast(history, steps, future, distribution=True)
        if steps <= model.horizon:  # calibrated per horizon step: beyond it, the model's own intervals
            found = map_forecast(self.calibrated(model, config.data, map_forecast(found, lambda v: v[None])),
                                 lambda v: v[0])
        rows = [self.table_row(k + 1, dates[k] if dates else None, meta["targets"], found, k,
                               values[origin + k] if origin + k < values.shape[0] else None)
                for k in range(steps)]
        return rows, {"origin": origin, "history": values[:origin, : len(meta["targets"])],
                      "dates": meta["dates"] and meta["dates"][:origin] + (dates or []), "targets": meta["targets"],
                      "series_columns": meta.get("series_columns")}

    @staticmethod
    def table_row(step: int, date, targets, found: dict, k: int, actual) -> dict:
        """One row of a forecast table: the point forecast, the quantiles (probabilistic models) and
        the actual value (None past the data or where it is masked)."""
        row = {"step": step, "date": date}
        for j, name in enumerate(targets):
            row[name] = float(found["point"][k, j])
            if found["std"] is not None or len(set(found["quantiles"][k, j])) > 1:
                for p, q in zip(found["probs"], found["quantiles"][k, j], strict=True):
                    row[quantile_name(name, p)] = float(q)
            seen = actual is not None and np.isfinite(actual[j])
            row[f"{name}_actual"] = float(actual[j]) if seen else None
        return row

    def rolling_table(self, model, config: RunConfig):
        """``(rows, meta)`` like :meth:`forecast_table`, for the test part: row k is the
        ``horizon``-step-ahead forecast of test step k (made from the window before it) and the actual value."""
        d = config.data
        test = self.scored_test(model, d)
        last = map_forecast(test.forecast, lambda v: v[:, -1])
        dates, b = test.meta["dates"], test.bounds[1]
        rows = []
        for j, origin in enumerate(test.origins):
            t = int(origin) + d.horizon - 1
            rows.append(self.table_row(t - b + 1, dates[t] if dates else None, test.meta["targets"], last, j,
                                       test.actual[j, -1]))
        return rows, {"origin": b, "history": test.values[:b, : len(test.meta["targets"])], "dates": dates,
                      "targets": test.meta["targets"], "steps": [r["step"] - 1 + b for r in rows]}

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
    """A forecast table (:meth:`ForecastReport.forecast_table`'s rows) as CSV text, empty cells for None."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)
    return buf.getvalue()


def forecast_mae(rows: list[dict], target: str) -> tuple[float, int] | None:
    """``(MAE, n)`` of a forecast table's ``target`` column against the n actual values it has, or None."""
    errors = [abs(r[target] - r[f"{target}_actual"]) for r in rows if r[f"{target}_actual"] is not None]
    return (sum(errors) / len(errors), len(errors)) if errors else None
