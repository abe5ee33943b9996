"""CharLM: truncated BPTT with carried state, evaluation in bits, generation."""

import math

import numpy as np
import pytest

from rnnlab.data.text import eval_streams, stream_batches
from rnnlab.errors import ConfigError, DataError, UnknownTokenError
from rnnlab.models import CharLM, load_model
from rnnlab.models.char_lm import filter_probs
from rnnlab.training import TrainConfig, Trainer

# every test here runs with each kernel set (conftest.kernel_set)
pytestmark = pytest.mark.usefixtures("kernel_set")

TEXT = "the cat sat on the mat, and the dog sat on the log. " * 30


def small_model(text=TEXT, cell="lstm", **kw):
    opts = {"hidden_size": 12, "embedding_dim": 5, "num_layers": 2, "rng": 0, **kw}
    return CharLM.from_text(text, cell=cell, **opts)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_carried_state_matches_one_long_forward_pass(cell, rng):
    """Training chunk by chunk with the state carried sees exactly what one long pass sees."""
    model = small_model(cell=cell, dtype=np.float64)
    ids = model.encode_text(TEXT)
    B, T = 3, 7
    x, y = stream_batches(ids, B, T)
    C = x.shape[0] // B
    # one long forward pass over each whole stream: per-position log-probabilities
    streams_x = x.reshape(C, B, T).transpose(1, 0, 2).reshape(B, C * T)
    streams_y = y.reshape(C, B, T).transpose(1, 0, 2).reshape(B, C * T)
    probs = model.predict_proba(streams_x)
    nll_long = -np.log(np.take_along_axis(probs, streams_y[..., None], -1)[..., 0])  # (B, C*T)
    # chunk by chunk through train_batch (no optimizer step: parameters unchanged)
    model.train()
    model.start_epoch()
    losses = [model.train_batch(x[c * B : (c + 1) * B], y[c * B : (c + 1) * B])[0] for c in range(C)]
    expected = nll_long.reshape(B, C, T).mean(axis=(0, 2))
    np.testing.assert_allclose(losses, expected, rtol=1e-10)
    # without the carry, chunks after the first differ
    model.start_epoch()
    model.train_batch(x[B : 2 * B], y[B : 2 * B])
    assert not math.isclose(model._loss(x[B : 2 * B], y[B : 2 * B])[0], expected[1], rel_tol=1e-6)


def test_evaluate_reads_long_rows_with_carried_state():
    model = small_model(dtype=np.float64)
    x, y = eval_streams(model.encode_text(TEXT), 3)
    probs = model.predict_proba(x)
    nll = -np.log(np.take_along_axis(probs, y[..., None], -1)[..., 0]).mean()
    m = model.evaluate(x, y, chunk=11)  # chunks that do not divide the length
    assert m["loss"] == pytest.approx(nll, rel=1e-12)
    assert m["bits_per_char"] == pytest.approx(nll / math.log(2), rel=1e-12)


def test_fit_text_loss_falls_and_state_resets_each_epoch():
    model = small_model(num_layers=1, hidden_size=24)
    calls = []
    original = model.start_epoch
    model.start_epoch = lambda: (calls.append(1), original())
    history = model.fit_text(TEXT, val_fraction=0.1, seq_len=16, batch_size=4, epochs=6, lr=0.02, seed=0,
                             progress=False)
    assert len(calls) == 6
    assert history["val_loss"][-1] < history["val_loss"][0] - 0.5
    assert history["train_loss"][-1] < math.log(len(model.vocab))
    with pytest.raises(ConfigError, match="shuffle"):
        model.fit_text(TEXT, val_fraction=0.1, seq_len=16, batch_size=4, epochs=1, shuffle=True)


