"""The Task contract, a run's typed config, and the recurrent model options the tasks share."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, NamedTuple

from rnnlab.config import check_fields, from_dict, option
from rnnlab.errors import ConfigError
from rnnlab.nn.recurrent_params import check_layer_norm, check_proj_size
from rnnlab.training.config import TrainConfig

SECTIONS = ("data", "model", "train")
CELLS = ("rnn", "lstm", "gru")
DTYPES = ("float32", "float64")


@dataclass
class RecurrentModelConfig:
    """The options every task's model has: a recurrent encoder's cell, sizes, dropout and precision.

    Each task's model config derives from it, adding its own fields and its own defaults.
    """

    cell: str = option("lstm", "recurrent cell", choices=CELLS)
    hidden_size: int = option(64, "recurrent hidden units", minimum=1)
    num_layers: int = option(1, "stacked recurrent layers", minimum=1)
    dropout: float = option(0.0, "dropout between stacked layers, in training only", minimum=0.0, below=1.0)
    proj_size: int = option(0, "LSTM only: project each step's output down to this size, below hidden-size "
                               "(PyTorch's proj_size); 0: no projection", minimum=0)
    recurrent_dropout: float = option(0.0, "dropout on the state entering each step's recurrent product, one "
                                           "mask per sequence for all steps (Gal and Ghahramani), in training only",
                                      minimum=0.0, below=1.0)
    layer_norm: bool = option(False, "LSTM and GRU: layer-normalise both gate products and the LSTM's cell "
                                     "state (Ba et al. 2016)")
    dtype: str = option("float32", "floating-point precision", choices=DTYPES)

    def __post_init__(self):
        check_fields(self)
        check_proj_size(self.cell, self.hidden_size, self.proj_size)
        check_layer_norm(self.cell, self.layer_norm)


@dataclass
class RunConfig:
    """A whole run's config, typed: ``task``, ``seed``, and the ``data``, ``model`` and ``train``
    sections as the task's dataclasses (what ``config.json`` holds, as plain dicts, see :meth:`to_dict`)."""

    task: str
    seed: int
    data: Any
    model: Any
    train: TrainConfig

    def to_dict(self) -> dict:
        """The config as plain, JSON-able dicts."""
        return {"task": self.task, "seed": self.seed, "data": asdict(self.data), "model": asdict(self.model),
                "train": self.train.to_dict()}


class TaskData(NamedTuple):
    """A task's data, read and split once: the training and validation arrays for the Trainer,
    and what the task learned while reading (e.g. the vocabulary, the series' columns)."""

    train: tuple
    validation: tuple
    info: dict


def config_from_dict(task: Task, config) -> RunConfig:
    """Validate a whole run config ``{task, seed, data, model, train}``, fill in the defaults, and
    return it typed. Unknown entries and bad values are ConfigErrors naming them."""
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
    sections = {}
    for name in SECTIONS:
        values = config.get(name, {})
        if not isinstance(values, dict):
            raise ConfigError(f"the [{name}] section should be a table of options, got {type(values).__name__}")
        sections[name] = values
    run = RunConfig(task.name, seed, from_dict(task.data_config, sections["data"], "data"),
                    from_dict(task.model_config, sections["model"], "model"),
                    from_dict(TrainConfig, {**task.train_defaults, **sections["train"]}, "train"))
    task.check_config(run)
    return run


class Task:
    """A trainable task. Subclasses set ``name``, ``description``, ``data_config``,
    ``model_config`` (dataclasses whose fields are the command line's options) and
    ``train_defaults``, and implement :meth:`prepare`, :meth:`build_model` and :meth:`report`.
    Every method takes the run's typed :class:`RunConfig`."""

    name = ""
    description = ""
    data_config: type = object
    model_config: type = RecurrentModelConfig
    train_defaults: ClassVar[dict] = {}

    def check_config(self, config: RunConfig) -> None:
        """Checks across fields or sections (raise ConfigError); each field was checked on its own."""

    def prepare(self, config: RunConfig, rng_data, rng_val) -> TaskData:  # pragma: no cover - abstract
        """Read (or generate) the data and split it, once: the :class:`TaskData` the model and the
        trainer are built from. rng_data and rng_val: the run's generators for them."""
        raise NotImplementedError

    def build_model(self, config: RunConfig, data: TaskData, rng):  # pragma: no cover - abstract
        """A freshly initialised model for ``data`` (its vocabulary, columns, scaling)."""
        raise NotImplementedError

    def data_files(self, config: RunConfig) -> list:
        """The files the run's data is read from (their fingerprints are kept with the run); none
        for generated data."""
        return []

    def report(self, model, config: RunConfig, validation: tuple, out) -> dict:  # pragma: no cover - abstract
        """Print the held-out results to the text stream ``out``; return them as a JSON-able dict."""
        raise NotImplementedError

    def plots(self, model, config: RunConfig, folder) -> list:
        """Draw the task's own pictures of a trained model into ``folder`` (e.g. a confusion
        matrix); return the paths written. Called after training and by ``rnnlab plot``."""
        return []

    def evaluate_file(self, model, config: RunConfig, path, out) -> dict:
        """Evaluate ``model`` on a data file of this task's kind (``rnnlab evaluate RUN --data FILE``)."""
        raise ConfigError(f"the {self.name} task has no --data evaluation; its held-out data is rebuilt from the run")

    def intro(self, config: RunConfig, data: TaskData, out) -> None:
        """Print what the data looks like before training (optional)."""

    def title(self, config: RunConfig) -> str:
        """A one-line description of a run, for plot titles."""
        return f"{config.model.cell.upper()} on the {self.name} task"

    def loss_label(self, config: RunConfig) -> str:
        """What the loss is, for the loss curve's axis."""
        return "mean cross-entropy per step (nats)"

    def plot_floor(self, config: RunConfig) -> float | None:
        """The best achievable loss, drawn on the loss curve (None: none known)."""
        return None
