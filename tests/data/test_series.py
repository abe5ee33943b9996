"""CSV series: reading, missing values, splits, windows, baselines, metrics, dates."""

import numpy as np
import pytest

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
from rnnlab.errors import ConfigError, DataError


def write(tmp_path, text, name="s.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


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
    long = np.zeros((10**6, 1))  # 8 MB whose 900,000 windows of 100,000 steps would need 670 GiB
    with pytest.raises(ConfigError, match=r"900,000 windows of 100,000 steps would need about [\d,.]+ GiB.*--window"):
        windows(long, window=10**5, horizon=1)


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


def test_extend_dates_past_the_end():
    from rnnlab.data.series import extend_dates

    assert extend_dates(["2009-05", "2009-06"], 7)[-2:] == ["2009-12", "2010-01"]
    assert extend_dates(["2020-01-01", "2020-01-08"], 2) == ["2020-01-15", "2020-01-22"]
    assert extend_dates(["2020-01-01T10:00"] * 2, 1) == [None] and extend_dates(None, 2) == [None, None]
