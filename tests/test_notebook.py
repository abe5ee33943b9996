"""The gradient check catches each of the notebook's four backward-pass bugs (REFERENCE.md section 1)."""

import numpy as np
import pytest

from rnnlab import notebook
from rnnlab.data import letter_task

# which parameters each bug corrupts
AFFECTED = {
    "double_tanh": {"U", "V", "bh"},
    "assign_dW": {"W"},
    "h_t_for_dV": {"V"},
    "loss_mean": {"U", "V", "W", "bh", "by"},
}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fixed_backward_pass_passes(seed):
    report = notebook.check_bugs((), rng=seed)
    assert report.max_error < 1e-6, str(report)


@pytest.mark.parametrize("bug", notebook.BUGS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_bug_alone_is_caught_on_exactly_the_parameters_it_corrupts(bug, seed):
    report = notebook.check_bugs((bug,), rng=seed)
    assert set(report.failures(1e-6)) == AFFECTED[bug], str(report)
    assert min(report[name] for name in AFFECTED[bug]) > 1e-4


def test_the_published_notebook_fails_everywhere():
    report = notebook.check_bugs(notebook.BUGS, rng=0)
    assert set(report.failures(1e-6)) == set(notebook.PARAM_NAMES)


def test_the_mean_bug_is_a_26x_scale():
    grads_bug, _ = _grads(("loss_mean",))
    grads_ok, _ = _grads(())
    num_bug = notebook.check_bugs(("loss_mean",), rng=0)
    # analytic gradients are identical (the bug is in the loss): only the numeric side differs, by 26x
    for a, b in zip(grads_bug, grads_ok, strict=True):
        np.testing.assert_array_equal(a, b)
    assert num_bug["W"] == pytest.approx(25 / 27, rel=1e-4)


def _grads(bugs):
    rng = np.random.default_rng(0)
    params = notebook.init_params(5, 26, rng)
    seq = rng.integers(0, 26, (1, 6))
    x, y = notebook.encode(seq[:, :-1])[0], notebook.encode(seq[:, 1:])[0]
    out, hid = notebook.forward_propagation(x, params, 5)
    return notebook.gradients(x, y, out, hid, params, bugs)


def test_notebook_training_loop_runs_and_fixed_version_learns():
    x, y = letter_task(60, rng=0)
    X, Y = notebook.encode(x), notebook.encode(y)
    _, hist_fixed = notebook.train(X, Y, epochs=8, hidden_size=16, vocab_size=26, learning_rate=0.05, rng=1, bugs=())
    assert hist_fixed[-1] < hist_fixed[0]
    _, hist_bugs = notebook.train(X, Y, epochs=2, hidden_size=16, vocab_size=26, learning_rate=0.05, rng=1)
    assert len(hist_bugs) == 2
