"""Recurrent layers: RNN, LSTM and GRU, stacked, bidirectional, with variable lengths.

They are ``torch.nn.RNN`` / ``LSTM`` / ``GRU`` in NumPy: the same constructor arguments (the
default ``batch_first=True`` excepted), the same parameter names, shapes, gate orders and
default initialisation, and the same numbers (tests compare outputs and every gradient).

Dimension letters: N sequences, T steps, D input size, H hidden size, L layers,
Dn directions (1 or 2), G gates (1 RNN, 4 LSTM, 3 GRU).

Parameters, for each layer k and direction (suffix ``_reverse`` for the backward one):
``weight_ih_l{k}`` (G*H, D_k), ``weight_hh_l{k}`` (G*H, H), ``bias_ih_l{k}`` (G*H,),
``bias_hh_l{k}`` (G*H,), with D_0 = D and D_k = Dn*H above.

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
the input and of the initial state.
"""

from __future__ import annotations

import warnings

import numpy as np

from rnnlab._checks import check_int
from rnnlab.errors import ConfigError, DataError, RnnlabError, ShapeError
from rnnlab.functional.embedding import scatter_add_rows
from rnnlab.functional.gru import gru_recurrence_, gru_recurrence_backward, internal_scale
from rnnlab.functional.lstm import internal_rows, lstm_recurrence_, lstm_recurrence_backward
from rnnlab.functional.recurrent import (
    NONLINEARITIES,
    Packing,
    reverse_time,
    rnn_recurrence_,
    rnn_recurrence_backward,
)
from rnnlab.nn import init
from rnnlab.nn.module import Module, resolve_dtype


def _sigmoid_(a: np.ndarray) -> np.ndarray:
    """In-place ``1 / (1 + exp(-a))``; exp overflows to inf for a << 0, giving the exact limit 0
    (callers silence the overflow warning)."""
    np.negative(a, out=a)
    np.exp(a, out=a)
    a += 1.0
    return np.reciprocal(a, out=a)


GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def parameter_shapes(cell: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                     bidirectional: bool = False) -> dict[str, tuple]:
    """The names and shapes of a recurrent layer's parameters, in PyTorch's order (nothing allocated)."""
    if not isinstance(cell, str) or cell not in GATES:
        raise ConfigError(f"cell should be one of {', '.join(GATES)}, got {cell!r}")
    D, H, L = check_int("input_size", input_size), check_int("hidden_size", hidden_size), check_int(
        "num_layers", num_layers)
    G, dirs = GATES[cell] * H, 2 if bidirectional else 1
    shapes = {}
    for layer in range(L):
        d_in = D if layer == 0 else H * dirs
        for d in range(dirs):
            w_ih, w_hh, b_ih, b_hh = _Recurrent._names(layer, d)
            shapes[w_ih], shapes[w_hh] = (G, d_in), (G, H)
            if bias:
                shapes[b_ih], shapes[b_hh] = (G,), (G,)
    return shapes


class _Weights:
    """One layer-direction's weights for one forward call, in the kernel's internal form.

    Internal row j is PyTorch's row ``rows[j]`` (LSTM gate order; identity when None) times
    ``scale[j]`` (1/2 for sigmoid gates; none for the RNN). Gradients with respect to the
    internal weights map back to PyTorch's rows as ``g[rows] += scale * d_internal``.
    """

    __slots__ = ("bias", "bias_hn", "rows", "scale", "w_hh", "w_ih")

    def internal(self, a: np.ndarray) -> np.ndarray:
        """A (G*H, ...) or (G*H,) array of PyTorch-ordered rows, in internal form (a copy if changed)."""
        if self.rows is not None:
            a = a[self.rows]
        if self.scale is not None:
            a = a * (self.scale if a.ndim == 1 else self.scale[:, None])
        return a


