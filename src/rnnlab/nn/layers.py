"""Layers with parameters: Embedding, Linear and the recurrent RNN.

Dimension letters: minibatch N, sequence length T, input size D, hidden size H,
vocabulary size V, embedding size E.

Every layer follows one contract (docs/architecture.md):

- ``forward`` computes the output and keeps what ``backward`` needs (the cache of the
  last forward call);
- ``backward`` takes the gradient of the loss with respect to the outputs, **adds** the
  parameter gradients into ``layer.grads`` and returns the input gradient(s);
- parameters live in ``layer.params`` under PyTorch's names and shapes.
"""

from __future__ import annotations

import numpy as np

from rnnlab.errors import ConfigError, DataError, RnnlabError, ShapeError
from rnnlab.functional.embedding import scatter_add_rows
from rnnlab.functional.recurrent import NONLINEARITIES, rnn_recurrence_, rnn_recurrence_backward
from rnnlab.nn import init
from rnnlab.nn.module import Module, resolve_dtype


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} should be a positive integer, got {value!r}")
    return int(value)


def _no_cache(layer: Module):
    raise RnnlabError(f"{type(layer).__name__}.backward() was called before forward(): run forward first")


class Embedding(Module):
    """A lookup table: token ids -> vectors (``torch.nn.Embedding``).

    Parameters: ``weight`` (V, E), initialised N(0, 1) as in PyTorch.

    forward(ids): ids of any shape, e.g. (N, T), integers in 0..V-1 -> (N, T, E).
    backward(dout): dout (N, T, E); scatter-adds into ``grads["weight"]``; returns None
    (token ids have no gradient).

    Example::

        >>> import numpy as np
        >>> from rnnlab.nn import Embedding
        >>> emb = Embedding(26, 8, rng=0)
        >>> emb.forward(np.array([[0, 1, 2]])).shape
        (1, 3, 8)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, *, dtype=np.float32, rng=None):
        super().__init__()
        self.num_embeddings = _positive_int("num_embeddings", num_embeddings)
        self.embedding_dim = _positive_int("embedding_dim", embedding_dim)
        dt = resolve_dtype(dtype)
        self._add_param("weight", np.empty((self.num_embeddings, self.embedding_dim), dt))
        init.embedding_default_(self.params["weight"], init.as_generator(rng))
        self._ids = None

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"

    def forward(self, ids) -> np.ndarray:
        """Look up the vectors of ``ids`` (any shape, integers in 0..V-1) -> (*ids.shape, E)."""
        ids = np.asarray(ids)
        if ids.dtype.kind not in "iu":
            raise DataError(f"Embedding expects integer token ids, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            raise DataError(
                f"token ids should be in 0..{self.num_embeddings - 1} for an Embedding of "
                f"{self.num_embeddings} entries, got values from {ids.min()} to {ids.max()}"
            )
        return self._forward(ids)

    def _forward(self, ids: np.ndarray) -> np.ndarray:
        self._ids = ids
        return np.take(self.params["weight"], ids, axis=0)

    def backward(self, dout) -> None:
        """Accumulate d loss / d weight from ``dout`` of shape (*ids.shape, E)."""
        if self._ids is None:
            _no_cache(self)
        ids = self._ids.reshape(-1)
        E = self.embedding_dim
        dout = np.asarray(dout)
        if dout.shape != (*self._ids.shape, E):
            raise ShapeError(f"Embedding.backward: dout should have shape {(*self._ids.shape, E)}, got {dout.shape}")
        self.grads["weight"] += scatter_add_rows(ids, dout.reshape(-1, E), self.num_embeddings)
        return None


class Linear(Module):
    """An affine map applied to the last axis: ``y = x W^T + b`` (``torch.nn.Linear``).

    Parameters: ``weight`` (out_features, in_features), ``bias`` (out_features,),
    initialised U(-1/sqrt(in), 1/sqrt(in)) as in PyTorch.

    forward(x): (..., in_features) -> (..., out_features); applied at every time step of
    an (N, T, D) input with a single matrix product.
    backward(dout): (..., out_features) -> dx (..., in_features).
    """

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True, dtype=np.float32, rng=None):
        super().__init__()
        self.in_features = _positive_int("in_features", in_features)
        self.out_features = _positive_int("out_features", out_features)
        dt = resolve_dtype(dtype)
        self._add_param("weight", np.empty((self.out_features, self.in_features), dt))
        if bias:
            self._add_param("bias", np.empty(self.out_features, dt))
        init.linear_default_(self.params["weight"], self.params.get("bias"), init.as_generator(rng))
        self._x = None

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}" + ("" if "bias" in self.params else ", bias=False")

    def forward(self, x) -> np.ndarray:
        """x (..., in_features) -> (..., out_features)."""
        x = np.asarray(x, dtype=self.params["weight"].dtype)
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ShapeError(f"Linear expects inputs of shape (..., {self.in_features}), got {x.shape}")
        return self._forward(x)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        y = x.reshape(-1, self.in_features) @ self.params["weight"].T
        if "bias" in self.params:
            y += self.params["bias"]
        return y.reshape((*x.shape[:-1], self.out_features))

    def backward(self, dout) -> np.ndarray:
        """dout (..., out_features) -> dx (..., in_features); accumulates weight/bias grads."""
        if self._x is None:
            _no_cache(self)
        x = self._x
        dout = np.asarray(dout)
        if dout.shape != (*x.shape[:-1], self.out_features):
            raise ShapeError(
                f"Linear.backward: dout should have shape {(*x.shape[:-1], self.out_features)}, got {dout.shape}"
            )
        d2 = dout.reshape(-1, self.out_features)
        self.grads["weight"] += d2.T @ x.reshape(-1, self.in_features)
        if "bias" in self.params:
            self.grads["bias"] += d2.sum(axis=0)
        return (d2 @ self.params["weight"]).reshape(x.shape)

    def _forward_cm(self, x2: np.ndarray) -> np.ndarray:
        """Class-major fast path for a loss: x2 (M, in_features) -> (out_features, M)."""
        self._x = x2
        y = self.params["weight"] @ x2.T
        if "bias" in self.params:
            y += self.params["bias"][:, None]
        return y

    def _backward_cm(self, dout_cm: np.ndarray) -> np.ndarray:
        """Backward of :meth:`_forward_cm`: dout_cm (out_features, M) -> dx2 (M, in_features)."""
        self.grads["weight"] += dout_cm @ self._x
        if "bias" in self.params:
            self.grads["bias"] += dout_cm.sum(axis=1)
        return dout_cm.T @ self.params["weight"]


class RNN(Module):
    """Elman recurrent layer (``torch.nn.RNN``): ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``.

    Arguments after ``hidden_size`` are keyword-only.

    input_size: D; hidden_size: H; nonlinearity: "tanh" (default) or "relu";
    bias: include ``bias_ih_l0`` / ``bias_hh_l0``; batch_first: inputs and outputs are
    (N, T, .) when True (the default here, unlike PyTorch), (T, N, .) when False;
    dtype: float32 (default) or float64; rng: seed or ``np.random.Generator`` for the
    initial weights.

    Parameters, exactly PyTorch's names and shapes, initialised U(-1/sqrt(H), 1/sqrt(H)):
    ``weight_ih_l0`` (H, D), ``weight_hh_l0`` (H, H), ``bias_ih_l0`` (H,), ``bias_hh_l0`` (H,).

    ``out, h_n = layer.forward(x, state=h0)``: x (N, T, D), h0 (1, N, H) or None (zeros)
    -> out (N, T, H), the hidden state at every step; h_n (1, N, H), the last one.

    ``dx, dh0 = layer.backward(dout, dstate=dh_n)``: dout (N, T, H) or None, dh_n
    (1, N, H) or None -> dx (N, T, D), dh0 (1, N, H); the parameter gradients are added
    into ``layer.grads``.

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

    num_layers = 1
    bidirectional = False

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = True,
        dtype=np.float32,
        rng=None,
    ):
        super().__init__()
        self.input_size = _positive_int("input_size", input_size)
        self.hidden_size = _positive_int("hidden_size", hidden_size)
        if nonlinearity not in NONLINEARITIES:
            raise ConfigError(f"nonlinearity should be one of {', '.join(NONLINEARITIES)}, got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        dt = resolve_dtype(dtype)
        H, D = self.hidden_size, self.input_size
        self._add_param("weight_ih_l0", np.empty((H, D), dt))
        self._add_param("weight_hh_l0", np.empty((H, H), dt))
        if self.bias:
            self._add_param("bias_ih_l0", np.empty(H, dt))
            self._add_param("bias_hh_l0", np.empty(H, dt))
        init.recurrent_default_(self.params, H, init.as_generator(rng))
        self._cache = None

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        if not self.bias:
            s += ", bias=False"
        if not self.batch_first:
            s += ", batch_first=False"
        return s

    def forward(self, x, state=None):
        """Run the layer over whole sequences; see the class docstring for shapes."""
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[2] != self.input_size:
            layout = "(N, T, D)" if self.batch_first else "(T, N, D)"
            raise ShapeError(
                f"RNN expects input of shape {layout} with D = input_size = {self.input_size}, got {x.shape}"
            )
        if 0 in x.shape[:2]:
            raise ShapeError(f"RNN needs at least one sequence of at least one step, got input of shape {x.shape}")
        # one contiguous time-major copy (when needed): the projection and dW_ih then use views
        dt = self.params["weight_hh_l0"].dtype
        xt = np.ascontiguousarray(x.transpose(1, 0, 2) if self.batch_first else x, dtype=dt)
        N = xt.shape[1]
        h0 = None
        if state is not None:
            state = np.asarray(state)
            if state.shape != (1, N, self.hidden_size):
                raise ShapeError(f"RNN initial state should have shape (1, {N}, {self.hidden_size}), got {state.shape}")
            h0 = state[0]
        return self._forward(xt, h0)

    def _bias(self):
        p = self.params
        return p["bias_ih_l0"] + p["bias_hh_l0"] if self.bias else None

    def _new_buffer(self, T: int, N: int, h0) -> np.ndarray:
        hbuf = np.empty((T + 1, N, self.hidden_size), self.params["weight_hh_l0"].dtype)
        hbuf[0] = 0.0 if h0 is None else h0
        return hbuf

    def _finish_forward(self, hbuf: np.ndarray, cache: tuple):
        hs = rnn_recurrence_(hbuf, self.params["weight_hh_l0"], self.nonlinearity)
        self._cache = (hbuf, *cache)
        h_n = hs[-1:].copy()
        if self.batch_first:
            return hs.transpose(1, 0, 2).copy(), h_n
        return hs, h_n

    def _project_into(self, hbuf: np.ndarray, x: np.ndarray) -> None:
        """The input projection of every step in one product, biases folded in: hbuf[1:] = x W_ih^T + b."""
        T, N = x.shape[:2]
        np.matmul(x.reshape(T * N, -1), self.params["weight_ih_l0"].T, out=hbuf[1:].reshape(T * N, -1))
        bias = self._bias()
        if bias is not None:
            hbuf[1:] += bias

    def _forward(self, xt: np.ndarray, h0):
        """Time-major fast path: xt (T, N, D) of the layer's dtype, h0 (N, H) or None."""
        hbuf = self._new_buffer(xt.shape[0], xt.shape[1], h0)
        self._project_into(hbuf, xt)
        return self._finish_forward(hbuf, ("input", xt))

    def _forward_tokens(self, embedding: Embedding, ids: np.ndarray, h0=None):
        """Fast path for token inputs: ``forward(embedding(ids))``, time-major, without the embedding output.

        ids: (T, N) valid token ids; h0: (N, H) or None. When the vocabulary is no larger
        than the batch (T * N), the input projection is gathered from the table
        ``E W_ih^T + b`` (V, H) instead of multiplying every embedded token by W_ih: the
        same linear map, computed once per token instead of once per position.
        ``backward`` then adds the embedding's gradient into ``embedding.grads`` and returns
        no input gradient.
        """
        T, N = ids.shape
        hbuf = self._new_buffer(T, N, h0)
        weight = embedding.params["weight"]
        if weight.shape[0] <= T * N:
            table = weight @ self.params["weight_ih_l0"].T  # (V, H)
            bias = self._bias()
            if bias is not None:
                table += bias
            np.take(table, ids, axis=0, out=hbuf[1:], mode="clip")
            return self._finish_forward(hbuf, ("table", ids, embedding))
        x = np.take(weight, ids, axis=0, mode="clip")  # (T, N, E)
        self._project_into(hbuf, x)
        return self._finish_forward(hbuf, ("tokens", ids, embedding, x))

    def backward(self, dout=None, dstate=None):
        """Backpropagate through time; see the class docstring for shapes."""
        if self._cache is None:
            _no_cache(self)
        hbuf = self._cache[0]
        T, N, H = hbuf.shape[0] - 1, hbuf.shape[1], hbuf.shape[2]
        dhs = None
        if dout is not None:
            dout = np.asarray(dout)
            want = (N, T, H) if self.batch_first else (T, N, H)
            if dout.shape != want:
                raise ShapeError(f"RNN.backward: dout should have shape {want}, got {dout.shape}")
            dhs = dout.transpose(1, 0, 2) if self.batch_first else dout
        dh_n = None
        if dstate is not None:
            dstate = np.asarray(dstate)
            if dstate.shape != (1, N, H):
                raise ShapeError(f"RNN.backward: dstate should have shape (1, {N}, {H}), got {dstate.shape}")
            dh_n = dstate[0]
        dx, dh0 = self._backward(dhs, dh_n)
        if self.batch_first and dx is not None:
            dx = dx.transpose(1, 0, 2).copy()
        return dx, dh0[None]

    def _backward(self, dhs, dh_n):
        """Time-major fast path: dhs (T, N, H) or None, dh_n (N, H) or None -> dx (T, N, D) or None, dh0 (N, H)."""
        hbuf, mode, *rest = self._cache
        p, g = self.params, self.grads
        T, N, H = hbuf.shape[0] - 1, hbuf.shape[1], hbuf.shape[2]
        da, dh0, dw_hh = rnn_recurrence_backward(dhs, dh_n, hbuf, p["weight_hh_l0"], self.nonlinearity)
        g["weight_hh_l0"] += dw_hh
        da2 = da.reshape(T * N, H)  # also the gradient of every input projection
        dx = None
        if mode == "table":  # gradient of the table E W_ih^T + b, then of E, W_ih and b
            ids, embedding = rest
            dtable = scatter_add_rows(ids.reshape(-1), da2, embedding.num_embeddings)  # (V, H)
            embedding.grads["weight"] += dtable @ p["weight_ih_l0"]
            g["weight_ih_l0"] += dtable.T @ embedding.params["weight"]
            db = dtable.sum(axis=0)
        else:
            x = rest[0] if mode == "input" else rest[2]
            x2 = x.reshape(T * N, -1)
            g["weight_ih_l0"] += da2.T @ x2
            db = da2.sum(axis=0)
            dx2 = da2 @ p["weight_ih_l0"]
            if mode == "input":
                dx = dx2.reshape(T, N, -1)
            else:
                ids, embedding = rest[0], rest[1]
                embedding.grads["weight"] += scatter_add_rows(ids.reshape(-1), dx2, embedding.num_embeddings)
        if self.bias:
            g["bias_ih_l0"] += db
            g["bias_hh_l0"] += db
        return dx, dh0
