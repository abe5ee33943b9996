"""NextTokenModel against the same model in PyTorch."""

import numpy as np
import pytest

from rnnlab import NextTokenModel

from conftest import rel_error
from torch_utils import TOL, copy_params, torch

# every test here runs with each kernel set (conftest.kernel_set)
pytestmark = pytest.mark.usefixtures("kernel_set")


def TORCH_DTYPE(dtype):
    return torch.float64 if dtype == np.float64 else torch.float32


class TorchNextToken(torch.nn.Module):
    def __init__(self, V, E, H, cell, num_layers, dtype, proj_size=0):
        super().__init__()
        self.embedding = torch.nn.Embedding(V, E, dtype=dtype)
        cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
        extra = {"proj_size": proj_size} if proj_size else {}
        self.rnn = cls(E, H, num_layers, batch_first=True, dtype=dtype, **extra)
        self.fc = torch.nn.Linear(proj_size or H, V, dtype=dtype)

    def forward(self, ids):
        return self.fc(self.rnn(self.embedding(ids))[0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("V", [6, 150])  # the fused-table path (V <= N*T) and the gather path
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize(("cell", "num_layers", "proj_size"), [("rnn", 1, 0), ("lstm", 1, 0), ("gru", 1, 0),
                                                               ("lstm", 2, 0), ("gru", 3, 0), ("lstm", 2, 4)])
def test_next_token_model_matches_torch(rng, dtype, V, masked, cell, num_layers, proj_size):
    N, T, E, H = 4, 5, 3, 6
    tokens = [f"t{i}" for i in range(V)]
    model = NextTokenModel(tokens, cell=cell, num_layers=num_layers, embedding_dim=E, hidden_size=H,
                           proj_size=proj_size, dtype=dtype, rng=rng)
    ref = TorchNextToken(V, E, H, cell, num_layers, TORCH_DTYPE(dtype), proj_size)
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
