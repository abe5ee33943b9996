"""Kernel sets: the one place that chooses which implementation of the recurrent kernels runs.

A kernel set is the functions a recurrent layer calls (for each cell: the recurrence, its
backward pass and the streaming step, with the signatures of :mod:`rnnlab.functional`; and the
layer-normalised LSTM's and GRU's recurrences, :mod:`rnnlab.functional.layer_norm`). Two exist:

- ``"numpy"``: :mod:`rnnlab.functional`, the readable reference, always there;
- ``"numba"``: :mod:`rnnlab.kernels.fused`, each recurrence one compiled loop with its own
  per-step products, on a team of threads (:mod:`rnnlab.kernels.team`; the ``fast`` extra:
  ``pip install 'rnnlab[fast]'``); its layer-normalised recurrences are NumPy's, the documented
  fallback.

Each set also has ``matmul``, ``np.matmul``'s signature, for a layer's big products (the input
projection, the weight gradients): NumPy's own, or the team's, which splits the rows.

By default (``"auto"``) the fused set runs wherever numba imports. ``RNNLAB_KERNELS=numpy``
(or ``numba``) in the environment, or :func:`use_kernels`, chooses explicitly; asking for numba
where it is missing is an error, never a quiet fallback. Another set (a GPU one) would be one
more entry in ``SETS``.

Example::

    >>> import rnnlab.kernels as kernels
    >>> before = kernels.active_kernels().name
    >>> kernels.use_kernels("numpy").name
    'numpy'
    >>> kernels.use_kernels(before).name == before
    True
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from rnnlab.errors import ConfigError, MissingDependency

ENVIRONMENT = "RNNLAB_KERNELS"
SETS = {"numpy": "rnnlab.functional", "numba": "rnnlab.kernels.fused"}
CHOICES = ("auto", *SETS)


@dataclass(frozen=True)
class KernelSet:
    """One implementation of the recurrent kernels (see :mod:`rnnlab.functional.recurrent` for what
    each takes and returns)."""

    name: str
    rnn_recurrence_: Callable
    rnn_recurrence_backward: Callable
    lstm_recurrence_: Callable
    lstm_recurrence_backward: Callable
    gru_recurrence_: Callable
    gru_recurrence_backward: Callable
    ln_lstm_recurrence_: Callable
    ln_lstm_recurrence_backward: Callable
    ln_gru_recurrence_: Callable
    ln_gru_recurrence_backward: Callable
    rnn_cell: Callable
    lstm_cell: Callable
    gru_cell: Callable
    matmul: Callable

    @property
    def threaded(self) -> bool:
        """Whether the set computes on its own threads (:mod:`rnnlab.kernels.team`); BLAS then on one."""
        return self.name == "numba"


_active: KernelSet | None = None


def load(name: str) -> KernelSet:
    """The kernel set called ``name`` ("numpy" or "numba"), imported (numba compiles on first use)."""
    if name not in SETS:
        raise ConfigError(f"kernels should be one of {', '.join(CHOICES)}, got {name!r}")
    try:
        module = importlib.import_module(SETS[name])
    except ImportError as exc:
        raise MissingDependency(f"the numba kernels need numba ({exc}); install them with "
                                "pip install 'rnnlab[fast]', or choose the numpy kernels", "numba") from None
    functions = [getattr(module, f) for f in KernelSet.__dataclass_fields__ if f != "name"]
    return KernelSet(name, *functions)


def automatic() -> KernelSet:
    """numba's set where numba is installed, else NumPy's; a broken numba install warns and runs NumPy."""
    if importlib.util.find_spec("numba") is None:
        return load("numpy")
    try:
        return load("numba")
    except MissingDependency as exc:
        warnings.warn(f"{exc}; running the numpy kernels", RuntimeWarning, stacklevel=3)
        return load("numpy")


def use_kernels(name: str) -> KernelSet:
    """Choose the kernel set for every layer from now on: "auto", "numpy" or "numba". Returns it."""
    global _active
    if name not in CHOICES:
        raise ConfigError(f"kernels should be one of {', '.join(CHOICES)}, got {name!r}")
    _active = automatic() if name == "auto" else load(name)
    from rnnlab.threads import apply_thread_count  # threads reads the active set: imported here, not above

    apply_thread_count(_active)
    return _active


def active_kernels() -> KernelSet:
    """The kernel set the layers call: chosen on first use from ``RNNLAB_KERNELS`` (default auto)."""
    if _active is None:
        choice = os.environ.get(ENVIRONMENT, "auto").strip().lower() or "auto"
        if choice not in CHOICES:
            raise ConfigError(f"{ENVIRONMENT} should be one of {', '.join(CHOICES)}, got {choice!r}")
        return use_kernels(choice)
    return _active


def describe() -> str:
    """One line for ``rnnlab --version`` and ``rnnlab info``: which kernel set runs, and why."""
    active = active_kernels()
    if active.name == "numba":
        import numba

        return f"kernels: numba (fused, compiled by numba {numba.__version__})"
    if importlib.util.find_spec("numba") is None:
        return "kernels: numpy (the reference set; pip install 'rnnlab[fast]' for the fused numba kernels)"
    return "kernels: numpy (the reference set, as chosen)"

