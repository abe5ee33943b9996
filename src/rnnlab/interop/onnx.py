"""Export rnnlab models to ONNX, to serve them with onnxruntime (or any ONNX runtime), and read exports back.

Every model becomes a graph of standard operators (opset 17), its recurrent layers ONNX's own
RNN / LSTM / GRU nodes (:mod:`rnnlab.interop.onnx_graph`), with dynamic batch and time axes and
float32 weights. What each graph takes and gives (N: batch, T: steps, L: layers, H: hidden):

- ``NextTokenModel``, ``CharLM``: ``ids`` int64 (N, T) -> ``log_probs`` (N, T, V) of the next
  token after every step, and the final state ``h_n`` (L, N, H) (and ``c_n`` for an LSTM). The
  inputs ``h_0`` (and ``c_0``) take a state to continue from; left out, they are zeros. Feeding
  ``h_n`` back streams generation one token at a time.
- ``Forecaster``: ``window`` float64 (N, W, C) in the series' own units -> ``forecast`` float64
  (N, horizon, K) in the same units; the scaling and the relative reading are in the graph.
- ``SequenceClassifier``: ``inputs`` float32 (N, T, C) zero-padded and ``sequence_lens`` int32
  (N,) -> ``probabilities`` (N, K).

The vocabulary or the class names, the scaling, the task, the model's config and rnnlab's version
are in the file's ``metadata_props`` (:func:`read_onnx` returns them). onnx is imported only here,
when exporting or reading; docs/export.md shows serving with onnxruntime alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rnnlab import io
from rnnlab._version import __version__
from rnnlab.errors import ConfigError, MissingDependency, ModelFileError
from rnnlab.functional.activations import log_softmax
from rnnlab.interop.onnx_graph import Graph, import_onnx, linear, recurrent

TASKS = {"NextTokenModel": "next-token", "CharLM": "text", "Forecaster": "forecast", "SequenceClassifier": "classify"}


def to_onnx(model, path) -> Path:
    """Write ``model`` (any rnnlab task model) to ``path`` as ONNX, atomically, after
    ``onnx.checker.check_model(full_check=True)``. Returns the path written."""
    proto = onnx_model(model)
    return io.atomic_write(path, lambda f: f.write(proto.SerializeToString()))


def onnx_model(model):
    """The checked ``onnx.ModelProto`` of ``model`` (see the module docstring for its inputs and outputs)."""
    kind = type(model).__name__
    builders = {"NextTokenModel": next_token_graph, "CharLM": next_token_graph, "Forecaster": forecaster_graph,
                "SequenceClassifier": classifier_graph}
    if kind not in builders:
        raise ConfigError(f"to_onnx exports {', '.join(builders)}, not a {kind}")
    g = Graph()
    metadata = builders[kind](g, model)
    metadata.update({"rnnlab_version": __version__, "model_type": kind, "task": TASKS[kind],
                     "config": json.dumps(model.get_config()), "description": model.describe()})
    proto = g.model(kind, {k: str(v) for k, v in metadata.items()}, f"rnnlab {kind}: {model.describe()}")
    g.onnx.checker.check_model(proto, full_check=True)
    return proto


def float32(layer):
    """``layer``'s parameters as float32 (ONNX runtimes run recurrent nodes in float32)."""
    return {name: np.asarray(p, np.float32) for name, p in layer.state_dict().items()}


def next_token_graph(g: Graph, model) -> dict:
    """ids (N, T) [+ h_0, c_0] -> log_probs (N, T, V), h_n [, c_n]."""
    FLOAT, INT64 = g.onnx.TensorProto.FLOAT, g.onnx.TensorProto.INT64
    rnn, V = model.rnn, len(model.vocab)
    L, H = rnn.num_layers, rnn.hidden_size
    ids = g.input("ids", INT64, ["N", "T"])
    state_names = ("h_0", "c_0")[: rnn.n_states]
    # an initial state left out is its default, zeros of batch 1, broadcast to the batch
    shape = g.node("Concat", [g.ints("layers", [L]), g.node("Shape", [ids], "batch", start=0, end=1),
                              g.ints("hidden", [H])], "state_shape", axis=0)
    initial = tuple(g.node("Expand", [g.input(name, FLOAT, [L, "N", H], np.zeros((L, 1, H), np.float32)), shape],
                           f"{name}_batch") for name in state_names)
    emb = g.node("Gather", [g.const("embedding_weight", float32(model.embedding)["weight"]), ids], "embedded")
    x = g.node("Transpose", [emb], "time_major", perm=[1, 0, 2])
    y, finals = recurrent(g, rnn, x, initial=initial, params=float32(rnn))
    scores = linear(g, float32(model.fc), g.node("Transpose", [y], "batch_major", perm=[1, 0, 2]), "scores")
    g.output(g.node("LogSoftmax", [scores], axis=-1), "log_probs", FLOAT, ["N", "T", V])
    for name, final in zip(("h_n", "c_n")[: rnn.n_states], finals, strict=True):
        g.output(final, name, FLOAT, [L, "N", H])
    return {"vocabulary": json.dumps(model.vocab.tokens)}


