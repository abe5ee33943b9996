"""Helpers for the PyTorch parity tests (torch is a test dependency only)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

TORCH_DTYPES = {np.float32: torch.float32, np.float64: torch.float64}
# relative error bounds for parity with PyTorch (|a - b| / (|a| + |b|), L2 norms)
TOL = {np.float32: 1e-4, np.float64: 1e-9}


def tensor(a, dtype, grad=False):
    t = torch.tensor(np.asarray(a), dtype=TORCH_DTYPES[dtype])
    return t.requires_grad_(grad)


def copy_params(module, params: dict, dtype):
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.from_numpy(np.asarray(params[name], dtype=dtype)))
