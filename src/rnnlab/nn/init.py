"""Parameter initialisers. Each takes an explicit ``np.random.Generator``.

PyTorch's defaults (what every layer uses when built), Xavier/Glorot, orthogonal recurrent
weights, an LSTM forget-gate bias, and ``recurrent_``, a common recipe combining them.

They fill an existing array **in place** (so they work on the flat-buffer views of
:class:`~rnnlab.nn.Module`) and draw in float64 before casting, so float32 and float64
models built from the same seed start from the same values (rounded).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from rnnlab.errors import ConfigError


def as_generator(rng=None) -> np.random.Generator:
    """Turn ``None`` (fresh entropy), an int seed or a ``Generator`` into a ``Generator``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise ConfigError(f"rng should be a non-negative int seed, a numpy Generator or None, got {rng!r}")


def uniform_(array: np.ndarray, low: float, high: float, rng: np.random.Generator) -> np.ndarray:
    """Fill ``array`` with U(low, high) draws, in place; returns it."""
    array[...] = rng.uniform(low, high, size=array.shape)
    return array


def normal_(array: np.ndarray, mean: float, std: float, rng: np.random.Generator) -> np.ndarray:
    """Fill ``array`` with N(mean, std**2) draws, in place; returns it."""
    array[...] = rng.normal(mean, std, size=array.shape)
    return array


def recurrent_default_(params: dict, hidden_size: int, rng: np.random.Generator) -> None:
    """PyTorch's default for RNN/LSTM/GRU: every weight and bias U(-1/sqrt(H), 1/sqrt(H)).

    Fills the arrays in ``params`` in their order (PyTorch's: weight_ih, weight_hh,
    bias_ih, bias_hh per layer and direction). A layer normalisation's gains (``ln_weight_*``)
    start at 1 and its bias (``ln_bias_*``) at 0, as ``torch.nn.LayerNorm``'s.
    """
    k = 1.0 / math.sqrt(hidden_size)
    for name, p in params.items():
        if name.startswith("ln_"):
            p[...] = 1.0 if name.startswith("ln_weight") else 0.0
        else:
            uniform_(p, -k, k, rng)


def linear_default_(weight: np.ndarray, bias: np.ndarray | None, rng: np.random.Generator) -> None:
    """PyTorch's default for ``nn.Linear``: weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    weight: (out_features, in_features); bias: (out_features,) or None.
    (PyTorch writes it as Kaiming-uniform with a = sqrt(5), which reduces to this bound.)
    """
    fan_in = weight.shape[1]
    k = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    uniform_(weight, -k, k, rng)
    if bias is not None:
        uniform_(bias, -k, k, rng)


def embedding_default_(weight: np.ndarray, rng: np.random.Generator) -> None:
    """PyTorch's default for ``nn.Embedding``: N(0, 1)."""
    normal_(weight, 0.0, 1.0, rng)


def xavier_uniform_(array: np.ndarray, rng: np.random.Generator, gain: float = 1.0) -> np.ndarray:
    """Glorot / Xavier uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)), in place.

    array: (fan_out, fan_in), the layout of PyTorch's weights (as ``torch.nn.init.xavier_uniform_``).
    """
    if array.ndim != 2:
        raise ConfigError(f"xavier_uniform_ needs a 2-D weight, got shape {array.shape}")
    fan_out, fan_in = array.shape
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(array, -bound, bound, rng)


def orthogonal_(array: np.ndarray, rng: np.random.Generator, gain: float = 1.0, blocks: int = 1) -> np.ndarray:
    """A (semi-)orthogonal matrix, in place: orthonormal rows or columns, times ``gain``.

    array: (rows, cols). blocks: split the rows into this many equal blocks (the gates of a
    recurrent weight, e.g. 4 for an LSTM's (4H, H) ``weight_hh``) and make each block
    orthogonal on its own, the usual choice for recurrent weights. With blocks=1 the whole
    matrix is made orthogonal, as ``torch.nn.init.orthogonal_``.
    """
    if array.ndim != 2 or array.shape[0] % blocks:
        raise ConfigError(f"orthogonal_ needs a 2-D weight whose rows split into {blocks} blocks, got {array.shape}")
    rows = array.shape[0] // blocks
    cols = array.shape[1]
    for b in range(blocks):
        a = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))  # a uniformly distributed orthogonal matrix (Mezzadri 2007)
        block = q if rows >= cols else q.T
        array[b * rows : (b + 1) * rows] = gain * block
    return array


def lstm_forget_bias_(layer, value: float = 1.0) -> None:
    """Set an LSTM's forget-gate bias to ``value`` in every layer and direction, in place.

    PyTorch's LSTM has two biases that add up; ``bias_ih``'s forget rows (H..2H) get
    ``value`` and ``bias_hh``'s get 0, so the effective forget bias is ``value`` (Keras's
    ``unit_forget_bias``; Jozefowicz et al. 2015 recommend 1).
    """
    if getattr(layer, "cell", None) != "lstm":
        raise ConfigError("lstm_forget_bias_ needs an rnnlab LSTM layer")
    if not layer.bias:
        raise ConfigError("this LSTM was built with bias=False: it has no forget-gate bias to set")
    H = layer.hidden_size
    for name, p in layer.params.items():
        if name.startswith("bias_ih"):
            p[H : 2 * H] = value
        elif name.startswith("bias_hh"):
            p[H : 2 * H] = 0.0


def recurrent_(layer, rng, weight_ih: str = "xavier", weight_hh: str = "orthogonal", forget_bias: float | None = 1.0):
    """Re-initialise a recurrent layer (RNN, LSTM, GRU) with a common recipe, in place.

    weight_ih: "xavier" or "default" (PyTorch's uniform); weight_hh: "orthogonal" (per gate
    block), "xavier" or "default"; biases become zero, then (LSTM only) the forget gate's
    ``forget_bias`` (None to leave it at zero).
    """
    rng = as_generator(rng)
    k = 1.0 / math.sqrt(layer.hidden_size)
    choices = {"weight_ih": ("xavier", "default"), "weight_hh": ("orthogonal", "xavier", "default")}
    for arg, value in (("weight_ih", weight_ih), ("weight_hh", weight_hh)):
        if value not in choices[arg]:
            raise ConfigError(f"{arg} should be one of {', '.join(choices[arg])}, got {value!r}")
    for name, p in layer.params.items():
        kind = "weight_ih" if name.startswith("weight_ih") else "weight_hh" if name.startswith("weight_hh") else "bias"
        recipe = {"weight_ih": weight_ih, "weight_hh": weight_hh}.get(kind)
        if kind == "bias":
            p[...] = 0.0
        elif recipe == "orthogonal":
            orthogonal_(p, rng, blocks=layer.gates)
        elif recipe == "xavier":
            xavier_uniform_(p, rng)
        else:
            uniform_(p, -k, k, rng)
    if layer.cell == "lstm" and forget_bias is not None and layer.bias:
        lstm_forget_bias_(layer, forget_bias)
