"""The LSTM recurrence and its backward pass (see rnnlab.functional.recurrent for the layout).

Gates are kept in the internal order **(o, i, f, g)**, not PyTorch's (i, f, g, o): the three
gates that the cell-state gradient multiplies (i, f, g) are then one contiguous block in the
backward pass. The sigmoid gates' rows come **halved** (see
:func:`~rnnlab.functional.activations.half_tanh_to_sigmoid_`), so that one ``tanh`` over the
whole contiguous gate block activates all four gates. The layer permutes and scales
PyTorch's rows into this form (:func:`internal_rows`) and maps the gradients back.

Equations (PyTorch's): ``i, f, o = sigmoid(.)``, ``g = tanh(.)``,
``c_t = f * c_{t-1} + i * g``, ``h_t = o * tanh(c_t)``.
"""

from __future__ import annotations

import functools

import numpy as np

from rnnlab.functional.activations import half_tanh_to_sigmoid_, sigmoid_
from rnnlab.functional.recurrent import add_bias_, product_input, product_inputs, start_rows, step_sizes

# PyTorch's gate blocks are (i, f, g, o); the internal order is (o, i, f, g)
TO_INTERNAL = (3, 0, 1, 2)


@functools.lru_cache(maxsize=64)
def internal_rows(hidden_size: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, scale)``: PyTorch-ordered (4H, ...) gate rows -> internal order, and each
    internal row's factor (1/2 for the sigmoid gates o, i, f; 1 for g). Read-only arrays."""
    H = hidden_size
    rows = np.concatenate([np.arange(b * H, (b + 1) * H) for b in TO_INTERNAL])
    scale = np.concatenate([np.full(3 * H, 0.5), np.ones(H)]).astype(dtype)
    rows.flags.writeable = False
    scale.flags.writeable = False
    return rows, scale


def lstm_recurrence_(gates, hbuf, cbuf, weight_hh, batch_sizes=None, weight_hr=None, mask=None, bias=None):
    """Run the LSTM recurrence in place.

    gates: (T, N, 4H) input projections ``x_t W_ih^T`` in internal form (order o, i, f, g;
        sigmoid rows halved), no bias; overwritten with the gate activations.
    hbuf, cbuf: (T + 1, N, P) and (T + 1, N, H), P = H without a projection; ``[0]`` holds
        the initial hidden and cell states; the rest is filled (zero-initialised by the caller
        for ragged batches).
    weight_hh: (4H, P) in internal form.
    weight_hr: (P, H), PyTorch's projection (``proj_size`` P), or None:
        ``h_t = (o * tanh(c_t)) W_hr^T``.
    mask: (N, P) recurrent dropout on h_{t-1} before the product
        (:func:`~rnnlab.functional.recurrent.product_input`), or None.
    bias: (4H,) both biases folded, in internal form, or None (see :func:`add_bias_`).

    Returns ``(tanh_c, m)``: tanh_c (T, N, H), and with a projection m (T, N, H), the outputs
    ``o * tanh(c_t)`` before it (else None), both kept for the backward pass.
    """
    T, N, G = gates.shape
    H = G // 4
    whh_t = np.ascontiguousarray(weight_hh.T)  # BLAS is ~2x faster on it than on a transposed view
    rec = np.empty((N, G), gates.dtype)
    tmp = np.empty((N, H), gates.dtype)
    alloc = np.empty if batch_sizes is None else np.zeros
    tanh_c = alloc((T, N, H), gates.dtype)
    m = None if weight_hr is None else alloc((T, N, H), gates.dtype)
    unprojected = hbuf[1:] if m is None else m
    whr_t = None if weight_hr is None else np.ascontiguousarray(weight_hr.T)
    masked = None if mask is None else np.empty(hbuf.shape[1:], gates.dtype)
    add_bias_(gates, bias, batch_sizes)
    for t, n in enumerate(step_sizes(batch_sizes, T, N)):
        a = gates[t, :n]
        np.matmul(product_input(hbuf[t, :n], mask, masked), whh_t, out=rec[:n])
        a += rec[:n]
        np.tanh(a, out=a)  # all four gates at once: g = tanh(a_g), the others tanh(a / 2)
        half_tanh_to_sigmoid_(a[:, : 3 * H])  # o, i, f = sigmoid(a)
        g = a[:, 3 * H :]
        c = cbuf[t + 1, :n]
        np.multiply(a[:, 2 * H : 3 * H], cbuf[t, :n], out=c)  # f * c_{t-1}
        np.multiply(a[:, H : 2 * H], g, out=tmp[:n])  # i * g
        c += tmp[:n]
        tc = tanh_c[t, :n]
        np.tanh(c, out=tc)
        np.multiply(a[:, :H], tc, out=unprojected[t, :n])  # o * tanh(c_t)
        if m is not None:
            np.matmul(m[t, :n], whr_t, out=hbuf[t + 1, :n])
    return tanh_c, m


