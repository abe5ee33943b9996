"""Many series in one long-format file: one model, each series scaled and scored on its own."""

import csv
import datetime as dt

import numpy as np
import pytest

from cli_helpers import error_of, run_json
from rnnlab.cli import main
from rnnlab.data.panel import read_long_series
from rnnlab.errors import DataError
from rnnlab.models import load_model

STORES = {"A": (100.0, 0.0), "B": (10.0, 2.0), "C": (1000.0, 4.0)}  # level and phase: scales far apart


def write_long(path, days=240, late_start=("C", 30)):
    """A row per date and store: sales with a weekly cycle at each store's own level, a shared holiday."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["date", "store", "sales", "holiday"])
        for i in range(days):
            day = dt.date(2021, 1, 1) + dt.timedelta(days=i)
            for store, (level, phase) in STORES.items():
                if store == late_start[0] and i < late_start[1]:
                    continue
                sales = level * (1 + 0.3 * np.sin(2 * np.pi * i / 7 + phase)) * (0.5 if i % 30 == 0 else 1.0)
                w.writerow([day.isoformat(), store, f"{sales:.3f}", int(i % 30 == 0)])
    return path


def test_reading_a_long_file(tmp_path):
    values, meta = read_long_series(write_long(tmp_path / "s.csv"), "store", ["sales", "holiday"], n_targets=1,
                                    missing="mask")
    assert meta["columns"] == ["sales:A", "sales:B", "sales:C", "holiday"] and meta["series"] == ["A", "B", "C"]
    assert values.shape == (240, 4) and np.isnan(values[:30, 2]).all() and meta["masked"] == 30
    assert values[0, 3] == 1 and values[1, 3] == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("date,store,sales,holiday\n2021-01-01,A,1,0\n2021-01-01,B,2,1\n")
    with pytest.raises(DataError, match="line 3: column 'holiday' differs between series on 2021-01-01"):
        read_long_series(bad, "store", ["sales", "holiday"], n_targets=1)
    bad.write_text("date,store,sales\n2021-01-01,A,1\n2021-01-01,A,2\n")
    with pytest.raises(DataError, match="line 3: a second row for series 'A' on 2021-01-01"):
        read_long_series(bad, "store", ["sales"], n_targets=1)
    with pytest.raises(DataError, match="no column 'shop'"):
        read_long_series(bad, "shop", ["sales"], n_targets=1)


def test_one_model_for_every_series(tmp_path, capsys):
    data = write_long(tmp_path / "stores.csv")
    out = tmp_path / "run"
    summary = run_json(["train", "forecast", str(data), "--series-id", "store", "--column", "sales",
                        "--future-features", "holiday", "--missing", "mask", "--window", "14", "--horizon", "7",
                        "--season", "7", "--hidden-size", "12", "--epochs", "8", "--quiet", "--out", str(out)], capsys)
    per = summary["results"]["per_target"]
    assert set(per) == {"sales:A", "sales:B", "sales:C"}
    model = load_model(out / "model.npz")
    assert model.targets == ["sales:A", "sales:B", "sales:C"] and model.future == ["holiday"]
    assert model.std[2] > 10 * model.std[0] > 10 * model.std[1]  # each series scaled by its own statistics
    for name, table in per.items():  # the model's MAE is in each series' own units
        assert table["model"]["mae"] < 0.5 * {"sales:A": 100, "sales:B": 10, "sales:C": 1000}[name]
    fc = run_json(["forecast", str(out), "--steps", "7", "--series", "B", "--out", str(tmp_path / "b.csv")], capsys)
    assert set(fc["forecast"][0]) == {"step", "date", "sales:B", "sales:B_actual"}
    assert "the run's series are A, B, C" in error_of(["forecast", str(out), "--series", "D"], capsys)
    assert main(["forecast", str(out), "--steps", "7", "--force"]) == 0
    assert "sales:C" in (out / "forecast.csv").read_text().splitlines()[0]
    assert "name the column to forecast in every series with --column" in error_of(
        ["train", "forecast", str(data), "--series-id", "store"], capsys)
