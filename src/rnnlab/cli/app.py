"""The command table, the parser built from it, and ``main``: errors become exit codes here."""

from __future__ import annotations

import contextlib
import os
import sys
from enum import IntEnum

from rnnlab._version import __version__
from rnnlab.cli import backtest, diagnose, evaluate, export, forecast, info, predict, train, tune
from rnnlab.cli.parsing import Formatter, Parser, VersionAction, add_threads_option, unrecognized
from rnnlab.errors import MissingDependency, RnnlabError, TrainingInterrupted
from rnnlab.kernels import active_kernels
from rnnlab.threads import set_num_threads


class ExitCode(IntEnum):
    """What ``rnnlab`` returns: 0 done, 2 a mistake the message explains, 130 interrupted (Ctrl-C)."""

    OK = 0
    ERROR = 2
    INTERRUPTED = 130


# the order of ``rnnlab --help``
COMMANDS = (train.DEMO, train.TRAIN, train.RESUME, evaluate.EVALUATE, predict.PREDICT, predict.GENERATE,
            forecast.FORECAST, backtest.BACKTEST, export.EXPORT, info.DATASETS, info.INFO, info.PLOT,
            diagnose.GRADIENT_FLOW, diagnose.GRADCHECK, tune.TUNE, tune.TUNE_REPORT)


def version() -> str:
    """What ``rnnlab --version`` prints: the version, then which kernels run."""
    from rnnlab.kernels import describe

    return f"rnnlab {__version__}\n{describe()}"


def build_parser() -> Parser:
    """The argument parser of the ``rnnlab`` command, one subcommand per entry of ``COMMANDS``."""
    parser = Parser(prog="rnnlab", description="Recurrent neural networks in NumPy: train, check and use them.",
                    formatter_class=Formatter)
    parser.add_argument("--version", action=VersionAction, describe=version, help="show rnnlab's version and kernels")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help, description=command.description, epilog=command.epilog,
                           formatter_class=Formatter)
        command.add_arguments(p)
        if command.computes:
            add_threads_option(p)
        p.set_defaults(func=command.run)
        parser.commands[command.name] = p
    return parser


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args, extras = parser.parse_known_args(argv)
    except SystemExit as exc:  # --help, --version, and one-line usage errors
        return int(exc.code or 0)
    if extras:
        print(unrecognized(parser, args, extras), file=sys.stderr)
        return ExitCode.ERROR
    if args.command is None:
        parser.print_help(sys.stderr)
        return ExitCode.ERROR
    try:
        if hasattr(args, "threads"):  # a command that computes: its threads and kernels, before it starts
            active_kernels()
            if args.threads is not None:
                set_num_threads(args.threads)
            else:  # every core, as the option's help says; without threadpoolctl BLAS keeps its own count
                with contextlib.suppress(MissingDependency):
                    set_num_threads(os.cpu_count() or 1)
        return ExitCode(args.func(args))
    except RnnlabError as exc:
        if args.debug:
            raise
        print(f"rnnlab: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return ExitCode.ERROR
    except TrainingInterrupted as exc:
        print(f"rnnlab: {exc}", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        print("rnnlab: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # e.g. `rnnlab gradcheck | head`: the reader left, which is fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.OK


__all__ = ["COMMANDS", "ExitCode", "build_parser", "main"]
