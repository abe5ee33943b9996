import numpy as np
import pytest

from rnnlab import ConfigError
from rnnlab.gradcheck import check_gradients, numerical_gradient, relative_error


@pytest.mark.parametrize(("order", "eps", "tol"), [(2, 1e-6, 1e-8), (4, 1e-4, 1e-11)])
def test_numerical_gradient_of_a_known_function(rng, order, eps, tol):
    x = rng.standard_normal((3, 4))
    g = numerical_gradient(lambda: float(np.sum(np.sin(x) * x)), x, eps, order)
    assert relative_error(g, np.cos(x) * x + np.sin(x)) < tol


def test_a_wrong_gradient_fails_and_a_right_one_passes(rng):
    x = rng.standard_normal(10)
    f = lambda: float(np.sum(np.tanh(x)))  # noqa: E731
    right = 1 - np.tanh(x) ** 2
    assert check_gradients(f, {"x": x}, {"x": right})["x"] < 1e-9
    assert check_gradients(f, {"x": x}, {"x": right * 1.003})["x"] > 1e-3
    wrong = right.copy()
    wrong[3] = 0.0  # one entry forgotten
    assert check_gradients(f, {"x": x}, {"x": wrong})["x"] > 1e-2


def test_tiny_gradients_are_not_drowned_by_rounding_noise():
    # a gradient of norm ~4e-5 under a loss of ~4, as in a ReLU model with dead units: the 1e-6
    # step alone reports ~5e-6 (rounding noise), the fourth-order 1e-4 step ~1e-7
    x = np.linspace(-1, 1, 8)
    f = lambda: 4.0 + float(np.sum(1e-5 * x**2))  # noqa: E731
    assert check_gradients(f, {"x": x}, {"x": 2e-5 * x}, eps=1e-6)["x"] > 1e-6
    assert check_gradients(f, {"x": x}, {"x": 2e-5 * x})["x"] < 5e-7


def test_relu_kinks_are_not_straddled():
    # an input 5e-5 from the kink: the 1e-4 step straddles it, the 1e-6 step does not
    x = np.array([5e-5, -0.3, 0.7, -5e-5])
    f = lambda: float(np.sum(np.maximum(x, 0) * np.array([1.0, 2.0, 3.0, 4.0])))  # noqa: E731
    analytic = np.array([1.0, 0.0, 3.0, 0.0])
    assert relative_error(analytic, numerical_gradient(f, x, 1e-4, 4)) > 1e-3
    assert check_gradients(f, {"x": x}, {"x": analytic})["x"] < 1e-9


def test_arguments_are_checked():
    with pytest.raises(ConfigError, match="float64"):
        numerical_gradient(lambda: 0.0, np.zeros(3, np.float32))
    with pytest.raises(ConfigError, match="order"):
        numerical_gradient(lambda: 0.0, np.zeros(3), order=3)
