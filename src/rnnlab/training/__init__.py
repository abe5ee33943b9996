"""Training: the resumable :class:`Trainer`, its :class:`TrainConfig`, the per-epoch :class:`History`."""

from rnnlab.training.config import TrainConfig
from rnnlab.training.history import History
from rnnlab.training.trainer import Trainer, fit

__all__ = ["History", "TrainConfig", "Trainer", "fit"]
