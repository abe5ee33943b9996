"""Checkpoints, exact resume, Ctrl-C, SIGKILL during a save, divergence, schedules and early stopping."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from rnnlab import NextTokenModel, TrainConfig, Trainer, TrainingDiverged, TrainingInterrupted
from rnnlab.data import LETTERS, letter_task
from rnnlab.io import load_arrays
from rnnlab.models import load_model

TIMING = ("time_s", "seq_per_s")


def make(seed=0, **train):
    x, y = letter_task(96, rng=1)
    xv, yv = letter_task(32, rng=2)
    model = NextTokenModel(LETTERS, cell="lstm", hidden_size=8, num_layers=2, dropout=0.3, rng=seed)
    cfg = TrainConfig(**{"epochs": 4, "batch_size": 16, "lr": 0.01, "seed": 5, "progress": False, **train})
    return Trainer(model, (x, y), cfg, validation=(xv, yv))


def without_timing(rows):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def same_model(a, b):
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(v, b.state_dict()[k])


def restore(path, **train):
    t = make(**train)
    t.load_checkpoint(path)
    return t


@pytest.mark.parametrize("train", [{}, {"optimizer": "sgd", "momentum": 0.9, "schedule": "step", "step_size": 1},
                                   {"schedule": "plateau", "plateau_patience": 1, "gamma": 0.7}])
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


def test_sigkill_during_a_save_leaves_the_previous_checkpoint(tmp_path):
    t = make()
    t.run(epochs=1)
    path = t.save_checkpoint(tmp_path / "last.npz")
    before = path.read_bytes()
    script = (
        "import sys, time\n"
        "from rnnlab.io import atomic_write\n"
        "def slow(f):\n"
        "    f.write(b'PK' + b'x' * 100000); f.flush(); time.sleep(60)\n"
        "atomic_write(sys.argv[1], slow)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(path)])
    deadline = time.time() + 30
    while not any(p.name.endswith(".tmp") and p.stat().st_size > 0 for p in tmp_path.iterdir()):
        assert time.time() < deadline and proc.poll() is None, "the writer never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert path.read_bytes() == before
    assert load_model(path).num_parameters() == t.model.num_parameters()


def test_divergence_keeps_the_last_good_checkpoint(tmp_path):
    from rnnlab.runs import Run

    run = Run.create(tmp_path / "run", {"task": "letters", "data": {"samples": 64, "val_samples": 16},
                                        "model": {"hidden_size": 8}, "train": {"epochs": 5, "batch_size": 16}})
    trainer, _ = run.new_trainer(progress=False, log_every=0)
    saved = {}

    def on_epoch_end(tr):
        run.on_epoch_end(tr)
        saved[tr.epoch] = tr.model.state_dict()

    original = trainer.model.train_batch
    calls = {"n": 0}

    def poisoned(*batch):
        calls["n"] += 1
        result = original(*batch)
        return result._replace(loss=float("nan")) if calls["n"] == 10 else result  # epoch 3, step 2

    trainer.model.train_batch = poisoned
    with pytest.raises(TrainingDiverged, match="epoch 3, step 2"):
        trainer.run(on_epoch_end=on_epoch_end)
    header, _ = load_arrays(run.folder / "last.npz")
    assert header["trainer"]["epoch"] == 2
    same_model_dict = load_model(run.folder / "last.npz").state_dict()
    for k, v in saved[2].items():
        np.testing.assert_array_equal(same_model_dict[k], v)


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
    from rnnlab import ConfigError

    x, y = letter_task(32, rng=1)
    with pytest.raises(ConfigError, match="needs validation data"):
        Trainer(NextTokenModel(LETTERS, hidden_size=4, rng=0), (x, y), TrainConfig(early_stopping=3))
