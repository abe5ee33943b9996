"""rnnlab against PyTorch on random shapes, weights, inputs and states: outputs and every gradient."""

import numpy as np
import pytest

from rnnlab import NextTokenModel
from rnnlab.nn import RNN, Embedding, Linear
from rnnlab.optim import SGD, Adam, clip_grad_norm_

from conftest import rel_error
from torch_utils import TOL, copy_params, tensor, torch

pytestmark = pytest.mark.torch


def random_case(rng):
    return dict(N=int(rng.integers(1, 6)), T=int(rng.integers(1, 9)), D=int(rng.integers(1, 7)),
                H=int(rng.integers(1, 9)))


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


def TORCH_DTYPE(dtype):
    return torch.float64 if dtype == np.float64 else torch.float32


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


class TorchNextToken(torch.nn.Module):
    def __init__(self, V, E, H, cell, num_layers, dtype):
        super().__init__()
        self.embedding = torch.nn.Embedding(V, E, dtype=dtype)
        cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
        self.rnn = cls(E, H, num_layers, batch_first=True, dtype=dtype)
        self.fc = torch.nn.Linear(H, V, dtype=dtype)

    def forward(self, ids):
        return self.fc(self.rnn(self.embedding(ids))[0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("V", [6, 150])  # the fused-table path (V <= N*T) and the gather path
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize(("cell", "num_layers"), [("rnn", 1), ("lstm", 1), ("gru", 1), ("lstm", 2), ("gru", 3)])
def test_next_token_model_matches_torch(rng, dtype, V, masked, cell, num_layers):
    N, T, E, H = 4, 5, 3, 6
    tokens = [f"t{i}" for i in range(V)]
    model = NextTokenModel(tokens, cell=cell, num_layers=num_layers, embedding_dim=E, hidden_size=H, dtype=dtype,
                           rng=rng)
    ref = TorchNextToken(V, E, H, cell, num_layers, TORCH_DTYPE(dtype))
    copy_params(ref, model.state_dict(), dtype)
    ids = rng.integers(0, V, (N, T))
    targets = rng.integers(0, V, (N, T))
    mask = rng.random((N, T)) > 0.3 if masked else np.ones((N, T), bool)
    mask[0, 0] = True

    model.zero_grad()
    loss = model.loss(ids, targets, mask if masked else None)
    model.backward()
    scores, _ = model.forward(ids)

    tscores = ref(torch.from_numpy(ids))
    per = torch.nn.functional.cross_entropy(tscores.reshape(-1, V), torch.from_numpy(targets).reshape(-1),
                                            reduction="none")
    tmask = torch.from_numpy(mask.reshape(-1)).to(per.dtype)
    tloss = (per * tmask).sum() / tmask.sum()
    tloss.backward()

    tol = TOL[dtype]
    assert rel_error(scores, tscores.detach().numpy()) < tol
    assert loss == pytest.approx(tloss.item(), rel=tol)
    grads = {name: g for name, _, g in model.named_parameters()}
    for name, p in ref.named_parameters():
        assert rel_error(grads[name], p.grad.numpy()) < tol, name


def _torch_and_ours(rng, dtype=np.float64):
    ours = Linear(6, 4, dtype=dtype, rng=rng)
    ref = torch.nn.Linear(6, 4, dtype=TORCH_DTYPE(dtype))
    copy_params(ref, ours.params, dtype)
    return ours, ref


def _set_grads(ours, ref, grads):
    for name, p in ref.named_parameters():
        ours.grads[name][...] = grads[name]
        p.grad = torch.from_numpy(grads[name].copy())


@pytest.mark.parametrize("kind", ["sgd", "sgd-momentum", "adam", "adam-wd", "sgd-wd"])
def test_optimizers_match_torch_step_by_step(rng, kind):
    ours, ref = _torch_and_ours(rng)
    if kind.startswith("sgd"):
        mom = 0.9 if kind == "sgd-momentum" else 0.0
        wd = 0.01 if kind.endswith("wd") else 0.0
        opt = SGD(ours, lr=0.1, momentum=mom, weight_decay=wd)
        topt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=mom, weight_decay=wd)
    else:
        wd = 0.01 if kind.endswith("wd") else 0.0
        opt = Adam(ours, lr=0.01, weight_decay=wd)
        topt = torch.optim.Adam(ref.parameters(), lr=0.01, weight_decay=wd)
    for _ in range(5):
        grads = {name: rng.standard_normal(p.shape) for name, p in ours.params.items()}
        _set_grads(ours, ref, grads)
        opt.step()
        topt.step()
    for name, p in ref.named_parameters():
        assert rel_error(ours.params[name], p.detach().numpy()) < 1e-12, name


def test_clip_grad_norm_matches_torch(rng):
    ours, ref = _torch_and_ours(rng)
    grads = {name: rng.standard_normal(p.shape) * 3 for name, p in ours.params.items()}
    _set_grads(ours, ref, grads)
    norm = clip_grad_norm_(ours, 1.5)
    tnorm = torch.nn.utils.clip_grad_norm_(ref.parameters(), 1.5)
    assert norm == pytest.approx(tnorm.item(), rel=1e-12)
    for name, p in ref.named_parameters():
        assert rel_error(ours.grads[name], p.grad.numpy()) < 1e-12
