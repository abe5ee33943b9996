"""Every recurrent layer's backward pass, gradient-checked in float64 (the one place for them)."""

import numpy as np
import pytest

from rnnlab.gradcheck import check_layer
from rnnlab.nn import GRU, RNN

from conftest import CELLS, as_tuple, random_state

# every test here runs with each kernel set (conftest.kernel_set)
pytestmark = pytest.mark.usefixtures("kernel_set")

F64 = np.float64


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("with_h0", [False, True])
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_rnn_gradients(rng, nonlinearity, with_h0, batch_first, bias):
    N, T, D, H = 3, 4, 2, 5
    layer = RNN(D, H, nonlinearity=nonlinearity, bias=bias, batch_first=batch_first, dtype=F64, rng=rng)
    x = rng.standard_normal((N, T, D) if batch_first else (T, N, D))
    h0 = rng.standard_normal((1, N, H)) if with_h0 else None
    report = check_layer(layer, x, h0, rng=rng)
    expected = {"weight_ih_l0", "weight_hh_l0", "input", "state"} | ({"bias_ih_l0", "bias_hh_l0"} if bias else set())
    assert set(report) == expected
    assert report.max_error < 1e-6, str(report)


def test_rnn_long_sequence_gradients(rng):
    layer = RNN(3, 4, dtype=F64, rng=rng)
    report = check_layer(layer, rng.standard_normal((2, 30, 3)), rng=rng)
    assert report.max_error < 1e-6, str(report)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("ragged", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_gradients(rng, cell, num_layers, bidirectional, ragged, with_state):
    N, T, D, H = 3, 5, 2, 3
    layer = CELLS[cell](D, H, num_layers, bidirectional=bidirectional, dtype=F64, rng=rng)
    x = rng.standard_normal((N, T, D))
    lengths = np.array([5, 2, 4]) if ragged else None
    state = random_state(layer, N, rng) if with_state else None
    report = check_layer(layer, x, state, lengths=lengths, rng=rng)
    assert set(layer.params) <= set(report) and "input" in report
    assert report.max_error < 1e-6, str(report)


def test_state_gradient_only(rng):
    layer = GRU(2, 3, 2, dtype=F64, rng=rng)
    x = rng.standard_normal((2, 4, 2))
    layer.forward(x)
    dx, dh0 = layer.backward(None, rng.standard_normal((2, 2, 3)))
    assert dx.shape == x.shape and dh0.shape == (2, 2, 3) and np.abs(dx).sum() > 0


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_skipping_the_input_gradient_changes_nothing_else(rng, cell):
    layer = CELLS[cell](3, 4, 2, bidirectional=True, dtype=F64, rng=rng)
    x, g = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 5, 8))
    layer.forward(x, lengths=[5, 3])
    dx, d0 = layer.backward(g)
    full = {k: v.copy() for k, v in layer.grads.items()}
    layer.zero_grad()
    layer.forward(x, lengths=[5, 3])
    none, d1 = layer.backward(g, input_grad=False)
    assert none is None and dx.shape == x.shape
    for k in full:
        np.testing.assert_array_equal(layer.grads[k], full[k])
    for a, b in zip(as_tuple(d0), as_tuple(d1), strict=True):
        np.testing.assert_array_equal(a, b)
