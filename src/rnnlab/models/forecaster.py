"""Forecaster: a window of a series (and the known future of its covariates) -> its next ``horizon`` values."""

from __future__ import annotations

import math

import numpy as np

from rnnlab._checks import check_int
from rnnlab.data.intervals import normal_quantiles
from rnnlab.errors import ConfigError, DataError, RnnlabError, ShapeError
from rnnlab.models.base import BatchResult
from rnnlab.models.encoder import SequenceEncoder, check_values
from rnnlab.models.forecast_head import DEFAULT_QUANTILES, OutputHead, join_forecasts, map_forecast
from rnnlab.nn.init import as_generator
from rnnlab.nn.module import module_mode
from rnnlab.nn.recurrent import CELL_TYPES
from rnnlab.nn.recurrent import parameter_shapes as recurrent_shapes


class Forecaster(SequenceEncoder):
    """Forecast the next ``horizon`` values of a series from a window of its past.

    columns: the names of the C input columns; targets: the names of the K forecast columns
    (a subset of ``columns``; default all); future: the F columns known in advance
    (covariates such as calendar features or holidays; not targets): the model then reads
    their values over the horizon too; horizon: h steps forecast at once (direct multi-step);
    window: the window length it is trained on (what :meth:`forecast` reads; None: all the
    history given); cell, hidden_size, num_layers, dropout: the encoder; mean, std: (C,)
    scaling, fitted on the training part only (:meth:`fit_scaling`) and saved with the model;
    relative: read each window relative to its last value and forecast the change from it (so a
    trend beyond the training range extrapolates); loss: "mse", "mae", "quantile" (pinball loss
    on ``quantiles``) or "gaussian" (negative log-likelihood of a mean and a scale; its intervals
    are read at ``quantiles``), on scaled values (see :mod:`rnnlab.models.forecast_head`);
    log_targets: model log(1 + y) of the targets (for counts and other series above -1 whose
    spread grows with their level: the intervals then widen with it; the scaling, the relative
    reading and the loss are in that space, the forecasts in the series' units); proj_size: the
    LSTM's projection, in the encoder and the decoder (0: none; see :class:`~rnnlab.nn.LSTM`);
    recurrent_dropout: on the state entering each recurrent product, in both (see
    :class:`~rnnlab.nn.Recurrent`); layer_norm: the layer-normalised LSTM or GRU, in both; dtype; rng.

    Without future covariates the encoder's final state gives all h steps through one Linear
    layer. With them, a decoder (the same cell and sizes) starts from the encoder's final state
    and reads the covariates step by step; a Linear layer reads each of its outputs.

    :meth:`predict` takes windows (N, W, C) (and future covariates (N, h, F)) in the series' own
    units and returns (N, h, K) point forecasts in the same units; :meth:`predict_distribution`
    adds the quantiles; :meth:`forecast` continues a series any number of steps, feeding its
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

    has_accuracy = False

    def __init__(self, columns, targets=None, *, future=None, horizon: int = 1, window: int | None = None,
                 cell: str = "lstm", hidden_size: int = 64, num_layers: int = 1, dropout: float = 0.0, mean=None,
                 std=None, relative: bool = True, loss: str = "mse", quantiles=DEFAULT_QUANTILES,
                 log_targets: bool = False, proj_size: int = 0, recurrent_dropout: float = 0.0,
                 layer_norm: bool = False, dtype=np.float32, rng=None):
        super().__init__()
        self.columns, self.targets, self.future = check_columns(columns, targets, future)
        self.target_index = [self.columns.index(t) for t in self.targets]
        self.future_index = [self.columns.index(f) for f in self.future]
        self.head = OutputHead(loss, quantiles)
        self.horizon = check_int("horizon", horizon)
        self.window = None if window is None else check_int("window", window)
        self.relative = bool(relative)
        self.log_targets = bool(log_targets)
        g = as_generator(rng)
        K, P = len(self.targets), self.head.params
        self.build_encoder(len(self.columns), K * P if self.future else self.horizon * K * P, cell, hidden_size,
                           num_layers, False, dropout, "last", mean, std, dtype, g, proj_size, recurrent_dropout,
                           layer_norm)
        if self.future:
            self.decoder = CELL_TYPES[cell](len(self.future), hidden_size, num_layers, dropout=dropout,
                                            proj_size=proj_size, recurrent_dropout=recurrent_dropout,
                                            layer_norm=layer_norm, batch_first=True, dtype=self.dtype, rng=g)
        self.scaled = mean is not None and std is not None  # else fit_scaling must come first
        self._last = None
        self._decoded = None

    @property
    def loss_name(self) -> str:
        return self.head.loss_name

    def get_config(self) -> dict:
        config = {"columns": list(self.columns), "targets": list(self.targets), "future": list(self.future),
                  "horizon": self.horizon, "window": self.window, **self.encoder_config(), "relative": self.relative,
                  "loss": self.loss_name, "quantiles": list(self.head.quantiles), "log_targets": self.log_targets}
        del config["bidirectional"], config["pooling"]
        return config

    @classmethod
    def parameter_shapes(cls, config: dict) -> dict[str, tuple]:
        columns, targets, future = check_columns(config.get("columns"), config.get("targets"), config.get("future"))
        horizon = check_int("horizon", config.get("horizon", 1))
        K, P = len(targets), OutputHead(config.get("loss", "mse"), config.get("quantiles", DEFAULT_QUANTILES)).params
        shapes = cls.encoder_shapes(config, len(columns), K * P if future else horizon * K * P)
        if future:
            decoder = recurrent_shapes(config.get("cell", "lstm"), len(future), config.get("hidden_size", 64),
                                       config.get("num_layers", 1), proj_size=config.get("proj_size", 0),
                                       layer_norm=config.get("layer_norm", False))
            shapes.update({f"decoder.{k}": v for k, v in decoder.items()})
        return shapes

    def describe(self) -> str:
        """A one-line summary of the architecture."""
        what = {"quantile": f" (quantiles {', '.join(f'{q:g}' for q in self.head.quantiles)})",
                "gaussian": " (Gaussian mean and scale)"}.get(self.loss_name, "")
        if self.future:
            net = (f"{self.rnn.summary()} -> its state into the decoder {self.decoder.summary()} over "
                   f"{', '.join(self.future)} -> Linear({self.fc.in_features}, {self.fc.out_features}) a step")
        else:
            net = self.describe_encoder()
        return (f"{net} -> {self.horizon} step(s) of {', '.join(self.targets)}{what}"
                + (" (relative to the last value)" if self.relative else ""))

    def fit_scaling(self, train_values) -> Forecaster:
        """Set the scaling from the training part of the series, (T, C); returns self."""
        v = np.asarray(train_values, dtype=np.float64)
        if v.ndim != 2 or v.shape[1] != self.input_size or v.shape[0] == 0:
            raise ShapeError(f"train_values should be (T, {self.input_size}), got {v.shape}")
        check_values(v, self.columns, "train_values")
        self.set_scaling(self.transformed(v))
        self.scaled = True
        return self

    def target_space(self, y):
        """Target values as the model reads them: log(1 + y) with ``log_targets``, else unchanged."""
        y = np.asarray(y, np.float64)
        if not self.log_targets:
            return y
        if (y <= -1).any():
            raise DataError(f"log_targets reads log(1 + y): the targets {', '.join(self.targets)} should stay above "
                            f"-1, but one is {y.min():g}")
        return np.log1p(y)

    def series_space(self, z):
        """The inverse of :meth:`target_space`."""
        return np.expm1(z) if self.log_targets else np.asarray(z, np.float64)

    def transformed(self, values: np.ndarray) -> np.ndarray:
        """``values`` (..., C) with the target columns as the model reads them (see :meth:`target_space`)."""
        if not self.log_targets:
            return values
        values = np.array(values, dtype=np.float64)
        values[..., self.target_index] = self.target_space(values[..., self.target_index])
        return values

    # -- data ---------------------------------------------------------------------------------------
    def check_data(self, x, y, future=None):
        """Validate windows x (N, W, C), targets y (N, h, K) and, for a model with future covariates,
        their values over the horizon (N, h, F), all in the series' units."""
        x = self.check_windows(x, "inputs")
        y = np.asarray(y)
        want = (x.shape[0], self.horizon, len(self.targets))
        if y.shape != want:
            raise ShapeError(f"targets should have shape {want} (N windows, horizon, target columns), got {y.shape}")
        if not np.isfinite(y).all():
            raise DataError("targets hold NaN or infinite values; clean or interpolate the series first")
        future = self.check_future(future, x.shape[0], self.horizon)
        return (x, y) if future is None else (x, y, future)  # the arrays the trainer batches

    def check_future(self, future, n: int, steps: int):
        """The future covariates (n, steps, F) a model with some needs (None for one without)."""
        if not self.future:
            if future is not None:
                raise ConfigError("this model has no future covariates: give windows and targets only")
            return None
        if future is None:
            raise ConfigError(f"this model reads the future values of {', '.join(self.future)}: give them, "
                              f"(N, steps, {len(self.future)})")
        future = np.asarray(future, dtype=np.float64)
        if future.shape != (n, steps, len(self.future)):
            raise ShapeError(f"future covariates should have shape {(n, steps, len(self.future))} (windows, steps, "
                             f"{', '.join(self.future)}), got {future.shape}")
        if not np.isfinite(future).all():
            raise DataError("future covariates hold NaN or infinite values")
        return future

    # -- forward / loss ---------------------------------------------------------------------------------
    def _predict_scaled(self, x, future=None):
        """Raw windows (and future covariates) -> outputs in scaled units (N, steps, K, P)."""
        N, K = x.shape[0], len(self.targets)
        x = self.transformed(x)
        xs = x - x[:, -1:, :] + self.mean if self.relative else x  # relative: (x - last) / std once standardised
        if self.future:
            out = self._decode(xs, future)
        else:
            out = self.outputs(xs, None).reshape(N, self.horizon, K, self.head.params)
        out = out.astype(np.float64)
        if self.relative:
            last = (x[:, -1, :] - self.mean) / self.std  # (N, C) scaled
            out[..., self.head.location()] += last[:, None, self.target_index, None]
        return out

    def _decode(self, xs, future):
        """The decoder over the future covariates, from the encoder's final state: (N, steps, K, P)."""
        _, state = self.rnn.forward(((xs - self.mean) / self.std).astype(self.dtype))
        f = self.future_index
        out, _ = self.decoder.forward(((future - self.mean[f]) / self.std[f]).astype(self.dtype), state)
        N, T, H = out.shape
        self._decoded = (N, T, H)
        return self.fc.forward(out.reshape(N * T, H)).reshape(N, T, len(self.targets), self.head.params)

    def backward(self) -> None:
        """Accumulate d loss / d parameter into ``grads`` for the last :meth:`loss` call (through the
        decoder, for a model with future covariates)."""
        if not self.future or self._last is None:
            return super().backward()  # the encoder's head (or its error for a backward before a loss)
        dout, self._last = self._last, None
        N, T, H = self._decoded
        dh = self.fc.backward(dout.reshape(N * T, -1)).reshape(N, T, H)
        _, dstate = self.decoder.backward(dh, None, input_grad=False)
        self.rnn.backward(None, dstate, input_grad=False)

    def loss(self, x, y, future=None) -> float:
        """The training loss on scaled values (see ``loss``); keeps what :meth:`backward` needs."""
        return self._loss(*self.check_data(x, y, future))[0]

    def _loss(self, x, y, future=None):
        t = self.target_index
        ys = (self.target_space(y) - self.mean[t]) / self.std[t]
        loss, grad = self.head.loss(self._predict_scaled(x, future), ys)
        self._last = (grad if self.future else grad.reshape(x.shape[0], -1)).astype(self.dtype)  # as the head reads it
        return loss, None  # (loss, correct) like every model's; a forecast has no "correct"

    def train_batch(self, x, y, future=None) -> BatchResult:
        """One forward and backward pass on validated data (see :meth:`check_data`)."""
        loss, _ = self._loss(x, y, future)
        self.backward()
        return BatchResult(loss, None, x.shape[0])

    def check_windows(self, x, name: str = "windows"):
        """Validated windows (N, W, C): the model's window length when it has one, scaling fitted."""
        if not self.scaled:
            raise RnnlabError("this Forecaster has no scaling yet: call fit_scaling(train_values) first (or build "
                              "it with mean= and std=)")
        x, _ = self.check_inputs(x, None, name)
        if self.window is not None and x.shape[1] != self.window:
            raise ShapeError(f"{name} should be {self.window} steps long (the model's window), got {x.shape[1]}")
        return x

    def predict_distribution(self, x, future=None) -> dict:
        """The forecasts of windows x (N, W, C) (and future covariates (N, steps <= h, F)) in the
        series' units: ``point`` (N, steps, K), ``quantiles`` (N, steps, K, Q) at ``probs`` (a
        point forecast's are all its point), and ``std`` (N, steps, K) for a Gaussian, else None."""
        x = self.check_windows(x)
        steps = self.horizon if future is None else np.shape(future)[1]
        future = self.check_future(future, x.shape[0], steps)
        t = self.target_index
        # batched() slices its second array alongside the windows: here the future covariates
        out = self.batched(lambda a, f: self._predict_scaled(a, f), x, future)
        found = self.head.forecast(out, self.mean[t], self.std[t])
        if found["quantiles"] is None:
            found["quantiles"] = (normal_quantiles(found["point"], found["std"], self.head.quantiles)
                                  if found["std"] is not None else np.repeat(found["point"][..., None],
                                                                             len(self.head.quantiles), axis=-1))
        if self.log_targets:  # quantiles survive a monotone map; a log-space mean becomes the median, the std goes
            found = {"point": self.series_space(found["point"]), "quantiles": self.series_space(found["quantiles"]),
                     "std": None}
        return {**found, "probs": list(self.head.quantiles)}

    def predict(self, x, future=None) -> np.ndarray:
        """Point forecasts (N, h, K) in the series' units for windows x (N, W, C) (evaluation mode);
        the median (the quantile nearest 0.5) of a quantile forecast, the mean of a Gaussian one."""
        return self.predict_distribution(x, future)["point"]

    def evaluate(self, x, y, future=None) -> dict:
        """``loss`` (on scaled values, as in training), and ``mae`` / ``rmse`` of the point forecasts
        in the series' units."""
        x, y, *rest = self.check_data(x, y, future)
        future = rest[0] if rest else None
        t = self.target_index
        with module_mode(self):
            ys = (self.target_space(y) - self.mean[t]) / self.std[t]
            loss = self.head.loss(self._predict_scaled(x, future), ys)[0]
        pred = self.predict(x, future)
        return {"loss": loss, "accuracy": None, "mae": float(np.mean(np.abs(pred - y))),
                "rmse": float(math.sqrt(np.mean((pred - y) ** 2)))}

    def forecast_windows(self, x, steps: int, future=None, distribution: bool = False):
        """Forecast ``steps`` steps after each window: (N, steps, K) in the series' units (with
        ``distribution``, :meth:`predict_distribution`'s dict over those steps).

        x: windows (N, W, C); future: the covariates' values over the steps (N, steps, F), for a
        model with some. Up to ``horizon`` steps come straight from one prediction (direct);
        beyond, the point forecasts (and the known covariates) are appended to the window, which
        slides forward, and the model is run again (recursive: it is fed its own forecasts),
        which needs every input column to be forecast or known in advance.
        """
        steps = check_int("steps", steps)
        x = np.asarray(self.check_windows(x), dtype=np.float64)
        future = self.check_future(future, x.shape[0], steps)
        unknown = [c for c in self.columns if c not in self.targets and c not in self.future]
        if steps > self.horizon and unknown:
            raise ConfigError(f"this model forecasts {', '.join(self.targets)} from {', '.join(self.columns)}: it can "
                              f"look {self.horizon} step(s) ahead, not {steps} (feeding forecasts back needs every "
                              f"input column forecast or known in advance; {', '.join(unknown)} is neither)")
        W, parts, done = x.shape[1], [], 0
        while done < steps:
            n = min(self.horizon, steps - done)
            chunk = None if future is None else future[:, done : done + n]
            found = self.predict_distribution(x, chunk)
            found = map_forecast(found, lambda v, n=n: v[:, :n])
            parts.append(found)
            done += n
            if done < steps:
                rows = np.repeat(x[:, -1:, :], n, axis=1)
                rows[..., self.target_index] = found["point"]
                if chunk is not None:
                    rows[..., self.future_index] = chunk
                x = np.concatenate([x, rows], axis=1)[:, -W:]
        joined = join_forecasts(parts, axis=1)
        return joined if distribution else joined["point"]

    def forecast(self, history, steps: int, future=None, distribution: bool = False):
        """Continue a series ``steps`` steps past its end: (steps, K) in its units.

        history: (T, C); its last ``window`` steps are read (all of it when the window is None);
        future: the covariates' values over the steps (steps, F), for a model with some. See
        :meth:`forecast_windows` for steps beyond the horizon and ``distribution``.
        """
        h = np.asarray(history, dtype=np.float64)
        if h.ndim != 2 or h.shape[1] != self.input_size or h.shape[0] == 0:
            raise ShapeError(f"history should be a (T, {self.input_size}) series, got shape {h.shape}")
        found = self.forecast_windows((h[-self.window :] if self.window else h)[None], steps,
                                      None if future is None else np.asarray(future)[None], distribution)
        if not distribution:
            return found[0]
        return map_forecast(found, lambda v: v[0])


def check_columns(columns, targets, future) -> tuple[list[str], list[str], list[str]]:
    """``(columns, targets, future)`` as lists of names: targets among the columns (default all of
    them that are not future covariates), future covariates among the columns and not targets."""
    if isinstance(columns, str):
        columns = [columns]
    if not isinstance(columns, (list, tuple)) or not columns or len(set(map(str, columns))) != len(columns):
        raise ConfigError(f"columns should be distinct names, got {columns!r}")
    columns = [str(c) for c in columns]
    future = [] if future is None else ([future] if isinstance(future, str) else [str(f) for f in future])
    if targets is None:
        targets = [c for c in columns if c not in future]
    targets = [targets] if isinstance(targets, str) else [str(t) for t in targets]
    if not targets or any(t not in columns for t in targets):
        raise ConfigError(f"targets should be among the columns {columns}, got {targets!r}")
    if any(f not in columns for f in future) or set(future) & set(targets):
        raise ConfigError(f"future covariates should be columns that are not targets; got {future!r} (columns "
                          f"{columns}, targets {targets})")
    return columns, targets, future
