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


def test_missing_timestamps_are_refused_filled_or_masked(tmp_path):
    path = write(tmp_path, "date,y\n2020-01-01,1\n2020-01-02,2\n2020-01-05,5\n2020-01-06,6\n2020-01-08,8\n")
    with pytest.raises(DataError, match=r"3 missing timestamps in this daily series, the first after 2020-01-02 "
                                        r"\(line 3\).*--gaps interpolate.*--gaps mask"):
        read_csv_series(path)
    values, meta = read_csv_series(path, gaps="interpolate")
    np.testing.assert_array_equal(values[:, 0], [1, 2, 3, 4, 5, 6, 7, 8])
    assert meta["dates"][2] == "2020-01-03" and meta["gaps"] == 3 and meta["masked"] == 0
    assert meta["frequency"] == {"unit": "seconds", "step": 86400, "name": "daily"}
    values, meta = read_csv_series(path, gaps="mask")
    assert np.isnan(values[[2, 3, 6], 0]).all() and meta["masked"] == 3 and len(meta["dates"]) == 8
    X, Y, origins = windows(values, window=1, horizon=1)  # no window reads or scores a masked value
    assert origins.tolist() == [1, 5] and not np.isnan(X).any() and not np.isnan(Y).any()
    irregular = write(tmp_path, "date,y\n2020-01-01,1\n2020-01-03,2\n2020-01-05,5\n2020-01-06,6\n", "irr.csv")
    with pytest.raises(DataError, match="irregular: row 4 comes 86400 seconds after"):
        read_csv_series(irregular)


def test_masked_missing_values_stay_out_of_windows(tmp_path):
    path = write(tmp_path, "date,y\n" + "".join(f"2020-01-{d:02d},{'' if d == 5 else d}\n" for d in range(1, 11)))
    values, meta = read_csv_series(path, missing="mask")
    assert meta["missing"] == {"y": 1} and meta["masked"] == 1
    _, _, origins = windows(values, window=3, horizon=2)
    assert origins.tolist() == [8]  # the only window of 3 steps and 2 targets clear of row 4 (2020-01-05)


@pytest.mark.parametrize(("cells", "expected"), [
    (["2010/01/01 00:00:00", "2010/01/01 01:00:00"], ["2010-01-01T00:00", "2010-01-01T01:00"]),
    (["2012/01/01", "2012/01/02"], ["2012-01-01", "2012-01-02"]),
    (["2010-01-01T00:00:00+01:00", "2010-01-01T01:00:00+01:00"], ["2009-12-31T23:00", "2010-01-01T00:00"]),
    (["2010-01-01T00:00Z", "2010-01-01T00:30Z"], ["2010-01-01T00:00", "2010-01-01T00:30"]),
    (["20120101", "20120108"], ["2012-01-01", "2012-01-08"]),
    (["1262304000", "1262307600"], ["2010-01-01T00:00", "2010-01-01T01:00"]),
    (["1999", "2000"], ["1999-01", "2000-01"]),
    (["1999-11", "1999-12"], ["1999-11", "1999-12"]),
])
def test_date_formats(tmp_path, cells, expected):
    path = write(tmp_path, "when,y\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells)))
    assert read_csv_series(path, date_columns="when")[1]["dates"] == expected


def test_date_and_hour_columns_and_strptime_formats(tmp_path):
    path = write(tmp_path, "dteday,hr,cnt\n2011-01-01,0,16\n2011-01-01,1,40\n2011-01-01,3,13\n")
    values, meta = read_csv_series(path, ["cnt"], date_columns=["dteday", "hr"], gaps="mask")
    assert meta["dates"] == ["2011-01-01T00:00", "2011-01-01T01:00", "2011-01-01T02:00", "2011-01-01T03:00"]
    assert meta["frequency"]["name"] == "hourly" and np.isnan(values[2, 0])
    eu = write(tmp_path, "date,y\n01.02.2010,1\n02.02.2010,2\n", "eu.csv")
    assert read_csv_series(eu, date_format="%d.%m.%Y")[1]["dates"] == ["2010-02-01", "2010-02-02"]
    us = write(tmp_path, "date,y\n01/02/2010,1\n01/03/2010,2\n", "us.csv")
    with pytest.raises(DataError, match=r"line 2: cannot read the date '01/02/2010' \(day and month could be in "
                                        "either order: give --date-format '%d/%m/%Y' or '%m/%d/%Y'"):
        read_csv_series(us)
    assert read_csv_series(us, date_format="%m/%d/%Y")[1]["dates"] == ["2010-01-02", "2010-01-03"]
    with pytest.raises(DataError, match=r"line 3: cannot read the date 'soon'.*--date-format"):
        read_csv_series(write(tmp_path, "date,y\n2010-01-01,1\nsoon,2\n", "bad.csv"))


def test_gzipped_csv(tmp_path):
    import gzip

    (tmp_path / "s.csv.gz").write_bytes(gzip.compress(b"date,y\n2020-01-01,1\n2020-01-02,2\n"))
    assert read_csv_series(tmp_path / "s.csv.gz")[0][:, 0].tolist() == [1, 2]
    (tmp_path / "bad.csv.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match="not a readable gzip file"):
        read_csv_series(tmp_path / "bad.csv.gz")


def test_drift_and_window_mean_by_hand():
    from rnnlab.data.series import drift_forecast, future_windows, window_mean_forecast

    v = np.array([1, 4, 2, 6, 5, np.nan, 7, 9, 8, 10], float)[:, None]
    # origin 5, window 3: the values 2, 6, 5; drift (5 - 2) / 2 = 1.5 a step; mean 13 / 3
    np.testing.assert_allclose(drift_forecast(v, [5], 2, 3)[0, :, 0], [6.5, 8.0])
    np.testing.assert_allclose(window_mean_forecast(v, [5, 9], 2, 3)[:, :, 0], [[13 / 3] * 2, [8.0] * 2])
    assert np.isnan(window_mean_forecast(v, [7], 1, 3)).all()  # a masked value in its window: no forecast
    np.testing.assert_array_equal(future_windows(v, [6], 3, [0])[0, :, 0], [7, 9, 8])
