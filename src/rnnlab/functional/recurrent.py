"""Recurrent kernels: what the RNN, LSTM and GRU kernels share, and the Elman RNN's time loop.

The LSTM's and the GRU's loops are in :mod:`rnnlab.functional.lstm` and :mod:`rnnlab.functional.gru`.

Dimension letters: sequence length T, minibatch N, input size D, hidden size H, gates G
(1 for RNN, 4 for LSTM, 3 for GRU). Everything here is **time-major** ((T, N, ...)): every
per-step slice is a contiguous block, and the previous hidden state of all steps is one
contiguous array. The layers in :mod:`rnnlab.nn` present a batch-first API on top.

A recurrent layer works in three parts, because the input projection does not depend on the
recurrence:

1. the input projection of all steps at once, ``x W_ih^T`` (one (T*N, D) @ (D, G*H)
   product, or a gather from a table for token inputs), computed by the layer's input
   (:mod:`rnnlab.nn.inputs`);
2. a kernel (``*_recurrence_``) that runs the recurrence over buffers allocated once per
   call: it adds the folded bias (:func:`add_bias_`), then per step only the (N, H) @ (H, G*H)
   product and elementwise work;
3. the kernel's backward (``*_recurrence_backward``), which precomputes every factor that
   does not depend on the recurrence for all steps at once, keeps only a few operations per
   step, and returns the gradients of the pre-activations from which the layer forms the
   weight gradients as single products.

**Variable lengths.** Batches are sorted by decreasing length (:class:`Packing`), as in
PyTorch's packed sequences, so that the sequences still running at step t are the first
``batch_sizes[t]`` rows: a kernel works on the prefix ``[:n]`` of each step and never
touches padding. Buffers are zero-initialised for ragged batches, so outputs past a
sequence's end are zero and padding receives zero gradient; a sequence's final state stays
in the state buffer at its own last step.

The state buffer ``hbuf`` has shape (T + 1, N, H): ``hbuf[0]`` is the initial state and
``hbuf[t + 1]`` the state after step t, so ``hbuf[1:]`` are the outputs and ``hbuf[:-1]``
the previous states of all steps.
"""

from __future__ import annotations

import numpy as np

from rnnlab.errors import ShapeError
from rnnlab.functional.activations import tanh_grad_from_output

NONLINEARITIES = ("tanh", "relu")


def check_lengths(lengths, N: int, T: int) -> np.ndarray:
    """The one check of a padded batch's sequence lengths: (N,) integers in 1..T, as int64.

    Every layer and model that takes ``lengths`` calls it, so the rule and its error (a
    ShapeError: the lengths describe the batch's shape) are the same everywhere.
    """
    lengths = np.asarray(lengths)
    if lengths.shape != (N,):
        raise ShapeError(f"lengths should have shape ({N},), one length per sequence, got {lengths.shape}")
    if lengths.dtype.kind not in "iu":
        raise ShapeError(f"lengths should be integers, got dtype {lengths.dtype}")
    if N and (lengths.min() < 1 or lengths.max() > T):
        raise ShapeError(f"lengths should be between 1 and the padded length T = {T}, got values from "
                         f"{lengths.min()} to {lengths.max()}")
    return lengths.astype(np.int64, copy=False)


