"""Pure NumPy operations with no state; the layers in :mod:`rnnlab.nn` hold parameters and call these.

Losses return ``(loss, dscores)``. The recurrent kernels (``*_recurrence_`` and their
backward) run one layer and one direction over a whole sequence, in place on buffers the
layer allocates; see :mod:`rnnlab.functional.recurrent` for the layout.
"""

import numpy as np

from rnnlab.functional.activations import (
    log_softmax,
    relu,
    sigmoid,
    softmax,
    tanh,
    tanh_grad_from_output,
)
from rnnlab.functional.embedding import scatter_add_rows
from rnnlab.functional.gru import gru_cell, gru_recurrence_, gru_recurrence_backward
from rnnlab.functional.layer_norm import (
    ln_gru_recurrence_,
    ln_gru_recurrence_backward,
    ln_lstm_recurrence_,
    ln_lstm_recurrence_backward,
)
from rnnlab.functional.losses import cross_entropy_per_step, softmax_cross_entropy, softmax_cross_entropy_cm
from rnnlab.functional.lstm import lstm_cell, lstm_recurrence_, lstm_recurrence_backward
from rnnlab.functional.recurrent import Packing, rnn_cell, rnn_recurrence_, rnn_recurrence_backward

matmul = np.matmul  # the NumPy set's big products (the fused set splits them across its threads)

__all__ = [
    "Packing",
    "cross_entropy_per_step",
    "gru_cell",
    "gru_recurrence_",
    "gru_recurrence_backward",
    "ln_gru_recurrence_",
    "ln_gru_recurrence_backward",
    "ln_lstm_recurrence_",
    "ln_lstm_recurrence_backward",
    "log_softmax",
    "lstm_cell",
    "lstm_recurrence_",
    "lstm_recurrence_backward",
    "matmul",
    "relu",
    "rnn_cell",
    "rnn_recurrence_",
    "rnn_recurrence_backward",
    "scatter_add_rows",
    "sigmoid",
    "softmax",
    "softmax_cross_entropy",
    "softmax_cross_entropy_cm",
    "tanh",
    "tanh_grad_from_output",
]
