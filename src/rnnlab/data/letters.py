"""The notebook's letter task, exactly, and its harder Fibonacci variant.

A sequence has ``seq_len + 1`` letter indices. The first two are uniform in 0..25.

- ``variant="sum"`` (the notebook's rule): every later index is the sum of *all* previous
  indices mod 26. From the fourth letter on, this equals twice the previous letter mod 26
  (the running sum doubles), so only the third letter (a0 + a1) needs memory.
- ``variant="fibonacci"``: every later index is the sum of the previous *two* mod 26, so
  every step after the first needs memory of the step before.

The input is the first ``seq_len`` letters and the target the last ``seq_len`` (the input
shifted by one). Target step 0 is the second random letter: pure chance, ln 26 = 3.258 nats
at best. Over ``seq_len`` = 5 steps the best possible mean cross-entropy is therefore
ln(26) / 5 = 0.652 nats (docs/from-the-notebook.md explains).
"""

from __future__ import annotations

import numpy as np

from rnnlab._checks import check_int, check_memory
from rnnlab.data.vocab import Vocab
from rnnlab.errors import ConfigError
from rnnlab.nn.init import as_generator

LETTERS = Vocab("abcdefghijklmnopqrstuvwxyz")
VARIANTS = ("sum", "fibonacci")


def letter_sequences(n_samples: int, length: int = 6, *, variant: str = "sum", rng=None) -> np.ndarray:
    """Full letter sequences as ids: (n_samples, length) int64 (see the module docstring)."""
    n_samples = check_int("n_samples", n_samples)
    length = check_int("sequence length", length, minimum=2)
    if variant not in VARIANTS:
        raise ConfigError(f"variant should be one of {', '.join(VARIANTS)}, got {variant!r}")
    # the sequences, the inputs and targets cut from them, and the model's activations over them
    check_memory(f"{n_samples:,} letter sequences of length {length}", 8 * 4 * n_samples * length,
                 "lower --samples / --val-samples or --seq-len")
    rng = as_generator(rng)
    seq = np.zeros((n_samples, length), np.int64)
    seq[:, :2] = rng.integers(0, 26, size=(n_samples, 2))
    for k in range(2, length):
        if variant == "sum":
            seq[:, k] = seq[:, :k].sum(axis=1) % 26
        else:
            seq[:, k] = (seq[:, k - 1] + seq[:, k - 2]) % 26
    return seq


def letter_task(n_samples: int, *, seq_len: int = 5, variant: str = "sum", rng=None) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and next-letter targets: two (n_samples, seq_len) int64 arrays of ids 0..25.

    ``targets[:, t] == inputs[:, t + 1]`` for t < seq_len - 1: the target is the input
    shifted by one. Pass a seed or ``np.random.Generator`` as ``rng`` for reproducible data.

    Example::

        >>> x, y = letter_task(3, rng=0)
        >>> x.shape, y.shape
        ((3, 5), (3, 5))
        >>> bool((y[:, 1] == (x[:, 0] + x[:, 1]) % 26).all())
        True
    """
    seq_len = check_int("seq_len", seq_len)
    seq = letter_sequences(n_samples, seq_len + 1, variant=variant, rng=rng)
    return seq[:, :-1].copy(), seq[:, 1:].copy()


def format_samples(inputs: np.ndarray, targets: np.ndarray, n: int = 5, vocab: Vocab = LETTERS) -> str:
    """A small table of the first ``n`` samples, like the notebook's DataFrame.

    inputs, targets: (N, T) ids.
    """
    n = min(n, len(inputs))
    width = 2 * inputs.shape[1] - 1
    lines = [f"{'':>4}  {'input':<{width}}    {'target':<{width}}"]
    for i in range(n):
        x = " ".join(vocab.decode(inputs[i]))
        y = " ".join(vocab.decode(targets[i]))
        lines.append(f"{i:>4}  {x:<{width}} -> {y:<{width}}")
    return "\n".join(lines)
