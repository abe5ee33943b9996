"""Numerical gradient checking: the proof that a backward pass is right.

A backward pass is checked against finite differences of the forward pass, in float64. For a
layer with array outputs the scalar being differentiated is ``sum(out * G)`` for a random
"upstream gradient" G (as in cs231n), so every output entry matters with a different weight.

The figure reported per parameter is the relative error
``|analytic - numeric| / (|analytic| + |numeric|)`` with ``|.|`` the L2 norm over the
whole array: about 1e-10 for a correct gradient, above 1e-3 for a wrong one. rnnlab's
tests require < 1e-6.

Two numeric estimates are made, and the better agreement is reported, because each fails in
its own known way: a fourth-order central difference with step 1e-4 is accurate even for
tiny gradients (where rounding noise swamps a small step), and a second-order central
difference with step 1e-6 stays clear of ReLU kinks (which a larger step can straddle). A
correct gradient agrees closely with at least one; a wrong gradient disagrees with both by
far more than 1e-6 (the notebook's smallest bug shows 2.7e-3).

Example::

    >>> import numpy as np
    >>> from rnnlab.nn import RNN
    >>> from rnnlab.gradcheck import check_layer
    >>> layer = RNN(3, 4, dtype=np.float64, rng=0)
    >>> x = np.random.default_rng(1).standard_normal((2, 5, 3))
    >>> report = check_layer(layer, x, rng=2)
    >>> sorted(report)
    ['bias_hh_l0', 'bias_ih_l0', 'input', 'state', 'weight_hh_l0', 'weight_ih_l0']
    >>> report.max_error < 1e-6
    True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rnnlab.errors import ConfigError
from rnnlab.nn import CELL_TYPES, GRU, LSTM, RNN, Embedding, Linear
from rnnlab.nn.init import as_generator

# (order, step) of the finite-difference estimates compared with an analytic gradient
ESTIMATES = ((4, 1e-4), (2, 1e-6))


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6, order: int = 2) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` with respect to the array ``x``.

    order 2: ``(f(x+h) - f(x-h)) / 2h``; order 4:
    ``(f(x-2h) - 8 f(x-h) + 8 f(x+h) - f(x+2h)) / 12h``, with h = ``eps``.
    ``x`` is perturbed in place, one entry at a time, and restored; ``f`` must read it.
    Returns an array of x's shape, float64.
    """
    if x.dtype != np.float64:
        raise ConfigError(f"numerical gradients need float64 arrays, got {x.dtype}")
    if order not in (2, 4):
        raise ConfigError(f"order should be 2 or 4, got {order!r}")
    grad = np.zeros(x.shape, np.float64)
    flat = x.reshape(-1)  # a view: x must be contiguous
    if not np.shares_memory(flat, x):
        raise ConfigError("numerical_gradient needs a contiguous array")
    g = grad.reshape(-1)
    offsets, weights, scale = ((1, -1), (1, -1), 2 * eps) if order == 2 else ((-2, -1, 1, 2), (1, -8, 8, -1), 12 * eps)
    for i in range(flat.size):
        old = flat[i]
        total = 0.0
        for k, w in zip(offsets, weights, strict=True):
            flat[i] = old + k * eps
            total += w * f()
        flat[i] = old
        g[i] = total / scale
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """``|a - n| / (|a| + |n|)`` with L2 norms over the whole arrays (0 when both are 0)."""
    a = np.asarray(analytic, np.float64)
    n = np.asarray(numeric, np.float64)
    if a.shape != n.shape:
        raise ConfigError(f"gradient shapes differ: analytic {a.shape}, numeric {n.shape}")
    denom = np.linalg.norm(a) + np.linalg.norm(n)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - n) / denom)


class GradcheckReport(dict):
    """Relative error per checked array: ``{name: error}``, with helpers to read it."""

    @property
    def max_error(self) -> float:
        """The largest relative error (0 for an empty report)."""
        return max(self.values(), default=0.0)

    def failures(self, tol: float = 1e-6) -> dict:
        """The entries whose error is ``tol`` or more."""
        return {k: v for k, v in self.items() if not v < tol}

    def __str__(self) -> str:
        width = max((len(k) for k in self), default=4)
        return "\n".join(f"{k:<{width}}  {v:.2e}" for k, v in self.items())


