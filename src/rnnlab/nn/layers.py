"""Layers with parameters: Embedding and Linear (the recurrent layers are in rnnlab.nn.recurrent).

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

from typing import NamedTuple

import numpy as np

from rnnlab._checks import check_int
from rnnlab.errors import DataError, RnnlabError, ShapeError
from rnnlab.functional.embedding import scatter_add_rows
from rnnlab.kernels import active_kernels
from rnnlab.nn import init
from rnnlab.nn.module import Module, resolve_dtype


def _no_cache(layer: Module):
    raise RnnlabError(f"{type(layer).__name__}.backward() was called before forward(): run forward first")


class EmbeddingProjection(NamedTuple):
    """What :meth:`Embedding.project_backward` needs: the ids (T, N), the gathered vectors
    (T, N, E) or None (the table path), and the projection's weight (G, E)."""

    ids: np.ndarray
    x: np.ndarray | None
    weight: np.ndarray


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
        self.num_embeddings = check_int("num_embeddings", num_embeddings)
        self.embedding_dim = check_int("embedding_dim", embedding_dim)
        dt = resolve_dtype(dtype)
        self._add_param("weight", np.empty((self.num_embeddings, self.embedding_dim), dt))
        init.embedding_default_(self.params["weight"], init.as_generator(rng))
        self._ids = None

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"

    def check_ids(self, ids) -> np.ndarray:
        """``ids`` as an integer array, every id in 0..V-1 (a DataError naming the range otherwise)."""
        ids = np.asarray(ids)
        if ids.dtype.kind not in "iu":
            raise DataError(f"Embedding expects integer token ids, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            raise DataError(
                f"token ids should be in 0..{self.num_embeddings - 1} for an Embedding of "
                f"{self.num_embeddings} entries, got values from {ids.min()} to {ids.max()}"
            )
        return ids

    def forward(self, ids) -> np.ndarray:
        """Look up the vectors of ``ids`` (any shape, integers in 0..V-1) -> (*ids.shape, E)."""
        self._ids = self.check_ids(ids)
        return np.take(self.params["weight"], self._ids, axis=0)

    def project(self, ids: np.ndarray, weight: np.ndarray, out: np.ndarray):
        """Write the projection ``E[ids] W^T`` into ``out`` (T, N, G), without forming E[ids].

        ids: (T, N) checked ids (see :meth:`check_ids`); weight: (G, E), the next layer's input
        weights (its bias is the recurrence's to add). When V <= T*N this is a gather from the
        (V, G) table ``E W^T``, which is the same linear map and costs one small product. Returns the
        cache for :meth:`project_backward`. This is how a recurrent layer reads token ids
        (:class:`~rnnlab.nn.TokenInput`).
        """
        E = self.params["weight"]
        T, N = ids.shape
        if E.shape[0] <= T * N:
            table = E @ weight.T  # (V, G)
            np.take(table, ids, axis=0, out=out, mode="clip")  # ids are checked: clip never applies
            return EmbeddingProjection(ids, None, weight)
        x = np.take(E, ids, axis=0, mode="clip")  # (T, N, E)
        np.matmul(x.reshape(T * N, -1), weight.T, out=out.reshape(T * N, -1))
        return EmbeddingProjection(ids, x, weight)

    def project_backward(self, cache: EmbeddingProjection, dproj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Backward of :meth:`project`: adds d loss / d E into ``grads["weight"]``; dproj (T, N, G).

        Returns ``(dweight (G, E), dbias (G,))``, the gradients of the projection's weight and bias.
        """
        T, N, G = dproj.shape
        dp2 = dproj.reshape(T * N, G)
        ids = cache.ids.reshape(-1)
        if cache.x is None:  # the table path: dtable (V, G) gives all three gradients
            dtable = scatter_add_rows(ids, dp2, self.num_embeddings)
            self.grads["weight"] += dtable @ cache.weight
            return dtable.T @ self.params["weight"], dtable.sum(axis=0)
        self.grads["weight"] += scatter_add_rows(ids, dp2 @ cache.weight, self.num_embeddings)
        return dp2.T @ cache.x.reshape(T * N, -1), dp2.sum(axis=0)

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
        self.in_features = check_int("in_features", in_features)
        self.out_features = check_int("out_features", out_features)
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
        self._x = x
        y = active_kernels().matmul(x.reshape(-1, self.in_features), self.params["weight"].T)
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
        matmul = active_kernels().matmul
        self.grads["weight"] += matmul(d2.T, x.reshape(-1, self.in_features))
        if "bias" in self.params:
            self.grads["bias"] += d2.sum(axis=0)
        return matmul(d2, self.params["weight"]).reshape(x.shape)

    def forward_class_major(self, x2: np.ndarray) -> np.ndarray:
        """Scores laid out class-major for a loss: x2 (M, in_features) -> (out_features, M).

        A loss's reductions over classes then run along the long contiguous axis
        (docs/architecture.md); :meth:`backward_class_major` is its backward pass.
        """
        self._x = x2
        y = active_kernels().matmul(self.params["weight"], x2.T)
        if "bias" in self.params:
            y += self.params["bias"][:, None]
        return y

    def backward_class_major(self, dout_cm: np.ndarray) -> np.ndarray:
        """Backward of :meth:`forward_class_major`: dout_cm (out_features, M) -> dx2 (M, in_features)."""
        matmul = active_kernels().matmul
        self.grads["weight"] += matmul(dout_cm, self._x)
        if "bias" in self.params:
            self.grads["bias"] += dout_cm.sum(axis=1)
        return matmul(dout_cm.T, self.params["weight"])
