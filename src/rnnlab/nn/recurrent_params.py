"""The recurrent layers' parameters: PyTorch's names and shapes, and the kernels' internal form.

Names and shapes, for each layer k and direction (suffix ``_reverse`` for the backward one):
``weight_ih_l{k}`` (G*H, D_k), ``weight_hh_l{k}`` (G*H, H), ``bias_ih_l{k}`` (G*H,),
``bias_hh_l{k}`` (G*H,), with D_0 = D and D_k = Dn*H above. An LSTM with a projection
(``proj_size`` P) also has ``weight_hr_l{k}`` (P, H), and its ``weight_hh_l{k}`` is (4H, P) and
D_k = Dn*P above (PyTorch's layout). With ``layer_norm=True`` (LSTM and GRU) each layer-direction
also has the normalisation's gains ``ln_weight_ih_l{k}`` and ``ln_weight_hh_l{k}`` (G*H,) and, for
the LSTM, the cell state's ``ln_weight_c_l{k}`` and ``ln_bias_c_l{k}`` (H,), last (see
:mod:`rnnlab.functional.layer_norm`). The kernels in rnnlab.functional
read them in an internal form (:class:`KernelWeights`): LSTM gates reordered, sigmoid rows
halved, biases folded.
"""

from __future__ import annotations

import functools

import numpy as np

from rnnlab._checks import check_int
from rnnlab.errors import ConfigError
from rnnlab.functional.gru import internal_scale
from rnnlab.functional.lstm import internal_rows

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def step_products(params: dict, layer: int, x: np.ndarray, h: np.ndarray) -> tuple:
    """What a streaming step of a layer's forward direction starts from, PyTorch's parameters and gate
    order: ``(x W_ih^T, h W_hh^T, b_ih, b_hh)`` for x (N, D_layer) and h (N, H or P), the products
    (N, G*H) and the biases (G*H,) (None for a layer without them)."""
    w_ih, w_hh, b_ih, b_hh = map(params.get, parameter_names(layer, 0))
    return x @ w_ih.T, h @ w_hh.T, b_ih, b_hh


@functools.cache  # a streaming step looks the names up for every layer: build each string once
def parameter_names(layer: int, direction: int) -> tuple[str, str, str, str]:
    """PyTorch's names of one layer-direction's weights: ``weight_ih_l{k}[_reverse]``, ``weight_hh_...``,
    ``bias_ih_...``, ``bias_hh_...``."""
    sfx = f"_l{layer}" + ("_reverse" if direction else "")
    return f"weight_ih{sfx}", f"weight_hh{sfx}", f"bias_ih{sfx}", f"bias_hh{sfx}"


def param_name(kind: str, layer: int, direction: int) -> str:
    """A parameter's full name from its kind: ``{kind}_l{k}[_reverse]`` (e.g. ``weight_hr_l1_reverse``)."""
    return f"{kind}_l{layer}" + ("_reverse" if direction else "")


def projection_name(layer: int, direction: int) -> str:
    """PyTorch's name of an LSTM's projection weight: ``weight_hr_l{k}[_reverse]``."""
    return param_name("weight_hr", layer, direction)


def layer_norm_shapes(cell: str, hidden_size: int) -> dict[str, tuple]:
    """The kinds and shapes of a layer-normalised cell's own parameters (one layer-direction)."""
    G = GATES[cell] * hidden_size
    shapes = {"ln_weight_ih": (G,), "ln_weight_hh": (G,)}
    if cell == "lstm":
        shapes.update(ln_weight_c=(hidden_size,), ln_bias_c=(hidden_size,))
    return shapes


def check_layer_norm(cell: str, layer_norm) -> bool:
    """``layer_norm`` validated: a bool, True for the LSTM and the GRU only."""
    if not isinstance(layer_norm, (bool, np.bool_)):
        raise ConfigError(f"layer_norm should be True or False, got {layer_norm!r}")
    if layer_norm and cell not in ("lstm", "gru"):
        raise ConfigError(f"layer_norm applies to the LSTM and the GRU, not to cell {cell!r}")
    return bool(layer_norm)


def check_proj_size(cell: str, hidden_size: int, proj_size) -> int:
    """``proj_size`` validated: 0 (none), or, for an LSTM only, a size below ``hidden_size``."""
    if isinstance(proj_size, bool) or not isinstance(proj_size, (int, np.integer)) or proj_size < 0:
        raise ConfigError(f"proj_size should be a non-negative integer (0: no projection), got {proj_size!r}")
    if proj_size and cell != "lstm":
        raise ConfigError(f"proj_size applies to the LSTM only, not to cell {cell!r}; leave it 0")
    if proj_size and proj_size >= hidden_size:
        raise ConfigError(f"proj_size ({proj_size}) should be smaller than hidden_size ({hidden_size})")
    return int(proj_size)


