"""The training loop: shuffled mini-batches, an optimizer, clipping, a progress bar,
per-epoch validation, a history, and a clean stop when the loss diverges.

It works with any :class:`~rnnlab.models.Model` that implements ``check_data(*arrays)``,
``train_batch(*batch) -> (loss, correct, count)`` and ``evaluate(*arrays) -> dict``.
"""

from __future__ import annotations

import csv
import io as _io
import math
import sys
import time
from dataclasses import asdict, dataclass, fields

import numpy as np
from tqdm import tqdm

from rnnlab._checks import check_int
from rnnlab.errors import ConfigError, DataError, TrainingDiverged
from rnnlab.io import atomic_write_text
from rnnlab.nn.init import as_generator
from rnnlab.optim import clip_grad_norm_, clip_grad_value_, grad_norm, make_optimizer


@dataclass
class TrainConfig:
    """How to train. Every field is checked when the config is built.

    epochs: passes over the training data. batch_size: sequences per step.
    optimizer: "adam" or "sgd". lr: learning rate. momentum: SGD momentum.
    weight_decay: L2 penalty added to the gradient.
    clip_value: clamp every gradient entry to [-clip_value, clip_value] (the notebook's
    clipping), or None. clip_norm: rescale the whole gradient to at most this global L2
    norm, or None. seed: seed of the shuffling generator (None: fresh entropy).
    shuffle: reshuffle the training sequences every epoch.
    progress: show a tqdm bar on stderr; None means "only when stderr is a terminal".
    log_every: write a one-line summary every this many epochs (0: never).
    """

    epochs: int = 10
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.0
    weight_decay: float = 0.0
    clip_value: float | None = None
    clip_norm: float | None = None
    seed: int | None = None
    shuffle: bool = True
    progress: bool | None = None
    log_every: int = 0

    def __post_init__(self):
        def number(name, minimum=0.0, allow_none=False, strict=False):
            v = getattr(self, name)
            if v is None and allow_none:
                return
            ok = not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
            ok = ok and (v > minimum if strict else v >= minimum)
            if not ok:
                rel = ">" if strict else ">="
                raise ConfigError(f"{name} should be a finite number {rel} {minimum}, got {v!r}")

        check_int("epochs", self.epochs)
        check_int("batch_size", self.batch_size)
        if self.optimizer not in ("adam", "sgd"):
            raise ConfigError(f"optimizer should be 'adam' or 'sgd', got {self.optimizer!r}")
        number("lr", strict=True)
        number("momentum")
        if self.momentum >= 1:
            raise ConfigError(f"momentum should be below 1, got {self.momentum!r}")
        number("weight_decay")
        number("clip_value", allow_none=True, strict=True)
        number("clip_norm", allow_none=True, strict=True)
        if self.seed is not None:
            check_int("seed", self.seed, minimum=0)
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


class History:
    """One row per epoch: epoch, train_loss, train_accuracy, val_loss, val_accuracy, lr,
    time_s, seq_per_s (validation columns are None without validation data).

    ``history["train_loss"]`` gives a column as a list; ``history.rows`` the rows as dicts.
    """

    columns = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "time_s", "seq_per_s")

    def __init__(self, rows=None):
        self.rows: list[dict] = [dict(r) for r in rows or []]

    def append(self, row: dict) -> None:
        """Add one epoch's row (keys from ``columns``)."""
        self.rows.append({c: row.get(c) for c in self.columns})

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, column: str) -> list:
        if column not in self.columns:
            raise KeyError(f"no column {column!r}; columns are {', '.join(self.columns)}")
        return [r[column] for r in self.rows]

    def __repr__(self) -> str:
        return f"History({len(self)} epochs)"

    def to_csv(self) -> str:
        """The history as CSV text, with a header row."""
        buf = _io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.columns)
        for r in self.rows:
            writer.writerow(["" if r[c] is None else r[c] for c in self.columns])
        return buf.getvalue()

    def save_csv(self, path) -> None:
        """Write :meth:`to_csv` to ``path`` atomically."""
        atomic_write_text(path, self.to_csv())


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.4f}"


