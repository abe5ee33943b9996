"""Many-to-one models: a recurrent encoder read out once per sequence.

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

import math

import numpy as np

from rnnlab._checks import check_int
from rnnlab.errors import ConfigError, DataError, RnnlabError, ShapeError
from rnnlab.functional.activations import softmax
from rnnlab.functional.losses import softmax_cross_entropy
from rnnlab.models.base import Model
from rnnlab.nn.init import as_generator
from rnnlab.nn.layers import Linear
from rnnlab.nn.module import resolve_dtype
from rnnlab.nn.recurrent import CELL_TYPES
from rnnlab.nn.recurrent import parameter_shapes as recurrent_shapes

POOLINGS = ("last", "mean")


def _float_list(name: str, values, n: int) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (n,) or not np.isfinite(arr).all():
        raise ConfigError(f"{name} should be {n} finite numbers, got {values!r}")
    return arr


class _Encoder(Model):
    """The shared encoder (see the module docstring); subclasses add the head and the loss."""

    def _build(self, input_size, out_features, cell, hidden_size, num_layers, bidirectional, dropout, pooling,
               mean, std, dtype, rng):
        self.input_size = check_int("input_size", input_size)
        if not isinstance(cell, str) or cell not in CELL_TYPES:
            raise ConfigError(f"cell should be one of {', '.join(CELL_TYPES)}, got {cell!r}")
        if pooling not in POOLINGS:
            raise ConfigError(f"pooling should be one of {', '.join(POOLINGS)}, got {pooling!r}")
        self.pooling = pooling
        dt = resolve_dtype(dtype)
        g = as_generator(rng)
        self.mean = np.zeros(self.input_size) if mean is None else _float_list("mean", mean, self.input_size)
        self.std = np.ones(self.input_size) if std is None else _float_list("std", std, self.input_size)
        if (self.std <= 0).any():
            raise ConfigError("std should be positive numbers")
        self.rnn = CELL_TYPES[cell](self.input_size, hidden_size, num_layers, bidirectional=bool(bidirectional),
                                    dropout=dropout, batch_first=True, dtype=dt, rng=g)
        self.fc = Linear(self.rnn.num_directions * self.rnn.hidden_size, out_features, dtype=dt, rng=g)
        self._cache = None

    def _encoder_config(self) -> dict:
        r = self.rnn
        return {"cell": r.cell, "hidden_size": r.hidden_size, "num_layers": r.num_layers,
                "bidirectional": r.bidirectional, "dropout": r.dropout, "pooling": self.pooling,
                "mean": self.mean.tolist(), "std": self.std.tolist(), "dtype": self.dtype.name}

    @staticmethod
    def _encoder_shapes(config: dict, input_size: int, out_features: int) -> dict[str, tuple]:
        H = check_int("hidden_size", config.get("hidden_size", 64))
        L = config.get("num_layers", 1)
        bidirectional = bool(config.get("bidirectional", False))
        rnn = recurrent_shapes(config.get("cell", "lstm"), input_size, H, L, bidirectional=bidirectional)
        Dn = 2 if bidirectional else 1
        return {**{f"rnn.{k}": v for k, v in rnn.items()}, "fc.weight": (out_features, Dn * H),
                "fc.bias": (out_features,)}

    def _describe_encoder(self) -> str:
        r = self.rnn
        inner = f"{r.input_size}, {r.hidden_size}"
        if r.num_layers > 1:
            inner += f", {r.num_layers} layers" + (f", dropout {r.dropout:g}" if r.dropout else "")
        if r.bidirectional:
            inner += ", bidirectional"
        return (f"{r.cell.upper()}({inner}) -> {self.pooling} state -> "
                f"Linear({self.fc.in_features}, {self.fc.out_features})")

    # -- checks -------------------------------------------------------------------------------------
    def _check_inputs(self, x, lengths=None, name: str = "inputs"):
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
        lengths = np.asarray(lengths)
        N, T = x.shape[:2]
        if lengths.shape != (N,) or lengths.dtype.kind not in "iu":
            raise ShapeError(f"lengths should be ({N},) integers, one per sequence, got {lengths.shape} "
                             f"{lengths.dtype}")
        if lengths.min() < 1 or lengths.max() > T:
            raise DataError(f"lengths should be between 1 and T = {T}, got {lengths.min()} to {lengths.max()}")
        valid = np.arange(T)[None, :] < lengths[:, None]
        if not np.isfinite(x[valid]).all():
            raise DataError(f"{name} hold NaN or infinite values within the sequences' lengths")
        return x, lengths.astype(np.int64)

    # -- the encoder ----------------------------------------------------------------------------------
    def _features(self, x, lengths):
        """(N, T, C) raw inputs -> (N, Dn*H) features; keeps what :meth:`_features_backward` needs."""
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
        Dn, L, H = self.rnn.num_directions, self.rnn.num_layers, self.rnn.hidden_size
        if self.pooling == "last":
            dh = np.zeros(self.rnn.state_shape(N), self.dtype)
            for d in range(Dn):
                dh[(L - 1) * Dn + d] = dfeats[:, d * H : (d + 1) * H]
            dstate = (dh, np.zeros_like(dh)) if self.rnn.n_states == 2 else dh
            self.rnn.backward(None, dstate, input_grad=False)
        else:
            dout = w[..., None] * dfeats[:, None, :]
            self.rnn.backward(dout.astype(self.dtype), None, input_grad=False)

    def _outputs(self, x, lengths=None):
        """Head outputs (N, K) for raw inputs."""
        return self.fc.forward(self._features(x, lengths))

    def _outputs_backward(self, dout) -> None:
        self._features_backward(self.fc.backward(dout))

    def _batched(self, fn, x, lengths, batch_size: int = 512) -> np.ndarray:
        """``fn`` over batches in evaluation mode (no dropout), concatenated."""
        was = self.training
        self.eval()
        try:
            parts = [fn(x[s : s + batch_size], None if lengths is None else lengths[s : s + batch_size])
                     for s in range(0, x.shape[0], batch_size)]
        finally:
            self.train(was)
        return np.concatenate(parts, axis=0)

    def backward(self) -> None:
        """Accumulate d loss / d parameter into ``grads`` for the last :meth:`loss` call."""
        if self._last is None:
            raise RnnlabError("backward() was called before loss(): compute the loss first")
        last, self._last = self._last, None
        self._outputs_backward(last)


class SequenceClassifier(_Encoder):
    """Classify variable-length sequences: standardise -> RNN / LSTM / GRU -> last state or mean -> Linear.

    input_size: C features a step; classes: the class names (K of them), or their number;
    cell, hidden_size, num_layers, dropout: the encoder; bidirectional: read each sequence
    both ways (the features then hold both directions' final states); pooling: "last" (the
    final state) or "mean" (of the outputs over valid steps); mean, std: (C,) feature
    standardisation, saved with the model (:meth:`fit_scaling` sets them from training data);
    dtype; rng: seed or Generator for the weights and dropout.

    Data: ``x`` (N, T, C) zero-padded, ``lengths`` (N,) the true lengths (or None: all T),
    ``labels`` (N,) class indices.

    Example::

        >>> import numpy as np
        >>> from rnnlab.models import SequenceClassifier
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal((60, 8, 2)); lengths = rng.integers(3, 9, 60)
        >>> y = (x[:, 0, 0] > 0).astype(int)  # the class is written at the first step
        >>> model = SequenceClassifier(2, ["neg", "pos"], hidden_size=8, bidirectional=True, rng=0)
        >>> history = model.fit(x, lengths, y, epochs=30, lr=0.02, seed=0, progress=False)
        >>> model.evaluate(x, lengths, y)["accuracy"] > 0.9
        True
    """

    def __init__(self, input_size: int, classes, *, cell: str = "lstm", hidden_size: int = 64, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, pooling: str = "last", mean=None, std=None,
                 dtype=np.float32, rng=None):
        super().__init__()
        if isinstance(classes, int) and not isinstance(classes, bool):
            classes = [str(i) for i in range(check_int("classes", classes, minimum=2))]
        classes = [str(c) for c in classes]
        if len(classes) < 2 or len(set(classes)) != len(classes):
            raise ConfigError(f"classes should be at least two distinct names, got {classes!r}")
        self.classes = classes
        self._build(input_size, len(classes), cell, hidden_size, num_layers, bidirectional, dropout, pooling, mean,
                    std, dtype, rng)
        self._last = None

    def get_config(self) -> dict:
        return {"input_size": self.input_size, "classes": list(self.classes), **self._encoder_config()}

    @classmethod
    def parameter_shapes(cls, config: dict) -> dict[str, tuple]:
        classes = config.get("classes")
        if not isinstance(classes, list) or len(classes) < 2:
            raise ConfigError("the config's classes should be a list of at least two names")
        return cls._encoder_shapes(config, check_int("input_size", config.get("input_size")), len(classes))

    def describe(self) -> str:
        """A one-line summary of the architecture."""
        return f"{self._describe_encoder()} -> {len(self.classes)} classes"

    def fit_scaling(self, x, lengths=None) -> SequenceClassifier:
        """Set the feature standardisation from (training) sequences' valid steps; returns self."""
        x, lengths = self._check_inputs(x, lengths)
        valid = x.reshape(-1, x.shape[2]) if lengths is None else x[np.arange(x.shape[1])[None] < lengths[:, None]]
        self.mean = valid.mean(axis=0)
        std = valid.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)
        return self

    def check_data(self, x, lengths, labels):
        """Validate a data set: x (N, T, C), lengths (N,) or None, labels (N,) class indices."""
        x, lengths = self._check_inputs(x, lengths)
        labels = np.asarray(labels)
        K = len(self.classes)
        if labels.shape != (x.shape[0],) or labels.dtype.kind not in "iu":
            raise ShapeError(f"labels should be ({x.shape[0]},) integer class indices, got {labels.shape} "
                             f"{labels.dtype}")
        if labels.min() < 0 or labels.max() >= K:
            raise DataError(f"labels should be class indices in 0..{K - 1}, got {labels.min()} to {labels.max()}")
        if lengths is None:
            lengths = np.full(x.shape[0], x.shape[1], dtype=np.int64)
        return x, lengths, labels.astype(np.int64)

    def loss(self, x, lengths, labels) -> float:
        """Mean cross-entropy (nats); keeps what :meth:`backward` needs."""
        return self._loss(*self.check_data(x, lengths, labels))[0]

    def _loss(self, x, lengths, labels):
        scores = self._outputs(x, lengths)
        loss, dscores = softmax_cross_entropy(scores, labels)
        self._last = dscores.astype(self.dtype)
        return loss, int((scores.argmax(axis=1) == labels).sum())

    def train_batch(self, x, lengths, labels):
        loss, correct = self._loss(x, lengths, labels)
        self.backward()
        return loss, correct, x.shape[0]

    def predict_proba(self, x, lengths=None) -> np.ndarray:
        """Class probabilities (N, K), in evaluation mode."""
        x, lengths = self._check_inputs(x, lengths)
        return self._batched(lambda a, b: softmax(self._outputs(a, b).astype(np.float64), axis=1), x, lengths)

    def predict(self, x, lengths=None) -> np.ndarray:
        """The most likely class index of every sequence, (N,) int64 (names: ``model.classes[i]``)."""
        return self.predict_proba(x, lengths).argmax(axis=1)

    def evaluate(self, x, lengths, labels) -> dict:
        """Loss, accuracy, confusion matrix (rows: true class, columns: predicted) and per-class
        precision and recall (None for a class never predicted / never present)."""
        x, lengths, labels = self.check_data(x, lengths, labels)
        probs = self.predict_proba(x, lengths)
        pred = probs.argmax(axis=1)
        K = len(self.classes)
        confusion = np.zeros((K, K), dtype=np.int64)
        np.add.at(confusion, (labels, pred), 1)
        tp = np.diag(confusion)
        precision = [float(tp[k] / confusion[:, k].sum()) if confusion[:, k].sum() else None for k in range(K)]
        recall = [float(tp[k] / confusion[k].sum()) if confusion[k].sum() else None for k in range(K)]
        nll = -np.log(np.maximum(probs[np.arange(len(labels)), labels], np.finfo(np.float64).tiny))
        return {"loss": float(nll.mean()), "accuracy": float((pred == labels).mean()),
                "confusion": confusion.tolist(), "precision": precision, "recall": recall,
                "classes": list(self.classes)}


