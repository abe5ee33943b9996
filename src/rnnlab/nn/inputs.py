"""What feeds the first recurrent layer: dense sequences or token ids read through an Embedding.

A recurrent layer needs one thing of its input: the input projection of every step,
``x_t W_ih^T + b`` (T, N, G*H), and, in the backward pass, the gradients of ``W_ih`` and ``b``
(and of the input) from the projection's gradient. Both input kinds here do exactly that, so
the layer treats them alike:

- :class:`SequenceInput`, a dense (T, N, D) array: one (T*N, D) @ (D, G*H) product;
- :class:`TokenInput`, token ids (T, N) and the :class:`~rnnlab.nn.Embedding` that reads them:
  the embedding projects its own table (:meth:`~rnnlab.nn.Embedding.project`), which for a
  small vocabulary is a gather from the (V, G*H) table ``E W_ih^T + b``, and adds its own
  weight gradient in the backward pass. The embedding's output (T, N, E) is never formed.

Both are time-major, sorted as the layer runs them (see :class:`~rnnlab.functional.Packing`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlab.errors import DataError, ShapeError
from rnnlab.functional.recurrent import Packing, reverse_time
from rnnlab.kernels import active_kernels


class DenseProjection(NamedTuple):
    """What :meth:`SequenceInput.project_backward` needs: the inputs (T, N, D) and the weight (G, D)."""

    x: np.ndarray
    weight: np.ndarray


class SequenceInput:
    """A dense time-major input: x (T, N, D) real numbers.

    Example::

        >>> import numpy as np
        >>> from rnnlab.nn import LSTM, SequenceInput
        >>> lstm = LSTM(3, 4, rng=0)
        >>> out, (h, c) = lstm.forward_time_major(SequenceInput(np.ones((5, 2, 3), np.float32)))
        >>> out.shape, h.shape
        ((5, 2, 4), (1, 2, 4))
    """

    def __init__(self, x: np.ndarray):
        x = np.asarray(x)
        if x.ndim != 3 or 0 in x.shape[:2]:
            raise ShapeError(f"a time-major input should be a non-empty (T, N, D) array, got shape {x.shape}")
        self.x = x

    @property
    def steps_and_batch(self) -> tuple[int, int]:
        """(T, N)."""
        return self.x.shape[0], self.x.shape[1]

    @property
    def features(self) -> int:
        """D, the size of one step's input."""
        return self.x.shape[2]

    def prepared(self, dtype, packing: Packing | None, reader: str = "a recurrent layer") -> SequenceInput:
        """A contiguous copy in ``dtype``, its columns in ``packing``'s order and its padding zeroed
        (so padding stays out of every sum); refuses NaN and infinite values."""
        x = np.ascontiguousarray(self.x, dtype=dtype)
        if packing is not None:
            x = x[:, packing.order]
            x[packing.pad] = 0.0
        if not np.isfinite(x).all():
            raise DataError(f"the input to {reader} holds NaN or infinite values")
        return SequenceInput(x)

    def reversed(self, packing: Packing | None) -> SequenceInput:
        """The same input with each sequence reversed in time (within its own length)."""
        return SequenceInput(reverse_time(self.x, packing))

    def project(self, weight: np.ndarray, out: np.ndarray) -> DenseProjection:
        """Write ``x W^T`` into ``out`` (T, N, G); weight (G, D). No bias: the recurrence adds it
        (the fused kernels inside their steps, which spares them a pass over the projections)."""
        T, N = self.steps_and_batch
        active_kernels().matmul(self.x.reshape(T * N, -1), weight.T, out=out.reshape(T * N, -1))
        return DenseProjection(self.x, weight)

    @staticmethod
    def project_backward(cache: DenseProjection, dproj: np.ndarray, need_dx: bool = True):
        """dproj (T, N, G) -> ``(dweight (G, D), dbias (G,), dx (T, N, D) or None)``."""
        T, N, G = dproj.shape
        dp2 = dproj.reshape(T * N, G)
        matmul = active_kernels().matmul
        dweight = matmul(dp2.T, cache.x.reshape(T * N, -1))
        dx = matmul(dp2, cache.weight).reshape(T, N, -1) if need_dx else None
        return dweight, dp2.sum(axis=0), dx


class TokenInput:
    """Token ids read through an Embedding: ids (T, N) integers in 0..V-1, time-major.

    The layer's input projection is then computed by the embedding itself
    (:meth:`~rnnlab.nn.Embedding.project`), and its backward pass adds the embedding's weight
    gradient; the input gradient is None (ids have none). The embedding's ``embedding_dim``
    must be the layer's ``input_size``. ``checked=True`` skips the check of the ids (an integer
    array, every id in range), for a caller that has made it already with ``embedding.check_ids``
    (a model checks its data once, before training, not at every step).

    Example::

        >>> import numpy as np
        >>> from rnnlab.nn import GRU, Embedding, TokenInput
        >>> emb, gru = Embedding(10, 3, rng=0), GRU(3, 4, rng=0)
        >>> out, h = gru.forward_time_major(TokenInput(emb, np.array([[1, 2], [3, 4], [5, 6]])))
        >>> out.shape
        (3, 2, 4)
        >>> _ = gru.backward_time_major(np.ones_like(out))  # also fills emb.grads["weight"]
        >>> bool(emb.grads["weight"][1].any()), bool(emb.grads["weight"][0].any())
        (True, False)
    """

    def __init__(self, embedding, ids: np.ndarray, *, checked: bool = False):
        ids = ids if checked else embedding.check_ids(ids)
        if ids.ndim != 2 or 0 in ids.shape:
            raise ShapeError(f"token ids for a recurrent layer should be a non-empty (T, N) array, got {ids.shape}")
        self.embedding = embedding
        self.ids = ids

    @property
    def steps_and_batch(self) -> tuple[int, int]:
        """(T, N)."""
        return self.ids.shape[0], self.ids.shape[1]

    @property
    def features(self) -> int:
        """E, the size of one step's input (the embedding size)."""
        return self.embedding.embedding_dim

    def prepared(self, dtype, packing: Packing | None, reader: str = "a recurrent layer") -> TokenInput:
        """The ids with their columns in ``packing``'s order (padding ids project like any other;
        the layer zeroes the projection there)."""
        return self if packing is None else TokenInput(self.embedding, self.ids[:, packing.order], checked=True)

    def reversed(self, packing: Packing | None) -> TokenInput:
        """The same ids with each sequence reversed in time (within its own length)."""
        return TokenInput(self.embedding, reverse_time(self.ids, packing), checked=True)

    def project(self, weight: np.ndarray, out: np.ndarray):
        """Write ``E[ids] W^T`` into ``out`` (T, N, G); see :meth:`~rnnlab.nn.Embedding.project`."""
        return self.embedding.project(self.ids, weight, out)

    def project_backward(self, cache, dproj: np.ndarray, need_dx: bool = True):
        """dproj (T, N, G) -> ``(dweight (G, E), dbias (G,), None)``; the embedding adds its own gradient."""
        dweight, dbias = self.embedding.project_backward(cache, dproj)
        return dweight, dbias, None