def _train_epoch(model, arrays, order, config, opt, params, grads, backup, epoch, bar):
    """One pass over the data in ``order``: returns (loss_sum, correct, count).

    Raises TrainingDiverged (and restores the last good parameters) on a non-finite loss
    or gradient.
    """
    bs = config.batch_size
    n_steps = -(-len(order) // bs)
    loss_sum = correct = count = 0.0
    last_post = time.perf_counter()
    for step in range(1, n_steps + 1):
        idx = order[(step - 1) * bs : step * bs]
        grads.fill(0.0)
        loss, c, k = model.train_batch(*(a[idx] for a in arrays))
        norm = grad_norm(grads)
        if not (math.isfinite(loss) and math.isfinite(norm)):
            if not math.isfinite(loss):
                np.copyto(params, backup)  # these parameters gave a non-finite loss: go back one step
            what = f"the loss became {loss}" if not math.isfinite(loss) else f"the gradient norm became {norm}"
            clip_hint = "" if config.clip_norm else " or gradient clipping by norm (clip_norm=5, --clip-norm 5)"
            raise TrainingDiverged(
                f"training diverged at epoch {epoch}, step {step}: {what}. "
                f"Try a lower learning rate (now {opt.lr:g}){clip_hint}. "
                "The model keeps the last parameters that gave a finite loss.",
                epoch,
                step,
            )
        if config.clip_value is not None:
            clip_grad_value_(grads, config.clip_value)
            norm = None  # changed by the value clip: clip_grad_norm_ measures it again
        if config.clip_norm is not None:
            clip_grad_norm_(grads, config.clip_norm, norm)
        np.copyto(backup, params)
        opt.step()
        loss_sum += loss * k
        correct += c
        count += k
        now = time.perf_counter()
        if now - last_post > 0.5:
            bar.set_postfix(loss=f"{loss_sum / count:.4f}", step=f"{step}/{n_steps}", refresh=True)
            last_post = now
    return loss_sum, correct, count


def fit(model, data: tuple, config: TrainConfig | None = None, validation: tuple | None = None, optimizer=None):
    """Train ``model`` on ``data`` (a tuple of arrays, first axis = sequences) and return a History.

    validation: a tuple of arrays like ``data``, evaluated after every epoch, or None.
    optimizer: an :class:`~rnnlab.optim.Optimizer` to use (to keep its state across calls;
    the config's ``optimizer``, ``lr``, ``momentum`` and ``weight_decay`` are then unused),
    or None to build one from the config.

    Same config seed, same data, same initial model: bit-identical result.

    Raises :class:`~rnnlab.errors.TrainingDiverged` if the loss or the gradient becomes
    NaN or infinite; the model then holds the last parameters that gave a finite loss,
    and the exception's ``history`` attribute the epochs completed.
    """
    config = config or TrainConfig()
    arrays = model.check_data(*data)
    n = arrays[0].shape[0]
    if any(a.shape[0] != n for a in arrays):
        raise DataError("all training arrays should have the same number of sequences")
    val_arrays = model.check_data(*validation) if validation is not None else None
    rng = as_generator(config.seed)
    opt = optimizer or make_optimizer(config.optimizer, model, config.lr, config.momentum, config.weight_decay)
    params, grads = model.flat_parameters()
    backup = params.copy()  # the parameters before the latest update (the last known good ones)
    history = History()
    disable = None if config.progress is None else not config.progress
    bar = tqdm(total=config.epochs, unit="epoch", desc="training", file=sys.stderr, disable=disable,
               dynamic_ncols=True, leave=True)
    was_training = model.training
    model.train()
    # NumPy's overflow warnings are not wanted: non-finite losses and gradients are detected
    # and stop training with an explanation
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            for epoch in range(1, config.epochs + 1):
                t0 = time.perf_counter()
                order = rng.permutation(n) if config.shuffle else np.arange(n)
                loss_sum, correct, count = _train_epoch(model, arrays, order, config, opt, params, grads, backup,
                                                        epoch, bar)
                train_time = time.perf_counter() - t0
                row = {
                    "epoch": epoch,
                    "train_loss": loss_sum / count,
                    "train_accuracy": correct / count,
                    "lr": opt.lr,
                    "seq_per_s": n / train_time if train_time > 0 else None,
                }
                if val_arrays is not None:
                    model.eval()
                    metrics = model.evaluate(*val_arrays)
                    model.train()
                    row["val_loss"], row["val_accuracy"] = metrics["loss"], metrics["accuracy"]
                row["time_s"] = time.perf_counter() - t0
                history.append(row)
                _report(bar, config, history.rows[-1])
    except TrainingDiverged as err:
        err.history = history
        raise
    finally:
        bar.close()
        model.train(was_training)
    return history


def _report(bar, config: TrainConfig, row: dict) -> None:
    post = {"loss": f"{row['train_loss']:.4f}"}
    if row["val_loss"] is not None:
        post["val_loss"] = f"{row['val_loss']:.4f}"
    bar.set_postfix(post, refresh=False)
    bar.update(1)
    epoch = row["epoch"]
    if config.log_every and (epoch == 1 or epoch % config.log_every == 0 or epoch == config.epochs):
        tqdm.write(
            f"epoch {epoch}/{config.epochs}  loss {row['train_loss']:.4f}  acc {row['train_accuracy']:.4f}"
            f"  val_loss {_fmt(row['val_loss'])}  val_acc {_fmt(row['val_accuracy'])}",
            file=sys.stderr,
        )
