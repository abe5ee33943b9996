"""RNN, LSTM, GRU: PyTorch's names, shapes and initialisation, padding, dropout, states, streaming."""

import numpy as np
import pytest

from rnnlab import ConfigError, DataError, ShapeError
from rnnlab.gradcheck import check_layer
from rnnlab.nn import GRU, LSTM, RNN

from conftest import CELLS, as_tuple, hold_masks, random_state

# every test here runs with each kernel set (conftest.kernel_set)
pytestmark = pytest.mark.usefixtures("kernel_set")

F64 = np.float64


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


@pytest.mark.parametrize("cell", CELLS)
def test_padding_semantics(rng, cell):
    """Outputs past a sequence's end are zero, final states come from its own last step,
    padding gets zero gradient, and a padded sequence equals the same sequence alone."""
    N, T, D, H = 3, 6, 2, 4
    layer = CELLS[cell](D, H, 2, bidirectional=True, dtype=F64, rng=rng)
    x = rng.standard_normal((N, T, D))
    lengths = np.array([3, 6, 1])
    out, state = layer.forward(x, lengths=lengths)
    for i, L in enumerate(lengths):
        assert np.all(out[i, L:] == 0)
        alone, alone_state = layer.forward(x[i : i + 1, :L])
        np.testing.assert_allclose(out[i : i + 1, :L], alone, rtol=1e-12, atol=1e-14)
        for a, b in zip(as_tuple(state), as_tuple(alone_state), strict=True):
            np.testing.assert_allclose(a[:, i : i + 1], b, rtol=1e-12, atol=1e-14)
    layer.forward(x, lengths=lengths)
    dx, _ = layer.backward(rng.standard_normal(out.shape))
    for i, L in enumerate(lengths):
        assert np.all(dx[i, L:] == 0)
    # whatever the padding holds (even NaN) changes nothing
    x_nan = x.copy()
    x_nan[2, 1:] = np.nan
    out2, _ = layer.forward(x_nan, lengths=lengths)
    np.testing.assert_array_equal(out2, layer.forward(x, lengths=lengths)[0])


def test_dropout_is_training_only_reproducible_and_gradient_checked(rng):
    x = rng.standard_normal((4, 5, 3))
    a = LSTM(3, 6, 3, dropout=0.5, dtype=F64, rng=1)
    b = LSTM(3, 6, 3, dropout=0.5, dtype=F64, rng=1)
    ref = LSTM(3, 6, 3, dropout=0.0, dtype=F64, rng=1)
    out_a, _ = a.forward(x)
    out_b, _ = b.forward(x)
    np.testing.assert_array_equal(out_a, out_b)  # same generator, same masks
    assert not np.allclose(out_a, ref.forward(x)[0])
    a.eval()
    np.testing.assert_array_equal(a.forward(x)[0], ref.forward(x)[0])  # no dropout in eval mode
    a.train()
    hold_masks(a)  # with the mask held fixed (the generator reset before every forward), gradients check out
    report = check_layer(a, x, rng=rng)
    assert report.max_error < 1e-6, str(report)


def test_dropout_on_one_layer_warns():
    with pytest.warns(UserWarning, match="no effect"):
        GRU(2, 3, 1, dropout=0.2)


