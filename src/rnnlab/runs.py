"""Run folders: everything about one training run, written as it goes.

::

    RUN/
      config.json   the complete run config (task, seed, data, model, train): enough to rebuild
                    the data and the model and to train again
      model.npz     the model at its best epoch on the monitored metric (validation loss by default)
      last.npz      the latest checkpoint: model, optimizer, generators, counters, history
      history.csv   one row per epoch: losses, accuracies, learning rate, time, sequences/s
      loss.png      the training curves (when matplotlib is installed)

Every file is written atomically. ``last.npz`` is written at the end of every epoch and on
Ctrl-C, never after a diverged step, so it always holds the last good state; an existing run
folder is never overwritten by a new run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
import tomllib
from pathlib import Path

import numpy as np

from rnnlab.errors import ConfigError, MissingDependency
from rnnlab.fingerprints import FINGERPRINTS, changed_files, record
from rnnlab.io import atomic_write_text
from rnnlab.models import load_model
from rnnlab.tasks import TASKS, RunConfig, Task, TaskData, config_from_dict
from rnnlab.training import TrainConfig, Trainer

CONFIG, MODEL, CHECKPOINT, HISTORY, PLOT = "config.json", "model.npz", "last.npz", "history.csv", "loss.png"
LOCK = ".lock"
PLOT_INTERVAL_S = 5.0  # the curves are redrawn after an epoch at most this often (and always at the end)


def default_folder(task: str) -> Path:
    """``runs/<task>-<timestamp>``, made unique if that folder exists."""
    base = Path("runs") / f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, k = base, 1
    while path.exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


class RunLock:
    """An OS-level lock on a run folder, held while one process trains or resumes it.

    It is ``flock`` on ``RUN/.lock``: a second process (or a second command in this one) that
    asks for it is refused at once, and the operating system lets go when the holder ends, so
    a crashed or killed process never leaves a run locked. The file itself stays (removing
    it would race with a process about to lock it).
    """

    def __init__(self, folder: Path):
        self.path = Path(folder) / LOCK
        self.fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock, or raise a ConfigError saying the run is in use."""
        import fcntl  # POSIX; imported here so that the rest of rnnlab loads anywhere

        if not self.path.parent.is_dir():
            raise ConfigError(f"there is no run folder {self.path.parent}")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError(f"cannot lock the run folder {self.path.parent}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConfigError(f"{self.path.parent} is in use by another rnnlab process (training or resuming it); "
                              "wait for it to finish, or choose another --out") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    def release(self) -> None:
        """Let go of the lock (closing the file releases it)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def read_config_file(path: Path) -> dict:
    """A run config file (``--config``): a JSON object or a TOML document, as a dict."""
    if not path.is_file():
        raise ConfigError(f"no config file at {path}" if not path.exists() else f"{path} is not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(text)
        if path.suffix.lower() == ".json":
            value = json.loads(text)
            if not isinstance(value, dict):
                raise ConfigError(f"{path} should hold a JSON object")
            return value
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ConfigError(f"{path} is not valid {path.suffix[1:].upper()}: {exc}") from None
    raise ConfigError(f"{path}: a config file should end in .json or .toml")


def get_task(name: str) -> Task:
    """The task called ``name``, or a ConfigError listing the known ones."""
    try:
        return TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}") from None


class Run:
    """One run folder and its config (see the module docstring). Build with :meth:`create` or :meth:`open`."""

    def __init__(self, folder: Path, config: RunConfig, task: Task):
        self.folder = Path(folder)
        self.config = config
        self.task = task
        self.plots = True
        self._last_plot = 0.0
        self.lock: RunLock | None = None
        self.fresh = False  # a new run: new_trainer writes its config.json (over a never-checkpointed one)
        self.made_folder = False
        self.allow_changed_data = False  # data(): go on (with a note) when a data file changed since training
        self.notes: list[str] = []  # what a command should tell the user (e.g. that a data file changed)

    # -- creating and opening ---------------------------------------------------------------------
    @classmethod
    def create(cls, folder, config: dict) -> Run:
        """Start a new run in ``folder`` with a config (a dict, validated here), and lock it.

        The folder must be new, empty, or a run that never saved a checkpoint (training then
        starts again). A folder holding a run is refused (resume it), and so is one holding
        files of its own: rnnlab never writes over what it did not write. ``config.json`` is
        written by the first :meth:`new_trainer`, once the model has been built, so a config
        the model rejects never leaves a half-made run behind. Call :meth:`close` when done.
        """
        if str(folder).strip() == "":
            raise ConfigError("--out should name a folder for the run, got an empty name")
        folder = Path(folder)
        task = get_task(config.get("task", ""))
        config = config_from_dict(task, config)
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"--out {folder} is a file; give a folder")
        made = not folder.exists()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot make the run folder {folder}: {exc.strerror or exc}") from None
        run = cls(folder, config, task)
        run.fresh, run.made_folder = True, made
        run.check_new_folder()  # before locking, so that a refused folder gets no lock file either
        run.lock = RunLock(folder).acquire()
        try:
            run.check_new_folder()  # again under the lock: another process may have written meanwhile
        except BaseException:
            run.close()
            raise
        return run

    def check_new_folder(self) -> None:
        """Refuse a folder holding a run with a checkpoint, or files rnnlab did not write."""
        names = sorted(p.name for p in self.folder.iterdir() if p.name != LOCK)
        if (self.folder / CHECKPOINT).exists():
            raise ConfigError(f"{self.folder} already holds a run; continue it with `rnnlab resume {self.folder}` "
                              "or choose another --out")
        own = {CONFIG, MODEL, HISTORY, PLOT, FINGERPRINTS}  # a run that never saved a checkpoint: it starts again
        foreign = [n for n in names if n not in own] if CONFIG in names else names
        if foreign:
            shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
            raise ConfigError(f"{self.folder} holds files that are not an rnnlab run ({shown}); rnnlab never writes "
                              "over them: choose a new or empty folder with --out")

    def close(self) -> None:
        """Release the run folder's lock (the process ending releases it too). A folder this run
        made and never wrote to (the data or the model was refused) is removed: nothing half-made."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None
            if self.made_folder and [p.name for p in self.folder.iterdir()] == [LOCK]:
                with contextlib.suppress(OSError):  # another process may just have opened it: leave it
                    (self.folder / LOCK).unlink()
                    self.folder.rmdir()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @classmethod
    def open(cls, folder, lock: bool = False) -> Run:
        """Open an existing run folder (its config is validated again); ``lock=True`` (to train it
        further) also takes its lock, released by :meth:`close`."""
        folder = Path(folder)
        path = folder / CONFIG
        if not folder.is_dir():
            raise ConfigError(f"{folder} is not a run folder (no such folder)")
        if not path.exists():
            raise ConfigError(f"{folder} is not a run folder: it has no {CONFIG}")
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ConfigError(f"{path} is not valid JSON ({type(exc).__name__}: {exc})") from None
        if not isinstance(config, dict):
            raise ConfigError(f"{path} should hold a JSON object")
        task = get_task(config.get("task", ""))
        run = cls(folder, config_from_dict(task, config), task)
        if lock:
            run.lock = RunLock(folder).acquire()
        return run

    def save_config(self) -> None:
        """(Re)write config.json (at the start, and after ``resume --epochs`` changed the planned total)."""
        atomic_write_text(self.folder / CONFIG, json.dumps(self.config.to_dict(), indent=2) + "\n")

    # -- building ---------------------------------------------------------------------------------
    def _seeds(self):
        """Generators for (data, validation data, initial weights) and the shuffling seed, from the run seed."""
        ss = np.random.SeedSequence(self.config.seed).spawn(4)
        gens = [np.random.default_rng(s) for s in ss[:3]]
        return gens[0], gens[1], gens[2], int(ss[3].generate_state(1)[0])

    def data(self) -> TaskData:
        """The run's data (training and validation arrays), rebuilt from the config and the seed.

        A run that recorded its data files' fingerprints refuses to rebuild from a changed file
        (a ConfigError naming it) unless ``allow_changed_data`` is set, when ``notes`` get a line.
        """
        files = self.task.data_files(self.config)
        if not self.fresh:
            changed = changed_files(self.folder, files)
            if changed and not self.allow_changed_data:
                raise ConfigError(f"{', '.join(changed)} changed since {self.folder} was trained (its content "
                                  "fingerprint differs): restore it, or pass --allow-changed-data to go on with the "
                                  "new content")
            self.notes += [f"note: {p} changed since {self.folder} was trained; using its new content"
                           for p in changed]
        rng_data, rng_val, _, _ = self._seeds()
        return self.task.prepare(self.config, rng_data, rng_val)

    def new_trainer(self, progress: bool | None = None, log_every: int | None = None) -> tuple[Trainer, TaskData]:
        """A fresh model and its Trainer: ``(trainer, data)``; the data is read once for both."""
        _, _, rng_init, shuffle_seed = self._seeds()
        data = self.data()
        model = self.task.build_model(self.config, data, rng_init)
        cfg = self._train_config(shuffle_seed, progress, log_every)
        trainer = Trainer(model, data.train, cfg, validation=data.validation)
        if self.fresh or not (self.folder / CONFIG).exists():
            self.save_config()
            record(self.folder, self.task.data_files(self.config))
            self.fresh = False
        return trainer, data

    def _train_config(self, shuffle_seed: int, progress, log_every) -> TrainConfig:
        epochs = self.config.train.epochs
        return dataclasses.replace(self.config.train, seed=shuffle_seed, progress=progress,
                                   log_every=max(1, epochs // 10) if log_every is None else log_every)

    def resume_trainer(self, progress: bool | None = None, log_every: int | None = None):
        """The Trainer restored from ``last.npz``: ``(trainer, data)``."""
        path = self.folder / CHECKPOINT
        if not path.exists():
            raise ConfigError(f"{self.folder} has no checkpoint ({CHECKPOINT}) to resume from: no epoch of it "
                              f"finished; start it again with `rnnlab train {self.task.name} --out {self.folder}` "
                              "(and the options it had)")
        trainer, data = self.new_trainer(progress, log_every)
        if self.notes:  # a data file changed (and that was allowed): go on with the model saved, on the new data
            trainer = Trainer(load_model(path), data.train, trainer.config, validation=data.validation)
        trainer.load_checkpoint(path)
        return trainer, data

    # -- saving as training goes --------------------------------------------------------------------
    def model_extra(self, trainer: Trainer) -> dict:
        """What model.npz's header records about the run."""
        row = trainer.history.rows[-1] if trainer.history.rows else {}
        return {"task": self.task.name, "run": self.config.to_dict(), "epoch": trainer.epoch,
                "monitor": trainer.monitor, "best": trainer.best,
                "val_loss": row.get("val_loss"), "val_accuracy": row.get("val_accuracy")}

    def on_epoch_end(self, trainer: Trainer) -> None:
        """Checkpoint, best model, history and (now and then) the curves."""
        trainer.save_checkpoint(self.folder / CHECKPOINT, extra={"task": self.task.name})
        if trainer.best_is_last or not (self.folder / MODEL).exists():
            trainer.model.save(self.folder / MODEL, extra=self.model_extra(trainer))
        trainer.history.save_csv(self.folder / HISTORY)
        now = time.monotonic()
        if self.plots and now - self._last_plot > PLOT_INTERVAL_S:
            self.plot(trainer.history)
            self._last_plot = time.monotonic()

    def on_interrupt(self, trainer: Trainer) -> Path:
        """Ctrl-C: checkpoint the exact position (mid-epoch included)."""
        return trainer.save_checkpoint(self.folder / CHECKPOINT, extra={"task": self.task.name})

    def plot(self, history, path=None) -> Path | None:
        """Draw the training curves into ``path`` (default loss.png); None (no error) without matplotlib."""
        from rnnlab.plot import plot_history

        try:
            return plot_history(history, path or self.folder / PLOT, title=self.task.title(self.config),
                                floor=self.task.plot_floor(self.config), loss_label=self.task.loss_label(self.config))
        except MissingDependency:  # matplotlib missing: everything else is still saved
            self.plots = False
            return None
