"""Parameter initialisers. Each takes an explicit ``np.random.Generator``.

They fill an existing array **in place** (so they work on the flat-buffer views of
:class:`~rnnlab.nn.Module`) and draw in float64 before casting, so float32 and float64
models built from the same seed start from the same values (rounded).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from rnnlab.errors import ConfigError


def as_generator(rng=None) -> np.random.Generator:
    """Turn ``None`` (fresh entropy), an int seed or a ``Generator`` into a ``Generator``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise ConfigError(f"rng should be a non-negative int seed, a numpy Generator or None, got {rng!r}")


def uniform_(array: np.ndarray, low: float, high: float, rng: np.random.Generator) -> np.ndarray:
    """Fill ``array`` with U(low, high) draws, in place; returns it."""
    array[...] = rng.uniform(low, high, size=array.shape)
    return array


def normal_(array: np.ndarray, mean: float, std: float, rng: np.random.Generator) -> np.ndarray:
    """Fill ``array`` with N(mean, std**2) draws, in place; returns it."""
    array[...] = rng.normal(mean, std, size=array.shape)
    return array


def recurrent_default_(params: dict, hidden_size: int, rng: np.random.Generator) -> None:
    """PyTorch's default for RNN/LSTM/GRU: every weight and bias U(-1/sqrt(H), 1/sqrt(H)).

    Fills the arrays in ``params`` in their order (PyTorch's: weight_ih, weight_hh,
    bias_ih, bias_hh per layer and direction).
    """
    k = 1.0 / math.sqrt(hidden_size)
    for p in params.values():
        uniform_(p, -k, k, rng)


def linear_default_(weight: np.ndarray, bias: np.ndarray | None, rng: np.random.Generator) -> None:
    """PyTorch's default for ``nn.Linear``: weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    weight: (out_features, in_features); bias: (out_features,) or None.
    (PyTorch writes it as Kaiming-uniform with a = sqrt(5), which reduces to this bound.)
    """
    fan_in = weight.shape[1]
    k = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    uniform_(weight, -k, k, rng)
    if bias is not None:
        uniform_(bias, -k, k, rng)


def embedding_default_(weight: np.ndarray, rng: np.random.Generator) -> None:
    """PyTorch's default for ``nn.Embedding``: N(0, 1)."""
    normal_(weight, 0.0, 1.0, rng)
