"""NextTokenModel: gradients, predictions, training, errors."""

import numpy as np
import pytest

from rnnlab import ConfigError, DataError, NextTokenModel, ShapeError, UnknownTokenError
from rnnlab.data import LETTERS, letter_task
from rnnlab.gradcheck import check_model
from rnnlab.models import load_model

from conftest import hold_masks

# every test here runs with each kernel set (conftest.kernel_set)
pytestmark = pytest.mark.usefixtures("kernel_set")


@pytest.mark.parametrize("V", [6, 40])  # fused-table path and gather path
@pytest.mark.parametrize(("cell", "nonlinearity", "num_layers"),
                         [("rnn", "tanh", 1), ("rnn", "relu", 1), ("lstm", "tanh", 1), ("gru", "tanh", 1),
                          ("lstm", "tanh", 2), ("gru", "tanh", 2)])
def test_whole_model_gradients(rng, V, cell, nonlinearity, num_layers):
    model = NextTokenModel([f"t{i}" for i in range(V)], cell=cell, embedding_dim=3, hidden_size=4,
                           num_layers=num_layers, nonlinearity=nonlinearity, dtype=np.float64, rng=rng)
    ids, targets = rng.integers(0, V, (3, 4)), rng.integers(0, V, (3, 4))
    assert check_model(model, ids, targets).max_error < 1e-6
    assert check_model(model, ids, targets, rng.random((3, 4)) > 0.3).max_error < 1e-6


@pytest.mark.parametrize("num_layers", [1, 2])
def test_a_projected_lstm_model_gradients_and_model_file(rng, num_layers, tmp_path):
    model = NextTokenModel(list("abcdef"), cell="lstm", embedding_dim=3, hidden_size=5, num_layers=num_layers,
                           proj_size=2, dtype=np.float64, rng=rng)
    assert model.fc.in_features == 2 and model.rnn.params[f"weight_hr_l{num_layers - 1}"].shape == (2, 5)
    ids, targets = rng.integers(0, 6, (3, 4)), rng.integers(0, 6, (3, 4))
    assert check_model(model, ids, targets).max_error < 1e-6
    again = load_model(model.save(tmp_path / "m.npz"))
    assert again.rnn.proj_size == 2 and again.describe() == model.describe()
    np.testing.assert_array_equal(again.forward(ids)[0], model.forward(ids)[0])


def test_parameter_names_follow_pytorch():
    model = NextTokenModel(LETTERS, embedding_dim=4, hidden_size=5, rng=0)
    assert list(model.state_dict()) == ["embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0",
                                        "rnn.bias_ih_l0", "rnn.bias_hh_l0", "fc.weight", "fc.bias"]
    assert model.num_parameters() == 26 * 4 + 5 * 4 + 25 + 10 + 26 * 5 + 26


def test_forward_and_probabilities_are_consistent(rng):
    model = NextTokenModel(LETTERS, hidden_size=8, rng=rng)
    ids = rng.integers(0, 26, (3, 5))
    scores, h_n = model.forward(ids)
    probs = model.predict_proba(ids)
    assert scores.shape == probs.shape == (3, 5, 26) and h_n.shape == (1, 3, 8)
    np.testing.assert_allclose(probs.sum(-1), 1, rtol=1e-5)
    e = np.exp(scores - scores.max(-1, keepdims=True))
    np.testing.assert_allclose(probs, e / e.sum(-1, keepdims=True), rtol=1e-5, atol=1e-7)
    # batched prediction equals one sequence at a time
    np.testing.assert_allclose(model.predict_proba(ids, batch_size=1), probs, rtol=1e-6)
    # the last output state continues the sequence: forward in two halves equals one pass
    first, h = model.forward(ids[:, :2])
    second, _ = model.forward(ids[:, 2:], state=h)
    np.testing.assert_allclose(np.concatenate([first, second], 1), scores, rtol=1e-5, atol=1e-6)


def test_predict_topk_is_sorted_and_names_letters():
    model = NextTokenModel(LETTERS, hidden_size=8, rng=0)
    top = model.predict_topk("rriqg", k=5)
    assert [t for t, _ in top] == [t for t, _ in sorted(top, key=lambda tp: -tp[1])]
    probs = model.predict_proba(LETTERS.encode("rriqg")[None])[0, -1]
    assert top[0] == (LETTERS.tokens[int(probs.argmax())], pytest.approx(float(probs.max())))
    assert len(model.predict_topk(list("abc"), k=100)) == 26
    with pytest.raises(UnknownTokenError, match="'R', '!'") as info:
        model.predict_topk("aR!b")
    assert info.value.unknown == ["R", "!"]
    with pytest.raises(DataError, match="empty"):
        model.predict_topk("")
    with pytest.raises(ConfigError, match="k should be"):
        model.predict_topk("abc", k=0)


def test_bad_data_gives_clear_errors():
    model = NextTokenModel(LETTERS, hidden_size=4, rng=0)
    with pytest.raises(ShapeError, match=r"\(N, T\)"):
        model.forward(np.zeros(5, int))
    with pytest.raises(DataError, match=r"token ids in 0\.\.25"):
        model.forward(np.array([[0, 26]]))
    with pytest.raises(DataError, match="integer"):
        model.fit(np.zeros((4, 3)), np.zeros((4, 3)), epochs=1, progress=False)
    with pytest.raises(ShapeError, match="targets should have the shape"):
        model.fit(np.zeros((4, 3), int), np.zeros((4, 2), int), epochs=1, progress=False)
    with pytest.raises(ShapeError, match=r"initial state h0 should have shape \(1, 2, 4\)"):
        model.forward(np.zeros((2, 3), int), state=np.zeros((1, 3, 4)))
    with pytest.raises(ConfigError, match="unknown training option"):
        model.fit(np.zeros((4, 3), int), np.zeros((4, 3), int), epoch=1)


