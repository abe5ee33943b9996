"""The machinery RNN, LSTM and GRU share: stacking, both directions, lengths, both dropouts, states.

:class:`Recurrent` drives a cell's kernel (rnnlab.functional) over layers and directions and
leaves three hooks to each cell (rnnlab.nn.recurrent): ``new_buffers``, ``run`` and
``run_backward``, plus ``cell_step`` for streaming. Its public interface is batch-first
(``forward`` / ``backward``) or time-major (``forward_time_major`` / ``backward_time_major``,
which a model uses to skip two transposes and to feed token ids, :class:`~rnnlab.nn.TokenInput`).
Shapes and parameter names: see rnnlab.nn.recurrent.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from rnnlab._checks import check_int, check_memory, check_probability
from rnnlab.errors import ConfigError, DataError, RnnlabError, ShapeError
from rnnlab.functional.recurrent import Packing, reverse_time
from rnnlab.nn import init
from rnnlab.nn.inputs import SequenceInput, TokenInput
from rnnlab.nn.module import Module, resolve_dtype
from rnnlab.nn.recurrent_cache import DirectionCache, ForwardCache, dropout_mask
from rnnlab.nn.recurrent_params import (
    KernelWeights,
    check_layer_norm,
    check_proj_size,
    kernel_weights,
    param_name,
    parameter_names,
    parameter_shapes,
)
from rnnlab.nn.recurrent_state import check_state


class Recurrent(Module):
    """Base class of RNN, LSTM and GRU (see rnnlab.nn.recurrent for the arguments and shapes)."""

    cell = ""  # "rnn", "lstm", "gru"
    gates = 1
    n_states = 1  # 2 for LSTM: (h, c)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, *, bias: bool = True,
                 batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 recurrent_dropout: float = 0.0, layer_norm: bool = False, dtype=np.float32, rng=None):
        super().__init__()
        self.input_size = check_int("input_size", input_size)
        self.hidden_size = check_int("hidden_size", hidden_size)
        self.proj_size = check_proj_size(self.cell, self.hidden_size, proj_size)
        self.layer_norm = check_layer_norm(self.cell, layer_norm)
        self.num_layers = check_int("num_layers", num_layers)
        self.dropout = check_probability("dropout", dropout)
        self.recurrent_dropout = check_probability("recurrent_dropout", recurrent_dropout)
        if dropout > 0 and self.num_layers == 1:
            warnings.warn("dropout applies between stacked layers; with num_layers=1 it has no effect", UserWarning,
                          stacklevel=2)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.bidirectional = bool(bidirectional)
        dt = resolve_dtype(dtype)
        self.rng = init.as_generator(rng)  # initial weights, then dropout masks
        shapes = parameter_shapes(self.cell, self.input_size, self.hidden_size, self.num_layers, self.bias,
                                  self.bidirectional, self.proj_size, self.layer_norm)
        count = sum(math.prod(shape) for shape in shapes.values())
        # parameters, gradients, the optimizer's two buffers, a backup and the kernels' per-call copies
        check_memory(f"{type(self).__name__}({self.input_size}, {self.hidden_size}, {self.num_layers} layer(s))",
                     8 * count * dt.itemsize, "lower hidden_size (--hidden-size) or num_layers (--num-layers)")
        for name, shape in shapes.items():
            self._add_param(name, np.empty(shape, dt))
        init.recurrent_default_(self.params, self.hidden_size, self.rng)
        self._cache: ForwardCache | None = None

    # -- description -------------------------------------------------------------------------
    @property
    def num_directions(self) -> int:
        """2 for a bidirectional layer, else 1."""
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """The size of h, each direction's output: ``proj_size`` where an LSTM projects, else ``hidden_size``."""
        return self.proj_size or self.hidden_size

    @property
    def recurrent_masks(self) -> tuple[np.ndarray, ...]:
        """The recurrent dropout masks of the last forward pass in training mode, one (N, H) array (P
        with a projection) per layer and direction (index ``layer * Dn + d``), rows in the caller's
        order: step t's product reads ``(h_{t-1} * mask) W_hh^T``. Empty without recurrent dropout."""
        if self._cache is None or self._cache.directions[0].mask is None:
            return ()
        packing = self._cache.packing
        return tuple((m if packing is None else m[packing.inverse]).copy() for m in
                     (direction.mask for direction in self._cache.directions))

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        s += self.cell_options_repr()
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.layer_norm:
            s += ", layer_norm=True"
        if not self.bias:
            s += ", bias=False"
        if not self.batch_first:
            s += ", batch_first=False"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.recurrent_dropout:
            s += f", recurrent_dropout={self.recurrent_dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    def summary(self) -> str:
        """A short description for a model's one-line summary, e.g. ``LSTM(32, 50, 2 layers, bidirectional)``
        (an RNN also names its nonlinearity)."""
        inner = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers > 1:
            inner += f", {self.num_layers} layers" + (f", dropout {self.dropout:g}" if self.dropout else "")
        if self.cell == "rnn":
            inner += f", {self.nonlinearity}"
        if self.proj_size:
            inner += f", projected to {self.proj_size}"
        if self.layer_norm:
            inner += ", layer norm"
        if self.recurrent_dropout:
            inner += f", recurrent dropout {self.recurrent_dropout:g}"
        if self.bidirectional:
            inner += ", bidirectional"
        return f"{self.cell.upper()}({inner})"

    def cell_options_repr(self) -> str:
        """The cell's own constructor options for ``repr`` (e.g. the RNN's nonlinearity)."""
        return ""

    def state_shapes(self, N: int) -> tuple[tuple[int, int, int], ...]:
        """The shapes of the state's parts for a batch of N: h (L*Dn, N, H) (P with a projection),
        and the LSTM's cell state c (L*Dn, N, H)."""
        LD = self.num_layers * self.num_directions
        return ((LD, N, self.output_size), (LD, N, self.hidden_size))[: self.n_states]

    # -- states ----------------------------------------------------------------------------------
    def state_parts(self, state, N: int) -> tuple | None:
        """A user's state -> a tuple of arrays of :meth:`state_shapes` in the layer's dtype (h, and c
        for an LSTM), or None for None. A ShapeError says what the state should be."""
        return None if state is None else check_state(type(self).__name__, state, self.state_shapes(N), self.dtype)

    def state_from_parts(self, parts: tuple):
        """The inverse of :meth:`state_parts`: ``h`` alone, or the pair ``(h, c)`` for an LSTM."""
        return tuple(parts) if self.n_states == 2 else parts[0]

    # -- forward ---------------------------------------------------------------------------------
    def forward(self, x, state=None, lengths=None):
        """Run the layer over whole (padded) sequences; see rnnlab.nn.recurrent for shapes."""
        x = np.asarray(x)
        if x.dtype.kind not in "fiub":
            raise DataError(f"{type(self).__name__} expects numbers, got an array of dtype {x.dtype}")
        layout = "(N, T, D)" if self.batch_first else "(T, N, D)"
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ShapeError(f"{type(self).__name__} expects input of shape {layout} with D = input_size = "
                             f"{self.input_size}, got {x.shape}")
        if 0 in x.shape[:2]:
            raise ShapeError(f"{type(self).__name__} needs at least one sequence of at least one step, got {x.shape}")
        out, state = self.forward_time_major(SequenceInput(x.transpose(1, 0, 2) if self.batch_first else x), state,
                                             lengths)
        return (out.transpose(1, 0, 2).copy() if self.batch_first else out), state

    def forward_time_major(self, inputs, state=None, lengths=None):
        """The layer over time-major inputs, whatever ``batch_first`` says.

        inputs: a :class:`~rnnlab.nn.SequenceInput` (T, N, D), a (T, N, D) array, or a
        :class:`~rnnlab.nn.TokenInput` (token ids (T, N) read through an Embedding of size D);
        state and lengths: as for :meth:`forward`. Returns ``(out, state)``: out (T, N, Dn*H)
        and the final state (P for H with a projection). :meth:`backward_time_major` is its backward pass.
        """
        if not isinstance(inputs, (SequenceInput, TokenInput)):
            inputs = SequenceInput(inputs)
        if inputs.features != self.input_size:
            raise ShapeError(f"{type(self).__name__} expects inputs of size input_size = {self.input_size}, got "
                             f"{inputs.features}")
        T, N = inputs.steps_and_batch
        # what the pass keeps for backward: per layer and direction, the gates, states and output (a
        # layer norm adds both normalised products and the normalised cell state)
        per_unit = self.gates + self.n_states + 1 + (2 * self.gates + 2 if self.layer_norm else 0)
        kept = T * N * self.num_layers * self.num_directions * self.hidden_size * per_unit
        check_memory(f"{type(self).__name__} over {N:,} sequence(s) of {T:,} steps", kept * self.dtype.itemsize,
                     "lower the batch size, the sequence length or hidden_size")
        packing = None if lengths is None else Packing.from_lengths(lengths, N, T)
        states = None if state is None else self.state_parts(state, N)
        if packing is not None and states is not None:
            states = tuple(s[:, packing.order] for s in states)
        dt = self.dtype
        out, finals = self._run_layers(inputs.prepared(dt, packing, type(self).__name__), states, packing, dt)
        if packing is not None:
            out = out[:, packing.inverse]
            finals = tuple(np.ascontiguousarray(f[:, packing.inverse]) for f in finals)
        return out, self.state_from_parts(finals)

    def _run_layers(self, inputs, states, packing, dt):
        """The sorted core: every layer and direction in turn. Returns (out (T, N, Dn*H), finals tuple)."""
        T, N = inputs.steps_and_batch
        L, Dn, Ho = self.num_layers, self.num_directions, self.output_size
        sizes = None if packing is None else packing.batch_sizes
        finals = tuple(np.empty(shape, dt) for shape in self.state_shapes(N))
        directions, masks = [], []
        for layer in range(L):
            out = None
            for d in range(Dn):
                k = layer * Dn + d
                w = kernel_weights(self, layer, d)
                bufs = self.new_buffers(T, N, packing)
                source = inputs if d == 0 else inputs.reversed(packing)
                projection = source.project(w.w_ih, bufs[0])  # the recurrence adds w.bias
                if packing is not None:
                    bufs[0][packing.pad] = 0.0
                rmask = None  # one mask per sequence for every step (Gal and Ghahramani), in sorted order
                if self.recurrent_dropout and self.training:
                    rmask = dropout_mask(self.rng, (N, Ho), self.recurrent_dropout, dt)
                    rmask = rmask if packing is None else rmask[packing.order]
                hs, last_bufs, cell_cache = self.run(bufs, None if states is None else tuple(s[k] for s in states),
                                                     w, sizes, rmask)
                for j, buf in enumerate(last_bufs):  # hbuf (and cbuf): each sequence's own last step
                    finals[j][k] = buf[T] if packing is None else packing.last(buf)
                if d == 1:
                    hs = reverse_time(hs, packing)
                if Dn == 1:
                    out = hs
                else:
                    if out is None:
                        out = np.empty((T, N, Dn * Ho), dt)
                    out[..., d * Ho : (d + 1) * Ho] = hs
                directions.append(DirectionCache(w, source, projection, cell_cache, rmask))
            mask = None
            if self.dropout and self.training and layer < L - 1:
                mask = dropout_mask(self.rng, out.shape, self.dropout, dt)
                out = out * mask
            masks.append(mask)
            if layer < L - 1:
                inputs = SequenceInput(out)
        self._cache = ForwardCache(directions, masks, packing, T, N)
        return out, finals

    # -- streaming -----------------------------------------------------------------------------------
    def step(self, x, state=None):
        """One time step for streaming inference: the next input, the carried state, no gradients.

        x: (N, D), one step of N sequences; state: as for :meth:`forward`, or None (zeros).
        Returns ``(out, state)``: out (N, H) (P with a projection), the last layer's output, and the new state.
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
        states = self.state_parts(state, N)
        if states is None:
            states = tuple(np.zeros(shape, self.dtype) for shape in self.state_shapes(N))
        # lists, not tuples of generators: at batch 1 a step is short enough for the difference to show
        new = [np.empty_like(s) for s in states]
        inp = x.astype(self.dtype, copy=False)
        for layer in range(self.num_layers):
            parts = [s[layer] for s in new]  # the cell writes straight into the new state
            self.cell_step(layer, inp, [s[layer] for s in states], parts)
            inp = parts[0]
        return inp.copy(), self.state_from_parts(new)

    def run_one_step(self, layer: int, x: np.ndarray, prev: tuple, new: tuple) -> None:
        """One streaming step through the whole-sequence kernel (T = 1), for the cells with no
        one-step kernel of their own (the layer-normalised ones): writes the new state parts into ``new``."""
        w = kernel_weights(self, layer, 0)
        bufs = self.new_buffers(1, x.shape[0], None)
        SequenceInput(x[None]).project(w.w_ih, bufs[0])
        _, states, _ = self.run(bufs, prev, w, None, None)
        for part, s in zip(new, states, strict=True):
            part[...] = s[1]

    # -- backward ----------------------------------------------------------------------------------
    def backward(self, dout=None, dstate=None, *, input_grad: bool = True):
        """Backpropagate through time; returns (dx, dstate0). See rnnlab.nn.recurrent for shapes.

        input_grad=False skips the input gradient (dx is then None), as PyTorch does for an
        input that does not require one; the parameter and state gradients are unchanged.
        """
        if dout is not None and self._cache is not None:
            dout = np.asarray(dout)
            T, N, width = self._cache.steps, self._cache.batch, self.num_directions * self.output_size
            want = (N, T, width) if self.batch_first else (T, N, width)
            if dout.shape != want:
                raise ShapeError(f"{type(self).__name__}.backward: dout should have shape {want}, got {dout.shape}")
            if self.batch_first:
                dout = dout.transpose(1, 0, 2)
        dx, dstate0 = self.backward_time_major(dout, dstate, input_grad=input_grad)
        if dx is not None and self.batch_first:
            dx = dx.transpose(1, 0, 2).copy()
        return dx, dstate0

    def backward_time_major(self, dout=None, dstate=None, *, input_grad: bool = True):
        """Backward of :meth:`forward_time_major`: dout (T, N, Dn*H) or None, dstate like the
        final state or None. Adds every parameter gradient into ``grads`` (and, for a
        :class:`~rnnlab.nn.TokenInput`, the embedding's into its ``grads``). Returns
        ``(dx (T, N, D) or None, dstate0)``; dx is None for token inputs and with ``input_grad=False``."""
        if self._cache is None:
            raise RnnlabError(f"{type(self).__name__}.backward() was called before forward(): run forward first")
        packing, T, N = self._cache.packing, self._cache.steps, self._cache.batch
        Dn, H = self.num_directions, self.output_size
        if dout is not None:
            dout = np.asarray(dout)
            if dout.shape != (T, N, Dn * H):
                raise ShapeError(f"{type(self).__name__}.backward_time_major: dout should have shape "
                                 f"{(T, N, Dn * H)}, got {dout.shape}")
            if packing is not None:
                dout = dout[:, packing.order]
        try:
            dstates = None if dstate is None else self.state_parts(dstate, N)
        except ShapeError as exc:
            raise ShapeError(f"{type(self).__name__}.backward: dstate is wrong: {exc}") from None
        if packing is not None and dstates is not None:
            dstates = tuple(s[:, packing.order] for s in dstates)
        dx, dstate0 = self._backward_layers(dout, dstates, input_grad)
        if packing is not None:
            dstate0 = tuple(np.ascontiguousarray(s[:, packing.inverse]) for s in dstate0)
            if dx is not None:
                dx = dx[:, packing.inverse]
        return dx, self.state_from_parts(dstate0)

    def _backward_layers(self, dout, dstates, input_grad: bool):
        """The sorted core of the backward pass: returns (dx (T, N, D) or None, dstate0 tuple)."""
        cache = self._cache
        L, Dn, H = self.num_layers, self.num_directions, self.output_size
        sizes = None if cache.packing is None else cache.packing.batch_sizes
        dstate0 = tuple(np.empty(shape, self.dtype) for shape in self.state_shapes(cache.batch))
        dlayer = dout
        for layer in range(L - 1, -1, -1):
            if cache.dropout_masks[layer] is not None and dlayer is not None:
                dlayer = dlayer * cache.dropout_masks[layer]
            d_in = None
            for d in range(Dn):
                k = layer * Dn + d
                direction = cache.directions[k]
                dhs = None
                if dlayer is not None:
                    dhs = dlayer if Dn == 1 else dlayer[..., d * H : (d + 1) * H]
                    if d == 1:
                        dhs = reverse_time(dhs, cache.packing)
                dfinal = None if dstates is None else tuple(s[k] for s in dstates)
                dproj, drec, dinit, dw_hh, extra = self.run_backward(dhs, dfinal, direction.cell, direction.weights,
                                                                     sizes, direction.mask)
                for j, g in enumerate(dinit):
                    dstate0[j][k] = g
                dw_ih, db_ih, dx = direction.source.project_backward(direction.projection, dproj,
                                                                     input_grad or layer > 0)
                # a layer-normalised cell's biases follow the normalisation: its kernel gives their gradients
                db_ih, db_hh = extra.pop("bias_ih", db_ih), extra.pop("bias_hh", None)
                if db_hh is None:
                    db_hh = db_ih if drec is dproj else drec.reshape(-1, drec.shape[-1]).sum(axis=0)
                direction.weights.add_gradients(parameter_names(layer, d), (dw_ih, dw_hh, db_ih, db_hh), self.grads)
                for kind, grad in extra.items():  # in PyTorch's form already (the projection, the gains)
                    self.grads[param_name(kind, layer, d)] += grad
                if dx is not None:
                    if d == 1:
                        dx = reverse_time(dx, cache.packing)
                    d_in = dx if d_in is None else d_in + dx
            dlayer = d_in
        return dlayer, dstate0

    # -- cell hooks (rnnlab.nn.recurrent) ----------------------------------------------------------
    def new_buffers(self, T: int, N: int, packing) -> tuple:  # pragma: no cover - abstract
        """The kernel's buffers for one layer-direction; the first is the (T, N, G*H) projection's."""
        raise NotImplementedError

    def run(self, bufs, init_states, w: KernelWeights, sizes, mask):  # pragma: no cover - abstract
        """Run the kernel (mask: recurrent dropout (N, H), or None): returns ``(outputs (T, N, H),
        state buffers (T + 1, N, H), cell cache)``."""
        raise NotImplementedError

    def run_backward(self, dhs, dfinal, cell_cache, w: KernelWeights, sizes, mask):  # pragma: no cover - abstract
        """The kernel's backward: returns ``(dproj, drec, dinit states, dW_hh, extra)``: dproj at the input
        projection, drec at the recurrent product with its bias (the bias's gradient per position),
        dW_hh in internal form, extra a dict of more gradients by kind (:func:`param_name`) in
        PyTorch's form: an LSTM's ``weight_hr``, a layer norm's gains and biases."""
        raise NotImplementedError

    def cell_step(self, layer: int, x: np.ndarray, prev: tuple, new: tuple) -> None:  # pragma: no cover - abstract
        """One streaming step of one layer from PyTorch's parameters: x (N, D_layer), prev the layer's
        state parts (h, and c for an LSTM); writes the new ones into ``new`` (arrays of the same shapes)."""
        raise NotImplementedError