def lstm_recurrence_backward(dhs, dh_n, dc_n, gates, hbuf, cbuf, tanh_c, weight_hh, batch_sizes=None,
                             weight_hr=None, m=None, mask=None):
    """Backpropagation through time for :func:`lstm_recurrence_`.

    dhs: (T, N, P) gradient with respect to the outputs, or None; dh_n (N, P), dc_n (N, H):
    gradients with respect to each sequence's final hidden and cell state, or None;
    weight_hr and m: the projection and what the forward pass returned, or None; mask: the
    forward pass's recurrent dropout mask, or None.

    Returns ``(dgates, dh0, dc0, dweight_hh, dweight_hr)``: dgates (T, N, 4H) the gradient at
    every internal gate pre-activation (also that of the input projections), dh0 (N, P) and
    dc0 (N, H), dweight_hh (4H, P) with respect to the internal weights, dweight_hr (P, H)
    (None without a projection).
    """
    T, N, G = gates.shape
    H, P = G // 4, hbuf.shape[2]
    sizes = step_sizes(batch_sizes, T, N)
    dtype = gates.dtype
    g4 = gates.reshape(T, N, 4, H)
    o, i, f, g = g4[:, :, 0], g4[:, :, 1], g4[:, :, 2], g4[:, :, 3]
    # every factor that does not depend on the recurrence, for all steps at once; for the
    # halved sigmoid pre-activations the derivative is 2 s (1 - s)
    q_o = tanh_c * o * (2.0 - 2.0 * o)  # d h / d a_o
    q_c = o * (1.0 - tanh_c * tanh_c)  # d h / d c = o (1 - tanh(c)^2)
    q_ifg = np.empty((T, N, 3, H), dtype)
    np.multiply(g * i, 2.0 - 2.0 * i, out=q_ifg[:, :, 0])  # d c / d a_i
    np.multiply(cbuf[:-1] * f, 2.0 - 2.0 * f, out=q_ifg[:, :, 1])  # d c / d a_f
    np.multiply(i, 1.0 - g * g, out=q_ifg[:, :, 2])  # d c / d a_g = i (1 - g^2)
    alloc = np.empty if batch_sizes is None else np.zeros
    dgates = alloc((T, N, 4, H), dtype)
    dh_all = None if weight_hr is None else alloc((T, N, P), dtype)  # the total gradient at each h_t
    dm = None if weight_hr is None else np.empty((N, H), dtype)
    dh, dc, tmp = np.empty((N, P), dtype), np.empty((N, H), dtype), np.empty((N, H), dtype)
    # each kernel writes its own time loop out in full (the RNN, LSTM and GRU loops start alike):
    # a shared helper would cost a Python call per step, which is what these loops are built to avoid
    for t in range(T - 1, -1, -1):
        n = sizes[t]
        n_next = sizes[t + 1] if t + 1 < T else 0
        start_rows(dh, dh_n, n_next, n)
        start_rows(dc, dc_n, n_next, n)
        dhn, dcn = dh[:n], dc[:n]
        if dhs is not None:
            dhn += dhs[t, :n]
        if dh_all is not None:  # back through the projection: the gradient at o * tanh(c_t)
            dh_all[t, :n] = dhn
            dhn = np.matmul(dhn, weight_hr, out=dm[:n])
        da = dgates[t, :n]  # (n, 4, H)
        np.multiply(dhn, q_o[t, :n], out=da[:, 0])
        np.multiply(dhn, q_c[t, :n], out=tmp[:n])
        dcn += tmp[:n]  # the total gradient at c_t
        np.multiply(dcn[:, None, :], q_ifg[t, :n], out=da[:, 1:])
        dcn *= f[t, :n]  # now the gradient reaching c_{t-1}
        np.matmul(da.reshape(n, G), weight_hh, out=dh[:n])  # and h_{t-1}
        if mask is not None:
            dh[:n] *= mask[:n]
    dgates = dgates.reshape(T, N, G)
    dweight_hh = dgates.reshape(T * N, G).T @ product_inputs(hbuf, mask)
    dweight_hr = None if dh_all is None else dh_all.reshape(T * N, P).T @ m.reshape(T * N, H)
    return dgates, dh, dc, dweight_hh, dweight_hr


def lstm_cell(gi, gh, b_ih, b_hh, c, h_new, c_new):
    """One streaming step in PyTorch's gate order (i, f, g, o), from the products gi = x W_ih^T and
    gh = h W_hh^T, both (N, 4H), the biases (4H,) (None: a layer without them) and the cell state
    c (N, H). Writes the new h and c into h_new and c_new (N, H) and returns them; gi is overwritten."""
    H = c.shape[1]
    a = gi
    a += gh
    if b_ih is not None:
        a += b_ih
        a += b_hh
    g = np.tanh(a[:, 2 * H : 3 * H])
    i_f = sigmoid_(a[:, : 2 * H])
    o = sigmoid_(a[:, 3 * H :])
    np.multiply(i_f[:, H:], c, out=c_new)
    c_new += i_f[:, :H] * g
    np.tanh(c_new, out=h_new)
    h_new *= o
    return h_new, c_new
