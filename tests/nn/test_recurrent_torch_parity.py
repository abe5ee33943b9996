"""Every recurrent layer configuration against PyTorch: outputs, states and every gradient."""

import numpy as np
import pytest

from rnnlab.nn import GRU, LSTM, RNN

from conftest import rel_error
from torch_utils import TOL, copy_params, tensor, torch

# every test here runs with each kernel set (conftest.kernel_set)
pytestmark = pytest.mark.usefixtures("kernel_set")

OURS = {"rnn-tanh": (RNN, {"nonlinearity": "tanh"}), "rnn-relu": (RNN, {"nonlinearity": "relu"}),
        "lstm": (LSTM, {}), "lstm-proj": (LSTM, {}), "gru": (GRU, {})}


THEIRS = {"rnn-tanh": (torch.nn.RNN, {"nonlinearity": "tanh"}), "rnn-relu": (torch.nn.RNN, {"nonlinearity": "relu"}),
          "lstm": (torch.nn.LSTM, {}), "lstm-proj": (torch.nn.LSTM, {}), "gru": (torch.nn.GRU, {})}


def run_torch(module, x, states, lengths, g_out, g_states, dtype):
    tx = tensor(x, dtype, grad=True)
    tstates = [tensor(s, dtype, grad=True) for s in states]
    inp = tx
    if lengths is not None:
        inp = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(lengths), batch_first=True,
                                                      enforce_sorted=False)
    hx = None if not tstates else (tuple(tstates) if len(tstates) == 2 else tstates[0])
    out, fin = module(inp, hx)
    if lengths is not None:
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    fins = list(fin) if isinstance(fin, tuple) else [fin]
    loss = (out * tensor(g_out, dtype)).sum()
    loss = loss + sum((f * tensor(g, dtype)).sum() for f, g in zip(fins, g_states, strict=True))
    loss.backward()
    return out.detach().numpy(), [f.detach().numpy() for f in fins], tx.grad.numpy(), [s.grad.numpy() for s in tstates]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("ragged", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("cell", list(OURS))
def test_matches_torch(rng, cell, num_layers, bidirectional, ragged, with_state, dtype):
    N, T, D, H = (int(v) for v in (rng.integers(1, 6), rng.integers(1, 8), rng.integers(1, 6), rng.integers(1, 7)))
    cls, extra = OURS[cell]
    tcls, textra = THEIRS[cell]
    if cell == "lstm-proj":  # any projection size below the hidden size
        H = max(H, 2)
        extra = textra = {"proj_size": int(rng.integers(1, H))}
    ours = cls(D, H, num_layers, bidirectional=bidirectional, dtype=dtype, rng=rng, **extra)
    theirs = tcls(D, H, num_layers, bidirectional=bidirectional, batch_first=True,
                  dtype=torch.float64 if dtype == np.float64 else torch.float32, **textra)
    for p in ours.params.values():  # wider than the default init: saturation and dead relu units occur
        p[...] = rng.uniform(-0.9, 0.9, p.shape)
    copy_params(theirs, ours.params, dtype)
    x = rng.standard_normal((N, T, D)).astype(dtype)
    lengths = rng.integers(1, T + 1, N) if ragged else None
    if ragged:
        lengths[rng.integers(N)] = T  # torch's total_length: one sequence fills the padding
    shapes = ours.state_shapes(N)
    states = [rng.standard_normal(shape).astype(dtype) for shape in shapes] if with_state else []
    g_out = rng.standard_normal((N, T, ours.num_directions * ours.output_size)).astype(dtype)
    if ragged:  # padding outputs are zero and not part of the loss on either side
        g_out[np.arange(T)[None, :] >= lengths[:, None]] = 0
    g_states = [rng.standard_normal(shape).astype(dtype) for shape in shapes]

    state_arg = None if not states else (tuple(states) if len(states) == 2 else states[0])
    out, fin = ours.forward(x, state_arg, lengths=lengths)
    dx, dstate = ours.backward(g_out, tuple(g_states) if len(g_states) == 2 else g_states[0])
    fins = list(fin) if isinstance(fin, tuple) else [fin]
    dstates = list(dstate) if isinstance(dstate, tuple) else [dstate]

    t_states = states if with_state else [np.zeros(shape, dtype) for shape in shapes]
    t_out, t_fins, t_dx, t_dstates = run_torch(theirs, x, t_states, lengths, g_out, g_states, dtype)

    tol = TOL[dtype]
    assert rel_error(out, t_out) < tol
    for a, b in zip(fins, t_fins, strict=True):
        assert rel_error(a, b) < tol
    assert rel_error(dx, t_dx) < tol
    for a, b in zip(dstates, t_dstates, strict=True):
        assert rel_error(a, b) < tol
    for name, p in theirs.named_parameters():
        assert rel_error(ours.grads[name], p.grad.numpy()) < tol, name
