"""Model: a Module that knows its configuration, so it can be saved, loaded and trained.

Subclasses implement ``get_config()`` (JSON-able constructor arguments), ``check_data``,
``train_batch`` (returning a :class:`BatchResult`) and ``evaluate``; they get ``save`` / ``load`` and ``fit`` from here.
Every subclass is registered by class name, so :func:`load_model` can rebuild any
saved model from its file alone.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path
from typing import NamedTuple

from rnnlab import io
from rnnlab.errors import ConfigError, ModelFileError, RnnlabError
from rnnlab.nn.module import Module, resolve_dtype

MODEL_TYPES: dict[str, type[Model]] = {}


class BatchResult(NamedTuple):
    """What every model's ``train_batch`` returns: ``loss`` (the batch mean), ``correct`` (how many
    predictions were right; None for a model with no accuracy, see ``Model.has_accuracy``) and
    ``count`` (how many items, or their total weight, the mean is over)."""

    loss: float
    correct: float | None
    count: float


class Model(Module):
    """Base class of the task models (see the module docstring)."""

    has_accuracy = True  # False: a regressor (the Forecaster), whose BatchResult.correct is None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        MODEL_TYPES[cls.__name__] = cls

    def get_config(self) -> dict:  # pragma: no cover - abstract
        """The constructor arguments, JSON-able, from which ``type(self)(**config)`` rebuilds the model."""
        raise NotImplementedError

    @classmethod
    def parameter_shapes(cls, config: dict) -> dict[str, tuple] | None:
        """The parameter names and shapes a config implies, computed without building the model.

        Loading compares them with a file's arrays *before* allocating anything, so a file
        declaring a huge model cannot exhaust memory. None: not available for this model
        (the model is then built first).
        """
        return None

    @classmethod
    def from_config(cls, config: dict, rng=0) -> Model:
        """Build a model from ``get_config()`` output (parameters freshly initialised from ``rng``)."""
        if not isinstance(config, dict):
            raise ConfigError(f"a model config should be a JSON object, got {type(config).__name__}")
        allowed = set(inspect.signature(cls.__init__).parameters) - {"self", "rng"}
        unknown = sorted(set(config) - allowed)
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} config entries: {', '.join(unknown)}")
        try:
            return cls(**config, rng=rng)
        except TypeError as exc:
            raise ConfigError(f"invalid {cls.__name__} config: {exc}") from None

    def matches_config(self, saved) -> bool:
        """Whether a saved config (a checkpoint's) describes this model: equal to :meth:`get_config`,
        or equal once rebuilt (a file written before an option existed lacks it, and gets its default)."""
        current = self.get_config()
        if saved == current:
            return True
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # construction advice was given when it was built
                return type(self).from_config(saved).get_config() == current
        except (RnnlabError, TypeError, ValueError):
            return False

    # -- training ------------------------------------------------------------------------
    def start_epoch(self) -> None:
        """Called by the trainer at the start of every epoch (a stateful model resets its carried state)."""

    def carried_state(self) -> dict:
        """Arrays a stateful model carries from one training batch to the next (saved in checkpoints)."""
        return {}

    def set_carried_state(self, arrays: dict) -> None:
        """Restore :meth:`carried_state` output from a checkpoint."""

    def fit(self, *data, validation=None, **options):
        """Train on ``data`` (the model's training arrays, e.g. ``inputs, targets``); returns a History.

        Keyword arguments are :class:`~rnnlab.training.TrainConfig` fields (epochs, batch_size,
        optimizer, lr, weight_decay, clip_norm, clip_value, seed, progress, ...); ``optimizer``
        may also be an :class:`~rnnlab.optim.Optimizer` instance, whose state then carries
        over between calls. ``validation``: a tuple of arrays like ``data``, evaluated after
        every epoch. Training continues from the current parameters.
        """
        # training builds on models (docs/architecture.md), so it is imported when used
        from rnnlab.optim import Optimizer
        from rnnlab.training import TrainConfig, fit

        optimizer = options.pop("optimizer") if isinstance(options.get("optimizer"), Optimizer) else None
        return fit(self, data, TrainConfig.from_dict(options), validation=validation, optimizer=optimizer)

    # -- files ---------------------------------------------------------------------------
    def save(self, path, extra: dict | None = None) -> Path:
        """Save parameters and configuration to ``path`` (an ``.npz`` file), atomically.

        ``extra`` is a JSON-able dict stored in the header (e.g. training summary).
        Returns the path written. The file loads with :meth:`load` or :func:`load_model`.
        """
        header = {"model": type(self).__name__, "config": self.get_config(), "extra": extra or {}}
        return io.save_arrays(path, self.state_dict(), header)

    def to_onnx(self, path) -> Path:
        """Export to ONNX, to serve with onnxruntime or any ONNX runtime (the ``onnx`` extra).

        Written atomically after ``onnx.checker``'s full check; returns the path. The graph's inputs
        and outputs are described in :mod:`rnnlab.interop.onnx` and docs/export.md.
        """
        from rnnlab.interop.onnx import to_onnx

        return to_onnx(self, path)

    @classmethod
    def load(cls, path) -> Model:
        """Load a model saved by :meth:`save` (or from a training checkpoint); it must be a ``cls``.

        Every array is checked against the model its header declares (names, shapes,
        dtype, finite values); any mismatch raises :class:`~rnnlab.errors.ModelFileError`.
        The header's ``extra`` dict is available as ``model.file_extra``, and the whole header
        (format version, kind, a checkpoint's training state) as ``model.file_header``, so a
        caller never reads the file twice.
        """
        header, arrays = io.load_arrays(path)
        if header.get("kind") == "checkpoint":  # a training checkpoint also holds the model
            arrays = {k[len("model.") :]: v for k, v in arrays.items() if k.startswith("model.")}
        kind = header.get("model")
        target = MODEL_TYPES.get(kind) if isinstance(kind, str) else None
        if target is None:
            raise ModelFileError(f"{path} holds a model of unknown type {kind!r}")
        if not issubclass(target, cls):
            raise ModelFileError(f"{path} holds a {kind}, not a {cls.__name__}")
        config = header.get("config")
        try:
            if not isinstance(config, dict):
                raise ConfigError(f"the config should be a JSON object, got {type(config).__name__}")
            shapes = target.parameter_shapes(config)
            if shapes is not None:  # check the file against its config before allocating anything
                io.check_arrays(path, arrays, shapes, resolve_dtype(config.get("dtype", "float32")))
            with warnings.catch_warnings():  # construction advice (e.g. dropout on one layer) was given at build time
                warnings.simplefilter("ignore", UserWarning)
                model = target.from_config(config)
        except ConfigError as exc:
            raise ModelFileError(f"{path} has an invalid model configuration: {exc}") from None
        expected = {name: p.shape for name, p, _ in model.named_parameters()}
        io.check_arrays(path, arrays, expected, model.dtype)
        model.load_state_dict(arrays)
        extra = header.get("extra", {})
        model.file_extra = extra if isinstance(extra, dict) else {}
        model.file_header = header
        return model


def load_model(path) -> Model:
    """Load any rnnlab model file, whatever its model type."""
    return Model.load(path)

