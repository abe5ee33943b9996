"""Building the parser: one-line errors, the command table's entries, options from config fields.

Every option's rule (type, choices, bounds) comes from :mod:`rnnlab.config`: a config
dataclass field for ``train``'s options, a :func:`~rnnlab.config.rule` for a command's own.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Callable
from dataclasses import dataclass, fields

from rnnlab.config import Rule, base_type, field_default, parse_option, rule
from rnnlab.errors import ConfigError

METAVARS = {"int": "N", "float": "F", "str": "TEXT", "bool": "BOOL"}


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Help with the epilog's examples kept as written (defaults are added by :func:`shown_default`)."""


def shown_default(kwargs: dict) -> dict:
    """An option's keyword arguments with ``(default: X)`` added to its help: only where there is a
    value to show (not for a flag, an option without one, or help that already says it)."""
    default, text = kwargs.get("default"), kwargs.get("help") or ""
    silent = default in (None, "", argparse.SUPPRESS) or kwargs.get("action") in ("store_true", "store_false",
                                                                                 "help", "version")
    if silent or "(default" in text or not text:
        return kwargs
    return {**kwargs, "help": f"{text} (default: {default})"}


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (exit status 2), and which remembers its long
    options (for "did you mean") and its subcommands' parsers (``commands``)."""

    def __init__(self, *args, **kwargs):
        self.long_options: list[str] = []  # set first: the base class adds --help while it starts
        self.commands: dict[str, Parser] = {}
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def add_argument(self, *flags, **kwargs):
        self.long_options += [f for f in flags if f.startswith("--")]
        return super().add_argument(*flags, **shown_default(kwargs))

    def add_group(self, title: str) -> OptionGroup:
        """An argument group whose options this parser remembers too."""
        return OptionGroup(self, self.add_argument_group(title))


class OptionGroup:
    """An argument group of a :class:`Parser` (see :meth:`Parser.add_group`)."""

    def __init__(self, parser: Parser, group):
        self.parser, self.group = parser, group

    def add_argument(self, *flags, **kwargs):
        self.parser.long_options += [f for f in flags if f.startswith("--")]
        return self.group.add_argument(*flags, **shown_default(kwargs))


@dataclass(frozen=True)
class Command:
    """One entry of the command table: its name, its help, its arguments and what runs it."""

    name: str
    help: str
    description: str
    epilog: str
    add_arguments: Callable[[Parser], None]
    run: Callable[[argparse.Namespace], int]
    computes: bool = True  # gets --threads (info, datasets and plot compute nothing)


def add_threads_option(parser: Parser) -> None:
    """``--threads N`` on a command that computes (on each of its subcommands, where it has them)."""
    if parser.commands:
        for sub in parser.commands.values():
            add_threads_option(sub)
        return
    parser.add_argument("--threads", type=value("int", minimum=1), default=None, metavar="N",
                        help="compute on N threads (rnnlab's kernels and BLAS; default: as many as the machine has)")


class VersionAction(argparse.Action):
    """``--version``: rnnlab's version and which kernels run, worked out only when asked (finding the
    kernel set imports numba, which every other command would otherwise pay for)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None,
                 describe: Callable[[], str] = str):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)
        self.describe = describe

    def __call__(self, parser, namespace, values, option_string=None):
        print(self.describe())  # to stdout, as argparse's own version action does
        parser.exit(0)


def converter(f: Rule) -> Callable[[str], object]:
    """The argparse ``type`` for a rule or a config field: its ConfigError becomes a usage error."""

    def convert(text: str):
        try:
            return parse_option(f, text)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = base_type(f)[0]  # argparse names the type in some messages
    return convert


def value(kind: str, **rules) -> Callable[[str], object]:
    """The argparse ``type`` for a command's own option, e.g. ``value("int", minimum=1)``."""
    return converter(rule(kind, **rules))


def add_config_options(parser: Parser, cls, section: str, defaults: dict) -> None:
    """One option per command-line field of a config dataclass, e.g. --hidden-size for model.hidden_size,
    stored as ``args.<section>.<field>`` only when given (so a config file's value can stand)."""
    group = parser.add_group(f"{section} options")
    for f in fields(cls):
        if not f.metadata.get("cli", True):
            continue
        default = defaults.get(f.name, field_default(f))
        shown = "" if default == "" else f" (default: {'none' if default is None else default})"  # "": help says
        if f.metadata.get("positional"):
            parser.add_argument(f"{section}.{f.name}", metavar=f.name.upper(), nargs="?", default=argparse.SUPPRESS,
                                help=f.metadata.get("help", "") + shown)
            continue
        bare = {"nargs": "?", "const": True} if base_type(f)[0] == "bool" else {}  # --audio alone: --audio true
        group.add_argument("--" + f.name.replace("_", "-"), dest=f"{section}.{f.name}", type=converter(f),
                           default=argparse.SUPPRESS, metavar=metavar(f), help=f.metadata.get("help", "") + shown,
                           **bare)


def metavar(f) -> str:
    """The placeholder in --help: the field's own, its choices ``{a,b}``, or N, F, TEXT, BOOL by type."""
    if f.metadata.get("metavar"):
        return f.metadata["metavar"]
    if f.metadata.get("choices"):
        return "{" + ",".join(map(str, f.metadata["choices"])) + "}"
    return METAVARS[base_type(f)[0]]


def add_output_options(group) -> None:
    """--quiet, --no-plot and --json, for the commands that train."""
    group.add_argument("--quiet", action="store_true", help="no progress bar and no per-epoch lines")
    group.add_argument("--no-plot", action="store_true", help="do not draw loss.png")
    group.add_argument("--json", action="store_true", help="print a JSON summary on stdout instead of the report")


def unrecognized(parser: Parser, args, extras) -> str:
    """One line for unknown arguments, naming the right --help and the nearest real option."""
    sub = parser
    for name in (getattr(args, "command", None), getattr(args, "task", None)):
        if name is None or name not in sub.commands:
            break
        sub = sub.commands[name]
    hint = ""
    flag = next((e.split("=")[0] for e in extras if e.startswith("--")), None)
    if flag:
        close = difflib.get_close_matches(flag, sub.long_options, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
    return f"{sub.prog}: error: unrecognized arguments: {' '.join(extras)}{hint} (see {sub.prog} --help)"
