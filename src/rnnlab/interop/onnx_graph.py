"""Building ONNX graphs from rnnlab layers, with the ``onnx`` package's helpers.

:class:`Graph` collects nodes, weights (initializers), inputs and outputs under unique names;
:func:`recurrent` writes a stacked, optionally bidirectional RNN / LSTM / GRU as ONNX's own
``RNN`` / ``LSTM`` / ``GRU`` nodes, one per layer, in layout 0 (time-major: onnxruntime's CPU
kernels reject the batch-first layout 1). ONNX orders the gate blocks differently from PyTorch
(and rnnlab): LSTM i, o, f, c against i, f, g, o; GRU z, r, h against r, z, n; ``B`` is the
input biases followed by the recurrent ones; PyTorch's GRU is ``linear_before_reset=1``.

onnx is imported by :func:`import_onnx` only, when an export runs.
"""

from __future__ import annotations

import numpy as np

from rnnlab.errors import ConfigError, MissingDependency

OPSET = 17  # onnxruntime 1.13 and later, and every serving runtime of the last years, read it
# PyTorch's gate blocks, listed in ONNX's order
GATE_ORDER = {"rnn": (0,), "lstm": (0, 3, 1, 2), "gru": (1, 0, 2)}
OPERATOR = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def import_onnx():
    """The ``onnx`` module, or a MissingDependency naming the pip command."""
    try:
        import onnx
    except ImportError:
        raise MissingDependency("exporting to ONNX needs onnx: pip install 'rnnlab[onnx]'", "onnx") from None
    return onnx


class Graph:
    """An ONNX graph under construction: ``node`` adds an operator and returns its output name(s)."""

    def __init__(self):
        self.onnx = import_onnx()
        self.nodes, self.initializers, self.inputs, self.outputs = [], [], [], []
        self.names: set[str] = set()

    def name(self, hint: str) -> str:
        """A name not used yet, from ``hint``."""
        name, k = hint, 1
        while name in self.names:
            k += 1
            name = f"{hint}_{k}"
        self.names.add(name)
        return name

    def const(self, hint: str, array) -> str:
        """A weight or constant (an initializer); returns its name."""
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def ints(self, hint: str, values) -> str:
        """An int64 vector constant (shapes, axes, indices)."""
        return self.const(hint, np.asarray(values, dtype=np.int64))

    def node(self, op: str, inputs, hint: str | None = None, outputs: int = 1, **attrs):
        """Add ``op`` on ``inputs`` (names; "" for an omitted optional input); returns its output name,
        or a list of them when ``outputs`` > 1."""
        names = [self.name(f"{hint or op.lower()}" + (f"_{k}" if outputs > 1 else "")) for k in range(outputs)]
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), names, **attrs))
        return names[0] if outputs == 1 else names

    def input(self, name: str, elem_type, shape, default=None) -> str:
        """A graph input of ``shape`` (ints, or strings for dynamic axes); with ``default`` (an array)
        the input may be left out, and then holds it."""
        self.names.add(name)
        self.inputs.append(self.onnx.helper.make_tensor_value_info(name, elem_type, shape))
        if default is not None:
            self.initializers.append(self.onnx.numpy_helper.from_array(default, name))
        return name

    def output(self, source: str, name: str, elem_type, shape) -> None:
        """Expose ``source`` as the graph output ``name`` (an Identity node when the names differ)."""
        if source != name:
            self.names.add(name)
            self.nodes.append(self.onnx.helper.make_node("Identity", [source], [name]))
        self.outputs.append(self.onnx.helper.make_tensor_value_info(name, elem_type, shape))

    def model(self, name: str, metadata: dict[str, str], doc: str):
        """The finished ``onnx.ModelProto`` (opset :data:`OPSET`), ``metadata`` in its ``metadata_props``."""
        helper = self.onnx.helper
        graph = helper.make_graph(self.nodes, name, self.inputs, self.outputs, self.initializers, doc_string=doc)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="rnnlab")
        model.ir_version = 8  # the IR of opset 17: readable by onnxruntime 1.13 and later
        helper.set_model_props(model, metadata)
        return model


def gate_blocks(array: np.ndarray, cell: str) -> np.ndarray:
    """A PyTorch-ordered (G*H, ...) weight or (G*H,) bias with its gate blocks in ONNX's order."""
    blocks = np.split(array, len(GATE_ORDER[cell]), axis=0)
    return np.concatenate([blocks[k] for k in GATE_ORDER[cell]], axis=0)