def parameter_shapes(cell: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                     bidirectional: bool = False, proj_size: int = 0, layer_norm: bool = False) -> dict[str, tuple]:
    """The names and shapes of a recurrent layer's parameters, in PyTorch's order (nothing allocated)."""
    if not isinstance(cell, str) or cell not in GATES:
        raise ConfigError(f"cell should be one of {', '.join(GATES)}, got {cell!r}")
    D, H = check_int("input_size", input_size), check_int("hidden_size", hidden_size)
    L = check_int("num_layers", num_layers)
    P = check_proj_size(cell, H, proj_size)
    norms = layer_norm_shapes(cell, H) if check_layer_norm(cell, layer_norm) else {}
    out = P or H  # the size of h: the projection's, or the hidden size
    G, dirs = GATES[cell] * H, 2 if bidirectional else 1
    shapes = {}
    for layer in range(L):
        d_in = D if layer == 0 else out * dirs
        for d in range(dirs):
            w_ih, w_hh, b_ih, b_hh = parameter_names(layer, d)
            shapes[w_ih], shapes[w_hh] = (G, d_in), (G, out)
            if bias:
                shapes[b_ih], shapes[b_hh] = (G,), (G,)
            if P:
                shapes[projection_name(layer, d)] = (P, H)
            shapes.update({param_name(kind, layer, d): shape for kind, shape in norms.items()})
    return shapes


def kernel_weights(layer, layer_index: int, direction: int) -> KernelWeights:
    """One layer-direction's :class:`KernelWeights` from a recurrent layer's parameters."""
    params, norms = layer.params, None
    if layer.layer_norm:
        kinds = layer_norm_shapes(layer.cell, layer.hidden_size)
        norms = {kind: params[param_name(kind, layer_index, direction)] for kind in kinds}
    return KernelWeights(layer.cell, layer.hidden_size, layer.dtype,
                         *(params.get(n) for n in parameter_names(layer_index, direction)),
                         w_hr=params.get(projection_name(layer_index, direction)), norms=norms)


class KernelWeights:
    """One layer-direction's weights for one forward call, in the kernel's internal form.

    Internal row j is PyTorch's row ``rows[j]`` (LSTM gate order; identity when None) times
    ``scale[j]`` (1/2 for sigmoid gates; none for the RNN). Gradients with respect to the
    internal weights map back to PyTorch's rows as ``g[rows] += scale * d_internal``.

    A layer-normalised cell (``norms``: its gains by kind) reads PyTorch's own form instead, the
    biases unfolded, since they follow the normalisation: ``plain`` holds every weight by kind
    (see :mod:`rnnlab.functional.layer_norm`), and the input projection gets no bias.
    """

    __slots__ = ("bias", "bias_hn", "plain", "rows", "scale", "w_hh", "w_hr", "w_ih")

    def __init__(self, cell: str, hidden_size: int, dtype, w_ih, w_hh, b_ih, b_hh, w_hr=None, norms=None):
        H = hidden_size
        self.w_hr = w_hr  # an LSTM's projection (P, H), or None: its columns are h's, in no gate order
        self.rows, self.scale, self.plain = None, None, None
        if norms is not None:
            self.w_ih, self.w_hh, self.bias, self.bias_hn = w_ih, w_hh, None, None
            given = {"weight_hh": w_hh, "bias_ih": b_ih, "bias_hh": b_hh, "weight_hr": w_hr, **norms}
            self.plain = {kind: a for kind, a in given.items() if a is not None}
            return
        if cell == "lstm":
            self.rows, self.scale = internal_rows(H, dtype)
        elif cell == "gru":
            self.scale = internal_scale(H, dtype)
        self.w_ih = self.internal(w_ih)
        self.w_hh = self.internal(w_hh)
        self.bias_hn = None
        if b_ih is None:
            self.bias = None
        elif cell == "gru":  # b_hn stays inside r * (...): only the r and z parts fold
            bias = b_ih.copy()
            bias[: 2 * H] += b_hh[: 2 * H]
            self.bias = self.internal(bias)
            self.bias_hn = b_hh[2 * H :]
        else:
            self.bias = self.internal(b_ih + b_hh)

    def internal(self, a: np.ndarray) -> np.ndarray:
        """A (G*H, ...) or (G*H,) array of PyTorch-ordered rows, in internal form (a copy if changed)."""
        if self.rows is not None:
            a = a[self.rows]
        if self.scale is not None:
            a = a * (self.scale if a.ndim == 1 else self.scale[:, None])
        return a

    def add_gradients(self, names, grads, into: dict) -> None:
        """Add gradients with respect to internal rows into ``into[name]``, PyTorch's rows (names
        missing from ``into``, the biases of a layer without them, are skipped)."""
        scale, rows = self.scale, self.rows
        for name, grad in zip(names, grads, strict=True):
            if name not in into:
                continue
            if scale is not None:
                grad = grad * (scale if grad.ndim == 1 else scale[:, None])
            if rows is None:
                into[name] += grad
            else:
                into[name][rows] += grad  # rows is a permutation: no repeated index


