"""The notebook rnnlab grows from, reproduced faithfully: its algorithm, its bugs, its speed.

This is **not** how to build an RNN; it is here so that anyone can see, run and measure
what was wrong (docs/from-the-notebook.md), and as the baseline of benchmarks/letters.py.
Randomness comes from an explicit generator instead of the global ``np.random`` state;
everything else follows the notebook: one sample at a time, one-hot column vectors of
shape (V, 1), ``U`` (H, V), ``V`` (H, H), ``W`` (V, H), biases (H, 1) and (V, 1), value
clipping at 1 and a plain SGD update inside the backward pass.

Its four backward-pass bugs are on by default and each can be switched off by leaving
its name out of ``bugs``:

- ``"double_tanh"``: the tanh derivative is computed as ``1 - tanh(h)**2`` from the stored
  *output* h, applying tanh twice; it must be ``1 - h**2``;
- ``"assign_dW"``: ``dW = ...`` overwrites the output-weight gradient at each step instead of
  accumulating it (``dW += ...``);
- ``"h_t_for_dV"``: the recurrent-weight gradient pairs step t with h_t instead of h_{t-1};
- ``"loss_mean"``: the loss averages over the 26 vocabulary entries (``np.mean``) while the
  gradient ``y_hat - y`` belongs to the undivided cross-entropy, a 26x mismatch.
"""

from __future__ import annotations

import numpy as np

from rnnlab.gradcheck import GradcheckReport, check_gradients
from rnnlab.nn.init import as_generator

BUGS = ("double_tanh", "assign_dW", "h_t_for_dV", "loss_mean")
PARAM_NAMES = ("U", "V", "W", "bh", "by")


def init_params(hidden_size: int, vocab_size: int, rng=None):
    """U (H, V), V (H, H), W (V, H): N(0, 0.1**2); bh (H, 1), by (V, 1): zeros."""
    rng = as_generator(rng)
    U = rng.standard_normal((hidden_size, vocab_size)) * 0.1
    V = rng.standard_normal((hidden_size, hidden_size)) * 0.1
    W = rng.standard_normal((vocab_size, hidden_size)) * 0.1
    return U, V, W, np.zeros((hidden_size, 1)), np.zeros((vocab_size, 1))


def tanh(x, derivative=False):
    """The notebook's tanh from raw exp (overflows beyond |x| ~ 710)."""
    if not derivative:
        return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
    return 1 - tanh(x) ** 2


def softmax(x):
    """The notebook's softmax from raw exp (no max subtraction)."""
    return np.exp(x) / np.sum(np.exp(x))


def forward_propagation(x, params, hidden_size):
    """One sequence x of one-hot columns (T, V, 1) -> (outputs, hidden_states), lists of T columns."""
    U, V, W, bh, by = params
    outputs, hidden_states = [], []
    h_prev = np.zeros((hidden_size, 1))
    for i in x:
        h_curr = tanh(np.dot(U, i) + np.dot(V, h_prev) + bh)
        y_hat = softmax(np.dot(W, h_curr) + by)
        hidden_states.append(h_curr)
        outputs.append(y_hat)
        h_prev = h_curr
    return outputs, hidden_states


def cross_entropy_loss(y_hat, y, mean=True):
    """The notebook's per-step loss: ``-mean(log(y_hat + 1e-12) * y)`` (``mean=False``: the sum)."""
    terms = np.log(y_hat + 1e-12) * y
    return -np.mean(terms) if mean else -np.sum(terms)


def sequence_loss(inputs, targets, params, hidden_size, bugs=BUGS) -> float:
    """The loss the notebook's backward pass is meant to differentiate: the sum over steps."""
    outputs, _ = forward_propagation(inputs, params, hidden_size)
    mean = "loss_mean" in bugs
    return float(sum(cross_entropy_loss(o, t, mean) for o, t in zip(outputs, targets, strict=True)))


