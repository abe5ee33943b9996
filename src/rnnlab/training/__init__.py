"""The training loop, its configuration and its per-epoch history."""

from rnnlab.training.loop import History, TrainConfig, fit

__all__ = ["History", "TrainConfig", "fit"]
