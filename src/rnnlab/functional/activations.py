"""Numerically stable activations: the one place where rnnlab's sigmoid is written.

None of these overflow, whatever the input: ``sigmoid`` evaluates ``exp`` only of
non-positive numbers, ``half_tanh_to_sigmoid_`` builds on ``tanh``, and ``softmax`` /
``log_softmax`` subtract the row maximum first.
(The notebook built ``tanh`` and ``softmax`` from raw ``exp``, which overflows to NaN
for inputs beyond about 710 in float64 and 89 in float32.)

``tanh_grad_from_output`` gives the derivative from the activation's *output*,
which is what a backward pass has stored: ``d tanh(a)/da = 1 - tanh(a)**2 = 1 - y**2``.
Applying ``tanh`` to the stored output a second time is the notebook's first bug.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))``, elementwise, any shape, dtype preserved."""
    x = np.asarray(x)
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    if out is None:
        out = np.empty_like(x, dtype=np.result_type(x, np.float32))
    # x >= 0: 1 / (1 + e);  x < 0: e / (1 + e)  (same value, no cancellation)
    np.divide(np.where(x >= 0, 1.0, e), 1.0 + e, out=out)
    return out


def half_tanh_to_sigmoid_(t: np.ndarray) -> np.ndarray:
    """In place, ``t = tanh(a / 2)`` becomes ``sigmoid(a) = 1/2 + tanh(a / 2) / 2``.

    The same function as :func:`sigmoid`, in the form the gated kernels use: they halve their
    sigmoid gates' weight rows (the layer does it, and scales those rows' gradients by 1/2 in
    return), so that one ``tanh`` over a contiguous block serves sigmoid and tanh gates alike;
    this never overflows. In that scaled space the sigmoid's derivative is ``2 s (1 - s)``.
    """
    t *= 0.5
    t += 0.5
    return t


def sigmoid_(a: np.ndarray) -> np.ndarray:
    """In place, ``a`` becomes ``sigmoid(a)``, computed as the kernels do (one ``tanh`` of ``a / 2``,
    :func:`half_tanh_to_sigmoid_`): stable, and cheaper than :func:`sigmoid` for the small blocks
    of a streaming step."""
    a *= 0.5
    np.tanh(a, out=a)
    return half_tanh_to_sigmoid_(a)


def tanh(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Hyperbolic tangent, elementwise (NumPy's ``tanh`` is already stable)."""
    return np.tanh(x, out=out)


def tanh_grad_from_output(y: np.ndarray) -> np.ndarray:
    """Derivative of tanh given its output ``y``: ``1 - y**2`` (one new array, no temporary)."""
    out = np.multiply(y, y)
    return np.subtract(1.0, out, out=out)


def relu(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``max(x, 0)``, elementwise."""
    return np.maximum(x, 0, out=out)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log(softmax(x))`` along ``axis``, computed without overflow or ``log(0)``.

    x: any shape, e.g. scores of shape (N, T, V). Returns the same shape.
    """
    x = np.asarray(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Probabilities ``exp(x) / sum(exp(x))`` along ``axis``, without overflow.

    x: any shape, e.g. scores of shape (N, T, V). Returns the same shape; each slice
    along ``axis`` sums to 1.
    """
    x = np.asarray(x)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e
