"""The ``rnnlab`` command line.

``main(argv=None) -> int`` parses ``argv`` (default: ``sys.argv[1:]``) and returns the exit
status, so tests call it in-process. Mistakes a user can make (a missing file, an unknown
letter, a bad option value, a model for another task) print one line, ``rnnlab: error: ...``,
and return 2; ``--debug`` shows the traceback instead. Ctrl-C during training saves a
checkpoint and returns 130.

Commands: demo, train TASK, resume RUN, evaluate, predict, generate, forecast, datasets, info, plot,
gradient-flow, gradcheck.
The options of ``train`` are generated from the task's config dataclasses and
:class:`~rnnlab.training.TrainConfig`, so they always match what the library accepts.
"""

from __future__ import annotations

import argparse
import contextlib
import io as _io
import json
import math
import os
import sys
import time
import tomllib
from dataclasses import fields
from pathlib import Path

import numpy as np

from rnnlab._version import __version__
from rnnlab.errors import ConfigError, DataError, RnnlabError, TrainingDiverged, TrainingInterrupted

# -- argument parsing ---------------------------------------------------------------------------


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (and exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _float(text: str, minimum: float, strict: bool) -> float:
    bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and (value > minimum if strict else value >= minimum)):
        raise argparse.ArgumentTypeError(f"expected a number {bound}, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _optional_positive(text: str) -> float | None:
    """A positive float, or "none"/"off"/"0" for "disabled"."""
    if text.lower() in ("none", "off", "0"):
        return None
    try:
        return _float(text, 0.0, strict=True)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a positive number or 'none', got {text!r}") from None


def _bool(text: str) -> bool:
    low = text.lower()
    if low in ("true", "yes", "on", "1"):
        return True
    if low in ("false", "no", "off", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


# the argparse type for each annotation of a config dataclass field
_FIELD_TYPES = {
    "bool": _bool,
    "int": _non_negative_int,
    "float": lambda t: _float(t, 0.0, strict=False),
    "float | None": _optional_positive,
    "str": str,
}
# fields that must be strictly positive on the command line as in the dataclasses
_POSITIVE = {"epochs", "batch_size", "samples", "val_samples", "seq_len", "hidden_size", "embedding_dim",
             "num_layers", "step_size", "plateau_patience", "window", "horizon", "val_streams"}


def _add_config_options(parser, cls, section: str, defaults: dict) -> None:
    """One option per command-line field of a config dataclass, e.g. --hidden-size for model.hidden_size."""
    from rnnlab.tasks.base import field_default

    group = parser.add_argument_group(f"{section} options")
    for f in fields(cls):
        if not f.metadata.get("cli", True):
            continue
        if f.metadata.get("positional"):
            parser.add_argument(f"{section}.{f.name}", metavar=f.name.upper(), nargs="?", default=argparse.SUPPRESS,
                                help=f"{f.metadata.get('help', '')} (default: {field_default(f)})")
            continue
        kind = _FIELD_TYPES[str(f.type)]
        if f.name in _POSITIVE:
            kind = _positive_int
        elif f.name in ("lr", "gamma"):
            kind = lambda t: _float(t, 0.0, strict=True)  # noqa: E731
        default = defaults.get(f.name, field_default(f))
        shown = "none" if default is None else default
        group.add_argument("--" + f.name.replace("_", "-"), dest=f"{section}.{f.name}", type=kind,
                           choices=f.metadata.get("choices"), default=argparse.SUPPRESS, metavar=None,
                           help=f"{f.metadata.get('help', '')} (default: {shown})")


def _add_run_options(parser, task) -> None:
    from rnnlab.training.config import TrainConfig

    _add_config_options(parser, task.data_config, "data", {})
    _add_config_options(parser, task.model_config, "model", {})
    _add_config_options(parser, TrainConfig, "train", task.train_defaults)
    run = parser.add_argument_group("run options")
    run.add_argument("--config", type=Path, default=None,
                     help="JSON or TOML file with [data], [model], [train] tables and seed; options given here "
                     "override it")
    run.add_argument("--seed", type=_non_negative_int, default=argparse.SUPPRESS,
                     help="seed for data, initial weights, shuffling and dropout (default: 0)")
    run.add_argument("--out", type=Path, default=None, help="run folder (default: runs/<task>-<timestamp>)")
    _add_output_options(run)


def _add_output_options(group) -> None:
    group.add_argument("--quiet", action="store_true", help="no progress bar and no per-epoch lines")
    group.add_argument("--no-plot", action="store_true", help="do not draw loss.png")
    group.add_argument("--json", action="store_true", help="print a JSON summary on stdout instead of the report")


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
GENERATE_EPILOG = """examples:
  rnnlab generate runs/austen --prime "It is a truth" --length 500 --temperature 0.8
  rnnlab generate runs/austen --prime "Mr. Darcy" --top-p 0.9 --seed 3
  rnnlab generate runs/austen --prime "Elizabeth" --greedy --length 200
"""
FORECAST_EPILOG = """examples:
  rnnlab forecast runs/sun12 --steps 132          11 years from the start of the test part, against the actual
  rnnlab forecast runs/sun12 --steps 24 --from-end  two years past the end of the data
"""
DATASETS_EPILOG = """examples:
  rnnlab datasets               the bundled data sets, their sizes and licences
  rnnlab datasets --json
"""
RESUME_EPILOG = """examples:
  rnnlab resume runs/gru                 continue an interrupted run up to its planned epochs
  rnnlab resume runs/gru --epochs 20     train 20 more epochs
"""
EVALUATE_EPILOG = """examples:
  rnnlab evaluate runs/gru               held-out results of the run's best model
  rnnlab evaluate runs/gru/last.npz --json
  rnnlab evaluate runs/vowels --data JapaneseVowels_TEST.ts
  rnnlab evaluate runs/austen --data emma.txt
"""
PREDICT_EPILOG = """examples:
  rnnlab predict runs/letters-20261129-101500 r r i q g --top 5
  rnnlab predict runs/letters-20261129-101500/model.npz rriqg --json
"""
INFO_EPILOG = """examples:
  rnnlab info runs/gru                   the model, its data and its training
  rnnlab info runs/gru/last.npz --json
"""
PLOT_EPILOG = """examples:
  rnnlab plot runs/gru                   redraw runs/gru/loss.png from history.csv
  rnnlab plot runs/gru --out gru.png
"""
FLOW_EPILOG = """examples:
  rnnlab gradient-flow                   |dL/dh_t| over 100 steps for RNN, LSTM and GRU, to gradient-flow.png
  rnnlab gradient-flow --steps 200 --out flow.png --json
"""
GRADCHECK_EPILOG = """examples:
  rnnlab gradcheck               every layer and the whole model, relative error per parameter
  rnnlab gradcheck --cell lstm   one cell: 1 and 2 layers, one and two directions, ragged lengths
  rnnlab gradcheck --notebook    the notebook's backward pass: each of its four bugs, and all fixed
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``rnnlab`` command."""
    from rnnlab.tasks import TASKS

    parser = _Parser(prog="rnnlab", description="Recurrent neural networks in NumPy: train, check and use them.",
                     formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"rnnlab {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name, help_text, description, epilog):
        return sub.add_parser(name, help=help_text, description=description, epilog=epilog, formatter_class=_Formatter)

    demo = add("demo", "the notebook's letter task end to end, done right",
               "Generate the notebook's letter task, train on it, report held-out accuracy per step and "
               "cross-entropy against the best possible, show predictions, and save the run.", DEMO_EPILOG)
    _add_run_options(demo, TASKS["letters"])
    demo.set_defaults(func=cmd_demo)

    train = add("train", "train a model on a task, into a run folder",
                "Train on one of the tasks; everything is saved to a run folder as it goes.", TRAIN_EPILOG)
    tasks = train.add_subparsers(dest="task", metavar="TASK", parser_class=_Parser, required=True)
    for task in TASKS.values():
        p = tasks.add_parser(task.name, help=task.description, description=f"Train on the {task.name} task: "
                             f"{task.description}.", epilog=TRAIN_EPILOG, formatter_class=_Formatter)
        _add_run_options(p, task)
        p.set_defaults(func=cmd_train)

    resume = add("resume", "continue a run from its checkpoint, exactly",
                 "Continue a run from RUN/last.npz: the same numbers as if it had never stopped.", RESUME_EPILOG)
    resume.add_argument("run", type=Path, help="the run folder")
    resume.add_argument("--epochs", type=_positive_int, default=None,
                        help="train this many more epochs (default: up to the run's planned epochs)")
    _add_output_options(resume)
    resume.set_defaults(func=cmd_resume)

    evaluate = add("evaluate", "held-out results of a run's model",
                   "Evaluate a run's best model (or a model or checkpoint file) on the run's held-out data.",
                   EVALUATE_EPILOG)
    evaluate.add_argument("target", type=Path, help="a run folder, or a model.npz / last.npz inside one")
    evaluate.add_argument("--data", type=Path, default=None,
                          help="evaluate on this file instead (a text, a CSV series or a .ts file, as the task reads)")
    evaluate.add_argument("--json", action="store_true", help="print JSON for scripts")
    evaluate.set_defaults(func=cmd_evaluate)

    generate = add("generate", "generate text with a character-level language model",
                   "Prime a text model with some characters, then stream generated characters to stdout, one at a "
                   "time (the state is carried: nothing is recomputed).", GENERATE_EPILOG)
    generate.add_argument("model", type=Path, help="a text run folder, or a model file")
    generate.add_argument("--prime", default="\n", help="the text to start from")
    generate.add_argument("--length", type=_non_negative_int, default=500, help="characters to generate")
    generate.add_argument("--temperature", type=lambda t: _float(t, 0.0, strict=False), default=1.0,
                          help="below 1: safer, above 1: wilder; 0: greedy")
    generate.add_argument("--top-k", type=_positive_int, default=None, help="draw among the k most likely only")
    generate.add_argument("--top-p", type=lambda t: _float(t, 0.0, strict=True), default=None,
                          help="nucleus sampling: draw among the most likely whose probabilities sum to p (<= 1)")
    generate.add_argument("--greedy", action="store_true", help="always the most likely character")
    generate.add_argument("--seed", type=_non_negative_int, default=None, help="seed for reproducible samples")
    generate.add_argument("--skip-unknown", action="store_true",
                          help="drop prime characters the model never saw instead of stopping")
    generate.add_argument("--json", action="store_true", help="print JSON for scripts")
    generate.set_defaults(func=cmd_generate)

    forecast = add("forecast", "forecast a series with a trained forecaster, to CSV and a plot",
                   "Forecast K steps from the start of the run's test part (against the actual values) or past the "
                   "end of the series, feeding forecasts back; write a CSV and a plot.", FORECAST_EPILOG)
    forecast.add_argument("model", type=Path, help="a forecast run folder, or a model file inside one")
    forecast.add_argument("--steps", type=_positive_int, default=None,
                          help="steps to forecast (default: the run's horizon)")
    forecast.add_argument("--from-end", action="store_true", help="forecast past the last observation")
    forecast.add_argument("--out", type=Path, default=None, help="the CSV to write (default: RUN/forecast.csv)")
    forecast.add_argument("--plot", type=Path, default=None, help="the picture (default: the CSV's name, .png)")
    forecast.add_argument("--json", action="store_true", help="print JSON for scripts")
    forecast.set_defaults(func=cmd_forecast)

    data = add("datasets", "the data sets bundled with rnnlab", "List the bundled data sets: what, size, licence.",
               DATASETS_EPILOG)
    data.add_argument("--json", action="store_true", help="print JSON for scripts")
    data.set_defaults(func=cmd_datasets)

    predict = add("predict", "the most likely next letters after a sequence",
                  "Print the top-k next tokens after the given sequence, with probabilities (the notebook's "
                  "predict). Tokens may be given one per argument or run together.", PREDICT_EPILOG)
    predict.add_argument("model", type=Path, help="a run folder, or a model file saved by rnnlab")
    predict.add_argument("tokens", nargs="*", help="the input sequence, e.g. r r i q g")
    predict.add_argument("--top", type=_positive_int, default=5, help="how many candidates to show")
    predict.add_argument("--json", action="store_true", help="print JSON for scripts")
    predict.set_defaults(func=cmd_predict)

    info = add("info", "what a model or run is: architecture, size, vocabulary, data, training",
               "Describe a model file, a checkpoint or a run folder.", INFO_EPILOG)
    info.add_argument("target", type=Path, help="a run folder, a model file or a checkpoint")
    info.add_argument("--json", action="store_true", help="print JSON for scripts")
    info.set_defaults(func=cmd_info)

    plot = add("plot", "redraw a run's training curves", "Redraw RUN/loss.png from RUN/history.csv.", PLOT_EPILOG)
    plot.add_argument("run", type=Path, help="the run folder")
    plot.add_argument("--out", type=Path, default=None, help="where to write the picture (default: RUN/loss.png)")
    plot.set_defaults(func=cmd_plot)

    flow = add("gradient-flow", "the vanishing-gradient picture: |dL/dh_t| for RNN, LSTM and GRU",
               "How much gradient reaches each time step from a loss at the last one, for a vanilla RNN, an "
               "LSTM and a GRU side by side (freshly initialised, random inputs).", FLOW_EPILOG)
    flow.add_argument("--steps", type=_positive_int, default=100, help="sequence length")
    flow.add_argument("--hidden-size", type=_positive_int, default=32, help="hidden units of each layer")
    flow.add_argument("--seed", type=_non_negative_int, default=0, help="seed for weights and inputs")
    flow.add_argument("--out", type=Path, default=Path("gradient-flow.png"), help="where to write the picture")
    flow.add_argument("--json", action="store_true", help="print the norms as JSON instead of drawing")
    flow.set_defaults(func=cmd_gradient_flow)

    gradcheck = add("gradcheck", "check backward passes against finite differences",
                    "Gradient-check rnnlab's layers and model in float64 (relative error per parameter; a correct "
                    "gradient gives about 1e-10), or the notebook's backward pass with --notebook.", GRADCHECK_EPILOG)
    gradcheck.add_argument("--cell", choices=("rnn", "lstm", "gru"), default=None,
                           help="check only this recurrent cell, in more configurations")
    gradcheck.add_argument("--notebook", action="store_true", help="check the notebook's backward pass instead")
    gradcheck.add_argument("--seed", type=int, default=0, help="seed for the random weights and inputs")
    gradcheck.add_argument("--json", action="store_true", help="print JSON for scripts")
    gradcheck.set_defaults(func=cmd_gradcheck)
    return parser


def _unrecognized(parser, args, extras) -> str:
    """One line for unknown arguments, naming the right --help and the nearest real option."""
    import difflib

    prog, sub = "rnnlab", parser
    for name in (getattr(args, "command", None), getattr(args, "task", None)):
        actions = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
        if name is None or not actions or name not in actions[0].choices:
            break
        sub = actions[0].choices[name]
        prog = sub.prog
    options = [s for a in sub._actions for s in a.option_strings if s.startswith("--")]
    hint = ""
    flag = next((e.split("=")[0] for e in extras if e.startswith("--")), None)
    if flag:
        close = difflib.get_close_matches(flag, options, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
    return f"{prog}: error: unrecognized arguments: {' '.join(extras)}{hint} (see {prog} --help)"


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args, extras = parser.parse_known_args(argv)
    except SystemExit as exc:  # --help, --version, and one-line usage errors
        return int(exc.code or 0)
    if extras:
        print(_unrecognized(parser, args, extras), file=sys.stderr)
        return 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.func(args)
    except RnnlabError as exc:
        if args.debug:
            raise
        print(f"rnnlab: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except TrainingInterrupted as exc:
        print(f"rnnlab: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("rnnlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `rnnlab gradcheck | head`: the reader left, which is fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


# -- run configs -----------------------------------------------------------------------------------


def _read_config_file(path: Path) -> dict:
    if not path.exists():
        raise ConfigError(f"no config file at {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text") from None
    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(text)
        if path.suffix.lower() == ".json":
            value = json.loads(text)
            if not isinstance(value, dict):
                raise ConfigError(f"{path} should hold a JSON object")
            return value
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path} is not valid {path.suffix[1:].upper()}: {exc}") from None
    raise ConfigError(f"{path}: a config file should end in .json or .toml")


def _run_config(args, task) -> dict:
    """defaults < --config file < command-line options."""
    config = {"task": task.name, "seed": 0, "data": {}, "model": {}, "train": {}}
    if args.config is not None:
        loaded = _read_config_file(args.config)
        if loaded.get("task", task.name) != task.name:
            raise ConfigError(f"{args.config}: this config is for task {loaded['task']!r}, not {task.name!r}")
        for key, value in loaded.items():
            if key in ("data", "model", "train") and isinstance(value, dict):
                config[key].update(value)
            else:
                config[key] = value
    for dest, value in vars(args).items():
        if "." in dest:
            section, name = dest.split(".", 1)
            config[section][name] = value
    if hasattr(args, "seed"):
        config["seed"] = args.seed
    return config


# -- training ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def _report_stream(args):
    """Where the human report goes: stdout, or nowhere with --json (the JSON summary goes to stdout)."""
    if args.json:
        yield _io.StringIO()
    else:
        yield sys.stdout


def _train_and_report(run, trainer, validation, args, epochs=None, out=None, intro=None) -> dict:
    from rnnlab.models import load_model
    from rnnlab.runs import MODEL

    run.plots = not args.no_plot
    m, t = trainer.model, trainer.config
    clip = [f"norm clip {t.clip_norm:g}"] if t.clip_norm else []
    clip += [f"value clip {t.clip_value:g}"] if t.clip_value else []
    print(f"model: {m.describe()}: {m.num_parameters():,} parameters, {m.dtype.name}", file=out)
    schedule = "" if t.schedule == "constant" else f", {t.schedule} schedule"
    stopping = f", early stopping after {t.early_stopping} epochs without improvement" if t.early_stopping else ""
    print(f"training: {t.optimizer} lr {t.lr:g}, weight decay {t.weight_decay:g}, batch {t.batch_size}, "
          f"{run.config['train']['epochs']} epochs" + (", " + ", ".join(clip) if clip else ", no clipping")
          + schedule + stopping, file=out)
    start = time.perf_counter()
    try:
        trainer.run(epochs=epochs, on_epoch_end=run.on_epoch_end, on_interrupt=run.on_interrupt)
    except TrainingDiverged as exc:
        last = run.folder / "last.npz"
        keep = f" The last good checkpoint is {last} (epoch {trainer.epoch})." if last.exists() else ""
        raise TrainingDiverged(str(exc) + keep, exc.epoch, exc.step) from None
    elapsed = time.perf_counter() - start
    if run.plots:
        run.plot(trainer.history)
    rows = trainer.history.rows
    speed = [r["seq_per_s"] for r in rows if r["seq_per_s"]]
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
        _task_plots(run, best)
    print(file=out)
    saved = sorted(p.name for p in run.folder.iterdir() if not p.name.startswith("."))
    print(f"saved in {run.folder}/: {', '.join(saved)}", file=out)
    return {"run": str(run.folder), "epochs": trainer.epoch, "best_epoch": trainer.best_epoch,
            "monitor": trainer.monitor, "best": trainer.best, "stopped_early": trainer.stopped_early,
            "seconds": elapsed, "results": results}


def _task_plots(run, model) -> list:
    """The task's own pictures (confusion matrix, forecast) into the run folder; none without matplotlib."""
    try:
        return run.task.plots(model, run.config, run.folder)
    except RnnlabError as exc:
        if "matplotlib" in str(exc):
            return []
        raise


def _print_json(obj) -> None:
    def default(o):
        if isinstance(o, (np.floating, np.integer)):
            return o.item()
        if isinstance(o, tuple):
            return list(o)
        raise TypeError(type(o).__name__)

    print(json.dumps(obj, default=default))


def _start_run(args, task):
    from rnnlab.runs import Run, default_folder

    config = _run_config(args, task)
    run = Run.create(args.out or default_folder(task.name), config)
    trainer, train, val = run.new_trainer(progress=False if args.quiet else None, log_every=0 if args.quiet else None)
    return run, trainer, train, val


def _train_command(args, task, heading: str, hints=None) -> int:
    """Start a run, print ``heading`` and the task's intro, train, report (and ``hints(run, val, out)``)."""
    run, trainer, train, val = _start_run(args, task)
    with _report_stream(args) as out:
        print(heading.format(folder=run.folder), file=out)
        task.intro(run.config, train, out)
        print(file=out)
        summary = _train_and_report(run, trainer, val, args, out=out)
        if hints is not None:
            hints(run, val, out)
    if args.json:
        _print_json(summary)
    return 0


def cmd_train(args) -> int:
    """``rnnlab train TASK [options]``."""
    from rnnlab.runs import get_task

    task = get_task(args.task)
    return _train_command(args, task, f"rnnlab {__version__}: training on the {task.name} task into {{folder}}")


def cmd_demo(args) -> int:
    """``rnnlab demo``: the notebook end to end, done right (``train letters`` with a guided report)."""
    from rnnlab.data import LETTERS
    from rnnlab.tasks import TASKS

    def hints(run, val, out):
        print(f"try: rnnlab predict {run.folder} {' '.join(LETTERS.decode(val[0][0]))}", file=out)
        print(f"     rnnlab info {run.folder}    rnnlab resume {run.folder} --epochs 50", file=out)

    return _train_command(args, TASKS["letters"], f"rnnlab {__version__} demo: the notebook's letter task, done right",
                          hints)


def cmd_resume(args) -> int:
    """``rnnlab resume RUN [--epochs N]``."""
    from rnnlab.runs import Run

    run = Run.open(args.run)
    trainer, _, val = run.resume_trainer(progress=False if args.quiet else None, log_every=0 if args.quiet else None)
    planned = run.config["train"]["epochs"]
    mid_epoch = trainer.steps_into_epoch is not None
    if args.epochs is None and (trainer.epoch >= planned or trainer.stopped_early) and not mid_epoch:
        why = "stopped early" if trainer.stopped_early else f"trained all {planned} planned epochs"
        print(f"{run.folder} has {why}; pass --epochs N to train N more", file=sys.stderr)
        return 0
    epochs = None
    if args.epochs is not None:
        trainer.stopped_early = False
        run.config["train"]["epochs"] = trainer.epoch + mid_epoch + args.epochs
        trainer.config.epochs = run.config["train"]["epochs"]
        run.save_config()
        epochs = args.epochs
    with _report_stream(args) as out:
        where = f"epoch {trainer.epoch}" + (f" and step {trainer.steps_into_epoch} of the next" if mid_epoch else "")
        print(f"rnnlab {__version__}: resuming {run.folder} after {where}", file=out)
        summary = _train_and_report(run, trainer, val, args, epochs=epochs, out=out)
    if args.json:
        _print_json(summary)
    return 0


# -- using trained models ----------------------------------------------------------------------------


def _resolve_model_path(target: Path) -> Path:
    from rnnlab.runs import MODEL

    if target.is_dir():
        path = target / MODEL
        if not path.exists():
            raise ConfigError(f"{target} has no {MODEL}: is it a run folder?")
        return path
    return target


def _run_of(target: Path, model):
    """The run a model belongs to: its folder's config, else the run config in its header."""
    from rnnlab.runs import CONFIG, Run
    from rnnlab.tasks import TASKS, config_from_dict

    folder = target if target.is_dir() else target.parent
    if (folder / CONFIG).exists():
        return Run.open(folder)
    run_config = model.file_extra.get("run")
    if isinstance(run_config, dict) and run_config.get("task") in TASKS:
        task = TASKS[run_config["task"]]
        return Run(folder, config_from_dict(task, run_config), task)
    return None


def cmd_evaluate(args) -> int:
    """``rnnlab evaluate RUN|MODEL``."""
    from rnnlab.models import load_model

    path = _resolve_model_path(args.target)
    model = load_model(path)
    run = _run_of(args.target, model)
    if run is None:
        raise ConfigError(f"{path} carries no run config and sits in no run folder: rnnlab cannot rebuild its "
                          "held-out data")
    with _report_stream(args) as out:
        print(f"{path}: {model.describe()}", file=out)
        if args.data is not None:
            results = run.task.evaluate_file(model, run.config, args.data, out)
        else:
            _, val = run.data()
            results = run.task.report(model, run.config, val, out)
    if args.json:
        _print_json({"model": str(path), "results": results})
    return 0


def _load_model_of(target: Path, kind: str, command: str, hint: str = ""):
    """``(path, model)`` for a run folder or model file that must hold a ``kind`` model (by class name)."""
    from rnnlab.models import MODEL_TYPES, load_model

    path = _resolve_model_path(target)
    model = load_model(path)
    if not isinstance(model, MODEL_TYPES[kind]):
        raise ConfigError(f"{path} holds a {type(model).__name__}; {command} needs a {hint or kind}")
    return path, model


def cmd_predict(args) -> int:
    """``rnnlab predict MODEL TOKENS... --top K``."""
    _, model = _load_model_of(args.model, "NextTokenModel", "predict", "next-token model")
    text = "".join(args.tokens)
    if not text:
        raise DataError("the input sequence is empty: give at least one token, e.g. rnnlab predict MODEL r r i q g")
    tokens = model.vocab.split(text) if all(len(t) == 1 for t in model.vocab) else list(args.tokens)
    top = model.predict_topk(tokens, k=args.top)
    if args.json:
        _print_json({"input": tokens, "top": [{"token": t, "probability": p} for t, p in top]})
    else:
        print(f"input: {' '.join(tokens)}")
        for rank, (tok, p) in enumerate(top, 1):
            print(f"  {rank}. {tok}  {p:.4f}")
    return 0


def cmd_generate(args) -> int:
    """``rnnlab generate MODEL --prime TEXT --length N ...``: stream generated characters."""
    _, model = _load_model_of(args.model, "CharLM", "generate", "text model (rnnlab train text)")
    if args.top_p is not None and args.top_p > 1:
        raise ConfigError(f"--top-p should be at most 1, got {args.top_p:g}")
    prime = args.prime.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    stream = model.generate(prime, args.length, temperature=0.0 if args.greedy else args.temperature,
                            top_k=args.top_k, top_p=args.top_p, seed=args.seed,
                            unknown="skip" if args.skip_unknown else "error")
    if args.json:
        _print_json({"prime": prime, "text": "".join(stream)})
        return 0
    sys.stdout.write(prime)
    for ch in stream:
        sys.stdout.write(ch)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0


def cmd_forecast(args) -> int:
    """``rnnlab forecast RUN --steps K [--from-end]``: a CSV and a plot of forecast against actual values."""
    import csv

    from rnnlab.io import atomic_write_text

    path, model = _load_model_of(args.model, "Forecaster", "forecast", "forecaster (rnnlab train forecast)")
    run = _run_of(args.model, model)
    if run is None or run.task.name != "forecast":
        raise ConfigError(f"{path} sits in no forecast run folder: rnnlab cannot find its series")
    steps = args.steps or run.config["data"]["horizon"]
    rows, meta = run.task.forecast_table(model, run.config, steps, from_end=args.from_end)
    csv_path = args.out or run.folder / "forecast.csv"
    buf = _io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)
    atomic_write_text(csv_path, buf.getvalue())
    written = [str(csv_path)]
    try:
        from rnnlab.plot import plot_forecast

        where = "past the end of the series" if args.from_end else "from the start of the test part"
        plot_path = args.plot or Path(csv_path).with_suffix(".png")
        written.append(str(plot_forecast(rows, meta, plot_path, title=f"{run.task.title(run.config)}: {steps} "
                                         f"steps {where}")))
    except RnnlabError as exc:
        if "matplotlib" not in str(exc):
            raise
    target = meta["targets"][0]
    actual = [r for r in rows if r[f"{target}_actual"] is not None]
    summary = {"steps": steps, "origin": meta["origin"], "files": written, "forecast": rows}
    if actual:
        errs = [abs(r[target] - r[f"{target}_actual"]) for r in actual]
        summary["mae"] = sum(errs) / len(errs)
    if args.json:
        _print_json(summary)
        return 0
    first = rows[0]["date"] or f"step {meta['origin']}"
    print(f"{steps}-step forecast of {', '.join(meta['targets'])} from {first}"
          + (f": MAE {summary['mae']:.4g} against the {len(actual)} actual values" if actual else ""))
    for r in rows[:5]:
        shown = "  ".join(f"{n} {r[n]:.4g}" + ("" if r[f"{n}_actual"] is None else f" (actual {r[f'{n}_actual']:.4g})")
                          for n in meta["targets"])
        print(f"  {r['date'] or r['step']}: {shown}")
    if steps > 5:
        print(f"  ... {steps - 5} more")
    print(f"wrote {', '.join(written)}")
    return 0


def cmd_datasets(args) -> int:
    """``rnnlab datasets``: the bundled data sets."""
    from rnnlab.datasets import DATA_DIR, listing

    items = listing()
    if args.json:
        _print_json({"folder": str(DATA_DIR), "datasets": items})
        return 0
    for d in items:
        print(f"{d['name']}  ({d['kind']}, {d['bytes'] / 1024:,.0f} KiB: {', '.join(d['files'].values())})")
        print(f"    {d['description']}")
        print(f"    licence: {d['licence']}")
        print(f"    source: {d['source']}")
    print(f"\nfiles in {DATA_DIR}; attributions in NOTICE.md there. Use a name wherever a data file is asked for, "
          "e.g. rnnlab train forecast co2 --missing interpolate")
    return 0


def _describe(path: Path, target: Path) -> dict:
    from rnnlab.io import load_arrays
    from rnnlab.models import load_model

    header, _ = load_arrays(path)
    model = load_model(path)
    vocab = model.vocab.tokens if hasattr(model, "vocab") else None
    info = {
        "file": str(path), "kind": header.get("kind", "model"), "format_version": header.get("format_version"),
        "written_by": f"rnnlab {header.get('rnnlab_version')}", "model": type(model).__name__,
        "architecture": model.describe() if hasattr(model, "describe") else repr(model),
        "parameters": model.num_parameters(), "dtype": model.dtype.name, "config": model.get_config(),
    }
    if vocab is not None:
        chars = all(len(t) == 1 for t in vocab)
        info["vocabulary"] = {"size": len(vocab), "tokens": "".join(vocab) if chars else vocab}
    run = _run_of(target, model)
    if run is not None:
        info["run"] = {"folder": str(run.folder), "task": run.task.name, "seed": run.config["seed"],
                       "data": run.config["data"], "train": run.config["train"]}
    trainer = header.get("trainer")
    if isinstance(trainer, dict):
        history = trainer.get("history") or []
    else:
        history = []
        hist_path = path.parent / "history.csv"
        if run is not None and hist_path.exists():
            from rnnlab.training import History

            history = History.from_csv(hist_path.read_text(encoding="utf-8")).rows
    if history:
        last = history[-1]
        info["training"] = {
            "epochs": len(history), "best_epoch": model.file_extra.get("epoch") if info["kind"] == "model" else
            (trainer or {}).get("best_epoch"),
            "last": {k: last.get(k) for k in ("train_loss", "val_loss", "val_accuracy", "lr")},
            "seconds": sum(r.get("time_s") or 0 for r in history),
        }
    return info


def cmd_info(args) -> int:
    """``rnnlab info MODEL|RUN``."""
    path = _resolve_model_path(args.target)
    info = _describe(path, args.target)
    if args.json:
        _print_json(info)
        return 0
    print(f"{info['file']}: rnnlab {info['kind']} file, format version {info['format_version']}, "
          f"written by {info['written_by']}")
    print(f"  model: {info['architecture']}")
    print(f"  {info['parameters']:,} parameters, {info['dtype']}")
    if "vocabulary" in info:
        v = info["vocabulary"]
        tokens = v["tokens"] if isinstance(v["tokens"], str) else " ".join(v["tokens"][:30])
        print(f"  vocabulary: {v['size']} tokens: {tokens!r}")
    if "run" in info:
        r = info["run"]
        print(f"  run: task {r['task']}, seed {r['seed']}, data {r['data']}")
        t = r["train"]
        print(f"  training config: {t['optimizer']} lr {t['lr']:g}, batch {t['batch_size']}, {t['epochs']} epochs, "
              f"schedule {t['schedule']}")
    if "training" in info:
        t = info["training"]
        last = t["last"]
        val = "" if last["val_loss"] is None else f", val_loss {last['val_loss']:.4f}"
        if last["val_accuracy"] is not None:  # a forecaster has none
            val += f", val_acc {last['val_accuracy']:.4f}"
        print(f"  trained: {t['epochs']} epochs in {t['seconds']:.1f} s; best epoch {t['best_epoch']}; "
              f"last epoch train_loss {last['train_loss']:.4f}{val}, lr {last['lr']:.3g}")
    return 0


def cmd_plot(args) -> int:
    """``rnnlab plot RUN``."""
    from rnnlab.runs import HISTORY, Run
    from rnnlab.training import History

    run = Run.open(args.run)
    path = run.folder / HISTORY
    if not path.exists():
        raise ConfigError(f"{run.folder} has no {HISTORY} yet: train at least one epoch first")
    history = History.from_csv(path.read_text(encoding="utf-8"))
    out = run.plot(history, args.out)
    if out is None:
        raise RnnlabError("plotting needs matplotlib: pip install 'rnnlab[plot]'")
    written = [out]
    if args.out is None and (run.folder / "model.npz").exists():
        from rnnlab.models import load_model

        written += _task_plots(run, load_model(run.folder / "model.npz"))
    print(f"wrote {', '.join(map(str, written))}")
    return 0


def cmd_gradient_flow(args) -> int:
    """``rnnlab gradient-flow``: the vanishing-gradient picture."""
    from rnnlab.diagnostics import gradient_flow

    groups = gradient_flow(steps=args.steps, hidden_size=args.hidden_size, seed=args.seed)
    if args.json:
        _print_json({"steps": args.steps, "hidden_size": args.hidden_size, "norms": groups})
        return 0
    from rnnlab.plot import plot_gradient_flow

    out = plot_gradient_flow(groups, args.out, hidden_size=args.hidden_size)
    print(f"|dL/dh_t| {args.steps - 1} steps before the loss, relative to the last step:")
    for setting, norms in groups.items():
        print(f"  {setting}:")
        for name, values in norms.items():
            print(f"    {name:<26}{values[0] / values[-1]:9.1e}")
    print(f"wrote {out}")
    return 0


# -- gradcheck ---------------------------------------------------------------------------------------


def _cell_reports(cell: str, seed: int) -> dict:
    from rnnlab.gradcheck import check_layer
    from rnnlab.nn import CELL_TYPES

    rng = np.random.default_rng(seed)
    reports = {}
    for layers, bidirectional, lengths in [(1, False, None), (2, False, None), (1, True, [5, 3, 1]),
                                           (2, True, [5, 3, 1])]:
        layer = CELL_TYPES[cell](3, 4, layers, bidirectional=bidirectional, dtype=np.float64, rng=rng)
        x = rng.standard_normal((3, 5, 3))
        shape = layer.state_shape(3)
        parts = tuple(rng.standard_normal(shape) for _ in range(layer.n_states))
        state = parts if layer.n_states == 2 else parts[0]
        name = f"{layer!r}" + (f", lengths={lengths}" if lengths else "") + ", with initial state"
        reports[name] = check_layer(layer, x, state, lengths=lengths, rng=rng)
    return reports


def _layer_reports(seed: int) -> dict:
    from rnnlab.gradcheck import check_layer, check_model
    from rnnlab.models import NextTokenModel
    from rnnlab.nn import GRU, LSTM, RNN, Embedding, Linear

    rng = np.random.default_rng(seed)
    f64 = np.float64
    reports = {
        "Embedding(7, 3)": check_layer(Embedding(7, 3, dtype=f64, rng=rng), rng.integers(0, 7, (2, 4)), rng=rng),
        "Linear(3, 4)": check_layer(Linear(3, 4, dtype=f64, rng=rng), rng.standard_normal((2, 4, 3)), rng=rng),
    }
    for nl in ("tanh", "relu"):
        x = rng.standard_normal((2, 5, 3))
        reports[f"RNN(3, 4, {nl})"] = check_layer(RNN(3, 4, nonlinearity=nl, dtype=f64, rng=rng), x, rng=rng)
        reports[f"RNN(3, 4, {nl}) with h0"] = check_layer(
            RNN(3, 4, nonlinearity=nl, dtype=f64, rng=rng), x, rng.standard_normal((1, 2, 4)), rng=rng
        )
    x = rng.standard_normal((3, 5, 3))
    reports["LSTM(3, 4, 2 layers, bidirectional), ragged lengths"] = check_layer(
        LSTM(3, 4, 2, bidirectional=True, dtype=f64, rng=rng), x, lengths=[5, 2, 4], rng=rng
    )
    reports["GRU(3, 4, 2 layers, bidirectional), ragged lengths"] = check_layer(
        GRU(3, 4, 2, bidirectional=True, dtype=f64, rng=rng), x, lengths=[5, 2, 4], rng=rng
    )
    model = NextTokenModel(list("abcdef"), embedding_dim=3, hidden_size=4, dtype=f64, rng=rng)
    ids, targets = rng.integers(0, 6, (3, 4)), rng.integers(0, 6, (3, 4))
    reports["NextTokenModel (loss)"] = check_model(model, ids, targets)
    reports["NextTokenModel (masked loss)"] = check_model(model, ids, targets, rng.random((3, 4)) > 0.3)
    return reports


def _notebook_reports(seed: int) -> dict:
    from rnnlab import notebook

    reports = {"all four bugs (as published)": notebook.check_bugs(notebook.BUGS, rng=seed)}
    for bug in notebook.BUGS:
        reports[f"only {bug}"] = notebook.check_bugs((bug,), rng=seed)
    reports["all fixed"] = notebook.check_bugs((), rng=seed)
    return reports


def cmd_gradcheck(args) -> int:
    """``rnnlab gradcheck [--cell C] [--notebook]``."""
    if args.notebook:
        reports = _notebook_reports(args.seed)
    elif args.cell:
        reports = _cell_reports(args.cell, args.seed)
    else:
        reports = _layer_reports(args.seed)
    tol = 1e-6
    if args.json:
        print(json.dumps({name: dict(r) for name, r in reports.items()}, indent=2))
        return 0
    what = "the notebook's backward pass" if args.notebook else f"the {args.cell.upper()} layer" if args.cell else (
        "rnnlab's layers and model")
    print(f"gradient check of {what}: relative error |analytic - numeric| / (|analytic| + |numeric|)")
    print(f"per parameter, float64, finite differences (docs/from-the-notebook.md); below {tol:g} passes")
    for name, report in reports.items():
        verdict = "pass" if report.max_error < tol else "FAIL"
        print(f"\n{name}: {verdict}")
        for param, err in report.items():
            flag = "" if err < tol else "   <- wrong gradient"
            print(f"  {param:<22}{err:10.2e}{flag}")
    return 0
