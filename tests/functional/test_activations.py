"""The stable activations, the kernels' half-tanh sigmoid included."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rnnlab.functional import log_softmax, relu, sigmoid, softmax, tanh_grad_from_output
from rnnlab.functional.activations import half_tanh_to_sigmoid_, sigmoid_

finite64 = st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False, width=64)


def test_sigmoid_matches_definition_where_it_is_safe(rng):
    x = rng.uniform(-30, 30, size=1000)
    np.testing.assert_allclose(sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-14, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_never_overflows_and_keeps_dtype(dtype):
    x = np.array([-1e4, -800, -90, 0, 90, 800, 1e4], dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # overflow would raise here
        y = sigmoid(x)
    assert y.dtype == dtype
    assert np.all((y >= 0) & (y <= 1))
    assert y[3] == 0.5 and y[-1] == 1.0 and y[0] == 0.0


@given(arrays(np.float64, st.integers(1, 30), elements=finite64))
@settings(max_examples=50, deadline=None)
def test_softmax_is_a_distribution_for_any_finite_input(x):
    with np.errstate(over="raise", invalid="raise"):
        p = softmax(x)
        lp = log_softmax(x)
    assert np.all(np.isfinite(p)) and np.all(p >= 0)
    assert abs(p.sum() - 1) < 1e-12
    assert np.all(lp <= 0) and np.all(np.isfinite(lp))
    assert p[x.argmax()] == p.max()


def test_log_softmax_is_log_of_softmax(rng):
    x = rng.standard_normal((4, 3, 7)) * 5
    np.testing.assert_allclose(np.exp(log_softmax(x)), softmax(x), rtol=1e-13)
    np.testing.assert_allclose(softmax(x, axis=0).sum(axis=0), 1.0, rtol=1e-13)


def test_derivatives_from_outputs_match_finite_differences(rng):
    x = rng.uniform(-3, 3, 50)
    eps = 1e-6
    num_tanh = (np.tanh(x + eps) - np.tanh(x - eps)) / (2 * eps)
    num_sig = (sigmoid(x + eps) - sigmoid(x - eps)) / (2 * eps)
    np.testing.assert_allclose(tanh_grad_from_output(np.tanh(x)), num_tanh, rtol=1e-7)
    s = sigmoid(x)
    np.testing.assert_allclose(s * (1 - s), num_sig, rtol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_kernels_half_tanh_sigmoid_is_the_sigmoid(rng, dtype):
    x = (rng.standard_normal(200) * 10).astype(dtype)
    tol = 1e-6 if dtype == np.float32 else 1e-15
    np.testing.assert_allclose(half_tanh_to_sigmoid_(np.tanh(x / 2)), sigmoid(x), rtol=0, atol=tol)
    y = x.copy()
    assert sigmoid_(y) is y
    np.testing.assert_allclose(y, sigmoid(x), rtol=0, atol=tol)
    with np.errstate(over="raise", invalid="raise"):
        big = sigmoid_(np.array([-1e4, -800, 0, 800, 1e4], dtype))
    assert np.all((big >= 0) & (big <= 1)) and big[2] == 0.5


def test_relu(rng):
    x = rng.standard_normal(20)
    np.testing.assert_array_equal(relu(x), np.where(x > 0, x, 0))
