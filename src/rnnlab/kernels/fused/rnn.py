"""The fused Elman RNN: its whole recurrence and backward pass, each one compiled call.

Same signatures and results as :mod:`rnnlab.functional.recurrent`'s (read that first: the layout
and the buffers are its). Each loop runs rows ``[r0, r1)`` of the batch: sequences do not depend on
each other, so rows are the unit a thread takes (:mod:`rnnlab.kernels.team`).
"""

from __future__ import annotations

import numba
import numpy as np

from rnnlab.functional.recurrent import product_inputs
from rnnlab.kernels.fused.common import (
    backward_panels,
    constants,
    final_gradient,
    forward_panels,
    gate_tanh,
    optional,
    sizes_array,
    step_bias,
)
from rnnlab.kernels.packed import JIT, PRODUCTS, multiply
from rnnlab.kernels.team import matmul, run_rows


@numba.njit(**JIT)
def product_input(hbuf, t, r0, n, mask, masked):
    """Step t's product input for rows ``[r0, r0 + n)`` written into ``masked[:n]``: h_{t-1} times the
    recurrent dropout mask (the caller multiplies by hbuf itself where there is no mask)."""
    for j in range(n):
        h, m, out = hbuf[t, r0 + j], mask[r0 + j], masked[j]
        for k in range(h.shape[0]):
            out[k] = h[k] * m[k]


@numba.njit(**JIT)
def _rnn_step(hbuf, rec, bias, t, r0, n, relu, one):
    zero = one - one
    for j in range(n):
        h, r = hbuf[t + 1, r0 + j], rec[j]
        for k in range(h.shape[0]):
            a = h[k] + r[k] + bias[k]
            h[k] = (a if a > zero else a * zero) if relu else gate_tanh(a)  # a * 0 keeps a NaN


@numba.njit(**JIT)
def _rnn_forward(product, hbuf, panels, bias, mask, sizes, r0, r1, relu, one):
    T, N, H = hbuf.shape[0] - 1, hbuf.shape[1], hbuf.shape[2]
    rec = np.empty((r1 - r0, H), hbuf.dtype)
    masked = np.empty((r1 - r0, H), hbuf.dtype)
    for t in range(T):
        n = min(sizes[t], r1) - r0
        if n <= 0:
            break  # the batch is sorted by length: no row of this range runs any more
        if mask.shape[0] > 0:
            product_input(hbuf, t, r0, n, mask, masked)
            multiply(product, masked, 0, H, n, H, panels, rec, 0, H, H)
        else:
            multiply(product, hbuf, (t * N + r0) * H, H, n, H, panels, rec, 0, H, H)
        _rnn_step(hbuf, rec, bias, t, r0, n, relu, one)


@numba.njit(**JIT)
def _rnn_step_backward(da, dh, dhs, hbuf, t, r0, n, relu, one):
    zero = one - one
    for j in range(n):
        dj, h, out = dh[r0 + j], hbuf[t + 1, r0 + j], da[t, r0 + j]
        for k in range(h.shape[0]):
            g = dj[k] if dhs.shape[0] == 0 else dj[k] + dhs[t, r0 + j, k]
            out[k] = (g if h[k] > zero else g * zero) if relu else g * (one - h[k] * h[k])


@numba.njit(**JIT)
def _rnn_backward(product, da, dh, dhs, hbuf, panels, mask, sizes, r0, r1, relu, one):
    T, N, H = hbuf.shape[0] - 1, hbuf.shape[1], hbuf.shape[2]
    for t in range(T - 1, -1, -1):
        n = min(sizes[t], r1) - r0
        if n <= 0:
            continue
        # rows ending at this step still hold their final state's gradient (final_gradient)
        _rnn_step_backward(da, dh, dhs, hbuf, t, r0, n, relu, one)
        multiply(product, da, (t * N + r0) * H, H, n, H, panels, dh, r0 * H, H, H)
        if mask.shape[0] > 0:
            for j in range(n):
                for k in range(H):
                    dh[r0 + j, k] *= mask[r0 + j, k]


def rnn_recurrence_(hbuf, weight_hh, nonlinearity="tanh", batch_sizes=None, mask=None, bias=None):
    """Fused :func:`rnnlab.functional.rnn_recurrence_`."""
    T, N, H = hbuf.shape[0] - 1, hbuf.shape[1], hbuf.shape[2]
    dtype = hbuf.dtype
    args = (PRODUCTS[dtype], hbuf, forward_panels(weight_hh, dtype), step_bias(bias, H, dtype),
            optional(mask, 2, dtype), sizes_array(batch_sizes, T, N))
    run_rows(_rnn_forward, args, (nonlinearity == "relu", constants(dtype)[0]), N, T * H * H)
    return hbuf[1:]


def rnn_recurrence_backward(dhs, dh_n, hbuf, weight_hh, nonlinearity="tanh", batch_sizes=None, mask=None):
    """Fused :func:`rnnlab.functional.rnn_recurrence_backward`."""
    T, N, H = hbuf.shape[0] - 1, hbuf.shape[1], hbuf.shape[2]
    dtype = hbuf.dtype
    da = np.empty((T, N, H), dtype) if batch_sizes is None else np.zeros((T, N, H), dtype)
    dh = final_gradient(dh_n, (N, H), dtype)
    args = (PRODUCTS[dtype], da, dh, optional(dhs, 3, dtype), hbuf, backward_panels(weight_hh, dtype),
            optional(mask, 2, dtype), sizes_array(batch_sizes, T, N))
    run_rows(_rnn_backward, args, (nonlinearity == "relu", constants(dtype)[0]), N, T * H * H)
    dweight_hh = matmul(da.reshape(T * N, H).T, product_inputs(hbuf, mask))
    return da, dh, dweight_hh

