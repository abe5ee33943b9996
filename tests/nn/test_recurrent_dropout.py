"""Recurrent dropout (``recurrent_dropout=p``): one mask per sequence, layer and direction for all
steps, on the input of the recurrent product only; gradient-checked with the mask held fixed and
compared with a PyTorch loop that applies the same masks."""

import numpy as np
import pytest

from rnnlab.errors import ConfigError
from rnnlab.gradcheck import check_layer

from conftest import CELLS, random_state, rel_error
from torch_utils import TOL, tensor, torch

# every test here runs with each kernel set (conftest.kernel_set)
pytestmark = pytest.mark.usefixtures("kernel_set")

F64 = np.float64


def hold_masks(layer):
    """Make every forward pass of ``layer`` draw the masks it draws now (its generator rewound each time)."""
    start = layer.rng.bit_generator.state
    forward = layer.forward

    def rewound(*args, **kwargs):
        layer.rng.bit_generator.state = start
        return forward(*args, **kwargs)

    layer.forward = rewound


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("ragged", [False, True])
def test_gradients_with_a_fixed_mask(rng, cell, num_layers, bidirectional, ragged):
    N, T, D, H = 3, 5, 2, 4
    layer = CELLS[cell](D, H, num_layers, bidirectional=bidirectional, recurrent_dropout=0.4,
                        dropout=0.3 if num_layers > 1 else 0.0, dtype=F64, rng=rng)
    hold_masks(layer)
    x = rng.standard_normal((N, T, D))
    lengths = np.array([5, 2, 4]) if ragged else None
    report = check_layer(layer, x, random_state(layer, N, rng), lengths=lengths, rng=rng)
    masks = layer.recurrent_masks
    assert len(masks) == num_layers * layer.num_directions and masks[0].shape == (N, layer.output_size)
    assert any((m == 0).any() for m in masks), "the test should drop some units"
    assert report.max_error < 1e-6, str(report)


def torch_direction(cell, params, sfx, x, h, c, mask, proj):
    """One layer-direction of one sequence, written out in PyTorch: x (T, D), h/c (1, P)/(1, H),
    mask (1, P) on h_{t-1} inside the recurrent product. Returns (outputs (T, P), h, c)."""
    w_ih, w_hh = params[f"weight_ih{sfx}"], params[f"weight_hh{sfx}"]
    b_ih, b_hh = params[f"bias_ih{sfx}"], params[f"bias_hh{sfx}"]
    outs = []
    for t in range(x.shape[0]):
        gi = x[t : t + 1] @ w_ih.T + b_ih
        gh = (h * mask) @ w_hh.T + b_hh
        if cell.startswith("rnn"):
            h = torch.tanh(gi + gh) if cell == "rnn-tanh" else torch.relu(gi + gh)
        elif cell.startswith("lstm"):
            i, f, g, o = (gi + gh).chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            if proj:
                h = h @ params[f"weight_hr{sfx}"].T
        else:
            (ir, iz, i_n), (hr, hz, hn) = gi.chunk(3, dim=1), gh.chunk(3, dim=1)
            r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
            n = torch.tanh(i_n + r * hn)
            h = (1 - z) * n + z * h  # the direct path reads h_{t-1} unmasked
        outs.append(h)
    return torch.cat(outs), h, c


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", CELLS)
def test_matches_a_pytorch_loop_with_the_same_masks(rng, cell, bidirectional, dtype):
    N, T, D, H, L = 4, 6, 3, 4, 2
    layer = CELLS[cell](D, H, L, bidirectional=bidirectional, recurrent_dropout=0.5, dtype=dtype, rng=rng)
    x = rng.standard_normal((N, T, D)).astype(dtype)
    lengths = np.array([6, 3, 1, 5])
    out, _ = layer.forward(x, lengths=lengths)
    g_out = rng.standard_normal(out.shape).astype(dtype)
    layer.backward(g_out)
    masks = layer.recurrent_masks
    params = {k: tensor(v, dtype, grad=True) for k, v in layer.params.items()}
    Dn, P, proj = layer.num_directions, layer.output_size, bool(layer.proj_size)
    loss = 0
    for s in range(N):  # one sequence at a time, over its own length: no padding to model
        inp = tensor(x[s, : lengths[s]], dtype)
        for k in range(L):
            outs = []
            for d in range(Dn):
                sfx = f"_l{k}" + ("_reverse" if d else "")
                seq = inp if d == 0 else inp.flip(0)
                h0, c0 = torch.zeros(1, P, dtype=seq.dtype), torch.zeros(1, H, dtype=seq.dtype)
                o, _, _ = torch_direction(cell, params, sfx, seq, h0, c0, tensor(masks[k * Dn + d][s : s + 1], dtype),
                                          proj)
                outs.append(o if d == 0 else o.flip(0))
            inp = torch.cat(outs, dim=1)
        np.testing.assert_allclose(inp.detach().numpy(), out[s, : lengths[s]], rtol=0, atol=TOL[dtype] * 10)
        loss = loss + (inp * tensor(g_out[s, : lengths[s]], dtype)).sum()
    loss.backward()
    for name, p in params.items():
        assert rel_error(layer.grads[name], p.grad.numpy()) < TOL[dtype], name


@pytest.mark.parametrize("cell", CELLS)
def test_masks_only_in_training_and_drawn_per_sequence(rng, cell):
    plain = CELLS[cell](3, 6, 2, rng=0)
    layer = CELLS[cell](3, 6, 2, recurrent_dropout=0.25, rng=0)
    x = rng.standard_normal((200, 4, 3)).astype(np.float32)
    layer.eval()
    np.testing.assert_array_equal(layer.forward(x)[0], plain.forward(x)[0])  # evaluation: no mask, no scaling
    assert layer.recurrent_masks == ()
    layer.train()
    dropped, _ = layer.forward(x)
    masks = layer.recurrent_masks
    assert len(masks) == 2 and all(m.shape == (200, plain.output_size) for m in masks)
    assert set(np.unique(np.concatenate(masks))) == {0.0, np.float32(1 / 0.75)}
    assert abs(float(np.mean(np.concatenate(masks) == 0)) - 0.25) < 0.05
    assert not np.allclose(dropped, plain.forward(x)[0])
    assert "recurrent_dropout=0.25" in repr(layer) and "recurrent dropout 0.25" in layer.summary()


def test_the_option_is_checked():
    with pytest.raises(ConfigError, match="recurrent_dropout"):
        CELLS["gru"](2, 3, recurrent_dropout=1.0)
    with pytest.raises(ConfigError, match="recurrent_dropout"):
        CELLS["lstm"](2, 3, recurrent_dropout=-0.1)
