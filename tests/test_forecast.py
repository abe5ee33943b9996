"""Time series: CSV reading, missing values, splits, windows, baselines and metrics by hand, the Forecaster."""

import numpy as np
import pytest

from rnnlab import datasets
from rnnlab.data.series import (
    forecast_metrics,
    interpolate_missing,
    mae,
    mase,
    mase_scale,
    persistence_forecast,
    read_csv_series,
    rmse,
    seasonal_naive_forecast,
    split_points,
    windows,
)
from rnnlab.errors import ConfigError, DataError, ShapeError
from rnnlab.gradcheck import check_model
from rnnlab.models import Forecaster, load_model


def write(tmp_path, text, name="s.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- reading -----------------------------------------------------------------------------------------


def test_read_csv_columns_and_dates(tmp_path):
    path = write(tmp_path, "date,a,b\n20200105,1,10\n20200112,2,20\n20200119,3,30\n")
    values, meta = read_csv_series(path, ["b", "a"])
    np.testing.assert_array_equal(values, [[10, 1], [20, 2], [30, 3]])
    assert meta["columns"] == ["b", "a"] and meta["dates"] == ["2020-01-05", "2020-01-12", "2020-01-19"]
    values, meta = read_csv_series(path)  # every non-date column
    assert meta["columns"] == ["a", "b"] and values.shape == (3, 2)
    ym = write(tmp_path, "year,month,x\n1999,11,1\n1999,12,2\n2000,1,3\n", "ym.csv")
    assert read_csv_series(ym)[1]["dates"] == ["1999-11", "1999-12", "2000-01"]
    nodate = write(tmp_path, "x\n1\n2\n", "n.csv")
    assert read_csv_series(nodate)[1]["dates"] is None


def test_missing_values_are_reported_or_interpolated(tmp_path):
    path = write(tmp_path, "date,x,y\n2020-01-01,,1\n2020-01-02,2,NA\n2020-01-03,,3\n2020-01-04,6,4\n"
                           "2020-01-05,,5\n")
    with pytest.raises(DataError, match=r"'x': 3 \(first at 2020-01-01\); 'y': 1 \(first at 2020-01-02\).*"
                                        "interpolate"):
        read_csv_series(path)
    values, meta = read_csv_series(path, missing="interpolate")
    assert meta["missing"] == {"x": 3, "y": 1}
    np.testing.assert_array_equal(values[:, 0], [2, 2, 4, 6, 6])  # edges: nearest value; inside: linear
    np.testing.assert_array_equal(values[:, 1], [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(interpolate_missing([[np.nan], [1.0], [np.nan], [5.0]])[:, 0], [1, 1, 3, 5])


@pytest.mark.parametrize(("text", "kwargs", "message"), [
    ("", {}, "is empty"),
    ("a,b\n", {}, "no data rows"),
    ("a\n1\nx\n", {}, r"line 3, column 'a': 'x' is not a number"),
    ("a,b\n1,2\n3\n", {}, "line 3: 1 fields, but the header has 2"),
    ("a\n1\n", {"columns": ["z"]}, "has no column 'z'; its columns are a"),
    ("date,a\n2020-01-02,1\n2020-01-01,2\n", {}, "dates should increase"),
    ("date,a\n2020-13-45,1\n", {}, "cannot read the date"),
    ("a\n\n\n", {}, "no data rows"),
    ("a,b\n1,2\n\n3,4,5\n", {}, "line 4: 3 fields"),  # line numbers count blank lines
    ("a\n1\n", {"missing": "drop"}, "missing should be"),
])
def test_malformed_csv_files(tmp_path, text, kwargs, message):
    path = write(tmp_path, text)
    with pytest.raises((DataError, ConfigError), match=message):
        read_csv_series(path, **kwargs)


def test_csv_file_errors(tmp_path):
    with pytest.raises(DataError, match="no such CSV file"):
        read_csv_series(tmp_path / "nope.csv")
    (tmp_path / "bin.csv").write_bytes(b"a\n\xff\xfe\n")
    with pytest.raises(DataError, match="not UTF-8"):
        read_csv_series(tmp_path / "bin.csv")
    write(tmp_path, "a\nNA\nNA\n", "allnan.csv")
    with pytest.raises(DataError, match="no values at all"):
        read_csv_series(tmp_path / "allnan.csv", missing="interpolate")


def test_bundled_series():
    values, meta = datasets.load_series("sunspots", ["sunspots"])
    assert values.shape == (3126, 1) and meta["dates"][-1] == "2009-06"
    with pytest.raises(DataError, match="'co2': 59"):
        datasets.load_series("co2")
    values, meta = datasets.load_series("co2", missing="interpolate")
    assert values.shape == (2284, 1) and np.isfinite(values).all() and meta["missing"] == {"co2": 59}
    with pytest.raises(DataError, match="not series"):
        datasets.load_series("pride-and-prejudice")


# -- splits and windows ----------------------------------------------------------------------------


def test_split_points_are_chronological():
    assert split_points(100, 0.15, 0.15) == (70, 85)
    with pytest.raises(ConfigError):
        split_points(100, 0.5, 0.5)


def test_windows_never_look_ahead():
    v = np.arange(20.0)[:, None] * [1, 10]  # (20, 2)
    X, Y, origins = windows(v, window=4, horizon=3, targets=[1], start=10, stop=16)
    np.testing.assert_array_equal(origins, [10, 11, 12, 13])  # targets inside [10, 16)
    assert X.shape == (4, 4, 2) and Y.shape == (4, 3, 1)
    np.testing.assert_array_equal(X[0, :, 0], [6, 7, 8, 9])  # inputs: the 4 steps before the origin
    np.testing.assert_array_equal(Y[0, :, 0], [100, 110, 120])
    assert (X[:, -1, 0] < Y[:, 0, 0] / 10).all()
    with pytest.raises(DataError, match="no complete window"):
        windows(v, window=4, horizon=10, start=15)


# -- baselines and metrics against hand-computed values ------------------------------------------------


def test_baselines_by_hand():
    v = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], float)[:, None]
    np.testing.assert_array_equal(persistence_forecast(v, [5, 7], 3)[..., 0], [[5, 5, 5], [7, 7, 7]])
    # season 3: step k takes the value one (or two) seasons before it
    np.testing.assert_array_equal(seasonal_naive_forecast(v, [6], 5, 3)[0, :, 0], [4, 5, 6, 4, 5])
    with pytest.raises(DataError, match="needs 3 steps of history"):
        seasonal_naive_forecast(v, [2], 1, 3)


def test_metrics_by_hand():
    y, p = np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 1.0])
    assert mae(y, p) == pytest.approx(4 / 3)
    assert rmse(y, p) == pytest.approx(np.sqrt(10 / 3))
    train = np.array([1.0, 3.0, 2.0, 6.0])  # naive in-sample errors 2, 1, 4
    assert mase_scale(train) == pytest.approx(7 / 3)
    assert mase_scale(train, season=2) == pytest.approx((1 + 3) / 2)
    assert mase(y, p, 7 / 3) == pytest.approx((4 / 3) / (7 / 3))
    assert forecast_metrics(y, p, 2.0)["mase"] == pytest.approx(2 / 3)
    with pytest.raises(DataError, match="constant"):
        mase_scale(np.ones(5))


