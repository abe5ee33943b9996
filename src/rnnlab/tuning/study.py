"""Hyperparameter studies on Optuna: every trial an ordinary run folder, any number of workers.

A study lives in a storage that every worker joins: by default a journal file in the study's
folder (``tune/<study>/study.journal``: workers on one machine, or on machines sharing the
folder), or any database URL Optuna's RDB storage takes (``postgresql://...``: many machines).
Each trial trains a run in ``tune/<study>/trial-0007/`` (so ``rnnlab evaluate``, ``resume`` and
``info`` work on it), reports the monitored validation metric every epoch so that the pruner can
stop it early, and returns the best value. ``best`` links to the best trial's folder.

Faults: a trial that diverges or fails is recorded as failed with its reason, and the study goes
on. A worker killed mid-trial leaves its trial running in the storage; the next worker to start
on the same machine marks it failed (its process is gone), and a database storage's heartbeat
does the same from any machine. ``retry_failed`` runs each failed trial's parameters once more.

optuna is imported only here (the ``tune`` extra).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from rnnlab.errors import ConfigError, MissingDependency, RnnlabError
from rnnlab.runs import Run
from rnnlab.training.schedules import higher_is_better
from rnnlab.tuning.space import Param

JOURNAL = "study.journal"
PRUNERS = ("median", "hyperband", "none")


def import_optuna():
    """The ``optuna`` module, or a MissingDependency naming the pip command."""
    try:
        import optuna
    except ImportError:
        raise MissingDependency("rnnlab tune needs optuna: pip install 'rnnlab[tune]'", "optuna") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


@dataclass
class StudySpec:
    """Everything a worker needs (picklable, so that worker processes get it): the task, the run
    config the trials start from, the space, where the study lives and how it searches."""

    task: str
    base: dict
    space: dict[str, Param]
    folder: Path
    name: str
    storage: str | None = None
    trials: int = 20
    timeout: float | None = None
    pruner: str = "median"
    seed: int = 0
    retry_failed: bool = False

    @property
    def study_folder(self) -> Path:
        return Path(self.folder) / self.name

    @property
    def monitor(self) -> str:
        return self.base.get("train", {}).get("monitor", "val_loss")


def open_storage(spec: StudySpec):
    """The study's storage: the journal file in its folder, or the RDB at ``spec.storage``."""
    optuna = import_optuna()
    if spec.storage is None:
        spec.study_folder.mkdir(parents=True, exist_ok=True)
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(str(spec.study_folder / JOURNAL)))
    for attempt in range(5):
        try:
            with warnings.catch_warnings():  # the heartbeat is marked experimental; it is what finds dead workers
                warnings.simplefilter("ignore")
                return optuna.storages.RDBStorage(spec.storage, heartbeat_interval=30, grace_period=90)
        except Exception as exc:  # SQLAlchemy's errors: a bad URL, a server that is not there, a missing driver
            # another worker is creating the tables: PostgreSQL says so as an IntegrityError, or as a
            # ProgrammingError (DuplicateObject) when both create the same enum type at once
            racing = "IntegrityError" in type(exc).__name__ or "already exists" in str(exc)
            if racing and attempt < 4:
                time.sleep(0.5 + attempt)
                continue
            raise ConfigError(f"--storage {spec.storage}: cannot open it ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0]})") from None


def make_pruner(optuna, name: str, epochs: int):
    if name == "median":  # compare from the second epoch on, once two trials have finished
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(epochs, 1))
    return optuna.pruners.NopPruner()


def load_study(spec: StudySpec, storage=None, worker: int = 0):
    """The study (created when new), its sampler seeded from ``spec.seed`` and the worker's number."""
    optuna = import_optuna()
    storage = storage or open_storage(spec)
    epochs = spec.base["train"]["epochs"]
    direction = "maximize" if higher_is_better(spec.monitor) else "minimize"
    study = optuna.create_study(study_name=spec.name, storage=storage, direction=direction, load_if_exists=True,
                                sampler=optuna.samplers.TPESampler(seed=spec.seed + worker),
                                pruner=make_pruner(optuna, spec.pruner, epochs))
    study.set_user_attr("planned_epochs", epochs)  # for the report: what pruning saved
    return study


def existing_study(spec: StudySpec):
    """The study ``spec`` names, which must exist (a ConfigError says where it was looked for)."""
    optuna = import_optuna()
    try:
        return optuna.load_study(study_name=spec.name, storage=open_storage(spec))
    except KeyError:
        raise ConfigError(f"no study named {spec.name!r} in {spec.storage or spec.study_folder / JOURNAL}") from None


def retried_numbers(trials) -> set[int]:
    """The numbers of the failed trials that ``retry_failed`` queued again."""
    return {t.user_attrs["retry_of"] for t in trials if "retry_of" in t.user_attrs}


def counted(study) -> int:
    """The trials that count towards ``--trials``: finished or running (on any worker), not those
    run again. Counting the running ones keeps workers from starting more than the study needs;
    two that start a trial at the same moment may still make it one more."""
    trials = study.get_trials(deepcopy=False)
    retried = retried_numbers(trials)
    states = {"COMPLETE", "PRUNED", "FAIL", "RUNNING"}
    return sum(t.state.name in states and t.number not in retried for t in trials)


