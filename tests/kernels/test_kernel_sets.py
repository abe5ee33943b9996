"""The two kernel sets: the same numbers on random shapes and configurations, the fused set running
wherever numba is installed (never a quiet fallback), the NumPy set wherever it is not."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rnnlab import ConfigError, MissingDependency
from rnnlab.kernels import active_kernels, describe, load, use_kernels
from rnnlab.nn import GRU, LSTM, RNN

from conftest import as_tuple, projected_lstm, rel_error

numba_installed = importlib.util.find_spec("numba") is not None
needs_numba = pytest.mark.skipif(not numba_installed, reason="the fused kernels need numba: pip install 'rnnlab[fast]'")
HIDE_NUMBA = "import sys; sys.modules['numba'] = None\n"  # as if numba were not installed

LAYERS = {"rnn-tanh": lambda *a, **k: RNN(*a, nonlinearity="tanh", **k),
          "rnn-relu": lambda *a, **k: RNN(*a, nonlinearity="relu", **k), "lstm": LSTM, "lstm-proj": projected_lstm,
          "gru": GRU}


def run_both(make, x, lengths, dout, dstate):
    """Forward and backward with each kernel set: {set: [out, final state parts..., dx, grads...]}."""
    results = {}
    before = active_kernels().name
    try:
        for name in ("numpy", "numba"):
            use_kernels(name)
            layer = make()
            out, state = layer.forward(x, lengths=lengths)
            dx, dstate0 = layer.backward(dout, dstate(state))
            grads = [layer.grads[k] for k in sorted(layer.grads)]
            results[name] = [out, *as_tuple(state), dx, *as_tuple(dstate0), *grads]
    finally:
        use_kernels(before)
    return results


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell", LAYERS)
@pytest.mark.parametrize("seed", range(5))
def test_the_kernel_sets_agree_on_random_configurations(cell, dtype, seed):
    rng = np.random.default_rng(seed)
    # small random shapes, and once the benchmark's hidden size over 40 steps
    N, T, D, H = (int(v) for v in rng.integers(1, 9, 4)) if seed else (16, 40, 24, 64)
    if cell == "lstm-proj":  # a projection needs a hidden size of at least 2
        H = max(H, 2)
    L, bidirectional, ragged = int(rng.integers(1, 3)), bool(rng.integers(2)), bool(rng.integers(2))
    x = rng.standard_normal((N, T, D))
    lengths = rng.integers(1, T + 1, N) if ragged else None
    width = H // 2 if cell == "lstm-proj" else H
    dout = rng.standard_normal((N, T, (2 if bidirectional else 1) * width))

    def make():
        return LAYERS[cell](D, H, num_layers=L, bidirectional=bidirectional, dtype=dtype, rng=seed)

    def dstate(state):
        return tuple(np.ones_like(s) for s in state) if isinstance(state, tuple) else np.ones_like(state)

    results = run_both(make, x, lengths, dout, dstate)
    limit = 1e-5 if dtype == np.float32 else 1e-12  # float64 runs exact tanh in both sets
    for a, b in zip(results["numpy"], results["numba"], strict=True):
        assert rel_error(a, b) < limit, (cell, N, T, D, H, L, bidirectional, ragged)


@needs_numba
@pytest.mark.parametrize("cell", LAYERS)
@pytest.mark.parametrize("seed", range(3))
def test_the_kernel_sets_agree_on_streaming_steps(cell, seed):
    rng = np.random.default_rng(seed)
    # random small shapes, and once the benchmark's streaming case: batch 1, hidden 64, two layers
    N, D, H, L = (*(int(v) for v in rng.integers(1, 9, 3)), int(rng.integers(1, 3))) if seed else (1, 64, 64, 2)
    H, bias = max(H, 2), seed != 2  # a projection needs a hidden size of at least 2
    xs = rng.standard_normal((6, N, D)).astype(np.float32)
    streamed = {}
    before = active_kernels().name
    try:
        for name in ("numpy", "numba"):
            use_kernels(name)
            layer, state, outs = LAYERS[cell](D, H, num_layers=L, bias=bias, rng=seed), None, []
            for x in xs:
                out, state = layer.step(x, state)
                outs.append(out)
            streamed[name] = [*outs, *as_tuple(state)]
    finally:
        use_kernels(before)
    for a, b in zip(streamed["numpy"], streamed["numba"], strict=True):
        assert rel_error(a, b) < 1e-5, (cell, N, D, H, L, bias)


def run_recurrence(kernels, cell, gates, W, sizes, bias):
    """One recurrence of ``kernels`` from zero states: the gate (or state) buffers it filled."""
    T, N = gates.shape[:2]
    H = W.shape[1]
    hbuf = np.zeros((T + 1, N, H))
    if cell == "rnn":
        hbuf[1:] = gates
        kernels.rnn_recurrence_(hbuf, W, "tanh", sizes, None, bias)
        return [hbuf]
    gates = gates.copy()
    if cell == "lstm":
        cbuf = np.zeros((T + 1, N, H))
        kernels.lstm_recurrence_(gates, hbuf, cbuf, W, sizes, None, None, bias)
        return [gates, hbuf, cbuf]
    rec_n = np.zeros((T, N, H))
    kernels.gru_recurrence_(gates, hbuf, rec_n, W, np.full(H, 0.3), sizes, None, bias)
    return [gates, hbuf, rec_n]


@pytest.mark.parametrize("kernel_set", ["numpy", pytest.param("numba", marks=needs_numba)])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_recurrences_add_the_bias_at_each_running_step_and_never_to_padding(kernel_set, cell, rng):
    T, N, H = 5, 4, 3
    G = {"rnn": 1, "lstm": 4, "gru": 3}[cell] * H
    sizes = [4, 4, 3, 1, 1]  # ragged: padding rows hold zeros and must stay so
    gates = rng.standard_normal((T, N, G))
    for t, n in enumerate(sizes):
        gates[t, n:] = 0.0
    W, bias = rng.standard_normal((G, H)), rng.standard_normal(G)
    with_bias = gates.copy()
    for t, n in enumerate(sizes):
        with_bias[t, :n] += bias
    kernels = load(kernel_set)
    got = run_recurrence(kernels, cell, gates, W, sizes, bias)
    want = run_recurrence(kernels, cell, with_bias, W, sizes, None)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    for t, n in enumerate(sizes):  # every buffer's padding rows untouched by the bias
        assert all(not buf[t + (buf.shape[0] > T), n:].any() for buf in got), (t, n)


@needs_numba
def test_the_fast_tanh_is_close_saturates_and_keeps_nan():
    from rnnlab.kernels.fused import rnn_cell

    def fast_tanh(x):  # the compiled kernels' float32 tanh, reached through the RNN's streaming step
        x = np.asarray(x, np.float32).reshape(1, -1)
        return rnn_cell(x.copy(), np.zeros_like(x), None, None, np.empty_like(x), "tanh")[0]

    x = np.linspace(-20, 20, 400_001, dtype=np.float32)
    assert np.abs(fast_tanh(x) - np.tanh(x.astype(np.float64))).max() < 4e-7
    assert np.abs(fast_tanh([np.inf, -np.inf])).max() <= 1 + 1e-6
    assert np.allclose(fast_tanh([np.inf, -np.inf]), [1, -1], atol=1e-6)
    assert np.isnan(fast_tanh([np.nan])).all()
    x64 = x.astype(np.float64).reshape(1, -1)
    exact = rnn_cell(x64, np.zeros_like(x64), None, None, np.empty_like(x64), "tanh")[0]
    # float64: libm's exact tanh (NumPy's own may differ in the last bit)
    assert np.abs(exact - np.tanh(x.astype(np.float64))).max() < 1e-15


@needs_numba
@pytest.mark.parametrize("cell", ["rnn-tanh", "lstm", "gru"])
def test_a_nan_weight_gives_nan_outputs_in_the_compiled_kernels(cell):
    """Divergence is detected by NaN: a fast tanh that clamped NaN to +-1 would hide it."""
    before = active_kernels().name
    use_kernels("numba")
    try:
        layer = LAYERS[cell](3, 4, rng=0)
        layer.params["weight_hh_l0"][0, 0] = np.nan
        out, _ = layer.forward(np.ones((2, 5, 3), np.float32))
        assert np.isnan(out).any()
    finally:
        use_kernels(before)


def test_where_numba_is_installed_the_fused_kernels_run():
    """No quiet fallback: with numba importable, the default (and only that) is the fused set."""
    code = "from rnnlab.kernels import active_kernels; print(active_kernels().name)"
    env_free = {k: v for k, v in os.environ.items() if k != "RNNLAB_KERNELS"}
    name = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=env_free).stdout.strip()
    assert name == ("numba" if numba_installed else "numpy")
    if numba_installed:
        assert describe().startswith("kernels: ") and load("numba").name == "numba"


def test_the_layer_normalised_recurrences_are_numpy_s_in_both_sets():
    """The documented fallback: the fused set has no layer-norm kernels of its own, so gradient-checking
    them once (tests/nn/test_layer_norm.py) covers both sets; a fused version would need its own checks."""
    pytest.importorskip("numba", reason="the fused kernels need numba: pip install 'rnnlab[fast]'")
    numpy_set, numba_set = load("numpy"), load("numba")
    for name in ("ln_lstm_recurrence_", "ln_lstm_recurrence_backward", "ln_gru_recurrence_",
                 "ln_gru_recurrence_backward"):
        assert getattr(numba_set, name) is getattr(numpy_set, name)
    assert numba_set.lstm_recurrence_ is not numpy_set.lstm_recurrence_


def test_without_numba_the_numpy_kernels_run_and_numba_asked_for_is_a_clear_error(tmp_path):
    code = HIDE_NUMBA + (
        "import json, numpy as np\n"
        "from rnnlab.kernels import active_kernels, describe\nfrom rnnlab.nn import LSTM\n"
        "layer = LSTM(3, 4, rng=0)\nout, _ = layer.forward(np.ones((2, 5, 3), np.float32))\n"
        "layer.backward(np.ones_like(out))\n"
        "print(json.dumps({'name': active_kernels().name, 'describe': describe(), 'sum': float(out.sum())}))\n")
    env = {k: v for k, v in os.environ.items() if k != "RNNLAB_KERNELS"}
    result = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                       env=env).stdout)
    assert result["name"] == "numpy" and "pip install 'rnnlab[fast]'" in result["describe"]
    layer = LSTM(3, 4, rng=0)
    assert result["sum"] == pytest.approx(float(layer.forward(np.ones((2, 5, 3), np.float32))[0].sum()), rel=1e-5)
    cli = HIDE_NUMBA + "from rnnlab.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    proc = subprocess.run([sys.executable, "-c", cli, "train", "letters", "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, env={**env, "RNNLAB_KERNELS": "numba"})
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "the numba kernels need numba" in proc.stderr and "pip install 'rnnlab[fast]'" in proc.stderr
    assert not (tmp_path / "r").exists()


def test_a_kernel_set_is_chosen_by_name_only():
    with pytest.raises(ConfigError, match="kernels should be one of auto, numpy, numba, got 'cuda'"):
        use_kernels("cuda")
    with pytest.raises(ConfigError, match="got 'auto'"):
        load("auto")  # "auto" chooses a set; it is not one
    assert issubclass(MissingDependency, ImportError)
