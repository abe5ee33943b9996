"""Recurrent sequence operations: one layer, one direction, the whole sequence.

Dimension letters: sequence length T, minibatch N, input size D, hidden size H.
These work **time-major** (x of shape (T, N, D)): every per-step slice is then a
contiguous (N, H) block, and the "previous hidden state" of all steps is one contiguous
array. The layers in :mod:`rnnlab.nn` present a batch-first API on top.

Each cell is split in two, because the input projection does not depend on the
recurrence:

1. the input projection of all steps at once, ``x W_ih^T + b``: one (T*N, D) @ (D, H)
   product (or, for token inputs, a gather from the table ``E W_ih^T + b``);
2. the recurrence over a state buffer: per step only the (N, H) @ (H, H) product and the
   elementwise work, into buffers allocated once per call (never per step);
3. in the backward pass, the weight gradients are single products over all steps, after
   the time loop.

The state buffer ``hbuf`` has shape (T + 1, N, H): ``hbuf[0]`` is the initial state and
``hbuf[t + 1]`` the state after step t, so ``hbuf[1:]`` are the outputs and ``hbuf[:-1]``
the previous states of every step, both contiguous.
"""

from __future__ import annotations

import numpy as np

NONLINEARITIES = ("tanh", "relu")


def rnn_recurrence_(hbuf: np.ndarray, weight_hh: np.ndarray, nonlinearity: str = "tanh") -> np.ndarray:
    """Run the Elman recurrence in place: ``h_t = act(p_t + h_{t-1} W_hh^T)``.

    hbuf: (T + 1, N, H); on entry ``hbuf[0]`` holds the initial state and ``hbuf[1:]`` the
    input projections p_t (biases included); on return ``hbuf[1:]`` holds the hidden states.
    weight_hh: (H, H). Returns ``hbuf[1:]``, shape (T, N, H).
    """
    T = hbuf.shape[0] - 1
    whh_t = weight_hh.T
    rec = np.empty(hbuf.shape[1:], hbuf.dtype)
    relu = nonlinearity == "relu"
    for t in range(T):
        np.matmul(hbuf[t], whh_t, out=rec)
        h = hbuf[t + 1]
        np.add(h, rec, out=h)
        if relu:
            np.maximum(h, 0.0, out=h)
        else:
            np.tanh(h, out=h)
    return hbuf[1:]


def rnn_recurrence_backward(dhs, dh_n, hbuf: np.ndarray, weight_hh: np.ndarray, nonlinearity: str = "tanh"):
    """Backpropagation through time for :func:`rnn_recurrence_`.

    dhs: (T, N, H) gradient with respect to the outputs ``hbuf[1:]``, or None.
    dh_n: (N, H) gradient with respect to the final state, or None (when the final state is
        also the last output, the two gradients add up).
    hbuf: the buffer :func:`rnn_recurrence_` filled; weight_hh: (H, H).

    Returns ``(da, dh0, dweight_hh)``: da (T, N, H) the gradient at every pre-activation
    (which is also the gradient of the input projections), dh0 (N, H), dweight_hh (H, H).
    """
    T, N, H = hbuf.shape[0] - 1, hbuf.shape[1], hbuf.shape[2]
    hs = hbuf[1:]
    # derivative of the activation at every step, from the stored outputs, all at once
    if nonlinearity == "relu":
        deriv = hs > 0
    else:
        deriv = np.multiply(hs, hs)
        np.subtract(1.0, deriv, out=deriv)  # 1 - h_t**2 (not 1 - tanh(h_t)**2: the notebook's bug)
    da = np.empty((T, N, H), hbuf.dtype)
    if dhs is not None:
        dh = np.array(dhs[T - 1], dtype=hbuf.dtype)
        if dh_n is not None:
            dh += dh_n
    elif dh_n is not None:
        dh = np.array(dh_n, dtype=hbuf.dtype)
    else:
        dh = np.zeros((N, H), hbuf.dtype)
    for t in range(T - 1, -1, -1):
        np.multiply(dh, deriv[t], out=da[t])
        np.matmul(da[t], weight_hh, out=dh)  # now the gradient reaching h_{t-1}
        if t > 0 and dhs is not None:
            dh += dhs[t - 1]
    dweight_hh = da.reshape(T * N, H).T @ hbuf[:-1].reshape(T * N, H)  # pairs da_t with h_{t-1}
    return da, dh, dweight_hh


def rnn_forward(x, h0, weight_ih, weight_hh, bias=None, nonlinearity="tanh"):
    """Elman RNN over a whole sequence: ``h_t = act(x_t W_ih^T + b + h_{t-1} W_hh^T)``.

    x: (T, N, D) inputs, time-major; h0: (N, H) initial state or None (zeros).
    weight_ih: (H, D); weight_hh: (H, H).
    bias: (H,) the sum ``b_ih + b_hh`` (only the sum matters for an Elman cell), or None.
    nonlinearity: "tanh" or "relu".

    Returns ``(hs, cache)``: hs (T, N, H) the hidden state after every step (hs[-1] is the
    final state).
    """
    T, N, D = x.shape
    H = weight_hh.shape[0]
    hbuf = np.empty((T + 1, N, H), weight_hh.dtype)
    hbuf[0] = 0.0 if h0 is None else h0
    np.matmul(x.reshape(T * N, D), weight_ih.T, out=hbuf[1:].reshape(T * N, H))
    if bias is not None:
        hbuf[1:] += bias
    hs = rnn_recurrence_(hbuf, weight_hh, nonlinearity)
    return hs, (x, hbuf, weight_ih, weight_hh, nonlinearity)


def rnn_backward(dhs, dh_n, cache):
    """Backpropagation through time for :func:`rnn_forward`.

    dhs: (T, N, H) gradient with respect to every output, or None; dh_n: (N, H) gradient
    with respect to the final state, or None.

    Returns ``(dx, dh0, dweight_ih, dweight_hh, dbias)`` with shapes (T, N, D), (N, H),
    (H, D), (H, H) and (H,). ``dbias`` is the gradient of both ``b_ih`` and ``b_hh``.
    """
    x, hbuf, weight_ih, weight_hh, nonlinearity = cache
    T, N, D = x.shape
    H = weight_hh.shape[0]
    da, dh0, dweight_hh = rnn_recurrence_backward(dhs, dh_n, hbuf, weight_hh, nonlinearity)
    da2 = da.reshape(T * N, H)
    dweight_ih = da2.T @ x.reshape(T * N, D)
    dbias = da2.sum(axis=0)
    dx = (da2 @ weight_ih).reshape(T, N, D)
    return dx, dh0, dweight_ih, dweight_hh, dbias
