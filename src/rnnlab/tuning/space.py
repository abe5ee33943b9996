"""Search spaces: which run options a study varies, over what ranges, named as on the command line.

A space maps option names (``lr``, ``hidden-size``, ``seq-len``: the ``rnnlab train`` option
without its dashes) to a :class:`Param`: a range (``low``, ``high``, optionally ``log`` or
``step``) or a list of ``choices``. Each task has a default (:func:`default_space`); a TOML file
overrides or adds entries::

    lr = { low = 1e-4, high = 1e-2, log = true }
    hidden-size = { low = 32, high = 256, step = 32 }
    cell = ["lstm", "gru"]

Every bound and choice is checked by the same rules as a run config, before anything runs.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

from rnnlab.config import base_type
from rnnlab.errors import ConfigError
from rnnlab.tasks import config_from_dict
from rnnlab.training import TrainConfig


@dataclasses.dataclass(frozen=True)
class Param:
    """One searched option: ``key`` ("train.lr"), and either ``choices`` or ``low``..``high``
    (``log``: sampled on a log scale; ``step``: a grid); ``kind`` is "int", "float" or "choice"."""

    key: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple = ()

    def suggest(self, trial):
        """The value an Optuna trial proposes for this option."""
        name = self.key.split(".", 1)[1]
        if self.kind == "choice":
            return trial.suggest_categorical(name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(name, int(self.low), int(self.high), log=self.log, step=int(self.step or 1))
        return trial.suggest_float(name, self.low, self.high, log=self.log, step=self.step)


def option_keys(task) -> dict[str, tuple[str, dataclasses.Field]]:
    """Each command-line option name of a task's run (``hidden-size``) -> ("model.hidden_size", its field)."""
    keys = {}
    for section, cls in (("data", task.data_config), ("model", task.model_config), ("train", TrainConfig)):
        for f in dataclasses.fields(cls):
            if f.metadata.get("cli", True) and not f.metadata.get("positional"):
                keys[f.name.replace("_", "-")] = (f"{section}.{f.name}", f)
    return keys


def default_space(task) -> dict[str, Param]:
    """The task's default search: the learning rate (log-uniform), the batch size, the hidden size,
    depth, dropout and cell, and the sequence length or window where the task has one."""
    keys = option_keys(task)
    space = {"lr": {"low": 1e-4, "high": 3e-2, "log": True}, "batch-size": [16, 32, 64, 128],
             "hidden-size": {"low": 16, "high": 256, "log": True}, "num-layers": {"low": 1, "high": 3},
             "dropout": {"low": 0.0, "high": 0.5}, "cell": ["rnn", "lstm", "gru"] if task.name == "letters"
             else ["lstm", "gru"]}
    if task.name == "text":
        space["seq-len"] = [50, 100, 200]
    if task.name == "forecast":
        window = next(f.default for f in dataclasses.fields(task.data_config) if f.name == "window")
        space["window"] = {"low": max(2, window // 4), "high": window * 2, "log": True}
    return {name: make_param(task, keys, name, spec, "the default space") for name, spec in space.items()}


def make_param(task, keys, name: str, spec, where: str) -> Param:
    """A checked Param from a space entry (a table of bounds, or a list of choices)."""
    if name not in keys:
        raise ConfigError(f"{where}: {name!r} is not an option of rnnlab train {task.name}; searchable: "
                          + ", ".join(sorted(keys)))
    key, f = keys[name]
    numeric = {"int": int, "float": float}.get(base_type(f)[0])
    if isinstance(spec, list):
        if not spec:
            raise ConfigError(f"{where}: {name} lists no choices")
        param = Param(key, "choice", choices=tuple(spec))
        values = spec
    elif isinstance(spec, dict):
        unknown = sorted(set(spec) - {"low", "high", "log", "step"})
        if unknown or "low" not in spec or "high" not in spec:
            raise ConfigError(f"{where}: {name} should be a list of choices or a table with low and high "
                              f"(and log or step){'; unknown: ' + ', '.join(unknown) if unknown else ''}")
        if numeric is None:
            raise ConfigError(f"{where}: {name} is not a number: give its choices as a list, e.g. {name} = [...]")
        low, high, log, step = spec["low"], spec["high"], spec.get("log", False), spec.get("step")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)) or low >= high:
            raise ConfigError(f"{where}: {name} needs numbers low < high, got low {low!r}, high {high!r}")
        if not isinstance(log, bool) or (log and low <= 0) or (log and step is not None):
            raise ConfigError(f"{where}: {name}: log = true needs low > 0 and no step")
        if step is not None and not (isinstance(step, (int, float)) and not isinstance(step, bool) and step > 0):
            raise ConfigError(f"{where}: {name}: step should be a positive number, got {step!r}")
        if numeric is int and not all(isinstance(v, int) for v in (low, high, step or 1)):
            raise ConfigError(f"{where}: {name} is a whole number: low, high and step should be integers")
        param = Param(key, numeric.__name__, float(low) if numeric is float else low,
                      float(high) if numeric is float else high, log, step)
        values = [low, high]
    else:
        raise ConfigError(f"{where}: {name} should be a list of choices or a table with low and high, "
                          f"got {spec!r}")
    for value in values:  # every bound and choice obeys the option's own rules
        check_value(task, key, value, f"{where}: {name} = {value!r}")
    return param


def check_value(task, key: str, value, where: str) -> None:
    section, name = key.split(".", 1)
    try:
        config_from_dict(task, {"task": task.name, section: {name: value}})
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def read_space(path, task, fixed=()) -> dict[str, Param]:
    """The task's default space, overridden and extended by the TOML file at ``path`` (or None),
    without the options in ``fixed`` (given on the command line: they are not searched)."""
    space = default_space(task)
    if path is not None:
        path = Path(path)
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read the space file {path}: {exc.strerror or exc}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from None
        keys = option_keys(task)
        for name, spec in table.items():
            space[name] = make_param(task, keys, name, spec, str(path))
    fixed_keys = set(fixed)
    space = {name: p for name, p in space.items() if p.key not in fixed_keys}
    if not space:
        raise ConfigError("nothing is left to search: every option of the space is fixed on the command line")
    return space