def test_training_learns_the_letter_task():
    x, y = letter_task(400, rng=1)
    model = NextTokenModel(LETTERS, hidden_size=32, rng=2)
    before = model.evaluate(x, y)
    history = model.fit(x, y, epochs=15, lr=0.01, seed=3, progress=False)
    after = model.evaluate(x, y)
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert after["loss"] < before["loss"] - 1.0
    assert after["per_step_accuracy"][-1] > 0.9  # the doubling steps need no memory: learned first


def test_same_seed_same_result_bit_for_bit():
    x, y = letter_task(100, rng=0)
    runs = []
    for _ in range(2):
        model = NextTokenModel(LETTERS, hidden_size=8, rng=7)
        h = model.fit(x, y, epochs=3, batch_size=16, lr=0.01, clip_norm=1.0, seed=11, progress=False)
        runs.append((model.state_dict(), h["train_loss"]))
    for k in runs[0][0]:
        np.testing.assert_array_equal(runs[0][0][k], runs[1][0][k])
    assert runs[0][1] == runs[1][1]
    model = NextTokenModel(LETTERS, hidden_size=8, rng=7)
    model.fit(x, y, epochs=3, batch_size=16, lr=0.01, clip_norm=1.0, seed=12, progress=False)
    assert any(not np.array_equal(model.state_dict()[k], runs[0][0][k]) for k in runs[0][0])


def test_fit_keeps_an_optimizer_across_calls():
    from rnnlab.optim import Adam

    x, y = letter_task(64, rng=0)
    model = NextTokenModel(LETTERS, hidden_size=8, rng=0)
    opt = Adam(model, lr=0.01)
    model.fit(x, y, epochs=1, batch_size=32, optimizer=opt, seed=0, progress=False)
    model.fit(x, y, epochs=1, batch_size=32, optimizer=opt, seed=1, progress=False)
    assert opt.steps == 4


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gated_models_learn_and_continue_from_their_state(rng, cell):
    x, y = letter_task(400, rng=1)
    model = NextTokenModel(LETTERS, cell=cell, hidden_size=24, num_layers=2, dropout=0.1, rng=2)
    history = model.fit(x, y, epochs=6, lr=0.01, seed=3, progress=False)
    assert history["train_loss"][-1] < history["train_loss"][0] - 0.5
    assert model.training  # fit restores the mode it found; forward would apply dropout
    model.eval()
    ids = rng.integers(0, 26, (3, 6))
    scores, state = model.forward(ids)
    first, state1 = model.forward(ids[:, :2])
    second, _ = model.forward(ids[:, 2:], state=state1)
    np.testing.assert_allclose(np.concatenate([first, second], 1), scores, rtol=1e-4, atol=1e-5)
    if cell == "lstm":
        assert isinstance(state, tuple) and state[1].shape == (2, 3, 24)


def test_model_dropout_gradients_with_a_fixed_mask(rng):
    model = NextTokenModel(list("abcde"), cell="gru", embedding_dim=3, hidden_size=4, num_layers=2, dropout=0.4,
                           dtype=np.float64, rng=rng)
    ids, targets = rng.integers(0, 5, (3, 4)), rng.integers(0, 5, (3, 4))
    hold_masks(model.rnn, model, "_loss")
    model.train()
    assert check_model(model, ids, targets).max_error < 1e-6


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_recurrent_dropout_model_gradients_with_a_fixed_mask_and_model_file(rng, cell, tmp_path):
    model = NextTokenModel(list("abcde"), cell=cell, embedding_dim=3, hidden_size=4, num_layers=2, dropout=0.2,
                           recurrent_dropout=0.4, dtype=np.float64, rng=rng)
    ids, targets = rng.integers(0, 5, (3, 4)), rng.integers(0, 5, (3, 4))
    hold_masks(model.rnn, model, "_loss")
    model.train()
    assert check_model(model, ids, targets).max_error < 1e-6
    assert len(model.rnn.recurrent_masks) == 2
    again = load_model(model.save(tmp_path / "m.npz"))
    assert again.rnn.recurrent_dropout == 0.4 and "recurrent dropout 0.4" in again.describe()
    np.testing.assert_array_equal(again.eval().forward(ids)[0], model.eval().forward(ids)[0])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_layer_normalised_model_gradients_and_model_file(rng, cell, tmp_path):
    model = NextTokenModel(list("abcdef"), cell=cell, embedding_dim=3, hidden_size=4, num_layers=2, layer_norm=True,
                           dtype=np.float64, rng=rng)
    ids, targets = rng.integers(0, 6, (3, 4)), rng.integers(0, 6, (3, 4))
    assert check_model(model, ids, targets).max_error < 1e-6
    again = load_model(model.save(tmp_path / "m.npz"))
    assert again.rnn.layer_norm and "ln_weight_hh_l1" in again.rnn.params and "layer norm" in again.describe()
    np.testing.assert_array_equal(again.forward(ids)[0], model.forward(ids)[0])


def test_cell_options_are_checked():
    with pytest.raises(ConfigError, match="cell should be one of rnn, lstm, gru"):
        NextTokenModel(LETTERS, cell="transformer")
    with pytest.raises(ConfigError, match="nonlinearity applies to cell='rnn' only"):
        NextTokenModel(LETTERS, cell="lstm", nonlinearity="relu")
    assert NextTokenModel(LETTERS, cell="gru", num_layers=2, rng=0).describe() == (
        "Embedding(26, 32) -> GRU(32, 50, 2 layers) -> Linear(50, 26)"
    )
