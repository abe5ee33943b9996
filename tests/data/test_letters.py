"""The notebook's letter task."""

import numpy as np
import pytest

from rnnlab import ConfigError
from rnnlab.data import LETTERS, format_samples, letter_sequences, letter_task


def notebook_rule(first_two, length):
    """The notebook's generate_data loop, for one sequence."""
    arr = list(first_two)
    while len(arr) < length:
        arr.append(sum(arr) if sum(arr) < 26 else sum(arr) % 26)
    return arr


def test_sum_variant_is_the_notebooks_rule():
    seq = letter_sequences(500, 6, variant="sum", rng=0)
    for row in seq:
        assert row.tolist() == notebook_rule(row[:2].tolist(), 6)


def test_fibonacci_variant():
    seq = letter_sequences(300, 8, variant="fibonacci", rng=0)
    assert ((seq[:, 2:] - seq[:, 1:-1] - seq[:, :-2]) % 26 == 0).all()


def test_task_structure_the_analysis_relies_on():
    x, y = letter_task(2000, rng=1)
    assert x.shape == y.shape == (2000, 5) and x.dtype == np.int64
    np.testing.assert_array_equal(y[:, :-1], x[:, 1:])  # targets are the inputs shifted by one
    assert ((y[:, 1] - x[:, 0] - x[:, 1]) % 26 == 0).all()  # step 1: a0 + a1, needs memory
    assert ((y[:, 2:] - 2 * x[:, 2:]) % 26 == 0).all()  # later steps: twice the current input
    counts = np.bincount(y[:, 0], minlength=26)  # step 0 is uniform: no model can beat chance
    assert counts.min() > 40 and counts.max() < 120


def test_seeded_and_independent():
    a = letter_task(50, rng=3)
    b = letter_task(50, rng=3)
    c = letter_task(50, rng=4)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_bad_arguments():
    with pytest.raises(ConfigError, match="variant"):
        letter_task(10, variant="tribonacci")
    with pytest.raises(ConfigError, match="n_samples"):
        letter_task(0)
    with pytest.raises(ConfigError, match="seq_len"):
        letter_task(5, seq_len=0)


def test_format_samples_shows_letters():
    x, y = letter_task(3, rng=0)
    table = format_samples(x, y, n=2)
    lines = table.splitlines()
    assert len(lines) == 3
    assert " ".join(LETTERS.decode(x[0])) in lines[1] and " ".join(LETTERS.decode(y[0])) in lines[1]


def test_a_data_set_beyond_this_machine_is_refused_before_allocating():
    with pytest.raises(ConfigError, match=r"1,000,000,000 letter sequences of length 6 would need about .* GiB.*"
                                          r"--samples"):
        letter_task(10**9)
