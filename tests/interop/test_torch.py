"""rnnlab layers to and from torch.nn modules."""

import numpy as np
import pytest

from rnnlab import ConfigError
from rnnlab.interop.torch import from_torch, to_torch
from rnnlab.nn import GRU, LSTM, RNN, Embedding, Linear

from torch_utils import torch

LAYERS = [
    lambda: RNN(3, 4, 2, nonlinearity="relu", bidirectional=True, rng=0),
    lambda: LSTM(3, 4, 3, dropout=0.3, rng=0),
    lambda: LSTM(3, 5, 2, proj_size=2, bidirectional=True, rng=0),
    lambda: GRU(3, 4, 2, bias=False, batch_first=False, dtype=np.float64, rng=0),
    lambda: Linear(5, 2, rng=0),
    lambda: Embedding(7, 3, dtype=np.float64, rng=0),
]


@pytest.mark.parametrize("make", LAYERS)
def test_rnnlab_to_torch_to_rnnlab_is_bit_identical(make):
    layer = make()
    module = to_torch(layer)
    back = from_torch(module)
    assert type(back) is type(layer) and repr(back) == repr(layer)
    for name, p in layer.params.items():
        np.testing.assert_array_equal(back.params[name], p)
        assert back.params[name].dtype == p.dtype
        np.testing.assert_array_equal(dict(module.named_parameters())[name].detach().numpy(), p)


@pytest.mark.parametrize("make", [
    lambda: torch.nn.LSTM(3, 5, 2, batch_first=True, bidirectional=True),
    lambda: torch.nn.LSTM(3, 5, 2, proj_size=3, dtype=torch.float64),
    lambda: torch.nn.GRU(4, 2, dtype=torch.float64),
    lambda: torch.nn.RNN(2, 3, 3, nonlinearity="relu", bias=False, batch_first=True),
    lambda: torch.nn.Linear(3, 3, bias=False),
    lambda: torch.nn.Embedding(10, 4),
])
def test_torch_to_rnnlab_to_torch_is_bit_identical(make):
    module = make()
    back = to_torch(from_torch(module))
    assert type(back) is type(module)
    for (n1, p1), (n2, p2) in zip(module.named_parameters(), back.named_parameters(), strict=True):
        assert n1 == n2 and p1.dtype == p2.dtype
        np.testing.assert_array_equal(p1.detach().numpy(), p2.detach().numpy())


def test_converted_layer_computes_the_same(rng):
    module = torch.nn.LSTM(3, 4, 2, batch_first=True, bidirectional=True, dtype=torch.float64)
    layer = from_torch(module)
    x = rng.standard_normal((2, 5, 3))
    out, (h, c) = layer.forward(x)
    t_out, (t_h, t_c) = module(torch.from_numpy(x))
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h, t_h.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c, t_c.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_recurrent_dropout_converts_with_a_warning_that_pytorch_has_none(rng):
    layer = LSTM(3, 4, recurrent_dropout=0.3, dtype=np.float64, rng=rng)
    with pytest.warns(UserWarning, match="recurrent_dropout=0.3"):
        module = to_torch(layer)
    x = rng.standard_normal((2, 5, 3))
    np.testing.assert_allclose(layer.eval().forward(x)[0], module(torch.from_numpy(x))[0].detach().numpy(),
                               rtol=1e-12, atol=1e-14)


def test_a_layer_normalised_layer_is_refused_naming_the_option():
    with pytest.raises(ConfigError, match="layer_norm=True"):
        to_torch(GRU(2, 3, layer_norm=True, rng=0))


def test_modes_and_unsupported_modules():
    layer = GRU(2, 3, rng=0)
    layer.eval()
    assert not to_torch(layer).training
    with pytest.raises(ConfigError, match="converts"):
        from_torch(torch.nn.Conv1d(2, 2, 3))
    with pytest.raises(ConfigError, match="float32 or all float64"):
        from_torch(torch.nn.Linear(2, 2, dtype=torch.float16))
