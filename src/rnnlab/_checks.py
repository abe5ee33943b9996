"""Argument checks shared across the package (raise ConfigError with a message naming the argument)."""

from __future__ import annotations

import numbers

from rnnlab.errors import ConfigError


def check_int(name: str, value, minimum: int = 1) -> int:
    """``value`` as an int if it is an integer (not a bool) >= ``minimum``; else a ConfigError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        want = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ConfigError(f"{name} should be {want}, got {value!r}")
    return int(value)


def check_probability(name: str, value) -> float:
    """``value`` as a float if it is a number in [0, 1) (a dropout rate); else a ConfigError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ConfigError(f"{name} should be a probability in [0, 1), got {value!r}")
    return float(value)
