"""Config dataclasses whose fields carry their own rules: help text, choices and bounds.

A field made with :func:`option` states once what it accepts; :func:`check_fields` enforces
it when the dataclass is built (from Python, a config file or the command line alike), and
:func:`parse_option` reads a command-line string by the same rule, so the two can never
disagree. Types come from the annotation: ``bool``, ``int``, ``float``, ``str``, or one of them
``| None`` (None allowed). Bounds: ``minimum`` / ``maximum`` are inclusive, ``above`` /
``below`` exclusive.

Example::

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Sizes:
    ...     hidden_size: int = option(64, "hidden units", minimum=1)
    ...     dropout: float = option(0.0, "dropout rate", minimum=0.0, below=1.0)
    ...     def __post_init__(self):
    ...         check_fields(self)
    >>> Sizes(hidden_size=0)
    Traceback (most recent call last):
    ...
    rnnlab.errors.ConfigError: hidden_size should be a positive integer, got 0
"""

from __future__ import annotations

import math
import numbers
from dataclasses import MISSING, field, fields
from typing import NamedTuple

from rnnlab.errors import ConfigError

OFF_WORDS = ("none", "off")
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


def option(default, help_text: str, *, choices=None, minimum=None, maximum=None, above=None, below=None,
           zero_means_none: bool = False, positional: bool = False, cli: bool = True, metavar: str | None = None):
    """A config dataclass field with its rules (see the module docstring).

    choices: the allowed values; zero_means_none: for an optional number, 0 means None (off);
    positional: the command's positional argument instead of an option; cli: False keeps it
    off the command line (Python only); metavar: the placeholder in ``--help`` (default from
    the type: N, X, TEXT).
    """
    rules = {"help": help_text, "choices": choices, "minimum": minimum, "maximum": maximum, "above": above,
             "below": below, "zero_means_none": zero_means_none, "positional": positional, "cli": cli,
             "metavar": metavar}
    return field(default=default, metadata=rules)


class Rule(NamedTuple):
    """A rule for a value outside a dataclass (a command's own option), shaped like a field:
    ``name``, ``type`` ("int", "float", "str", "bool", optionally "| None") and ``metadata``."""

    name: str
    type: str
    metadata: dict


def rule(kind: str, name: str = "value", **rules) -> Rule:
    """A :class:`Rule` with the keyword arguments of :func:`option` (choices, minimum, above, ...)."""
    return Rule(name, kind, {"help": "", **rules})


def base_type(f) -> tuple[str, bool]:
    """``(type name, None allowed)`` of a field: ``"float | None"`` -> ``("float", True)``."""
    kind = str(f.type).replace(" ", "")
    optional = kind.endswith("|None")
    return kind.removesuffix("|None"), optional


def describe_rule(f) -> str:
    """What a field accepts, in words: "a positive integer", "a number > 0", "one of a, b"."""
    m, (kind, optional) = f.metadata, base_type(f)
    if m.get("choices"):
        text = "one of " + ", ".join(map(str, m["choices"]))
    elif kind == "bool":
        text = "true or false"
    elif kind == "str":
        text = "text"
    elif kind == "int" and m.get("minimum") is not None and m.get("maximum") is None:
        text = "a positive integer" if m["minimum"] == 1 else f"an integer >= {m['minimum']}"
    else:
        bounds = [f">= {m['minimum']:g}" if m.get("minimum") is not None else None,
                  f"> {m['above']:g}" if m.get("above") is not None else None,
                  f"<= {m['maximum']:g}" if m.get("maximum") is not None else None,
                  f"< {m['below']:g}" if m.get("below") is not None else None]
        shown = " and ".join(b for b in bounds if b)
        text = ("an integer" if kind == "int" else "a number") + (f" {shown}" if shown else "")
    if optional and kind in ("int", "float"):
        text += " (" + ("0 or " if m.get("zero_means_none") else "") + "'none': off)"
    return text


def _fits(f, value) -> bool:
    m, (kind, _) = f.metadata, base_type(f)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "str":
        ok = isinstance(value, str)
    elif kind == "int":
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    else:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok:
        return False
    if m.get("choices") and value not in m["choices"]:
        return False
    if kind == "str":
        return True
    return ((m.get("minimum") is None or value >= m["minimum"]) and (m.get("maximum") is None or value <= m["maximum"])
            and (m.get("above") is None or value > m["above"]) and (m.get("below") is None or value < m["below"]))


def check_value(f, value):
    """``value`` if it fits field ``f``'s rules (a float field's int becomes a float); else a ConfigError."""
    kind, optional = base_type(f)
    if value is None and optional:
        return None
    if optional and f.metadata.get("zero_means_none") and value == 0 and not isinstance(value, bool):
        return None
    if not _fits(f, value):
        raise ConfigError(f"{f.name} should be {describe_rule(f)}, got {value!r}")
    return float(value) if kind == "float" else value


def check_fields(instance) -> None:
    """Check every field of a config dataclass against its rules (call it from ``__post_init__``)."""
    for f in fields(instance):
        if "help" in f.metadata:
            object.__setattr__(instance, f.name, check_value(f, getattr(instance, f.name)))


def parse_option(f, text: str):
    """A command-line string -> the field's value, by the field's rules; a ConfigError saying what
    is expected otherwise (the command line turns it into its one-line usage error)."""
    kind, optional = base_type(f)
    low = text.strip().lower()
    value = text
    if optional and low in OFF_WORDS:
        return None
    if kind == "bool":
        value = True if low in TRUE_WORDS else False if low in FALSE_WORDS else text
    elif kind in ("int", "float"):
        try:
            value = int(text) if kind == "int" else float(text)
        except ValueError:
            pass
    try:
        return check_value(f, value)
    except ConfigError:
        raise ConfigError(f"expected {describe_rule(f)}, got {text!r}") from None


def field_default(f):
    """A dataclass field's default value (None when it has none)."""
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return None


def from_dict(cls, values, section: str):
    """Build ``cls(**values)``; unknown keys and bad values are ConfigErrors naming the section."""
    if not isinstance(values, dict):
        raise ConfigError(f"the [{section}] section should be a table of options, got {type(values).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown [{section}] option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"invalid [{section}] options: {exc}") from None
