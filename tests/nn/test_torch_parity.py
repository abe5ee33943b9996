"""Embedding, Linear and the Elman RNN against PyTorch."""

import numpy as np
import pytest

from rnnlab.nn import RNN, Embedding, Linear

from conftest import rel_error
from torch_utils import TOL, copy_params, tensor, torch


def random_case(rng):
    return dict(N=int(rng.integers(1, 6)), T=int(rng.integers(1, 9)), D=int(rng.integers(1, 7)),
                H=int(rng.integers(1, 9)))


def TORCH_DTYPE(dtype):
    return torch.float64 if dtype == np.float64 else torch.float32


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("with_h0", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", range(3))
def test_rnn_matches_torch(rng, dtype, nonlinearity, with_h0, bias, case):
    c = random_case(rng)
    N, T, D, H = c["N"], c["T"], c["D"], c["H"]
    ours = RNN(D, H, nonlinearity=nonlinearity, bias=bias, dtype=dtype, rng=rng)
    ref = torch.nn.RNN(D, H, nonlinearity=nonlinearity, bias=bias, batch_first=True, dtype=TORCH_DTYPE(dtype))
    # random weights with a spread larger than the default init, so relu units and tanh saturation both occur
    for p in ours.params.values():
        p[...] = rng.uniform(-1, 1, p.shape)
    copy_params(ref, ours.params, dtype)
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((1, N, H)).astype(dtype) if with_h0 else None
    g_out = rng.standard_normal((N, T, H)).astype(dtype)
    g_h = rng.standard_normal((1, N, H)).astype(dtype)

    out, h_n = ours.forward(x, h0)
    dx, dh0 = ours.backward(g_out, g_h)

    tx = tensor(x, dtype, grad=True)
    th0 = tensor(h0 if with_h0 else np.zeros((1, N, H)), dtype, grad=True)
    tout, th_n = ref(tx, th0)
    ((tout * tensor(g_out, dtype)).sum() + (th_n * tensor(g_h, dtype)).sum()).backward()

    tol = TOL[dtype]
    assert rel_error(out, tout.detach().numpy()) < tol
    assert rel_error(h_n, th_n.detach().numpy()) < tol
    assert rel_error(dx, tx.grad.numpy()) < tol
    assert rel_error(dh0, th0.grad.numpy()) < tol
    for name, p in ref.named_parameters():
        assert rel_error(ours.grads[name], p.grad.numpy()) < tol, name


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rnn_time_major_matches_torch(rng, dtype):
    ours = RNN(3, 4, batch_first=False, dtype=dtype, rng=rng)
    ref = torch.nn.RNN(3, 4, dtype=TORCH_DTYPE(dtype))  # PyTorch's default layout is time-major
    copy_params(ref, ours.params, dtype)
    x = rng.standard_normal((6, 2, 3)).astype(dtype)
    out, h_n = ours.forward(x)
    tout, th_n = ref(tensor(x, dtype))
    assert rel_error(out, tout.detach().numpy()) < TOL[dtype]
    assert rel_error(h_n, th_n.detach().numpy()) < TOL[dtype]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_linear_and_embedding_match_torch(rng, dtype):
    lin = Linear(5, 3, dtype=dtype, rng=rng)
    tlin = torch.nn.Linear(5, 3, dtype=TORCH_DTYPE(dtype))
    copy_params(tlin, lin.params, dtype)
    x = rng.standard_normal((2, 4, 5)).astype(dtype)
    g = rng.standard_normal((2, 4, 3)).astype(dtype)
    y = lin.forward(x)
    dx = lin.backward(g)
    tx = tensor(x, dtype, grad=True)
    ty = tlin(tx)
    (ty * tensor(g, dtype)).sum().backward()
    assert rel_error(y, ty.detach().numpy()) < TOL[dtype]
    assert rel_error(dx, tx.grad.numpy()) < TOL[dtype]
    assert rel_error(lin.grads["weight"], tlin.weight.grad.numpy()) < TOL[dtype]
    assert rel_error(lin.grads["bias"], tlin.bias.grad.numpy()) < TOL[dtype]

    emb = Embedding(9, 4, dtype=dtype, rng=rng)
    temb = torch.nn.Embedding(9, 4, dtype=TORCH_DTYPE(dtype))
    copy_params(temb, emb.params, dtype)
    ids = rng.integers(0, 9, (3, 7))
    g = rng.standard_normal((3, 7, 4)).astype(dtype)
    out = emb.forward(ids)
    emb.backward(g)
    tout = temb(torch.from_numpy(ids))
    (tout * tensor(g, dtype)).sum().backward()
    np.testing.assert_array_equal(out, tout.detach().numpy())
    assert rel_error(emb.grads["weight"], temb.weight.grad.numpy()) < TOL[dtype]
