"""Argument checks shared across the package (raise ConfigError with a message naming the argument)."""

from __future__ import annotations

import functools
import numbers
import os

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


@functools.cache  # asked before every forward pass; the machine's memory does not change while we run
def memory_bytes() -> int | None:
    """This machine's physical memory in bytes (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def check_memory(what: str, nbytes: float, fix: str) -> None:
    """A ConfigError before allocating, when ``what`` would need more than half of this machine's
    memory: say how much, and ``fix`` (which option to lower). Half, because training keeps
    several copies (gradients, optimizer state, activations) beside what is estimated."""
    total = memory_bytes()
    if total is not None and nbytes > total / 2:
        raise ConfigError(f"{what} would need about {nbytes / 2**30:,.1f} GiB, more than this machine "
                          f"({total / 2**30:,.1f} GiB) can hold; {fix}")
