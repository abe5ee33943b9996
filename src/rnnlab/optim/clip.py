"""Gradient clipping, in place, on a module's gradients (or a flat gradient array).

- by value (the notebook's method): every entry clamped to [-c, c], which can change the
  gradient's direction;
- by global norm (as ``torch.nn.utils.clip_grad_norm_``): all gradients scaled together by
  ``max_norm / (norm + 1e-6)`` when the norm exceeds ``max_norm``, which keeps the direction.
"""

from __future__ import annotations

import math

import numpy as np

from rnnlab.errors import ConfigError


def _flat_grads(target) -> np.ndarray:
    if isinstance(target, np.ndarray):
        return target
    return target.flat_parameters()[1]


def grad_norm(target) -> float:
    """The global L2 norm of all gradients of a module (or of a flat gradient array).

    Returns ``inf`` or ``nan`` when a gradient entry is non-finite; a finite gradient whose
    squared norm overflows the dtype is handled by rescaling.
    """
    g = _flat_grads(target)
    with np.errstate(over="ignore", invalid="ignore"):
        sq = float(np.dot(g, g))
    if math.isfinite(sq):
        return math.sqrt(sq)
    if not np.isfinite(g).all():
        return float("nan") if np.isnan(g).any() else float("inf")
    scale = float(np.abs(g).max())  # finite entries whose squares overflow: rescale
    scaled = g.astype(np.float64) / scale
    return scale * math.sqrt(float(np.dot(scaled, scaled)))


def clip_grad_norm_(target, max_norm: float, norm: float | None = None) -> float:
    """Scale all gradients so that their global L2 norm is at most ``max_norm``, in place.

    ``norm`` may pass an already computed :func:`grad_norm`. Returns the norm *before*
    clipping, as PyTorch does.
    """
    if not max_norm > 0:
        raise ConfigError(f"max_norm should be positive, got {max_norm!r}")
    g = _flat_grads(target)
    total = grad_norm(g) if norm is None else norm
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        g *= coef
    return total


def clip_grad_value_(target, clip_value: float) -> None:
    """Clamp every gradient entry to ``[-clip_value, clip_value]``, in place."""
    if not clip_value > 0:
        raise ConfigError(f"clip_value should be positive, got {clip_value!r}")
    g = _flat_grads(target)
    np.clip(g, -clip_value, clip_value, out=g)
