"""Forecaster: a window of a series -> its next ``horizon`` values (many to one)."""

from __future__ import annotations

import math

import numpy as np

from rnnlab._checks import check_int
from rnnlab.errors import ConfigError, DataError, RnnlabError, ShapeError
from rnnlab.models.base import BatchResult
from rnnlab.models.encoder import SequenceEncoder, check_values

LOSSES = ("mse", "mae")


class Forecaster(SequenceEncoder):
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

    has_accuracy = False

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
        self.build_encoder(len(columns), self.horizon * len(targets), cell, hidden_size, num_layers, False, dropout,
                           "last", mean, std, dtype, rng)
        self.scaled = mean is not None and std is not None  # else fit_scaling must come first
        self._last = None

    def get_config(self) -> dict:
        config = {"columns": list(self.columns), "targets": list(self.targets), "horizon": self.horizon,
                  "window": self.window,
                  **self.encoder_config(), "relative": self.relative, "loss": self.loss_name}
        del config["bidirectional"], config["pooling"]
        return config

    @classmethod
    def parameter_shapes(cls, config: dict) -> dict[str, tuple]:
        columns, targets = config.get("columns"), config.get("targets", config.get("columns"))
        if not isinstance(columns, list) or not isinstance(targets, list):
            raise ConfigError("the config's columns and targets should be lists of names")
        horizon = check_int("horizon", config.get("horizon", 1))
        return cls.encoder_shapes(config, len(columns), horizon * len(targets))

    def describe(self) -> str:
        """A one-line summary of the architecture."""
        return (f"{self.describe_encoder()} -> {self.horizon} step(s) of {', '.join(self.targets)}"
                + (" (relative to the last value)" if self.relative else ""))

    def fit_scaling(self, train_values) -> Forecaster:
        """Set the scaling from the training part of the series, (T, C); returns self."""
        v = np.asarray(train_values, dtype=np.float64)
        if v.ndim != 2 or v.shape[1] != self.input_size or v.shape[0] == 0:
            raise ShapeError(f"train_values should be (T, {self.input_size}), got {v.shape}")
        check_values(v, self.columns, "train_values")
        self.set_scaling(v)
        self.scaled = True
        return self

    # -- data ---------------------------------------------------------------------------------------
    def check_data(self, x, y):
        """Validate windows x (N, W, C) and targets y (N, h, K), in the series' units."""
        x = self.check_windows(x, "inputs")
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
            out = self.outputs(x - x[:, -1:, :] + self.mean, None)
        else:
            out = self.outputs(x, None)
        pred = out.reshape(x.shape[0], self.horizon, len(self.targets)).astype(np.float64)
        if self.relative:
            last = (x[:, -1, :] - self.mean) / self.std  # (N, C) scaled
            pred = pred + last[:, None, self.target_index]
        return pred

    def loss(self, x, y) -> float:
        """Mean squared (or absolute) error on scaled values; keeps what :meth:`backward` needs."""
        return self._loss(*self.check_data(x, y))[0]

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
        return loss, None  # (loss, correct) like every model's; a forecast has no "correct"

    def train_batch(self, x, y) -> BatchResult:
        """One forward and backward pass on validated data (see :meth:`check_data`)."""
        loss, _ = self._loss(x, y)
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

    def predict(self, x) -> np.ndarray:
        """Forecasts (N, h, K) in the series' units for windows x (N, W, C) (evaluation mode)."""
        x = self.check_windows(x)
        t = self.target_index
        scaled = self.batched(lambda a, _: self._predict_scaled(a), x, None)
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
        x = self.check_windows(x)
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
