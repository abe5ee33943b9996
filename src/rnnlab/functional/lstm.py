"""The LSTM recurrence and its backward pass (see rnnlab.functional.recurrent for the layout).

Gates are kept in the internal order **(o, i, f, g)**, not PyTorch's (i, f, g, o): the three
sigmoid gates are then one contiguous block in the forward pass, and the three gates that
the cell-state gradient multiplies (i, f, g) one contiguous block in the backward pass. The
layer permutes PyTorch's rows into this order (:data:`TO_INTERNAL`) and back.

Equations (PyTorch's): ``i, f, o = sigmoid(.)``, ``g = tanh(.)``,
``c_t = f * c_{t-1} + i * g``, ``h_t = o * tanh(c_t)``.
"""

from __future__ import annotations

import numpy as np

from rnnlab.functional.recurrent import _sizes, _start_rows, sigmoid_

# PyTorch's gate blocks are (i, f, g, o); the internal order is (o, i, f, g)
TO_INTERNAL = (3, 0, 1, 2)


def gate_rows(hidden_size: int, blocks=TO_INTERNAL) -> np.ndarray:
    """Row indices taking PyTorch-ordered (4H, ...) gate rows to the internal order."""
    H = hidden_size
    return np.concatenate([np.arange(b * H, (b + 1) * H) for b in blocks])


def lstm_recurrence_(gates, hbuf, cbuf, weight_hh, batch_sizes=None):
    """Run the LSTM recurrence in place.

    gates: (T, N, 4H) input projections in internal order (o, i, f, g), both biases folded
        in; overwritten with the gate activations.
    hbuf, cbuf: (T + 1, N, H); ``[0]`` holds the initial hidden and cell states; the rest is
        filled (zero-initialised by the caller for ragged batches).
    weight_hh: (4H, H) in internal order.

    Returns ``tanh_c`` (T, N, H), kept for the backward pass.
    """
    T, N, G = gates.shape
    H = G // 4
    whh_t = weight_hh.T
    rec = np.empty((N, G), gates.dtype)
    tmp = np.empty((N, H), gates.dtype)
    tanh_c = np.empty((T, N, H), gates.dtype) if batch_sizes is None else np.zeros((T, N, H), gates.dtype)
    for t, n in enumerate(_sizes(batch_sizes, T, N)):
        a = gates[t, :n]
        np.matmul(hbuf[t, :n], whh_t, out=rec[:n])
        a += rec[:n]
        sigmoid_(a[:, : 3 * H])  # o, i, f
        g = a[:, 3 * H :]
        np.tanh(g, out=g)
        c = cbuf[t + 1, :n]
        np.multiply(a[:, 2 * H : 3 * H], cbuf[t, :n], out=c)  # f * c_{t-1}
        np.multiply(a[:, H : 2 * H], g, out=tmp[:n])  # i * g
        c += tmp[:n]
        tc = tanh_c[t, :n]
        np.tanh(c, out=tc)
        np.multiply(a[:, :H], tc, out=hbuf[t + 1, :n])  # o * tanh(c_t)
    return tanh_c


def lstm_recurrence_backward(dhs, dh_n, dc_n, gates, hbuf, cbuf, tanh_c, weight_hh, batch_sizes=None):
    """Backpropagation through time for :func:`lstm_recurrence_`.

    dhs: (T, N, H) gradient with respect to the outputs, or None; dh_n, dc_n: (N, H)
    gradients with respect to each sequence's final hidden and cell state, or None.

    Returns ``(dgates, dh0, dc0, dweight_hh)``: dgates (T, N, 4H) the gradient at every gate
    pre-activation in internal order (also that of the input projections), dh0 and dc0
    (N, H), dweight_hh (4H, H) in internal order.
    """
    T, N, G = gates.shape
    H = G // 4
    sizes = _sizes(batch_sizes, T, N)
    dtype = gates.dtype
    g4 = gates.reshape(T, N, 4, H)
    o, i, f, g = g4[:, :, 0], g4[:, :, 1], g4[:, :, 2], g4[:, :, 3]
    # every factor that does not depend on the recurrence, for all steps at once
    q_o = tanh_c * o * (1.0 - o)  # d h / d a_o = tanh(c) o (1 - o)
    q_c = o * (1.0 - tanh_c * tanh_c)  # d h / d c = o (1 - tanh(c)^2)
    q_ifg = np.empty((T, N, 3, H), dtype)
    np.multiply(g * i, 1.0 - i, out=q_ifg[:, :, 0])  # d c / d a_i = g i (1 - i)
    np.multiply(cbuf[:-1] * f, 1.0 - f, out=q_ifg[:, :, 1])  # d c / d a_f = c_{t-1} f (1 - f)
    np.multiply(i, 1.0 - g * g, out=q_ifg[:, :, 2])  # d c / d a_g = i (1 - g^2)
    dgates = np.empty((T, N, 4, H), dtype) if batch_sizes is None else np.zeros((T, N, 4, H), dtype)
    dh = np.empty((N, H), dtype)
    dc = np.empty((N, H), dtype)
    tmp = np.empty((N, H), dtype)
    for t in range(T - 1, -1, -1):
        n = sizes[t]
        n_next = sizes[t + 1] if t + 1 < T else 0
        _start_rows(dh, dh_n, n_next, n)
        _start_rows(dc, dc_n, n_next, n)
        dhn, dcn = dh[:n], dc[:n]
        if dhs is not None:
            dhn += dhs[t, :n]
        da = dgates[t, :n]  # (n, 4, H)
        np.multiply(dhn, q_o[t, :n], out=da[:, 0])
        np.multiply(dhn, q_c[t, :n], out=tmp[:n])
        dcn += tmp[:n]  # the total gradient at c_t
        np.multiply(dcn[:, None, :], q_ifg[t, :n], out=da[:, 1:])
        dcn *= f[t, :n]  # now the gradient reaching c_{t-1}
        np.matmul(da.reshape(n, G), weight_hh, out=dhn)  # and h_{t-1}
    dgates = dgates.reshape(T, N, G)
    dweight_hh = dgates.reshape(T * N, G).T @ hbuf[:-1].reshape(T * N, H)
    return dgates, dh, dc, dweight_hh
