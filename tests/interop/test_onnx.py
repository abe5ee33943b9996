"""ONNX export, proven by onnxruntime: every layer configuration and every model type gives rnnlab's
outputs within 1e-5 (float32), and every export passes ``onnx.checker`` with the full check."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnnlab.errors import ConfigError, ModelFileError
from rnnlab.models import CharLM, Forecaster, NextTokenModel, SequenceClassifier
from rnnlab.nn.module import module_mode

from conftest import CELLS, as_tuple

onnx = pytest.importorskip("onnx", reason="the ONNX export needs onnx: pip install 'rnnlab[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="checking exports needs onnxruntime: pip install 'rnnlab[onnx]'")

from rnnlab.interop.onnx import check_with_onnxruntime, onnx_model, onnx_summary, read_onnx, to_onnx  # noqa: E402
from rnnlab.interop.onnx_graph import Graph, recurrent  # noqa: E402

TOL = 1e-5
EXPORTED_CELLS = [c for c in CELLS if c != "lstm-proj"]  # ONNX's LSTM has no projection: refused, below


def session(proto):
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def max_diff(a, b) -> float:
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())


def layer_graph(layer, ragged: bool, initial: bool):
    """A graph of the layer alone: x (T, N, D) [+ lens, initial states] -> y, final states."""
    FLOAT = onnx.TensorProto.FLOAT
    g = Graph()
    x = g.input("x", FLOAT, ["T", "N", layer.input_size])
    lens = g.input("lens", onnx.TensorProto.INT32, ["N"]) if ragged else ""
    rows = layer.num_layers * layer.num_directions
    names = ("h0", "c0")[: layer.n_states] if initial else ()
    states = tuple(g.input(n, FLOAT, [rows, "N", layer.hidden_size]) for n in names)
    y, finals = recurrent(g, layer, x, sequence_lens=lens, initial=states)
    g.output(y, "y", FLOAT, ["T", "N", layer.num_directions * layer.hidden_size])
    for k, final in enumerate(finals):
        g.output(final, f"final{k}", FLOAT, [rows, "N", layer.hidden_size])
    proto = g.model("layer", {}, "")
    onnx.checker.check_model(proto, full_check=True)
    return proto


@pytest.mark.parametrize("cell, num_layers, bidirectional, ragged, initial",
                         list(itertools.product(EXPORTED_CELLS, (1, 2, 3), *[(False, True)] * 3)))
def test_every_layer_configuration_matches_onnxruntime(cell, num_layers, bidirectional, ragged, initial, rng):
    D, H = (int(v) for v in rng.integers(1, 7, 2))
    N, T = int(rng.integers(1, 5)), int(rng.integers(1, 8))
    layer = CELLS[cell](D, H, num_layers, bidirectional=bidirectional, batch_first=False, rng=rng)
    x = rng.standard_normal((T, N, D)).astype(np.float32)
    lengths = rng.integers(1, T + 1, N) if ragged else None
    states = tuple(rng.standard_normal(shape).astype(np.float32)
                   for shape in layer.state_shapes(N)) if initial else ()
    feed = {"x": x, **({"lens": lengths.astype(np.int32)} if ragged else {}),
            **dict(zip(("h0", "c0")[: len(states)], states, strict=True))}
    theirs = session(layer_graph(layer, ragged, initial)).run(None, feed)
    with module_mode(layer):
        out, final = layer.forward(x, (states if layer.n_states == 2 else states[0]) if initial else None, lengths)
    for ours, got in zip((out, *as_tuple(final)), theirs, strict=True):
        assert ours.shape == got.shape
        assert max_diff(ours, got) < TOL


def test_a_projected_lstm_is_refused_naming_the_option():
    model = NextTokenModel(list("abc"), cell="lstm", embedding_dim=3, hidden_size=6, proj_size=2, rng=0)
    with pytest.raises(ConfigError, match="proj_size=2"):
        onnx_model(model)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_layer_normalised_model_is_refused_naming_the_option(cell):
    model = NextTokenModel(list("abc"), cell=cell, embedding_dim=3, hidden_size=6, layer_norm=True, rng=0)
    with pytest.raises(ConfigError, match="layer_norm=True"):
        onnx_model(model)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_next_token_model_gives_its_log_probabilities_and_streams_with_the_state(cell, rng):
    model = NextTokenModel(list("abcdefg"), cell=cell, embedding_dim=5, hidden_size=6, num_layers=2, rng=rng)
    sess = session(onnx_model(model))
    ids = rng.integers(0, 7, (3, 9))
    log_probs, *finals = sess.run(None, {"ids": ids})
    scores, state = model.forward(ids)
    expected = scores - np.log(np.exp(scores.astype(np.float64)).sum(-1, keepdims=True))
    assert max_diff(log_probs, expected) < TOL
    for ours, got in zip(as_tuple(state), finals, strict=True):
        assert max_diff(ours, got) < TOL
    # the first 4 steps, then the other 5 fed with the carried state: the same numbers
    first = sess.run(None, {"ids": ids[:, :4]})
    names = ("h_0", "c_0")[: len(finals)]
    rest = sess.run(None, {"ids": ids[:, 4:], **dict(zip(names, first[1:], strict=True))})
    assert max_diff(np.concatenate([first[0], rest[0]], axis=1), log_probs) < TOL


def test_recurrent_dropout_is_training_only_and_exports_as_the_plain_layer(rng):
    model = NextTokenModel(list("abcd"), cell="lstm", embedding_dim=3, hidden_size=5, num_layers=2,
                           recurrent_dropout=0.5, rng=rng)
    ids = rng.integers(0, 4, (2, 6))
    log_probs, *_ = session(onnx_model(model)).run(None, {"ids": ids})
    scores, _ = model.eval().forward(ids)
    assert max_diff(log_probs, scores - np.log(np.exp(scores.astype(np.float64)).sum(-1, keepdims=True))) < TOL


def test_a_char_lm_greedy_text_through_onnxruntime_is_rnnlab_s():
    text = "the cat sat on the mat. the dog sat on the log. " * 30
    model = CharLM.from_text(text, cell="gru", hidden_size=24, embedding_dim=8, num_layers=1, rng=0)
    model.fit_text(text, seq_len=20, batch_size=4, epochs=3, lr=0.02, seed=0, progress=False)
    sess = session(onnx_model(model))
    meta = {p.key: p.value for p in onnx_model(model).metadata_props}
    vocab = __import__("json").loads(meta["vocabulary"])
    prime, out = "the ", []
    log_probs, h = sess.run(None, {"ids": np.array([[vocab.index(c) for c in prime]])})
    for _ in range(60):  # argmax, then one character at a time with the state carried
        nxt = int(log_probs[0, -1].argmax())
        out.append(vocab[nxt])
        log_probs, h = sess.run(None, {"ids": np.array([[nxt]]), "h_0": h})
    assert "".join(out) == model.greedy(prime, 60)


@pytest.mark.parametrize("cell, relative, layers", [("lstm", True, 1), ("gru", False, 2), ("rnn", True, 2)])
def test_a_forecast_through_onnxruntime_equals_predict(cell, relative, layers, rng):
    t = np.arange(300.0)
    series = np.stack([400 + np.sin(t / 7) + t / 50, 10 + np.cos(t / 5)], axis=1)
    model = Forecaster(["co2", "temp"], ["co2"], horizon=4, window=12, cell=cell, hidden_size=8, num_layers=layers,
                       relative=relative, rng=rng).fit_scaling(series[:200])
    windows = np.stack([series[s : s + 12] for s in range(0, 280, 7)])
    (forecast,) = session(onnx_model(model)).run(None, {"window": windows})
    expected = model.predict(windows)
    assert forecast.shape == expected.shape == (len(windows), 4, 1)
    assert max_diff(forecast, expected) / np.abs(expected).max() < TOL


@pytest.mark.parametrize("cell, bidirectional, pooling", list(itertools.product(("rnn", "lstm", "gru"), (False, True),
                                                                                ("last", "mean"))))
def test_a_classifier_gives_its_probabilities_on_a_ragged_batch(cell, bidirectional, pooling, rng):
    x = rng.standard_normal((40, 9, 3))
    lengths = rng.integers(1, 10, 40)
    model = SequenceClassifier(3, ["a", "b", "c"], cell=cell, hidden_size=6, num_layers=2, bidirectional=bidirectional,
                               pooling=pooling, rng=rng).fit_scaling(x, lengths)
    (probs,) = session(onnx_model(model)).run(None, {"inputs": x.astype(np.float32),
                                                     "sequence_lens": lengths.astype(np.int32)})
    assert max_diff(probs, model.predict_proba(x, lengths)) < TOL


def test_files_round_trip_and_damaged_or_foreign_files_are_one_line_errors(tmp_path):
    model = SequenceClassifier(2, ["no", "yes"], hidden_size=4, rng=0)
    path = to_onnx(model, tmp_path / "m.onnx")
    meta = read_onnx(path)[1]
    assert meta["model_type"] == "SequenceClassifier" and meta["task"] == "classify"
    assert meta["classes"] == '["no", "yes"]'
    summary = onnx_summary(path)
    assert summary["opset"] == 17
    assert summary["inputs"][1] == {"name": "sequence_lens", "dtype": "int32", "shape": ["N"], "optional": False}
    assert summary["outputs"] == [{"name": "probabilities", "dtype": "float32", "shape": ["N", 2], "optional": False}]
    data = path.read_bytes()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.onnx").write_bytes(b"not a model at all")
    g = Graph()
    g.output(g.input("x", onnx.TensorProto.FLOAT, [1]), "y", onnx.TensorProto.FLOAT, [1])
    foreign = g.model("other", {}, "")
    foreign.producer_name = "someone else"
    (tmp_path / "foreign.onnx").write_bytes(foreign.SerializeToString())
    for name, words in (("cut.onnx", "not a readable ONNX model"), ("junk.onnx", "not a readable ONNX model"),
                        ("foreign.onnx", "rnnlab did not export"), ("missing.onnx", "cannot read")):
        with pytest.raises(ModelFileError, match=words) as info:
            read_onnx(tmp_path / name)
        assert "\n" not in str(info.value) and name in str(info.value)


@pytest.mark.parametrize("make", [
    lambda: NextTokenModel(list("xyz"), cell="lstm", hidden_size=5, rng=0),
    lambda: Forecaster(["a", "b"], horizon=3, window=5, hidden_size=4, rng=0).fit_scaling(np.ones((9, 2)).cumsum(0)),
    lambda: SequenceClassifier(3, 4, cell="gru", bidirectional=True, pooling="mean", hidden_size=4, rng=0),
])
def test_the_export_check_measures_a_real_difference(make, tmp_path):
    model = make()
    path = model.to_onnx(tmp_path / "m.onnx")
    assert check_with_onnxruntime(model, path) < TOL
    model.fc.params["bias"][0] += 0.5  # the file no longer matches the model: the check sees it
    assert check_with_onnxruntime(model, path) > 1e-3


def test_a_float64_model_is_exported_in_float32_and_still_agrees(rng):
    model = NextTokenModel(list("abc"), cell="gru", hidden_size=5, dtype="float64", rng=rng)
    ids = rng.integers(0, 3, (2, 6))
    (log_probs, _) = session(onnx_model(model)).run(None, {"ids": ids})
    assert log_probs.dtype == np.float32
    scores = model.forward(ids)[0]
    assert max_diff(log_probs, scores - np.log(np.exp(scores).sum(-1, keepdims=True))) < TOL
