"""The GRU recurrence and its backward pass (see rnnlab.functional.recurrent for the layout).

Gate order **(r, z, n)**, as PyTorch, with the reset gate applied *after* the recurrent
product (PyTorch's GRU, ONNX's ``linear_before_reset=1``)::

    r = sigmoid(x W_ir + b_ir + h W_hr + b_hr)
    z = sigmoid(x W_iz + b_iz + h W_hz + b_hz)
    n = tanh(x W_in + b_in + r * (h W_hn + b_hn))
    h_t = (1 - z) * n + z * h_{t-1}

Because b_hn sits inside ``r * (...)`` it cannot be folded into the input projection; the
other five biases can. As for the LSTM, the sigmoid gates' rows (r, z) come halved, so that
their activation is one ``tanh`` and two cheap operations (the layer scales their gradients
by 1/2 in return; :func:`internal_scale`).
"""

from __future__ import annotations

import functools

import numpy as np

from rnnlab.functional.activations import half_tanh_to_sigmoid_, sigmoid_
from rnnlab.functional.recurrent import add_bias_, product_input, product_inputs, start_rows, step_sizes


@functools.lru_cache(maxsize=64)
def internal_scale(hidden_size: int, dtype) -> np.ndarray:
    """Each gate row's factor in the kernel's weights: 1/2 for r and z, 1 for n (read-only)."""
    H = hidden_size
    scale = np.concatenate([np.full(2 * H, 0.5), np.ones(H)]).astype(dtype)
    scale.flags.writeable = False
    return scale


def gru_recurrence_(gates, hbuf, rec_n, weight_hh, bias_hn=None, batch_sizes=None, mask=None, bias=None):
    """Run the GRU recurrence in place.

    gates: (T, N, 3H) input projections ``x_t W_ih^T`` (r, z, n; r and z rows halved), no bias;
        overwritten with the activations r, z, n.
    hbuf: (T + 1, N, H); ``hbuf[0]`` holds the initial state; the rest is filled.
    rec_n: (T, N, H), filled with ``h_{t-1} W_hn^T + b_hn`` (kept for the backward pass).
    weight_hh: (3H, H), r and z rows halved; bias_hn: (H,) or None.
    mask: (N, H) recurrent dropout on h_{t-1} inside the product (not on ``z * h_{t-1}``;
        :func:`~rnnlab.functional.recurrent.product_input`), or None.
    bias: (3H,) the folded biases b_ir + b_hr, b_iz + b_hz (halved) and b_in, or None (see
        :func:`~rnnlab.functional.recurrent.add_bias_`).
    """
    T, N, G = gates.shape
    H = G // 3
    whh_t = np.ascontiguousarray(weight_hh.T)  # BLAS is ~2x faster on it than on a transposed view
    rec = np.empty((N, G), gates.dtype)
    tmp = np.empty((N, H), gates.dtype)
    masked = None if mask is None else np.empty((N, H), gates.dtype)
    add_bias_(gates, bias, batch_sizes)
    for t, n in enumerate(step_sizes(batch_sizes, T, N)):
        a = gates[t, :n]
        r_all = rec[:n]
        np.matmul(product_input(hbuf[t, :n], mask, masked), whh_t, out=r_all)
        rz = a[:, : 2 * H]
        rz += r_all[:, : 2 * H]
        np.tanh(rz, out=rz)
        half_tanh_to_sigmoid_(rz)
        rn = rec_n[t, :n]
        if bias_hn is None:
            rn[...] = r_all[:, 2 * H :]
        else:
            np.add(r_all[:, 2 * H :], bias_hn, out=rn)
        nn = a[:, 2 * H :]
        np.multiply(a[:, :H], rn, out=tmp[:n])  # r * (h W_hn + b_hn)
        nn += tmp[:n]
        np.tanh(nn, out=nn)
        h = hbuf[t + 1, :n]
        np.subtract(hbuf[t, :n], nn, out=h)  # h_t = n + z * (h_{t-1} - n)
        h *= a[:, H : 2 * H]
        h += nn


