"""The fused kernel set: each time step's elementwise work compiled by numba into one loop (the
whole-sequence passes and the streaming steps).

The same functions, signatures and buffers as the NumPy reference kernels
(:mod:`rnnlab.functional.recurrent`, ``.lstm``, ``.gru``; read those first: the layout, the
internal gate order and the halved sigmoid rows are theirs). What changes is inside a step:
NumPy issues about ten calls on (N, G*H) blocks per step; here the recurrent product stays one
BLAS call (as fast as PyTorch's at these shapes; ``np.dot``, not ``np.matmul``: the same product
with a cheaper call, 1.9 µs against 2.3 at (32, 64) by (64, 64), which shows at small sizes; it
writes only its own dtype, so the weights are made the states' first) and everything after it is one
compiled call that reads and writes each element once. The time loop stays in Python: with the
product written inside the compiled loop instead, the LSTM's forward pass measured 1.3x (hidden
32) to 3.1x (hidden 256) slower than with this per-step BLAS call.

In float32, ``tanh`` is a rational approximation (:func:`gate_tanh`; at most 4e-7 from the exact
value), which the compiler vectorizes; libm's ``tanhf`` would not vectorize. float64 keeps the
exact ``math.tanh``: it exists for gradient checks. Everything compiles once, into numba's
on-disk cache. The layer-normalised recurrences are NumPy's (:mod:`rnnlab.functional.layer_norm`),
imported here as this set's: the documented fallback.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import types
from numba.extending import overload

from rnnlab.functional.layer_norm import (  # noqa: F401 - the set's layer-normalised recurrences: NumPy's
    ln_gru_recurrence_,
    ln_gru_recurrence_backward,
    ln_lstm_recurrence_,
    ln_lstm_recurrence_backward,
)
from rnnlab.functional.recurrent import product_input, product_inputs, start_rows, step_sizes

# no "nnan": a NaN must survive (divergence is detected by it); error_model "numpy": a division is a
# plain division, with no ZeroDivisionError branch (which would stop the loops from vectorizing)
JIT = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": {"contract", "nsz", "arcp"}}

# Eigen's float32 tanh: a 13/6-degree rational interpolant on [-9, 9] (tanh is +-1 in float32 beyond)
CLAMP = np.float32(9.0)
ALPHA = tuple(np.float32(a) for a in (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05,
                                      5.12229709037114e-08, -8.60467152213735e-11, 2.00018790482477e-13,
                                      -2.76076847742355e-16))
BETA = tuple(np.float32(b) for b in (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04,
                                     1.19825839466702e-06))
A1, A3, A5, A7, A9, A11, A13 = ALPHA
B0, B2, B4, B6 = BETA


def gate_tanh(x):  # pragma: no cover - replaced by the overload below inside compiled code
    """tanh as the compiled kernels compute it: in float32 Eigen's rational approximation, whose
    input is clamped to [-9, 9] (a NaN passes through); exact in float64. Only compiled code calls
    it (tests reach it through :func:`rnn_cell`)."""
    raise NotImplementedError


@overload(gate_tanh)
def _gate_tanh(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        def approx(x):
            # written so that a NaN fails both comparisons and passes through
            y = CLAMP if x > CLAMP else (-CLAMP if x < -CLAMP else x)
            x2 = y * y
            p = y * (A1 + x2 * (A3 + x2 * (A5 + x2 * (A7 + x2 * (A9 + x2 * (A11 + x2 * A13))))))
            return p / (B0 + x2 * (B2 + x2 * (B4 + x2 * B6)))
        return approx
    return lambda x: math.tanh(x)


# -- per-step kernels (one compiled call per time step) -------------------------------------------
# ``one`` and ``half`` come in the arrays' dtype: numba types a Python literal as float64 (or int64),
# which would turn float32 arithmetic into float64 and stop it from vectorizing.
@numba.njit(**JIT)
def _rnn_step(hbuf, rec, bias, t, n, relu, one):
    zero = one - one
    h = hbuf[t + 1]
    for j in range(n):
        hj, rj = h[j], rec[j]
        for k in range(hj.shape[0]):
            a = hj[k] + rj[k] + bias[k]
            hj[k] = (a if a > zero else a * zero) if relu else gate_tanh(a)  # a * 0 keeps a NaN


@numba.njit(**JIT)
def _rnn_step_backward(da, dh, dhs, hbuf, t, n, relu, one):
    zero = one - one
    h = hbuf[t + 1]
    for j in range(n):
        dj, hj, out = dh[j], h[j], da[t, j]
        for k in range(hj.shape[0]):
            g = dj[k] if dhs is None else dj[k] + dhs[t, j, k]
            out[k] = (g if hj[k] > zero else g * zero) if relu else g * (one - hj[k] * hj[k])


@numba.njit(**JIT)
def _lstm_step(gates, rec, bias, hout, cbuf, tanh_c, t, n, one, half):
    H = cbuf.shape[2]
    for j in range(n):
        a, r = gates[t, j], rec[j]
        for k in range(4 * H):
            a[k] = gate_tanh(a[k] + r[k] + bias[k])
        # one view per gate block: with offsets such as a[H + k] the loop measured half as fast
        ao, ai, af, ag = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
        c_prev, c, tc, h = cbuf[t, j], cbuf[t + 1, j], tanh_c[t, j], hout[t, j]
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
def _lstm_step_backward(dgates, dh, dc, dhs, gates, cbuf, tanh_c, t, n, one, half):
    H = dh.shape[1]
    two = one + one
    for j in range(n):
        a, da, c_prev, tc = gates[t, j], dgates[t, j], cbuf[t, j], tanh_c[t, j]
        ao, ai, af, ag = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
        dao, dai, daf, dag = da[:H], da[H : 2 * H], da[2 * H : 3 * H], da[3 * H :]
        dhj, dcj = dh[j], dc[j]
        for k in range(H):
            o, i, f, g = ao[k], ai[k], af[k], ag[k]
            dhv = dhj[k] if dhs is None else dhj[k] + dhs[t, j, k]
            # the halved sigmoid pre-activations' derivative is 2 s (1 - s)
            dao[k] = dhv * tc[k] * (two * o * (one - o))
            dcv = dcj[k] + dhv * o * (one - tc[k] * tc[k])  # the total gradient at c_t
            dai[k] = dcv * g * (two * i * (one - i))
            daf[k] = dcv * c_prev[k] * (two * f * (one - f))
            dag[k] = dcv * i * (one - g * g)
            dcj[k] = dcv * f  # now the gradient reaching c_{t-1}


@numba.njit(**JIT)
def _gru_step(gates, rec, bias, rec_n, hbuf, bias_hn, t, n, one, half):
    H = hbuf.shape[2]
    bias_n = bias[2 * H :]
    for j in range(n):
        a, r, rn, h_prev, h = gates[t, j], rec[j], rec_n[t, j], hbuf[t, j], hbuf[t + 1, j]
        for k in range(2 * H):
            a[k] = gate_tanh(a[k] + r[k] + bias[k]) * half + half
        ar, az, an, r_n = a[:H], a[H : 2 * H], a[2 * H :], r[2 * H :]
        for k in range(H):
            rnv = r_n[k] + bias_hn[k]
            rn[k] = rnv
            nn = gate_tanh(an[k] + bias_n[k] + ar[k] * rnv)
            an[k] = nn
            h[k] = nn + az[k] * (h_prev[k] - nn)


@numba.njit(**JIT)
def _gru_step_backward(dgates, drec, carry, dh, dhs, gates, rec_n, hbuf, t, n, one, half):
    H = dh.shape[1]
    two = one + one
    for j in range(n):
        a, rn, h_prev, dg, dr = gates[t, j], rec_n[t, j], hbuf[t, j], dgates[t, j], drec[t, j]
        ar, az, an = a[:H], a[H : 2 * H], a[2 * H :]
        dgr, dgz, dgn, drr, drz, drn = dg[:H], dg[H : 2 * H], dg[2 * H :], dr[:H], dr[H : 2 * H], dr[2 * H :]
        dhj, cj = dh[j], carry[j]
        for k in range(H):
            r, z, nn = ar[k], az[k], an[k]
            dhv = dhj[k] if dhs is None else dhj[k] + dhs[t, j, k]
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


# the streaming steps add both biases themselves (one pass over the products, no folded copy)
@numba.njit(**JIT)
def _lstm_cell(gi, gh, b_ih, b_hh, c, h_new, c_new, one, half):
    H = c.shape[1]
    for j in range(c.shape[0]):
        a, b = gi[j], gh[j]
        for k in range(H):
            # sigmoid(x) = (1 + tanh(x / 2)) / 2; PyTorch's gate order i, f, g, o
            i = gate_tanh((a[k] + b[k] + b_ih[k] + b_hh[k]) * half) * half + half
            f = gate_tanh((a[H + k] + b[H + k] + b_ih[H + k] + b_hh[H + k]) * half) * half + half
            g = gate_tanh(a[2 * H + k] + b[2 * H + k] + b_ih[2 * H + k] + b_hh[2 * H + k])
            o = gate_tanh((a[3 * H + k] + b[3 * H + k] + b_ih[3 * H + k] + b_hh[3 * H + k]) * half) * half + half
            cv = f * c[j, k] + i * g
            c_new[j, k] = cv
            h_new[j, k] = o * gate_tanh(cv)


@numba.njit(**JIT)
def _gru_cell(gi, gh, b_ih, b_hh, h, h_new, one, half):
    H = h.shape[1]
    for j in range(h.shape[0]):
        a, b = gi[j], gh[j]
        for k in range(H):
            r = gate_tanh((a[k] + b[k] + b_ih[k] + b_hh[k]) * half) * half + half
            z = gate_tanh((a[H + k] + b[H + k] + b_ih[H + k] + b_hh[H + k]) * half) * half + half
            n = gate_tanh(a[2 * H + k] + b_ih[2 * H + k] + r * (b[2 * H + k] + b_hh[2 * H + k]))
            h_new[j, k] = n + z * (h[j, k] - n)


@numba.njit(**JIT)
def _rnn_cell(gi, gh, b_ih, b_hh, h_new, relu, one):
    zero = one - one
    for j in range(gi.shape[0]):
        a, b = gi[j], gh[j]
        for k in range(a.shape[0]):
            v = a[k] + b[k] + b_ih[k] + b_hh[k]
            h_new[j, k] = (v if v > zero else v * zero) if relu else gate_tanh(v)


CONSTANTS = {np.dtype(t): (t(1), t(0.5)) for t in (np.float32, np.float64)}


def constants(dtype) -> tuple:
    """``(one, half)`` as scalars of ``dtype``, for the compiled steps (made once: a streaming step
    is short enough for making them to show)."""
    return CONSTANTS.get(dtype) or (dtype.type(1), dtype.type(0.5))


def step_bias(bias, size: int, dtype) -> np.ndarray:
    """A bias as the compiled steps read it: contiguous, of ``dtype``; zeros for None (no bias),
    so that each step kernel has one compiled form."""
    return np.zeros(size, dtype) if bias is None else np.ascontiguousarray(bias, dtype)


# -- the kernel set's functions: same signatures and results as rnnlab.functional's ---------------
def rnn_recurrence_(hbuf, weight_hh, nonlinearity="tanh", batch_sizes=None, mask=None, bias=None):
    """Fused :func:`rnnlab.functional.rnn_recurrence_`."""
    T, N = hbuf.shape[0] - 1, hbuf.shape[1]
    whh_t = np.ascontiguousarray(weight_hh.T, hbuf.dtype)
    rec = np.empty(hbuf.shape[1:], hbuf.dtype)
    bias = step_bias(bias, hbuf.shape[2], hbuf.dtype)
    masked = None if mask is None else np.empty_like(rec)
    relu = nonlinearity == "relu"
    one, _ = constants(hbuf.dtype)
    for t, n in enumerate(step_sizes(batch_sizes, T, N)):
        np.dot(product_input(hbuf[t, :n], mask, masked), whh_t, out=rec[:n])
        _rnn_step(hbuf, rec, bias, t, n, relu, one)
    return hbuf[1:]


def rnn_recurrence_backward(dhs, dh_n, hbuf, weight_hh, nonlinearity="tanh", batch_sizes=None, mask=None):
    """Fused :func:`rnnlab.functional.rnn_recurrence_backward`."""
    T, N, H = hbuf.shape
    T -= 1
    sizes = step_sizes(batch_sizes, T, N)
    da = np.empty((T, N, H), hbuf.dtype) if batch_sizes is None else np.zeros((T, N, H), hbuf.dtype)
    dh = np.empty((N, H), hbuf.dtype)
    relu = nonlinearity == "relu"
    one, _ = constants(hbuf.dtype)
    weight_hh = np.asarray(weight_hh, hbuf.dtype)
    for t in range(T - 1, -1, -1):
        n = sizes[t]
        start_rows(dh, dh_n, sizes[t + 1] if t + 1 < T else 0, n)
        _rnn_step_backward(da, dh, dhs, hbuf, t, n, relu, one)
        np.dot(da[t, :n], weight_hh, out=dh[:n])
        if mask is not None:
            dh[:n] *= mask[:n]
    dweight_hh = da.reshape(T * N, H).T @ product_inputs(hbuf, mask)
    return da, dh, dweight_hh


def lstm_recurrence_(gates, hbuf, cbuf, weight_hh, batch_sizes=None, weight_hr=None, mask=None, bias=None):
    """Fused :func:`rnnlab.functional.lstm_recurrence_` (the projection stays a BLAS product)."""
    T, N, G = gates.shape
    whh_t = np.ascontiguousarray(weight_hh.T, gates.dtype)
    rec = np.empty((N, G), gates.dtype)
    bias = step_bias(bias, G, gates.dtype)
    H = G // 4
    alloc = np.empty if batch_sizes is None else np.zeros
    tanh_c = alloc((T, N, H), gates.dtype)
    m = None if weight_hr is None else alloc((T, N, H), gates.dtype)
    unprojected = hbuf[1:] if m is None else m  # where o * tanh(c_t) goes
    whr_t = None if weight_hr is None else np.ascontiguousarray(weight_hr.T, gates.dtype)
    masked = None if mask is None else np.empty(hbuf.shape[1:], gates.dtype)
    one, half = constants(gates.dtype)
    for t, n in enumerate(step_sizes(batch_sizes, T, N)):
        np.dot(product_input(hbuf[t, :n], mask, masked), whh_t, out=rec[:n])
        _lstm_step(gates, rec, bias, unprojected, cbuf, tanh_c, t, n, one, half)
        if m is not None:
            np.dot(m[t, :n], whr_t, out=hbuf[t + 1, :n])
    return tanh_c, m


def lstm_recurrence_backward(dhs, dh_n, dc_n, gates, hbuf, cbuf, tanh_c, weight_hh, batch_sizes=None,
                             weight_hr=None, m=None, mask=None):
    """Fused :func:`rnnlab.functional.lstm_recurrence_backward`."""
    T, N, G = gates.shape
    H, P = G // 4, hbuf.shape[2]
    sizes = step_sizes(batch_sizes, T, N)
    dtype = gates.dtype
    alloc = np.empty if batch_sizes is None else np.zeros
    dgates = alloc((T, N, G), dtype)
    dh = np.empty((N, P), dtype)
    dc = np.empty((N, H), dtype)
    dh_all = None if weight_hr is None else alloc((T, N, P), dtype)  # the total gradient at each h_t
    dm = None if weight_hr is None else np.empty((N, H), dtype)
    weight_hh, weight_hr = np.asarray(weight_hh, dtype), None if weight_hr is None else np.asarray(weight_hr, dtype)
    one, half = constants(dtype)
    for t in range(T - 1, -1, -1):
        n = sizes[t]
        n_next = sizes[t + 1] if t + 1 < T else 0
        start_rows(dh, dh_n, n_next, n)
        start_rows(dc, dc_n, n_next, n)
        if dh_all is None:
            _lstm_step_backward(dgates, dh, dc, dhs, gates, cbuf, tanh_c, t, n, one, half)
        else:  # back through the projection first: the gradient at o * tanh(c_t)
            dh_all[t, :n] = dh[:n]
            if dhs is not None:
                dh_all[t, :n] += dhs[t, :n]
            np.dot(dh_all[t, :n], weight_hr, out=dm[:n])
            _lstm_step_backward(dgates, dm, dc, None, gates, cbuf, tanh_c, t, n, one, half)
        np.dot(dgates[t, :n], weight_hh, out=dh[:n])
        if mask is not None:
            dh[:n] *= mask[:n]
    dweight_hh = dgates.reshape(T * N, G).T @ product_inputs(hbuf, mask)
    dweight_hr = None if dh_all is None else dh_all.reshape(T * N, P).T @ m.reshape(T * N, H)
    return dgates, dh, dc, dweight_hh, dweight_hr


def gru_recurrence_(gates, hbuf, rec_n, weight_hh, bias_hn=None, batch_sizes=None, mask=None, bias=None):
    """Fused :func:`rnnlab.functional.gru_recurrence_`."""
    T, N, G = gates.shape
    whh_t = np.ascontiguousarray(weight_hh.T, gates.dtype)
    rec = np.empty((N, G), gates.dtype)
    masked = None if mask is None else np.empty(hbuf.shape[1:], gates.dtype)
    bias, bias_hn = step_bias(bias, G, gates.dtype), step_bias(bias_hn, G // 3, gates.dtype)
    one, half = constants(gates.dtype)
    for t, n in enumerate(step_sizes(batch_sizes, T, N)):
        np.dot(product_input(hbuf[t, :n], mask, masked), whh_t, out=rec[:n])
        _gru_step(gates, rec, bias, rec_n, hbuf, bias_hn, t, n, one, half)


def gru_recurrence_backward(dhs, dh_n, gates, hbuf, rec_n, weight_hh, batch_sizes=None, mask=None):
    """Fused :func:`rnnlab.functional.gru_recurrence_backward`."""
    T, N, G = gates.shape
    H = G // 3
    sizes = step_sizes(batch_sizes, T, N)
    dtype = gates.dtype
    alloc = np.empty if batch_sizes is None else np.zeros
    dgates, drec = alloc((T, N, G), dtype), alloc((T, N, G), dtype)
    dh, carry = np.empty((N, H), dtype), np.empty((N, H), dtype)
    weight_hh = np.asarray(weight_hh, dtype)
    one, half = constants(dtype)
    for t in range(T - 1, -1, -1):
        n = sizes[t]
        start_rows(dh, dh_n, sizes[t + 1] if t + 1 < T else 0, n)
        _gru_step_backward(dgates, drec, carry, dh, dhs, gates, rec_n, hbuf, t, n, one, half)
        np.dot(drec[t, :n], weight_hh, out=dh[:n])
        if mask is not None:
            dh[:n] *= mask[:n]
        dh[:n] += carry[:n]
    dweight_hh = drec.reshape(T * N, G).T @ product_inputs(hbuf, mask)
    return dgates, drec, dh, dweight_hh


def rnn_cell(gi, gh, b_ih, b_hh, h_new, nonlinearity="tanh"):
    """Fused :func:`rnnlab.functional.rnn_cell`."""
    bias_ih, bias_hh = step_bias(b_ih, gi.shape[1], gi.dtype), step_bias(b_hh, gi.shape[1], gi.dtype)
    _rnn_cell(gi, gh, bias_ih, bias_hh, h_new, nonlinearity == "relu", constants(gi.dtype)[0])
    return h_new


def lstm_cell(gi, gh, b_ih, b_hh, c, h_new, c_new):
    """Fused :func:`rnnlab.functional.lstm_cell`."""
    bias_ih, bias_hh = step_bias(b_ih, gi.shape[1], gi.dtype), step_bias(b_hh, gi.shape[1], gi.dtype)
    _lstm_cell(gi, gh, bias_ih, bias_hh, np.ascontiguousarray(c), h_new, c_new, *constants(gi.dtype))
    return h_new, c_new


def gru_cell(gi, gh, b_ih, b_hh, h, h_new):
    """Fused :func:`rnnlab.functional.gru_cell`."""
    bias_ih, bias_hh = step_bias(b_ih, gi.shape[1], gi.dtype), step_bias(b_hh, gi.shape[1], gi.dtype)
    _gru_cell(gi, gh, bias_ih, bias_hh, np.ascontiguousarray(h), h_new, *constants(gi.dtype))
    return h_new
