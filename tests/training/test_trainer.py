"""The Trainer: exact resume, Ctrl-C, divergence, schedules, early stopping, modes."""

import os
import re
import signal

import numpy as np
import pytest

from rnnlab import (
    ConfigError,
    ModelFileError,
    NextTokenModel,
    TrainConfig,
    Trainer,
    TrainingDiverged,
    TrainingInterrupted,
)
from rnnlab.data import LETTERS, letter_task
from rnnlab.io import load_arrays, save_arrays
from rnnlab.optim import SGD, grad_norm

from conftest import make

TIMING = ("time_s", "seq_per_s")


def without_timing(rows):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def same_model(a, b):
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(v, b.state_dict()[k])


def restore(path, **train):
    t = make(**train)
    t.load_checkpoint(path)
    return t


def test_diverging_loss_stops_with_last_good_parameters():
    x, y = letter_task(64, rng=0)
    model = NextTokenModel(LETTERS, hidden_size=16, nonlinearity="relu", rng=0)
    seen = []
    original = model.train_batch

    def spy(*batch):  # record the parameters each step starts from, and whether its loss was finite
        params = model.flat_parameters()[0].copy()
        result = original(*batch)
        seen.append((params, np.isfinite(result.loss)))
        return result

    model.train_batch = spy
    with pytest.raises(TrainingDiverged, match=r"epoch \d+, step \d+.*lower learning rate") as info:
        model.fit(x, y, epochs=50, lr=1e6, optimizer="sgd", batch_size=16, seed=0, progress=False)
    assert info.value.epoch >= 1 and info.value.step >= 1
    assert isinstance(info.value, FloatingPointError)
    params = model.flat_parameters()[0]
    assert np.isfinite(params).all()
    last_good = [p for p, finite in seen if finite][-1]
    np.testing.assert_array_equal(params, last_good)
    assert len(info.value.history) == info.value.epoch - 1


def test_fit_restores_the_mode_it_found():
    x, y = letter_task(32, rng=0)
    model = NextTokenModel(LETTERS, hidden_size=4, rng=0)
    model.eval()
    model.fit(x, y, epochs=1, progress=False)
    assert not model.training and not model.rnn.training
    model.train()
    model.fit(x, y, epochs=1, progress=False)
    assert model.training and model.rnn.training


@pytest.mark.parametrize(("clip_value", "clip_norm"), [(None, 0.05), (0.01, None), (0.01, 0.02)])
def test_fit_hands_the_optimizer_clipped_gradients(clip_value, clip_norm):
    from rnnlab.data import letter_task

    x, y = letter_task(64, rng=0)
    model = NextTokenModel(LETTERS, hidden_size=8, rng=0)
    seen = []

    class Watching(SGD):
        def step(self):
            g = self.module.flat_parameters()[1]
            seen.append((grad_norm(g), float(np.abs(g).max())))
            super().step()

    model.fit(x, y, epochs=2, batch_size=16, optimizer=Watching(model, lr=0.1), clip_value=clip_value,
              clip_norm=clip_norm, progress=False)
    norms, maxes = np.array(seen).T
    if clip_norm is not None:
        assert norms.max() <= clip_norm * (1 + 1e-5) and norms.max() > 0.9 * clip_norm
    if clip_value is not None:
        assert maxes.max() <= clip_value


@pytest.mark.parametrize("train", [{}, {"recurrent_dropout": 0.25},
                                   {"optimizer": "sgd", "momentum": 0.9, "schedule": "step", "step_size": 1},
                                   {"schedule": "plateau", "plateau_patience": 1, "gamma": 0.7},
                                   {"optimizer": "adamw", "weight_decay": 0.05},
                                   {"optimizer": "rmsprop", "momentum": 0.5, "lr": 3e-3},
                                   {"optimizer": "adagrad", "lr": 0.05, "weight_decay": 1e-3}])
def test_two_plus_two_epochs_equal_four_bit_for_bit(tmp_path, train):
    straight = make(**train)
    straight.run()
    first = make(**train)
    first.run(epochs=2)
    path = first.save_checkpoint(tmp_path / "last.npz")
    second = restore(path, **train)
    assert second.epoch == 2 and second.step == 12
    second.run()
    same_model(straight.model, second.model)
    assert without_timing(second.history.rows) == without_timing(straight.history.rows)
    assert (second.best, second.best_epoch, second.optimizer.lr) == (straight.best, straight.best_epoch,
                                                                    straight.optimizer.lr)


