"""Initialisers with an explicit Generator."""

import numpy as np
import pytest

from rnnlab import ConfigError
from rnnlab.gradcheck import check_layer
from rnnlab.nn import GRU, LSTM, RNN, Linear, init


def test_xavier_bounds_and_spread():
    w = np.empty((300, 200))
    init.xavier_uniform_(w, np.random.default_rng(0), gain=2.0)
    bound = 2.0 * np.sqrt(6 / 500)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.var() - bound**2 / 3) < 0.05 * bound**2 / 3


@pytest.mark.parametrize("shape", [(6, 6), (8, 3), (3, 8)])
def test_orthogonal(shape):
    w = np.empty(shape)
    init.orthogonal_(w, np.random.default_rng(0))
    if shape[0] >= shape[1]:
        np.testing.assert_allclose(w.T @ w, np.eye(shape[1]), atol=1e-12)
    else:
        np.testing.assert_allclose(w @ w.T, np.eye(shape[0]), atol=1e-12)


def test_orthogonal_per_gate_block():
    w = np.empty((12, 3))
    init.orthogonal_(w, np.random.default_rng(1), gain=0.5, blocks=4)
    for b in range(4):
        block = w[3 * b : 3 * b + 3]
        np.testing.assert_allclose(block @ block.T, 0.25 * np.eye(3), atol=1e-12)
    with pytest.raises(ConfigError):
        init.orthogonal_(np.empty((10, 3)), np.random.default_rng(0), blocks=4)


def test_forget_bias_sums_to_the_value():
    lstm = LSTM(3, 4, 2, bidirectional=True, rng=0)
    init.lstm_forget_bias_(lstm, 1.0)
    for suffix in ("_l0", "_l0_reverse", "_l1", "_l1_reverse"):
        total = lstm.params["bias_ih" + suffix] + lstm.params["bias_hh" + suffix]
        np.testing.assert_array_equal(total[4:8], 1.0)
    with pytest.raises(ConfigError, match="LSTM"):
        init.lstm_forget_bias_(GRU(2, 3))
    with pytest.raises(ConfigError, match="bias=False"):
        init.lstm_forget_bias_(LSTM(2, 3, bias=False))


def test_recurrent_recipe_is_seeded_and_keeps_the_layer_working():
    a, b = LSTM(3, 5, rng=0), LSTM(3, 5, rng=1)
    init.recurrent_(a, rng=7)
    init.recurrent_(b, rng=7)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    w = a.params["weight_hh_l0"].astype(np.float64)
    np.testing.assert_allclose(w[:5] @ w[:5].T, np.eye(5), atol=1e-6)
    assert (a.params["bias_ih_l0"] + a.params["bias_hh_l0"])[5:10].tolist() == [1.0] * 5
    c = RNN(2, 3, dtype=np.float64, rng=0)
    init.recurrent_(c, rng=0, weight_hh="xavier")
    assert check_layer(c, np.random.default_rng(0).standard_normal((2, 3, 2)), rng=0).max_error < 1e-6
    with pytest.raises(ConfigError, match="weight_hh should be one of"):
        init.recurrent_(c, rng=0, weight_hh="identity")


def test_generators_are_explicit():
    with pytest.raises(ConfigError, match="rng should be"):
        Linear(2, 2, rng="seed")
    assert isinstance(init.as_generator(3), np.random.Generator)