# -- the Forecaster ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize(("relative", "loss"), [(True, "mse"), (False, "mae")])
def test_forecaster_gradients(cell, relative, loss, rng):
    model = Forecaster(["a", "b"], ["b"], horizon=3, cell=cell, hidden_size=4, num_layers=2, relative=relative,
                       loss=loss, mean=[1.0, -2.0], std=[2.0, 0.5], dtype=np.float64, rng=rng)
    x, y = rng.standard_normal((3, 5, 2)), rng.standard_normal((3, 3, 1))
    assert check_model(model, x, y).max_error < 1e-6


def test_forecaster_works_in_the_series_units():
    """Scaling and the relative reading are inside the model: shifting a series shifts the forecast."""
    model = Forecaster(["y"], horizon=2, hidden_size=6, dtype=np.float64, rng=0).fit_scaling(np.arange(50.0)[:, None])
    x = np.sin(np.arange(10.0))[None, :, None]
    np.testing.assert_allclose(model.predict(x + 100.0), model.predict(x) + 100.0, rtol=0, atol=1e-9)
    absolute = Forecaster(["y"], horizon=2, hidden_size=6, relative=False, rng=0)
    assert not np.allclose(absolute.predict(x + 100.0), absolute.predict(x) + 100.0)


def test_forecaster_learns_a_sine_and_forecasts_recursively(tmp_path):
    t = np.arange(500.0)
    series = (5 + 2 * np.sin(2 * np.pi * t / 20))[:, None]
    X, Y, _ = windows(series, 24, 4, start=0, stop=400)
    model = Forecaster(["y"], horizon=4, window=24, hidden_size=16, rng=0).fit_scaling(series[:400])
    history = model.fit(X, Y, epochs=15, lr=0.01, seed=0, progress=False)
    assert history["train_loss"][-1] < history["train_loss"][0] / 10
    assert history["train_accuracy"][-1] is None  # a regressor has no accuracy
    fc = model.forecast(series[:400], 10)  # 4 + 4 + 2, feeding forecasts back
    assert fc.shape == (10, 1)
    assert mae(series[400:410], fc) < mae(series[400:410], persistence_forecast(series, [400], 10)[0])
    model.save(tmp_path / "f.npz")
    loaded = load_model(tmp_path / "f.npz")
    np.testing.assert_array_equal(loaded.predict(X[:5]), model.predict(X[:5]))
    assert loaded.mean.tolist() == model.mean.tolist() and loaded.window == 24


