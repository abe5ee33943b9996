"""Layer-normalised LSTM and GRU recurrences and their backward passes (Ba, Kiros and Hinton 2016,
"Layer Normalization", section 3.1 and its LSTM in the supplementary material).

``LN(a; g) = g * (a - mean(a)) / sqrt(var(a) + eps)`` over the last axis (eps 1e-5, as
``torch.nn.LayerNorm``). Both of a step's products are normalised separately, over all their
gate rows together, with their own gains; the layer's biases follow (they are the paper's
shifts, so none is doubled), in PyTorch's gate order and with plain weights::

    gi = LN(x_t W_ih^T; g_ih) + b_ih        gh = LN((h_{t-1} * m) W_hh^T; g_hh) + b_hh
    LSTM: i, f, g, o = sigmoid / tanh of (gi + gh);  c_t = f * c_{t-1} + i * g
          h_t = o * tanh(LN(c_t; g_c) + b_c)         (W_hr's projection after it, if any)
    GRU:  r, z = sigmoid(gi_rz + gh_rz);  n = tanh(gi_n + r * gh_n)
          h_t = (1 - z) * n + z * h_{t-1}

The cell state carried to the next step is c_t itself; m is the recurrent dropout mask
(:func:`~rnnlab.functional.recurrent.product_input`). These kernels are NumPy only and serve
both kernel sets (the numba set has no fused version of them: the normalisation's two reductions
per product and step are calls NumPy makes as well as numba would).

Weights come as a dict of PyTorch's kinds without the layer suffix: ``weight_hh`` (G*H, P),
``bias_ih`` / ``bias_hh`` (G*H,) (absent with ``bias=False``), ``ln_weight_ih`` / ``ln_weight_hh``
(G*H,), for the LSTM ``ln_weight_c`` / ``ln_bias_c`` (H,) and with a projection ``weight_hr``
(P, H). The backward passes return the gradients in a dict of the same kinds.
"""

from __future__ import annotations

import numpy as np

from rnnlab.functional.activations import sigmoid_
from rnnlab.functional.recurrent import product_input, product_inputs, start_rows, step_sizes

EPS = 1e-5