class Packing:
    """The layout of a batch of sequences of different lengths, sorted by decreasing length.

    lengths: (N,) integers in 1..T, in the caller's order. Attributes:

    - ``order`` (N,): the caller's row of each sorted row; ``inverse`` undoes it;
    - ``lengths`` (N,): the sorted lengths;
    - ``batch_sizes``: list of T ints, how many sequences are still running at each step;
    - ``pad`` (T, N) bool, sorted order: True at padding positions.
    """

    def __init__(self, lengths: np.ndarray, T: int):
        self.order = np.argsort(-lengths, kind="stable")
        self.inverse = np.argsort(self.order, kind="stable")
        self.lengths = lengths[self.order]
        steps = np.arange(T)
        self.pad = steps[:, None] >= self.lengths[None, :]  # (T, N)
        self.batch_sizes = (~self.pad).sum(axis=1).tolist()
        cols = np.arange(len(lengths))
        # reversing each sequence within its own length (padding stays in place)
        rev_t = np.where(self.pad, steps[:, None], self.lengths[None, :] - 1 - steps[:, None])
        self._rev = (rev_t, np.broadcast_to(cols, rev_t.shape))
        self._last = (self.lengths, cols)

    @staticmethod
    def from_lengths(lengths, N: int, T: int) -> Packing | None:
        """Validate user ``lengths`` (None, or (N,) integers in 1..T); None when all equal T."""
        if lengths is None:
            return None
        lengths = check_lengths(lengths, N, T)
        if (lengths == T).all():
            return None
        return Packing(lengths, T)

    def reverse(self, a: np.ndarray) -> np.ndarray:
        """Reverse each sequence of a (T, N, ...) array within its own length (a copy)."""
        return a[self._rev]

    def last(self, hbuf: np.ndarray) -> np.ndarray:
        """The state after each sequence's own last step: hbuf (T + 1, N, H) -> (N, H)."""
        return hbuf[self._last]


def reverse_time(a: np.ndarray, packing: Packing | None) -> np.ndarray:
    """Reverse a (T, N, ...) array in time, within each sequence's length when ragged."""
    return a[::-1] if packing is None else packing.reverse(a)


def step_sizes(batch_sizes, T: int, N: int) -> list[int]:
    """The number of sequences running at each step: ``batch_sizes``, or N at every step when None."""
    return [N] * T if batch_sizes is None else batch_sizes


def add_bias_(projections: np.ndarray, bias, batch_sizes) -> None:
    """Add the folded bias (G,) to the rows of projections (T, N, G) that run, leaving padding at
    zero: one pass when every sequence runs every step (NumPy's per-step call would cost more at
    small sizes), else one per step. Nothing when bias is None."""
    if bias is None:
        return
    if batch_sizes is None:
        projections += bias
        return
    for t, n in enumerate(batch_sizes):
        projections[t, :n] += bias


# -- recurrent dropout: every kernel takes ``mask``, (N, H) or None -----------------------------
# Gal and Ghahramani's variational dropout multiplies the input of the recurrent product,
# ``(h_{t-1} * mask) W_hh^T``, by one mask per sequence for all steps; everything else that reads
# h_{t-1} (the GRU's ``z * h_{t-1}``) and the LSTM's cell state see it unmasked.
def product_input(h: np.ndarray, mask, out: np.ndarray) -> np.ndarray:
    """The input of one step's recurrent product: h (n, H), or ``h * mask[:n]`` written into out."""
    return h if mask is None else np.multiply(h, mask[: h.shape[0]], out=out[: h.shape[0]])


def product_inputs(hbuf: np.ndarray, mask) -> np.ndarray:
    """Every step's product input at once, ``hbuf[:-1]`` (times the mask): (T * N, H), for dW_hh."""
    prev = hbuf[:-1] if mask is None else hbuf[:-1] * mask
    return prev.reshape(-1, hbuf.shape[2])


