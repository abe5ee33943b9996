"""Module: the base class of every layer and model.

A module holds

- ``params``: its own parameters, a dict name -> array;
- ``grads``: a dict with the same keys and shapes, into which ``backward`` *accumulates*
  (``+=``) until :meth:`Module.zero_grad` (that is what gives a weight shared across time
  steps its full gradient);
- child modules, registered by assigning them as attributes (``self.rnn = RNN(...)``).

Parameter names in :meth:`Module.state_dict` are dotted paths (``rnn.weight_ih_l0``), as
in PyTorch, so a state dict moves between the two libraries without renaming.

**Flat buffers.** On first use by an optimizer (:meth:`Module.flat_parameters`), every
parameter of a module tree is moved into one contiguous buffer, and every gradient into
another; ``params`` and ``grads`` then hold views into them. An optimizer step and a
global-norm clip become a handful of whole-buffer operations. Hence the one rule for code
that touches parameters: **modify them in place** (``p[...] = v``, ``g += d``), never rebind
the dict entries. :meth:`Module.load_state_dict` does exactly that.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from rnnlab.errors import ConfigError, RnnlabError, ShapeError

_DTYPES = {"float32": np.float32, "float64": np.float64}


def resolve_dtype(dtype) -> np.dtype:
    """Return ``np.dtype(float32)`` or ``np.dtype(float64)`` for a dtype or its name; reject others."""
    if isinstance(dtype, str):
        if dtype not in _DTYPES:
            raise ConfigError(f"dtype should be float32 or float64, got {dtype!r}")
        return np.dtype(_DTYPES[dtype])
    if isinstance(dtype, np.dtype) or (isinstance(dtype, type) and issubclass(dtype, np.generic)):
        dt = np.dtype(dtype)
        if dt in (np.dtype(np.float32), np.dtype(np.float64)):
            return dt
    raise ConfigError(f"dtype should be float32 or float64, got {dtype!r}")


class Module:
    """Base class: parameters, their gradients, child modules, train/eval mode."""

    def __init__(self) -> None:
        object.__setattr__(self, "_modules", {})
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.training = True
        self._flat: tuple[np.ndarray, np.ndarray] | None = None
        self._dtype: np.dtype | None = None

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, Module):
            self._modules[name] = value
            self.__dict__["_flat"] = None
        object.__setattr__(self, name, value)

    # -- parameters ------------------------------------------------------------------
    def _add_param(self, name: str, array: np.ndarray) -> None:
        """Register a parameter and a zero gradient of the same shape (for subclasses)."""
        self.params[name] = array
        self.grads[name] = np.zeros_like(array)
        self._flat = None
        self._dtype = array.dtype

    def children(self) -> Iterator[tuple[str, Module]]:
        """The direct child modules, as (attribute name, module), in registration order."""
        yield from self._modules.items()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """Every parameter of this module and its children: (dotted name, param, grad)."""
        for name, p in self.params.items():
            yield prefix + name, p, self.grads[name]
        for cname, child in self._modules.items():
            yield from child.named_parameters(prefix + cname + ".")

    def generators(self, prefix: str = "") -> dict[str, np.random.Generator]:
        """The random generators this module and its children hold (``rng`` attributes), by path.

        A checkpoint saves their states, so dropout masks continue exactly after a resume.
        Each generator appears once, under its first path.
        """
        found: dict[str, np.random.Generator] = {}
        seen: set[int] = set()

        def walk(module: Module, path: str) -> None:
            g = module.__dict__.get("rng")
            if isinstance(g, np.random.Generator) and id(g) not in seen:
                seen.add(id(g))
                found[path or "."] = g
            for name, child in module.children():
                walk(child, f"{path}.{name}" if path else name)

        walk(self, prefix)
        return found

    def num_parameters(self) -> int:
        """Total number of scalar parameters, children included."""
        return sum(p.size for _, p, _ in self.named_parameters())

    @property
    def dtype(self) -> np.dtype:
        """The floating-point dtype of the parameters (fixed when the module is built)."""
        if self._dtype is None:
            for _, p, _ in self.named_parameters():
                self._dtype = p.dtype
                break
            else:
                return np.dtype(np.float32)
        return self._dtype

    def zero_grad(self) -> None:
        """Set every gradient of this module and its children to zero."""
        if self._flat is not None:
            self._flat[1].fill(0.0)
        else:
            for _, _, g in self.named_parameters():
                g.fill(0.0)

    def flat_parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """One contiguous 1-D view of all parameters and one of all gradients.

        Created on first call: the values move into the new buffers and ``params`` /
        ``grads`` of every module in the tree become views into them. Each child's own
        flat views are sub-ranges of its parent's.
        """
        if self._flat is None:
            self._flatten()
        return self._flat

    def _flatten(self) -> None:
        entries = list(self.named_parameters())
        dtypes = {p.dtype for _, p, _ in entries}
        if len(dtypes) > 1:
            raise RnnlabError(f"all parameters of a model must share one dtype, found {sorted(map(str, dtypes))}")
        dtype = dtypes.pop() if dtypes else np.dtype(np.float32)
        total = sum(p.size for _, p, _ in entries)
        flat_p = np.empty(total, dtype)
        flat_g = np.empty(total, dtype)
        seen: set[int] = set()

        def assign(module: Module, offset: int) -> int:
            if id(module) in seen:
                raise RnnlabError("a module appears twice in the same model; share parameters explicitly instead")
            seen.add(id(module))
            start = offset
            for name, p in module.params.items():
                n = p.size
                flat_p[offset : offset + n] = p.ravel()
                flat_g[offset : offset + n] = module.grads[name].ravel()
                module.params[name] = flat_p[offset : offset + n].reshape(p.shape)
                module.grads[name] = flat_g[offset : offset + n].reshape(p.shape)
                offset += n
            for _, child in module.children():
                offset = assign(child, offset)
            module._flat = (flat_p[start:offset], flat_g[start:offset])  # a Module sets its own subtree's views
            return offset

        assign(self, 0)

    # -- state -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter, keyed by dotted name (PyTorch's naming)."""
        return {name: p.copy() for name, p, _ in self.named_parameters()}

    def load_state_dict(self, state: dict, strict: bool = True) -> None:
        """Copy parameter values in from ``state`` (name -> array), in place.

        With ``strict=True`` (the default) the names must match exactly; any missing,
        unexpected or mis-shaped entry raises :class:`~rnnlab.errors.ShapeError` listing
        every problem, and nothing is changed. Values are cast to this module's dtype.
        """
        own = {name: p for name, p, _ in self.named_parameters()}
        problems = []
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and missing:
            problems.append("missing: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected: " + ", ".join(unexpected))
        values = {}
        for name, p in own.items():
            if name not in state:
                continue
            v = np.asarray(state[name])
            if v.dtype.kind not in "fiu":
                problems.append(f"{name} has non-numeric dtype {v.dtype}")
            elif v.shape != p.shape:
                problems.append(f"{name} should have shape {p.shape}, got {v.shape}")
            elif not np.isfinite(v).all():
                problems.append(f"{name} holds NaN or infinite values")
            else:
                values[name] = v
        if problems:
            raise ShapeError(f"cannot load the state into {type(self).__name__}: " + "; ".join(problems))
        for name, v in values.items():
            np.copyto(own[name], v, casting="unsafe")

    # -- mode ----------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout is on in training only) on this module and its children."""
        self.training = mode
        for _, child in self._modules.items():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode: ``train(False)``."""
        return self.train(False)

    # -- display -------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The constructor arguments shown by ``repr`` (for subclasses)."""
        return ""

    def __repr__(self) -> str:
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not self._modules:
            return head + ")"
        lines = [head]
        for name, child in self._modules.items():
            lines.append(f"  ({name}): " + repr(child).replace("\n", "\n  "))
        return "\n".join(lines) + "\n)"


@contextlib.contextmanager
def module_mode(module: Module, training: bool = False):
    """Within the block, ``module`` and its children are in training mode (``training=True``) or in
    evaluation mode (no dropout, the default); afterwards the mode is what it was, whatever happened.

    Example::

        >>> from rnnlab.nn import LSTM
        >>> lstm = LSTM(2, 3, 2, dropout=0.5, rng=0)
        >>> with module_mode(lstm):
        ...     lstm.training
        False
        >>> lstm.training
        True
    """
    was = module.training
    module.train(training)
    try:
        yield module
    finally:
        module.train(was)