def encoder_features(g: Graph, model, xs: str, sequence_lens: str = "") -> str:
    """The encoder's (N, Dn*H) feature vector from standardised float32 inputs (N, T, C)."""
    rnn = model.rnn
    Dn, L, H = rnn.num_directions, rnn.num_layers, rnn.hidden_size
    y, finals = recurrent(g, rnn, g.node("Transpose", [xs], "time_major", perm=[1, 0, 2]),
                          sequence_lens=sequence_lens, params=float32(rnn))
    if model.pooling == "last":  # the last layer's rows of h_n, (Dn, N, H) -> (N, Dn*H)
        top = g.node("Slice", [finals[0], g.ints("start", [(L - 1) * Dn]), g.ints("end", [L * Dn]),
                               g.ints("axis", [0])], "last_layer")
        return g.node("Reshape", [g.node("Transpose", [top], perm=[1, 0, 2]), g.ints("shape", [0, Dn * H])],
                      "features")
    # the mean over each sequence's own steps: the outputs are zero past its length
    lens = g.node("Cast", [sequence_lens], "lens", to=g.onnx.TensorProto.FLOAT)
    total = g.node("ReduceSum", [y, g.ints("axis", [0])], "total", keepdims=0)  # (N, Dn*H)
    return g.node("Div", [total, g.node("Unsqueeze", [lens, g.ints("axis", [1])])], "features")


def forecaster_graph(g: Graph, model) -> dict:
    """window (N, W, C) float64 in the series' units -> forecast (N, horizon, K) float64."""
    if model.future or model.head.probabilistic or model.log_targets:
        raise ConfigError("ONNX export covers point forecasters that read their past only: this one has future "
                          "covariates, intervals or log targets, which the exporter does not write yet")
    DOUBLE = g.onnx.TensorProto.DOUBLE
    C, K, h = model.input_size, len(model.targets), model.horizon
    window = g.input("window", DOUBLE, ["N", model.window or "W", C])
    mean, std = g.const("mean", model.mean), g.const("std", model.std)
    last = g.node("Slice", [window, g.ints("start", [-1]), g.ints("end", [np.iinfo(np.int64).max]),
                            g.ints("axis", [1])], "last")  # (N, 1, C)
    x = window
    if model.relative:  # as Forecaster reads it: x - last + mean, then standardised
        x = g.node("Add", [g.node("Sub", [window, last]), mean], "relative")
    xs = g.node("Cast", [g.node("Div", [g.node("Sub", [x, mean]), std])], "scaled", to=g.onnx.TensorProto.FLOAT)
    out = linear(g, float32(model.fc), encoder_features(g, model, xs), "outputs")
    pred = g.node("Reshape", [g.node("Cast", [out], to=DOUBLE), g.ints("shape", [0, h, K])], "forecast_scaled")
    t = model.target_index
    if model.relative:
        last_scaled = g.node("Div", [g.node("Sub", [last, mean]), std], "last_scaled")
        pred = g.node("Add", [pred, g.node("Gather", [last_scaled, g.ints("targets", t)], axis=2)])
    result = g.node("Add", [g.node("Mul", [pred, g.const("target_std", model.std[t])]),
                            g.const("target_mean", model.mean[t])])
    g.output(result, "forecast", DOUBLE, ["N", h, K])
    return {"columns": json.dumps(model.columns), "targets": json.dumps(model.targets),
            "scaling": json.dumps({"mean": model.mean.tolist(), "std": model.std.tolist()}),
            "window": str(model.window or "")}


