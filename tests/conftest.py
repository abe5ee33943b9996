"""Shared fixtures and helpers: an explicit random generator, the relative error, the recurrent
cells every layer test runs over, each kernel set, and a small trainer."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from rnnlab import NextTokenModel, TrainConfig, Trainer
from rnnlab.data import LETTERS, letter_task
from rnnlab.kernels import active_kernels, use_kernels
from rnnlab.nn import GRU, LSTM, RNN


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A generator seeded from the test's name: every test gets its own reproducible stream."""
    seed = zlib.crc32(request.node.nodeid.encode())
    return np.random.default_rng(seed)


def rel_error(a, b) -> float:
    """|a - b| / (|a| + |b|) with L2 norms over the whole arrays (0 when both are zero)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def projected_lstm(input_size, hidden_size, *args, **kwargs):
    """An LSTM projecting its hidden_size (at least 2) down to hidden_size // 2 (PyTorch's proj_size)."""
    return LSTM(input_size, hidden_size, *args, proj_size=hidden_size // 2, **kwargs)


# the recurrent layers every layer test runs over (the Elman RNN with both activations, the
# LSTM with and without a projection; tests give them a hidden size of at least 2)
CELLS = {
    "rnn-tanh": lambda *a, **k: RNN(*a, nonlinearity="tanh", **k),
    "rnn-relu": lambda *a, **k: RNN(*a, nonlinearity="relu", **k),
    "lstm": LSTM,
    "lstm-proj": projected_lstm,
    "gru": GRU,
}


@pytest.fixture(params=["numpy", "numba"])
def kernel_set(request) -> str:
    """Runs a test once with each kernel set (``pytestmark = pytest.mark.usefixtures("kernel_set")``
    runs a whole module so), then puts back the set that ran before. numba's set is part of
    ``make test`` (the fast extra); a checkout without numba skips it, saying so."""
    if request.param == "numba":
        pytest.importorskip("numba", reason="the fused kernels need numba: pip install 'rnnlab[fast]'")
    before = active_kernels().name
    use_kernels(request.param)
    yield request.param
    use_kernels(before)


def hold_masks(layer, owner=None, method: str = "forward"):
    """Make every call of ``owner.method`` (default: ``layer.forward``) draw the dropout masks ``layer``
    draws now: its generator is rewound before each call, so a gradient check sees one fixed mask."""
    owner = layer if owner is None else owner
    start = layer.rng.bit_generator.state
    original = getattr(owner, method)

    def rewound(*args, **kwargs):
        layer.rng.bit_generator.state = start
        return original(*args, **kwargs)

    setattr(owner, method, rewound)


def as_tuple(state):
    return state if isinstance(state, tuple) else (state,)


def random_state(layer, N, rng):
    parts = tuple(rng.standard_normal(shape) for shape in layer.state_shapes(N))
    return parts if layer.n_states == 2 else parts[0]


def make(seed=0, recurrent_dropout=0.0, **train) -> Trainer:
    """A small Trainer: a 2-layer LSTM with dropout (and recurrent_dropout) on the letter task, 4 epochs,
    fixed seeds."""
    x, y = letter_task(96, rng=1)
    xv, yv = letter_task(32, rng=2)
    model = NextTokenModel(LETTERS, cell="lstm", hidden_size=8, num_layers=2, dropout=0.3,
                           recurrent_dropout=recurrent_dropout, rng=seed)
    cfg = TrainConfig(**{"epochs": 4, "batch_size": 16, "lr": 0.01, "seed": 5, "progress": False, **train})
    return Trainer(model, (x, y), cfg, validation=(xv, yv))


@pytest.fixture(autouse=True, scope="session")
def feature_cache(tmp_path_factory):
    """Every test caches audio features in a folder of the session's own, never in ~/.cache."""
    import os

    before = os.environ.get("RNNLAB_CACHE")
    os.environ["RNNLAB_CACHE"] = str(tmp_path_factory.mktemp("rnnlab-cache"))
    yield
    if before is None:
        os.environ.pop("RNNLAB_CACHE", None)
    else:
        os.environ["RNNLAB_CACHE"] = before