def gradients(inputs, targets, outputs, hidden_states, params, bugs=BUGS):
    """The notebook's BPTT, before clipping: returns ``((dU, dV, dW, dbh, dby), loss)``."""
    V, W = params[1], params[2]
    dU, dV, dW, dbh, dby = (np.zeros_like(p) for p in params)
    loss = 0.0
    dh_next = np.zeros_like(hidden_states[0])
    mean = "loss_mean" in bugs
    for t in reversed(range(len(outputs))):
        loss += cross_entropy_loss(outputs[t], targets[t], mean)
        dy = outputs[t].copy() - targets[t]
        if "assign_dW" in bugs:
            dW = np.dot(dy, hidden_states[t].T)
        else:
            dW += np.dot(dy, hidden_states[t].T)
        dby += dy
        dh = np.dot(W.T, dy) + dh_next
        if "double_tanh" in bugs:
            dh_raw = dh * tanh(hidden_states[t], derivative=True)
        else:
            dh_raw = dh * (1 - hidden_states[t] ** 2)
        dU += np.dot(dh_raw, inputs[t].T)
        if "h_t_for_dV" in bugs:
            dV += np.dot(dh_raw, hidden_states[t].T)
        else:
            h_prev = hidden_states[t - 1] if t > 0 else np.zeros_like(hidden_states[0])
            dV += np.dot(dh_raw, h_prev.T)
        dh_next = np.dot(V.T, dh_raw)
        dbh += dh_raw
    return (dU, dV, dW, dbh, dby), loss


def clip_gradients(grads, threshold=1):
    """Value clipping, in place."""
    for g in grads:
        np.clip(g, a_min=-threshold, a_max=threshold, out=g)


def update_params(grads, params, learning_rate):
    """Plain SGD, in place."""
    for g, p in zip(grads, params, strict=True):
        p -= g * learning_rate
    return params


def backward_propagation(inputs, targets, outputs, hidden_states, params, learning_rate=0.01, bugs=BUGS):
    """Gradients, value clipping at 1 and an SGD update, as the notebook does in one function."""
    grads, loss = gradients(inputs, targets, outputs, hidden_states, params, bugs)
    clip_gradients(grads)
    return update_params(grads, params, learning_rate), loss


def encode(ids: np.ndarray, vocab_size: int = 26) -> np.ndarray:
    """Token ids (N, T) -> the notebook's one-hot columns (N, T, V, 1)."""
    N, T = ids.shape
    x = np.zeros((N, T, vocab_size, 1))
    x[np.arange(N)[:, None], np.arange(T)[None, :], ids] = 1
    return x


def train(x, y, epochs, hidden_size, vocab_size, learning_rate=0.001, rng=None, bugs=BUGS, params=None):
    """The notebook's training loop: per-sample forward, backward, clip and update.

    x, y: one-hot (N, T, V, 1). Returns ``(params, loss_history)`` (mean loss per epoch).
    """
    params = init_params(hidden_size, vocab_size, rng) if params is None else params
    history = []
    for _ in range(epochs):
        losses = []
        for i in range(len(x)):
            outputs, hidden_states = forward_propagation(x[i], params, hidden_size)
            params, loss = backward_propagation(x[i], y[i], outputs, hidden_states, params, learning_rate, bugs)
            if np.isnan(loss):
                raise ValueError("Gradients have vanished!")
            losses.append(loss)
        history.append(float(np.mean(losses)))
    return params, history


def check_bugs(bugs=BUGS, hidden_size: int = 6, seq_len: int = 5, rng=0, eps: float | None = None) -> GradcheckReport:
    """Gradient-check the notebook's backward pass with the given bugs switched on.

    Builds small random parameters and one random letter sequence, and compares
    :func:`gradients` with central differences of :func:`sequence_loss` (the loss the
    notebook's code computes). Returns the relative error per parameter: < 1e-6 with
    ``bugs=()``, far above it for each bug.
    """
    rng = as_generator(rng)
    vocab = 26
    params = tuple(p.astype(np.float64) for p in init_params(hidden_size, vocab, rng))
    # non-zero biases so every gradient term is exercised
    params[3][...] = rng.standard_normal(params[3].shape) * 0.1
    params[4][...] = rng.standard_normal(params[4].shape) * 0.1
    seq = rng.integers(0, vocab, size=(1, seq_len + 1))
    x = encode(seq[:, :-1], vocab)[0]
    y = encode(seq[:, 1:], vocab)[0]
    outputs, hidden = forward_propagation(x, params, hidden_size)
    grads, _ = gradients(x, y, outputs, hidden, params, bugs)
    analytic = dict(zip(PARAM_NAMES, grads, strict=True))
    arrays = dict(zip(PARAM_NAMES, params, strict=True))
    return check_gradients(lambda: sequence_loss(x, y, params, hidden_size, bugs), arrays, analytic, eps)
