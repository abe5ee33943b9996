"""TrainConfig: how to train, as one checked dataclass.

Each field's metadata carries its help text (and choices), from which the command line builds
its options, so the two never drift apart.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from rnnlab._checks import check_int
from rnnlab.errors import ConfigError

SCHEDULES = ("constant", "step", "cosine", "plateau")
MONITORS = ("val_loss", "val_accuracy", "train_loss")


def _opt(default, help_text: str, choices=None, cli: bool = True):
    return field(default=default, metadata={"help": help_text, "choices": choices, "cli": cli})


@dataclass
class TrainConfig:
    """How to train. Every field is checked when the config is built (see each field's help).

    The learning-rate ``schedule`` is "constant", "step" (times ``gamma`` every ``step_size``
    epochs), "cosine" (from ``lr`` down to ``min_lr`` over ``epochs``) or "plateau" (times
    ``gamma`` after ``plateau_patience`` epochs without improvement of ``monitor``).
    ``early_stopping`` > 0 stops after that many epochs without improvement of ``monitor``.
    """

    epochs: int = _opt(10, "passes over the training data")
    batch_size: int = _opt(32, "sequences per step")
    optimizer: str = _opt("adam", "optimizer", choices=("adam", "sgd"))
    lr: float = _opt(1e-3, "learning rate")
    momentum: float = _opt(0.0, "SGD momentum")
    weight_decay: float = _opt(0.0, "L2 penalty added to the gradient")
    clip_value: float | None = _opt(None, "clamp each gradient entry to [-v, v], the notebook's clipping ('none': off)")
    clip_norm: float | None = _opt(None, "rescale the gradient to at most this global L2 norm ('none': off)")
    schedule: str = _opt("constant", "learning-rate schedule", choices=SCHEDULES)
    step_size: int = _opt(10, "step schedule: epochs between two decays")
    gamma: float = _opt(0.5, "step and plateau schedules: factor applied to the learning rate")
    min_lr: float = _opt(0.0, "cosine and plateau schedules: the lowest learning rate")
    plateau_patience: int = _opt(5, "plateau schedule: epochs without improvement before a decay")
    early_stopping: int = _opt(0, "stop after this many epochs without improvement of --monitor (0: never)")
    monitor: str = _opt("val_loss", "the metric for the best model, plateau and early stopping", choices=MONITORS)
    seed: int | None = _opt(None, "seed of the shuffling generator (None: fresh entropy)", cli=False)
    shuffle: bool = _opt(True, "reshuffle the training sequences every epoch", cli=False)
    progress: bool | None = _opt(None, "progress bar on stderr; None: only when stderr is a terminal", cli=False)
    log_every: int = _opt(0, "a one-line summary every this many epochs (0: never)", cli=False)

    def __post_init__(self):
        def number(name, minimum=0.0, allow_none=False, strict=False, maximum=None):
            v = getattr(self, name)
            if v is None and allow_none:
                return
            ok = not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
            ok = ok and (v > minimum if strict else v >= minimum) and (maximum is None or v <= maximum)
            if not ok:
                rel = ">" if strict else ">="
                upper = f" and <= {maximum}" if maximum is not None else ""
                raise ConfigError(f"{name} should be a finite number {rel} {minimum}{upper}, got {v!r}")

        check_int("epochs", self.epochs)
        check_int("batch_size", self.batch_size)
        for name, values in (("optimizer", ("adam", "sgd")), ("schedule", SCHEDULES), ("monitor", MONITORS)):
            if getattr(self, name) not in values:
                raise ConfigError(f"{name} should be one of {', '.join(values)}, got {getattr(self, name)!r}")
        number("lr", strict=True)
        number("momentum")
        if self.momentum >= 1:
            raise ConfigError(f"momentum should be below 1, got {self.momentum!r}")
        if self.momentum and self.optimizer != "sgd":
            raise ConfigError("momentum applies to the sgd optimizer only (Adam has its own)")
        number("weight_decay")
        number("clip_value", allow_none=True, strict=True)
        number("clip_norm", allow_none=True, strict=True)
        check_int("step_size", self.step_size)
        number("gamma", strict=True, maximum=1.0)
        number("min_lr")
        check_int("plateau_patience", self.plateau_patience)
        check_int("early_stopping", self.early_stopping, minimum=0)
        if self.seed is not None:
            check_int("seed", self.seed, minimum=0)
        if not isinstance(self.shuffle, bool):
            raise ConfigError(f"shuffle should be True or False, got {self.shuffle!r}")
        check_int("log_every", self.log_every, minimum=0)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build from a dict; unknown keys are an error naming them and the known ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown training option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**values)

    def to_dict(self) -> dict:
        """The fields as a plain dict."""
        return asdict(self)
