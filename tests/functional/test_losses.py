"""Masked softmax cross-entropy and its class-major kernel."""

import math

import numpy as np
import pytest

from rnnlab import DataError, ShapeError
from rnnlab.functional import cross_entropy_per_step, softmax_cross_entropy
from rnnlab.gradcheck import check_gradients


def naive_loss(scores, targets, mask=None):
    """The definition, one position at a time."""
    N, T, _V = scores.shape
    total = weight = 0.0
    for n in range(N):
        for t in range(T):
            w = 1.0 if mask is None else float(mask[n, t])
            row = scores[n, t]
            logz = math.log(sum(math.exp(s) for s in row))
            total += w * (logz - row[targets[n, t]])
            weight += w
    return total / weight


@pytest.mark.parametrize("masked", [False, True])
def test_loss_matches_the_definition(rng, masked):
    scores = rng.standard_normal((3, 4, 6)) * 3
    targets = rng.integers(0, 6, (3, 4))
    mask = rng.random((3, 4)) > 0.4 if masked else None
    if masked:
        mask[0, 0] = True
    loss, _ = softmax_cross_entropy(scores, targets, mask)
    assert loss == pytest.approx(naive_loss(scores, targets, mask), rel=1e-12)


@pytest.mark.parametrize("mask_kind", [None, "bool", "weights"])
def test_loss_gradient_checks(rng, mask_kind):
    scores = rng.standard_normal((2, 5, 7))
    targets = rng.integers(0, 7, (2, 5))
    mask = {None: None, "bool": rng.random((2, 5)) > 0.5, "weights": rng.random((2, 5))}[mask_kind]
    if mask is not None:
        mask[0, 0] = 1
    _, dscores = softmax_cross_entropy(scores, targets, mask)
    report = check_gradients(lambda: softmax_cross_entropy(scores, targets, mask)[0], {"scores": scores},
                             {"scores": dscores})
    assert report["scores"] < 1e-7


def test_masked_positions_get_no_gradient(rng):
    scores = rng.standard_normal((2, 3, 4))
    targets = rng.integers(0, 4, (2, 3))
    mask = np.array([[1, 0, 1], [0, 1, 1]], bool)
    _, d = softmax_cross_entropy(scores, targets, mask)
    assert np.all(d[~mask] == 0) and np.all(np.abs(d[mask]).sum(axis=-1) > 0)


def test_huge_scores_do_not_overflow():
    scores = np.array([[[1e4, 0.0, -1e4]]], np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, d = softmax_cross_entropy(scores, np.array([[1]]))
    assert loss == pytest.approx(1e4, rel=1e-6) and np.isfinite(d).all()


def test_per_step_loss_matches_mean(rng):
    scores = rng.standard_normal((3, 4, 5))
    targets = rng.integers(0, 5, (3, 4))
    per = cross_entropy_per_step(scores, targets)
    assert per.shape == (3, 4)
    assert per.mean() == pytest.approx(softmax_cross_entropy(scores, targets)[0], rel=1e-12)


def test_bad_inputs_give_clear_errors():
    scores = np.zeros((2, 3, 4))
    with pytest.raises(ShapeError, match="targets should have shape"):
        softmax_cross_entropy(scores, np.zeros((2, 4), int))
    with pytest.raises(DataError, match=r"class ids in 0\.\.3"):
        softmax_cross_entropy(scores, np.full((2, 3), 4))
    with pytest.raises(DataError, match="integer"):
        softmax_cross_entropy(scores, np.zeros((2, 3)))
    with pytest.raises(ShapeError, match="mask"):
        softmax_cross_entropy(scores, np.zeros((2, 3), int), np.ones((3, 2)))
    with pytest.raises(DataError, match="excludes every position"):
        softmax_cross_entropy(scores, np.zeros((2, 3), int), np.zeros((2, 3), bool))


def test_pinball_loss_by_hand_and_gradient_checked(rng):
    from rnnlab.functional.losses import pinball_loss

    # target 10: a 0.1-quantile forecast of 12 is 2 too high (weight 0.9), a 0.9-quantile of 7 is 3 too low (0.9)
    loss, grad = pinball_loss(np.array([[12.0, 7.0]]), np.array([10.0]), [0.1, 0.9])
    assert loss == pytest.approx((0.9 * 2 + 0.9 * 3) / 2)
    np.testing.assert_allclose(grad, [[0.9 / 2, -0.9 / 2]])
    pred, target, q = rng.standard_normal((4, 3, 5)), rng.standard_normal((4, 3)), [0.05, 0.2, 0.5, 0.7, 0.95]
    analytic = pinball_loss(pred, target, q)[1]
    report = check_gradients(lambda: pinball_loss(pred, target, q)[0], {"pred": pred}, {"pred": analytic})
    assert report.max_error < 1e-7


def test_gaussian_nll_by_hand_and_gradient_checked(rng):
    from rnnlab.functional.losses import MIN_SCALE, gaussian_nll

    raw = np.log(np.expm1(2.0 - MIN_SCALE))  # softplus(raw) + MIN_SCALE = 2
    loss, _, _ = gaussian_nll(np.array([1.0]), np.array([raw]), np.array([4.0]))
    assert loss == pytest.approx(math.log(2.0) + 0.5 * (3 / 2) ** 2 + 0.5 * math.log(2 * math.pi))
    mean, scale, target = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    _, dmean, dscale = gaussian_nll(mean, scale, target)
    report = check_gradients(lambda: gaussian_nll(mean, scale, target)[0], {"mean": mean, "scale": scale},
                             {"mean": dmean, "scale": dscale})
    assert report.max_error < 1e-7
