"""``rnnlab tune`` on a tiny letters task: studies in a journal file, several workers, killed workers,
pruning, failing trials, and search spaces checked before anything runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rnnlab.cli import main

optuna = pytest.importorskip("optuna", reason="rnnlab tune needs optuna: pip install 'rnnlab[tune]'")

TINY = ["--samples", "120", "--val-samples", "60", "--epochs", "3", "--hidden-size", "8"]


def tune_command(folder, *extra) -> list[str]:
    return ["tune", "letters", "--dir", str(folder), *TINY, *extra]


def cli(args) -> list[str]:
    return [sys.executable, "-m", "rnnlab", *args]


def trials_of(folder, name="letters"):
    from optuna.storages.journal import JournalFileBackend

    storage = optuna.storages.JournalStorage(JournalFileBackend(str(folder / name / "study.journal")))
    return optuna.load_study(study_name=name, storage=storage).get_trials()


def summary_of(args, capsys) -> dict:
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_six_trial_study_leaves_run_folders_a_best_link_and_a_report(tmp_path, capsys):
    summary = summary_of(tune_command(tmp_path, "--trials", "6"), capsys)
    assert len(summary["trials"]) == 6 and sum(summary["counts"].values()) == 6
    study = tmp_path / "letters"
    for t in summary["trials"]:
        assert (study / f"trial-{t['number']:04d}" / "config.json").exists()
        assert set(t["params"]) == {"lr", "batch_size", "num_layers", "dropout", "cell"}  # hidden-size is fixed
        assert t["started"] < t["finished"]  # ISO times: each trial's own span
    best = study / "best"
    assert best.is_symlink() and (best / "model.npz").exists()
    assert os.readlink(best) == f"trial-{summary['best']['number']:04d}"
    assert {p.name for p in study.iterdir()} >= {"trials.csv", "history.png", "params.png", "study.journal"}
    assert main(["evaluate", str(best)]) == 0  # every trial is an ordinary run
    capsys.readouterr()
    # the same command again: the study is complete, nothing more runs
    assert len(summary_of(tune_command(tmp_path, "--trials", "6"), capsys)["trials"]) == 6
    report = subprocess.run(cli(["tune-report", str(study)]), capture_output=True, text=True, check=True).stdout
    assert "study letters: 6 trials" in report and "best: trial" in report


def test_the_same_seed_proposes_the_same_trials(tmp_path, capsys):
    runs = [summary_of(tune_command(tmp_path / str(k), "--trials", "3", "--pruner", "none"), capsys)
            for k in range(2)]
    assert [t["params"] for t in runs[0]["trials"]] == [t["params"] for t in runs[1]["trials"]]
    assert [t["value"] for t in runs[0]["trials"]] == [t["value"] for t in runs[1]["trials"]]


def test_two_workers_on_one_study_run_every_trial_once(tmp_path):
    args = cli(tune_command(tmp_path, "--trials", "8", "--pruner", "none"))
    workers = [subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    for w in workers:
        _, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
    trials = trials_of(tmp_path)
    assert 8 <= len(trials) <= 9  # two workers starting at the same moment may make one more
    assert all(t.state.name == "COMPLETE" for t in trials)
    assert len({t.user_attrs["pid"] for t in trials}) == 2  # both worked
    folders = [t.user_attrs["folder"] for t in trials]
    assert len(set(folders)) == len(folders)


def test_a_worker_killed_mid_trial_loses_only_that_trial_and_the_rerun_completes(tmp_path):
    slow = tune_command(tmp_path, "--trials", "4", "--pruner", "none", "--samples", "3000", "--epochs", "30")
    worker = subprocess.Popen(cli(slow), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = tmp_path / "letters" / "study.journal"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until a trial is running and has finished an epoch
        if journal.exists() and any(t.state.name == "RUNNING" and t.intermediate_values for t in trials_of(tmp_path)):
            break
        time.sleep(0.2)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    killed = [t for t in trials_of(tmp_path) if t.state.name == "RUNNING"]
    assert len(killed) == 1
    fast = tune_command(tmp_path, "--trials", "4", "--pruner", "none", "--retry-failed")
    assert subprocess.run(cli(fast), capture_output=True).returncode == 0
    trials = {t.number: t for t in trials_of(tmp_path)}
    lost = trials[killed[0].number]
    assert lost.state.name == "FAIL" and "stopped mid-trial" in lost.user_attrs["failure"]
    retry = [t for t in trials.values() if t.user_attrs.get("retry_of") == lost.number]
    assert len(retry) == 1 and retry[0].params == lost.params and retry[0].state.name == "COMPLETE"
    assert sum(t.state.name == "COMPLETE" for t in trials.values()) == 4  # the study holds its four trials


def test_pruning_stops_a_trial_worse_than_the_median(tmp_path, capsys):
    (tmp_path / "space.toml").write_text("lr = [0.02, 0.000001]\n", encoding="utf-8")
    summary = summary_of(tune_command(tmp_path, "--trials", "8", "--space", str(tmp_path / "space.toml"),
                                      "--epochs", "6"), capsys)
    pruned = [t for t in summary["trials"] if t["state"] == "pruned"]
    assert pruned and all(t["params"]["lr"] == 0.000001 and t["epochs"] < 6 for t in pruned)
    assert summary["epochs_saved_by_pruning"] == sum(6 - t["epochs"] for t in pruned) > 0


def test_a_diverging_trial_is_recorded_as_failed_and_the_study_goes_on(tmp_path, capsys):
    (tmp_path / "space.toml").write_text("lr = [1e30, 0.01]\n", encoding="utf-8")
    summary = summary_of(tune_command(tmp_path, "--trials", "5", "--space", str(tmp_path / "space.toml"),
                                      "--pruner", "none", "--optimizer", "sgd", "--clip-norm", "0"), capsys)
    failed = [t for t in summary["trials"] if t["state"] == "fail"]
    assert len(summary["trials"]) == 5 and failed and summary["counts"].get("complete")
    assert all(t["params"]["lr"] == 1e30 and "training diverged at epoch" in t["failure"] for t in failed)


@pytest.mark.parametrize("space, words", [
    ("learning-rate = { low = 0.1, high = 1 }", "'learning-rate' is not an option of rnnlab train letters"),
    ("lr = { low = 0.1, high = 0.01 }", "needs numbers low < high"),
    ("lr = { low = 0.0, high = 0.1, log = true }", "log = true needs low > 0"),
    ("cell = ['lstm', 'transformer']", "cell = 'transformer'"),
    ("dropout = { low = 0.0, high = 1.5 }", "dropout = 1.5"),
    ("num-layers = { low = 1.5, high = 3 }", "whole number"),
    ("cell = { low = 1, high = 2 }", "not a number"),
    ("lr = [", "not valid TOML"),
])
def test_a_bad_space_file_is_one_line_before_anything_runs(space, words, tmp_path, capsys):
    (tmp_path / "space.toml").write_text(space + "\n", encoding="utf-8")
    assert main(tune_command(tmp_path / "out", "--space", str(tmp_path / "space.toml"))) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "space.toml" in err
    assert not (tmp_path / "out").exists()


def test_fixed_options_leave_the_space_and_a_report_of_no_study_is_an_error(tmp_path, capsys):
    args = ["--lr", "0.01", "--batch-size", "32", "--num-layers", "1", "--dropout", "0", "--cell", "gru"]
    assert main(tune_command(tmp_path, *args)) == 2
    assert "nothing is left to search" in capsys.readouterr().err
    assert main(["tune-report", str(tmp_path / "nothing")]) == 2
    assert "holds no study" in capsys.readouterr().err


def test_hyperband_pruning_runs_a_study_too(tmp_path, capsys):
    summary = summary_of(tune_command(tmp_path, "--trials", "4", "--pruner", "hyperband"), capsys)
    assert len(summary["trials"]) == 4 and summary["counts"].get("complete")
