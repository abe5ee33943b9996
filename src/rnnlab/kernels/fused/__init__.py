"""The fused kernel set: each recurrence and its backward pass one compiled call, the streaming steps
one compiled call per layer.

The same functions, signatures and buffers as the NumPy reference kernels
(:mod:`rnnlab.functional.recurrent`, ``.lstm``, ``.gru``; read those first: the layout, the
internal gate order and the halved sigmoid rows are theirs). What changes: the whole time loop
runs compiled (no Python between steps), each step's recurrent product runs on weights packed
once per call (:mod:`rnnlab.kernels.packed`), everything after it is one loop that reads and
writes each element once, and the batch's rows can run on several threads
(:mod:`rnnlab.kernels.team`). The big products of a layer (its input projection, its weight
gradients) stay single BLAS calls. Everything compiles once, into numba's on-disk cache.

The layer-normalised recurrences are NumPy's (:mod:`rnnlab.functional.layer_norm`), imported here
as this set's: the documented fallback.
"""

from rnnlab.functional.layer_norm import (
    ln_gru_recurrence_,
    ln_gru_recurrence_backward,
    ln_lstm_recurrence_,
    ln_lstm_recurrence_backward,
)
from rnnlab.kernels.fused.cells import gru_cell, lstm_cell, rnn_cell
from rnnlab.kernels.fused.common import gate_tanh
from rnnlab.kernels.fused.gru import gru_recurrence_, gru_recurrence_backward
from rnnlab.kernels.fused.lstm import lstm_recurrence_, lstm_recurrence_backward
from rnnlab.kernels.fused.rnn import rnn_recurrence_, rnn_recurrence_backward
from rnnlab.kernels.team import matmul

__all__ = ["gate_tanh", "gru_cell", "gru_recurrence_", "gru_recurrence_backward", "ln_gru_recurrence_",
           "ln_gru_recurrence_backward", "ln_lstm_recurrence_", "ln_lstm_recurrence_backward", "lstm_cell",
           "lstm_recurrence_", "lstm_recurrence_backward", "matmul", "rnn_cell", "rnn_recurrence_",
           "rnn_recurrence_backward"]