LOSSES = ("mse", "mae")


class Forecaster(_Encoder):
    """Forecast the next ``horizon`` values of a series from a window of its past.

    columns: the names of the C input columns; targets: the names of the K forecast columns
    (a subset of ``columns``; default all); horizon: h steps forecast at once (direct
    multi-step); window: the window length it is trained on (what :meth:`forecast` reads;
    None: all the history given); cell, hidden_size, num_layers, dropout: the encoder; mean, std: (C,) scaling,
    fitted on the training part only (:meth:`fit_scaling`) and saved with the model; relative:
    read each window relative to its last value and forecast the change from it (so a trend
    beyond the training range extrapolates); loss: "mse" or "mae" (on scaled values); dtype;
    rng.

    :meth:`predict` takes windows (N, W, C) in the series' own units and returns (N, h, K) in
    the same units; :meth:`forecast` continues a series any number of steps, feeding its
    forecasts back.

    Example::

        >>> import numpy as np
        >>> from rnnlab.data.series import windows
        >>> from rnnlab.models import Forecaster
        >>> t = np.arange(400.0)
        >>> series = (10 + np.sin(2 * np.pi * t / 25))[:, None]  # (T, 1)
        >>> X, Y, _ = windows(series, 30, 5)
        >>> model = Forecaster(["y"], horizon=5, hidden_size=16, rng=0).fit_scaling(series[:300])
        >>> history = model.fit(X, Y, epochs=20, lr=0.01, seed=0, progress=False)
        >>> float(np.abs(model.predict(X) - Y).mean()) < 0.1
        True
    """

    def __init__(self, columns, targets=None, *, horizon: int = 1, window: int | None = None, cell: str = "lstm",
                 hidden_size: int = 64,
                 num_layers: int = 1, dropout: float = 0.0, mean=None, std=None, relative: bool = True,
                 loss: str = "mse", dtype=np.float32, rng=None):
        super().__init__()
        columns = [columns] if isinstance(columns, str) else [str(c) for c in columns]
        if not columns or len(set(columns)) != len(columns):
            raise ConfigError(f"columns should be distinct names, got {columns!r}")
        targets = list(columns) if targets is None else ([targets] if isinstance(targets, str) else list(targets))
        missing = [t for t in targets if t not in columns]
        if not targets or missing:
            raise ConfigError(f"targets should be among the columns {columns}, got {targets!r}")
        if loss not in LOSSES:
            raise ConfigError(f"loss should be one of {', '.join(LOSSES)}, got {loss!r}")
        self.columns, self.targets = columns, targets
        self.target_index = [columns.index(t) for t in targets]
        self.horizon = check_int("horizon", horizon)
        self.window = None if window is None else check_int("window", window)
        self.relative = bool(relative)
        self.loss_name = loss
        self._build(len(columns), self.horizon * len(targets), cell, hidden_size, num_layers, False, dropout,
                    "last", mean, std, dtype, rng)
        self._last = None

    def get_config(self) -> dict:
        config = {"columns": list(self.columns), "targets": list(self.targets), "horizon": self.horizon,
                  "window": self.window,
                  **self._encoder_config(), "relative": self.relative, "loss": self.loss_name}
        del config["bidirectional"], config["pooling"]
        return config

    @classmethod
    def parameter_shapes(cls, config: dict) -> dict[str, tuple]:
        columns, targets = config.get("columns"), config.get("targets", config.get("columns"))
        if not isinstance(columns, list) or not isinstance(targets, list):
            raise ConfigError("the config's columns and targets should be lists of names")
        horizon = check_int("horizon", config.get("horizon", 1))
        return cls._encoder_shapes(config, len(columns), horizon * len(targets))

    def describe(self) -> str:
        """A one-line summary of the architecture."""
        return (f"{self._describe_encoder()} -> {self.horizon} step(s) of {', '.join(self.targets)}"
                + (" (relative to the last value)" if self.relative else ""))

    def fit_scaling(self, train_values) -> Forecaster:
        """Set the scaling from the training part of the series, (T, C); returns self."""
        v = np.asarray(train_values, dtype=np.float64)
        if v.ndim != 2 or v.shape[1] != self.input_size:
            raise ShapeError(f"train_values should be (T, {self.input_size}), got {v.shape}")
        self.mean = v.mean(axis=0)
        std = v.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)
        return self

    # -- data ---------------------------------------------------------------------------------------
    def check_data(self, x, y):
        """Validate windows x (N, W, C) and targets y (N, h, K), in the series' units."""
        x, _ = self._check_inputs(x)
        y = np.asarray(y)
        want = (x.shape[0], self.horizon, len(self.targets))
        if y.shape != want:
            raise ShapeError(f"targets should have shape {want} (N windows, horizon, target columns), got {y.shape}")
        if not np.isfinite(y).all():
            raise DataError("targets hold NaN or infinite values; clean or interpolate the series first")
        return x, y

    # -- forward / loss ---------------------------------------------------------------------------------
    def _predict_scaled(self, x):
        """Raw windows -> forecasts in scaled units (N, h, K), and the scaled last values (N, K)."""
        if self.relative:  # the encoder reads (x - last) / std: x - last + mean, standardised
            out = self._outputs(x - x[:, -1:, :] + self.mean, None)
        else:
            out = self._outputs(x, None)
        pred = out.reshape(x.shape[0], self.horizon, len(self.targets)).astype(np.float64)
        if self.relative:
            last = (x[:, -1, :] - self.mean) / self.std  # (N, C) scaled
            pred = pred + last[:, None, self.target_index]
        return pred

    def loss(self, x, y) -> float:
        """Mean squared (or absolute) error on scaled values; keeps what :meth:`backward` needs."""
        return self._loss(*self.check_data(x, y))

    def _loss(self, x, y):
        t = self.target_index
        pred = self._predict_scaled(x)
        ys = (y - self.mean[t]) / self.std[t]
        diff = pred - ys
        if self.loss_name == "mse":
            loss = float(np.mean(diff**2))
            grad = 2.0 * diff / diff.size
        else:
            loss = float(np.mean(np.abs(diff)))
            grad = np.sign(diff) / diff.size
        self._last = grad.reshape(x.shape[0], -1).astype(self.dtype)
        return loss

    def train_batch(self, x, y):
        loss = self._loss(x, y)
        self.backward()
        return loss, None, x.shape[0]

    def predict(self, x) -> np.ndarray:
        """Forecasts (N, h, K) in the series' units for windows x (N, W, C) (evaluation mode)."""
        x, _ = self._check_inputs(x, None, "windows")
        t = self.target_index
        scaled = self._batched(lambda a, _: self._predict_scaled(a), x, None)
        return scaled * self.std[t] + self.mean[t]

    def evaluate(self, x, y) -> dict:
        """``loss`` (on scaled values, as in training), and ``mae`` / ``rmse`` in the series' units."""
        x, y = self.check_data(x, y)
        pred = self.predict(x)
        t = self.target_index
        diff = (pred - y) / self.std[t]
        loss = float(np.mean(diff**2)) if self.loss_name == "mse" else float(np.mean(np.abs(diff)))
        return {"loss": loss, "accuracy": None, "mae": float(np.mean(np.abs(pred - y))),
                "rmse": float(math.sqrt(np.mean((pred - y) ** 2)))}

    def forecast_windows(self, x, steps: int) -> np.ndarray:
        """Forecast ``steps`` steps after each window, (N, steps, K) in the series' units.

        x: windows (N, W, C). Up to ``horizon`` steps come straight from one prediction (direct);
        beyond, the forecasts are appended to the window, which slides forward, and the model
        is run again (recursive: it is fed its own forecasts), which needs the targets to be
        every input column.
        """
        steps = check_int("steps", steps)
        x, _ = self._check_inputs(x, None, "windows")
        if steps > self.horizon and self.targets != self.columns:
            raise ConfigError(f"this model forecasts {', '.join(self.targets)} from {', '.join(self.columns)}: it can "
                              f"look {self.horizon} step(s) ahead, not {steps} (feeding forecasts back needs every "
                              "input column forecast)")
        x = np.asarray(x, dtype=np.float64)
        W = x.shape[1]
        out, done = [], 0
        while done < steps:
            pred = self.predict(x)  # (N, h, K)
            out.append(pred)
            done += pred.shape[1]
            if done < steps:
                x = np.concatenate([x, pred], axis=1)[:, -W:]
        return np.concatenate(out, axis=1)[:, :steps]

    def forecast(self, history, steps: int) -> np.ndarray:
        """Continue a series ``steps`` steps past its end: (steps, K) in its units.

        history: (T, C); its last ``window`` steps are read (all of it when the window is None).
        See :meth:`forecast_windows` for how steps beyond the horizon are made.
        """
        h = np.asarray(history, dtype=np.float64)
        if h.ndim != 2 or h.shape[1] != self.input_size or h.shape[0] == 0:
            raise ShapeError(f"history should be a (T, {self.input_size}) series, got shape {h.shape}")
        return self.forecast_windows((h[-self.window :] if self.window else h)[None], steps)[0]
