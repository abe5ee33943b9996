"""Forecasting real series from the command line: dates, gaps, known-future covariates, intervals, backtests."""

import csv
import datetime as dt

import numpy as np
import pytest

from cli_helpers import error_of, run_json
from rnnlab.cli import main
from rnnlab.data.intervals import coverage
from rnnlab.models import load_model
from rnnlab.runs import Run
from rnnlab.tasks.backtest import origins_of

HOURS = 24 * 30
MISSING_HOURS = {100, 101, 102, 400}


def write_hourly(path, hours=HOURS, start=dt.datetime(2012, 3, 1), missing=MISSING_HOURS):
    """An hourly count with a daily cycle, lower on holidays (known in advance), dates as YYYY/MM/DD HH:MM."""
    rng = np.random.default_rng(0)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["when", "load", "holiday"])
        for i in range(hours):
            if i in missing:
                continue
            t = start + dt.timedelta(hours=i)
            holiday = int(t.day % 7 == 0)
            load = 50 + 30 * np.sin(2 * np.pi * t.hour / 24) * (0.3 if holiday else 1.0) + rng.normal(0, 2)
            w.writerow([t.strftime("%Y/%m/%d %H:%M"), f"{load:.3f}", holiday])
    return path


ARGS = ["--column", "load", "--date-column", "when", "--calendar", "hour", "--future-features", "holiday",
        "--gaps", "mask", "--window", "24", "--horizon", "6", "--hidden-size", "12", "--epochs", "6", "--cell", "gru",
        "--quiet"]


@pytest.fixture(scope="module")
def quantile_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hourly")
    data = write_hourly(folder / "load.csv")
    out = folder / "run"
    assert main(["train", "forecast", str(data), *ARGS, "--loss", "quantile", "--out", str(out)]) == 0
    return out


def test_training_data_never_hold_a_masked_value(quantile_run):
    run = Run.open(quantile_run)
    data = run.data()
    values, meta = data.info["values"], data.info["meta"]
    assert meta["gaps"] == len(MISSING_HOURS) and meta["frequency"]["name"] == "hourly"
    assert meta["future"] == ["holiday", "hour_sin", "hour_cos"] and np.isnan(values[100, 0])
    X, Y, F = data.train
    assert not np.isnan(X).any() and not np.isnan(Y).any() and not np.isnan(F).any()
    a = data.info["bounds"][0]
    observed = ~np.isnan(values).any(axis=1)
    complete = [s for s in range(24, a - 6 + 1) if observed[s - 24 : s + 6].all()]
    assert X.shape[0] == len(complete)  # every fully observed window, and only those
    np.testing.assert_array_equal(F[0, :, 1:], values[24:30, 2:4])  # the calendar of the horizon


def test_the_report_gives_coverage_and_pinball(quantile_run, capsys):
    res = run_json(["evaluate", str(quantile_run)], capsys)["results"]
    assert {"model", "persistence", "drift (24)", "window mean (24)"} <= set(res["test"])
    interval = res["intervals"]["intervals"][0]
    assert (interval["lower"], interval["upper"], interval["nominal"]) == (0.1, 0.9, 0.8)
    model = load_model(quantile_run / "model.npz")
    run = Run.open(quantile_run)
    test = run.task.scored_test(model, run.config.data)
    q = test.forecast["quantiles"]
    assert interval["coverage"] == pytest.approx(coverage(test.actual, q[..., 0], q[..., 2]))
    assert main(["evaluate", str(quantile_run)]) == 0
    assert "80% interval (0.1-0.9) covers" in capsys.readouterr().out


def test_forecast_past_the_end_needs_the_future_covariates(quantile_run, tmp_path, capsys):
    err = error_of(["forecast", str(quantile_run), "--steps", "6", "--from-end"], capsys)
    assert "runs past the series' end (2012-03-31T00:00 on)" in err and "--future FILE" in err
    future = tmp_path / "future.csv"
    future.write_text("when,holiday\n" + "".join(f"2012/03/31 {h:02d}:00,0\n" for h in range(5)))
    assert "lacks the values of holiday at 2012-03-31T05:00" in error_of(
        ["forecast", str(quantile_run), "--steps", "6", "--from-end", "--future", str(future)], capsys)
    future.write_text("when,holiday\n" + "".join(f"2012/03/31 {h:02d}:00,0\n" for h in range(6)))
    out = run_json(["forecast", str(quantile_run), "--steps", "6", "--from-end", "--future", str(future),
                    "--out", str(tmp_path / "fc.csv")], capsys)
    rows = out["forecast"]
    assert [r["date"] for r in rows][:2] == ["2012-03-31T00:00", "2012-03-31T01:00"]
    assert all(r["load_q10"] <= r["load"] <= r["load_q90"] for r in rows) and rows[0]["load_actual"] is None
    assert (tmp_path / "fc.png").read_bytes()[:4] == b"\x89PNG"
    nofile = tmp_path / "nodates.csv"
    nofile.write_text("holiday\n0\n")
    assert "has no column 'when'; its columns are holiday" in error_of(
        ["forecast", str(quantile_run), "--steps", "6", "--from-end", "--future", str(nofile)], capsys)


