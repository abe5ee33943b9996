"""Inside an epoch: where training stands (what a mid-epoch checkpoint keeps) and its progress bar."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class EpochPosition:
    """Where training stands inside an epoch: what a mid-epoch checkpoint saves.

    order: the epoch's order of the training sequences; next_step: the next step (from 1);
    loss_sum, correct (None for a model without accuracy), count, seqs: the running totals;
    elapsed: training seconds so far (``started`` is the clock reading it counts from).
    """

    order: np.ndarray
    next_step: int = 1
    loss_sum: float = 0.0
    correct: float | None = 0.0
    count: float = 0.0
    seqs: int = 0
    elapsed: float = 0.0
    started: float = field(default_factory=time.perf_counter, compare=False)

    def add(self, result, sequences: int) -> None:
        """Count one step's :class:`~rnnlab.models.BatchResult`."""
        self.loss_sum += result.loss * result.count
        if self.correct is not None:
            self.correct += result.correct
        self.count += result.count
        self.seqs += sequences

    def to_header(self) -> dict:
        """The JSON-able part (``order`` is saved as an array beside it)."""
        return {"next_step": self.next_step, "loss_sum": self.loss_sum, "correct": self.correct, "count": self.count,
                "seqs": self.seqs, "elapsed": self.elapsed}

    @classmethod
    def from_header(cls, values: dict, order: np.ndarray) -> EpochPosition:
        """The inverse of :meth:`to_header`."""
        return cls(np.asarray(order), int(values["next_step"]), float(values["loss_sum"]),
                   None if values["correct"] is None else float(values["correct"]), float(values["count"]),
                   int(values["seqs"]), float(values["elapsed"]))


class EpochProgress:
    """The progress bar inside an epoch: advanced in batches of steps, its postfix redrawn at most
    four times a second (tqdm's own refreshes cost more than a small training step)."""

    def __init__(self, bar, last_row, position: EpochPosition):
        self.bar, self.last_row, self.position = bar, last_row, position
        self.pending = 0
        self.last_post = time.perf_counter()

    def stepped(self) -> None:
        self.pending += 1
        now = time.perf_counter()
        if now - self.last_post <= 0.25:
            return
        self.flush()
        p = self.position
        post = {"loss": f"{p.loss_sum / p.count:.4f}"}
        if self.last_row is not None and self.last_row["val_loss"] is not None:
            post["val_loss"] = f"{self.last_row['val_loss']:.4f}"
        post["seq/s"] = f"{p.seqs / max(1e-9, now - p.started):,.0f}"
        self.bar.set_postfix(post, refresh=False)
        self.last_post = now

    def flush(self) -> None:
        self.bar.update(self.pending)
        self.pending = 0
