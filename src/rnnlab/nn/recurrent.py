"""Recurrent layers: RNN, LSTM and GRU, stacked, bidirectional, with variable lengths.

They are ``torch.nn.RNN`` / ``LSTM`` / ``GRU`` in NumPy: the same constructor arguments (the
default ``batch_first=True`` excepted), the same parameter names, shapes, gate orders and
default initialisation, and the same numbers (tests compare outputs and every gradient).

Dimension letters: N sequences, T steps, D input size, H hidden size, L layers,
Dn directions (1 or 2), G gates (1 RNN, 4 LSTM, 3 GRU).

Parameters, for each layer k and direction (suffix ``_reverse`` for the backward one):
``weight_ih_l{k}`` (G*H, D_k), ``weight_hh_l{k}`` (G*H, H), ``bias_ih_l{k}`` (G*H,),
``bias_hh_l{k}`` (G*H,), with D_0 = D and D_k = Dn*H above. An LSTM with ``proj_size=P``
(PyTorch's projection, ``h_t = W_hr (o * tanh(c_t))``) also has ``weight_hr_l{k}`` (P, H);
its ``weight_hh_l{k}`` is then (4H, P), D_k = Dn*P, and h, the outputs and the hidden state
have P features where the rest of this docstring says H (the cell state keeps H).

Contract::

    out, state = layer.forward(x, state=None, lengths=None)
    dx, dstate = layer.backward(dout, dstate=None)

x: (N, T, D) (batch_first) or (T, N, D); out: (N, T, Dn*H), the last layer's outputs of both
directions concatenated. state: h (L*Dn, N, H) for RNN and GRU, the pair (h, c) for LSTM,
layer-major then direction, or None for zeros. lengths: (N,) the true length of every
sequence of a padded batch, with PyTorch's packed-sequence semantics: outputs past a
sequence's end are zero, the final state is taken at each sequence's own last step, the
reverse direction runs over each sequence's own span, and padding gets zero gradient.
``backward`` adds every parameter gradient into ``layer.grads`` and returns the gradients of
the input and of the initial state. ``forward_time_major`` / ``backward_time_major`` are the
same on time-major arrays, and also read token ids through an Embedding
(:class:`~rnnlab.nn.TokenInput`).

Two dropouts, both in training mode only, both inverted (kept units scaled by 1 / (1 - p), so
evaluation needs no rescaling) and drawn from ``layer.rng`` (a checkpoint saves its state, so a
resumed run draws the same masks): ``dropout=p`` on each layer's outputs but the last (PyTorch's),
and ``recurrent_dropout=p`` (Gal and Ghahramani 2016, Keras's ``recurrent_dropout``), one mask m
per sequence, layer and direction, the same at every step, on the state entering the recurrent
product only: ``(h_{t-1} * m) W_hh^T``. The GRU's ``z * h_{t-1}`` and the LSTM's cell state are
not masked. ``layer.recurrent_masks`` holds the last training pass's masks.

This module holds each cell's own part (its kernel's buffers, the kernel calls and the
streaming step); :mod:`rnnlab.nn.recurrent_base` drives them over layers and directions.
"""

from __future__ import annotations

import numpy as np

from rnnlab.errors import ConfigError
from rnnlab.functional.recurrent import NONLINEARITIES
from rnnlab.kernels import active_kernels
from rnnlab.nn.recurrent_base import Recurrent
from rnnlab.nn.recurrent_params import parameter_shapes, projection_name, step_products

__all__ = ["CELL_TYPES", "GRU", "LSTM", "RNN", "Recurrent", "parameter_shapes"]


