"""Dates: frequencies, gaps, extending a series, calendar features against hand-computed values."""

import math

import numpy as np
import pytest

from rnnlab.data.dates import (
    Frequency,
    calendar_features,
    check_calendar,
    check_calendar_frequency,
    date_strings,
    extend,
    fill_gaps,
    gaps,
    infer_frequency,
    parse_dates,
)
from rnnlab.errors import ConfigError, DataError


def stamps(*texts):
    return np.array(texts, dtype="datetime64[s]")


def test_calendar_features_by_hand():
    # 2012-03-01 18:30 is a Thursday (weekday 3), the 61st day of a leap year (phase 60), in March (phase 2)
    feats = calendar_features(stamps("2012-03-01T18:30"), ["hour", "weekday", "yearday", "month"])[0]
    angles = [2 * math.pi * 18.5 / 24, 2 * math.pi * 3 / 7, 2 * math.pi * 60 / 365.25, 2 * math.pi * 2 / 12]
    expected = [f(a) for a in angles for f in (math.sin, math.cos)]
    np.testing.assert_allclose(feats, expected, atol=1e-12)
    monday = calendar_features(stamps("2024-01-01"), ["weekday"])[0]  # a Monday: phase 0
    np.testing.assert_allclose(monday, [0.0, 1.0], atol=1e-12)


def test_frequencies_gaps_and_extension():
    hourly = stamps("2011-01-01T00:00", "2011-01-01T01:00", "2011-01-01T04:00", "2011-01-01T05:00")
    freq = infer_frequency(hourly, "second")
    assert freq == Frequency("seconds", 3600) and freq.describe() == "hourly"
    assert gaps(hourly, freq) == (2, 1)
    grid, values = fill_gaps(hourly, np.arange(4.0)[:, None], freq)
    assert date_strings(grid, "second")[2:4] == ["2011-01-01T02:00", "2011-01-01T03:00"]
    assert np.isnan(values[2:4, 0]).all() and values[4, 0] == 2.0
    monthly = parse_dates([["2009-11"], ["2009-12"]])
    freq = infer_frequency(*monthly)
    assert freq.describe() == "monthly" and date_strings(extend(monthly[0], freq, 2), "month") == ["2010-01",
                                                                                                 "2010-02"]
    quarters = stamps("2020-01-31", "2020-04-30")  # month ends step by months, not by a fixed number of days
    assert Frequency("seconds", 900).describe() == "every 15 minutes" and gaps(quarters, Frequency("months", 3))[0] == 0
    with pytest.raises(DataError, match="irregular"):
        gaps(stamps("2020-01-01", "2020-01-02", "2020-01-03T12:00"), Frequency("seconds", 86400))


def test_offsets_are_converted_to_utc_and_strptime_codes_apply():
    got, unit = parse_dates([["2010-06-01 12:00:00-05:00"]])
    assert date_strings(got, unit) == ["2010-06-01T17:00"]
    got, unit = parse_dates([["01.06.2010 18:00 +0100"]], "%d.%m.%Y %H:%M %z")
    assert date_strings(got, unit) == ["2010-06-01T17:00"]
    with pytest.raises(DataError, match=r"row 1: cannot read the date '2010-06-01 25' \('25' is not an hour"):
        parse_dates([["2010-06-01", "25"]])


def test_calendar_refusals():
    with pytest.raises(ConfigError, match=r"unknown calendar feature\(s\) minute; known: hour, weekday"):
        check_calendar(["hour", "minute"])
    with pytest.raises(ConfigError, match="the hour calendar feature is the same on every row of a daily series"):
        check_calendar_frequency(["hour"], Frequency("seconds", 86400))
    with pytest.raises(ConfigError, match="weekday calendar feature is the same on every row of a monthly series"):
        check_calendar_frequency(["weekday"], Frequency("months", 1))
    with pytest.raises(ConfigError, match="calendar features need dates"):
        check_calendar_frequency(["month"], None)
    check_calendar_frequency(["month", "yearday"], Frequency("months", 1))
