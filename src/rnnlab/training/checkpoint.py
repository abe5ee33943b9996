"""What a checkpoint's training state must hold, checked field by field before a resume uses it.

A checkpoint is read back into a Trainer that then trains and rewrites the run's files, so a
hand-edited or damaged value (a negative epoch, a step count past the end, a garbage history
row, an order that is not a permutation) would spread into every later command. Each rule
here names the field and the value it refuses.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from rnnlab.errors import ModelFileError
from rnnlab.training.history import History


def _count(path, name: str, value, minimum: int = 0, maximum: float = math.inf) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not minimum <= value <= maximum:
        bound = f"an integer >= {minimum}" + ("" if maximum == math.inf else f" and <= {maximum}")
        raise ModelFileError(f"{path}: the checkpoint's {name} should be {bound}, got {value!r} (was it edited?)")
    return int(value)


def _number(path, name: str, value, optional: bool = True, minimum: float = -math.inf) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < minimum:
        bound = "" if minimum == -math.inf else f" >= {minimum:g}"
        raise ModelFileError(f"{path}: the checkpoint's {name} should be a finite number{bound}, got {value!r} "
                             "(was it edited?)")
    return float(value)


def check_training_state(path, t: dict, order, n_steps: int, n_sequences: int) -> None:
    """Check a checkpoint's ``trainer`` table (and the mid-epoch ``order``) for a run of
    ``n_steps`` steps an epoch over ``n_sequences`` sequences; a ModelFileError names the field."""
    if not isinstance(t, dict):
        raise ModelFileError(f"{path}: the checkpoint's trainer state should be a table, got {type(t).__name__}")
    epoch = _count(path, "epoch", t.get("epoch"))
    _count(path, "step", t.get("step"), maximum=(epoch + 1) * n_steps)
    _count(path, "best_epoch", t.get("best_epoch"), maximum=epoch)
    _count(path, "plateau_bad", t.get("plateau_bad"), maximum=epoch)
    _number(path, "best", t.get("best"))
    if not isinstance(t.get("stopped_early"), bool):
        raise ModelFileError(f"{path}: the checkpoint's stopped_early should be true or false, got "
                             f"{t.get('stopped_early')!r}")
    history = t.get("history")
    if not isinstance(history, list) or len(history) != epoch:
        raise ModelFileError(f"{path}: the checkpoint's history should hold one row per finished epoch ({epoch})")
    for i, row in enumerate(history):
        if not isinstance(row, dict) or set(row) - set(History.columns) or row.get("epoch") != i + 1:
            raise ModelFileError(f"{path}: history row {i + 1} of the checkpoint is not an rnnlab history row")
        for column in History.columns[1:]:
            _number(path, f"history row {i + 1} {column}", row.get(column))
    partial = t.get("partial")
    if partial is None:
        return
    if not isinstance(partial, dict):
        raise ModelFileError(f"{path}: the checkpoint's mid-epoch position should be a table")
    _count(path, "partial.next_step", partial.get("next_step"), minimum=1, maximum=n_steps)
    for name in ("loss_sum", "count", "elapsed"):
        _number(path, f"partial.{name}", partial.get(name), optional=False, minimum=0.0)
    _number(path, "partial.correct", partial.get("correct"), minimum=0.0)
    _count(path, "partial.seqs", partial.get("seqs"), maximum=n_sequences)
    order = np.asarray(order)
    if order.shape != (n_sequences,) or order.dtype.kind not in "iu" or not np.array_equal(np.sort(order),
                                                                                          np.arange(n_sequences)):
        raise ModelFileError(f"{path}: the checkpoint's epoch order is not an order of the run's {n_sequences} "
                             "training sequences (was the file edited, or the data changed?)")
