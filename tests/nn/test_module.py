"""Module: gradients that accumulate, state dicts, flat buffers."""

import numpy as np
import pytest

from rnnlab import ShapeError
from rnnlab.nn import RNN, Linear

F64 = np.float64


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


def test_load_state_dict_refuses_nan_weights():
    layer = Linear(2, 3, rng=0)
    before = layer.state_dict()
    bad = {**before, "bias": np.array([0.0, np.nan, 1.0], np.float32)}
    with pytest.raises(ShapeError, match="bias holds NaN or infinite values"):
        layer.load_state_dict(bad)
    np.testing.assert_array_equal(layer.params["bias"], before["bias"])  # nothing changed
