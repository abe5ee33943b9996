"""Embedding and Linear: gradients, shapes, dtypes, errors, repr."""

import numpy as np
import pytest

from rnnlab import ConfigError, DataError, RnnlabError, ShapeError
from rnnlab.gradcheck import check_layer
from rnnlab.nn import RNN, Embedding, Linear

F64 = np.float64


def test_linear_and_embedding_gradients(rng):
    assert check_layer(Linear(4, 3, dtype=F64, rng=rng), rng.standard_normal((2, 5, 4)), rng=rng).max_error < 1e-6
    assert check_layer(Linear(4, 3, bias=False, dtype=F64, rng=rng), rng.standard_normal((6, 4)),
                       rng=rng).max_error < 1e-6
    for V in (7, 300):  # the one-hot path and the sort path of the scatter-add
        report = check_layer(Embedding(V, 3, dtype=F64, rng=rng), rng.integers(0, V, (4, 50)), rng=rng)
        assert set(report) == {"weight"} and report.max_error < 1e-6


def test_bad_shapes_and_arguments_give_clear_errors(rng):
    layer = RNN(3, 4, rng=rng)
    with pytest.raises(ShapeError, match=r"\(N, T, D\) with D = input_size = 3"):
        layer.forward(np.zeros((2, 5, 4)))
    with pytest.raises(ShapeError, match=r"\(N, T, D\)"):
        layer.forward(np.zeros((5, 3)))
    with pytest.raises(ShapeError, match="at least one step"):
        layer.forward(np.zeros((2, 0, 3)))
    with pytest.raises(ShapeError, match=r"initial state h0 should have shape \(1, 2, 4\)"):
        layer.forward(np.zeros((2, 5, 3)), np.zeros((2, 4)))
    with pytest.raises(RnnlabError, match="before forward"):
        RNN(3, 4).backward(np.zeros((2, 5, 4)))
    layer.forward(np.zeros((2, 5, 3)))
    with pytest.raises(ShapeError, match=r"dout should have shape \(2, 5, 4\)"):
        layer.backward(np.zeros((5, 2, 4)))
    with pytest.raises(ConfigError, match="nonlinearity"):
        RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ConfigError, match="hidden_size should be a positive integer"):
        RNN(3, 0)
    with pytest.raises(ConfigError, match="dtype"):
        RNN(3, 4, dtype=np.int32)
    with pytest.raises(ConfigError, match="num_layers should be a positive integer"):
        RNN(3, 4, "relu")  # the third positional argument is num_layers, as in PyTorch
    assert RNN(3, 4, 2).num_layers == 2
    with pytest.raises(DataError, match=r"token ids should be in 0\.\.4"):
        Embedding(5, 2).forward(np.array([[1, 5]]))
    with pytest.raises(DataError, match="integer token ids"):
        Embedding(5, 2).forward(np.array([[1.0]]))
    with pytest.raises(ShapeError, match=r"inputs of shape \(\.\.\., 3\)"):
        Linear(3, 2).forward(np.zeros((4, 2)))


def test_float32_layer_stays_float32(rng):
    layer = RNN(3, 4, rng=rng)
    out, h = layer.forward(rng.standard_normal((2, 5, 3)))  # float64 input is cast
    assert out.dtype == h.dtype == np.float32
    dx, dh0 = layer.backward(np.ones_like(out))
    assert dx.dtype == dh0.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())


def test_repr_shows_the_architecture():
    assert repr(RNN(3, 4, nonlinearity="relu")) == "RNN(3, 4, nonlinearity='relu')"
