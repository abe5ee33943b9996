"""The many-to-one encoder: a recurrent layer read out once per sequence.

:class:`SequenceClassifier` (variable-length sequences -> one class) and :class:`Forecaster`
(a window of a series -> the next h values) share the encoder: standardised inputs ->
(stacked, optionally bidirectional) RNN / LSTM / GRU -> a feature vector per sequence ->
Linear. Dimension letters: N sequences, T steps, C input features, H hidden size, Dn
directions, K outputs.

The feature vector is, with ``pooling="last"``, the final hidden state of the last layer
(each direction's: forward at the sequence's own last step, backward at its first; PyTorch's
``h_n`` with packed sequences), or with ``pooling="mean"`` the mean of the last layer's
outputs over the valid steps.
"""

from __future__ import annotations

import numpy as np

from rnnlab._checks import check_int
from rnnlab.errors import ConfigError, DataError, RnnlabError, ShapeError
from rnnlab.functional.recurrent import check_lengths
from rnnlab.models.base import Model
from rnnlab.nn.init import as_generator
from rnnlab.nn.layers import Linear
from rnnlab.nn.module import module_mode, resolve_dtype
from rnnlab.nn.recurrent import CELL_TYPES
from rnnlab.nn.recurrent import parameter_shapes as recurrent_shapes

POOLINGS = ("last", "mean")
MAX_ABS_VALUE = 1e150  # beyond this, a column's variance (its square) overflows float64


def check_values(values: np.ndarray, columns, what: str) -> None:
    """A DataError naming the column when (M, C) values hold NaN, infinity, or magnitudes whose
    scaling would overflow (above 1e150): checked up front, before any training."""
    for j, name in enumerate(columns):
        column = values[:, j]
        if not np.isfinite(column).all():
            raise DataError(f"{what}: column {name!r} holds NaN or infinite values; clean or interpolate it first")
        peak = float(np.abs(column).max(initial=0.0))
        if peak > MAX_ABS_VALUE:
            raise DataError(f"{what}: column {name!r} holds values up to {peak:.3g}, too large to standardise "
                            f"(at most {MAX_ABS_VALUE:g}); rescale it (e.g. into other units) first")


def float_list(name: str, values, n: int) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (n,) or not np.isfinite(arr).all():
        raise ConfigError(f"{name} should be {n} finite numbers, got {values!r}")
    return arr


