"""Layers holding parameters and gradients: :class:`Embedding`, :class:`Linear`, :class:`RNN`."""

from rnnlab.nn import init
from rnnlab.nn.layers import RNN, Embedding, Linear
from rnnlab.nn.module import Module

__all__ = ["RNN", "Embedding", "Linear", "Module", "init"]