def test_ctrl_c_stops_between_steps_and_resumes_mid_epoch_exactly(tmp_path):
    before = signal.getsignal(signal.SIGINT)  # default_int_handler, or SIG_IGN in a background job
    straight = make()
    straight.run()
    t = make()
    calls = {"n": 0}
    original = t.model.train_batch

    def interrupting(*batch):
        calls["n"] += 1
        if calls["n"] == 9:  # epoch 2, step 3: a real SIGINT, as from the terminal
            os.kill(os.getpid(), signal.SIGINT)
        return original(*batch)

    t.model.train_batch = interrupting
    with pytest.raises(TrainingInterrupted) as info:
        t.run(on_interrupt=lambda tr: tr.save_checkpoint(tmp_path / "last.npz"))
    assert (info.value.epoch, info.value.step) == (2, 4)  # the step in flight finished, then it stopped
    assert isinstance(info.value, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGINT) is before  # the handler is restored
    resumed = restore(tmp_path / "last.npz")
    assert resumed.epoch == 1 and resumed.steps_into_epoch == 3  # the next step is the 4th
    resumed.run()
    same_model(straight.model, resumed.model)
    assert without_timing(resumed.history.rows) == without_timing(straight.history.rows)


def test_schedules_are_recorded_in_the_history():
    t = make(epochs=6, schedule="step", step_size=2, gamma=0.5)
    t.run()
    assert t.history["lr"] == [0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025]
    c = make(epochs=4, schedule="cosine", min_lr=0.001)
    c.run()
    expected = [0.001 + 0.009 * 0.5 * (1 + np.cos(np.pi * e / 4)) for e in range(4)]
    np.testing.assert_allclose(c.history["lr"], expected, rtol=1e-12)


def test_plateau_and_early_stopping_on_a_flat_metric():
    t = make(epochs=20, schedule="plateau", plateau_patience=2, gamma=0.5, early_stopping=5)
    t.model.evaluate = lambda *a, **k: {"loss": 1.0, "accuracy": 0.5}  # never improves after epoch 1
    t.run()
    assert t.stopped_early and t.epoch == 6 and t.best_epoch == 1
    assert t.history["lr"] == [0.01, 0.01, 0.01, 0.005, 0.005, 0.0025]


def test_early_stopping_needs_validation():

    x, y = letter_task(32, rng=1)
    with pytest.raises(ConfigError, match="needs validation data"):
        Trainer(NextTokenModel(LETTERS, hidden_size=4, rng=0), (x, y), TrainConfig(early_stopping=3))


def edited(path, tmp_path, change):
    """A copy of the checkpoint at ``path`` with ``change(header, arrays)`` applied, as a hand edit would."""
    header, arrays = load_arrays(path)
    change(header, arrays)
    return save_arrays(tmp_path / "edited.npz", arrays, header)


@pytest.mark.parametrize(("change", "message"), [
    (lambda h, a: h["trainer"].update(epoch=-5), "epoch should be an integer >= 0, got -5"),
    (lambda h, a: h["trainer"].update(epoch=10**12), "history should hold one row per finished epoch"),
    (lambda h, a: h["trainer"].update(step=10**9), "step should be an integer >= 0 and <= "),
    (lambda h, a: h["trainer"].update(best_epoch=7), "best_epoch should be an integer >= 0 and <= 2"),
    (lambda h, a: h["trainer"].update(best="0.5"), "best should be a finite number"),
    (lambda h, a: h["trainer"].update(stopped_early="no"), "stopped_early should be true or false"),
    (lambda h, a: h["trainer"]["history"][1].update(train_loss="garbage"), "history row 2 train_loss"),
    (lambda h, a: h["trainer"]["history"][0].update(epoch=9), "history row 1 of the checkpoint is not"),
    (lambda h, a: h["optimizer"].update(steps=-1), "'steps' should be a step count >= 0"),
    (lambda h, a: h.update(trainer=[]), "trainer state should be a table"),
])
def test_a_hand_edited_checkpoint_is_refused_field_by_field(tmp_path, change, message):
    t = make()
    t.run(epochs=2)
    path = edited(t.save_checkpoint(tmp_path / "last.npz"), tmp_path, change)
    with pytest.raises(ModelFileError, match=re.escape(message)):
        restore(path)


def test_a_hand_edited_mid_epoch_position_is_refused(tmp_path):
    t = make()
    calls = {"n": 0}
    original = t.model.train_batch

    def stop_in_epoch_two(*batch):
        calls["n"] += 1
        if calls["n"] == 8:
            t.stop()
        return original(*batch)

    t.model.train_batch = stop_in_epoch_two
    with pytest.raises(TrainingInterrupted):
        t.run()
    path = t.save_checkpoint(tmp_path / "last.npz")
    assert restore(path).steps_into_epoch == 2
    for change, message in [(lambda h, a: h["trainer"]["partial"].update(next_step=0), "partial.next_step"),
                            (lambda h, a: h["trainer"]["partial"].update(loss_sum=-1.0), "partial.loss_sum"),
                            (lambda h, a: a.update({"trainer.order": a["trainer.order"][::-1] * 0}),
                             "epoch order is not an order")]:
        with pytest.raises(ModelFileError, match=re.escape(message)):
            restore(edited(path, tmp_path, change))
