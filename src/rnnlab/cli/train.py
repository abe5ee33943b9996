"""``rnnlab demo``, ``rnnlab train TASK`` and ``rnnlab resume RUN``: the commands that train."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from rnnlab._version import __version__
from rnnlab.cli.common import print_json, report_stream, task_plots
from rnnlab.cli.parsing import Command, Formatter, Parser, add_config_options, add_output_options, value
from rnnlab.data import LETTERS
from rnnlab.errors import ConfigError, TrainingDiverged
from rnnlab.models import load_model
from rnnlab.runs import CHECKPOINT, MODEL, Run, default_folder, get_task, read_config_file
from rnnlab.tasks import TASKS
from rnnlab.training import TrainConfig

DEMO_EPILOG = """examples:
  rnnlab demo                                    the notebook's task with its sizes (a few seconds)
  rnnlab demo --samples 10000                    every (a0, a1) pair seen: close to the 0.652-nat floor
  rnnlab demo --variant fibonacci --cell lstm    every step needs memory; a gated cell learns it
"""
TRAIN_EPILOG = """examples:
  rnnlab train letters --cell gru --epochs 50 --out runs/gru
  rnnlab train letters --config letters.toml --lr 0.01     (options override the file)
  rnnlab train text --out runs/austen                      (Pride and Prejudice, 2-layer LSTM)
  rnnlab train text my.txt --hidden-size 128 --epochs 5
  rnnlab train forecast sunspots --horizon 12 --out runs/sun12
  rnnlab train forecast co2 --missing interpolate --window 156 --horizon 52
  rnnlab train forecast data.csv --column load --features temp,hour --window 48
  rnnlab train classify --out runs/vowels                  (JapaneseVowels, bidirectional GRU)
"""
RESUME_EPILOG = """examples:
  rnnlab resume runs/gru                 continue an interrupted run up to its planned epochs
  rnnlab resume runs/gru --epochs 20     train 20 more epochs
"""


# -- arguments -------------------------------------------------------------------------------------
def add_run_options(parser: Parser, task) -> None:
    """The options of a training command: the task's data and model fields, TrainConfig's, and the run's."""
    add_config_options(parser, task.data_config, "data", {})
    add_config_options(parser, task.model_config, "model", {})
    add_config_options(parser, TrainConfig, "train", task.train_defaults)
    run = parser.add_group("run options")
    run.add_argument("--config", type=Path, default=None, metavar="FILE",
                     help="JSON or TOML file with [data], [model], [train] tables and seed; options given here "
                     "override it")
    run.add_argument("--seed", type=value("int", minimum=0), default=argparse.SUPPRESS, metavar="N",
                     help="seed for data, initial weights, shuffling and dropout (default: 0)")
    run.add_argument("--out", default=None, metavar="DIR",
                     help="run folder (default: runs/<task>-<timestamp>)")
    add_output_options(run)


def add_demo_arguments(parser: Parser) -> None:
    add_run_options(parser, TASKS["letters"])


def add_train_arguments(parser: Parser) -> None:
    tasks = parser.add_subparsers(dest="task", metavar="TASK", parser_class=Parser, required=True)
    for task in TASKS.values():
        sub = tasks.add_parser(task.name, help=task.description, description=f"Train on the {task.name} task: "
                               f"{task.description}.", epilog=TRAIN_EPILOG, formatter_class=Formatter)
        add_run_options(sub, task)
        parser.commands[task.name] = sub


def add_resume_arguments(parser: Parser) -> None:
    parser.add_argument("run", type=Path, help="the run folder")
    parser.add_argument("--epochs", type=value("int", minimum=1), default=None, metavar="N",
                        help="train this many more epochs (default: up to the run's planned epochs)")
    parser.add_argument("--allow-changed-data", action="store_true",
                        help="go on when a data file changed since the run was trained (with a note)")
    add_output_options(parser)


# -- the run config: defaults < --config file < command-line options ----------------------------------
def run_config(args, task) -> dict:
    """The run config, as a dict to validate: the task's defaults, then the config file, then the options."""
    config = {"task": task.name, "seed": 0, "data": {}, "model": {}, "train": {}}
    if args.config is not None:
        loaded = read_config_file(args.config)
        if loaded.get("task", task.name) != task.name:
            raise ConfigError(f"{args.config}: this config is for task {loaded['task']!r}, not {task.name!r}")
        for key, section in loaded.items():
            if key in ("data", "model", "train") and isinstance(section, dict):
                config[key].update(section)
            else:
                config[key] = section
    for dest, given in vars(args).items():
        if "." in dest:
            section, name = dest.split(".", 1)
            config[section][name] = given
    if hasattr(args, "seed"):
        config["seed"] = args.seed
    return config


# -- training and the report -------------------------------------------------------------------------
def print_plan(run: Run, trainer, out) -> None:
    """What will be trained, and how, in two lines."""
    m, t = trainer.model, trainer.config
    clip = [f"norm clip {t.clip_norm:g}"] if t.clip_norm else []
    clip += [f"value clip {t.clip_value:g}"] if t.clip_value else []
    print(f"model: {m.describe()}: {m.num_parameters():,} parameters, {m.dtype.name}", file=out)
    schedule = "" if t.schedule == "constant" else f", {t.schedule} schedule"
    stopping = f", early stopping after {t.early_stopping} epochs without improvement" if t.early_stopping else ""
    print(f"training: {t.optimizer} lr {t.lr:g}, weight decay {t.weight_decay:g}, batch {t.batch_size}, "
          f"{run.config.train.epochs} epochs" + (", " + ", ".join(clip) if clip else ", no clipping")
          + schedule + stopping, file=out)


