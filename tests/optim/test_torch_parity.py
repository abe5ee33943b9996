"""Optimizers and clipping against PyTorch, step by step."""

import numpy as np
import pytest

from rnnlab.nn import Linear
from rnnlab.optim import SGD, Adagrad, Adam, AdamW, RMSprop, clip_grad_norm_

from conftest import rel_error
from torch_utils import copy_params, torch


def TORCH_DTYPE(dtype):
    return torch.float64 if dtype == np.float64 else torch.float32


def _torch_and_ours(rng, dtype=np.float64):
    ours = Linear(6, 4, dtype=dtype, rng=rng)
    ref = torch.nn.Linear(6, 4, dtype=TORCH_DTYPE(dtype))
    copy_params(ref, ours.params, dtype)
    return ours, ref


def _set_grads(ours, ref, grads):
    for name, p in ref.named_parameters():
        ours.grads[name][...] = grads[name]
        p.grad = torch.from_numpy(grads[name].copy())


@pytest.mark.parametrize("kind", ["sgd", "sgd-momentum", "adam", "adam-wd", "sgd-wd"])
def test_optimizers_match_torch_step_by_step(rng, kind):
    ours, ref = _torch_and_ours(rng)
    if kind.startswith("sgd"):
        mom = 0.9 if kind == "sgd-momentum" else 0.0
        wd = 0.01 if kind.endswith("wd") else 0.0
        opt = SGD(ours, lr=0.1, momentum=mom, weight_decay=wd)
        topt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=mom, weight_decay=wd)
    else:
        wd = 0.01 if kind.endswith("wd") else 0.0
        opt = Adam(ours, lr=0.01, weight_decay=wd)
        topt = torch.optim.Adam(ref.parameters(), lr=0.01, weight_decay=wd)
    for _ in range(5):
        grads = {name: rng.standard_normal(p.shape) for name, p in ours.params.items()}
        _set_grads(ours, ref, grads)
        opt.step()
        topt.step()
    for name, p in ref.named_parameters():
        assert rel_error(ours.params[name], p.detach().numpy()) < 1e-12, name


# each: (ours, torch's, keyword arguments both take); PyTorch's defaults otherwise
ADAPTIVE = {
    "adamw": (AdamW, "AdamW", {"lr": 0.01}),
    "adamw-wd": (AdamW, "AdamW", {"lr": 0.01, "weight_decay": 0.1, "betas": (0.8, 0.99), "eps": 1e-6}),
    "rmsprop": (RMSprop, "RMSprop", {"lr": 0.01}),
    "rmsprop-charrnn": (RMSprop, "RMSprop", {"lr": 2e-3, "alpha": 0.95}),
    "rmsprop-momentum-wd": (RMSprop, "RMSprop", {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.05}),
    "rmsprop-centered": (RMSprop, "RMSprop", {"lr": 0.01, "centered": True, "eps": 1e-4}),
    "rmsprop-centered-momentum": (RMSprop, "RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5, "eps": 1e-4}),
    "adagrad": (Adagrad, "Adagrad", {"lr": 0.1}),
    "adagrad-all": (Adagrad, "Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.01,
                                         "initial_accumulator_value": 0.3, "eps": 1e-6}),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", list(ADAPTIVE))
def test_adaptive_optimizers_match_torch_over_20_steps(rng, kind, dtype):
    ours_cls, torch_name, kwargs = ADAPTIVE[kind]
    ours, ref = _torch_and_ours(rng, dtype)
    opt = ours_cls(ours, **kwargs)
    topt = getattr(torch.optim, torch_name)(ref.parameters(), **kwargs)
    for _ in range(20):
        grads = {name: rng.standard_normal(p.shape).astype(dtype) for name, p in ours.params.items()}
        _set_grads(ours, ref, grads)
        opt.step()
        topt.step()
    bound = 1e-9 if dtype == np.float64 else 1e-4
    for name, p in ref.named_parameters():
        assert ours.params[name].dtype == dtype
        assert rel_error(ours.params[name], p.detach().numpy()) < bound, name


def test_clip_grad_norm_matches_torch(rng):
    ours, ref = _torch_and_ours(rng)
    grads = {name: rng.standard_normal(p.shape) * 3 for name, p in ours.params.items()}
    _set_grads(ours, ref, grads)
    norm = clip_grad_norm_(ours, 1.5)
    tnorm = torch.nn.utils.clip_grad_norm_(ref.parameters(), 1.5)
    assert norm == pytest.approx(tnorm.item(), rel=1e-12)
    for name, p in ref.named_parameters():
        assert rel_error(ours.grads[name], p.grad.numpy()) < 1e-12