def fail_orphans(study, storage) -> list[int]:
    """Mark failed the running trials of this machine whose worker process is gone; their numbers."""
    host, study_id = socket.gethostname(), storage.get_study_id_from_name(study.study_name)
    orphans = []
    for t in study.get_trials(deepcopy=False):
        pid = t.user_attrs.get("pid")
        if t.state.name != "RUNNING" or t.user_attrs.get("host") != host or pid is None or alive(pid):
            continue
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
        storage.set_trial_user_attr(trial_id, "failure", f"its worker (process {pid}) stopped mid-trial")
        storage.set_trial_state_values(trial_id, state=import_optuna().trial.TrialState.FAIL)
        orphans.append(t.number)
    return orphans


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process with that number: alive
        return True
    return True


def retry_failed(study) -> list[int]:
    """Queue each failed trial's parameters once more (a retry is not retried); their numbers."""
    trials = study.get_trials(deepcopy=False)
    retried = retried_numbers(trials)
    queued = []
    for t in trials:
        if t.state.name == "FAIL" and t.number not in retried and "retry_of" not in t.user_attrs:
            study.enqueue_trial(t.params, user_attrs={"retry_of": t.number})
            queued.append(t.number)
    return queued


def with_params(base: dict, params: dict) -> dict:
    """A run config: ``base`` with the trial's values set ({"train.lr": 0.003, ...})."""
    config = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for key, value in params.items():
        section, name = key.split(".", 1)
        config.setdefault(section, {})[name] = value
    return config


def objective(spec: StudySpec):
    """The function Optuna calls for each trial: train a run, report every epoch, return the best."""
    optuna = import_optuna()

    def run_trial(trial) -> float:
        params = {p.key: p.suggest(trial) for p in spec.space.values()}
        folder = spec.study_folder / f"trial-{trial.number:04d}"
        for key, value in (("folder", str(folder)), ("host", socket.gethostname()), ("pid", os.getpid())):
            trial.set_user_attr(key, value)
        try:
            with warnings.catch_warnings():  # construction advice (dropout on one layer) is for a person, not a search
                warnings.simplefilter("ignore", UserWarning)
                return train_trial(trial, Run.create(folder, with_params(spec.base, params)), optuna)
        except (RnnlabError, FloatingPointError) as exc:  # a diverging or refused trial: failed, with its reason
            trial.set_user_attr("failure", " ".join(str(exc).split()))
            raise

    return run_trial


def train_trial(trial, run: Run, optuna) -> float:
    with run:
        run.plots = False
        trainer, _ = run.new_trainer(progress=False, log_every=0)

        def on_epoch_end(tr) -> None:
            run.on_epoch_end(tr)
            trial.set_user_attr("epochs", tr.epoch)
            trial.report(float(tr.history.rows[-1][tr.monitor]), tr.epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {tr.epoch}")

        trainer.run(on_epoch_end=on_epoch_end, on_interrupt=run.on_interrupt)
        if trainer.best is None:
            raise ConfigError("the trial finished no epoch")
        return float(trainer.best)


def run_worker(spec: StudySpec, worker: int = 0, threads: int | None = None) -> None:
    """One worker: join the study, tidy what dead workers left, and run trials until the study holds
    ``spec.trials`` (or ``spec.timeout`` seconds pass)."""
    if threads is not None:
        from rnnlab.threads import set_num_threads

        with contextlib.suppress(MissingDependency):
            set_num_threads(threads)
    optuna = import_optuna()
    storage = open_storage(spec)
    study = load_study(spec, storage, worker)
    fail_orphans(study, storage)
    if spec.retry_failed:
        retry_failed(study)

    def enough(study, _trial) -> None:
        if counted(study) >= spec.trials:
            study.stop()

    remaining = spec.trials - counted(study)
    if remaining <= 0:
        return
    study.optimize(objective(spec), n_trials=remaining, timeout=spec.timeout, callbacks=[enough],
                   catch=(RnnlabError, FloatingPointError), gc_after_trial=False)
    link_best(spec, study, optuna)


def tune(spec: StudySpec, jobs: int = 1) -> None:
    """Run the study with ``jobs`` worker processes on this machine (each on its share of the cores),
    until it holds ``spec.trials`` trials; rerunning continues it."""
    if jobs == 1:
        run_worker(spec)
        return
    import multiprocessing

    threads = max(1, (os.cpu_count() or jobs) // jobs)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no BLAS or numba threads inherited
    workers = [context.Process(target=run_worker, args=(spec, k, threads)) for k in range(jobs)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    failed = [w.exitcode for w in workers if w.exitcode != 0]
    if failed:
        raise ConfigError(f"{len(failed)} of {jobs} workers stopped with an error (exit status {failed[0]}); "
                          "run the command again to continue the study")


def link_best(spec: StudySpec, study, optuna) -> Path | None:
    """Point ``<study>/best`` at the best trial's folder (replaced atomically); None before any trial completes."""
    done = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        return None
    best = study.best_trial
    link = spec.study_folder / "best"
    tmp = spec.study_folder / f".best.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(Path(best.user_attrs["folder"]).name, tmp)
    os.replace(tmp, link)
    return link
