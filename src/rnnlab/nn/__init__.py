"""Layers holding parameters and gradients.

:class:`Embedding`, :class:`Linear`, and the recurrent :class:`RNN`, :class:`LSTM`,
:class:`GRU` (stacked, bidirectional, variable lengths), with PyTorch's names and shapes;
:class:`SequenceInput` and :class:`TokenInput`, the two kinds of input a recurrent layer's
time-major interface reads.
"""

from rnnlab.nn import init
from rnnlab.nn.inputs import SequenceInput, TokenInput
from rnnlab.nn.layers import Embedding, Linear
from rnnlab.nn.module import Module
from rnnlab.nn.recurrent import CELL_TYPES, GRU, LSTM, RNN, Recurrent

__all__ = ["CELL_TYPES", "GRU", "LSTM", "RNN", "Embedding", "Linear", "Module", "Recurrent", "SequenceInput",
           "TokenInput", "init"]
