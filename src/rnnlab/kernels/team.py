"""The fused kernels' threads: a batch's rows, and the rows of a layer's big products, split across a
small team of threads.

The sequences of a batch do not depend on each other, so a recurrence (and its backward pass)
over rows ``[0, N)`` is the same computation as over ``[0, N / 2)`` and ``[N / 2, N)`` apart: no
thread waits for another between steps, and the result is bit for bit the same whatever the
number of threads. So are the rows of a product on packed weights (:mod:`rnnlab.kernels.packed`);
the parts of a product that BLAS computes (a weight gradient) may round differently from the
whole, in the last bit, as BLAS's and PyTorch's own products do between thread counts. The
compiled loops release the GIL (``nogil``), and so does NumPy's product, so Python threads run
the parts side by side.

A worker that has finished its part waits for the next one by spinning for about a millisecond
before it sleeps: waking a sleeping thread took 90-400 µs on this project's 2-core virtual
machine (a thread pool's hand-off, 2026-12-06), against 7-50 µs for a spinning one, and a
training step hands work over every millisecond or so. OpenMP's threads, which PyTorch uses, do
the same. While the team has more than one thread, BLAS must compute on one
(:func:`rnnlab.set_num_threads` sees to it): BLAS's own idle threads spin too, for about 0.1 s
after each product (OpenBLAS's ``THREAD_TIMEOUT``), and two spinning pools on the same cores made
this team's recurrences twice as slow.
"""

from __future__ import annotations

import itertools
import os
import threading

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

from rnnlab.kernels.packed import JIT, PRODUCTS, pack_columns, rows_product

MIN_WORK = 4_000_000  # multiply-adds per part: about 50 µs of compute, what a hand-off costs at worst
SPINS = 10_000_000  # a worker's polls of its mailbox before it sleeps: about 3 ms here
POSTED, DONE = 0, 8  # a worker's two counters, a cache line apart
PACKED_ROWS = 64  # fewer rows than this and packing the right operand costs more than it saves


@intrinsic
def atomic_increment(typingctx, counters, index):
    """``counters[index] += 1`` as one atomic operation (sequentially consistent); the value before."""
    sig = types.int64(counters, types.intp)

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        one = context.get_constant(types.int64, 1)
        return builder.atomic_rmw("add", builder.gep(data, [args[1]]), one, "seq_cst")

    return sig, codegen


@intrinsic
def atomic_read(typingctx, counters, index):
    """``counters[index]``, read atomically (acquire: what was written before its increment is seen)."""
    sig = types.int64(counters, types.intp)

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        return builder.load_atomic(builder.gep(data, [args[1]]), "acquire", 8)

    return sig, codegen


@numba.njit(**JIT)
def signal(counters, index):
    """Count one more task posted (or done)."""
    atomic_increment(counters, index)


@numba.njit(**JIT)
def wait_past(counters, index, value, spins):
    """Poll ``counters[index]`` until it exceeds value, at most ``spins`` times; returns what it read."""
    seen = atomic_read(counters, index)
    for _ in range(spins):
        if seen > value:
            break
        seen = atomic_read(counters, index)
    return seen


class Worker:
    """One thread of the team: runs the tasks posted to it, one at a time, in order."""

    def __init__(self):
        self.counters = np.zeros(16, np.int64)
        self.task: tuple | None = None
        self.error: BaseException | None = None
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="rnnlab-kernels", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        seen = 0
        while True:
            posted = wait_past(self.counters, POSTED, seen, SPINS)
            if posted == seen:  # nothing came while spinning: sleep until post() sets the event
                self.wake.wait()
                self.wake.clear()
                continue
            seen = posted
            function, args = self.task
            try:
                function(*args)
            except BaseException as exc:  # handed to the caller, which raises it
                self.error = exc
            signal(self.counters, DONE)

    def post(self, function, args: tuple) -> None:
        """Run ``function(*args)`` on this thread."""
        self.task, self.error = (function, args), None
        signal(self.counters, POSTED)
        self.wake.set()

    def join(self) -> None:
        """Wait until the posted task has run; raise its error, if any."""
        target = self.counters[POSTED] - 1
        while wait_past(self.counters, DONE, target, SPINS) <= target:
            if not self.thread.is_alive():
                raise RuntimeError("a thread of rnnlab's kernel team has stopped")
        if self.error is not None:
            raise self.error


_size = 1
_workers: list[Worker] = []
_lock = threading.Lock()


def set_team_size(n: int) -> None:
    """Run the fused kernels on up to ``n`` threads: the caller's and n - 1 workers (started on first use)."""
    global _size
    _size = max(1, int(n))


def team_size() -> int:
    """How many threads the fused kernels may run on."""
    return _size


def _forget_workers() -> None:  # a forked child has the parent's memory but none of its threads
    _workers.clear()


os.register_at_fork(after_in_child=_forget_workers)


def run(tasks: list[tuple]) -> None:
    """Run every ``(function, args)`` of tasks at once: the first on the calling thread, the others on
    workers; returns when all have run. Callers run one team at a time (the layers do)."""
    with _lock:
        while len(_workers) < len(tasks) - 1:
            _workers.append(Worker())
        for worker, (function, args) in zip(_workers, tasks[1:], strict=False):
            worker.post(function, args)
        function, args = tasks[0]
        function(*args)
        for worker in _workers[: len(tasks) - 1]:
            worker.join()


def parts(rows: int, row_work: int) -> int:
    """Into how many parts work over ``rows`` rows of ``row_work`` multiply-adds each is split."""
    return max(1, min(_size, rows, rows * row_work // MIN_WORK))


def bounds(rows: int, k: int) -> list[tuple[int, int]]:
    """``[0, rows)`` in k parts of (nearly) equal size."""
    edges = [rows * i // k for i in range(k + 1)]
    return list(itertools.pairwise(edges))


def run_rows(loop, args: tuple, scalars: tuple, rows: int, row_work: int) -> None:
    """``loop(*args, r0, r1, *scalars)`` over rows ``[0, rows)``, in parts on the team's threads."""
    k = parts(rows, row_work)
    if k == 1:
        loop(*args, 0, rows, *scalars)
        return
    run([(loop, (*args, r0, r1, *scalars)) for r0, r1 in bounds(rows, k)])


def _matmul_into(a, b, out):
    np.matmul(a, b, out=out)


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` for a (M, K) and b (K, P), ``np.matmul``'s result, its rows split across the team
    where they are many enough. Where a has at least PACKED_ROWS contiguous rows and K is at most
    1024 (an input projection, a layer's input gradient: K is a layer's width), the rows run on
    :mod:`rnnlab.kernels.packed`'s tiles, b packed once; elsewhere (a weight gradient: a is a
    transposed view and K the batch's every step; a streaming step's few rows, for which packing
    b would cost more than the product) BLAS computes each part on the thread that runs it."""
    M, K = a.shape
    P = b.shape[1]
    if out is None:
        out = np.empty((M, P), np.result_type(a, b))
    if (M >= PACKED_ROWS and K <= 1024 and a.dtype == b.dtype == out.dtype and a.dtype.char in "fd"
            and a.flags.c_contiguous and out.flags.c_contiguous):
        run_rows(rows_product, (PRODUCTS[a.dtype], a, pack_columns(np.ascontiguousarray(b)), out), (), M, K * P)
        return out
    k = parts(M, K * P) if M >= PACKED_ROWS else 1  # a few rows are not worth a hand-off
    if k == 1:
        return np.matmul(a, b, out=out)
    run([(_matmul_into, (a[r0:r1], b, out[r0:r1])) for r0, r1 in bounds(M, k)])
    return out