def train_run(run: Run, trainer, epochs) -> float:
    """Train, saving into the run folder as it goes; returns the seconds it took."""
    start = time.perf_counter()
    try:
        trainer.run(epochs=epochs, on_epoch_end=run.on_epoch_end, on_interrupt=run.on_interrupt)
    except TrainingDiverged as exc:
        last = run.folder / CHECKPOINT
        keep = (f" The last good checkpoint is {last} (epoch {trainer.epoch})." if last.exists() else
                " No epoch finished, so nothing was saved: the same --out starts the run again.")
        raise TrainingDiverged(str(exc) + keep, exc.epoch, exc.step) from None
    return time.perf_counter() - start


def train_and_report(run: Run, trainer, validation, args, out, epochs=None) -> dict:
    """Train, then report the best model's held-out results; returns the JSON summary."""
    run.plots = not args.no_plot
    print_plan(run, trainer, out)
    elapsed = train_run(run, trainer, epochs)
    if run.plots:
        run.plot(trainer.history)
    speed = [r["seq_per_s"] for r in trainer.history.rows if r["seq_per_s"]]
    print(f"trained {trainer.epoch} epochs in {elapsed:.1f} s"
          + (f" ({np.median(speed):,.0f} sequences/s)" if speed else "")
          + (f"; stopped early: no improvement of {trainer.monitor} since epoch {trainer.best_epoch}"
             if trainer.stopped_early else ""), file=out)
    print(file=out)
    best = load_model(run.folder / MODEL)
    print(f"the best model (epoch {best.file_extra.get('epoch')}, {trainer.monitor} "
          f"{best.file_extra.get('best'):.4f}) is in {run.folder / MODEL}:", file=out)
    results = run.task.report(best, run.config, validation, out)
    if run.plots:
        task_plots(run, best)
    print(file=out)
    saved = sorted(p.name for p in run.folder.iterdir() if not p.name.startswith("."))
    print(f"saved in {run.folder}/: {', '.join(saved)}", file=out)
    return {"run": str(run.folder), "epochs": trainer.epoch, "best_epoch": trainer.best_epoch,
            "monitor": trainer.monitor, "best": trainer.best, "stopped_early": trainer.stopped_early,
            "seconds": elapsed, "results": results}


def train_new_run(args, task, heading: str, hints=None) -> int:
    """Start a run, print ``heading`` and the task's intro, train, report (and ``hints(run, data, out)``)."""
    out_folder = default_folder(task.name) if args.out is None else args.out
    with Run.create(out_folder, run_config(args, task)) as run, report_stream(args) as out:
        trainer, data = run.new_trainer(progress=False if args.quiet else None, log_every=0 if args.quiet else None)
        print(heading.format(folder=run.folder), file=out)
        task.intro(run.config, data, out)
        print(file=out)
        summary = train_and_report(run, trainer, data.validation, args, out)
        if hints is not None:
            hints(run, data, out)
    if args.json:
        print_json(summary)
    return 0


def run_train(args) -> int:
    """``rnnlab train TASK [options]``."""
    task = get_task(args.task)
    return train_new_run(args, task, f"rnnlab {__version__}: training on the {task.name} task into {{folder}}")


def run_demo(args) -> int:
    """``rnnlab demo``: the notebook end to end, done right (``train letters`` with a guided report)."""

    def hints(run, data, out):
        print(f"try: rnnlab predict {run.folder} {' '.join(LETTERS.decode(data.validation[0][0]))}", file=out)
        print(f"     rnnlab info {run.folder}    rnnlab resume {run.folder} --epochs 50", file=out)

    return train_new_run(args, TASKS["letters"], f"rnnlab {__version__} demo: the notebook's letter task, done right",
                         hints)


def run_resume(args) -> int:
    """``rnnlab resume RUN [--epochs N]``."""
    with Run.open(args.run, lock=True) as run:
        run.allow_changed_data = args.allow_changed_data
        trainer, data = run.resume_trainer(progress=False if args.quiet else None,
                                           log_every=0 if args.quiet else None)
        for note in run.notes:
            print(f"rnnlab: {note}", file=sys.stderr)
        planned = run.config.train.epochs
        mid_epoch = trainer.steps_into_epoch is not None
        if args.epochs is None and (trainer.epoch >= planned or trainer.stopped_early) and not mid_epoch:
            why = "stopped early" if trainer.stopped_early else f"trained all {planned} planned epochs"
            print(f"{run.folder} has {why}; pass --epochs N to train N more", file=sys.stderr)
            return 0
        if args.epochs is not None:
            trainer.stopped_early = False
            run.config.train.epochs = trainer.config.epochs = trainer.epoch + mid_epoch + args.epochs
            run.save_config()
        with report_stream(args) as out:
            where = f"epoch {trainer.epoch}"
            if mid_epoch:
                where += f" and step {trainer.steps_into_epoch} of the next"
            print(f"rnnlab {__version__}: resuming {run.folder} after {where}", file=out)
            summary = train_and_report(run, trainer, data.validation, args, out, epochs=args.epochs)
    if args.json:
        print_json(summary)
    return 0


# this module's entries in the command table (cli/app.py): every command module declares its own alike
DEMO = Command("demo", "the notebook's letter task end to end, done right",
               "Generate the notebook's letter task, train on it, report held-out accuracy per step and "
               "cross-entropy against the best possible, show predictions, and save the run.", DEMO_EPILOG,
               add_demo_arguments, run_demo)
TRAIN = Command("train", "train a model on a task, into a run folder",
                "Train on one of the tasks; everything is saved to a run folder as it goes.", TRAIN_EPILOG,
                add_train_arguments, run_train)
RESUME = Command("resume", "continue a run from its checkpoint, exactly",
                 "Continue a run from RUN/last.npz: the same numbers as if it had never stopped.", RESUME_EPILOG,
                 add_resume_arguments, run_resume)
