"""SequenceClassifier: gradients, padding, PyTorch parity, learning, checks."""

import numpy as np
import pytest

from rnnlab.errors import ConfigError, DataError, ShapeError
from rnnlab.gradcheck import check_model
from rnnlab.models import SequenceClassifier, load_model

from conftest import rel_error

# every test here runs with each kernel set (conftest.kernel_set)
pytestmark = pytest.mark.usefixtures("kernel_set")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize(("bidirectional", "pooling"), [(False, "last"), (True, "last"), (True, "mean")])
def test_classifier_gradients(cell, bidirectional, pooling, rng):
    model = SequenceClassifier(3, 4, cell=cell, hidden_size=4, num_layers=2, bidirectional=bidirectional,
                               pooling=pooling, mean=[0.5, -1, 2], std=[1, 2, 0.5], dtype=np.float64, rng=rng)
    x, lengths, y = rng.standard_normal((4, 6, 3)), np.array([6, 2, 5, 1]), rng.integers(0, 4, 4)
    assert check_model(model, x, lengths, y).max_error < 1e-6


@pytest.mark.parametrize("bidirectional", [False, True])
def test_a_projected_lstm_classifier_gradients_and_model_file(bidirectional, rng, tmp_path):
    model = SequenceClassifier(3, 4, cell="lstm", hidden_size=5, num_layers=2, bidirectional=bidirectional,
                               proj_size=3, mean=[0.5, -1, 2], std=[1, 2, 0.5], dtype=np.float64, rng=rng)
    assert model.fc.in_features == (6 if bidirectional else 3)
    x, lengths, y = rng.standard_normal((4, 6, 3)), np.array([6, 2, 5, 1]), rng.integers(0, 4, 4)
    assert check_model(model, x, lengths, y).max_error < 1e-6
    again = load_model(model.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(again.predict_proba(x, lengths), model.predict_proba(x, lengths))


def test_recurrent_dropout_classifier_trains_and_is_saved(rng, tmp_path):
    model = SequenceClassifier(3, 2, cell="gru", hidden_size=5, bidirectional=True, recurrent_dropout=0.3, rng=rng)
    x, lengths, y = rng.standard_normal((4, 6, 3)), np.array([6, 2, 5, 1]), rng.integers(0, 2, 4)
    model.fit_scaling(x, lengths)
    model.train()
    model.train_batch(x, lengths, y)
    assert len(model.rnn.recurrent_masks) == 2
    again = load_model(model.save(tmp_path / "m.npz"))
    assert again.get_config()["recurrent_dropout"] == 0.3
    np.testing.assert_array_equal(again.predict_proba(x, lengths), model.predict_proba(x, lengths))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_layer_normalised_classifier_gradients_and_model_file(cell, rng, tmp_path):
    model = SequenceClassifier(3, 3, cell=cell, hidden_size=4, bidirectional=True, layer_norm=True,
                               mean=[0.5, -1, 2], std=[1, 2, 0.5], dtype=np.float64, rng=rng)
    x, lengths, y = rng.standard_normal((4, 6, 3)), np.array([6, 2, 5, 1]), rng.integers(0, 3, 4)
    assert check_model(model, x, lengths, y).max_error < 1e-6
    again = load_model(model.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(again.predict_proba(x, lengths), model.predict_proba(x, lengths))


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


def test_a_classifier_of_recordings_keeps_its_feature_settings(tmp_path):
    from rnnlab.data.audio_features import AudioFeatures

    settings = AudioFeatures(features="logmel", n_mels=20, deltas=1, sample_rate=16000)
    model = SequenceClassifier(40, ["a", "b"], hidden_size=4, audio=settings.to_dict(), rng=0)
    loaded = SequenceClassifier.load(model.save(tmp_path / "m.npz"))
    assert loaded.audio == settings and loaded.get_config()["audio"] == settings.to_dict()
    assert "log-mel 20 + deltas" in loaded.describe()
    with pytest.raises(ConfigError, match="give 40 features a frame; the model reads 39"):
        SequenceClassifier(39, ["a", "b"], audio=settings, rng=0)
    with pytest.raises(ConfigError, match="should name the sample rate"):
        SequenceClassifier(39, ["a", "b"], audio=AudioFeatures().to_dict(), rng=0)
    with pytest.raises(ConfigError, match="trained on precomputed sequences"):
        SequenceClassifier(3, ["a", "b"], rng=0).predict_recordings(["x.wav"])
