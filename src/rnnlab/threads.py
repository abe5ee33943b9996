"""How many threads rnnlab computes on: BLAS's (the matrix products, through threadpoolctl) and
numba's own, set together, as ``torch.set_num_threads`` does for PyTorch.

Example::

    >>> import rnnlab
    >>> before = rnnlab.get_num_threads()
    >>> rnnlab.set_num_threads(1)
    >>> rnnlab.get_num_threads()
    1
    >>> rnnlab.set_num_threads(before)
"""

from __future__ import annotations

import importlib.util
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


# the count as last set or read: the trainer asks every epoch, and asking BLAS costs about 1 ms
_known: int | None = None


def set_num_threads(n: int) -> None:
    """Compute on ``n`` threads from now on (BLAS's matrix products and numba's loops)."""
    global _known
    n = check_int("threads", n)
    cores = os.cpu_count() or n
    if n > cores:
        raise ConfigError(f"threads should be at most this machine's {cores} cores, got {n}")
    # kept in effect until changed: the limiter object need not live on
    _threadpoolctl().threadpool_limits(limits=n, user_api="blas")
    if importlib.util.find_spec("numba") is not None:
        import numba

        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    _known = n


def get_num_threads() -> int | None:
    """The number of threads BLAS computes on: as :func:`set_num_threads` set it, else as BLAS reported
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
