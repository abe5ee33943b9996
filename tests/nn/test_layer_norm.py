"""Layer-normalised LSTM and GRU (``layer_norm=True``, Ba, Kiros and Hinton 2016): gradient-checked
for every configuration, and compared with a PyTorch loop built on ``torch.nn.functional.layer_norm``."""

import numpy as np
import pytest

from rnnlab.errors import ConfigError
from rnnlab.gradcheck import check_layer
from rnnlab.nn import GRU, LSTM, RNN

from conftest import hold_masks, random_state
from torch_utils import assert_matches_torch_loop

# the gradient checks run once: both kernel sets run the same NumPy layer-norm kernels
# (tests/kernels checks that they do); the rest runs with each set (conftest.kernel_set)

F64 = np.float64
NORMALISED = {"lstm": (LSTM, {}), "lstm-proj": (LSTM, {"proj_size": 2}), "gru": (GRU, {})}


def randomised(layer, rng):
    """Weights, gains and biases away from their initial values (gains 1 would hide a missing gain)."""
    for p in layer.params.values():
        p[...] = rng.uniform(-0.9, 0.9, p.shape)
    return layer


@pytest.mark.parametrize("cell", NORMALISED)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("ragged", [False, True])
def test_gradients(rng, cell, num_layers, bidirectional, ragged):
    cls, extra = NORMALISED[cell]
    layer = randomised(cls(2, 3, num_layers, bidirectional=bidirectional, layer_norm=True, dtype=F64, rng=rng,
                           **extra), rng)
    x = rng.standard_normal((3, 5, 2))
    report = check_layer(layer, x, random_state(layer, 3, rng), lengths=[5, 2, 4] if ragged else None, rng=rng)
    assert set(layer.params) <= set(report) and any(name.startswith("ln_") for name in report)
    assert report.max_error < 1e-6, str(report)


@pytest.mark.usefixtures("kernel_set")
@pytest.mark.parametrize("cell", NORMALISED)
def test_gradients_without_biases_and_with_recurrent_dropout(rng, cell):
    cls, extra = NORMALISED[cell]
    layer = randomised(cls(2, 4, 2, bias=False, layer_norm=True, recurrent_dropout=0.4, dropout=0.2, dtype=F64,
                           rng=rng, **extra), rng)
    hold_masks(layer)
    # no state given: the first recurrent product is zero, where a layer norm curves as eps ** -1.5
    # (the finite differences' error grows as the step squared, measured), so a smaller step
    report = check_layer(layer, rng.standard_normal((3, 5, 2)), lengths=[3, 5, 1], rng=rng, eps=1e-7)
    assert "bias_ih_l0" not in report and "ln_weight_hh_l1" in report
    assert report.max_error < 1e-6, str(report)


@pytest.mark.usefixtures("kernel_set")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", NORMALISED)
def test_matches_a_pytorch_loop_with_its_layer_norm(rng, cell, bidirectional, dtype):
    cls, extra = NORMALISED[cell]
    N, T, D = 4, 6, 3
    layer = randomised(cls(D, 5, 2, bidirectional=bidirectional, layer_norm=True, dtype=dtype, rng=rng, **extra), rng)
    assert_matches_torch_loop(layer, rng.standard_normal((N, T, D)).astype(dtype), [6, 3, 1, 5], rng)


@pytest.mark.usefixtures("kernel_set")
@pytest.mark.parametrize("cell", NORMALISED)
def test_parameters_start_as_layer_norm_s_and_streaming_equals_the_whole_pass(rng, cell):
    cls, extra = NORMALISED[cell]
    layer = cls(3, 6, 2, layer_norm=True, rng=0, **extra)
    plain = cls(3, 6, 2, rng=0, **extra)
    G = 6 * (4 if cell != "gru" else 3)
    assert layer.params["ln_weight_ih_l1"].shape == (G,) and (layer.params["ln_weight_hh_l1"] == 1).all()
    for name, p in plain.params.items():  # the same seed draws the same weights as the plain layer's
        np.testing.assert_array_equal(layer.params[name], p)
    if cell != "gru":
        assert (layer.params["ln_weight_c_l0"] == 1).all() and (layer.params["ln_bias_c_l0"] == 0).all()
    assert "layer_norm=True" in repr(layer) and "layer norm" in layer.summary()
    x = rng.standard_normal((2, 7, 3)).astype(np.float32)
    out, _ = layer.forward(x)
    carried, steps = None, []
    for t in range(7):
        o, carried = layer.step(x[:, t], carried)
        steps.append(o)
    np.testing.assert_allclose(np.stack(steps, axis=1), out, rtol=0, atol=1e-6)


def test_the_option_is_checked():
    with pytest.raises(ConfigError, match="layer_norm applies to the LSTM and the GRU"):
        RNN(2, 3, layer_norm=True)
    with pytest.raises(ConfigError, match="layer_norm should be True or False"):
        GRU(2, 3, layer_norm="yes")
