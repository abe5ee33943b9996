"""Nothing a user saved is lost: run folders are locked, foreign folders and files are never written over,
and a failed write is one line that names the path."""

import errno
import json
import os
import signal
import subprocess
import sys

import pytest

from rnnlab.cli import main
from rnnlab.errors import ConfigError
from rnnlab.runs import Run, RunLock

SMALL = ["--samples", "60", "--val-samples", "20", "--hidden-size", "4", "--epochs", "1", "--quiet", "--no-plot"]
HOLD = ("import sys, time\nfrom rnnlab.runs import RunLock\nRunLock(sys.argv[1]).acquire()\n"
        "print('locked', flush=True)\ntime.sleep(60)\n")


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def holder(folder):
    """Another process that holds the run folder's lock until it is killed."""
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def kill(proc) -> None:
    proc.send_signal(signal.SIGKILL)  # as a crash would: no clean-up runs
    proc.communicate()


def test_a_run_being_trained_elsewhere_is_refused_and_a_killed_holder_leaves_no_lock(tmp_path, capsys):
    folder = tmp_path / "run"
    proc = holder(folder)
    try:
        assert main(["train", "letters", *SMALL, "--out", str(folder)]) == 2
        assert "in use by another rnnlab process" in one_error_line(capsys)
        assert not (folder / "config.json").exists()  # nothing written beside the other process
    finally:
        kill(proc)
    assert main(["train", "letters", *SMALL, "--out", str(folder)]) == 0  # the OS let go of the lock
    proc = holder(folder)
    try:
        assert main(["resume", str(folder), "--epochs", "1", "--quiet", "--no-plot"]) == 2
        assert "in use by another rnnlab process" in one_error_line(capsys)
    finally:
        kill(proc)


def test_the_lock_holds_within_one_process_too(tmp_path):
    config = {"task": "letters", "data": {"samples": 10, "val_samples": 5}}
    (tmp_path / "r").mkdir()
    with Run.create(tmp_path / "r", config):
        with pytest.raises(ConfigError, match="in use"):
            Run.create(tmp_path / "r", config)
        with pytest.raises(ConfigError, match="in use"):
            RunLock(tmp_path / "r").acquire()
    RunLock(tmp_path / "r").acquire().release()  # released on leaving the block
    with pytest.raises(ConfigError, match="no run folder"):
        RunLock(tmp_path / "nowhere").acquire()


def test_a_folder_of_the_users_own_is_never_written_into(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "history.csv").write_text("my own numbers\n")
    (mine / "model.npz").write_bytes(b"my own model")
    assert main(["train", "letters", *SMALL, "--out", str(mine)]) == 2
    assert "holds files that are not an rnnlab run (history.csv, model.npz)" in one_error_line(capsys)
    assert (mine / "history.csv").read_text() == "my own numbers\n"
    assert (mine / "model.npz").read_bytes() == b"my own model"
    assert sorted(p.name for p in mine.iterdir()) == ["history.csv", "model.npz"]
    assert main(["train", "letters", *SMALL, "--out", ""]) == 2
    assert "--out should name a folder" in one_error_line(capsys)


def test_a_run_that_never_saved_a_checkpoint_can_be_started_again(tmp_path, capsys):
    folder = tmp_path / "r"
    assert main(["train", "letters", *SMALL, "--samples", "200", "--lr", "1e10", "--optimizer", "sgd",
                 "--nonlinearity", "relu", "--clip-norm", "none", "--out", str(folder)]) == 2
    err = one_error_line(capsys)
    assert "diverged" in err and "nothing was saved: the same --out starts the run again" in err
    assert sorted(p.name for p in folder.iterdir() if p.name != ".lock") == ["config.json"]
    assert main(["resume", str(folder)]) == 2
    assert "no epoch of it finished; start it again with `rnnlab train letters --out" in one_error_line(capsys)
    assert main(["train", "letters", *SMALL, "--out", str(folder)]) == 0
    assert json.loads((folder / "config.json").read_text())["train"]["lr"] != 1e10  # the new config, not the old
    assert (folder / "last.npz").exists()


@pytest.fixture(scope="module")
def forecast_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "f"
    assert main(["train", "forecast", "sunspots", "--window", "24", "--hidden-size", "4", "--epochs", "1",
                 "--quiet", "--no-plot", "--out", str(folder)]) == 0
    return folder


def test_forecast_never_replaces_a_file_unasked(forecast_run, tmp_path, capsys):
    csv_path, png_path = tmp_path / "f.csv", tmp_path / "f.png"
    csv_path.write_text("mine\n")
    assert main(["forecast", str(forecast_run), "--out", str(csv_path)]) == 2
    assert "f.csv exists" in one_error_line(capsys) and csv_path.read_text() == "mine\n"
    csv_path.unlink()
    png_path.write_bytes(b"my picture")  # the picture beside the CSV, which the user never named
    assert main(["forecast", str(forecast_run), "--out", str(csv_path)]) == 2
    assert "f.png exists" in one_error_line(capsys)
    assert png_path.read_bytes() == b"my picture" and not csv_path.exists()
    assert main(["forecast", str(forecast_run), "--out", str(csv_path), "--force"]) == 0
    assert csv_path.read_text().startswith("step,date,")
    capsys.readouterr()
    for _ in range(2):  # the run's own forecast.csv is rnnlab's to rewrite
        assert main(["forecast", str(forecast_run)]) == 0


