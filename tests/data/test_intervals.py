"""Probabilistic scores against hand-computed values and a numerical integral."""

import math

import numpy as np
import pytest

from rnnlab.data.intervals import coverage, crps_gaussian, interval_report, mean_pinball, normal_quantiles


def test_coverage_and_pinball_by_hand():
    y = np.array([1.0, 5.0, 9.0, 3.0])
    assert coverage(y, np.full(4, 2.0), np.full(4, 8.0)) == 0.5  # 5 and 3 lie in [2, 8]
    q = np.stack([np.full(4, 2.0), np.full(4, 8.0)], axis=-1)
    # q=0.1 at 2: errors -1, 3, 7, 1 -> 0.9*1, 0.1*3, 0.1*7, 0.1*1; q=0.9 at 8: -7, -3, 1, -5 -> 0.1*7, 0.1*3, 0.9, 0.5
    expected = (0.9 + 0.3 + 0.7 + 0.1 + 0.7 + 0.3 + 0.9 + 0.5) / 8
    assert mean_pinball(y, q, [0.1, 0.9]) == pytest.approx(expected)
    report = interval_report(y, q, [0.1, 0.9])
    assert report["intervals"] == [{"lower": 0.1, "upper": 0.9, "nominal": 0.8, "coverage": 0.5}]


def test_crps_of_a_gaussian_matches_its_integral():
    mu, sd, y = 1.0, 2.0, 2.5
    erf = np.vectorize(math.erf)

    def integral(lo, hi, step):  # the trapezoid rule on [lo, hi], where the integrand is smooth
        t = np.linspace(lo, hi, 200_001)
        f = (0.5 * (1 + erf((t - mu) / (sd * math.sqrt(2)))) - step) ** 2
        return float(np.sum((f[1:] + f[:-1]) / 2 * np.diff(t)))

    numeric = integral(mu - 20 * sd, y, 0.0) + integral(y, mu + 20 * sd, 1.0)  # CRPS = integral of (F - 1[t >= y])^2
    assert crps_gaussian(np.array([y]), np.array([mu]), np.array([sd])) == pytest.approx(numeric, rel=1e-8)


def test_normal_quantiles():
    q = normal_quantiles(np.array([0.0, 10.0]), np.array([1.0, 2.0]), [0.1, 0.5, 0.9])
    np.testing.assert_allclose(q, [[-1.2815515655446004, 0, 1.2815515655446004],
                                   [10 - 2.563103131089201, 10, 10 + 2.563103131089201]])


def test_conformal_offsets_by_hand_and_their_coverage(rng):
    from rnnlab.data.intervals import conformal_offsets, widen

    y = np.array([0.0, 1.0, 2.0, 3.0])
    q = np.stack([np.zeros(4) + 0.5, np.zeros(4) + 1.5], axis=-1)  # the interval [0.5, 1.5]
    # scores: how far outside: 0.5, -0.5, 0.5, 1.5; 80% of (4 + 1) -> the 4th smallest: 1.5
    np.testing.assert_allclose(conformal_offsets(y, q, [0.1, 0.9]), [1.5])
    np.testing.assert_allclose(widen(q[:1], np.array([1.5])), [[-1.0, 3.0]])
    held = rng.standard_normal((500, 3)) * 2.0  # forecasts far too narrow for these values
    narrow = np.stack([np.full((500, 3), -0.5), np.zeros((500, 3)), np.full((500, 3), 0.5)], axis=-1)
    offsets = conformal_offsets(held, narrow, [0.1, 0.5, 0.9])
    wide = widen(narrow, offsets)
    assert offsets.shape == (3, 1) and (coverage(held, wide[..., 0], wide[..., 2]) >= 0.8)
