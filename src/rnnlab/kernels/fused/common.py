"""What the fused kernels share: the compiled float32 tanh, the scalars and the buffers they take.

In float32, ``tanh`` is a rational approximation (:func:`gate_tanh`; at most 4e-7 from the exact
value), which the compiler vectorizes; libm's ``tanhf`` would not vectorize. float64 keeps the
exact ``math.tanh``: it exists for gradient checks.
"""

from __future__ import annotations

import math

import numpy as np
from numba import types
from numba.extending import overload

from rnnlab.functional.recurrent import step_sizes
from rnnlab.kernels.packed import pack_columns

# Eigen's float32 tanh: a 13/6-degree rational interpolant on [-9, 9] (tanh is +-1 in float32 beyond)
CLAMP = np.float32(9.0)
ALPHA = tuple(np.float32(a) for a in (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05,
                                      5.12229709037114e-08, -8.60467152213735e-11, 2.00018790482477e-13,
                                      -2.76076847742355e-16))
BETA = tuple(np.float32(b) for b in (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04,
                                     1.19825839466702e-06))
A1, A3, A5, A7, A9, A11, A13 = ALPHA
B0, B2, B4, B6 = BETA


def gate_tanh(x):  # pragma: no cover - replaced by the overload below inside compiled code
    """tanh as the compiled kernels compute it: in float32 Eigen's rational approximation, whose
    input is clamped to [-9, 9] (a NaN passes through); exact in float64. Only compiled code calls
    it (tests reach it through :func:`rnnlab.kernels.fused.rnn_cell`)."""
    raise NotImplementedError


@overload(gate_tanh)
def _gate_tanh(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        def approx(x):
            # written so that a NaN fails both comparisons and passes through
            y = CLAMP if x > CLAMP else (-CLAMP if x < -CLAMP else x)
            x2 = y * y
            p = y * (A1 + x2 * (A3 + x2 * (A5 + x2 * (A7 + x2 * (A9 + x2 * (A11 + x2 * A13))))))
            return p / (B0 + x2 * (B2 + x2 * (B4 + x2 * B6)))
        return approx
    return lambda x: math.tanh(x)


# ``one`` and ``half`` come in the arrays' dtype: numba types a Python literal as float64 (or int64),
# which would turn float32 arithmetic into float64 and stop it from vectorizing.
CONSTANTS = {np.dtype(t): (t(1), t(0.5)) for t in (np.float32, np.float64)}


def constants(dtype) -> tuple:
    """``(one, half)`` as scalars of ``dtype``, for the compiled steps (made once: a streaming step
    is short enough for making them to show)."""
    return CONSTANTS.get(dtype) or (dtype.type(1), dtype.type(0.5))


def step_bias(bias, size: int, dtype) -> np.ndarray:
    """A bias as the compiled steps read it: contiguous, of ``dtype``; zeros for None (no bias),
    so that each step kernel has one compiled form."""
    return np.zeros(size, dtype) if bias is None else np.ascontiguousarray(bias, dtype)


def optional(a, ndim: int, dtype) -> np.ndarray:
    """An optional array as the compiled loops read it: contiguous, of ``dtype``, or an empty one
    for None (one compiled form per loop, instead of one for each combination of Nones; the
    loops test ``a.shape[0] > 0``)."""
    return np.empty((0,) * ndim, dtype) if a is None else np.ascontiguousarray(a, dtype)


def sizes_array(batch_sizes, T: int, N: int) -> np.ndarray:
    """The sequences running at each step as the loops read them: (T,) int64."""
    return np.asarray(step_sizes(batch_sizes, T, N), np.int64)


def forward_panels(weight_hh, dtype) -> np.ndarray:
    """``W^T`` packed for the per-step product ``h W^T`` (weight (M, K): K the input's width)."""
    return pack_columns(np.ascontiguousarray(np.asarray(weight_hh, dtype).T))


def backward_panels(weight_hh, dtype) -> np.ndarray:
    """``W`` packed for the backward product ``dA W`` (weight (M, K): the gradient reaching the input)."""
    return pack_columns(np.ascontiguousarray(weight_hh, dtype))


def final_gradient(dstate, shape: tuple, dtype) -> np.ndarray:
    """A backward loop's running gradient of a state, (N, width), starting as the final state's
    gradient (zeros for None): rows that end at step t still hold it when the loop reaches t."""
    return np.zeros(shape, dtype) if dstate is None else np.array(dstate, dtype)