def test_forecaster_checks():
    model = Forecaster(["a", "b"], ["a"], horizon=2, hidden_size=3, rng=0)
    with pytest.raises(ShapeError, match=r"\(N, T, 2\)"):
        model.predict(np.zeros((1, 5, 3)))
    with pytest.raises(DataError, match="NaN"):
        model.predict(np.full((1, 5, 2), np.nan))
    with pytest.raises(ShapeError, match=r"targets should have shape \(1, 2, 1\)"):
        model.loss(np.zeros((1, 5, 2)), np.zeros((1, 1, 1)))
    with pytest.raises(ConfigError, match="feeding forecasts back"):
        model.forecast(np.zeros((10, 2)), 5)
    with pytest.raises(ConfigError, match="targets should be among"):
        Forecaster(["a"], ["z"])
    with pytest.raises(ConfigError, match="loss should be"):
        Forecaster(["a"], loss="huber")


def test_extend_dates_past_the_end():
    from rnnlab.data.series import extend_dates

    assert extend_dates(["2009-05", "2009-06"], 7)[-2:] == ["2009-12", "2010-01"]
    assert extend_dates(["2020-01-01", "2020-01-08"], 2) == ["2020-01-15", "2020-01-22"]
    assert extend_dates(["2020-01-01T10:00"] * 2, 1) == [None] and extend_dates(None, 2) == [None, None]


def test_forecast_windows_feeds_forecasts_back(rng):
    model = Forecaster(["a", "b"], horizon=2, hidden_size=5, dtype=np.float64, rng=0)
    x = rng.standard_normal((3, 6, 2))
    out = model.forecast_windows(x, 5)  # 2 + 2 + 1 steps
    assert out.shape == (3, 5, 2)
    np.testing.assert_array_equal(out[:, :2], model.predict(x))
    slid = np.concatenate([x, out[:, :2]], axis=1)[:, -6:]  # the window slides over the forecasts
    np.testing.assert_allclose(out[:, 2:4], model.predict(slid), rtol=1e-12)
    np.testing.assert_allclose(model.forecast(x[1], 5), out[1], rtol=1e-12)