class SequenceEncoder(Model):
    """The shared encoder (see the module docstring); subclasses add the head and the loss.

    They call :meth:`build_encoder` from their constructor and use :meth:`check_inputs`,
    :meth:`outputs` / :meth:`backward`, :meth:`batched` and :meth:`set_scaling`.
    """

    def build_encoder(self, input_size, out_features, cell, hidden_size, num_layers, bidirectional, dropout, pooling,
                      mean, std, dtype, rng, proj_size=0, recurrent_dropout=0.0, layer_norm=False):
        """Build the encoder's layers (``rnn``, ``fc`` with ``out_features`` outputs) and its scaling;
        the constructor arguments are those of the subclasses (see their docstrings)."""
        self.input_size = check_int("input_size", input_size)
        if not isinstance(cell, str) or cell not in CELL_TYPES:
            raise ConfigError(f"cell should be one of {', '.join(CELL_TYPES)}, got {cell!r}")
        if pooling not in POOLINGS:
            raise ConfigError(f"pooling should be one of {', '.join(POOLINGS)}, got {pooling!r}")
        self.pooling = pooling
        dt = resolve_dtype(dtype)
        g = as_generator(rng)
        self.mean = np.zeros(self.input_size) if mean is None else float_list("mean", mean, self.input_size)
        self.std = np.ones(self.input_size) if std is None else float_list("std", std, self.input_size)
        if (self.std <= 0).any():
            raise ConfigError("std should be positive numbers")
        self.rnn = CELL_TYPES[cell](self.input_size, hidden_size, num_layers, bidirectional=bool(bidirectional),
                                    dropout=dropout, proj_size=proj_size, recurrent_dropout=recurrent_dropout,
                                    layer_norm=layer_norm, batch_first=True, dtype=dt, rng=g)
        self.fc = Linear(self.rnn.num_directions * self.rnn.output_size, out_features, dtype=dt, rng=g)
        self._cache = None

    def encoder_config(self) -> dict:
        """The encoder's part of ``get_config()``."""
        r = self.rnn
        return {"cell": r.cell, "hidden_size": r.hidden_size, "num_layers": r.num_layers,
                "bidirectional": r.bidirectional, "dropout": r.dropout, "proj_size": r.proj_size,
                "recurrent_dropout": r.recurrent_dropout, "layer_norm": r.layer_norm,
                "pooling": self.pooling, "mean": self.mean.tolist(), "std": self.std.tolist(), "dtype": self.dtype.name}

    @staticmethod
    def encoder_shapes(config: dict, input_size: int, out_features: int) -> dict[str, tuple]:
        """The encoder's parameter shapes for a config (see ``Model.parameter_shapes``), nothing built."""
        H = check_int("hidden_size", config.get("hidden_size", 64))
        L = config.get("num_layers", 1)
        bidirectional = bool(config.get("bidirectional", False))
        P = config.get("proj_size", 0)
        rnn = recurrent_shapes(config.get("cell", "lstm"), input_size, H, L, bidirectional=bidirectional,
                               proj_size=P, layer_norm=config.get("layer_norm", False))
        Dn = 2 if bidirectional else 1
        return {**{f"rnn.{k}": v for k, v in rnn.items()}, "fc.weight": (out_features, Dn * (P or H)),
                "fc.bias": (out_features,)}

    def describe_encoder(self) -> str:
        """The encoder's part of :meth:`describe`: ``GRU(12, 64, bidirectional) -> last state -> Linear(128, 9)``."""
        return f"{self.rnn.summary()} -> {self.pooling} state -> Linear({self.fc.in_features}, {self.fc.out_features})"

    def set_scaling(self, values: np.ndarray) -> None:
        """The standardisation from (M, C) training values: their mean, and their standard deviation
        (1 for a constant column, which then passes unscaled)."""
        self.mean = values.mean(axis=0)
        std = values.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)

    # -- checks -------------------------------------------------------------------------------------
    def check_inputs(self, x, lengths=None, name: str = "inputs"):
        """Validated ``(x (N, T, C), lengths (N,) int64 or None)``; NaN and infinity refused within the lengths."""
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[2] != self.input_size or 0 in x.shape[:2]:
            raise ShapeError(f"{name} should be a non-empty (N, T, {self.input_size}) array (N sequences, T steps, "
                             f"{self.input_size} features), got shape {x.shape}")
        if x.dtype.kind not in "fiu":
            raise DataError(f"{name} should hold numbers, got dtype {x.dtype}")
        if lengths is None:
            if not np.isfinite(x).all():
                raise DataError(f"{name} hold NaN or infinite values; clean or interpolate them first")
            return x, None
        N, T = x.shape[:2]
        lengths = check_lengths(lengths, N, T)
        valid = np.arange(T)[None, :] < lengths[:, None]
        if not np.isfinite(x[valid]).all():
            raise DataError(f"{name} hold NaN or infinite values within the sequences' lengths")
        return x, lengths

    # -- the encoder ----------------------------------------------------------------------------------
    def _features(self, x, lengths):
        """(N, T, C) raw inputs -> (N, Dn*H) features (P for H with a projection); keeps what
        :meth:`_features_backward` needs."""
        xs = (x - self.mean) / self.std  # padding is zeroed by the layer
        out, state = self.rnn.forward(xs.astype(self.dtype), None, lengths)
        h = state[0] if isinstance(state, tuple) else state  # (L*Dn, N, H)
        Dn, L = self.rnn.num_directions, self.rnn.num_layers
        if self.pooling == "last":
            feats = np.concatenate([h[(L - 1) * Dn + d] for d in range(Dn)], axis=1)
            self._cache = (out.shape, None)
        else:
            T = x.shape[1]
            lens = np.full(x.shape[0], T) if lengths is None else lengths
            w = (np.arange(T)[None, :] < lens[:, None]).astype(self.dtype) / lens[:, None].astype(self.dtype)
            feats = np.einsum("nt,nth->nh", w, out)
            self._cache = (out.shape, w)
        return feats

    def _features_backward(self, dfeats) -> None:
        shape, w = self._cache
        N = shape[0]
        Dn, L, H = self.rnn.num_directions, self.rnn.num_layers, self.rnn.output_size
        if self.pooling == "last":
            shapes = self.rnn.state_shapes(N)
            dh = np.zeros(shapes[0], self.dtype)
            for d in range(Dn):
                dh[(L - 1) * Dn + d] = dfeats[:, d * H : (d + 1) * H]
            dstate = (dh, np.zeros(shapes[1], self.dtype)) if self.rnn.n_states == 2 else dh
            self.rnn.backward(None, dstate, input_grad=False)
        else:
            dout = w[..., None] * dfeats[:, None, :]
            self.rnn.backward(dout.astype(self.dtype), None, input_grad=False)

    def outputs(self, x, lengths=None):
        """Head outputs (N, K) for raw inputs."""
        return self.fc.forward(self._features(x, lengths))

    def _outputs_backward(self, dout) -> None:
        self._features_backward(self.fc.backward(dout))

    def batched(self, fn, x, lengths, batch_size: int = 512) -> np.ndarray:
        """``fn`` over batches in evaluation mode (no dropout), concatenated."""
        with module_mode(self):
            parts = [fn(x[s : s + batch_size], None if lengths is None else lengths[s : s + batch_size])
                     for s in range(0, x.shape[0], batch_size)]
        return np.concatenate(parts, axis=0)

    def backward(self) -> None:
        """Accumulate d loss / d parameter into ``grads`` for the last :meth:`loss` call."""
        if self._last is None:
            raise RnnlabError("backward() was called before loss(): compute the loss first")
        last, self._last = self._last, None
        self._outputs_backward(last)
