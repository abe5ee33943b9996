"""Optimizers and clipping on flat buffers."""

import math

import numpy as np
import pytest

from rnnlab import ConfigError, NextTokenModel
from rnnlab.data import LETTERS
from rnnlab.nn import RNN, Linear
from rnnlab.optim import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    RMSprop,
    clip_grad_norm_,
    clip_grad_value_,
    grad_norm,
    make_optimizer,
)


def test_grad_norm_handles_overflow_and_non_finite():
    g = np.array([3e30, 4e30], np.float32)  # the squares overflow float32, the norm does not
    assert grad_norm(g) == pytest.approx(5e30, rel=1e-6)
    assert math.isinf(grad_norm(np.array([1.0, np.inf], np.float32)))
    assert math.isnan(grad_norm(np.array([1.0, np.nan], np.float32)))


def test_clipping_in_place(rng):
    layer = Linear(3, 2, dtype=np.float64, rng=rng)
    _, g = layer.flat_parameters()
    g[...] = rng.standard_normal(g.shape) * 10
    before = grad_norm(layer)
    assert clip_grad_norm_(layer, 1.0) == pytest.approx(before)
    assert grad_norm(layer) == pytest.approx(1.0, rel=1e-5)
    g[...] = np.linspace(-5, 5, g.size)
    clip_grad_value_(layer, 1.0)
    assert np.abs(g).max() == 1.0 and layer.grads["weight"].max() <= 1.0
    with pytest.raises(ConfigError):
        clip_grad_norm_(layer, 0)
    with pytest.raises(ConfigError):
        clip_grad_value_(layer, -1)


def test_optimizer_follows_a_re_laid_out_model(rng):
    model = NextTokenModel(LETTERS, hidden_size=4, dtype=np.float64, rng=rng)
    opt = SGD(model.rnn, lr=0.1)  # the rnn alone gets flat buffers first
    model.flat_parameters()  # then the whole model: the rnn's buffers move
    model.rnn.grads["weight_hh_l0"][...] = 1.0
    before = model.rnn.params["weight_hh_l0"].copy()
    opt.step()
    np.testing.assert_allclose(model.rnn.params["weight_hh_l0"], before - 0.1)


def test_optimizer_state_round_trip(rng):
    a = RNN(2, 3, rng=0)
    opt = Adam(a, lr=0.01)
    a.grads["weight_hh_l0"][...] = 1.0
    opt.step()
    b = RNN(2, 3, rng=0)
    opt_b = Adam(b, lr=0.5)
    opt_b.load_state_dict(opt.state_dict())
    assert opt_b.lr == 0.01 and opt_b.steps == 1
    np.testing.assert_array_equal(opt_b._m, opt._m)


def test_bad_optimizer_settings():
    layer = Linear(2, 2)
    with pytest.raises(ConfigError, match="learning rate"):
        Adam(layer, lr=-1)
    with pytest.raises(ConfigError, match="momentum"):
        SGD(layer, lr=0.1, momentum=1.5)
    with pytest.raises(ConfigError, match="momentum applies to the sgd and rmsprop optimizers only, not adam"):
        make_optimizer("adam", layer, 0.1, momentum=0.9)
    with pytest.raises(ConfigError, match="optimizer should be one of adam, adamw, sgd, rmsprop, adagrad, got 'lbfgs'"):
        make_optimizer("lbfgs", layer, 0.1)
    for make, message in [(lambda: RMSprop(layer, alpha=1.0), "alpha"),
                          (lambda: RMSprop(layer, centered=1), "centered"),
                          (lambda: Adagrad(layer, lr_decay=-1), "lr_decay"), (lambda: AdamW(layer, eps=0), "eps"),
                          (lambda: Adagrad(layer, weight_decay=-0.1), "weight_decay"),
                          (lambda: RMSprop(layer, momentum=1.0), "momentum")]:
        with pytest.raises(ConfigError, match=message):
            make()


def test_a_hand_edited_optimizer_state_is_refused():
    opt = Adam(NextTokenModel(LETTERS, hidden_size=4, rng=0), lr=0.01)
    state = opt.state_dict()
    for key, value, message in [("steps", -3, "'steps' should be a step count >= 0, got -3"),
                                ("steps", 2.5, "'steps' should be a step count"),
                                ("m", np.full_like(state["m"], np.nan), "'m' should hold finite numbers")]:
        with pytest.raises(ConfigError, match=message):
            opt.load_state_dict({**state, key: value})