def test_plot_and_gradient_flow_never_replace_a_file_unasked(forecast_run, tmp_path, capsys):
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"mine")
    for argv in (["plot", str(forecast_run), "--out", str(mine)],
                 ["gradient-flow", "--steps", "5", "--hidden-size", "3", "--out", str(mine)]):
        assert main(argv) == 2
        assert "mine.png exists" in one_error_line(capsys) and mine.read_bytes() == b"mine"
        assert main([*argv, "--force"]) == 0
        assert mine.read_bytes()[:4] == b"\x89PNG"
        mine.write_bytes(b"mine")
        capsys.readouterr()


@pytest.mark.parametrize("where", ["a folder", "under a file"])
def test_an_unwritable_output_is_one_line_naming_the_path(forecast_run, tmp_path, capsys, where):
    (tmp_path / "afile").write_text("x")
    target = tmp_path / "adir" if where == "a folder" else tmp_path / "afile" / "f.csv"
    if where == "a folder":
        target.mkdir()
    assert main(["forecast", str(forecast_run), "--out", str(target)]) == 2
    err = one_error_line(capsys)
    assert str(target) in err or "is a folder" in err
    assert main(["train", "letters", *SMALL, "--out", str(tmp_path / "afile" / "run")]) == 2
    assert "afile" in one_error_line(capsys)


