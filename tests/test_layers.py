import numpy as np
import pytest

from rnnlab import ConfigError, DataError, RnnlabError, ShapeError
from rnnlab.functional import scatter_add_rows
from rnnlab.gradcheck import check_layer
from rnnlab.nn import RNN, Embedding, Linear

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


def test_linear_and_embedding_gradients(rng):
    assert check_layer(Linear(4, 3, dtype=F64, rng=rng), rng.standard_normal((2, 5, 4)), rng=rng).max_error < 1e-6
    assert check_layer(Linear(4, 3, bias=False, dtype=F64, rng=rng), rng.standard_normal((6, 4)),
                       rng=rng).max_error < 1e-6
    for V in (7, 300):  # the one-hot path and the sort path of the scatter-add
        report = check_layer(Embedding(V, 3, dtype=F64, rng=rng), rng.integers(0, V, (4, 50)), rng=rng)
        assert set(report) == {"weight"} and report.max_error < 1e-6


@pytest.mark.parametrize("num_rows", [5, 200])
def test_scatter_add_rows_matches_add_at(rng, num_rows):
    ids = rng.integers(0, num_rows, 400)
    rows = rng.standard_normal((400, 3))
    expected = np.zeros((num_rows, 3))
    np.add.at(expected, ids, rows)
    np.testing.assert_allclose(scatter_add_rows(ids, rows, num_rows), expected, rtol=1e-12, atol=1e-12)


def test_gradients_accumulate_until_zero_grad(rng):
    layer = RNN(2, 3, dtype=F64, rng=rng)
    x = rng.standard_normal((2, 4, 2))
    dout = rng.standard_normal((2, 4, 3))
    layer.forward(x)
    layer.backward(dout)
    once = {k: g.copy() for k, g in layer.grads.items()}
    layer.forward(x)
    layer.backward(dout)
    for k in once:
        np.testing.assert_allclose(layer.grads[k], 2 * once[k], rtol=1e-13)
    layer.zero_grad()
    assert all(not g.any() for g in layer.grads.values())


def test_rnn_parameters_are_pytorch_shaped_and_initialised(rng):
    layer = RNN(7, 40, rng=rng)
    shapes = {k: v.shape for k, v in layer.params.items()}
    assert shapes == {"weight_ih_l0": (40, 7), "weight_hh_l0": (40, 40), "bias_ih_l0": (40,), "bias_hh_l0": (40,)}
    assert all(v.dtype == np.float32 for v in layer.params.values())
    k = 1 / np.sqrt(40)
    w = layer.params["weight_hh_l0"]
    assert np.abs(w).max() <= k and np.abs(w).max() > 0.95 * k  # U(-k, k) fills its range
    assert abs(w.mean()) < 0.05 * k and abs(w.var() - k * k / 3) < 0.1 * k * k / 3
    assert sorted(layer.grads) == sorted(layer.params)


def test_same_seed_same_weights_float32_is_rounded_float64():
    a = RNN(3, 4, rng=5)
    b = RNN(3, 4, rng=5)
    c = RNN(3, 4, dtype=F64, rng=5)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
        np.testing.assert_array_equal(a.params[k], c.params[k].astype(np.float32))


def test_state_dict_round_trip_and_strict_errors(rng):
    a = RNN(3, 4, rng=1)
    b = RNN(3, 4, rng=2)
    b.load_state_dict(a.state_dict())
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    sd = a.state_dict()
    sd["weight_hh_l0"] = np.zeros((4, 5))
    del sd["bias_hh_l0"]
    sd["extra"] = np.zeros(2)
    before = b.state_dict()
    with pytest.raises(ShapeError) as info:
        b.load_state_dict(sd)
    msg = str(info.value)
    assert "missing: bias_hh_l0" in msg and "unexpected: extra" in msg
    assert "weight_hh_l0 should have shape (4, 4)" in msg
    for k in before:  # nothing was changed
        np.testing.assert_array_equal(before[k], b.params[k])


def test_load_state_dict_keeps_flat_buffers(rng):
    a = RNN(3, 4, rng=1)
    flat_p, _ = a.flat_parameters()
    a.load_state_dict(RNN(3, 4, rng=2).state_dict())
    assert np.shares_memory(a.params["weight_ih_l0"], flat_p)
    np.testing.assert_array_equal(flat_p[:12], a.params["weight_ih_l0"].ravel())


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
