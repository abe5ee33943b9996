"""History: its columns and its CSV."""


import pytest

from rnnlab import History, NextTokenModel
from rnnlab.data import LETTERS, letter_task


def test_validation_history_and_csv(tmp_path):
    x, y = letter_task(64, rng=0)
    xv, yv = letter_task(32, rng=1)
    model = NextTokenModel(LETTERS, hidden_size=8, rng=0)
    history = model.fit(x, y, validation=(xv, yv), epochs=2, lr=0.01, seed=0, progress=False)
    assert history["val_loss"][-1] == pytest.approx(model.evaluate(xv, yv)["loss"])
    history.save_csv(tmp_path / "h.csv")
    lines = (tmp_path / "h.csv").read_text().splitlines()
    assert lines[0].split(",") == list(history.columns) and len(lines) == 3


def test_history_columns():
    h = History()
    h.append({"epoch": 1, "train_loss": 2.0})
    assert h["train_loss"] == [2.0] and h["val_loss"] == [None]
    with pytest.raises(KeyError, match="no column"):
        h["loss"]
    assert h.to_csv().splitlines()[1].startswith("1,2.0,,")
