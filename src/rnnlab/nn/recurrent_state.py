"""The recurrent layers' states as users pass them: one array for RNN and GRU, the pair (h, c) for
an LSTM, each (L*Dn, N, H) (see :meth:`rnnlab.nn.Recurrent.state_shapes`)."""

from __future__ import annotations

import numpy as np

from rnnlab.errors import ShapeError


def check_state(layer: str, state, shapes: tuple, dtype) -> tuple[np.ndarray, ...]:
    """A user's state (or state gradient) -> a tuple of contiguous arrays of ``shapes`` in ``dtype``.

    layer: the layer's name, for the messages; shapes: one shape (RNN, GRU) or two (LSTM: h, c).
    A ShapeError says what the state should be.
    """
    if len(shapes) == 2:
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise ShapeError(f"{layer} state should be a pair (h0, c0) of arrays of shapes {shapes[0]} and "
                             f"{shapes[1]}")
        parts = tuple(state)
    else:
        if isinstance(state, (tuple, list)):
            raise ShapeError(f"{layer} state should be one array of shape {shapes[0]}, not a tuple")
        parts = (state,)
    out = []
    for part, s, shape in zip(("h0", "c0"), parts, shapes, strict=False):
        s = np.asarray(s)
        if s.shape != shape:
            raise ShapeError(f"{layer} initial state {part} should have shape {shape}, got {s.shape}")
        out.append(np.ascontiguousarray(s, dtype=dtype))
    return tuple(out)
