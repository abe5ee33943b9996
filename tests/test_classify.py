"""Sequence classification: the .ts reader, padding, the SequenceClassifier (gradients, PyTorch parity)."""

import gzip

import numpy as np
import pytest

from rnnlab import datasets
from rnnlab.data.ts import pad_sequences, read_ts
from rnnlab.errors import ConfigError, DataError, ShapeError
from rnnlab.gradcheck import check_model
from rnnlab.models import SequenceClassifier, load_model
from rnnlab.tasks.classify import stratified_split

from conftest import rel_error

TS = """# a comment
@problemName Tiny
@dimensions 2
@equalLength false
@classLabel true a b
@data
1,2,3:4,5,6:a
7,8:9,10:b
"""


def test_read_ts(tmp_path):
    (tmp_path / "t.ts").write_text(TS)
    seqs, labels, meta = read_ts(tmp_path / "t.ts")
    np.testing.assert_array_equal(seqs[0], [[1, 4], [2, 5], [3, 6]])  # (T, C): dimensions become columns
    assert seqs[1].shape == (2, 2) and labels.tolist() == [0, 1]
    assert meta["classes"] == ["a", "b"] and meta["problem"] == "Tiny" and meta["dimensions"] == 2
    (tmp_path / "t.ts.gz").write_bytes(gzip.compress(TS.encode()))
    assert read_ts(tmp_path / "t.ts.gz")[1].tolist() == [0, 1]


@pytest.mark.parametrize(("text", "message"), [
    ("@data\n", "no samples after @data"),
    ("@dimensions 2\n", "no @data line"),
    ("hello\n@data\n1:a\n", "line 1: expected a header line"),
    ("@dimensions two\n@data\n", "@dimensions should be an integer"),
    ("@classLabel false\n@data\n", "not a classification file"),
    ("@dimensions 2\n@data\n1,2:a\n", "line 3: 1 dimensions, but @dimensions says 2"),
    ("@data\n1,x,3:a\n", r"line 2, dimension 1: 'x' is not a number"),
    ("@data\n1,2:3:a\n", "different lengths"),
    ("@data\n1,NaN:a\n", "missing or infinite"),
    ("@classLabel true a b\n@data\n1,2:c\n", "labels 'c' are not in @classLabel"),
    ("@data\n1,2,3\n", "separated by ':'"),
])
def test_malformed_ts_files(tmp_path, text, message):
    (tmp_path / "bad.ts").write_text(text)
    with pytest.raises(DataError, match=message):
        read_ts(tmp_path / "bad.ts")


def test_ts_file_errors(tmp_path):
    with pytest.raises(DataError, match=r"no such \.ts file"):
        read_ts(tmp_path / "none.ts")
    (tmp_path / "x.ts").write_bytes(b"@data\n\xff:a\n")
    with pytest.raises(DataError, match="not UTF-8"):
        read_ts(tmp_path / "x.ts")


def test_bundled_japanese_vowels():
    (x, lengths, y), meta = datasets.load_sequences("japanese-vowels", "train")
    assert x.shape == (270, 26, 12) and np.bincount(y).tolist() == [30] * 9
    (xt, lt, _), _ = datasets.load_sequences("japanese-vowels", "test")
    assert xt.shape[0] == 370 and lt.min() == 7 and lt.max() == 29
    assert (x[np.arange(x.shape[1])[None] >= lengths[:, None]] == 0).all()  # zero padding
    assert meta["classes"] == [str(k) for k in range(1, 10)]
    with pytest.raises(DataError, match="splits train, test"):
        datasets.load_sequences("japanese-vowels", "validation")


def test_pad_sequences():
    x, lengths = pad_sequences([np.ones((2, 3)), np.full((4, 3), 2.0)])
    assert x.shape == (2, 4, 3) and lengths.tolist() == [2, 4] and x[0, 2:].sum() == 0
    with pytest.raises(DataError, match="same C"):
        pad_sequences([np.ones((2, 3)), np.ones((2, 4))])


def test_stratified_split_keeps_every_class():
    labels = np.repeat(np.arange(3), [10, 20, 2])
    tr, va = stratified_split(labels, 0.2, np.random.default_rng(0))
    assert np.bincount(labels[va]).tolist() == [2, 4, 1]
    assert sorted([*tr, *va]) == list(range(32))


# -- the model ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize(("bidirectional", "pooling"), [(False, "last"), (True, "last"), (True, "mean")])
def test_classifier_gradients(cell, bidirectional, pooling, rng):
    model = SequenceClassifier(3, 4, cell=cell, hidden_size=4, num_layers=2, bidirectional=bidirectional,
                               pooling=pooling, mean=[0.5, -1, 2], std=[1, 2, 0.5], dtype=np.float64, rng=rng)
    x, lengths, y = rng.standard_normal((4, 6, 3)), np.array([6, 2, 5, 1]), rng.integers(0, 4, 4)
    assert check_model(model, x, lengths, y).max_error < 1e-6


