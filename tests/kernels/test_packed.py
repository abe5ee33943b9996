"""The fused kernels' per-step products: packed weights and the register tile, against NumPy's product,
at this machine's SIMD width and, in a subprocess each, at the others (RNNLAB_VECTOR_BYTES)."""

import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("numba", reason="the fused kernels need numba: pip install 'rnnlab[fast]'")

from rnnlab.kernels import active_kernels, packed, use_kernels  # after the skip
from rnnlab.nn import GRU, LSTM, RNN

from conftest import as_tuple, rel_error


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_packed_product_is_the_matrix_product_and_writes_nothing_else(dtype, rng):
    # 1-40 rows (every tile plan: 6s, then 4 + 3..5, 1..5), up to 3 panels, and once the blocks of a long product
    shapes = [tuple(int(v) for v in rng.integers(1, 41, 3)) for _ in range(12)] + [(101, 7, 5)]
    for n, k, m in shapes:
        a = rng.standard_normal((n + 2, k)).astype(dtype)
        w = rng.standard_normal((k, m)).astype(dtype)
        b = packed.pack_columns(w)
        ldc = m + 3
        c = np.full((n + 2, ldc), np.nan, dtype)
        packed.multiply(packed.PRODUCTS[np.dtype(dtype)], a, k, k, n, k, b, c, ldc, ldc, m)  # rows 1..n of a and c
        want = a[1 : n + 1].astype(np.float64) @ w.astype(np.float64)
        tolerance = 1e-5 if dtype == np.float32 else 1e-13
        assert np.abs(c[1 : n + 1, :m] - want).max() <= tolerance * max(1.0, np.abs(want).max()), (n, k, m)
        untouched = np.ones_like(c, bool)
        untouched[1 : n + 1, :m] = False
        assert np.isnan(c[untouched]).all(), (n, k, m)  # no row or column past the product's


def test_panels_hold_the_columns_in_order_with_zeros_past_the_last(rng):
    w = rng.standard_normal((3, 37)).astype(np.float32)
    b = packed.pack_columns(w, 16)
    assert b.shape == (3, 3, 16)
    assert np.array_equal(b.transpose(1, 0, 2).reshape(3, 48)[:, :37], w)
    assert not b[2, :, 5:].any()
    assert packed.panel_width(np.float32, 32) == 16 and packed.panel_width(np.float64, 64) == 16


def test_a_nan_reaches_its_row_of_the_product_only():
    a = np.ones((8, 4), np.float32)
    a[3, 2] = np.nan
    c = np.zeros((8, 20), np.float32)
    packed.rows_product(packed.PRODUCTS[a.dtype], a, packed.pack_columns(np.ones((4, 20), np.float32)), c, 0, 8)
    assert np.isnan(c[3]).all() and not np.isnan(np.delete(c, 3, axis=0)).any()
    assert (np.delete(c, 3, axis=0) == 4).all()


@pytest.mark.parametrize("make", [RNN, LSTM, GRU])
def test_the_recurrences_on_these_products_equal_numpy_s(make, rng):
    """Odd sizes (hidden 13: a panel cut short), ragged, both directions, in float32 and float64."""
    before = active_kernels().name
    try:
        for dtype, limit in ((np.float32, 1e-5), (np.float64, 1e-12)):
            x = rng.standard_normal((5, 7, 9)).astype(dtype)
            results = []
            for name in ("numpy", "numba"):
                use_kernels(name)
                layer = make(9, 13, num_layers=2, bidirectional=True, dtype=dtype, rng=0)
                out, state = layer.forward(x, lengths=[7, 3, 7, 1, 5])
                dx, _ = layer.backward(np.ones_like(out))
                results.append([out, *as_tuple(state), dx, *(layer.grads[k] for k in sorted(layer.grads))])
            for a, b in zip(*results, strict=True):
                assert rel_error(a, b) < limit
    finally:
        use_kernels(before)


@pytest.mark.parametrize("width", sorted({16, 32, 64} - {packed.VECTOR_BYTES}))
def test_every_simd_width_gives_the_same_products(width, tmp_path):
    """This file's product tests again with the tiles of another machine (LLVM splits or joins the
    vectors this one lacks), compiled into a cache of their own; the loops take any panel width."""
    env = {**os.environ, "RNNLAB_VECTOR_BYTES": str(width), "NUMBA_CACHE_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k",
                           "product_is or nan_reaches"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout


def test_a_bad_vector_width_is_refused_in_one_line():
    code = "import rnnlab.kernels.packed"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "RNNLAB_VECTOR_BYTES": "48"})
    assert proc.returncode != 0 and "RNNLAB_VECTOR_BYTES should be 16, 32 or 64, got '48'" in proc.stderr