def normalize(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(a_hat, rstd)``: a (..., F) centred and scaled over its last axis, and 1 / std (..., 1).
    A zero row (padding) stays zero."""
    centred = a - a.mean(axis=-1, keepdims=True)
    rstd = 1.0 / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + EPS)
    centred *= rstd
    return centred, rstd.astype(a.dtype, copy=False)


def normalize_backward(d_hat: np.ndarray, a_hat: np.ndarray, rstd: np.ndarray) -> np.ndarray:
    """The gradient at a, from the gradient at ``a_hat`` (what :func:`normalize` returned)."""
    return rstd * (d_hat - d_hat.mean(axis=-1, keepdims=True) - a_hat * (d_hat * a_hat).mean(axis=-1, keepdims=True))


def transposed(weight: np.ndarray, steps: int) -> np.ndarray:
    """W^T for the per-step products: a contiguous copy over a sequence (BLAS is about twice as fast
    on it), the view for one streaming step (where the copy of W would cost more than the product)."""
    return np.ascontiguousarray(weight.T) if steps > 1 else weight.T


def input_side(xproj, w):
    """Every step's normalised input product at once: ``(x_hat, rstd_x, gi)``, gi (T, N, G*H)
    with its gain and bias (zero at padding, which the recurrences never read)."""
    x_hat, rstd_x = normalize(xproj)
    gi = x_hat * w["ln_weight_ih"]
    if "bias_ih" in w:
        gi += w["bias_ih"]
    return x_hat, rstd_x, gi


def ln_lstm_recurrence_(xproj, hbuf, cbuf, w: dict, batch_sizes=None, mask=None) -> tuple:
    """The layer-normalised LSTM over a sequence.

    xproj: (T, N, 4H) the input products ``x W_ih^T`` without bias (zero at padding);
    hbuf, cbuf: (T + 1, N, P) and (T + 1, N, H) with ``[0]`` the initial states, filled in place
    (zero-initialised by the caller for ragged batches); w: the weights (module docstring);
    mask: (N, P) recurrent dropout, or None. Returns the cache for :func:`ln_lstm_recurrence_backward`.
    """
    T, N, G = xproj.shape
    H, dt = G // 4, xproj.dtype
    x_hat, rstd_x, gates = input_side(xproj, w)
    alloc = np.empty if batch_sizes is None else np.zeros
    r_hat, rstd_h = alloc((T, N, G), dt), np.ones((T, N, 1), dt)
    c_hat, rstd_c, tanh_u = alloc((T, N, H), dt), np.ones((T, N, 1), dt), alloc((T, N, H), dt)
    projected = "weight_hr" in w
    m = alloc((T, N, H), dt) if projected else None
    whh_t = transposed(w["weight_hh"], T)
    masked = None if mask is None else np.empty(hbuf.shape[1:], dt)
    for t, n in enumerate(step_sizes(batch_sizes, T, N)):
        r_hat[t, :n], rstd_h[t, :n] = normalize(product_input(hbuf[t, :n], mask, masked) @ whh_t)
        a = gates[t, :n]
        a += r_hat[t, :n] * w["ln_weight_hh"]
        if "bias_hh" in w:
            a += w["bias_hh"]
        sigmoid_(a[:, : 2 * H])
        np.tanh(a[:, 2 * H : 3 * H], out=a[:, 2 * H : 3 * H])
        sigmoid_(a[:, 3 * H :])
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        c = cbuf[t + 1, :n]
        np.multiply(f, cbuf[t, :n], out=c)
        c += i * g
        c_hat[t, :n], rstd_c[t, :n] = normalize(c)
        tanh_u[t, :n] = np.tanh(c_hat[t, :n] * w["ln_weight_c"] + w["ln_bias_c"])
        out = o * tanh_u[t, :n]
        if projected:
            m[t, :n] = out
            out = out @ w["weight_hr"].T
        hbuf[t + 1, :n] = out
    return x_hat, rstd_x, gates, r_hat, rstd_h, c_hat, rstd_c, tanh_u, m


def ln_lstm_recurrence_backward(dhs, dh_n, dc_n, cache, hbuf, cbuf, w: dict, batch_sizes=None, mask=None):
    """Backpropagation through time for :func:`ln_lstm_recurrence_`.

    dhs: (T, N, P) gradient at the outputs, or None; dh_n (N, P), dc_n (N, H): at each sequence's
    final states, or None. Returns ``(dxproj, dgates, dh0, dc0, grads)``: dxproj (T, N, 4H) at the
    input products, dgates (T, N, 4H) at the gate pre-activations (the biases' gradient per
    position), and grads the weights' (module docstring; ``weight_hh`` (4H, P)).
    """
    x_hat, rstd_x, act, r_hat, rstd_h, c_hat, rstd_c, tanh_u, m = cache
    T, N, G = act.shape
    H, P, dt = G // 4, hbuf.shape[2], act.dtype
    sizes = step_sizes(batch_sizes, T, N)
    alloc = np.empty if batch_sizes is None else np.zeros
    dgates, drec, du = alloc((T, N, G), dt), alloc((T, N, G), dt), alloc((T, N, H), dt)
    dh_all = None if m is None else alloc((T, N, P), dt)
    dh, dc = np.empty((N, P), dt), np.empty((N, H), dt)
    for t in range(T - 1, -1, -1):
        n = sizes[t]
        n_next = sizes[t + 1] if t + 1 < T else 0
        start_rows(dh, dh_n, n_next, n)
        start_rows(dc, dc_n, n_next, n)
        dhn = dh[:n] if dhs is None else dh[:n] + dhs[t, :n]
        if dh_all is not None:  # back through the projection: the gradient at o * tanh(u)
            dh_all[t, :n] = dhn
            dhn = dhn @ w["weight_hr"]
        a = act[t, :n]
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        tu = tanh_u[t, :n]
        du[t, :n] = dhn * o * (1.0 - tu * tu)
        dcn = dc[:n]
        dcn += normalize_backward(du[t, :n] * w["ln_weight_c"], c_hat[t, :n], rstd_c[t, :n])  # the total at c_t
        da = dgates[t, :n]
        np.multiply(dcn * g, i * (1.0 - i), out=da[:, :H])
        np.multiply(dcn * cbuf[t, :n], f * (1.0 - f), out=da[:, H : 2 * H])
        np.multiply(dcn * i, 1.0 - g * g, out=da[:, 2 * H : 3 * H])
        np.multiply(dhn * tu, o * (1.0 - o), out=da[:, 3 * H :])
        dcn *= f  # now the gradient reaching c_{t-1}
        drec[t, :n] = normalize_backward(da * w["ln_weight_hh"], r_hat[t, :n], rstd_h[t, :n])
        np.matmul(drec[t, :n], w["weight_hh"], out=dh[:n])  # and h_{t-1}
        if mask is not None:
            dh[:n] *= mask[:n]
    grads = gate_gradients(dgates, dgates, drec, x_hat, r_hat, hbuf, w, mask)
    grads["ln_weight_c"] = (du * c_hat).reshape(-1, H).sum(axis=0)
    grads["ln_bias_c"] = du.reshape(-1, H).sum(axis=0)
    if dh_all is not None:
        grads["weight_hr"] = dh_all.reshape(T * N, P).T @ m.reshape(T * N, H)
    dxproj = normalize_backward(dgates * w["ln_weight_ih"], x_hat, rstd_x)
    return dxproj, dgates, dh, dc, grads


def gate_gradients(dgi, dgh, drec, x_hat, r_hat, hbuf, w, mask) -> dict:
    """The gains', the biases' and W_hh's gradients from the gradients at gi, at gh and at the
    raw recurrent product (drec), all (T, N, G*H)."""
    G = dgi.shape[2]
    grads = {"ln_weight_ih": (dgi * x_hat).reshape(-1, G).sum(axis=0),
             "ln_weight_hh": (dgh * r_hat).reshape(-1, G).sum(axis=0),
             "weight_hh": drec.reshape(-1, G).T @ product_inputs(hbuf, mask)}
    if "bias_ih" in w:
        grads["bias_ih"] = dgi.reshape(-1, G).sum(axis=0)
        grads["bias_hh"] = dgh.reshape(-1, G).sum(axis=0)
    return grads


def ln_gru_recurrence_(xproj, hbuf, w: dict, batch_sizes=None, mask=None) -> tuple:
    """The layer-normalised GRU over a sequence: xproj (T, N, 3H) ``x W_ih^T`` without bias;
    hbuf (T + 1, N, H) with ``hbuf[0]`` the initial state, filled in place; w, mask: as for
    :func:`ln_lstm_recurrence_`. Returns the cache for :func:`ln_gru_recurrence_backward`."""
    T, N, G = xproj.shape
    H, dt = G // 3, xproj.dtype
    x_hat, rstd_x, act = input_side(xproj, w)
    alloc = np.empty if batch_sizes is None else np.zeros
    r_hat, rstd_h, gh_n = alloc((T, N, G), dt), np.ones((T, N, 1), dt), alloc((T, N, H), dt)
    whh_t = transposed(w["weight_hh"], T)
    masked = None if mask is None else np.empty(hbuf.shape[1:], dt)
    for t, n in enumerate(step_sizes(batch_sizes, T, N)):
        r_hat[t, :n], rstd_h[t, :n] = normalize(product_input(hbuf[t, :n], mask, masked) @ whh_t)
        gh = r_hat[t, :n] * w["ln_weight_hh"]
        if "bias_hh" in w:
            gh += w["bias_hh"]
        a = act[t, :n]
        a[:, : 2 * H] += gh[:, : 2 * H]
        sigmoid_(a[:, : 2 * H])
        gh_n[t, :n] = gh[:, 2 * H :]
        a[:, 2 * H :] = np.tanh(a[:, 2 * H :] + a[:, :H] * gh[:, 2 * H :])
        z, nn = a[:, H : 2 * H], a[:, 2 * H :]
        hbuf[t + 1, :n] = nn + z * (hbuf[t, :n] - nn)
    return x_hat, rstd_x, act, r_hat, rstd_h, gh_n


def ln_gru_recurrence_backward(dhs, dh_n, cache, hbuf, w: dict, batch_sizes=None, mask=None):
    """Backpropagation through time for :func:`ln_gru_recurrence_`: dhs (T, N, H) or None, dh_n
    (N, H) or None. Returns ``(dxproj, dgh, dh0, grads)``: dxproj (T, N, 3H) at the input
    products, dgh (T, N, 3H) at gh (the recurrent side's bias gradient per position), grads the
    weights' (module docstring)."""
    x_hat, rstd_x, act, r_hat, rstd_h, gh_n = cache
    T, N, G = act.shape
    H, dt = G // 3, act.dtype
    sizes = step_sizes(batch_sizes, T, N)
    alloc = np.empty if batch_sizes is None else np.zeros
    dgi, dgh, drec = alloc((T, N, G), dt), alloc((T, N, G), dt), alloc((T, N, G), dt)
    dh = np.empty((N, H), dt)
    for t in range(T - 1, -1, -1):
        n = sizes[t]
        start_rows(dh, dh_n, sizes[t + 1] if t + 1 < T else 0, n)
        dhn = dh[:n] if dhs is None else dh[:n] + dhs[t, :n]
        a = act[t, :n]
        r, z, nn = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
        dan = dhn * (1.0 - z) * (1.0 - nn * nn)
        dgi[t, :n, 2 * H :] = dan
        dgh[t, :n, 2 * H :] = dan * r
        dgi[t, :n, :H] = dan * gh_n[t, :n] * r * (1.0 - r)
        dgi[t, :n, H : 2 * H] = dhn * (hbuf[t, :n] - nn) * z * (1.0 - z)
        dgh[t, :n, : 2 * H] = dgi[t, :n, : 2 * H]
        drec[t, :n] = normalize_backward(dgh[t, :n] * w["ln_weight_hh"], r_hat[t, :n], rstd_h[t, :n])
        direct = dhn * z  # the path to h_{t-1} that skips the product (and the mask)
        np.matmul(drec[t, :n], w["weight_hh"], out=dh[:n])
        if mask is not None:
            dh[:n] *= mask[:n]
        dh[:n] += direct
    grads = gate_gradients(dgi, dgh, drec, x_hat, r_hat, hbuf, w, mask)
    return normalize_backward(dgi * w["ln_weight_ih"], x_hat, rstd_x), dgh, dh, grads
