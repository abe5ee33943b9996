"""The fused GRU: its whole recurrence and backward pass, each one compiled call over rows [r0, r1).

Same signatures and results as :mod:`rnnlab.functional.gru`'s (read that first: the gate order
(r, z, n), the halved sigmoid rows and b_hn inside ``r * (...)`` are its). Per step: the recurrent
product on packed weights (:mod:`rnnlab.kernels.packed`), then one loop over the gates and the state.
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
from rnnlab.kernels.fused.rnn import product_input
from rnnlab.kernels.packed import JIT, PRODUCTS, multiply
from rnnlab.kernels.team import matmul, run_rows


@numba.njit(**JIT)
def _gru_step(gates, rec, bias, rec_n, hbuf, bias_hn, t, r0, n, one, half):
    H = hbuf.shape[2]
    bias_n = bias[2 * H :]
    for j in range(n):
        a, r, rn, h_prev, h = gates[t, r0 + j], rec[j], rec_n[t, r0 + j], hbuf[t, r0 + j], hbuf[t + 1, r0 + j]
        for k in range(2 * H):
            a[k] = gate_tanh(a[k] + r[k] + bias[k]) * half + half
        ar, az, an, r_n = a[:H], a[H : 2 * H], a[2 * H :], r[2 * H : 3 * H]
        for k in range(H):
            rnv = r_n[k] + bias_hn[k]
            rn[k] = rnv
            nn = gate_tanh(an[k] + bias_n[k] + ar[k] * rnv)
            an[k] = nn
            h[k] = nn + az[k] * (h_prev[k] - nn)


@numba.njit(**JIT)
def _gru_forward(product, gates, hbuf, rec_n, panels, bias, bias_hn, mask, sizes, r0, r1, one, half):
    T, N, G = gates.shape
    H = G // 3
    rec = np.empty((r1 - r0, G), gates.dtype)
    masked = np.empty((r1 - r0, H), gates.dtype)
    for t in range(T):
        n = min(sizes[t], r1) - r0
        if n <= 0:
            break  # the batch is sorted by length: no row of this range runs any more
        if mask.shape[0] > 0:
            product_input(hbuf, t, r0, n, mask, masked)
            multiply(product, masked, 0, H, n, H, panels, rec, 0, G, G)
        else:
            multiply(product, hbuf, (t * N + r0) * H, H, n, H, panels, rec, 0, G, G)
        _gru_step(gates, rec, bias, rec_n, hbuf, bias_hn, t, r0, n, one, half)


@numba.njit(**JIT)
def _gru_step_backward(dgates, drec, carry, dh, dhs, gates, rec_n, hbuf, t, r0, n, one, half):
    H = hbuf.shape[2]
    two = one + one
    for j in range(n):
        a, rn, h_prev = gates[t, r0 + j], rec_n[t, r0 + j], hbuf[t, r0 + j]
        dg, dr = dgates[t, r0 + j], drec[t, r0 + j]
        ar, az, an = a[:H], a[H : 2 * H], a[2 * H :]
        dgr, dgz, dgn, drr, drz, drn = dg[:H], dg[H : 2 * H], dg[2 * H :], dr[:H], dr[H : 2 * H], dr[2 * H :]
        dhj, cj = dh[r0 + j], carry[j]
        for k in range(H):
            r, z, nn = ar[k], az[k], an[k]
            dhv = dhj[k] if dhs.shape[0] == 0 else dhj[k] + dhs[t, r0 + j, k]
            dan = dhv * (one - z) * (one - nn * nn)
            dgn[k] = dan
            dz = dhv * (h_prev[k] - nn) * (two * z * (one - z))
            dgz[k] = dz
            drz[k] = dz
            dar = dan * rn[k] * (two * r * (one - r))
            dgr[k] = dar
            drr[k] = dar
            drn[k] = dan * r
            cj[k] = dhv * z  # the direct path to h_{t-1}, added after the product


@numba.njit(**JIT)
def _gru_backward(product, dgates, drec, dh, dhs, gates, rec_n, hbuf, panels, mask, sizes, r0, r1, one, half):
    T, N, G = gates.shape
    H = G // 3
    carry = np.empty((r1 - r0, H), gates.dtype)
    for t in range(T - 1, -1, -1):
        n = min(sizes[t], r1) - r0
        if n <= 0:
            continue
        # rows ending at this step still hold their final state's gradient (final_gradient)
        _gru_step_backward(dgates, drec, carry, dh, dhs, gates, rec_n, hbuf, t, r0, n, one, half)
        multiply(product, drec, (t * N + r0) * G, G, n, G, panels, dh, r0 * H, H, H)
        masked = mask.shape[0] > 0
        for j in range(n):
            d, c = dh[r0 + j], carry[j]
            for k in range(H):
                d[k] = (d[k] * mask[r0 + j, k] if masked else d[k]) + c[k]


def gru_recurrence_(gates, hbuf, rec_n, weight_hh, bias_hn=None, batch_sizes=None, mask=None, bias=None):
    """Fused :func:`rnnlab.functional.gru_recurrence_`."""
    T, N, G = gates.shape
    H, dtype = G // 3, gates.dtype
    args = (PRODUCTS[dtype], gates, hbuf, rec_n, forward_panels(weight_hh, dtype), step_bias(bias, G, dtype),
            step_bias(bias_hn, H, dtype), optional(mask, 2, dtype), sizes_array(batch_sizes, T, N))
    run_rows(_gru_forward, args, constants(dtype), N, T * G * H)


def gru_recurrence_backward(dhs, dh_n, gates, hbuf, rec_n, weight_hh, batch_sizes=None, mask=None):
    """Fused :func:`rnnlab.functional.gru_recurrence_backward`."""
    T, N, G = gates.shape
    H, dtype = G // 3, gates.dtype
    alloc = np.empty if batch_sizes is None else np.zeros
    dgates, drec = alloc((T, N, G), dtype), alloc((T, N, G), dtype)
    dh = final_gradient(dh_n, (N, H), dtype)
    args = (PRODUCTS[dtype], dgates, drec, dh, optional(dhs, 3, dtype), gates, rec_n, hbuf,
            backward_panels(weight_hh, dtype), optional(mask, 2, dtype), sizes_array(batch_sizes, T, N))
    run_rows(_gru_backward, args, constants(dtype), N, T * G * H)
    dweight_hh = matmul(drec.reshape(T * N, G).T, product_inputs(hbuf, mask))
    return dgates, drec, dh, dweight_hh