class RNN(Recurrent):
    """Elman recurrent layer (``torch.nn.RNN``): ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``.

    ``RNN(input_size, hidden_size, num_layers=1, *, nonlinearity="tanh", bias=True,
    batch_first=True, dropout=0.0, bidirectional=False, recurrent_dropout=0.0, dtype=np.float32,
    rng=None)``;
    nonlinearity is "tanh" or "relu". See the module docstring for parameters, shapes and
    the forward/backward contract.

    Example::

        >>> import numpy as np
        >>> from rnnlab.nn import RNN
        >>> rnn = RNN(3, 5, rng=0)
        >>> out, h_n = rnn.forward(np.ones((2, 4, 3), np.float32))
        >>> out.shape, h_n.shape
        ((2, 4, 5), (1, 2, 5))
        >>> dx, dh0 = rnn.backward(np.ones_like(out))
        >>> dx.shape, sorted(rnn.grads) == sorted(rnn.params)
        ((2, 4, 3), True)
    """

    cell, gates = "rnn", 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, *, nonlinearity: str = "tanh",
                 **kwargs):
        if nonlinearity not in NONLINEARITIES:
            raise ConfigError(f"nonlinearity should be one of {', '.join(NONLINEARITIES)}, got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, **kwargs)

    def cell_options_repr(self) -> str:
        return "" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity!r}"

    def new_buffers(self, T, N, packing):
        hbuf = np.empty((T + 1, N, self.hidden_size), self.dtype)  # the projection goes in hbuf[1:]
        return hbuf[1:], hbuf

    def run(self, bufs, init_states, w, sizes, mask):
        _, hbuf = bufs
        hbuf[0] = 0.0 if init_states is None else init_states[0]
        hs = active_kernels().rnn_recurrence_(hbuf, w.w_hh, self.nonlinearity, sizes, mask, w.bias)
        return hs, (hbuf,), (hbuf,)

    def cell_step(self, layer, x, prev, new):
        active_kernels().rnn_cell(*step_products(self.params, layer, x, prev[0]), new[0], self.nonlinearity)

    def run_backward(self, dhs, dfinal, cell_cache, w, sizes, mask):
        (hbuf,) = cell_cache
        dh_n = None if dfinal is None else dfinal[0]
        da, dh0, dw_hh = active_kernels().rnn_recurrence_backward(dhs, dh_n, hbuf, w.w_hh, self.nonlinearity, sizes,
                                                                  mask)
        return da, da, (dh0,), dw_hh, {}


class LSTM(Recurrent):
    """Long short-term memory layer (``torch.nn.LSTM``), gates in PyTorch's order i, f, g, o.

    ``i, f, o = sigmoid(x W_i* + b_i* + h W_h* + b_h*)``, ``g = tanh(...)``,
    ``c_t = f * c_{t-1} + i * g``, ``h_t = o * tanh(c_t)``.

    ``LSTM(input_size, hidden_size, num_layers=1, *, bias=True, batch_first=True,
    dropout=0.0, bidirectional=False, proj_size=0, recurrent_dropout=0.0, dtype=np.float32,
    rng=None)``. The state is
    the pair ``(h, c)``, each (L*Dn, N, H); so is the state gradient. With ``proj_size=P``
    (0 < P < H) each step's output is projected, ``h_t = (o * tanh(c_t)) W_hr^T``, as in
    ``torch.nn.LSTM(proj_size=P)``: h and the outputs have P features, c keeps H. See the
    module docstring.

    Example::

        >>> import numpy as np
        >>> from rnnlab.nn import LSTM
        >>> lstm = LSTM(3, 5, num_layers=2, bidirectional=True, rng=0)
        >>> out, (h_n, c_n) = lstm.forward(np.ones((2, 4, 3), np.float32), lengths=[4, 2])
        >>> out.shape, h_n.shape, lstm.params["weight_hh_l1_reverse"].shape
        ((2, 4, 10), (4, 2, 5), (20, 5))
        >>> bool((out[1, 2:] == 0).all())  # past the second sequence's end
        True
        >>> projected = LSTM(3, 8, proj_size=2, rng=0)
        >>> out, (h_n, c_n) = projected.forward(np.ones((2, 4, 3), np.float32))
        >>> out.shape, h_n.shape, c_n.shape, projected.params["weight_hr_l0"].shape
        ((2, 4, 2), (1, 2, 2), (1, 2, 8), (2, 8))
    """

    cell, gates, n_states = "lstm", 4, 2

    def new_buffers(self, T, N, packing):
        H = self.hidden_size
        gates = np.empty((T, N, 4 * H), self.dtype)
        alloc = np.empty if packing is None else np.zeros
        return gates, alloc((T + 1, N, self.output_size), self.dtype), alloc((T + 1, N, H), self.dtype)

    def run(self, bufs, init_states, w, sizes, mask):
        gates, hbuf, cbuf = bufs
        hbuf[0] = 0.0 if init_states is None else init_states[0]
        cbuf[0] = 0.0 if init_states is None else init_states[1]
        if w.plain is not None:
            cache = active_kernels().ln_lstm_recurrence_(gates, hbuf, cbuf, w.plain, sizes, mask)
            return hbuf[1:], (hbuf, cbuf), (hbuf, cbuf, cache)
        tanh_c, m = active_kernels().lstm_recurrence_(gates, hbuf, cbuf, w.w_hh, sizes, w.w_hr, mask, w.bias)
        return hbuf[1:], (hbuf, cbuf), (hbuf, cbuf, gates, tanh_c, m)

    def cell_step(self, layer, x, prev, new):
        if self.layer_norm:
            self.run_one_step(layer, x, prev, new)
            return
        h, c = prev
        h_new = np.empty_like(c) if self.proj_size else new[0]  # with a projection: o * tanh(c_t), (N, H)
        active_kernels().lstm_cell(*step_products(self.params, layer, x, h), c, h_new, new[1])
        if self.proj_size:
            np.matmul(h_new, self.params[projection_name(layer, 0)].T, out=new[0])

    def run_backward(self, dhs, dfinal, cell_cache, w, sizes, mask):
        dh_n, dc_n = (None, None) if dfinal is None else dfinal
        if w.plain is not None:  # every weight's gradient comes by kind, in PyTorch's form
            hbuf, cbuf, cache = cell_cache
            dxproj, dgates, dh0, dc0, grads = active_kernels().ln_lstm_recurrence_backward(
                dhs, dh_n, dc_n, cache, hbuf, cbuf, w.plain, sizes, mask)
            return dxproj, dgates, (dh0, dc0), grads.pop("weight_hh"), grads
        hbuf, cbuf, gates, tanh_c, m = cell_cache
        dgates, dh0, dc0, dw_hh, dw_hr = active_kernels().lstm_recurrence_backward(
            dhs, dh_n, dc_n, gates, hbuf, cbuf, tanh_c, w.w_hh, sizes, w.w_hr, m, mask)
        return dgates, dgates, (dh0, dc0), dw_hh, {} if dw_hr is None else {"weight_hr": dw_hr}


