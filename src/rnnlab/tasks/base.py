"""The Task interface, and building checked config dataclasses from plain dicts."""

from __future__ import annotations

from dataclasses import MISSING, asdict, field, fields
from typing import ClassVar

from rnnlab.errors import ConfigError
from rnnlab.training.config import TrainConfig

SECTIONS = ("data", "model", "train")


def option(default, help_text: str, choices=None, **extra):
    """A config dataclass field that becomes a command-line option (``positional=True``: the
    command's positional argument instead)."""
    return field(default=default, metadata={"help": help_text, "choices": choices, "cli": True, **extra})


def check_fraction(name: str, value) -> None:
    """A ConfigError unless ``value`` is a number strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
        raise ConfigError(f"{name} should be between 0 and 1, got {value!r}")


def dataclass_from_dict(cls, values: dict, section: str):
    """Build ``cls(**values)``; unknown keys and bad values are ConfigErrors naming the section."""
    if not isinstance(values, dict):
        raise ConfigError(f"the [{section}] section should be a table of options, got {type(values).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown [{section}] option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"invalid [{section}] options: {exc}") from None


def config_from_dict(task: Task, config: dict) -> dict:
    """Validate a whole run config ``{task, seed, data, model, train}`` and fill in defaults.

    Returns the complete config as plain dicts (what ``config.json`` holds).
    """
    if not isinstance(config, dict):
        raise ConfigError("a run config should be a table with task, seed, data, model and train")
    unknown = sorted(set(config) - {"task", "seed", *SECTIONS})
    if unknown:
        raise ConfigError(f"unknown top-level config entries {', '.join(unknown)}; known: task, seed, "
                          + ", ".join(SECTIONS))
    if config.get("task", task.name) != task.name:
        raise ConfigError(f"this config is for task {config.get('task')!r}, not {task.name!r}")
    seed = config.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed should be a non-negative integer, got {seed!r}")
    data = dataclass_from_dict(task.data_config, {**config.get("data", {})}, "data")
    model = dataclass_from_dict(task.model_config, {**config.get("model", {})}, "model")
    train = dataclass_from_dict(TrainConfig, {**task.train_defaults, **config.get("train", {})}, "train")
    task.check_model_config(model)
    return {"task": task.name, "seed": seed, "data": asdict(data), "model": asdict(model), "train": train.to_dict()}


def field_default(f):
    """A dataclass field's default value (None when it has none)."""
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return None


class Task:
    """A trainable task (see the package docstring). Subclasses set the class attributes
    ``name``, ``description``, ``data_config``, ``model_config`` and ``train_defaults``, and
    implement the methods below."""

    name = ""
    description = ""
    data_config: type = object
    model_config: type = object
    train_defaults: ClassVar[dict] = {}

    def check_model_config(self, model_cfg) -> None:
        """Extra cross-field checks of the model config (raise ConfigError); each value is checked
        by the model's constructor when the run builds it."""

    def build_data(self, data_cfg, rng_data, rng_val, train_cfg: dict) -> tuple[tuple, tuple]:  # pragma: no cover
        """``(train arrays, validation arrays)`` for the trainer (train_cfg: the run's [train] table)."""
        raise NotImplementedError

    def build_model(self, model_cfg, rng, data_cfg):  # pragma: no cover - abstract
        """A freshly initialised model (data_cfg: what it is for, e.g. the vocabulary's text)."""
        raise NotImplementedError

    def plots(self, model, config: dict, folder) -> list:
        """Draw the task's own pictures of a trained model into ``folder`` (e.g. a confusion
        matrix); return the paths written. Called after training and by ``rnnlab plot``."""
        return []

    def evaluate_file(self, model, config: dict, path, out) -> dict:
        """Evaluate ``model`` on a data file of this task's kind (``rnnlab evaluate RUN --data FILE``)."""
        raise ConfigError(f"the {self.name} task has no --data evaluation; its held-out data is rebuilt from the run")

    def report(self, model, config: dict, validation: tuple, out) -> dict:  # pragma: no cover - abstract
        """Print the held-out results to the text stream ``out``; return them as a JSON-able dict."""
        raise NotImplementedError

    def intro(self, config: dict, train: tuple, out) -> None:
        """Print what the data looks like before training (optional)."""

    def title(self, config: dict) -> str:
        """A one-line description of a run, for plot titles."""
        return f"{config['model'].get('cell', 'model').upper()} on the {self.name} task"

    def loss_label(self, config: dict) -> str:
        """What the loss is, for the loss curve's axis."""
        return "mean cross-entropy per step (nats)"

    def plot_floor(self, config: dict) -> float | None:
        """The best achievable loss, drawn on the loss curve (None: none known)."""
        return None
