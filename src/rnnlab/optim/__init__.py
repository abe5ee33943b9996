"""Optimizers (SGD with momentum, Adam, AdamW, RMSprop, Adagrad) and gradient clipping (by value, by global norm).

They work on a module's flat parameter and gradient buffers
(:meth:`rnnlab.nn.Module.flat_parameters`), so a step is a handful of whole-buffer
operations whatever the number of parameters. Update rules follow ``torch.optim``
exactly (tests compare them step by step).
"""

from rnnlab.optim.clip import clip_grad_norm_, clip_grad_value_, grad_norm
from rnnlab.optim.optimizers import (
    OPTIMIZERS,
    SGD,
    Adagrad,
    Adam,
    AdamW,
    Optimizer,
    RMSprop,
    check_optimizer_choice,
    make_optimizer,
)

__all__ = ["OPTIMIZERS", "SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "check_optimizer_choice",
           "clip_grad_norm_", "clip_grad_value_", "grad_norm", "make_optimizer"]
