"""The fused kernels' threads: the same numbers bit for bit on any number of threads, the team's big
products equal NumPy's, errors reach the caller, and set_num_threads gives BLAS and the team their share."""

import multiprocessing
import os

import numpy as np
import pytest

pytest.importorskip("numba", reason="the fused kernels need numba: pip install 'rnnlab[fast]'")
pytest.importorskip("threadpoolctl", reason="choosing the thread count needs threadpoolctl: pip install 'rnnlab[fast]'")

import rnnlab  # after the skips
from rnnlab.kernels import active_kernels, team, use_kernels

from conftest import CELLS, as_tuple, rel_error


@pytest.fixture
def kept():
    """Puts back the kernel set, the thread count and the team's threshold a test changes."""
    kernels, threads, work = active_kernels().name, rnnlab.get_num_threads(), team.MIN_WORK
    yield
    team.MIN_WORK = work
    use_kernels(kernels)
    rnnlab.set_num_threads(threads)


def blas_threads() -> int:
    from threadpoolctl import threadpool_info

    return max(lib["num_threads"] for lib in threadpool_info() if lib.get("user_api") == "blas")


@pytest.mark.parametrize("cell", CELLS)
def test_any_number_of_threads_gives_the_same_numbers(cell, kept, rng):
    """Bit for bit where the team splits rows of its own loops and products (outputs, states, input
    and state gradients); the weight gradients come from BLAS, whose sums over many rows may round
    differently when split (as BLAS's and PyTorch's own do between thread counts)."""
    use_kernels("numba")
    team.MIN_WORK = 1  # split even these small batches
    N, T, D, H = 7, 10, 5, 6  # T * N = 70 rows: the input projections run on the packed tiles
    x = rng.standard_normal((N, T, D)).astype(np.float32)
    lengths = rng.integers(1, T + 1, N)
    results = {}
    for threads in (1, 2, 3):
        team.set_team_size(threads)
        layer = CELLS[cell](D, H, num_layers=2, bidirectional=True, recurrent_dropout=0.3, rng=0)
        out, state = layer.forward(x, lengths=lengths)
        ones = tuple(np.ones_like(s) for s in state) if isinstance(state, tuple) else np.ones_like(state)
        dx, dstate = layer.backward(np.ones_like(out), ones)
        grads = [layer.grads[k] for k in sorted(layer.grads)]
        results[threads] = ([out, *as_tuple(state), dx, *as_tuple(dstate)], grads)
    assert team.parts(N, 10) == 3
    for threads in (2, 3):
        for a, b in zip(results[1][0], results[threads][0], strict=True):
            assert np.array_equal(a, b), (cell, threads)
        for a, b in zip(results[1][1], results[threads][1], strict=True):
            assert rel_error(a, b) < 1e-6, (cell, threads)


@pytest.mark.parametrize("shape", [(1, 1, 1), (7, 5, 3), (300, 64, 70), (50, 1100, 9)])
def test_the_team_s_product_is_numpy_s(shape, kept, rng):
    team.set_team_size(2)
    team.MIN_WORK = 1
    M, K, P = shape
    for dtype, tolerance in ((np.float32, 1e-5), (np.float64, 1e-13)):
        a = rng.standard_normal((M, K)).astype(dtype)
        b = rng.standard_normal((K, P)).astype(dtype)
        for left, right in ((a, b), (a, b[::-1].copy()[::-1]), (np.asfortranarray(a), b), (a[:, ::-1], b)):
            want = left.astype(np.float64) @ right.astype(np.float64)
            got = team.matmul(left, right)
            assert got.dtype == dtype and got.shape == (M, P)
            assert np.abs(got - want).max() <= tolerance * max(1.0, np.abs(want).max()), shape
        out = np.empty((M, P), dtype)
        assert team.matmul(a.T.T, b.T.copy().T, out=out) is out  # transposed views of contiguous arrays


def failing(*args):
    raise ValueError("from a worker")


def test_a_worker_s_error_reaches_the_caller_and_the_team_goes_on(kept):
    team.set_team_size(2)
    with pytest.raises(ValueError, match="from a worker"):
        team.run([(lambda: None, ()), (failing, ())])
    done = []
    team.run([(done.append, (1,)), (done.append, (2,))])
    assert sorted(done) == [1, 2]


def fork_child(queue):
    layer = rnnlab.nn.LSTM(4, 8, rng=0)
    out, _ = layer.forward(np.ones((6, 5, 4), np.float32))
    queue.put(float(out.sum()))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this system")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")  # Python 3.12's note
def test_a_forked_child_starts_its_own_workers(kept):
    team.set_team_size(2)
    team.MIN_WORK = 1
    use_kernels("numba")
    team.run([(lambda: None, ()), (lambda: None, ())])  # the parent has a worker now
    queue = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(target=fork_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    layer = rnnlab.nn.LSTM(4, 8, rng=0)
    assert queue.get(timeout=5) == pytest.approx(float(layer.forward(np.ones((6, 5, 4), np.float32))[0].sum()))


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores")
def test_set_num_threads_gives_the_fused_set_a_team_and_blas_one_thread(kept):
    use_kernels("numba")
    rnnlab.set_num_threads(2)
    assert team.team_size() == 2 and blas_threads() == 1 and rnnlab.get_num_threads() == 2
    use_kernels("numpy")  # the reference set computes on BLAS's threads
    assert blas_threads() == 2
    use_kernels("numba")
    assert blas_threads() == 1 and team.team_size() == 2
