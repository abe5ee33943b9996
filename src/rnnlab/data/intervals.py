"""Scoring probabilistic forecasts: interval coverage, the pinball loss, and the Gaussian's CRPS.

Shapes: y (...) the actual values; quantile forecasts (..., Q) for the probabilities ``probs``
(Q,); a Gaussian forecast's mean and standard deviation (...), in the series' units.

Example::

    >>> y = np.array([1.0, 2.0, 3.0, 10.0])
    >>> coverage(y, np.zeros(4), np.full(4, 5.0))
    0.75
    >>> round(crps_gaussian(np.array([0.0]), np.array([0.0]), np.array([1.0])), 4)  # (sqrt 2 - 1) / sqrt pi
    0.2337
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from rnnlab.functional.losses import pinball_loss

_erf = np.vectorize(math.erf, otypes=[np.float64])


def coverage(y, lower, upper) -> float:
    """The share of actual values inside [lower, upper]."""
    y = np.asarray(y, np.float64)
    return float(np.mean((y >= lower) & (y <= upper)))


def mean_pinball(y, quantile_forecasts, probs) -> float:
    """The pinball loss averaged over every value and quantile, in the series' units."""
    return pinball_loss(quantile_forecasts, y, probs)[0]


def normal_quantiles(mean, std, probs) -> np.ndarray:
    """(..., Q): the ``probs`` quantiles of N(mean, std^2)."""
    z = np.array([NormalDist().inv_cdf(p) for p in probs])
    return np.asarray(mean, np.float64)[..., None] + np.asarray(std, np.float64)[..., None] * z


def crps_gaussian(y, mean, std) -> float:
    """The mean continuous ranked probability score of N(mean, std^2) forecasts (Gneiting and
    Raftery's closed form: std * (z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi)), z = (y - mean) / std)."""
    std = np.asarray(std, np.float64)
    z = (np.asarray(y, np.float64) - mean) / std
    cdf = 0.5 * (1.0 + _erf(z / math.sqrt(2.0)))
    pdf = np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    return float(np.mean(std * (z * (2 * cdf - 1) + 2 * pdf - 1 / math.sqrt(math.pi))))


def interval_report(y, quantile_forecasts, probs) -> dict:
    """``{"pinball", "intervals": [{"lower", "upper", "nominal", "coverage"}]}``: each central
    interval the quantiles make (the i-th from the bottom with the i-th from the top)."""
    q = np.asarray(quantile_forecasts, np.float64)
    out = {"pinball": mean_pinball(y, q, probs), "intervals": []}
    for i in range(len(probs) // 2):
        j = len(probs) - 1 - i
        out["intervals"].append({"lower": probs[i], "upper": probs[j], "nominal": round(probs[j] - probs[i], 6),
                                 "coverage": coverage(y, q[..., i], q[..., j])})
    return out


def conformal_offsets(y, quantile_forecasts, probs) -> np.ndarray:
    """Split-conformal corrections of central intervals from held-out forecasts (conformalized
    quantile regression, Romano, Patterson and Candes 2019).

    y (N, ...) held-out values and quantile_forecasts (N, ..., Q) their forecasts, in the space
    the intervals are widened in. For each central pair (the i-th quantile from the bottom with
    the i-th from the top, nominal coverage 1 - alpha) the score of a value is how far it lies
    outside its interval (negative inside); the offset is the ceil((N + 1)(1 - alpha))-th smallest
    score, per position. Returns (..., pairs): widen with :func:`widen`.
    """
    y = np.asarray(y, np.float64)
    q = np.asarray(quantile_forecasts, np.float64)
    n, out = y.shape[0], []
    for i in range(len(probs) // 2):
        j = len(probs) - 1 - i
        scores = np.sort(np.maximum(q[..., i] - y, y - q[..., j]), axis=0)
        rank = min(n, math.ceil((n + 1) * (probs[j] - probs[i])))
        out.append(scores[rank - 1])
    return np.stack(out, axis=-1) if out else np.zeros((*y.shape[1:], 0))


def widen(quantile_forecasts, offsets) -> np.ndarray:
    """Quantile forecasts (..., Q) with each central pair moved apart by its offset (..., pairs),
    broadcast over the leading dimensions (a negative offset narrows it)."""
    q = np.array(quantile_forecasts, np.float64)
    Q = q.shape[-1]
    for i in range(offsets.shape[-1]):
        q[..., i] -= offsets[..., i]
        q[..., Q - 1 - i] += offsets[..., i]
    return np.sort(q, axis=-1)
