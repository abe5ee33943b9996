"""Choosing the thread count: from Python and with --threads, recorded in the run's history."""

import pytest

import rnnlab
from rnnlab import ConfigError
from rnnlab.cli import main
from rnnlab.training import History

pytest.importorskip("threadpoolctl", reason="choosing the thread count needs threadpoolctl: pip install 'rnnlab[fast]'")


@pytest.fixture
def threads_kept():
    before = rnnlab.get_num_threads()
    yield
    rnnlab.set_num_threads(before)


def test_set_num_threads_sets_blas_and_refuses_what_the_machine_lacks(threads_kept):
    import os

    rnnlab.set_num_threads(1)
    assert rnnlab.get_num_threads() == 1
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ConfigError, match="threads should be a positive integer"):
            rnnlab.set_num_threads(bad)
    with pytest.raises(ConfigError, match="at most this machine's"):
        rnnlab.set_num_threads((os.cpu_count() or 1) + 1)


def test_threads_on_the_command_line_are_recorded_in_the_history(tmp_path, capsys, threads_kept):
    run = tmp_path / "r"
    argv = ["train", "letters", "--samples", "40", "--val-samples", "10", "--hidden-size", "4", "--epochs", "1",
            "--quiet", "--no-plot", "--threads", "1", "--out", str(run)]
    assert main(argv) == 0
    history = History.from_csv((run / "history.csv").read_text())
    assert history["threads"] == [1]
    assert main(["info", str(run)]) == 0
    out = capsys.readouterr().out
    assert "on 1 thread(s)" in out and "runs here on " in out and " kernels" in out
    assert main(["train", "letters", "--threads", "0", "--out", str(tmp_path / "x")]) == 2
    assert "--threads: expected a positive integer" in capsys.readouterr().err


def test_a_history_written_before_the_threads_column_is_still_read():
    old = "epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,time_s,seq_per_s\n1,2.5,0.4,2.0,0.5,0.003,1.0,500\n"
    history = History.from_csv(old)
    assert history["threads"] == [None] and history["train_loss"] == [2.5]


def test_version_names_the_kernels(capsys):
    assert main(["--version"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"rnnlab {rnnlab.__version__}" and out[1].startswith("kernels: ")
