"""The training loop, as a Trainer that can stop anywhere and continue exactly.

A :class:`Trainer` holds everything that decides what happens next: the model, the optimizer
and its state, the shuffling generator (and, through the model, the dropout generators), the
epoch and step counters, the position inside an interrupted epoch, the history, and the
schedule and early-stopping counters. :meth:`Trainer.save_checkpoint` writes all of it;
:meth:`Trainer.from_checkpoint` reads it back, and training then continues bit for bit as if
it had never stopped.

It works with any :class:`~rnnlab.models.Model` implementing ``check_data(*arrays)``,
``train_batch(*batch) -> (loss, correct, count)`` and ``evaluate(*arrays) -> dict``. A stateful
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
from rnnlab.errors import ConfigError, DataError, ModelFileError, TrainingDiverged, TrainingInterrupted
from rnnlab.nn.init import as_generator
from rnnlab.optim import Optimizer, clip_grad_norm_, clip_grad_value_, grad_norm, make_optimizer
from rnnlab.training.config import TrainConfig
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
        self._partial: dict | None = None  # the position inside an interrupted epoch
        self._stop = False

    def stop(self) -> None:
        """Ask :meth:`run` to stop after the current step (safe from another thread or a callback);
        it then raises :class:`~rnnlab.errors.TrainingInterrupted`, and a later :meth:`run`
        continues exactly where it stopped."""
        self._stop = True

    @property
    def steps_into_epoch(self) -> int | None:
        """Steps already done in an interrupted epoch (None when stopped between epochs)."""
        return None if self._partial is None else self._partial["next_step"] - 1

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
        was_training = model.training
        model.train()
        disable = None if self.config.progress is None else not self.config.progress
        total = max(0, target - self.epoch) * self.n_steps
        done_in_epoch = self._partial["next_step"] - 1 if self._partial else 0
        bar = tqdm(total=total, initial=done_in_epoch, unit="step", file=sys.stderr, disable=disable,
                   dynamic_ncols=True, leave=True)
        previous_handler = self._install_sigint()
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
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
            model.train(was_training)
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
        cfg = self.config
        epoch = self.epoch + 1
        n = self.arrays[0].shape[0]
        if self._partial is None:
            self.model.start_epoch()
            self.optimizer.lr = scheduled_lr(cfg, epoch, self.optimizer.lr)
            order = self.rng.permutation(n) if cfg.shuffle else np.arange(n)
            state = {"order": order, "next_step": 1, "loss_sum": 0.0, "correct": 0.0, "count": 0.0, "seqs": 0,
                     "elapsed": 0.0}
        else:
            state, self._partial = self._partial, None
        bar.set_description(f"epoch {epoch}/{target}")
        bs, n_steps = cfg.batch_size, self.n_steps
        order = state["order"]
        t0 = time.perf_counter() - state["elapsed"]
        last_post = time.perf_counter()
        last_row = self.history.rows[-1] if self.history.rows else None
        pending = 0
        for step in range(state["next_step"], n_steps + 1):
            if self._stop:
                state["next_step"] = step
                state["elapsed"] = time.perf_counter() - t0
                self._partial = state
                bar.update(pending)
                path = on_interrupt(self) if on_interrupt is not None else None
                where = f"; checkpoint saved to {path}" if path else ""
                raise TrainingInterrupted(f"training interrupted at epoch {epoch}, step {step}{where}",
                                          epoch, step, path)
            idx = order[(step - 1) * bs : step * bs]
            grads.fill(0.0)
            loss, c, k = self.model.train_batch(*(a[idx] for a in self.arrays))
            norm = grad_norm(grads)
            if not (math.isfinite(loss) and math.isfinite(norm)):
                if not math.isfinite(loss):
                    np.copyto(params, backup)  # these parameters gave a non-finite loss: go back one step
                what = f"the loss became {loss}" if not math.isfinite(loss) else f"the gradient norm became {norm}"
                hint = "" if cfg.clip_norm else " or gradient clipping by norm (clip_norm=5, --clip-norm 5)"
                raise TrainingDiverged(
                    f"training diverged at epoch {epoch}, step {step}: {what}. Try a lower learning rate "
                    f"(now {self.optimizer.lr:g}){hint}. The model keeps the last parameters that gave a finite loss.",
                    epoch, step,
                )
            if cfg.clip_value is not None:
                clip_grad_value_(grads, cfg.clip_value)
                norm = None  # changed by the value clip: clip_grad_norm_ measures it again
            if cfg.clip_norm is not None:
                clip_grad_norm_(grads, cfg.clip_norm, norm)
            np.copyto(backup, params)
            self.optimizer.step()
            self.step += 1
            state["loss_sum"] += loss * k
            # a regressor reports no correct count (None): its accuracy stays None
            state["correct"] = None if c is None or state["correct"] is None else state["correct"] + c
            state["count"] += k
            state["seqs"] += len(idx)
            pending += 1
            now = time.perf_counter()
            if now - last_post > 0.25:
                bar.update(pending)
                pending = 0
                post = {"loss": f"{state['loss_sum'] / state['count']:.4f}"}
                if last_row is not None and last_row["val_loss"] is not None:
                    post["val_loss"] = f"{last_row['val_loss']:.4f}"
                post["seq/s"] = f"{state['seqs'] / max(1e-9, now - t0):,.0f}"
                bar.set_postfix(post, refresh=False)
                last_post = now
        bar.update(pending)
        train_time = time.perf_counter() - t0
        row = {
            "epoch": epoch,
            "train_loss": state["loss_sum"] / state["count"],
            "train_accuracy": None if state["correct"] is None else state["correct"] / state["count"],
            "lr": self.optimizer.lr,
            "seq_per_s": n / train_time if train_time > 0 else None,
        }
        bpc = None
        if self.validation is not None:
            self.model.eval()
            metrics = self.model.evaluate(*self.validation)
            self.model.train()
            row["val_loss"], row["val_accuracy"] = metrics["loss"], metrics["accuracy"]
            bpc = metrics.get("bits_per_char")  # a language model's loss in bits, for the log line
        row["time_s"] = time.perf_counter() - t0
        self.history.append(row)
        self.epoch = epoch
        self._after_epoch(self.history.rows[-1])
        post = {"loss": _fmt(row["train_loss"])}
        if row.get("val_loss") is not None:
            post["val_loss"] = _fmt(row["val_loss"])
        if row["seq_per_s"]:
            post["seq/s"] = f"{row['seq_per_s']:,.0f}"
        bar.set_postfix(post, refresh=True)
        if cfg.log_every and (epoch == 1 or epoch % cfg.log_every == 0 or epoch == target or self.stopped_early):
            tqdm.write(
                f"epoch {epoch}/{target}  loss {row['train_loss']:.4f}  acc {_fmt(row['train_accuracy'])}"
                f"  val_loss {_fmt(row.get('val_loss'))}" + (f" ({bpc:.3f} bits/char)" if bpc is not None else "")
                + f"  val_acc {_fmt(row.get('val_accuracy'))}"
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
            partial = {k: v for k, v in self._partial.items() if k != "order"}
            arrays["trainer.order"] = self._partial["order"]
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
        if header.get("model") != type(self.model).__name__ or header.get("config") != self.model.get_config():
            raise ModelFileError(f"{path} holds a different model than the one being trained")
        weights = {k[len("model.") :]: v for k, v in arrays.items() if k.startswith("model.")}
        io.check_arrays(path, weights, {n: p.shape for n, p, _ in self.model.named_parameters()}, self.model.dtype)
        self.model.load_state_dict(weights)
        self.load_checkpoint_state(header, arrays, path)

    def load_checkpoint_state(self, header: dict, arrays: dict, path="checkpoint") -> None:
        """Restore what :meth:`checkpoint_state` produced (the model must already hold its weights)."""
        try:
            t = header["trainer"]
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
                self._partial = dict(t["partial"])
                self._partial["order"] = arrays["trainer.order"]
        except ModelFileError:
            raise
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

