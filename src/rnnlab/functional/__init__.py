"""Pure NumPy operations with no state; the layers in :mod:`rnnlab.nn` hold parameters and call these.

Forward/backward pairs follow cs231n's shape: ``rnn_forward`` returns ``(out, cache)`` and
``rnn_backward`` takes ``(dout, cache)``. The lower-level recurrence kernels
(``rnn_recurrence_`` and its backward) work in place on a state buffer, for the layers' fast
paths. Losses return ``(loss, dscores)``.
"""

from rnnlab.functional.activations import (
    log_softmax,
    relu,
    sigmoid,
    sigmoid_grad_from_output,
    softmax,
    tanh,
    tanh_grad_from_output,
)
from rnnlab.functional.embedding import scatter_add_rows
from rnnlab.functional.losses import cross_entropy_per_step, softmax_cross_entropy, softmax_cross_entropy_cm
from rnnlab.functional.recurrent import rnn_backward, rnn_forward, rnn_recurrence_, rnn_recurrence_backward

__all__ = [
    "cross_entropy_per_step",
    "log_softmax",
    "relu",
    "rnn_backward",
    "rnn_forward",
    "rnn_recurrence_",
    "rnn_recurrence_backward",
    "scatter_add_rows",
    "sigmoid",
    "sigmoid_grad_from_output",
    "softmax",
    "softmax_cross_entropy",
    "softmax_cross_entropy_cm",
    "tanh",
    "tanh_grad_from_output",
]
