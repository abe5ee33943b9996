"""TrainConfig: how to train, as one checked dataclass.

Each field states its help text, choices and bounds once (:func:`rnnlab.config.option`); the
dataclass checks them when built and the command line builds its options from them, so the two
never drift apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from rnnlab.config import check_fields, option
from rnnlab.errors import ConfigError
from rnnlab.optim import OPTIMIZERS, check_optimizer_choice

SCHEDULES = ("constant", "step", "cosine", "plateau")
MONITORS = ("val_loss", "val_accuracy", "train_loss")


@dataclass
class TrainConfig:
    """How to train. Every field is checked when the config is built (see each field's help).

    The learning-rate ``schedule`` is "constant", "step" (times ``gamma`` every ``step_size``
    epochs), "cosine" (from ``lr`` down to ``min_lr`` over ``epochs``) or "plateau" (times
    ``gamma`` after ``plateau_patience`` epochs without improvement of ``monitor``).
    ``early_stopping`` > 0 stops after that many epochs without improvement of ``monitor``.
    """

    epochs: int = option(10, "passes over the training data", minimum=1)
    batch_size: int = option(32, "sequences per step", minimum=1)
    optimizer: str = option("adam", "optimizer (settings other than these options: PyTorch's defaults)",
                            choices=tuple(OPTIMIZERS))
    lr: float = option(1e-3, "learning rate", above=0.0)
    momentum: float = option(0.0, "momentum of sgd and rmsprop", minimum=0.0, below=1.0)
    weight_decay: float = option(0.0, "weight decay: an L2 penalty added to the gradient (adamw: decoupled, "
                                 "shrinking the weights by lr * weight_decay each step)", minimum=0.0)
    clip_value: float | None = option(None, "clamp each gradient entry to [-v, v], the notebook's clipping (0 or "
                                      "'none': off)", above=0.0, zero_means_none=True)
    clip_norm: float | None = option(None, "rescale the gradient to at most this global L2 norm (0 or 'none': off)",
                                     above=0.0, zero_means_none=True)
    schedule: str = option("constant", "learning-rate schedule", choices=SCHEDULES)
    step_size: int = option(10, "step schedule: epochs between two decays", minimum=1)
    gamma: float = option(0.5, "step and plateau schedules: factor applied to the learning rate", above=0.0,
                          maximum=1.0)
    min_lr: float = option(0.0, "cosine and plateau schedules: the lowest learning rate", minimum=0.0)
    plateau_patience: int = option(5, "plateau schedule: epochs without improvement before a decay", minimum=1)
    early_stopping: int = option(0, "stop after this many epochs without improvement of --monitor (0: never)",
                                 minimum=0)
    monitor: str = option("val_loss", "the metric for the best model, plateau and early stopping", choices=MONITORS)
    seed: int | None = option(None, "seed of the shuffling generator (None: fresh entropy)", minimum=0, cli=False)
    shuffle: bool = option(True, "reshuffle the training sequences every epoch", cli=False)
    progress: bool | None = option(None, "progress bar on stderr; None: only when stderr is a terminal", cli=False)
    log_every: int = option(0, "a one-line summary every this many epochs (0: never)", minimum=0, cli=False)

    def __post_init__(self):
        check_fields(self)
        if self.schedule in ("cosine", "plateau") and self.min_lr > self.lr:
            raise ConfigError(f"min_lr ({self.min_lr:g}) should not exceed lr ({self.lr:g}): the {self.schedule} "
                              "schedule would raise the learning rate")
        check_optimizer_choice(self.optimizer, self.momentum)

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