def gru_recurrence_backward(dhs, dh_n, gates, hbuf, rec_n, weight_hh, batch_sizes=None, mask=None):
    """Backpropagation through time for :func:`gru_recurrence_`.

    dhs: (T, N, H) gradient with respect to the outputs, or None; dh_n: (N, H) gradient with
    respect to each sequence's final state, or None; mask: the forward pass's recurrent
    dropout mask, or None.

    Returns ``(dgates, drec, dh0, dweight_hh)``: dgates (T, N, 3H) the gradient of the input
    projections (r, z, n pre-activations), drec (T, N, 3H) that of the recurrent products
    ``h W_hh^T + b_hh`` (equal to dgates for r and z), dh0 (N, H), dweight_hh (3H, H).
    """
    T, N, G = gates.shape
    H = G // 3
    sizes = step_sizes(batch_sizes, T, N)
    dtype = gates.dtype
    r, z, nn = gates[..., :H], gates[..., H : 2 * H], gates[..., 2 * H :]
    # every factor that does not depend on the recurrence, for all steps at once; for the
    # halved sigmoid pre-activations the derivative is 2 s (1 - s)
    q_n = (1.0 - z) * (1.0 - nn * nn)  # d h / d a_n
    q_z = (hbuf[:-1] - nn) * z * (2.0 - 2.0 * z)  # d h / d a_z
    q_r = rec_n * r * (2.0 - 2.0 * r)  # d a_n / d a_r
    alloc = np.empty if batch_sizes is None else np.zeros
    dgates = alloc((T, N, G), dtype)
    drec = alloc((T, N, G), dtype)
    dh = np.empty((N, H), dtype)
    tmp = np.empty((N, H), dtype)
    # each kernel writes its own time loop out in full (the RNN, LSTM and GRU loops start alike):
    # a shared helper would cost a Python call per step, which is what these loops are built to avoid
    for t in range(T - 1, -1, -1):
        n = sizes[t]
        start_rows(dh, dh_n, sizes[t + 1] if t + 1 < T else 0, n)
        dhn = dh[:n]
        if dhs is not None:
            dhn += dhs[t, :n]
        dan = dgates[t, :n, 2 * H :]
        np.multiply(dhn, q_n[t, :n], out=dan)
        np.multiply(dhn, q_z[t, :n], out=drec[t, :n, H : 2 * H])
        np.multiply(dan, q_r[t, :n], out=drec[t, :n, :H])
        np.multiply(dan, r[t, :n], out=drec[t, :n, 2 * H :])
        np.multiply(dhn, z[t, :n], out=tmp[:n])
        np.matmul(drec[t, :n], weight_hh, out=dhn)
        if mask is not None:
            dhn *= mask[:n]
        dhn += tmp[:n]  # the gradient reaching h_{t-1}
    dgates[..., : 2 * H] = drec[..., : 2 * H]
    dweight_hh = drec.reshape(T * N, G).T @ product_inputs(hbuf, mask)
    return dgates, drec, dh, dweight_hh


def gru_cell(gi, gh, b_ih, b_hh, h, h_new):
    """One streaming step in PyTorch's gate order (r, z, n), from the products gi = x W_ih^T and
    gh = h W_hh^T, both (N, 3H), the biases (3H,) (None: a layer without them) and the state h
    (N, H). Writes the new h into h_new (N, H) and returns it; gi and gh are overwritten."""
    H = h.shape[1]
    if b_ih is not None:
        gi += b_ih
        gh += b_hh
    rz = gi[:, : 2 * H]
    rz += gh[:, : 2 * H]
    sigmoid_(rz)
    n = gi[:, 2 * H :]
    n += rz[:, :H] * gh[:, 2 * H :]  # n = tanh(x W_in + b_in + r * (h W_hn + b_hn))
    np.tanh(n, out=n)
    np.subtract(h, n, out=h_new)
    h_new *= rz[:, H:]
    h_new += n
    return h_new
