"""Losses. Each returns ``(loss, dscores)``: the scalar loss and its gradient.

Dimension letters: N sequences, T time steps, V classes (vocabulary size).
"""

from __future__ import annotations

import numpy as np

from rnnlab.errors import DataError, ShapeError


def _check_scores_targets(scores, targets, mask):
    scores = np.asarray(scores)
    targets = np.asarray(targets)
    if scores.ndim < 2:
        raise ShapeError(f"scores should have shape (..., V) with at least 2 dimensions, got {scores.shape}")
    if targets.shape != scores.shape[:-1]:
        raise ShapeError(
            f"targets should have shape {scores.shape[:-1]} to match scores {scores.shape}, got {targets.shape}"
        )
    if targets.dtype.kind not in "iu":
        raise DataError(f"targets should be integer class ids, got dtype {targets.dtype}")
    V = scores.shape[-1]
    if targets.size and (targets.min() < 0 or targets.max() >= V):
        raise DataError(
            f"targets should be class ids in 0..{V - 1}, got values from {targets.min()} to {targets.max()}"
        )
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != targets.shape:
            raise ShapeError(f"mask should have shape {targets.shape} like targets, got {mask.shape}")
    return scores, targets, mask


def softmax_cross_entropy(scores, targets, mask=None) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy (in nats) over the unmasked positions, and its gradient.

    scores: (N, T, V) unnormalised log-probabilities (any leading shape works, e.g. (M, V)).
    targets: (N, T) integer class ids in ``0..V-1``.
    mask: (N, T) booleans or non-negative weights, or None for "every position counts".
        Masked-out positions contribute neither loss nor gradient.

    Returns ``(loss, dscores)``: a Python float, and dscores of shape (N, T, V) and the
    dtype of ``scores`` with ``dscores = d loss / d scores``.

    Example::

        >>> import numpy as np
        >>> loss, dscores = softmax_cross_entropy(np.zeros((1, 2, 4)), np.array([[0, 3]]))
        >>> round(loss, 6) == round(float(np.log(4)), 6), dscores.shape
        (True, (1, 2, 4))
    """
    scores, targets, mask = _check_scores_targets(scores, targets, mask)
    V = scores.shape[-1]
    scores_cm = np.ascontiguousarray(scores.reshape(-1, V).T)
    weights = None if mask is None else np.asarray(mask).reshape(-1)
    loss, dscores_cm, _ = softmax_cross_entropy_cm(scores_cm, targets.reshape(-1), weights)
    return loss, dscores_cm.T.reshape(scores.shape)


def softmax_cross_entropy_cm(scores_cm, targets, weights=None, cols=None):
    """The fast kernel behind :func:`softmax_cross_entropy`, on class-major scores. Unchecked.

    scores_cm: (V, M) scores, one column per position (class-major: NumPy reduces along
    the long contiguous axis many times faster than along a short one).
    targets: (M,) class ids; weights: (M,) non-negative weights or None; cols: an optional
    cached ``np.arange(M)``.

    Returns ``(loss, dscores_cm, correct)``: the weighted mean loss, its gradient (V, M),
    and the (weighted) number of positions whose target has the highest score.
    """
    _V, M = scores_cm.shape
    if cols is None or cols.shape[0] != M:
        cols = np.arange(M)
    shifted = scores_cm - scores_cm.max(axis=0)  # (V, M), column maxima 0: exp never overflows
    picked = shifted[targets, cols]  # (M,) the targets' shifted scores, <= 0
    probs = np.exp(shifted)
    z = probs.sum(axis=0)  # (M,) >= 1
    logp = picked - np.log(z)  # (M,) log-probability of each target
    hit = picked == 0.0  # the target has the top score
    probs /= z
    probs[targets, cols] -= 1.0  # d(-log p_target)/d scores = p - onehot(target)
    if weights is None:
        loss = -float(np.add.reduce(logp)) / M  # (ndarray.mean goes through a slow Python wrapper)
        probs *= 1.0 / M
        correct = int(np.count_nonzero(hit))
    else:
        w = np.asarray(weights, dtype=probs.dtype)
        count = float(w.sum())
        if not count > 0:
            raise DataError("the mask excludes every position: there is nothing to compute a loss over")
        loss = -float(logp @ w) / count
        probs *= w * (1.0 / count)
        correct = float(w[hit].sum())
    return loss, probs, correct


def cross_entropy_per_step(scores, targets) -> np.ndarray:
    """Cross-entropy in nats at every position, without reduction (for evaluation).

    scores: (N, T, V); targets: (N, T). Returns (N, T) float64.
    """
    scores, targets, _ = _check_scores_targets(scores, targets, None)
    s = scores.astype(np.float64)
    shifted = s - s.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=-1))
    picked = np.take_along_axis(shifted, targets[..., None], axis=-1)[..., 0]
    return lse - picked


# -- regression losses for forecasts: each returns (loss, gradient(s)) and is gradient-checked -----------
MIN_SCALE = 1e-3  # a Gaussian's scale is softplus(raw) + MIN_SCALE: never zero, so its NLL stays finite


def squared_error(pred, target) -> tuple[float, np.ndarray]:
    """Mean squared error over every element, and d loss / d pred."""
    diff = np.asarray(pred, np.float64) - target
    return float(np.mean(diff**2)), 2.0 * diff / diff.size


def absolute_error(pred, target) -> tuple[float, np.ndarray]:
    """Mean absolute error over every element, and its (sub)gradient (0 where pred equals target)."""
    diff = np.asarray(pred, np.float64) - target
    return float(np.mean(np.abs(diff))), np.sign(diff) / diff.size


def pinball_loss(pred, target, quantiles) -> tuple[float, np.ndarray]:
    """Mean pinball (quantile) loss, and d loss / d pred.

    pred: (..., Q) forecasts of the quantiles ``quantiles`` (Q,) in (0, 1); target: (...). Each
    element scores ``max(q * e, (q - 1) * e)`` with ``e = target - pred``: the loss whose minimiser
    is the q-quantile. The mean runs over every element and quantile.
    """
    pred = np.asarray(pred, np.float64)
    q = np.asarray(quantiles, np.float64)
    e = np.asarray(target, np.float64)[..., None] - pred
    loss = np.maximum(q * e, (q - 1.0) * e)
    grad = np.where(e > 0, -q, 1.0 - q) / e.size
    return float(loss.mean()), grad


def gaussian_nll(mean, raw_scale, target) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean negative log-likelihood of ``target`` under N(mean, scale^2), scale = softplus(raw_scale)
    + MIN_SCALE; and its gradients with respect to mean and raw_scale. All arrays share one shape."""
    mean, raw = np.asarray(mean, np.float64), np.asarray(raw_scale, np.float64)
    scale = np.logaddexp(0.0, raw) + MIN_SCALE
    z = (np.asarray(target, np.float64) - mean) / scale
    n = mean.size
    loss = np.log(scale) + 0.5 * z**2 + 0.5 * np.log(2 * np.pi)
    dmean = -z / scale / n
    dscale = (1.0 - z**2) / scale / n
    return float(loss.mean()), dmean, dscale * (0.5 * (1.0 + np.tanh(0.5 * raw)))  # softplus' = sigmoid
