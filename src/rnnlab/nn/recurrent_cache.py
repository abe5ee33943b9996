"""What a recurrent layer's forward pass keeps for its backward pass, and the dropout masks it draws
(:class:`rnnlab.nn.Recurrent`)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlab.functional.recurrent import Packing
from rnnlab.nn.inputs import SequenceInput, TokenInput
from rnnlab.nn.recurrent_params import KernelWeights


class DirectionCache(NamedTuple):
    """What one layer-direction's backward pass needs from its forward pass."""

    weights: KernelWeights
    source: SequenceInput | TokenInput  # its input, in its own time order
    projection: object  # the source's projection cache
    cell: tuple  # the cell's kernel buffers (see each cell's ``run``)
    mask: np.ndarray | None  # its recurrent dropout mask (N, H or P), sorted order, or None


class ForwardCache(NamedTuple):
    """What :meth:`Recurrent.backward_time_major` needs from the last forward pass."""

    directions: list[DirectionCache]  # layer-major, then direction
    dropout_masks: list[np.ndarray | None]  # one per layer (None: no dropout after it)
    packing: Packing | None
    steps: int
    batch: int


def dropout_mask(rng: np.random.Generator, shape: tuple, p: float, dtype) -> np.ndarray:
    """Inverted dropout: each entry 1 / (1 - p) with probability 1 - p, else 0 (so no rescaling at
    evaluation). Drawn from ``rng``, whose state a checkpoint saves, so a resumed run draws the same."""
    keep = 1.0 - p
    mask = (rng.random(shape) < keep).astype(dtype)
    mask *= 1.0 / keep
    return mask