def test_padding_never_matters(rng):
    model = SequenceClassifier(2, 3, cell="lstm", hidden_size=5, bidirectional=True, pooling="mean", rng=rng)
    x, lengths = rng.standard_normal((3, 7, 2)), np.array([7, 3, 5])
    noisy = x.copy()
    noisy[np.arange(7)[None] >= lengths[:, None]] = 1e3
    np.testing.assert_array_equal(model.predict_proba(x, lengths), model.predict_proba(noisy, lengths))


@pytest.mark.torch
@pytest.mark.parametrize(("cell", "bidirectional"), [("lstm", True), ("gru", False)])
def test_classifier_matches_pytorch_packed_sequences(cell, bidirectional, rng):
    """Loss and every gradient against torch: pack_padded_sequence, h_n of the last layer, Linear, cross_entropy."""
    from torch_utils import torch

    model = SequenceClassifier(3, 4, cell=cell, hidden_size=5, num_layers=2, bidirectional=bidirectional,
                               dtype=np.float64, rng=rng)
    x, lengths, y = rng.standard_normal((5, 6, 3)), np.array([6, 2, 5, 1, 3]), rng.integers(0, 4, 5)
    model.zero_grad()
    loss = model.loss(x, lengths, y)
    model.backward()
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    rnn = cls(3, 5, 2, bidirectional=bidirectional, batch_first=True, dtype=torch.float64)
    fc = torch.nn.Linear(rnn.hidden_size * (2 if bidirectional else 1), 4, dtype=torch.float64)
    params = model.state_dict()
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            p.copy_(torch.from_numpy(params[f"rnn.{name}"]))
        for name, p in fc.named_parameters():
            p.copy_(torch.from_numpy(params[f"fc.{name}"]))
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.from_numpy(x), torch.from_numpy(lengths),
                                                     batch_first=True, enforce_sorted=False)
    _, state = rnn(packed)
    h = state[0] if isinstance(state, tuple) else state
    feats = torch.cat([h[-2], h[-1]], dim=1) if bidirectional else h[-1]
    t_loss = torch.nn.functional.cross_entropy(fc(feats), torch.from_numpy(y))
    t_loss.backward()
    assert rel_error(loss, t_loss.item()) < 1e-12
    grads = {f"rnn.{n}": p.grad for n, p in rnn.named_parameters()}
    grads.update({f"fc.{n}": p.grad for n, p in fc.named_parameters()})
    for name, _, g in model.named_parameters():
        assert rel_error(g, grads[name].numpy()) < 1e-9, name


def test_classifier_learns_and_reports(tmp_path, rng):
    x = rng.standard_normal((90, 9, 2))
    lengths = rng.integers(3, 10, 90)
    y = (x[np.arange(90), 0, 0] > 0).astype(int) + (x[np.arange(90), 0, 1] > 0)  # 3 classes, read at step 0
    model = SequenceClassifier(2, ["low", "mid", "high"], hidden_size=12, bidirectional=True, rng=0)
    model.fit_scaling(x, lengths)
    history = model.fit(x, lengths, y, epochs=40, lr=0.02, seed=0, progress=False)
    assert history["train_loss"][-1] < history["train_loss"][0] / 3
    m = model.evaluate(x, lengths, y)
    assert m["accuracy"] > 0.9
    cm = np.array(m["confusion"])
    assert cm.sum() == 90 and np.trace(cm) == round(m["accuracy"] * 90)
    for k in range(3):  # precision and recall from the confusion matrix, by hand
        assert m["recall"][k] == pytest.approx(cm[k, k] / cm[k].sum())
        assert m["precision"][k] == pytest.approx(cm[k, k] / cm[:, k].sum())
    model.save(tmp_path / "c.npz")
    loaded = load_model(tmp_path / "c.npz")
    assert loaded.classes == ["low", "mid", "high"]
    np.testing.assert_array_equal(loaded.predict(x, lengths), model.predict(x, lengths))


def test_classifier_checks(rng):
    model = SequenceClassifier(2, 3, hidden_size=3, rng=0)
    x = rng.standard_normal((2, 4, 2))
    with pytest.raises(ShapeError, match=r"\(N, T, 2\)"):
        model.predict(x[..., :1])
    with pytest.raises(ShapeError, match="lengths should be between 1 and the padded length T = 4"):
        model.predict(x, [5, 1])
    with pytest.raises(ShapeError, match=r"lengths should have shape \(2,\)"):
        model.predict(x, [1])
    bad = x.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        model.predict(bad, [4, 4])
    model.predict(np.where(np.isnan(bad), 0, bad), [4, 4])
    bad[1, 3, 0] = np.nan  # NaN in the padding is fine
    model.predict(bad[1:], [3])
    with pytest.raises(DataError, match=r"class indices in 0\.\.2"):
        model.loss(x, None, [0, 3])
    with pytest.raises(ConfigError, match="pooling"):
        SequenceClassifier(2, 3, pooling="max")
    with pytest.raises(ConfigError, match="two distinct"):
        SequenceClassifier(2, ["a", "a"])
