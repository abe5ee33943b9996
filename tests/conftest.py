"""Shared fixtures: an explicit random generator, and PyTorch helpers for parity tests."""

from __future__ import annotations

import zlib

import numpy as np
import pytest


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A generator seeded from the test's name: every test gets its own reproducible stream."""
    seed = zlib.crc32(request.node.nodeid.encode())
    return np.random.default_rng(seed)


def rel_error(a, b) -> float:
    """|a - b| / (|a| + |b|) with L2 norms over the whole arrays (0 when both are zero)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)