def check_gradients(
    f: Callable[[], float], arrays: dict[str, np.ndarray], analytic: dict[str, np.ndarray], eps: float | None = None
) -> GradcheckReport:
    """Compare ``analytic[name]`` with the numerical gradient of ``f()`` for each ``arrays[name]``.

    arrays: the float64 arrays ``f`` depends on (perturbed in place and restored).
    analytic: the gradients claimed for them, same names and shapes.
    eps: None (the default) reports the better agreement with the two estimates in
    ``ESTIMATES`` (see the module docstring); a number uses one second-order estimate with
    that step.
    """
    estimates = ESTIMATES if eps is None else ((2, eps),)
    report = GradcheckReport()
    for name, x in arrays.items():
        report[name] = min(
            relative_error(analytic[name], numerical_gradient(f, x, step, order)) for order, step in estimates
        )
    return report


def _as_tuple(state):
    if state is None:
        return ()
    return tuple(state) if isinstance(state, (tuple, list)) else (state,)


def _pack(states: tuple):
    return states if len(states) > 1 else states[0]


def check_layer(layer, x, state=None, *, lengths=None, rng=None, eps: float | None = None) -> GradcheckReport:
    """Gradient-check every parameter of ``layer`` and its input (and initial state).

    layer: an rnnlab layer built with ``dtype=np.float64``.
    x: its input (float64 array, or integer ids for an Embedding, which has no input gradient).
    state: initial state for a recurrent layer (an array, or a tuple of arrays), or None
        (then the analytic pass runs with no state, and the gradient with respect to the
        implicit zero state is checked).
    lengths: (N,) sequence lengths for a recurrent layer, or None.
    rng: seed or Generator for the random upstream gradients.

    Returns a :class:`GradcheckReport` with one entry per parameter, plus ``"input"`` (if
    the input is a float array) and ``"state"`` (``"state[i]"`` for a tuple state) for a
    layer that returns a state. The layer's gradients are left holding the analytic gradient.
    """
    if layer.dtype != np.float64:
        raise ConfigError(f"gradient checks need float64: build the layer with dtype=np.float64 (it is {layer.dtype})")
    rng = as_generator(rng)
    x = np.array(x)  # a private, contiguous copy we may perturb

    extra = {} if lengths is None else {"lengths": lengths}

    def run(states):
        res = layer.forward(x, **extra) if states is None else layer.forward(x, _pack(states), **extra)
        return (res[0], _as_tuple(res[1])) if isinstance(res, tuple) else (res, ())

    # 1. analytic gradients, through the code path the caller asked for
    given = None if state is None else tuple(np.array(s, dtype=np.float64) for s in _as_tuple(state))
    layer.zero_grad()
    out, st = run(given)
    g_out = rng.standard_normal(out.shape)
    g_st = tuple(rng.standard_normal(s.shape) for s in st)
    if g_st:
        dx, dstate = layer.backward(g_out, _pack(g_st))
    else:
        dx, dstate = layer.backward(g_out), None
    analytic = {name: g.copy() for name, _, g in layer.named_parameters()}
    arrays = {name: p for name, p, _ in layer.named_parameters()}
    if x.dtype == np.float64:
        arrays["input"], analytic["input"] = x, dx
    # 2. the numerical side perturbs explicit states (zeros when none was given)
    states = None
    if g_st:
        dst = _as_tuple(dstate)
        states = given if given is not None else tuple(np.zeros(d.shape) for d in dst)
        for i, s in enumerate(states):
            key = "state" if len(states) == 1 else f"state[{i}]"
            arrays[key], analytic[key] = s, dst[i]

    def f() -> float:
        o, s = run(states)
        return float(np.sum(o * g_out)) + float(sum(np.sum(a * g) for a, g in zip(s, g_st, strict=True)))

    grads_after = {name: g.copy() for name, g in analytic.items()}
    report = check_gradients(f, arrays, analytic, eps)
    for name, _, g in layer.named_parameters():
        g[...] = grads_after[name]
    return report


def check_model(model, *data, eps: float | None = None) -> GradcheckReport:
    """Gradient-check every parameter of a model through its ``loss(*data)`` and ``backward()``.

    model: an rnnlab model built with ``dtype=np.float64``; data: what ``model.loss`` takes.
    """
    if model.dtype != np.float64:
        raise ConfigError(f"gradient checks need float64: build the model with dtype=np.float64 (it is {model.dtype})")
    model.zero_grad()
    model.loss(*data)
    model.backward()
    analytic = {name: g.copy() for name, _, g in model.named_parameters()}
    arrays = {name: p for name, p, _ in model.named_parameters()}
    return check_gradients(lambda: model.loss(*data), arrays, analytic, eps)


