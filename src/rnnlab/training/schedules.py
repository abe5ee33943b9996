"""Learning-rate schedules and the "has the monitored metric improved" bookkeeping.

Step and cosine schedules depend only on the epoch number, so they need no state; the
plateau schedule and early stopping keep counters, which the trainer checkpoints.
"""

from __future__ import annotations

import math

from rnnlab.training.config import TrainConfig


def scheduled_lr(config: TrainConfig, epoch: int, current: float) -> float:
    """The learning rate for ``epoch`` (counted from 1) under a step or cosine schedule;
    ``current`` unchanged for "constant" and "plateau" (which decays on its own)."""
    if config.schedule == "step":
        return config.lr * config.gamma ** ((epoch - 1) // config.step_size)
    if config.schedule == "cosine":
        progress = (epoch - 1) / max(1, config.epochs)
        return config.min_lr + (config.lr - config.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
    return current


def higher_is_better(monitor: str) -> bool:
    """Accuracy should rise, losses fall."""
    return monitor.endswith("accuracy")


def improved(monitor: str, value: float, best: float | None) -> bool:
    """Whether ``value`` beats ``best`` (None: nothing to beat yet)."""
    if best is None:
        return True
    return value > best if higher_is_better(monitor) else value < best
