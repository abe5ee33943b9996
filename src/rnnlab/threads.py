"""How many threads rnnlab computes on, set once for everything it runs, as ``torch.set_num_threads``
does for PyTorch.

Where the fused kernels run (:mod:`rnnlab.kernels`), rnnlab computes on its own team of threads
(:mod:`rnnlab.kernels.team`: the recurrences and a layer's big products split by rows) and BLAS
on one thread: BLAS's idle threads spin for a while after each product and would take the cores
the team needs. Where the NumPy kernels run, BLAS computes on them all. Until a count is set,
rnnlab leaves BLAS as it found it and its fused kernels run on the calling thread; the command
line sets the machine's core count unless ``--threads`` says otherwise.

Example::

    >>> import rnnlab
    >>> before = rnnlab.get_num_threads()
    >>> rnnlab.set_num_threads(1)
    >>> rnnlab.get_num_threads()
    1
    >>> rnnlab.set_num_threads(before)
"""

from __future__ import annotations

import os

from rnnlab._checks import check_int
from rnnlab.errors import ConfigError, MissingDependency


def _threadpoolctl():
    try:
        import threadpoolctl
    except ImportError:
        raise MissingDependency("choosing the number of threads needs threadpoolctl: pip install 'rnnlab[fast]'",
                                "threadpoolctl") from None
    return threadpoolctl


# the count as last set (or, unset, as BLAS reported it): the trainer asks every epoch, and asking
# BLAS costs about 1 ms
_known: int | None = None
_chosen = False
_controller = None  # threadpoolctl's view of the BLAS libraries, made on first use


def set_num_threads(n: int) -> None:
    """Compute on ``n`` threads from now on: the fused kernels' team and BLAS, or BLAS alone where the
    NumPy kernels run (see the module docstring)."""
    global _known, _chosen
    n = check_int("threads", n)
    cores = os.cpu_count() or n
    if n > cores:
        raise ConfigError(f"threads should be at most this machine's {cores} cores, got {n}")
    global _controller
    _threadpoolctl()  # a clear error before anything changes
    _known, _chosen, _controller = n, True, None  # a fresh look at the libraries: BLAS may have come since
    from rnnlab.kernels import active_kernels

    apply_thread_count(active_kernels())


def apply_thread_count(kernels) -> None:
    """Give BLAS and the kernel team their threads for ``kernels``, the set that runs (called again
    whenever the set changes); nothing until a count has been set."""
    if not _chosen:
        return
    global _controller
    own = kernels.threaded
    if _controller is None:  # made once (about 1 ms: it looks through the loaded libraries), then 16 µs a change
        _controller = _threadpoolctl().ThreadpoolController()
    # kept in effect until changed: the limiter object need not live on
    _controller.limit(limits=1 if own else _known, user_api="blas")
    if own:
        from rnnlab.kernels.team import set_team_size

        set_team_size(_known)


def get_num_threads() -> int | None:
    """The number of threads rnnlab computes on: as :func:`set_num_threads` set it, else as BLAS reported
    it when first asked (None where threadpoolctl is not installed or no BLAS library reports one)."""
    global _known
    if _known is None:
        try:
            info = _threadpoolctl().threadpool_info()
        except MissingDependency:
            return None
        counts = [lib["num_threads"] for lib in info if lib.get("user_api") == "blas"]
        _known = max(counts) if counts else None
    return _known
