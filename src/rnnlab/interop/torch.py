"""rnnlab layers to and from ``torch.nn`` modules, weights bit-identical.

torch is imported inside these functions only: rnnlab itself never needs it.

Example::

    from rnnlab.nn import LSTM
    from rnnlab.interop.torch import from_torch, to_torch

    layer = LSTM(8, 16, 2, bidirectional=True, rng=0)
    module = to_torch(layer)     # torch.nn.LSTM(8, 16, 2, batch_first=True, bidirectional=True)
    back = from_torch(module)    # an rnnlab LSTM with the same weights, bit for bit
"""

from __future__ import annotations

import warnings

import numpy as np

from rnnlab.errors import ConfigError
from rnnlab.nn.layers import Embedding, Linear
from rnnlab.nn.recurrent import GRU, LSTM, RNN, Recurrent


def _torch():
    try:
        import torch
    except ImportError:
        raise ConfigError("rnnlab.interop.torch needs PyTorch: pip install torch") from None
    return torch


def to_torch(layer):
    """The ``torch.nn`` module matching an rnnlab layer, with the same weights and mode.

    layer: an rnnlab RNN, LSTM, GRU, Linear or Embedding.
    """
    torch = _torch()
    dtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[layer.dtype]
    if isinstance(layer, Recurrent):
        cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[layer.cell]
        extra = {"nonlinearity": layer.nonlinearity} if layer.cell == "rnn" else {}
        if layer.proj_size:
            extra["proj_size"] = layer.proj_size
        if layer.layer_norm:
            raise ConfigError(f"torch.nn.{cls.__name__} has no layer normalisation: a layer with layer_norm=True "
                              "has no PyTorch module to convert to")
        if layer.recurrent_dropout:
            warnings.warn(f"torch.nn.{cls.__name__} has no recurrent dropout: the module computes what the layer "
                          f"does in evaluation mode, and trains without its recurrent_dropout="
                          f"{layer.recurrent_dropout}", UserWarning, stacklevel=2)
        module = cls(layer.input_size, layer.hidden_size, layer.num_layers, bias=layer.bias,
                     batch_first=layer.batch_first, dropout=layer.dropout, bidirectional=layer.bidirectional,
                     dtype=dtype, **extra)
    elif isinstance(layer, Linear):
        module = torch.nn.Linear(layer.in_features, layer.out_features, bias="bias" in layer.params, dtype=dtype)
    elif isinstance(layer, Embedding):
        module = torch.nn.Embedding(layer.num_embeddings, layer.embedding_dim, dtype=dtype)
    else:
        raise ConfigError(f"to_torch converts RNN, LSTM, GRU, Linear and Embedding layers, not {type(layer).__name__}")
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.from_numpy(np.ascontiguousarray(layer.params[name])))
    module.train(layer.training)
    return module


def from_torch(module, rng=None):
    """The rnnlab layer matching a ``torch.nn`` module, with the same weights and mode.

    module: ``torch.nn.RNN``, ``LSTM`` (with or without ``proj_size``), ``GRU``, ``Linear`` or
    ``Embedding``, with float32 or float64 parameters. rng: the new layer's generator (for
    dropout masks).
    """
    torch = _torch()
    params = {name: p.detach().cpu().numpy() for name, p in module.named_parameters()}
    dtypes = {a.dtype for a in params.values()}
    if len(dtypes) != 1 or dtypes.pop() not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ConfigError("from_torch needs a module whose parameters are all float32 or all float64")
    dtype = next(iter(params.values())).dtype
    if isinstance(module, (torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU)):
        kwargs = dict(bias=module.bias, batch_first=module.batch_first, dropout=module.dropout,
                      bidirectional=module.bidirectional, dtype=dtype, rng=rng)
        if isinstance(module, torch.nn.LSTM):
            layer = LSTM(module.input_size, module.hidden_size, module.num_layers, proj_size=module.proj_size,
                         **kwargs)
        elif isinstance(module, torch.nn.GRU):
            layer = GRU(module.input_size, module.hidden_size, module.num_layers, **kwargs)
        else:
            layer = RNN(module.input_size, module.hidden_size, module.num_layers, nonlinearity=module.nonlinearity,
                        **kwargs)
    elif isinstance(module, torch.nn.Linear):
        layer = Linear(module.in_features, module.out_features, bias=module.bias is not None, dtype=dtype, rng=rng)
    elif isinstance(module, torch.nn.Embedding):
        layer = Embedding(module.num_embeddings, module.embedding_dim, dtype=dtype, rng=rng)
    else:
        kind = type(module).__name__
        raise ConfigError(f"from_torch converts torch.nn RNN, LSTM, GRU, Linear and Embedding, not {kind}")
    layer.load_state_dict(params)
    layer.train(module.training)
    return layer