class _Recurrent(Module):
    """Shared machinery of RNN, LSTM and GRU (see the module docstring)."""

    cell = ""  # "rnn", "lstm", "gru"
    gates = 1
    n_states = 1  # 2 for LSTM: (h, c)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        bias: bool = True,
        batch_first: bool = True,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype=np.float32,
        rng=None,
    ):
        super().__init__()
        self.input_size = check_int("input_size", input_size)
        self.hidden_size = check_int("hidden_size", hidden_size)
        self.num_layers = check_int("num_layers", num_layers)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout should be a probability in [0, 1), got {dropout!r}")
        if dropout > 0 and self.num_layers == 1:
            warnings.warn(
                "dropout applies between stacked layers; with num_layers=1 it has no effect",
                UserWarning,
                stacklevel=2,
            )
        self.dropout = float(dropout)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.bidirectional = bool(bidirectional)
        dt = resolve_dtype(dtype)
        self.rng = init.as_generator(rng)  # initial weights, then dropout masks
        shapes = parameter_shapes(self.cell, self.input_size, self.hidden_size, self.num_layers, self.bias,
                                  self.bidirectional)
        for name, shape in shapes.items():
            self._add_param(name, np.empty(shape, dt))
        init.recurrent_default_(self.params, self.hidden_size, self.rng)
        self._cache = None

    # -- description -------------------------------------------------------------------------
    @property
    def num_directions(self) -> int:
        """2 for a bidirectional layer, else 1."""
        return 2 if self.bidirectional else 1

    @staticmethod
    def _names(layer: int, direction: int) -> tuple[str, str, str, str]:
        sfx = f"_l{layer}" + ("_reverse" if direction else "")
        return f"weight_ih{sfx}", f"weight_hh{sfx}", f"bias_ih{sfx}", f"bias_hh{sfx}"

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        s += self._extra_args()
        if not self.bias:
            s += ", bias=False"
        if not self.batch_first:
            s += ", batch_first=False"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    def _extra_args(self) -> str:
        return ""

    def state_shape(self, N: int) -> tuple[int, int, int]:
        """Shape of the hidden state (and of the LSTM cell state) for a batch of N: (L*Dn, N, H)."""
        return (self.num_layers * self.num_directions, N, self.hidden_size)

    # -- checks --------------------------------------------------------------------------------
    def _check_state(self, state, N: int):
        """User state -> tuple of (L*Dn, N, H) arrays in the layer's dtype, or None."""
        if state is None:
            return None
        shape = self.state_shape(N)
        if self.n_states == 2:
            if not isinstance(state, (tuple, list)) or len(state) != 2:
                raise ShapeError(f"LSTM state should be a pair (h0, c0) of arrays of shape {shape}")
            parts = tuple(state)
        else:
            if isinstance(state, (tuple, list)):
                raise ShapeError(f"{type(self).__name__} state should be one array of shape {shape}, not a tuple")
            parts = (state,)
        out = []
        for name, s in zip(("h0", "c0"), parts, strict=False):
            s = np.asarray(s)
            if s.shape != shape:
                raise ShapeError(f"{type(self).__name__} initial state {name} should have shape {shape}, got {s.shape}")
            out.append(np.ascontiguousarray(s, dtype=self.dtype))
        return tuple(out)

    def _pack_state(self, parts: tuple):
        return parts if self.n_states == 2 else parts[0]

    # -- forward ---------------------------------------------------------------------------------
    def forward(self, x, state=None, lengths=None):
        """Run the layer over whole (padded) sequences; see the module docstring for shapes."""
        x = np.asarray(x)
        layout = "(N, T, D)" if self.batch_first else "(T, N, D)"
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ShapeError(
                f"{type(self).__name__} expects input of shape {layout} with D = input_size = "
                f"{self.input_size}, got {x.shape}"
            )
        if 0 in x.shape[:2]:
            raise ShapeError(f"{type(self).__name__} needs at least one sequence of at least one step, got {x.shape}")
        # one contiguous time-major copy (when needed): projections and dW_ih then use views
        xt = np.ascontiguousarray(x.transpose(1, 0, 2) if self.batch_first else x, dtype=self.dtype)
        T, N = xt.shape[:2]
        packing = Packing.from_lengths(lengths, N, T)
        states = self._check_state(state, N)
        if packing is not None:
            xt = xt[:, packing.order]
            xt[packing.pad] = 0.0  # whatever the padding holds, it stays out of the sums
            if states is not None:
                states = tuple(s[:, packing.order] for s in states)
        if not np.isfinite(xt).all():
            raise DataError(f"the input to {type(self).__name__} holds NaN or infinite values")
        out, finals = self._forward_tm(("input", xt), states, packing)
        if packing is not None:
            out = out[:, packing.inverse]
            finals = tuple(np.ascontiguousarray(f[:, packing.inverse]) for f in finals)
        if self.batch_first:
            out = out.transpose(1, 0, 2).copy()
        return out, self._pack_state(finals)

    def _weights(self, layer: int, d: int) -> _Weights:
        """This layer-direction's weights in the kernel's gate order, biases folded (per call)."""
        w_ih, w_hh, b_ih, b_hh = (self.params.get(n) for n in self._names(layer, d))
        w = _Weights()
        H = self.hidden_size
        w.rows, w.scale = None, None
        if self.cell == "lstm":
            w.rows, w.scale = internal_rows(H, self.dtype)
        elif self.cell == "gru":
            w.scale = internal_scale(H, self.dtype)
        w.w_ih = w.internal(w_ih)
        w.w_hh = w.internal(w_hh)
        w.bias_hn = None
        if b_ih is None:
            w.bias = None
        elif self.cell == "gru":  # b_hn stays inside r * (...): only the r and z parts fold
            bias = b_ih.copy()
            bias[: 2 * H] += b_hh[: 2 * H]
            w.bias = w.internal(bias)
            w.bias_hn = b_hh[2 * H :]
        else:
            w.bias = w.internal(b_ih + b_hh)
        return w

    def _project(self, source, d: int, w: _Weights, out: np.ndarray, packing):
        """Write the input projection of direction d into ``out`` (T, N, G*H); return its cache."""
        T, N = out.shape[:2]
        out2 = out.reshape(T * N, -1)
        if source[0] == "tokens":
            _, embedding, ids = source
            ids = ids if d == 0 else reverse_time(ids, packing)
            E = embedding.params["weight"]
            if E.shape[0] <= T * N:  # gather from the (V, G*H) table E W_ih^T + b: the same linear map
                table = E @ w.w_ih.T
                if w.bias is not None:
                    table += w.bias
                np.take(table, ids, axis=0, out=out, mode="clip")
                cache = ("table", embedding, ids)
            else:
                x = np.take(E, ids, axis=0, mode="clip")
                np.matmul(x.reshape(T * N, -1), w.w_ih.T, out=out2)
                if w.bias is not None:
                    out2 += w.bias
                cache = ("tokens", embedding, ids, x)
        else:
            x = source[1] if d == 0 else reverse_time(source[1], packing)
            np.matmul(x.reshape(T * N, -1), w.w_ih.T, out=out2)
            if w.bias is not None:
                out2 += w.bias
            cache = ("input", x)
        if packing is not None:
            out[packing.pad] = 0.0
        return cache

    def _forward_tm(self, source, states, packing):
        """Time-major, sorted core: source ("input", x (T, N, D)) or ("tokens", embedding, ids (T, N)).

        states: tuple of (L*Dn, N, H) arrays or None. Returns (out (T, N, Dn*H), finals tuple).
        """
        T, N = source[-1].shape[:2]
        L, Dn, H = self.num_layers, self.num_directions, self.hidden_size
        dt = self.dtype
        sizes = None if packing is None else packing.batch_sizes
        finals = tuple(np.empty((L * Dn, N, H), dt) for _ in range(self.n_states))
        caches, masks = [], []
        layer_in = source
        for layer in range(L):
            out = None
            for d in range(Dn):
                k = layer * Dn + d
                w = self._weights(layer, d)
                bufs = self._new_buffers(T, N, packing)
                proj_cache = self._project(layer_in, d, w, bufs[0], packing)
                init_states = (None, None) if states is None else tuple(s[k] for s in states)
                hs, cell_cache = self._run(bufs, init_states, w, sizes)
                for j, buf in enumerate(cell_cache[: self.n_states]):  # hbuf (and cbuf)
                    finals[j][k] = buf[T] if packing is None else packing.last(buf)
                if d == 1:
                    hs = reverse_time(hs, packing)
                if Dn == 1:
                    out = hs
                else:
                    if out is None:
                        out = np.empty((T, N, Dn * H), dt)
                    out[..., d * H : (d + 1) * H] = hs
                caches.append((w, proj_cache, cell_cache))
            mask = None
            if self.dropout and self.training and layer < L - 1:
                keep = 1.0 - self.dropout
                mask = (self.rng.random(out.shape) < keep).astype(dt)
                mask *= 1.0 / keep
                out = out * mask
            masks.append(mask)
            layer_in = ("input", out)
        self._cache = (caches, masks, packing, T, N)
        return layer_in[1], finals

    # -- streaming -----------------------------------------------------------------------------------
    def step(self, x, state=None):
        """One time step for streaming inference: the next input, the carried state, no gradients.

        x: (N, D), one step of N sequences; state: as for :meth:`forward`, or None (zeros).
        Returns ``(out, state)``: out (N, H), the last layer's output, and the new state.
        The same numbers as :meth:`forward` over the whole sequence (evaluation mode: no
        dropout), computed straight from the parameters, with nothing cached: the fast way to
        feed a generator one token at a time. Unidirectional layers only (a reverse direction
        would need the future).
        """
        if self.bidirectional:
            raise ConfigError("step() streams forward in time; a bidirectional layer needs whole sequences")
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.input_size or x.shape[0] == 0:
            raise ShapeError(f"{type(self).__name__}.step expects input of shape (N, {self.input_size}), got {x.shape}")
        N = x.shape[0]
        states = self._check_state(state, N)
        if states is None:
            states = tuple(np.zeros(self.state_shape(N), self.dtype) for _ in range(self.n_states))
        new = tuple(np.empty_like(s) for s in states)
        inp = x.astype(self.dtype, copy=False)
        with np.errstate(over="ignore"):
            for layer in range(self.num_layers):
                prev = tuple(s[layer] for s in states)
                out = self._cell_step(layer, inp, prev)
                for j, s in enumerate(out):
                    new[j][layer] = s
                inp = out[0]
        return inp.copy(), self._pack_state(new)

    def _gate_products(self, layer: int, x: np.ndarray, h: np.ndarray):
        w_ih, w_hh, b_ih, b_hh = (self.params.get(n) for n in self._names(layer, 0))
        gi = x @ w_ih.T
        gh = h @ w_hh.T
        if b_ih is not None:
            gi += b_ih
            gh += b_hh
        return gi, gh

    def _cell_step(self, layer: int, x: np.ndarray, prev: tuple) -> tuple:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- backward ----------------------------------------------------------------------------------
    def backward(self, dout=None, dstate=None, *, input_grad: bool = True):
        """Backpropagate through time; returns (dx, dstate0). See the module docstring for shapes.

        input_grad=False skips the input gradient (dx is then None), as PyTorch does for an
        input that does not require one; the parameter and state gradients are unchanged.
        """
        if self._cache is None:
            raise RnnlabError(f"{type(self).__name__}.backward() was called before forward(): run forward first")
        _, _, packing, T, N = self._cache
        Dn, H = self.num_directions, self.hidden_size
        dout_tm = None
        if dout is not None:
            dout = np.asarray(dout)
            want = (N, T, Dn * H) if self.batch_first else (T, N, Dn * H)
            if dout.shape != want:
                raise ShapeError(f"{type(self).__name__}.backward: dout should have shape {want}, got {dout.shape}")
            dout_tm = dout.transpose(1, 0, 2) if self.batch_first else dout
            if packing is not None:
                dout_tm = dout_tm[:, packing.order]
        dstates = None
        if dstate is not None:
            try:
                dstates = self._check_state(dstate, N)
            except ShapeError as exc:
                raise ShapeError(f"{type(self).__name__}.backward: dstate is wrong: {exc}") from None
            if packing is not None:
                dstates = tuple(s[:, packing.order] for s in dstates)
        dx, dstate0 = self._backward_tm(dout_tm, dstates, input_grad)
        if packing is not None:
            dstate0 = tuple(np.ascontiguousarray(s[:, packing.inverse]) for s in dstate0)
        if dx is not None:
            if packing is not None:
                dx = dx[:, packing.inverse]
            if self.batch_first:
                dx = dx.transpose(1, 0, 2).copy()
        return dx, self._pack_state(dstate0)

    def _backward_tm(self, dout_tm, dstates, input_grad: bool = True):
        """Time-major, sorted core of :meth:`backward`: returns (dx (T, N, D) or None, dstate0 tuple)."""
        caches, masks, packing, _, N = self._cache
        L, Dn, H = self.num_layers, self.num_directions, self.hidden_size
        sizes = None if packing is None else packing.batch_sizes
        dstate0 = tuple(np.empty((L * Dn, N, H), self.dtype) for _ in range(self.n_states))
        dlayer = dout_tm
        for layer in range(L - 1, -1, -1):
            if masks[layer] is not None and dlayer is not None:
                dlayer = dlayer * masks[layer]
            d_in = None
            for d in range(Dn):
                k = layer * Dn + d
                w, proj_cache, cell_cache = caches[k]
                dhs = None
                if dlayer is not None:
                    dhs = dlayer if Dn == 1 else dlayer[..., d * H : (d + 1) * H]
                    if d == 1:
                        dhs = reverse_time(dhs, packing)
                dfinal = (None, None) if dstates is None else tuple(s[k] for s in dstates)
                dproj, drec, dinit, dw_hh = self._run_backward(dhs, dfinal, cell_cache, w, sizes)
                for j, g in enumerate(dinit):
                    dstate0[j][k] = g
                dx = self._accumulate(layer, d, w, proj_cache, dproj, drec, dw_hh, input_grad or layer > 0)
                if dx is not None:
                    if d == 1:
                        dx = reverse_time(dx, packing)
                    d_in = dx if d_in is None else d_in + dx
            dlayer = d_in
        return dlayer, dstate0

    def _accumulate(self, layer, d, w: _Weights, proj_cache, dproj, drec, dw_hh, need_dx: bool = True):
        """Add this layer-direction's parameter gradients; return the input gradient (or None)."""
        names = self._names(layer, d)
        g = self.grads
        T, N, G = dproj.shape
        dp2 = dproj.reshape(T * N, G)
        kind = proj_cache[0]
        dx = None
        if kind == "table":
            _, embedding, ids = proj_cache
            E = embedding.params["weight"]
            dtable = scatter_add_rows(ids.reshape(-1), dp2, E.shape[0])  # (V, G*H)
            embedding.grads["weight"] += dtable @ w.w_ih
            dw_ih = dtable.T @ E
            db_ih = dtable.sum(axis=0)
        else:
            x2 = proj_cache[-1].reshape(T * N, -1)
            dw_ih = dp2.T @ x2
            db_ih = dp2.sum(axis=0)
            if kind == "tokens":
                embedding, ids = proj_cache[1], proj_cache[2]
                dx2 = dp2 @ w.w_ih
                embedding.grads["weight"] += scatter_add_rows(ids.reshape(-1), dx2, embedding.num_embeddings)
            elif need_dx:
                dx = (dp2 @ w.w_ih).reshape(T, N, -1)
        db_hh = db_ih if drec is dproj else drec.reshape(T * N, G).sum(axis=0)
        rows, scale = w.rows, w.scale
        for name, grad in zip(names, (dw_ih, dw_hh, db_ih, db_hh), strict=True):
            if name not in g:  # bias=False
                continue
            if scale is not None:
                grad = grad * (scale if grad.ndim == 1 else scale[:, None])
            if rows is None:
                g[name] += grad
            else:
                g[name][rows] += grad  # rows is a permutation: no repeated index
        return dx

    # -- cell hooks (subclasses) ---------------------------------------------------------------------
    def _new_buffers(self, T: int, N: int, packing):  # pragma: no cover - abstract
        raise NotImplementedError

    def _run(self, bufs, init_states, w: _Weights, sizes):  # pragma: no cover - abstract
        raise NotImplementedError

    def _run_backward(self, dhs, dfinal, cell_cache, w: _Weights, sizes):  # pragma: no cover - abstract
        raise NotImplementedError


