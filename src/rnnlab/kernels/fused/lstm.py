"""The fused LSTM: its whole recurrence and backward pass, each one compiled call over rows [r0, r1).

Same signatures and results as :mod:`rnnlab.functional.lstm`'s (read that first: the internal gate
order (o, i, f, g), the halved sigmoid rows and the buffers are its). Per step: the recurrent
product on packed weights (:mod:`rnnlab.kernels.packed`), then one loop that reads and writes each
element once (the gates' activations, c_t, tanh(c_t), h_t), with the projection's product after it.
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
def _lstm_step(gates, rec, bias, hout, cbuf, tanh_c, t, r0, n, one, half):
    H = cbuf.shape[2]
    for j in range(n):
        a, r = gates[t, r0 + j], rec[j]
        for k in range(4 * H):
            a[k] = gate_tanh(a[k] + r[k] + bias[k])
        # one view per gate block: with offsets such as a[H + k] the loop measured half as fast
        ao, ai, af, ag = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
        c_prev, c, tc, h = cbuf[t, r0 + j], cbuf[t + 1, r0 + j], tanh_c[t, r0 + j], hout[t, r0 + j]
        for k in range(H):
            o = ao[k] * half + half
            i = ai[k] * half + half
            f = af[k] * half + half
            ao[k] = o
            ai[k] = i
            af[k] = f
            cv = f * c_prev[k] + i * ag[k]
            c[k] = cv
            tcv = gate_tanh(cv)
            tc[k] = tcv
            h[k] = o * tcv


@numba.njit(**JIT)
def _lstm_forward(product, gates, hbuf, cbuf, tanh_c, m, hh, hr, bias, mask, sizes, r0, r1, one, half):
    T, N, G = gates.shape
    H, P = G // 4, hbuf.shape[2]
    projected = m.shape[0] > 0
    unprojected = m if projected else hbuf[1:]  # where o * tanh(c_t) goes
    rec = np.empty((r1 - r0, G), gates.dtype)
    masked = np.empty((r1 - r0, P), gates.dtype)
    for t in range(T):
        n = min(sizes[t], r1) - r0
        if n <= 0:
            break  # the batch is sorted by length: no row of this range runs any more
        if mask.shape[0] > 0:
            product_input(hbuf, t, r0, n, mask, masked)
            multiply(product, masked, 0, P, n, P, hh, rec, 0, G, G)
        else:
            multiply(product, hbuf, (t * N + r0) * P, P, n, P, hh, rec, 0, G, G)
        _lstm_step(gates, rec, bias, unprojected, cbuf, tanh_c, t, r0, n, one, half)
        if projected:
            multiply(product, m, (t * N + r0) * H, H, n, H, hr, hbuf, ((t + 1) * N + r0) * P, P, P)


@numba.njit(**JIT)
def _lstm_step_backward(dgates, dh, dh_row, dc, dhs, gates, cbuf, tanh_c, t, r0, n, one, half):
    H = dc.shape[1]
    two = one + one
    for j in range(n):
        a, da, c_prev, tc = gates[t, r0 + j], dgates[t, r0 + j], cbuf[t, r0 + j], tanh_c[t, r0 + j]
        ao, ai, af, ag = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
        dao, dai, daf, dag = da[:H], da[H : 2 * H], da[2 * H : 3 * H], da[3 * H :]
        dhj, dcj = dh[dh_row + j], dc[r0 + j]
        for k in range(H):
            o, i, f, g = ao[k], ai[k], af[k], ag[k]
            dhv = dhj[k] if dhs.shape[0] == 0 else dhj[k] + dhs[t, r0 + j, k]
            # the halved sigmoid pre-activations' derivative is 2 s (1 - s)
            dao[k] = dhv * tc[k] * (two * o * (one - o))
            dcv = dcj[k] + dhv * o * (one - tc[k] * tc[k])  # the total gradient at c_t
            dai[k] = dcv * g * (two * i * (one - i))
            daf[k] = dcv * c_prev[k] * (two * f * (one - f))
            dag[k] = dcv * i * (one - g * g)
            dcj[k] = dcv * f  # now the gradient reaching c_{t-1}


@numba.njit(**JIT)
def _lstm_backward(product, dgates, dh, dc, dhs, gates, cbuf, tanh_c, dh_all, hh, hr, mask, sizes, r0, r1, one, half):
    T, N, G = gates.shape
    H, P = G // 4, dh.shape[1]
    projected = dh_all.shape[0] > 0
    dm = np.empty((r1 - r0, H), gates.dtype)  # with a projection: the gradient at o * tanh(c_t)
    for t in range(T - 1, -1, -1):
        n = min(sizes[t], r1) - r0
        if n <= 0:
            continue
        # rows ending at this step still hold their final state's gradient (final_gradient)
        if projected:  # back through the projection first
            for j in range(n):
                for k in range(P):
                    g = dh[r0 + j, k]
                    dh_all[t, r0 + j, k] = g if dhs.shape[0] == 0 else g + dhs[t, r0 + j, k]
            multiply(product, dh_all, (t * N + r0) * P, P, n, P, hr, dm, 0, H, H)
            _lstm_step_backward(dgates, dm, 0, dc, dhs[:0], gates, cbuf, tanh_c, t, r0, n, one, half)
        else:
            _lstm_step_backward(dgates, dh, r0, dc, dhs, gates, cbuf, tanh_c, t, r0, n, one, half)
        multiply(product, dgates, (t * N + r0) * G, G, n, G, hh, dh, r0 * P, P, P)  # and h_{t-1}
        if mask.shape[0] > 0:
            for j in range(n):
                for k in range(P):
                    dh[r0 + j, k] *= mask[r0 + j, k]


def lstm_recurrence_(gates, hbuf, cbuf, weight_hh, batch_sizes=None, weight_hr=None, mask=None, bias=None):
    """Fused :func:`rnnlab.functional.lstm_recurrence_`."""
    T, N, G = gates.shape
    H, P, dtype = G // 4, hbuf.shape[2], gates.dtype
    alloc = np.empty if batch_sizes is None else np.zeros
    tanh_c = alloc((T, N, H), dtype)
    m = None if weight_hr is None else alloc((T, N, H), dtype)
    hr = forward_panels(np.zeros((1, 1)) if weight_hr is None else weight_hr, dtype)
    args = (PRODUCTS[dtype], gates, hbuf, cbuf, tanh_c, optional(m, 3, dtype), forward_panels(weight_hh, dtype), hr,
            step_bias(bias, G, dtype), optional(mask, 2, dtype), sizes_array(batch_sizes, T, N))
    run_rows(_lstm_forward, args, constants(dtype), N, T * (G * P + (P * H if m is not None else 0)))
    return tanh_c, m


def lstm_recurrence_backward(dhs, dh_n, dc_n, gates, hbuf, cbuf, tanh_c, weight_hh, batch_sizes=None,
                             weight_hr=None, m=None, mask=None):
    """Fused :func:`rnnlab.functional.lstm_recurrence_backward`."""
    T, N, G = gates.shape
    H, P, dtype = G // 4, hbuf.shape[2], gates.dtype
    alloc = np.empty if batch_sizes is None else np.zeros
    dgates = alloc((T, N, G), dtype)
    dh, dc = final_gradient(dh_n, (N, P), dtype), final_gradient(dc_n, (N, H), dtype)
    dh_all = None if weight_hr is None else alloc((T, N, P), dtype)  # the total gradient at each h_t
    hr = backward_panels(np.zeros((1, 1)) if weight_hr is None else weight_hr, dtype)
    args = (PRODUCTS[dtype], dgates, dh, dc, optional(dhs, 3, dtype), gates, cbuf, tanh_c, optional(dh_all, 3, dtype),
            backward_panels(weight_hh, dtype), hr, optional(mask, 2, dtype), sizes_array(batch_sizes, T, N))
    run_rows(_lstm_backward, args, constants(dtype), N, T * (G * P + (P * H if m is not None else 0)))
    dweight_hh = matmul(dgates.reshape(T * N, G).T, product_inputs(hbuf, mask))
    dweight_hr = None if dh_all is None else matmul(dh_all.reshape(T * N, P).T, m.reshape(T * N, H))
    return dgates, dh, dc, dweight_hh, dweight_hr