def test_parameter_names_and_shapes_follow_pytorch():
    lstm = LSTM(3, 5, 2, bidirectional=True)
    shapes = {k: v.shape for k, v in lstm.params.items()}
    assert list(shapes)[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert shapes["weight_ih_l0_reverse"] == (20, 3)
    assert shapes["weight_ih_l1"] == (20, 10) and shapes["weight_hh_l1_reverse"] == (20, 5)
    assert GRU(4, 6).params["weight_hh_l0"].shape == (18, 6)
    assert len(RNN(2, 3, 3, bias=False).params) == 6


def test_lengths_and_states_are_checked(rng):
    layer = LSTM(2, 3)
    x = rng.standard_normal((2, 4, 2))
    with pytest.raises(ShapeError, match=r"lengths should be between 1 and the padded length T = 4"):
        layer.forward(x, lengths=[0, 4])
    with pytest.raises(ShapeError, match=r"lengths should be between 1 and the padded length T = 4"):
        layer.forward(x, lengths=[5, 4])
    with pytest.raises(ShapeError, match=r"lengths should have shape \(2,\)"):
        layer.forward(x, lengths=[4, 4, 4])
    with pytest.raises(ShapeError, match="lengths should be integers"):
        layer.forward(x, lengths=[4.0, 2.0])
    with pytest.raises(ShapeError, match=r"pair \(h0, c0\)"):
        layer.forward(x, np.zeros((1, 2, 3)))
    with pytest.raises(ShapeError, match=r"c0 should have shape \(1, 2, 3\)"):
        layer.forward(x, (np.zeros((1, 2, 3)), np.zeros((2, 2, 3))))
    with pytest.raises(ShapeError, match="not a tuple"):
        GRU(2, 3).forward(x, (np.zeros((1, 2, 3)),))
    x[0, 1, 0] = np.nan
    with pytest.raises(DataError, match="NaN or infinite"):
        layer.forward(x)
    with pytest.raises(ConfigError, match="dropout"):
        LSTM(2, 3, 2, dropout=1.0)
    with pytest.raises(ConfigError, match="num_layers"):
        GRU(2, 3, 0)


def test_repr():
    expected = "LSTM(3, 4, num_layers=2, dropout=0.1, bidirectional=True)"
    assert repr(LSTM(3, 4, 2, bidirectional=True, dropout=0.1)) == expected
    assert repr(LSTM(3, 4, proj_size=2)) == "LSTM(3, 4, proj_size=2)"
    assert LSTM(3, 4, 2, proj_size=2).summary() == "LSTM(3, 4, 2 layers, projected to 2)"


def test_a_projection_has_pytorch_s_shapes_and_bad_sizes_are_clear_errors():
    layer = LSTM(3, 6, 2, proj_size=4, bidirectional=True)
    assert {k: v.shape for k, v in layer.params.items() if k.endswith("_l1")} == {
        "weight_ih_l1": (24, 8), "weight_hh_l1": (24, 4), "bias_ih_l1": (24,), "bias_hh_l1": (24,),
        "weight_hr_l1": (4, 6)}
    assert layer.state_shapes(5) == ((4, 5, 4), (4, 5, 6)) and layer.output_size == 4
    with pytest.raises(ShapeError, match=r"\(4, 5, 4\) and \(4, 5, 6\)"):
        layer.forward(np.zeros((5, 2, 3)), np.zeros((4, 5, 4)))
    with pytest.raises(ShapeError, match=r"h0 should have shape \(4, 5, 4\)"):
        layer.forward(np.zeros((5, 2, 3)), (np.zeros((4, 5, 6)), np.zeros((4, 5, 6))))
    with pytest.raises(ConfigError, match="smaller than hidden_size"):
        LSTM(3, 4, proj_size=4)
    with pytest.raises(ConfigError, match="non-negative integer"):
        LSTM(3, 4, proj_size=-1)
    with pytest.raises(ConfigError, match="LSTM only"):
        GRU(3, 4, proj_size=2)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("num_layers, bias", [(1, True), (3, True), (2, False)])
def test_step_streams_the_same_numbers_as_forward(rng, cell, num_layers, bias):
    layer = CELLS[cell](3, 5, num_layers, bias=bias, dropout=0.3 if num_layers > 1 else 0.0, dtype=F64, rng=rng)
    layer.eval()
    x = rng.standard_normal((2, 6, 3))
    state = random_state(layer, 2, rng)
    out, final = layer.forward(x, state)
    s = state
    for t in range(6):
        o, s = layer.step(x[:, t], s)
        np.testing.assert_allclose(o, out[:, t], rtol=1e-12, atol=1e-14)
    for a, b in zip(as_tuple(s), as_tuple(final), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    o, _ = layer.step(x[:, 0])  # no state: zeros, as forward
    np.testing.assert_allclose(o, layer.forward(x[:, :1])[0][:, 0], rtol=1e-12, atol=1e-14)


def test_step_checks_its_arguments(rng):
    with pytest.raises(ConfigError, match="bidirectional"):
        GRU(2, 3, bidirectional=True).step(np.zeros((1, 2)))
    with pytest.raises(ShapeError, match=r"\(N, 2\)"):
        LSTM(2, 3).step(np.zeros((1, 1, 2)))


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_default_initialisation_is_pytorchs(cls):
    layer = cls(10, 30, 2, bidirectional=True, rng=0)
    k = 1 / np.sqrt(30)
    for name, p in layer.params.items():
        assert np.abs(p).max() <= k, name
    everything = np.concatenate([p.ravel() for p in layer.params.values()]).astype(np.float64)
    assert abs(everything.mean()) < 0.02 * k and abs(everything.var() - k * k / 3) < 0.03 * k * k / 3


def test_inputs_that_are_not_numbers_and_sizes_beyond_this_machine_are_refused():
    with pytest.raises(DataError, match="LSTM expects numbers, got an array of dtype <U1"):
        LSTM(3, 4, rng=0).forward(np.array([[["a", "b", "c"]]]))
    with pytest.raises(ConfigError, match=r"would need about [\d,.]+ GiB.*lower hidden_size \(--hidden-size\)"):
        LSTM(8, 10**8)  # refused before anything is allocated
    huge = np.broadcast_to(np.float32(0), (10**5, 10**5, 3))  # no memory of its own: a view of one number
    with pytest.raises(ConfigError, match=r"LSTM over 100,000 sequence\(s\) of 100,000 steps would need about "
                       r"[\d,.]+ GiB.*lower the batch size, the sequence length or hidden_size"):
        LSTM(3, 4, rng=0).forward(huge)  # refused before the gates and states are allocated