class RNN(_Recurrent):
    """Elman recurrent layer (``torch.nn.RNN``): ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``.

    ``RNN(input_size, hidden_size, num_layers=1, *, nonlinearity="tanh", bias=True,
    batch_first=True, dropout=0.0, bidirectional=False, dtype=np.float32, rng=None)``;
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

    def _extra_args(self) -> str:
        return "" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity!r}"

    def _new_buffers(self, T, N, packing):
        hbuf = np.empty((T + 1, N, self.hidden_size), self.dtype)  # the projection goes in hbuf[1:]
        return hbuf[1:], hbuf

    def _run(self, bufs, init_states, w, sizes):
        _, hbuf = bufs
        hbuf[0] = 0.0 if init_states[0] is None else init_states[0]
        hs = rnn_recurrence_(hbuf, w.w_hh, self.nonlinearity, sizes)
        return hs, (hbuf,)

    def _cell_step(self, layer, x, prev):
        gi, gh = self._gate_products(layer, x, prev[0])
        gi += gh
        return (np.maximum(gi, 0.0, out=gi) if self.nonlinearity == "relu" else np.tanh(gi, out=gi),)

    def _run_backward(self, dhs, dfinal, cell_cache, w, sizes):
        (hbuf,) = cell_cache
        da, dh0, dw_hh = rnn_recurrence_backward(dhs, dfinal[0], hbuf, w.w_hh, self.nonlinearity, sizes)
        return da, da, (dh0,), dw_hh


class LSTM(_Recurrent):
    """Long short-term memory layer (``torch.nn.LSTM``), gates in PyTorch's order i, f, g, o.

    ``i, f, o = sigmoid(x W_i* + b_i* + h W_h* + b_h*)``, ``g = tanh(...)``,
    ``c_t = f * c_{t-1} + i * g``, ``h_t = o * tanh(c_t)``.

    ``LSTM(input_size, hidden_size, num_layers=1, *, bias=True, batch_first=True,
    dropout=0.0, bidirectional=False, dtype=np.float32, rng=None)``. The state is the pair
    ``(h, c)``, each (L*Dn, N, H); so is the state gradient. See the module docstring.

    Example::

        >>> import numpy as np
        >>> from rnnlab.nn import LSTM
        >>> lstm = LSTM(3, 5, num_layers=2, bidirectional=True, rng=0)
        >>> out, (h_n, c_n) = lstm.forward(np.ones((2, 4, 3), np.float32), lengths=[4, 2])
        >>> out.shape, h_n.shape, lstm.params["weight_hh_l1_reverse"].shape
        ((2, 4, 10), (4, 2, 5), (20, 5))
        >>> bool((out[1, 2:] == 0).all())  # past the second sequence's end
        True
    """

    cell, gates, n_states = "lstm", 4, 2

    def _new_buffers(self, T, N, packing):
        H = self.hidden_size
        gates = np.empty((T, N, 4 * H), self.dtype)
        alloc = np.empty if packing is None else np.zeros
        return gates, alloc((T + 1, N, H), self.dtype), alloc((T + 1, N, H), self.dtype)

    def _run(self, bufs, init_states, w, sizes):
        gates, hbuf, cbuf = bufs
        hbuf[0] = 0.0 if init_states[0] is None else init_states[0]
        cbuf[0] = 0.0 if init_states[1] is None else init_states[1]
        tanh_c = lstm_recurrence_(gates, hbuf, cbuf, w.w_hh, sizes)
        return hbuf[1:], (hbuf, cbuf, gates, tanh_c)

    def _cell_step(self, layer, x, prev):
        h, c = prev
        H = self.hidden_size
        a, gh = self._gate_products(layer, x, h)
        a += gh
        g = np.tanh(a[:, 2 * H : 3 * H])
        _sigmoid_(a[:, : 2 * H])  # i, f
        o = _sigmoid_(a[:, 3 * H :])
        c_new = a[:, H : 2 * H] * c
        c_new += a[:, :H] * g
        return o * np.tanh(c_new), c_new

    def _run_backward(self, dhs, dfinal, cell_cache, w, sizes):
        hbuf, cbuf, gates, tanh_c = cell_cache
        dgates, dh0, dc0, dw_hh = lstm_recurrence_backward(
            dhs, dfinal[0], dfinal[1], gates, hbuf, cbuf, tanh_c, w.w_hh, sizes
        )
        return dgates, dgates, (dh0, dc0), dw_hh


class GRU(_Recurrent):
    """Gated recurrent unit layer (``torch.nn.GRU``), gates in PyTorch's order r, z, n.

    ``r, z = sigmoid(...)``, ``n = tanh(x W_in + b_in + r * (h W_hn + b_hn))``,
    ``h_t = (1 - z) * n + z * h_{t-1}`` (the reset gate applies after the recurrent product).

    ``GRU(input_size, hidden_size, num_layers=1, *, bias=True, batch_first=True,
    dropout=0.0, bidirectional=False, dtype=np.float32, rng=None)``. See the module docstring.

    Example::

        >>> import numpy as np
        >>> from rnnlab.nn import GRU
        >>> gru = GRU(3, 5, rng=0)
        >>> out, h_n = gru.forward(np.ones((2, 4, 3), np.float32))
        >>> out.shape, h_n.shape, gru.params["weight_ih_l0"].shape
        ((2, 4, 5), (1, 2, 5), (15, 3))
    """

    cell, gates = "gru", 3

    def _new_buffers(self, T, N, packing):
        H = self.hidden_size
        alloc = np.empty if packing is None else np.zeros  # padding rows stay zero, never uninitialised
        return np.empty((T, N, 3 * H), self.dtype), alloc((T + 1, N, H), self.dtype), alloc((T, N, H), self.dtype)

    def _run(self, bufs, init_states, w, sizes):
        gates, hbuf, rec_n = bufs
        hbuf[0] = 0.0 if init_states[0] is None else init_states[0]
        gru_recurrence_(gates, hbuf, rec_n, w.w_hh, w.bias_hn, sizes)
        return hbuf[1:], (hbuf, gates, rec_n)

    def _cell_step(self, layer, x, prev):
        (h,) = prev
        H = self.hidden_size
        gi, gh = self._gate_products(layer, x, h)
        rz = gi[:, : 2 * H]
        rz += gh[:, : 2 * H]
        _sigmoid_(rz)
        n = gi[:, 2 * H :]
        n += rz[:, :H] * gh[:, 2 * H :]  # n = tanh(x W_in + b_in + r * (h W_hn + b_hn))
        np.tanh(n, out=n)
        h_new = h - n
        h_new *= rz[:, H:]
        h_new += n
        return (h_new,)

    def _run_backward(self, dhs, dfinal, cell_cache, w, sizes):
        hbuf, gates, rec_n = cell_cache
        dgates, drec, dh0, dw_hh = gru_recurrence_backward(dhs, dfinal[0], gates, hbuf, rec_n, w.w_hh, sizes)
        return dgates, drec, (dh0,), dw_hh


CELL_TYPES = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