def disk_full(*_):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_is_one_line_and_the_run_is_left_as_it_was(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "r"
    assert main(["train", "letters", *SMALL, "--out", str(folder)]) == 0
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    with monkeypatch.context() as m:
        m.setattr(os, "fsync", disk_full)  # every file rnnlab writes is synced before it replaces the old one
        assert main(["resume", str(folder), "--epochs", "3", "--quiet", "--no-plot"]) == 2
        err = one_error_line(capsys)
        assert f"cannot write {folder}" in err and "No space left on device" in err and "unchanged" in err
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before  # no temporary left over
    assert main(["resume", str(folder), "--epochs", "2", "--quiet", "--no-plot"]) == 0  # room again: it goes on
    assert len((folder / "history.csv").read_text().splitlines()) == 4  # the header, the first epoch, two more


def test_a_disk_full_before_the_first_save_leaves_nothing_behind(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "new"
    with monkeypatch.context() as m:
        m.setattr(os, "fsync", disk_full)
        assert main(["train", "letters", *SMALL, "--out", str(folder)]) == 2
        err = one_error_line(capsys)
        assert "No space left on device" in err and "nothing was written" in err
    assert not folder.exists()  # the folder train made is gone, so the same command simply runs again
    assert main(["train", "letters", *SMALL, "--out", str(folder)]) == 0


def test_config_values_of_the_wrong_type_are_refused_not_coerced(tmp_path, capsys):
    for text, message in [('{"model": {"bidirectional": "true"}}', None),
                          ('{"model": {"dropout": "0.1"}}', "dropout should be a number"),
                          ('{"train": {"shuffle": 1}}', "shuffle should be true or false"),
                          ('{"model": 5}', "the [model] section should be a table"),
                          ('{"model": null}', "the [model] section should be a table"),
                          ('{"data": {"samples": 1.5}}', "samples should be a positive integer")]:
        path = tmp_path / "c.json"
        path.write_text(text)
        task = "classify" if "bidirectional" in text else "letters"
        assert main(["train", task, "--config", str(path), "--out", str(tmp_path / "x")]) == 2
        err = one_error_line(capsys)
        assert (message is None and "bidirectional should be true or false, got 'true'" in err) or message in err
        assert not (tmp_path / "x").exists()


def test_a_deeply_nested_config_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100000 + "]" * 100000)
    assert main(["train", "letters", "--config", str(path)]) == 2
    assert "is not valid JSON" in one_error_line(capsys)


def test_the_lock_file_names_its_holder(tmp_path):
    lock = RunLock(tmp_path).acquire()
    assert (tmp_path / ".lock").read_text().strip() == str(os.getpid())
    lock.release()


@pytest.mark.parametrize(("argv", "message"), [
    (["train", "letters", "--hidden-size", "100000000"], "lower hidden_size (--hidden-size)"),
    (["train", "letters", "--samples", "1000000000"], "lower --samples"),
    (["train", "letters", "--seq-len", "1000000000", "--samples", "10"], "or --seq-len"),
    (["train", "letters", "--schedule", "cosine", "--min-lr", "1"], "min_lr (1) should not exceed lr"),
    (["forecast", "nowhere", "--steps", "1000000000"], "expected an integer >= 1 and <= 100000"),
])
def test_requests_beyond_this_machine_are_refused_up_front(tmp_path, capsys, argv, message):
    assert main([*argv, "--out", str(tmp_path / "r")] if argv[0] == "train" else argv) == 2
    assert message in one_error_line(capsys)
    assert not (tmp_path / "r").exists()


def test_resume_and_evaluate_notice_a_changed_data_file(tmp_path, capsys):
    series = tmp_path / "s.csv"
    series.write_text("y\n" + "".join(f"{(i % 12) + 0.01 * i:.3f}\n" for i in range(200)))
    folder = tmp_path / "r"
    assert main(["train", "forecast", str(series), "--window", "12", "--hidden-size", "3", "--epochs", "1",
                 "--quiet", "--no-plot", "--out", str(folder)]) == 0
    recorded = json.loads((folder / "data.json").read_text())["files"]
    assert list(recorded) == [str(series)] and recorded[str(series)].startswith("sha256:")
    assert main(["evaluate", str(folder)]) == 0
    capsys.readouterr()
    series.write_text(series.read_text().replace("0.000", "9.999", 1))  # one value edited
    for argv in (["evaluate", str(folder)], ["resume", str(folder), "--epochs", "1", "--quiet", "--no-plot"]):
        assert main(argv) == 2
        err = one_error_line(capsys)
        assert f"{series} changed since {folder} was trained" in err and "--allow-changed-data" in err
        assert main([*argv, "--allow-changed-data"]) == 0
        assert f"note: {series} changed since" in capsys.readouterr().err


def ts_file(path, rows):
    """A small .ts file: one dimension, the given (values, label) rows."""
    labels = sorted({label for _, label in rows})
    path.write_text(f"@classLabel true {' '.join(labels)}\n@data\n"
                    + "".join(",".join(map(str, values)) + f":{label}\n" for values, label in rows))
    return path


def test_data_with_nothing_to_learn_is_refused_before_training(tmp_path, capsys):
    out = str(tmp_path / "r")
    (tmp_path / "a.txt").write_text("a" * 5000)
    one_class = ts_file(tmp_path / "one.ts", [([1, 2, 3], "x")] * 20)
    two = ts_file(tmp_path / "two.ts", [([1, 2, 3], "x"), ([3, 2, 1], "y")] * 10)
    other = ts_file(tmp_path / "other.ts", [([1, 2], "z")] * 4)
    flat = tmp_path / "flat.csv"
    flat.write_text("y\n" + "5\n" * 300)
    wave = tmp_path / "wave.csv"
    wave.write_text("y\n" + "".join(f"{i % 7}\n" for i in range(300)))
    for argv, message in [
        (["train", "text", str(tmp_path / "a.txt")], "holds a single distinct character ('a')"),
        (["train", "classify", str(one_class)], "every sequence carries the class 'x'"),
        (["train", "classify", str(two), "--test-file", str(other)], "classes the training file"),
        (["train", "forecast", str(flat), "--window", "12"], "column 'y' is constant over the training part"),
        (["train", "forecast", str(wave), "--window", "12", "--season", "7"], "repeats exactly every 7 steps"),
        (["train", "forecast", str(wave), "--window", "12", "--season", "250"], "the season (250 steps) is not"),
        (["train", "forecast", str(wave), "--window", "1"], "a window of 1 step read relative to its last value"),
    ]:
        assert main([*argv, "--quiet", "--no-plot", "--out", out]) == 2, argv
        assert message in one_error_line(capsys)
        assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("cell", ["inf", "1e400", "-inf"])
def test_infinite_values_are_named_not_reported_as_missing(tmp_path, capsys, cell):
    series = tmp_path / "s.csv"
    series.write_text("y\n" + "1\n" * 50 + f"{cell}\n" + "2\n" * 50)
    assert main(["train", "forecast", str(series), "--out", str(tmp_path / "r")]) == 2
    err = one_error_line(capsys)
    assert f"line 52, column 'y': '{cell}' is not a finite number" in err and "missing values" not in err


def test_values_beyond_what_scaling_can_hold_are_named_before_training(tmp_path, capsys):
    series = tmp_path / "s.csv"
    series.write_text("y\n" + "".join(f"{(i % 5) * 1e300}\n" for i in range(300)))
    assert main(["train", "forecast", str(series), "--window", "12", "--out", str(tmp_path / "r")]) == 2
    assert "column 'y' holds values up to 4e+300, too large to standardise" in one_error_line(capsys)


def test_clip_norm_zero_is_off_however_it_is_written(tmp_path):
    for text in ("0", "0.0", "none", "off"):
        assert main(["train", "letters", *SMALL, "--clip-norm", text, "--out", str(tmp_path / text)]) == 0
        assert json.loads((tmp_path / text / "config.json").read_text())["train"]["clip_norm"] is None


def test_a_model_file_with_a_deeply_nested_header_is_one_line(tmp_path, capsys):
    import numpy as np

    from rnnlab.io import HEADER_KEY

    path = tmp_path / "deep.npz"
    np.savez(path, **{HEADER_KEY: np.frombuffer(b"[" * 100000 + b"]" * 100000, np.uint8)})
    assert main(["info", str(path)]) == 2
    assert "the header is not valid UTF-8 JSON (RecursionError" in one_error_line(capsys)