# -- Elman RNN ------------------------------------------------------------------------------
def rnn_recurrence_(hbuf: np.ndarray, weight_hh: np.ndarray, nonlinearity: str = "tanh", batch_sizes=None,
                    mask=None, bias=None):
    """Run the Elman recurrence in place: ``h_t = act(p_t + (h_{t-1} * mask) W_hh^T + b)``.

    hbuf: (T + 1, N, H); on entry ``hbuf[0]`` holds the initial state and ``hbuf[1:]`` the
    input projections p_t = x_t W_ih^T (no bias, zero at padding); on return ``hbuf[1:]``
    holds the hidden states. weight_hh: (H, H). batch_sizes: see :class:`Packing`, or None.
    mask: (N, H) recurrent dropout (:func:`product_input`), or None.
    bias: (H,) the folded bias b = b_ih + b_hh, or None: the recurrence adds it (:func:`add_bias_`;
    the fused kernels inside their step, which spares them a pass over the projections).
    Returns ``hbuf[1:]``, shape (T, N, H).
    """
    T, N = hbuf.shape[0] - 1, hbuf.shape[1]
    whh_t = np.ascontiguousarray(weight_hh.T)  # BLAS is ~2x faster on it than on a transposed view
    rec = np.empty(hbuf.shape[1:], hbuf.dtype)
    masked = None if mask is None else np.empty_like(rec)
    relu = nonlinearity == "relu"
    add_bias_(hbuf[1:], bias, batch_sizes)
    for t, n in enumerate(step_sizes(batch_sizes, T, N)):
        r = rec[:n]
        np.matmul(product_input(hbuf[t, :n], mask, masked), whh_t, out=r)
        h = hbuf[t + 1, :n]
        h += r
        if relu:
            np.maximum(h, 0.0, out=h)
        else:
            np.tanh(h, out=h)
    return hbuf[1:]


def rnn_cell(gi, gh, b_ih, b_hh, h_new, nonlinearity: str = "tanh"):
    """One streaming step: ``h_new = act(gi + b_ih + gh + b_hh)`` from the products gi = x W_ih^T and
    gh = h W_hh^T, both (N, H), and the biases (H,) (None: a layer without them). Writes h_new
    (N, H) and returns it; gi is overwritten."""
    gi += gh
    if b_ih is not None:
        gi += b_ih
        gi += b_hh
    return np.maximum(gi, 0.0, out=h_new) if nonlinearity == "relu" else np.tanh(gi, out=h_new)


def start_rows(dh, dstate, n_next: int, n: int) -> None:
    """Rows [n_next:n] end at this step: their state gradient starts from dstate (or zero)."""
    if n > n_next:
        if dstate is None:
            dh[n_next:n] = 0.0
        else:
            dh[n_next:n] = dstate[n_next:n]


def rnn_recurrence_backward(dhs, dh_n, hbuf, weight_hh, nonlinearity="tanh", batch_sizes=None, mask=None):
    """Backpropagation through time for :func:`rnn_recurrence_`.

    dhs: (T, N, H) gradient with respect to the outputs ``hbuf[1:]``, or None.
    dh_n: (N, H) gradient with respect to each sequence's final state, or None.
    mask: the forward pass's recurrent dropout mask, or None.

    Returns ``(da, dh0, dweight_hh)``: da (T, N, H) the gradient at every pre-activation
    (also the gradient of the input projections), dh0 (N, H), dweight_hh (H, H).
    """
    T, N, H = hbuf.shape[0] - 1, hbuf.shape[1], hbuf.shape[2]
    sizes = step_sizes(batch_sizes, T, N)
    hs = hbuf[1:]
    # the activation's derivative at every step, from the stored outputs, all at once
    if nonlinearity == "relu":
        deriv = hs > 0
    else:
        deriv = tanh_grad_from_output(hs)  # 1 - h_t**2 (not 1 - tanh(h_t)**2: the notebook's bug)
    da = np.empty((T, N, H), hbuf.dtype) if batch_sizes is None else np.zeros((T, N, H), hbuf.dtype)
    dh = np.empty((N, H), hbuf.dtype)
    # each kernel writes its own time loop out in full (the RNN, LSTM and GRU loops start alike):
    # a shared helper would cost a Python call per step, which is what these loops are built to avoid
    for t in range(T - 1, -1, -1):
        n = sizes[t]
        start_rows(dh, dh_n, sizes[t + 1] if t + 1 < T else 0, n)
        dhn = dh[:n]
        if dhs is not None:
            dhn += dhs[t, :n]
        np.multiply(dhn, deriv[t, :n], out=da[t, :n])
        np.matmul(da[t, :n], weight_hh, out=dhn)  # now the gradient reaching h_{t-1}
        if mask is not None:
            dhn *= mask[:n]
    dweight_hh = da.reshape(T * N, H).T @ product_inputs(hbuf, mask)  # pairs da_t with h_{t-1}
    return da, dh, dweight_hh