def test_resume_mid_epoch_restores_the_carried_state(tmp_path):
    model = small_model()
    (x, y), _ = model.text_arrays(TEXT, seq_len=10, batch_size=3)
    cfg = TrainConfig(epochs=2, batch_size=3, lr=0.01, shuffle=False, progress=False, seed=0)
    straight = Trainer(model, (x, y), cfg)
    straight.run()
    other = small_model()
    trainer = Trainer(other, (x, y), cfg)
    original = other.train_batch
    steps = []

    def stop_after_five(*batch):
        steps.append(1)
        if len(steps) == 5:
            trainer.stop()
        return original(*batch)

    other.train_batch = stop_after_five
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    trainer.save_checkpoint(tmp_path / "c.npz")
    assert trainer.model.carried_state()  # a state was being carried mid-epoch
    fresh = small_model(rng=1)
    resumed = Trainer(fresh, (x, y), cfg)
    resumed.load_checkpoint(tmp_path / "c.npz")
    resumed.run()
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, fresh.state_dict()[k])


def test_streaming_generation_equals_recomputing_the_prefix():
    model = small_model(cell="gru", dtype=np.float64)
    model.fit_text(TEXT, seq_len=16, batch_size=4, epochs=2, lr=0.02, seed=0, progress=False)
    out = model.greedy("the ", 25)
    text = "the "
    for _ in range(25):  # the slow way: run the whole prefix again for every character
        probs = model.predict_proba(model.encode_text(text)[None])[0, -1]
        text += model.vocab.tokens[int(np.argmax(probs))]
    assert "the " + out == text


def test_sampling_options():
    model = small_model()
    a = model.sample("the", 40, temperature=0.8, seed=3)
    assert len(a) == 40 and a == model.sample("the", 40, temperature=0.8, seed=3)
    assert set(a) <= set(model.vocab)
    assert model.sample("the", 30, temperature=0.0) == model.greedy("the", 30)
    assert model.sample("the", 0) == ""
    # top_k=1 is greedy whatever the temperature
    assert model.sample("the", 20, temperature=5.0, top_k=1, seed=1) == model.greedy("the", 20)
    assert "".join(model.generate("the", 5, seed=0)) == model.sample("the", 5, seed=0)
    for bad in ({"temperature": -1}, {"top_k": 0}, {"top_p": 1.5}, {"top_p": 0}):
        with pytest.raises(ConfigError):
            model.sample("the", 5, **bad)


def test_filter_probs_top_k_and_top_p():
    p = np.array([0.1, 0.4, 0.2, 0.3])
    np.testing.assert_allclose(filter_probs(p, top_k=2), [0, 4 / 7, 0, 3 / 7])
    np.testing.assert_allclose(filter_probs(p, top_p=0.65), [0, 4 / 7, 0, 3 / 7])  # 0.4 + 0.3 reaches 0.65
    np.testing.assert_allclose(filter_probs(p, top_p=0.7), [0, 4 / 7, 0, 3 / 7])
    np.testing.assert_allclose(filter_probs(p, top_p=0.71), [0, 4 / 9, 2 / 9, 3 / 9])
    np.testing.assert_allclose(filter_probs(p), p)


def test_unknown_prime_characters_are_named_or_skipped():
    model = small_model()
    with pytest.raises(UnknownTokenError, match=r"2 character\(s\) the model never saw in training: 'é', 'Z'") as e:
        model.sample("thé Zoo", 5)
    assert e.value.unknown == ["é", "Z"]
    assert model.sample("thé Zoo", 5, unknown="skip", seed=0) == model.sample("th oo", 5, seed=0)
    with pytest.raises(DataError, match="empty"):
        model.sample("ÉÉ", 5, unknown="skip")
    with pytest.raises(DataError, match="empty"):
        model.sample("", 5)


def test_vocabulary_is_sorted_and_saved_with_the_model(tmp_path):
    model = small_model()
    assert model.vocab.tokens == sorted(set(TEXT))
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert isinstance(loaded, CharLM) and loaded.vocab == model.vocab
    assert loaded.sample("the", 20, seed=2) == model.sample("the", 20, seed=2)
    with pytest.raises(ConfigError, match="single characters"):
        CharLM(["ab", "c"])
