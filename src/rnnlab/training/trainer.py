"""The training loop, as a Trainer that can stop anywhere and continue exactly.

A :class:`Trainer` holds everything that decides what happens next: the model, the optimizer
and its state, the shuffling generator (and, through the model, the dropout generators), the
epoch and step counters, the position inside an interrupted epoch, the history, and the
schedule and early-stopping counters. :meth:`Trainer.save_checkpoint` writes all of it;
:meth:`Trainer.from_checkpoint` reads it back, and training then continues bit for bit as if
it had never stopped.

It works with any :class:`~rnnlab.models.Model` implementing ``check_data(*arrays)``,
``train_batch(*batch) -> BatchResult`` and ``evaluate(*arrays) -> dict`` (and ``has_accuracy``). A stateful
model (:class:`~rnnlab.models.CharLM`) also gets ``start_epoch()`` at the start of every epoch, and
its ``carried_state()`` is saved in checkpoints.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rnnlab import io
from rnnlab.errors import ConfigError, DataError, ModelFileError, ShapeError, TrainingDiverged, TrainingInterrupted
from rnnlab.nn.init import as_generator
from rnnlab.nn.module import module_mode
from rnnlab.optim import Optimizer, clip_grad_norm_, clip_grad_value_, grad_norm, make_optimizer
from rnnlab.threads import get_num_threads
from rnnlab.training.checkpoint import check_training_state
from rnnlab.training.config import TrainConfig
from rnnlab.training.epoch import EpochPosition, EpochProgress
from rnnlab.training.history import History
from rnnlab.training.schedules import improved, scheduled_lr

CHECKPOINT_KIND = "checkpoint"


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.4f}"


class Trainer:
    """Trains ``model`` on ``data`` (a tuple of arrays, first axis = sequences).

    validation: a tuple of arrays like ``data``, evaluated after every epoch, or None.
    optimizer: an :class:`~rnnlab.optim.Optimizer` (to keep its state), or None to build one
    from the config.

    Attributes: ``epoch`` (completed epochs), ``step`` (completed optimizer steps), ``history``,
    ``best`` / ``best_epoch`` (the best value of ``config.monitor`` so far), ``stopped_early``.
    """

    def __init__(self, model, data: tuple, config: TrainConfig | None = None, validation: tuple | None = None,
                 optimizer: Optimizer | None = None):
        self.model = model
        self.config = config = config or TrainConfig()
        self.arrays = model.check_data(*data)
        n = self.arrays[0].shape[0]
        if any(a.shape[0] != n for a in self.arrays):
            raise DataError("all training arrays should have the same number of sequences")
        self.validation = model.check_data(*validation) if validation is not None else None
        needs_val = config.monitor.startswith("val_") and (config.early_stopping or config.schedule == "plateau")
        if needs_val and self.validation is None:
            raise ConfigError(f"monitor={config.monitor} for early stopping or the plateau schedule needs "
                              "validation data")
        self.monitor = config.monitor if (self.validation is not None or not config.monitor.startswith("val_")) \
            else "train_loss"
        self.optimizer = optimizer or make_optimizer(config.optimizer, model, config.lr, config.momentum,
                                                     config.weight_decay)
        self.rng = as_generator(config.seed)
        self.history = History()
        self.epoch = 0
        self.step = 0
        self.best: float | None = None
        self.best_epoch = 0
        self.plateau_bad = 0
        self.stopped_early = False
        self._partial: EpochPosition | None = None  # the position inside an interrupted epoch
        self._stop = False

    def stop(self) -> None:
        """Ask :meth:`run` to stop after the current step (safe from another thread or a callback);
        it then raises :class:`~rnnlab.errors.TrainingInterrupted`, and a later :meth:`run`
        continues exactly where it stopped."""
        self._stop = True

    @property
    def steps_into_epoch(self) -> int | None:
        """Steps already done in an interrupted epoch (None when stopped between epochs)."""
        return None if self._partial is None else self._partial.next_step - 1

    @property
    def n_steps(self) -> int:
        """Optimizer steps per epoch."""
        return -(-self.arrays[0].shape[0] // self.config.batch_size)

    # -- the loop ------------------------------------------------------------------------------
    def run(self, epochs: int | None = None, on_epoch_end=None, on_interrupt=None) -> History:
        """Train until ``config.epochs`` epochs are done (or ``epochs`` more), or early stopping.

        on_epoch_end(trainer): called after every epoch (the run folder saves its files there).
        on_interrupt(trainer) -> path or None: called on Ctrl-C, which stops cleanly between two
        steps (a second Ctrl-C stops at once); then :class:`TrainingInterrupted` is raised.
        Raises :class:`TrainingDiverged` on a non-finite loss or gradient, with the model back
        at its last good parameters and nothing saved for the failed epoch.
        """
        target = self.config.epochs if epochs is None else self.epoch + (self._partial is not None) + epochs
        model = self.model
        params, grads = model.flat_parameters()
        backup = params.copy()
        disable = None if self.config.progress is None else not self.config.progress
        total = max(0, target - self.epoch) * self.n_steps
        done_in_epoch = self._partial.next_step - 1 if self._partial else 0
        bar = tqdm(total=total, initial=done_in_epoch, unit="step", file=sys.stderr, disable=disable,
                   dynamic_ncols=True, leave=True)
        previous_handler = self._install_sigint()
        try:
            with module_mode(model, training=True), np.errstate(over="ignore", invalid="ignore", divide="ignore",
                                                                under="ignore"):
                while self.epoch < target and not self.stopped_early:
                    self._epoch(params, grads, backup, bar, target, on_interrupt)
                    if on_epoch_end is not None:
                        on_epoch_end(self)
        except TrainingDiverged as err:
            err.history = self.history
            raise
        finally:
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)
            bar.close()
        return self.history

    def _install_sigint(self):
        self._stop = False
        if threading.current_thread() is not threading.main_thread():
            return None

        def handler(signum, frame):
            if self._stop:  # a second Ctrl-C: stop now
                raise KeyboardInterrupt
            self._stop = True

        return signal.signal(signal.SIGINT, handler)

    def _epoch(self, params, grads, backup, bar, target, on_interrupt) -> None:
        """One epoch (or the rest of an interrupted one): steps, then validation and the log line."""
        epoch = self.epoch + 1
        position = self._start_or_resume_epoch(epoch)
        bar.set_description(f"epoch {epoch}/{target}")
        progress = EpochProgress(bar, self.history.rows[-1] if self.history.rows else None, position)
        for step in range(position.next_step, self.n_steps + 1):
            if self._stop:
                self._pause(position, step, progress, on_interrupt)
            self._train_step(position, step, params, grads, backup)
            progress.stepped()
        progress.flush()
        row, bits_per_char = self._finish_epoch(epoch, position)
        self._log(row, bits_per_char, bar, target)

    def _start_or_resume_epoch(self, epoch: int) -> EpochPosition:
        """A fresh epoch's position (the model told, the schedule applied, the order drawn), or the
        interrupted one's."""
        if self._partial is not None:
            position, self._partial = self._partial, None
            position.started = time.perf_counter() - position.elapsed
            return position
        self.model.start_epoch()
        self.optimizer.lr = scheduled_lr(self.config, epoch, self.optimizer.lr)
        n = self.arrays[0].shape[0]
        order = self.rng.permutation(n) if self.config.shuffle else np.arange(n)
        return EpochPosition(order, correct=0.0 if self.model.has_accuracy else None)

    def _pause(self, position: EpochPosition, step: int, progress, on_interrupt):
        """Stop before ``step``: keep the exact position, checkpoint it, raise TrainingInterrupted."""
        position.next_step = step
        position.elapsed = time.perf_counter() - position.started
        self._partial = position
        progress.flush()
        path = on_interrupt(self) if on_interrupt is not None else None
        where = f"; checkpoint saved to {path}" if path else ""
        raise TrainingInterrupted(f"training interrupted at epoch {self.epoch + 1}, step {step}{where}",
                                  self.epoch + 1, step, path)

    def _train_step(self, position: EpochPosition, step: int, params, grads, backup) -> None:
        """One optimizer step on batch ``step``: forward and backward, the divergence check, clipping."""
        bs = self.config.batch_size
        idx = position.order[(step - 1) * bs : step * bs]
        grads.fill(0.0)
        result = self.model.train_batch(*(a[idx] for a in self.arrays))
        norm = grad_norm(grads)
        if not (math.isfinite(result.loss) and math.isfinite(norm)):
            self._diverged(result.loss, norm, step, params, backup)
        self._clip(grads, norm)
        np.copyto(backup, params)
        self.optimizer.step()
        self.step += 1
        position.add(result, len(idx))

    def _diverged(self, loss: float, norm: float, step: int, params, backup):
        """Raise TrainingDiverged; after a non-finite loss the parameters go back one step first."""
        if not math.isfinite(loss):
            np.copyto(params, backup)  # these parameters gave a non-finite loss: go back one step
        what = f"the loss became {loss}" if not math.isfinite(loss) else f"the gradient norm became {norm}"
        hint = "" if self.config.clip_norm else " or gradient clipping by norm (clip_norm=5, --clip-norm 5)"
        raise TrainingDiverged(
            f"training diverged at epoch {self.epoch + 1}, step {step}: {what}. Try a lower learning rate "
            f"(now {self.optimizer.lr:g}){hint}. The model keeps the last parameters that gave a finite loss.",
            self.epoch + 1, step,
        )

    def _clip(self, grads, norm: float) -> None:
        cfg = self.config
        if cfg.clip_value is not None:
            clip_grad_value_(grads, cfg.clip_value)
            norm = None  # changed by the value clip: clip_grad_norm_ measures it again
        if cfg.clip_norm is not None:
            clip_grad_norm_(grads, cfg.clip_norm, norm)

    def _finish_epoch(self, epoch: int, position: EpochPosition) -> tuple[dict, float | None]:
        """The epoch's history row (validation included) and a language model's validation bits per
        character (None for other models); best, schedule and early stopping updated."""
        n = self.arrays[0].shape[0]
        train_time = time.perf_counter() - position.started
        row = {
            "epoch": epoch,
            "train_loss": position.loss_sum / position.count,
            "train_accuracy": None if position.correct is None else position.correct / position.count,
            "lr": self.optimizer.lr,
            "seq_per_s": n / train_time if train_time > 0 else None,
            "threads": get_num_threads(),
        }
        bits_per_char = None
        if self.validation is not None:
            with module_mode(self.model):
                metrics = self.model.evaluate(*self.validation)
            if not math.isfinite(metrics["loss"]):  # finite training steps, but the model no longer computes
                raise TrainingDiverged(
                    f"training diverged at epoch {epoch}: the validation loss became {metrics['loss']}. Try a lower "
                    f"learning rate (now {self.optimizer.lr:g}) or gradient clipping by norm (--clip-norm 5). The "
                    "epoch was not saved.", epoch, self.n_steps)
            row["val_loss"], row["val_accuracy"] = metrics["loss"], metrics["accuracy"]
            bits_per_char = metrics.get("bits_per_char")  # a language model's loss in bits, for the log
        row["time_s"] = time.perf_counter() - position.started
        self.history.append(row)
        self.epoch = epoch
        self._after_epoch(self.history.rows[-1])
        return row, bits_per_char

    def _log(self, row: dict, bits_per_char: float | None, bar, target: int) -> None:
        """The bar's final postfix for the epoch, and (every ``log_every`` epochs) one log line."""
        post = {"loss": _fmt(row["train_loss"])}
        if row.get("val_loss") is not None:
            post["val_loss"] = _fmt(row["val_loss"])
        if row["seq_per_s"]:
            post["seq/s"] = f"{row['seq_per_s']:,.0f}"
        bar.set_postfix(post, refresh=True)
        epoch, every = row["epoch"], self.config.log_every
        if not every or not (epoch == 1 or epoch % every == 0 or epoch == target or self.stopped_early):
            return
        bits = "" if bits_per_char is None else f" ({bits_per_char:.3f} bits/char)"
        tqdm.write(
            f"epoch {epoch}/{target}  loss {row['train_loss']:.4f}  acc {_fmt(row['train_accuracy'])}"
            f"  val_loss {_fmt(row.get('val_loss'))}{bits}"
            f"  val_acc {_fmt(row.get('val_accuracy'))}"
            f"  lr {self.optimizer.lr:.3g}" + ("  (early stop)" if self.stopped_early else ""),
            file=sys.stderr,
        )

    def _after_epoch(self, row: dict) -> None:
        """Best-so-far tracking, the plateau schedule and early stopping."""
        cfg = self.config
        value = row[self.monitor]
        if value is None:
            return
        if improved(self.monitor, value, self.best):
            self.best, self.best_epoch = value, row["epoch"]
            self.plateau_bad = 0
        else:
            self.plateau_bad += 1
            if cfg.schedule == "plateau" and self.plateau_bad >= cfg.plateau_patience:
                self.optimizer.lr = max(cfg.min_lr, self.optimizer.lr * cfg.gamma)
                self.plateau_bad = 0
        if cfg.early_stopping and row["epoch"] - self.best_epoch >= cfg.early_stopping:
            self.stopped_early = True

    @property
    def best_is_last(self) -> bool:
        """Whether the epoch just finished is the best so far on the monitored metric."""
        return self.best_epoch == self.epoch and self.epoch > 0

    # -- checkpoints --------------------------------------------------------------------------------
    def checkpoint_state(self) -> tuple[dict, dict]:
        """``(header, arrays)``: everything needed to continue exactly (see module docstring)."""
        opt = self.optimizer.state_dict()
        opt_arrays = {k: v for k, v in opt.items() if isinstance(v, np.ndarray)}
        opt_scalars = {k: v for k, v in opt.items() if not isinstance(v, np.ndarray)}
        opt_scalars["type"] = type(self.optimizer).__name__
        gens = {"shuffle": self.rng.bit_generator.state}
        gens.update({f"model.{path}": g.bit_generator.state for path, g in self.model.generators().items()})
        partial = None
        arrays = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        arrays.update({f"optimizer.{k}": v for k, v in opt_arrays.items()})
        arrays.update({f"carry.{k}": v for k, v in self.model.carried_state().items()})
        if self._partial is not None:
            partial = self._partial.to_header()
            arrays["trainer.order"] = self._partial.order
        header = {
            "kind": CHECKPOINT_KIND,
            "model": type(self.model).__name__,
            "config": self.model.get_config(),
            "train_config": self.config.to_dict(),
            "trainer": {
                "epoch": self.epoch, "step": self.step, "best": self.best, "best_epoch": self.best_epoch,
                "plateau_bad": self.plateau_bad, "stopped_early": self.stopped_early, "partial": partial,
                "history": self.history.rows,
            },
            "optimizer": opt_scalars,
            "generators": gens,
        }
        return header, arrays

    def save_checkpoint(self, path, extra: dict | None = None) -> Path:
        """Write a checkpoint atomically (a crash mid-write leaves the previous one intact)."""
        header, arrays = self.checkpoint_state()
        header["extra"] = extra or {}
        return io.save_arrays(path, arrays, header)

    def load_checkpoint(self, path) -> None:
        """Continue from a checkpoint written by :meth:`save_checkpoint`: the model's weights and
        the whole training state. The trainer's model must be the one the checkpoint holds."""
        header, arrays = io.load_arrays(path)
        if header.get("kind") != CHECKPOINT_KIND:
            raise ModelFileError(f"{path} is a model file, not a training checkpoint")
        if header.get("model") != type(self.model).__name__ or not self.model.matches_config(header.get("config")):
            raise ModelFileError(f"{path} holds a different model than the one being trained")
        weights = {k[len("model.") :]: v for k, v in arrays.items() if k.startswith("model.")}
        io.check_arrays(path, weights, {n: p.shape for n, p, _ in self.model.named_parameters()}, self.model.dtype)
        self.model.load_state_dict(weights)
        self.load_checkpoint_state(header, arrays, path)

    def load_checkpoint_state(self, header: dict, arrays: dict, path="checkpoint") -> None:
        """Restore what :meth:`checkpoint_state` produced (the model must already hold its weights)."""
        try:
            t = header["trainer"]
            partial = t.get("partial") if isinstance(t, dict) else None
            check_training_state(path, t, arrays.get("trainer.order") if partial is not None else None, self.n_steps,
                                 self.arrays[0].shape[0])
            opt_scalars = dict(header["optimizer"])
            gens = header["generators"]
            kind = opt_scalars.pop("type")
            if kind != type(self.optimizer).__name__:
                raise ModelFileError(f"{path} was written with optimizer {kind}, this run uses "
                                     f"{type(self.optimizer).__name__}")
            state = dict(opt_scalars)
            state.update({k[len("optimizer."):]: v for k, v in arrays.items() if k.startswith("optimizer.")})
            self.optimizer.load_state_dict(state)  # a missing buffer is a KeyError, reported below
            self.rng.bit_generator.state = gens["shuffle"]
            for p, g in self.model.generators().items():
                g.bit_generator.state = gens[f"model.{p}"]
            self.epoch, self.step = int(t["epoch"]), int(t["step"])
            self.best, self.best_epoch = t["best"], int(t["best_epoch"])
            self.plateau_bad, self.stopped_early = int(t["plateau_bad"]), bool(t["stopped_early"])
            self.history = History(t["history"])
            self.model.set_carried_state({k[len("carry."):]: v for k, v in arrays.items() if k.startswith("carry.")})
            if t["partial"] is not None:
                self._partial = EpochPosition.from_header(t["partial"], arrays["trainer.order"])
        except ModelFileError:
            raise
        except (ConfigError, ShapeError) as exc:  # the optimizer's or the carried state's own checks
            raise ModelFileError(f"{path} holds a training state this run cannot use: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{path} is not a complete rnnlab checkpoint ({type(exc).__name__}: {exc})") from None


def fit(model, data: tuple, config: TrainConfig | None = None, validation: tuple | None = None, optimizer=None):
    """Train ``model`` on ``data`` and return the History (a :class:`Trainer`, run once).

    validation: a tuple of arrays like ``data``, evaluated after every epoch, or None.
    optimizer: an :class:`~rnnlab.optim.Optimizer` to use (to keep its state across calls;
    the config's ``optimizer``, ``lr``, ``momentum`` and ``weight_decay`` are then unused),
    or None to build one from the config.

    Same config seed, same data, same initial model: bit-identical result.

    Raises :class:`~rnnlab.errors.TrainingDiverged` if the loss or the gradient becomes
    NaN or infinite; the model then holds the last parameters that gave a finite loss,
    and the exception's ``history`` attribute the epochs completed. On Ctrl-C training stops
    between two steps and :class:`~rnnlab.errors.TrainingInterrupted` is raised.
    """
    return Trainer(model, data, config, validation, optimizer).run()