def recurrent(g: Graph, layer, x: str, *, sequence_lens: str = "", initial: tuple[str, ...] = (), params=None):
    """Write ``layer`` (an rnnlab RNN, LSTM or GRU, any layers and directions) on ``x``.

    x: the name of a (T, N, D) float input; sequence_lens: an int32 (N,) name, or "" (every
    sequence T long); initial: the names of the initial states, each (L*Dn, N, H) like
    PyTorch's ``h_0`` (and ``c_0``), or () for zeros; params: the layer's weights by PyTorch name
    (default: its own, in its dtype).
    Returns ``(y, finals)``: y, the last layer's outputs (T, N, Dn*H), zero past each length; finals,
    the final states, each (L*Dn, N, H) like PyTorch's ``h_n`` (and ``c_n``).
    """
    if layer.proj_size:  # the projection sits inside the recurrence, where ONNX's LSTM has no place for it
        raise ConfigError(f"ONNX's LSTM operator has no projection: a model whose LSTM has proj_size="
                          f"{layer.proj_size} cannot be exported; train it without proj_size (--proj-size 0) to "
                          "serve it with ONNX")
    if layer.layer_norm:  # the normalisations sit between the products and the gates, inside ONNX's operators
        raise ConfigError(f"ONNX's {layer.cell.upper()} operator has no layer normalisation: a model with "
                          "layer_norm=True cannot be exported; train it without it (no --layer-norm) to serve it "
                          "with ONNX")
    cell, Dn, H = layer.cell, layer.num_directions, layer.hidden_size
    params = layer.state_dict() if params is None else params
    finals: list[list[str]] = [[] for _ in range(layer.n_states)]
    for k in range(layer.num_layers):
        W, R, B = [], [], []
        for d in range(Dn):
            sfx = f"_l{k}" + ("_reverse" if d else "")
            W.append(gate_blocks(params[f"weight_ih{sfx}"], cell))
            R.append(gate_blocks(params[f"weight_hh{sfx}"], cell))
            zeros = np.zeros(R[-1].shape[0], R[-1].dtype)
            b_ih, b_hh = params.get(f"bias_ih{sfx}", zeros), params.get(f"bias_hh{sfx}", zeros)
            B.append(np.concatenate([gate_blocks(b_ih, cell), gate_blocks(b_hh, cell)]))
        inputs = [x, g.const(f"W{k}", np.stack(W)), g.const(f"R{k}", np.stack(R)), g.const(f"B{k}", np.stack(B)),
                  sequence_lens]
        for state in initial:  # this layer's rows of (L*Dn, N, H)
            inputs.append(g.node("Slice", [state, g.ints("start", [k * Dn]), g.ints("end", [(k + 1) * Dn]),
                                           g.ints("axis", [0])], f"{state}_l{k}"))
        attrs = {"hidden_size": H, "direction": "bidirectional" if Dn == 2 else "forward"}
        if cell == "gru":
            attrs["linear_before_reset"] = 1
        if cell == "rnn":
            attrs["activations"] = ["Relu" if layer.nonlinearity == "relu" else "Tanh"] * Dn
        out = g.node(OPERATOR[cell], inputs, f"{cell}{k}", outputs=1 + layer.n_states, **attrs)
        for j, state in enumerate(out[1:]):
            finals[j].append(state)
        # Y (T, Dn, N, H) -> (T, N, Dn*H): the directions side by side, as the next layer reads them
        y = g.node("Transpose", [out[0]], f"y{k}_t", perm=[0, 2, 1, 3])
        x = g.node("Reshape", [y, g.ints("shape", [0, 0, Dn * H])], f"y{k}")
    return x, [s[0] if len(s) == 1 else g.node("Concat", s, "final", axis=0) for s in finals]


def linear(g: Graph, params: dict, x: str, hint: str) -> str:
    """``x @ weight.T + bias`` of a Linear layer's ``params`` (its state_dict) on a (..., in_features) input."""
    out = g.node("MatMul", [x, g.const(f"{hint}_weight_t", params["weight"].T)], hint)
    if "bias" in params:
        out = g.node("Add", [out, g.const(f"{hint}_bias", params["bias"])], hint)
    return out
