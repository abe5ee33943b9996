"""``rnnlab tune TASK`` (a hyperparameter search on Optuna) and ``rnnlab tune-report STUDY``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnlab.cli.common import print_json
from rnnlab.cli.parsing import Command, Formatter, Parser, add_config_options, value
from rnnlab.cli.train import run_config
from rnnlab.errors import ConfigError
from rnnlab.runs import get_task
from rnnlab.tasks import TASKS, config_from_dict
from rnnlab.training import TrainConfig
from rnnlab.tuning import StudySpec, print_report, read_space, summarize, tune, write_report
from rnnlab.tuning.study import PRUNERS, existing_study

EPILOG = """examples:
  rnnlab tune letters --trials 20 --epochs 30                 a study in tune/letters/
  rnnlab tune classify --trials 30 --jobs 2 --pruner median   two workers on this machine
  rnnlab tune text book.txt --space space.toml --cell lstm    the space from a file; the cell fixed
  rnnlab tune classify --storage postgresql://user@db/rnnlab --study vowels   many machines, one study
  rnnlab tune-report tune/letters
"""


def add_study_options(parser: Parser) -> None:
    g = parser.add_group("study options")
    g.add_argument("--trials", type=value("int", minimum=1), default=20, metavar="N",
                   help="trials the study should hold (finished ones count, on every worker)")
    g.add_argument("--timeout", type=value("float", above=0.0), default=None, metavar="S",
                   help="stop starting trials after S seconds")
    g.add_argument("--jobs", type=value("int", minimum=1), default=1, metavar="K",
                   help="worker processes on this machine, sharing its cores")
    g.add_argument("--space", type=Path, default=None, metavar="FILE",
                   help="TOML file overriding or adding to the task's default search space")
    g.add_argument("--storage", default=None, metavar="URL",
                   help="a database URL for many machines (postgresql://...); default: a journal file in the "
                   "study folder")
    g.add_argument("--study", default=None, metavar="NAME", help="the study's name (default: the task's)")
    g.add_argument("--pruner", choices=PRUNERS, default="median", help="stop hopeless trials early")
    g.add_argument("--retry-failed", action="store_true", help="run each failed trial's parameters once more")
    g.add_argument("--dir", type=Path, default=Path("tune"), metavar="DIR",
                   help="where study folders go: DIR/<study>/trial-0000/ ...")
    g.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="JSON or TOML run config whose values are fixed for every trial")
    g.add_argument("--seed", type=value("int", minimum=0), default=argparse.SUPPRESS, metavar="N",
                   help="seed of the runs and of the sampler (default: 0)")
    g.add_argument("--json", action="store_true", help="print the study's summary as JSON")


def add_arguments(parser: Parser) -> None:
    tasks = parser.add_subparsers(dest="task", metavar="TASK", parser_class=Parser, required=True)
    for task in TASKS.values():
        sub = tasks.add_parser(task.name, help=task.description, formatter_class=Formatter, epilog=EPILOG,
                               description=f"Search the {task.name} task's options with Optuna; every option "
                               "given here is fixed for all trials.")
        add_config_options(sub, task.data_config, "data", {})
        add_config_options(sub, task.model_config, "model", {})
        add_config_options(sub, TrainConfig, "train", task.train_defaults)
        add_study_options(sub)
        parser.commands[task.name] = sub


def study_spec(args) -> StudySpec:
    """The study from the command line, checked before anything runs."""
    task = get_task(args.task)
    base = run_config(args, task)
    typed = config_from_dict(task, base)  # the fixed values obey their rules
    fixed = [f"{s}.{k}" for s in ("data", "model", "train") for k in base[s]]
    space = read_space(args.space, task, fixed)
    # the task's own defaults, which the pruner and the study's direction need
    base["train"].setdefault("epochs", typed.train.epochs)
    base["train"].setdefault("monitor", typed.train.monitor)
    name = args.study or task.name
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"--study {name!r}: use letters, digits, - and _ only (it names a folder)")
    return StudySpec(task.name, base, space, args.dir, name, args.storage, args.trials, args.timeout,
                     args.pruner, base["seed"], args.retry_failed)


def report(spec: StudySpec, as_json: bool) -> int:
    study = existing_study(spec)
    summary = summarize(study, study.user_attrs.get("planned_epochs", 0))
    spec.study_folder.mkdir(parents=True, exist_ok=True)
    written = write_report(study, summary, spec.study_folder)
    if as_json:
        print_json({**summary, "files": [str(p) for p in written]})
        return 0
    print_report(summary, sys.stdout)
    print(f"wrote {', '.join(map(str, written))}; a live view: optuna-dashboard "
          + (spec.storage or str(spec.study_folder / "study.journal")))
    return 0


def run(args) -> int:
    """``rnnlab tune TASK [FILE] --trials N ...``."""
    spec = study_spec(args)
    if not args.json:
        where = spec.storage or spec.study_folder / "study.journal"
        print(f"study {spec.name}: {spec.trials} trials of {spec.task}, searching {', '.join(spec.space)}; "
              f"{args.jobs} worker(s); storage {where}", flush=True)
    tune(spec, args.jobs)
    return report(spec, args.json)


def add_report_arguments(parser: Parser) -> None:
    parser.add_argument("study", type=Path, help="the study folder (tune/<study>), or the study's name with --storage")
    parser.add_argument("--storage", default=None, metavar="URL", help="the database the study lives in")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def run_report(args) -> int:
    """``rnnlab tune-report STUDY``."""
    folder = args.study
    if args.storage is None and not (folder / "study.journal").exists():
        raise ConfigError(f"{folder} holds no study ({folder / 'study.journal'} is missing): give the study folder, "
                          "or the study's name with --storage URL")
    name = folder.name
    spec = StudySpec("", {}, {}, folder.parent, name, args.storage)
    return report(spec, args.json)


TUNE = Command("tune", "search a task's hyperparameters with Optuna, on one machine or many",
               "Run a hyperparameter study: each trial is a run folder; several workers (--jobs, or more "
               "commands, on this machine or others sharing --storage) join one study. See docs/tuning.md.",
               EPILOG, add_arguments, run)
TUNE_REPORT = Command("tune-report", "what a study found: top trials, importances, plots",
                      "Summarize a study: its top trials, the parameters' importances, the epochs pruning saved, "
                      "and plots of the search, written into the study folder.", EPILOG, add_report_arguments,
                      run_report, computes=False)