# -- the catalogues the command line checks ---------------------------------------------------------
def cell_cases(cell: str, seed: int) -> dict[str, GradcheckReport]:
    """One recurrent cell in four configurations (1 and 2 layers, one and two directions, ragged lengths,
    an initial state), the LSTM also with a projection, LSTM and GRU also layer-normalised: the catalogue of
    ``rnnlab gradcheck --cell``."""
    rng = np.random.default_rng(seed)
    reports = {}
    configurations = [(1, False, None, 0, False), (2, False, None, 0, False), (1, True, [5, 3, 1], 0, False),
                      (2, True, [5, 3, 1], 0, False)]
    if cell == "lstm":
        configurations += [(2, False, None, 2, False), (2, True, [5, 3, 1], 3, False)]
    if cell in ("lstm", "gru"):
        configurations += [(2, True, [5, 3, 1], 0, True)]
    for layers, bidirectional, lengths, proj_size, layer_norm in configurations:
        layer = CELL_TYPES[cell](3, 4, layers, bidirectional=bidirectional, proj_size=proj_size,
                                 layer_norm=layer_norm, dtype=np.float64, rng=rng)
        x = rng.standard_normal((3, 5, 3))
        parts = tuple(rng.standard_normal(shape) for shape in layer.state_shapes(3))
        state = parts if layer.n_states == 2 else parts[0]
        name = f"{layer!r}" + (f", lengths={lengths}" if lengths else "") + ", with initial state"
        reports[name] = check_layer(layer, x, state, lengths=lengths, rng=rng)
    return reports


def layer_cases(seed: int) -> dict[str, GradcheckReport]:
    """Every layer and a whole model, the catalogue of ``rnnlab gradcheck``."""
    from rnnlab.models import NextTokenModel  # models build on the layers checked here: imported when used

    rng = np.random.default_rng(seed)
    f64 = np.float64
    reports = {
        "Embedding(7, 3)": check_layer(Embedding(7, 3, dtype=f64, rng=rng), rng.integers(0, 7, (2, 4)), rng=rng),
        "Linear(3, 4)": check_layer(Linear(3, 4, dtype=f64, rng=rng), rng.standard_normal((2, 4, 3)), rng=rng),
    }
    for nl in ("tanh", "relu"):
        x = rng.standard_normal((2, 5, 3))
        reports[f"RNN(3, 4, {nl})"] = check_layer(RNN(3, 4, nonlinearity=nl, dtype=f64, rng=rng), x, rng=rng)
        reports[f"RNN(3, 4, {nl}) with h0"] = check_layer(
            RNN(3, 4, nonlinearity=nl, dtype=f64, rng=rng), x, rng.standard_normal((1, 2, 4)), rng=rng
        )
    x = rng.standard_normal((3, 5, 3))
    reports["LSTM(3, 4, 2 layers, bidirectional), ragged lengths"] = check_layer(
        LSTM(3, 4, 2, bidirectional=True, dtype=f64, rng=rng), x, lengths=[5, 2, 4], rng=rng
    )
    reports["GRU(3, 4, 2 layers, bidirectional), ragged lengths"] = check_layer(
        GRU(3, 4, 2, bidirectional=True, dtype=f64, rng=rng), x, lengths=[5, 2, 4], rng=rng
    )
    model = NextTokenModel(list("abcdef"), embedding_dim=3, hidden_size=4, dtype=f64, rng=rng)
    ids, targets = rng.integers(0, 6, (3, 4)), rng.integers(0, 6, (3, 4))
    reports["NextTokenModel (loss)"] = check_model(model, ids, targets)
    reports["NextTokenModel (masked loss)"] = check_model(model, ids, targets, rng.random((3, 4)) > 0.3)
    return reports


def notebook_cases(seed: int) -> dict[str, GradcheckReport]:
    """The notebook's backward pass: all four bugs, each alone, and all fixed (``rnnlab gradcheck --notebook``)."""
    from rnnlab import notebook

    reports = {"all four bugs (as published)": notebook.check_bugs(notebook.BUGS, rng=seed)}
    for bug in notebook.BUGS:
        reports[f"only {bug}"] = notebook.check_bugs((bug,), rng=seed)
    reports["all fixed"] = notebook.check_bugs((), rng=seed)
    return reports
