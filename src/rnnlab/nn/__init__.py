"""Layers holding parameters and gradients.

:class:`Embedding`, :class:`Linear`, and the recurrent :class:`RNN`, :class:`LSTM`,
:class:`GRU` (stacked, bidirectional, variable lengths), with PyTorch's names and shapes.
"""

from rnnlab.nn import init
from rnnlab.nn.layers import Embedding, Linear
from rnnlab.nn.module import Module
from rnnlab.nn.recurrent import CELL_TYPES, GRU, LSTM, RNN

__all__ = ["CELL_TYPES", "GRU", "LSTM", "RNN", "Embedding", "Linear", "Module", "init"]
