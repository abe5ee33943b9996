"""NextTokenModel: Embedding -> RNN / LSTM / GRU -> Linear, predicting the next token at every step.

Dimension letters: N sequences, T steps, V vocabulary size, E embedding size, H hidden size.

Internally the model runs time-major ((T, N, ...) buffers, see rnnlab.functional.recurrent);
its public methods take and return batch-first arrays.
"""

from __future__ import annotations

import numpy as np

from rnnlab._checks import check_int
from rnnlab.data.vocab import Vocab
from rnnlab.errors import ConfigError, DataError, RnnlabError, ShapeError
from rnnlab.functional.activations import softmax
from rnnlab.functional.losses import softmax_cross_entropy_cm
from rnnlab.models.base import BatchResult, Model
from rnnlab.nn.init import as_generator
from rnnlab.nn.inputs import TokenInput
from rnnlab.nn.layers import Embedding, Linear
from rnnlab.nn.module import module_mode, resolve_dtype
from rnnlab.nn.recurrent import CELL_TYPES
from rnnlab.nn.recurrent import parameter_shapes as recurrent_shapes


class NextTokenModel(Model):
    """A next-token predictor: ``scores[n, t] = Linear(Recurrent(Embedding(ids))[n, t])``.

    vocab: a :class:`~rnnlab.data.Vocab` or a list of tokens (V of them).
    cell: "rnn", "lstm" or "gru"; embedding_dim: E; hidden_size: H; num_layers: stacked
    recurrent layers; dropout: between stacked layers, in training only; nonlinearity:
    "tanh" or "relu" (cell="rnn" only); proj_size: P, the LSTM's projection (0: none; see
    :class:`~rnnlab.nn.LSTM`); recurrent_dropout: dropout on the state entering each step's
    recurrent product, one mask per sequence (see :class:`~rnnlab.nn.Recurrent`); layer_norm: the
    layer-normalised LSTM or GRU (see :mod:`rnnlab.functional.layer_norm`); dtype: float32
    (default) or float64; rng: seed or Generator for the initial weights and the dropout masks.

    Children (PyTorch names): ``embedding`` (V, E), ``rnn`` (the recurrent layer, E -> H,
    whatever the cell), ``fc`` (H -> V, or P -> V with a projection).

    Example::

        >>> from rnnlab import NextTokenModel
        >>> from rnnlab.data import LETTERS, letter_task
        >>> x, y = letter_task(200, rng=0)
        >>> model = NextTokenModel(LETTERS, hidden_size=16, rng=0)
        >>> history = model.fit(x, y, epochs=2, lr=0.01, seed=0, progress=False)
        >>> len(history), model.predict_proba(x[:3]).shape
        (2, (3, 5, 26))
    """

    def __init__(
        self,
        vocab,
        *,
        cell: str = "rnn",
        embedding_dim: int = 32,
        hidden_size: int = 50,
        num_layers: int = 1,
        dropout: float = 0.0,
        nonlinearity: str = "tanh",
        proj_size: int = 0,
        recurrent_dropout: float = 0.0,
        layer_norm: bool = False,
        dtype=np.float32,
        rng=None,
    ):
        super().__init__()
        self.vocab = vocab if isinstance(vocab, Vocab) else Vocab(vocab)
        V = len(self.vocab)
        dt = resolve_dtype(dtype)
        g = as_generator(rng)
        if not isinstance(cell, str) or cell not in CELL_TYPES:
            raise ConfigError(f"cell should be one of {', '.join(CELL_TYPES)}, got {cell!r}")
        extra = {}
        if cell == "rnn":
            extra["nonlinearity"] = nonlinearity
        elif nonlinearity != "tanh":
            raise ConfigError(f"nonlinearity applies to cell='rnn' only; {cell} has its own gates")
        self.embedding = Embedding(V, embedding_dim, dtype=dt, rng=g)
        self.rnn = CELL_TYPES[cell](embedding_dim, hidden_size, num_layers, dropout=dropout, batch_first=False,
                                    proj_size=proj_size, recurrent_dropout=recurrent_dropout, layer_norm=layer_norm,
                                    dtype=dt, rng=g, **extra)
        self.fc = Linear(self.rnn.output_size, V, dtype=dt, rng=g)
        self._cols = np.arange(0)
        self._last = None
        self._finals = None

    def get_config(self) -> dict:
        return {
            "vocab": self.vocab.tokens,
            "cell": self.rnn.cell,
            "embedding_dim": self.embedding.embedding_dim,
            "hidden_size": self.rnn.hidden_size,
            "num_layers": self.rnn.num_layers,
            "dropout": self.rnn.dropout,
            "nonlinearity": getattr(self.rnn, "nonlinearity", "tanh"),
            "proj_size": self.rnn.proj_size,
            "recurrent_dropout": self.rnn.recurrent_dropout,
            "layer_norm": self.rnn.layer_norm,
            "dtype": self.dtype.name,
        }

    @classmethod
    def parameter_shapes(cls, config: dict) -> dict[str, tuple]:
        """Parameter names and shapes of ``NextTokenModel(**config)``, without building it."""
        vocab = config.get("vocab")
        if not isinstance(vocab, list) or not vocab:
            raise ConfigError("the config's vocab should be a non-empty list of tokens")
        V = len(vocab)
        E = check_int("embedding_dim", config.get("embedding_dim", 32))
        H = check_int("hidden_size", config.get("hidden_size", 50))
        P = config.get("proj_size", 0)
        rnn = recurrent_shapes(config.get("cell", "rnn"), E, H, config.get("num_layers", 1), proj_size=P,
                               layer_norm=config.get("layer_norm", False))
        return {"embedding.weight": (V, E), **{f"rnn.{k}": v for k, v in rnn.items()},
                "fc.weight": (V, P or H), "fc.bias": (V,)}

    def describe(self) -> str:
        """A one-line summary of the architecture, e.g. ``Embedding(26, 32) -> LSTM(32, 50) -> Linear(50, 26)``."""
        return (f"Embedding({self.embedding.num_embeddings}, {self.embedding.embedding_dim}) -> "
                f"{self.rnn.summary()} -> Linear({self.fc.in_features}, {self.fc.out_features})")

    def extra_repr(self) -> str:
        return f"vocab={len(self.vocab)}"

    # -- validation ------------------------------------------------------------------------
    def _check_ids(self, ids, name: str = "ids") -> np.ndarray:
        ids = np.asarray(ids)
        if ids.ndim != 2 or ids.shape[0] == 0 or ids.shape[1] == 0:
            raise ShapeError(f"{name} should be a non-empty (N, T) array of token ids, got shape {ids.shape}")
        if ids.dtype.kind not in "iu":
            raise DataError(f"{name} should hold integer token ids, got dtype {ids.dtype}")
        V = len(self.vocab)
        lo, hi = ids.min(), ids.max()
        if lo < 0 or hi >= V:
            raise DataError(f"{name} should be token ids in 0..{V - 1}, got values from {lo} to {hi}")
        return ids.astype(np.int64, copy=False)

    def check_data(self, ids, targets, mask=None):
        """Validate a data set once, before training: ids and targets (N, T), mask (N, T) or None."""
        ids = self._check_ids(ids, "inputs")
        targets = self._check_ids(targets, "targets")
        if targets.shape != ids.shape:
            raise ShapeError(f"targets should have the shape of the inputs {ids.shape}, got {targets.shape}")
        if mask is None:
            return ids, targets
        mask = np.asarray(mask)
        if mask.shape != ids.shape:
            raise ShapeError(f"mask should have the shape of the inputs {ids.shape}, got {mask.shape}")
        if mask.dtype.kind not in "bfiu" or not np.isfinite(mask).all() or (mask < 0).any():
            raise DataError("mask should hold booleans or non-negative finite weights")
        return ids, targets, mask

    # -- forward / backward -------------------------------------------------------------
    # Internally: time-major states (T, N, H) and class-major scores (V, T*N), the layouts
    # in which NumPy is fastest (docs/architecture.md); the public methods are batch-first.
    def _scores_cm(self, ids: np.ndarray, states=None):
        """ids (N, T), checked -> scores (V, T*N) (column t*N + n is position (n, t)) and the final states.

        states: the recurrent layer's state (h, or (h, c) for an LSTM; each (L, N, H)) or None.
        """
        T, N = ids.shape[1], ids.shape[0]
        hs, finals = self.rnn.forward_time_major(TokenInput(self.embedding, ids.T, checked=True), states)  # (T, N, H)
        return self.fc.forward_class_major(hs.reshape(T * N, -1)), finals  # (V, T*N)

    def _backward_cm(self, dscores_cm: np.ndarray, T: int, N: int) -> None:
        dhs = self.fc.backward_class_major(dscores_cm)  # (T*N, H)
        self.rnn.backward_time_major(dhs.reshape(T, N, -1))  # also fills embedding.grads

    def forward(self, ids, state=None):
        """Scores for the next token after every step.

        ids: (N, T) token ids; state: the recurrent layer's initial state, (L, N, H) (a pair of
        them for an LSTM), or None (zeros).
        Returns ``(scores, state)``: scores (N, T, V) unnormalised log-probabilities, and the
        final state in the same form, ready to continue the sequences.
        """
        ids = self._check_ids(ids)
        N, T = ids.shape
        self.rnn.state_parts(state, N)  # a wrong state is an error before any work
        scores_cm, final = self._scores_cm(ids, state)
        return scores_cm.reshape(-1, T, N).transpose(2, 1, 0).copy(), final

    def loss(self, ids, targets, mask=None) -> float:
        """Mean cross-entropy (nats) over unmasked steps; keeps what :meth:`backward` needs.

        ids, targets: (N, T) token ids; mask: (N, T) booleans/weights or None.
        """
        data = self.check_data(ids, targets, mask)
        return self._loss(*data)[0]

    def _loss(self, ids, targets, mask=None, states=None):
        """The loss and the number of correct steps; ``self._finals`` keeps the final states."""
        N, T = ids.shape
        scores_cm, self._finals = self._scores_cm(ids, states)
        if self._cols.shape[0] != N * T:
            self._cols = np.arange(N * T)
        loss, dscores_cm, correct = softmax_cross_entropy_cm(
            scores_cm, targets.T.reshape(-1), None if mask is None else mask.T.reshape(-1), self._cols
        )
        self._last = (dscores_cm, T, N)
        return loss, correct

    def backward(self) -> None:
        """Accumulate d loss / d parameter into ``grads`` for the last :meth:`loss` call."""
        if self._last is None:
            raise RnnlabError("backward() was called before loss(): compute the loss first")
        last, self._last = self._last, None
        self._backward_cm(*last)

    def train_batch(self, ids, targets, mask=None) -> BatchResult:
        """One forward and backward pass on validated data (see :meth:`check_data`).

        Returns the :class:`~rnnlab.models.BatchResult`: the mean loss, the number of (unmasked)
        steps whose target got the highest score, and the number (or total weight) of unmasked steps.
        """
        loss, correct = self._loss(ids, targets, mask)
        self.backward()
        return BatchResult(loss, correct, ids.size if mask is None else float(mask.sum()))

    # -- evaluation / prediction -----------------------------------------------------------
    def predict_proba(self, ids, state=None, batch_size: int = 1024) -> np.ndarray:
        """Next-token probabilities after every step: ids (N, T) -> (N, T, V), rows summing to 1.

        Runs in evaluation mode (no dropout) whatever the model's mode.
        """
        ids = self._check_ids(ids)
        states = self.rnn.state_parts(state, ids.shape[0])
        out = []
        with module_mode(self):
            for start in range(0, ids.shape[0], batch_size):
                sl = slice(start, start + batch_size)
                chunk = ids[sl]
                chunk_state = None if states is None else self.rnn.state_from_parts(tuple(s[:, sl] for s in states))
                scores_cm, _ = self._scores_cm(chunk, chunk_state)
                probs = softmax(scores_cm, axis=0)  # (V, T*n)
                out.append(probs.reshape(-1, chunk.shape[1], chunk.shape[0]).transpose(2, 1, 0))
        return np.concatenate(out, axis=0)

    def evaluate(self, ids, targets, mask=None, batch_size: int = 1024) -> dict:
        """Loss and accuracy on a data set, overall and per time step.

        Returns a dict with ``loss`` (mean cross-entropy in nats over unmasked steps),
        ``accuracy``, and ``per_step_loss`` / ``per_step_accuracy`` (lists of length T).
        """
        data = self.check_data(ids, targets, mask)
        ids, targets = data[0], data[1]
        w = np.ones(ids.shape) if mask is None else np.asarray(data[2], dtype=np.float64)
        probs = self.predict_proba(ids, batch_size=batch_size).astype(np.float64)
        p_target = np.take_along_axis(probs, targets[..., None], axis=-1)[..., 0]
        nll = -np.log(np.maximum(p_target, np.finfo(np.float64).tiny))  # (N, T)
        hit = (probs.argmax(axis=-1) == targets).astype(np.float64)
        per_step_w = w.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_loss = (nll * w).sum(axis=0) / per_step_w
            per_acc = (hit * w).sum(axis=0) / per_step_w
        total = w.sum()
        return {
            "loss": float((nll * w).sum() / total),
            "accuracy": float((hit * w).sum() / total),
            "per_step_loss": per_loss.tolist(),
            "per_step_accuracy": per_acc.tolist(),
        }

    def predict_topk(self, sequence, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most likely next tokens after ``sequence``, with their probabilities.

        sequence: a string (one token per character) or a list of tokens, at least one.
        Returns ``[(token, probability), ...]`` sorted by decreasing probability, as the
        notebook's ``predict`` (which looked at the last step only).
        """
        k = check_int("k", k)
        ids = self.vocab.encode(sequence)
        if ids.size == 0:
            raise DataError("the sequence is empty: give at least one token to predict from")
        probs = self.predict_proba(ids[None, :])[0, -1]  # (V,)
        top = np.argsort(-probs, kind="stable")[: min(int(k), probs.size)]
        return [(self.vocab.tokens[i], float(probs[i])) for i in top]
