"""The fused streaming steps: one compiled call per layer and step, after the step's two products.

A streaming step (``layer.step``, batch 1) is too short for anything but the products to be worth a
call: the layer makes ``x W_ih^T`` and ``h W_hh^T`` from its parameters as they are
(:func:`rnnlab.nn.recurrent_params.step_products`), and one cell here adds both biases and writes
the new state straight into the arrays the step returns. Same signatures and results as
:func:`rnnlab.functional.rnn_cell`, ``lstm_cell`` and ``gru_cell`` (PyTorch's gate orders).
"""

from __future__ import annotations

import numba
import numpy as np

from rnnlab.kernels.fused.common import constants, gate_tanh, step_bias
from rnnlab.kernels.packed import JIT


# the cells add both biases themselves (one pass over the products, no folded copy)
@numba.njit(**JIT)
def _lstm_cell(gi, gh, b_ih, b_hh, c, h_new, c_new, one, half):
    H = c.shape[1]
    for j in range(c.shape[0]):
        a, b = gi[j], gh[j]
        for k in range(H):
            # sigmoid(x) = (1 + tanh(x / 2)) / 2; PyTorch's gate order i, f, g, o
            i = gate_tanh((a[k] + b[k] + b_ih[k] + b_hh[k]) * half) * half + half
            f = gate_tanh((a[H + k] + b[H + k] + b_ih[H + k] + b_hh[H + k]) * half) * half + half
            g = gate_tanh(a[2 * H + k] + b[2 * H + k] + b_ih[2 * H + k] + b_hh[2 * H + k])
            o = gate_tanh((a[3 * H + k] + b[3 * H + k] + b_ih[3 * H + k] + b_hh[3 * H + k]) * half) * half + half
            cv = f * c[j, k] + i * g
            c_new[j, k] = cv
            h_new[j, k] = o * gate_tanh(cv)


@numba.njit(**JIT)
def _gru_cell(gi, gh, b_ih, b_hh, h, h_new, one, half):
    H = h.shape[1]
    for j in range(h.shape[0]):
        a, b = gi[j], gh[j]
        for k in range(H):
            r = gate_tanh((a[k] + b[k] + b_ih[k] + b_hh[k]) * half) * half + half
            z = gate_tanh((a[H + k] + b[H + k] + b_ih[H + k] + b_hh[H + k]) * half) * half + half
            n = gate_tanh(a[2 * H + k] + b_ih[2 * H + k] + r * (b[2 * H + k] + b_hh[2 * H + k]))
            h_new[j, k] = n + z * (h[j, k] - n)


@numba.njit(**JIT)
def _rnn_cell(gi, gh, b_ih, b_hh, h_new, relu, one):
    zero = one - one
    for j in range(gi.shape[0]):
        a, b = gi[j], gh[j]
        for k in range(a.shape[0]):
            v = a[k] + b[k] + b_ih[k] + b_hh[k]
            h_new[j, k] = (v if v > zero else v * zero) if relu else gate_tanh(v)


def rnn_cell(gi, gh, b_ih, b_hh, h_new, nonlinearity="tanh"):
    """Fused :func:`rnnlab.functional.rnn_cell`."""
    bias_ih, bias_hh = step_bias(b_ih, gi.shape[1], gi.dtype), step_bias(b_hh, gi.shape[1], gi.dtype)
    _rnn_cell(gi, gh, bias_ih, bias_hh, h_new, nonlinearity == "relu", constants(gi.dtype)[0])
    return h_new


def lstm_cell(gi, gh, b_ih, b_hh, c, h_new, c_new):
    """Fused :func:`rnnlab.functional.lstm_cell`."""
    bias_ih, bias_hh = step_bias(b_ih, gi.shape[1], gi.dtype), step_bias(b_hh, gi.shape[1], gi.dtype)
    _lstm_cell(gi, gh, bias_ih, bias_hh, np.ascontiguousarray(c), h_new, c_new, *constants(gi.dtype))
    return h_new, c_new


def gru_cell(gi, gh, b_ih, b_hh, h, h_new):
    """Fused :func:`rnnlab.functional.gru_cell`."""
    bias_ih, bias_hh = step_bias(b_ih, gi.shape[1], gi.dtype), step_bias(b_hh, gi.shape[1], gi.dtype)
    _gru_cell(gi, gh, bias_ih, bias_hh, np.ascontiguousarray(h), h_new, *constants(gi.dtype))
    return h_new