def classifier_graph(g: Graph, model) -> dict:
    """inputs (N, T, C) float32 + sequence_lens (N,) int32 -> probabilities (N, K)."""
    FLOAT = g.onnx.TensorProto.FLOAT
    C, K = model.input_size, len(model.classes)
    x = g.input("inputs", FLOAT, ["N", "T", C])
    lens = g.input("sequence_lens", g.onnx.TensorProto.INT32, ["N"])
    xs = g.node("Div", [g.node("Sub", [x, g.const("mean", model.mean.astype(np.float32))]),
                        g.const("std", model.std.astype(np.float32))], "scaled")
    scores = linear(g, float32(model.fc), encoder_features(g, model, xs, lens), "scores")
    g.output(g.node("Softmax", [scores], axis=1), "probabilities", FLOAT, ["N", K])
    return {"classes": json.dumps(model.classes),
            "scaling": json.dumps({"mean": model.mean.tolist(), "std": model.std.tolist()})}


def read_onnx(path) -> tuple[object, dict[str, str]]:
    """``(model proto, metadata)`` of an ONNX file rnnlab exported, checked by ``onnx.checker``.

    A missing, corrupt, truncated or foreign file (one rnnlab did not write) is a ModelFileError
    naming the path.
    """
    onnx = import_onnx()
    path = Path(path)
    try:
        proto = onnx.load_model_from_string(path.read_bytes())
        onnx.checker.check_model(proto)
    except OSError as exc:
        raise ModelFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    except Exception as exc:  # protobuf's DecodeError, onnx's ValidationError: the file is damaged
        raise ModelFileError(f"{path} is not a readable ONNX model ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}); export it again") from None
    metadata = {p.key: p.value for p in proto.metadata_props}
    if proto.producer_name != "rnnlab" or "model_type" not in metadata:
        raise ModelFileError(f"{path} is an ONNX model that rnnlab did not export "
                             f"(producer {proto.producer_name or 'unnamed'!r}); rnnlab reads its own exports only")
    return proto, metadata


def onnx_summary(path) -> dict:
    """What an export is, JSON-able: the model type, task, rnnlab version and opset, its metadata, and
    its inputs and outputs (name, dtype, shape with the dynamic axes by name, optional or not)."""
    proto, meta = read_onnx(path)
    to_dtype = import_onnx().helper.tensor_dtype_to_np_dtype
    defaults = {i.name for i in proto.graph.initializer}

    def tensors(values):
        return [{"name": v.name, "dtype": np.dtype(to_dtype(v.type.tensor_type.elem_type)).name,
                 "shape": [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim],
                 "optional": v.name in defaults} for v in values]

    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    return {"file": str(path), "kind": "onnx", "model_type": meta["model_type"], "task": meta.get("task"),
            "rnnlab_version": meta.get("rnnlab_version"), "opset": opset, "architecture": meta.get("description"),
            "inputs": tensors(proto.graph.input), "outputs": tensors(proto.graph.output), "metadata": meta}


def check_with_onnxruntime(model, path, rng=0) -> float:
    """Run an export with onnxruntime on a random batch and return the largest difference from
    rnnlab's own outputs (relative to the largest output, for a forecast in the series' units)."""
    try:
        import onnxruntime
    except ImportError:
        raise MissingDependency("checking an export needs onnxruntime: pip install 'rnnlab[onnx]'",
                                "onnxruntime") from None
    g = np.random.default_rng(rng)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # not the notice that h_0 may be overridden: that is what makes it optional
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    kind = type(model).__name__
    if kind in ("NextTokenModel", "CharLM"):
        ids = g.integers(0, len(model.vocab), (2, 7))
        ours = log_softmax(model.forward(ids)[0].astype(np.float64))
        theirs = session.run(["log_probs"], {"ids": ids})[0]
    elif kind == "Forecaster":
        window = model.mean + model.std * g.standard_normal((2, model.window or 8, model.input_size))
        ours, theirs = model.predict(window), session.run(None, {"window": window})[0]
    else:
        x = model.mean + model.std * g.standard_normal((2, 6, model.input_size))
        lengths = np.array([6, 3])
        ours = model.predict_proba(x, lengths)
        theirs = session.run(None, {"inputs": x.astype(np.float32), "sequence_lens": lengths.astype(np.int32)})[0]
    scale = max(1.0, float(np.abs(ours).max())) if kind == "Forecaster" else 1.0
    return float(np.abs(np.asarray(theirs, np.float64) - ours).max() / scale)