class GRU(Recurrent):
    """Gated recurrent unit layer (``torch.nn.GRU``), gates in PyTorch's order r, z, n.

    ``r, z = sigmoid(...)``, ``n = tanh(x W_in + b_in + r * (h W_hn + b_hn))``,
    ``h_t = (1 - z) * n + z * h_{t-1}`` (the reset gate applies after the recurrent product).

    ``GRU(input_size, hidden_size, num_layers=1, *, bias=True, batch_first=True,
    dropout=0.0, bidirectional=False, recurrent_dropout=0.0, dtype=np.float32, rng=None)``. See
    the module docstring.

    Example::

        >>> import numpy as np
        >>> from rnnlab.nn import GRU
        >>> gru = GRU(3, 5, rng=0)
        >>> out, h_n = gru.forward(np.ones((2, 4, 3), np.float32))
        >>> out.shape, h_n.shape, gru.params["weight_ih_l0"].shape
        ((2, 4, 5), (1, 2, 5), (15, 3))
    """

    cell, gates = "gru", 3

    def new_buffers(self, T, N, packing):
        H = self.hidden_size
        alloc = np.empty if packing is None else np.zeros  # padding rows stay zero, never uninitialised
        return np.empty((T, N, 3 * H), self.dtype), alloc((T + 1, N, H), self.dtype), alloc((T, N, H), self.dtype)

    def run(self, bufs, init_states, w, sizes, mask):
        gates, hbuf, rec_n = bufs
        hbuf[0] = 0.0 if init_states is None else init_states[0]
        if w.plain is not None:
            cache = active_kernels().ln_gru_recurrence_(gates, hbuf, w.plain, sizes, mask)
            return hbuf[1:], (hbuf,), (hbuf, cache)
        active_kernels().gru_recurrence_(gates, hbuf, rec_n, w.w_hh, w.bias_hn, sizes, mask, w.bias)
        return hbuf[1:], (hbuf,), (hbuf, gates, rec_n)

    def cell_step(self, layer, x, prev, new):
        if self.layer_norm:
            self.run_one_step(layer, x, prev, new)
            return
        active_kernels().gru_cell(*step_products(self.params, layer, x, prev[0]), prev[0], new[0])

    def run_backward(self, dhs, dfinal, cell_cache, w, sizes, mask):
        dh_n = None if dfinal is None else dfinal[0]
        if w.plain is not None:  # every weight's gradient comes by kind, in PyTorch's form
            hbuf, cache = cell_cache
            dxproj, dgh, dh0, grads = active_kernels().ln_gru_recurrence_backward(dhs, dh_n, cache, hbuf, w.plain,
                                                                                 sizes, mask)
            return dxproj, dgh, (dh0,), grads.pop("weight_hh"), grads
        hbuf, gates, rec_n = cell_cache
        dgates, drec, dh0, dw_hh = active_kernels().gru_recurrence_backward(dhs, dh_n, gates, hbuf, rec_n, w.w_hh,
                                                                            sizes, mask)
        return dgates, drec, (dh0,), dw_hh, {}


CELL_TYPES = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
