"""What the commands share: where output goes, JSON, and finding a run's model and its run."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import numpy as np

from rnnlab.errors import ConfigError, MissingDependency
from rnnlab.models import Model, load_model
from rnnlab.runs import CONFIG, MODEL, Run
from rnnlab.tasks import TASKS, config_from_dict


@contextlib.contextmanager
def report_stream(args):
    """Where the human report goes: stdout, or nowhere with --json (the JSON summary goes to stdout)."""
    yield io.StringIO() if args.json else sys.stdout


def print_json(obj) -> None:
    """``obj`` as one line of JSON on stdout (NumPy scalars and tuples included)."""

    def default(o):
        if isinstance(o, (np.floating, np.integer)):
            return o.item()
        if isinstance(o, tuple):
            return list(o)
        raise TypeError(type(o).__name__)

    print(json.dumps(obj, default=default))


def check_output(path: Path, force: bool, run_folder: Path | None = None) -> Path:
    """``path`` if a command may write it: not a folder, and new unless ``--force`` is given or the
    file is one of the run's own (inside ``run_folder``). rnnlab never replaces a file of yours
    unasked."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; give the path of a file to write")
    inside_run = run_folder is not None and path.resolve().parent == Path(run_folder).resolve()
    if path.exists() and not force and not inside_run:
        raise ConfigError(f"{path} exists, and rnnlab does not replace a file it did not write in a run folder: "
                          "choose another name, or add --force to replace it")
    return path


def resolve_model_path(target: Path) -> Path:
    """A run folder's model.npz, or the model file given."""
    if target.is_dir():
        path = target / MODEL
        if not path.exists():
            raise ConfigError(f"{target} has no {MODEL}: is it a run folder?")
        return path
    return target


def open_model(target: Path, kind: type[Model] | tuple = Model, command: str = "", hint: str = ""):
    """``(path, model)`` for a run folder or a model file, read once; the model must be a ``kind`` (or one of them),
    else a ConfigError saying what ``command`` needs (``hint``: the kind in words)."""
    path = resolve_model_path(target)
    model = load_model(path)
    if not isinstance(model, kind):
        raise ConfigError(f"{path} holds a {type(model).__name__}; {command} needs a {hint or kind.__name__}")
    return path, model


def run_of(target: Path, model) -> Run | None:
    """The run a model belongs to: its folder's config, else the run config in its header."""
    folder = target if target.is_dir() else target.parent
    if (folder / CONFIG).exists():
        return Run.open(folder)
    run_config = model.file_extra.get("run")
    if isinstance(run_config, dict) and run_config.get("task") in TASKS:
        task = TASKS[run_config["task"]]
        return Run(folder, config_from_dict(task, run_config), task)
    return None


def task_plots(run: Run, model) -> list:
    """The task's own pictures (confusion matrix, forecast) into the run folder; none without matplotlib."""
    try:
        return run.task.plots(model, run.config, run.folder)
    except MissingDependency:
        return []
