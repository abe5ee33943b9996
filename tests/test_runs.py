"""Run folders: what a crash or a divergence leaves behind."""

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from rnnlab import TrainingDiverged
from rnnlab.io import load_arrays
from rnnlab.models import load_model

from conftest import make


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