def test_backtest_equals_a_loop_of_single_forecasts(quantile_run, capsys):
    out = run_json(["backtest", str(quantile_run), "--every", "5"], capsys)
    run = Run.open(quantile_run)
    model = load_model(quantile_run / "model.npz")
    data = run.data()
    values, meta = data.info["values"], data.info["meta"]
    future = [meta["columns"].index(c) for c in meta["future"]]
    chosen = origins_of(run.task, run.config, 5)
    rows = {r["origin"]: r for r in out["rows"]}
    assert set(rows) <= set(chosen.tolist()) and len(rows) >= len(chosen) - 3
    for origin, row in rows.items():
        one = model.forecast(values[:origin], 6, values[origin : origin + 6, future])
        assert row["model"] == pytest.approx(float(np.mean(np.abs(one[:, 0] - values[origin : origin + 6, 0]))))
        assert row["persistence"] == pytest.approx(float(np.mean(np.abs(values[origin - 1, 0]
                                                                         - values[origin : origin + 6, 0]))))
    assert (quantile_run / "backtest.csv").exists() and (quantile_run / "backtest.png").exists()
    refit = run_json(["backtest", str(quantile_run), "--every", "12", "--refit-every", "4", "--refit-epochs", "1",
                      "--force"], capsys)
    assert refit["refits"] == -(-len(origins_of(run.task, run.config, 12)) // 4)  # one per block of 4 origins


def test_a_gaussian_forecaster_reports_crps(tmp_path, capsys):
    data = write_hourly(tmp_path / "load.csv", missing=set())
    summary = run_json(["train", "forecast", str(data), *ARGS, "--loss", "gaussian", "--no-plot", "--out",
                        str(tmp_path / "run")], capsys)
    assert summary["results"]["intervals"]["crps"] > 0
    assert summary["results"]["intervals"]["intervals"][0]["nominal"] == 0.8


def test_date_and_gap_errors_are_one_line(tmp_path, capsys):
    data = write_hourly(tmp_path / "load.csv")
    assert "4 missing timestamps in this hourly series, the first after 2012-03-05T03:00" in error_of(
        ["train", "forecast", str(data), "--column", "load", "--date-column", "when"], capsys)
    us = tmp_path / "us.csv"
    us.write_text("date,y\n" + "".join(f"01/{d:02d}/2012,{d}\n" for d in range(1, 30)))
    assert "give --date-format '%d/%m/%Y' or '%m/%d/%Y'" in error_of(["train", "forecast", str(us)], capsys)
    assert "the hour calendar feature is the same on every row of a daily series" in error_of(
        ["train", "forecast", str(us), "--date-format", "%m/%d/%Y", "--calendar", "hour"], capsys)
    assert "unknown calendar feature(s) hours" in error_of(["train", "forecast", str(us), "--calendar", "hours"],
                                                          capsys)


def test_conformal_intervals_cover_their_share_of_the_validation_part(quantile_run):
    import dataclasses

    run = Run.open(quantile_run)
    model = load_model(quantile_run / "model.npz")
    d = dataclasses.replace(run.config.data, conformal=True)
    offsets = run.task.calibration(model, d)
    assert offsets.shape == (6, 1, 1)
    values, meta, (a, b) = run.task.split(d)
    arrays, _ = run.task.windowed(d, values, meta, a, b, d.horizon)
    found = run.task.calibrated(model, d, model.forecast_windows(arrays[0], 6, arrays[2], distribution=True))
    q = found["quantiles"]
    for step in range(6):  # by construction, at least 80% of each step's validation values
        assert coverage(arrays[1][:, step], q[:, step, :, 0], q[:, step, :, 2]) >= 0.8
    assert run.task.calibration(model, run.config.data) is None  # off unless asked
