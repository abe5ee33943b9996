"""Diagnostics: how gradients flow backwards through time.

:func:`gradient_flow` measures, for an RNN, an LSTM and a GRU, the norm of ``dL/dh_t``: how
much gradient reaches the hidden state at step t from a loss that depends on the last step
only. Two settings:

- PyTorch's default initialisation: in all three it shrinks geometrically with the distance to
  the loss (the vanishing gradient);
- large recurrent weights for the RNN, gates set to remember for the others: the RNN's gradient
  now *explodes* (why the notebook needed clipping), while an LSTM whose forget gate is open
  (bias 3) and a GRU whose update gate keeps the state (bias 3) carry the gradient across a
  hundred steps without exploding: that is what the gates are for.
"""

from __future__ import annotations

import numpy as np

from rnnlab.nn.init import as_generator, lstm_forget_bias_
from rnnlab.nn.recurrent import CELL_TYPES

DEFAULT = "PyTorch's default initialisation"
REMEMBERING = "RNN weights x4; LSTM and GRU gates set to remember"


def gradient_norms(layer, x: np.ndarray, g: np.ndarray) -> list[float]:
    """``|dL/dh_t|`` for t = 1..T, with L = sum over the batch of <h_T, g>.

    layer: a one-layer, unidirectional recurrent layer (float64 for exact figures);
    x: (N, T, D) inputs; g: (N, H), the loss's gradient with respect to the last state.
    Each entry is the mean over the N sequences of the L2 norm of that sequence's gradient.
    dL/dh_t is computed exactly, as the gradient of the initial state of the sequence's
    remainder x[:, t:] run from h_t (so it goes through the gradient-checked backward pass).
    """
    T = x.shape[1]
    H = layer.hidden_size
    norms = []
    for t in range(1, T + 1):
        if t == T:
            d = g
        else:
            _, state = layer.forward(x[:, :t])
            out, _ = layer.forward(x[:, t:], state)
            dout = np.zeros_like(out)
            dout[:, -1, :H] = g
            layer.zero_grad()
            _, dstate = layer.backward(dout)
            d = (dstate[0] if isinstance(dstate, tuple) else dstate)[0]
        norms.append(float(np.linalg.norm(d, axis=1).mean()))
    layer.zero_grad()
    return norms


def gradient_flow(steps: int = 100, hidden_size: int = 32, input_size: int = 8, batch: int = 16,
                  seed: int = 0) -> dict[str, dict[str, list[float]]]:
    """|dL/dh_t| for t = 1..steps, by setting and layer (see the module docstring).

    Returns ``{DEFAULT: {"RNN": [...], "LSTM": [...], "GRU": [...]}, REMEMBERING: {...}}``.
    Every layer sees the same standard-normal inputs and the same unit upstream gradient at
    the last step (float64, seeded).
    """
    rng = as_generator(seed)
    x = rng.standard_normal((batch, steps, input_size))
    g = rng.standard_normal((batch, hidden_size))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    H = hidden_size
    default, remembering = {}, {}
    for name, cls in CELL_TYPES.items():
        layer_seed = int(rng.integers(2**31))
        default[name.upper()] = gradient_norms(cls(input_size, H, dtype=np.float64, rng=layer_seed), x, g)
        layer = cls(input_size, H, dtype=np.float64, rng=layer_seed)
        if name == "rnn":
            layer.params["weight_hh_l0"][...] *= 4.0
            label = "RNN, W_hh x4"
        elif name == "lstm":
            lstm_forget_bias_(layer, 3.0)
            label = "LSTM, forget-gate bias 3"
        else:
            layer.params["bias_hh_l0"][H : 2 * H] = 3.0  # the update gate z keeps h_{t-1}
            label = "GRU, update-gate bias 3"
        remembering[label] = gradient_norms(layer, x, g)
    return {DEFAULT: default, REMEMBERING: remembering}
