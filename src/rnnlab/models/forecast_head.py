"""What a Forecaster's outputs mean: a point forecast, quantiles, or a Gaussian's mean and scale.

The network gives P numbers per forecast step and target, in standardised units: P = 1 for
the point losses (``mse``, ``mae``), Q for ``quantile`` (one per probability, pinball loss),
2 for ``gaussian`` (the mean and a raw scale, softplus(raw) + 0.001 the standard deviation,
negative log-likelihood). :class:`OutputHead` holds that rule: the loss and its gradient, where
the location lies (what ``relative`` shifts), and the forecast in the series' units.
"""

from __future__ import annotations

import itertools

import numpy as np

from rnnlab.errors import ConfigError
from rnnlab.functional.losses import MIN_SCALE, absolute_error, gaussian_nll, pinball_loss, squared_error

LOSSES = ("mse", "mae", "quantile", "gaussian")
DEFAULT_QUANTILES = (0.1, 0.5, 0.9)


def check_quantiles(quantiles) -> tuple[float, ...]:
    """Probabilities strictly between 0 and 1, increasing; a ConfigError otherwise."""
    try:
        q = tuple(float(p) for p in quantiles)
    except (TypeError, ValueError):
        raise ConfigError(f"quantiles should be numbers between 0 and 1, got {quantiles!r}") from None
    if not q or any(not 0.0 < p < 1.0 for p in q) or any(b <= a for a, b in itertools.pairwise(q)):
        raise ConfigError(f"quantiles should be increasing numbers strictly between 0 and 1, got {quantiles!r}")
    return q


class OutputHead:
    """The loss ``loss`` ("mse", "mae", "quantile" or "gaussian") with its ``quantiles`` (the
    probabilities a quantile forecast gives; for a Gaussian, those its intervals are read at)."""

    def __init__(self, loss: str, quantiles=DEFAULT_QUANTILES):
        if loss not in LOSSES:
            raise ConfigError(f"loss should be one of {', '.join(LOSSES)}, got {loss!r}")
        self.loss_name = loss
        self.quantiles = check_quantiles(quantiles)
        self.params = {"quantile": len(self.quantiles), "gaussian": 2}.get(loss, 1)

    @property
    def probabilistic(self) -> bool:
        return self.loss_name in ("quantile", "gaussian")

    def loss(self, out: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
        """``(loss, dout)`` for outputs (..., P) and targets (...), both standardised."""
        if self.loss_name == "mse":
            loss, grad = squared_error(out[..., 0], target)
            return loss, grad[..., None]
        if self.loss_name == "mae":
            loss, grad = absolute_error(out[..., 0], target)
            return loss, grad[..., None]
        if self.loss_name == "quantile":
            return pinball_loss(out, target, self.quantiles)
        loss, dmean, draw = gaussian_nll(out[..., 0], out[..., 1], target)
        return loss, np.stack([dmean, draw], axis=-1)

    def location(self) -> slice:
        """The outputs a shift of the series moves (all of a quantile forecast; a Gaussian's mean)."""
        return slice(0, 1) if self.loss_name == "gaussian" else slice(None)

    def median_index(self) -> int:
        """The quantile a point forecast reads: the one nearest 0.5."""
        return int(np.argmin([abs(p - 0.5) for p in self.quantiles]))

    def forecast(self, out: np.ndarray, mean: np.ndarray, std: np.ndarray) -> dict:
        """Standardised outputs (..., K, P) -> ``{"point": (..., K), "quantiles": (..., K, Q) or None,
        "std": (..., K) or None}`` in the series' units (target means and stds (K,)). Quantile
        forecasts are sorted, so that they never cross."""
        if self.loss_name == "quantile":
            q = np.sort(out, axis=-1) * std[:, None] + mean[:, None]
            return {"point": q[..., self.median_index()], "quantiles": q, "std": None}
        if self.loss_name == "gaussian":
            sd = (np.logaddexp(0.0, out[..., 1]) + MIN_SCALE) * std
            return {"point": out[..., 0] * std + mean, "quantiles": None, "std": sd}
        return {"point": out[..., 0] * std + mean, "quantiles": None, "std": None}


def map_forecast(found: dict, fn) -> dict:
    """A forecast dict (``point``, ``quantiles``, ``std`` arrays or None, ``probs``) with ``fn``
    applied to each of its arrays (to slice or index them all alike)."""
    return {k: v if k == "probs" or v is None else fn(v) for k, v in found.items()}


def join_forecasts(parts: list[dict], axis: int) -> dict:
    """Forecast dicts joined along ``axis`` (steps: 1; windows: 0)."""
    return {**parts[0], **{k: np.concatenate([p[k] for p in parts], axis=axis)
                           for k, v in parts[0].items() if k != "probs" and v is not None}}
