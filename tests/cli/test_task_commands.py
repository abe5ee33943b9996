"""The command line on the text, forecast and classify tasks."""

import csv
import json

import numpy as np
import pytest

from cli_helpers import error_of, run_json
from rnnlab import datasets
from rnnlab.cli import main
from rnnlab.models import CharLM, Forecaster, SequenceClassifier, load_model

PNG = b"\x89PNG\r\n\x1a\n"


TEXT = "It is a truth universally acknowledged, that a single man in possession of a good fortune. " * 20


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text")
    (folder / "book.txt").write_text(TEXT, encoding="utf-8")
    out = folder / "run"
    assert main(["train", "text", str(folder / "book.txt"), "--hidden-size", "16", "--embedding-dim", "4",
                 "--num-layers", "1", "--seq-len", "12", "--batch-size", "4", "--epochs", "2", "--quiet",
                 "--out", str(out)]) == 0
    return out


def write_series(path, n=300, gaps=()):
    t = np.arange(n)
    y = 10 + np.sin(2 * np.pi * t / 12) + 0.01 * t
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["date", "y", "x"])
        for i in range(n):
            day = np.datetime64("2000-01-03") + np.timedelta64(7 * int(i), "D")
            w.writerow([str(day), "" if i in gaps else f"{y[i]:.4f}", f"{t[i] % 12}"])
    return path


@pytest.fixture(scope="module")
def forecast_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fc")
    out = folder / "run"
    assert main(["train", "forecast", str(write_series(folder / "s.csv")), "--column", "y", "--window", "24",
                 "--horizon", "3", "--season", "12", "--hidden-size", "8", "--epochs", "3", "--quiet",
                 "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def classify_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cls") / "run"
    assert main(["train", "classify", "--hidden-size", "8", "--epochs", "3", "--quiet", "--out", str(out)]) == 0
    return out


def test_train_text_writes_a_run_and_reports_bits_per_char(text_run, tmp_path, capsys):
    model = load_model(text_run / "model.npz")
    assert isinstance(model, CharLM) and model.vocab.tokens == sorted(set(TEXT))
    config = json.loads((text_run / "config.json").read_text())
    assert config["task"] == "text" and config["train"]["shuffle"] is False
    assert (text_run / "loss.png").read_bytes()[:8] == PNG
    out = run_json(["evaluate", str(text_run)], capsys)
    assert out["results"]["bits_per_char"] == pytest.approx(out["results"]["loss"] / np.log(2))
    (tmp_path / "other.txt").write_text(TEXT[:300])
    res = run_json(["evaluate", str(text_run), "--data", str(tmp_path / "other.txt")], capsys)
    assert res["results"]["bits_per_char"] > 0


def test_a_projected_lstm_trains_resumes_and_generates_from_the_command_line(tmp_path, capsys):
    (tmp_path / "book.txt").write_text(TEXT, encoding="utf-8")
    out = tmp_path / "run"
    args = ["train", "text", str(tmp_path / "book.txt"), "--hidden-size", "12", "--proj-size", "5", "--num-layers",
            "2", "--embedding-dim", "4", "--seq-len", "12", "--batch-size", "4", "--epochs", "1", "--quiet"]
    assert main([*args, "--out", str(out)]) == 0
    capsys.readouterr()
    model = load_model(out / "model.npz")
    assert model.rnn.proj_size == 5 and model.rnn.params["weight_hr_l1"].shape == (5, 12)
    assert json.loads((out / "config.json").read_text())["model"]["proj_size"] == 5
    assert "LSTM(4, 12, 2 layers, projected to 5)" in run_json(["info", str(out)], capsys)["architecture"]
    assert main(["resume", str(out), "--epochs", "2", "--quiet"]) == 0
    capsys.readouterr()
    assert len(run_json(["generate", str(out), "--prime", "It ", "--length", "20"], capsys)["text"]) == 20
    assert "LSTM only" in error_of([*args[:3], "--cell", "gru", "--proj-size", "2"], capsys)
    assert "proj_size (12) should be smaller than hidden_size (12)" in error_of([*args, "--proj-size", "12"], capsys)
    pytest.importorskip("onnx", reason="the ONNX export needs onnx: pip install 'rnnlab[onnx]'")
    assert "proj_size=5" in error_of(["export", str(out)], capsys)
    assert not (out / "model.onnx").exists()


def test_recurrent_dropout_trains_and_resumes_from_the_command_line(tmp_path, capsys):
    (tmp_path / "book.txt").write_text(TEXT, encoding="utf-8")
    out = tmp_path / "run"
    args = ["train", "text", str(tmp_path / "book.txt"), "--hidden-size", "8", "--recurrent-dropout", "0.25",
            "--embedding-dim", "4", "--seq-len", "12", "--batch-size", "4", "--epochs", "1", "--quiet"]
    assert main([*args, "--out", str(out)]) == 0
    capsys.readouterr()
    assert load_model(out / "model.npz").rnn.recurrent_dropout == 0.25
    assert json.loads((out / "config.json").read_text())["model"]["recurrent_dropout"] == 0.25
    assert "recurrent dropout 0.25" in run_json(["info", str(out)], capsys)["architecture"]
    assert main(["resume", str(out), "--epochs", "2", "--quiet"]) == 0
    capsys.readouterr()
    assert main([*args[:3], "--recurrent-dropout", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "argument --recurrent-dropout: expected a number >= 0 and < 1, got '1'" in err


def test_a_layer_normalised_lstm_trains_resumes_and_generates_from_the_command_line(tmp_path, capsys):
    (tmp_path / "book.txt").write_text(TEXT, encoding="utf-8")
    out = tmp_path / "run"
    args = ["train", "text", str(tmp_path / "book.txt"), "--hidden-size", "8", "--layer-norm", "--embedding-dim", "4",
            "--seq-len", "12", "--batch-size", "4", "--epochs", "1", "--quiet"]
    assert main([*args, "--out", str(out)]) == 0
    capsys.readouterr()
    assert load_model(out / "model.npz").rnn.params["ln_weight_c_l1"].shape == (8,)
    assert json.loads((out / "config.json").read_text())["model"]["layer_norm"] is True
    assert "layer norm" in run_json(["info", str(out)], capsys)["architecture"]
    assert main(["resume", str(out), "--epochs", "2", "--quiet"]) == 0
    capsys.readouterr()
    assert len(run_json(["generate", str(out), "--prime", "It ", "--length", "10"], capsys)["text"]) == 10
    assert "layer_norm applies to the LSTM and the GRU" in error_of([*args, "--cell", "rnn"], capsys)
    pytest.importorskip("onnx", reason="the ONNX export needs onnx: pip install 'rnnlab[onnx]'")
    assert "layer_norm=True" in error_of(["export", str(out)], capsys)
    assert not (out / "model.onnx").exists()


def test_generate_streams_text(text_run, capsys):
    assert main(["generate", str(text_run), "--prime", "It is a", "--length", "40", "--seed", "1",
                 "--temperature", "0.8"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("It is a") and len(out) == len("It is a") + 40 + 1
    again = run_json(["generate", str(text_run), "--prime", "It is a", "--length", "40", "--seed", "1",
                      "--temperature", "0.8"], capsys)
    assert "It is a" + again["text"] + "\n" == out
    greedy = run_json(["generate", str(text_run), "--prime", "It", "--greedy", "--length", "10"], capsys)
    assert greedy["text"] == load_model(text_run / "model.npz").greedy("It", 10)
    for extra in (["--top-k", "3"], ["--top-p", "0.9"]):
        assert len(run_json(["generate", str(text_run), "--prime", "a", "--length", "5", *extra], capsys)["text"]) == 5


def test_generate_errors(text_run, capsys):
    err = error_of(["generate", str(text_run), "--prime", "Zébra", "--length", "5"], capsys)
    assert "'Z', 'é'" in err and "--skip-unknown" in err
    assert main(["generate", str(text_run), "--prime", "Zébra", "--length", "5", "--skip-unknown"]) == 0
    capsys.readouterr()
    assert main(["generate", str(text_run), "--top-p", "1.5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "argument --top-p: expected a number > 0 and <= 1, got '1.5'" in err


def test_text_file_errors(tmp_path, capsys):
    assert "no such text file" in error_of(["train", "text", str(tmp_path / "none.txt"), "--out",
                                            str(tmp_path / "r")], capsys)
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    assert "not UTF-8" in error_of(["train", "text", str(tmp_path / "latin1.txt"), "--out", str(tmp_path / "r")],
                                   capsys)
    (tmp_path / "empty.txt").write_bytes(b"")
    assert "is empty" in error_of(["train", "text", str(tmp_path / "empty.txt"), "--out", str(tmp_path / "r")],
                                  capsys)
    (tmp_path / "short.txt").write_text("a short text " * 10)
    assert "too short for 32 streams" in error_of(["train", "text", str(tmp_path / "short.txt"), "--out",
                                                   str(tmp_path / "r")], capsys)
    assert not (tmp_path / "r").exists()  # nothing half-made


def test_train_forecast_reports_baselines(forecast_run, capsys):
    model = load_model(forecast_run / "model.npz")
    assert isinstance(model, Forecaster) and model.horizon == 3 and model.columns == ["y"]
    assert (forecast_run / "forecast-test.png").read_bytes()[:8] == PNG
    res = run_json(["evaluate", str(forecast_run)], capsys)["results"]
    assert set(res["test"]) == {"model", "persistence", "seasonal naive (12)", "drift (24)", "window mean (24)"}
    for r in res["test"].values():
        assert r["mase"] == pytest.approx(res["test"]["model"]["mase"] * r["mae"] / res["test"]["model"]["mae"])


def test_info_and_resume_of_a_forecast_run(forecast_run, tmp_path, capsys):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(forecast_run, run)
    assert main(["info", str(run)]) == 0
    out = capsys.readouterr().out
    assert "1 step(s)" not in out and "3 step(s) of y" in out and "val_acc" not in out
    assert main(["resume", str(run), "--epochs", "1", "--quiet", "--no-plot"]) == 0
    assert "3 step(s)" in capsys.readouterr().out
    with open(run / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and rows[-1]["val_accuracy"] == ""


def test_forecast_command_writes_csv_and_plot(forecast_run, tmp_path, capsys):
    out = run_json(["forecast", str(forecast_run), "--steps", "7", "--out", str(tmp_path / "f.csv")], capsys)
    assert out["steps"] == 7 and (tmp_path / "f.png").read_bytes()[:8] == PNG
    with open(tmp_path / "f.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 7 and rows[0]["date"] and all(r["y_actual"] for r in rows)
    assert out["mae"] == pytest.approx(np.mean([abs(float(r["y"]) - float(r["y_actual"])) for r in rows]))
    future = run_json(["forecast", str(forecast_run), "--steps", "5", "--from-end", "--out",
                       str(tmp_path / "g.csv")], capsys)
    assert all(r["y_actual"] is None for r in future["forecast"]) and "mae" not in future
    assert main(["forecast", str(forecast_run), "--steps", "4"]) == 0
    assert "4-step forecast of y" in capsys.readouterr().out and (forecast_run / "forecast.csv").exists()


def test_recursive_strategy_scores_a_one_step_model_fed_back(tmp_path, capsys):
    path = write_series(tmp_path / "s.csv")
    args = ["train", "forecast", str(path), "--column", "y", "--window", "24", "--horizon", "6", "--hidden-size", "4",
            "--epochs", "1", "--no-plot", "--strategy", "recursive", "--out", str(tmp_path / "r")]
    res = run_json(args, capsys)["results"]
    model = load_model(tmp_path / "r" / "model.npz")
    assert model.horizon == 1 and res["horizon"] == 6
    assert "feeds forecasts back" in error_of([*args[:-1], str(tmp_path / "r2"), "--features", "x"], capsys)


def test_multivariate_forecast_and_missing_values(tmp_path, capsys):
    path = write_series(tmp_path / "gaps.csv", gaps=(5, 6, 40))
    err = error_of(["train", "forecast", str(path), "--column", "y", "--window", "12", "--out",
                    str(tmp_path / "r")], capsys)
    assert "'y': 3 (first at 2000-02-07)" in err and "--missing interpolate" in err
    assert main(["train", "forecast", str(path), "--column", "y", "--features", "x", "--missing", "interpolate",
                 "--window", "12", "--horizon", "2", "--hidden-size", "4", "--epochs", "1", "--quiet", "--no-plot",
                 "--out", str(tmp_path / "r")]) == 0
    model = load_model(tmp_path / "r" / "model.npz")
    assert model.columns == ["y", "x"] and model.targets == ["y"]
    assert "feeding forecasts back" in error_of(["forecast", str(tmp_path / "r"), "--steps", "5"], capsys)
    assert "no column 'nope'" in error_of(["train", "forecast", str(path), "--column", "nope", "--out",
                                           str(tmp_path / "r2")], capsys)
    assert "has no accuracy" in error_of(["train", "forecast", str(path), "--column", "y", "--missing", "interpolate",
                                          "--monitor", "val_accuracy", "--out", str(tmp_path / "r4")], capsys)
    assert "choose the one(s) to forecast with --column" in error_of(
        ["train", "forecast", str(path), "--missing", "interpolate", "--out", str(tmp_path / "r3")], capsys)


def test_commands_check_the_model_kind(text_run, forecast_run, capsys):
    assert "needs a forecaster" in error_of(["forecast", str(text_run)], capsys)
    assert "needs a text model" in error_of(["generate", str(forecast_run)], capsys)


def test_train_classify_reports_test_accuracy_and_confusion(classify_run, capsys):
    model = load_model(classify_run / "model.npz")
    assert isinstance(model, SequenceClassifier) and model.classes == [str(k) for k in range(1, 10)]
    assert (classify_run / "confusion.png").read_bytes()[:8] == PNG
    res = run_json(["evaluate", str(classify_run)], capsys)["results"]
    cm = np.array(res["test"]["confusion"])
    assert cm.shape == (9, 9) and cm.sum() == 370
    assert res["test"]["accuracy"] == pytest.approx(np.trace(cm) / 370)
    test_file = datasets.get("japanese-vowels").path("test")
    again = run_json(["evaluate", str(classify_run), "--data", str(test_file)], capsys)["results"]
    assert again["confusion"] == res["test"]["confusion"]


def test_classify_file_errors(classify_run, tmp_path, capsys):
    (tmp_path / "bad.ts").write_text("@classLabel true 1 2\n@data\n1,2:x\n")
    assert "labels 'x' are not in @classLabel" in error_of(["evaluate", str(classify_run), "--data",
                                                            str(tmp_path / "bad.ts")], capsys)
    (tmp_path / "narrow.ts").write_text("@data\n1,2:1\n")
    assert "1 features a step; the model reads 12" in error_of(["evaluate", str(classify_run), "--data",
                                                                str(tmp_path / "narrow.ts")], capsys)
    assert "no such .ts file" in error_of(["train", "classify", str(tmp_path / "none.ts"), "--out",
                                           str(tmp_path / "r")], capsys)


def test_datasets_command(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("pride-and-prejudice", "sunspots", "co2", "japanese-vowels", "CC BY 4.0", "public domain"):
        assert name in out
    listing = run_json(["datasets"], capsys)["datasets"]
    assert [d["name"] for d in listing] == list(datasets.DATASETS)
    assert all(d["bytes"] > 10_000 for d in listing)


def test_text_epoch_log_shows_bits_per_char(tmp_path, capsys):
    (tmp_path / "t.txt").write_text(TEXT, encoding="utf-8")
    assert main(["train", "text", str(tmp_path / "t.txt"), "--hidden-size", "8", "--embedding-dim", "4",
                 "--num-layers", "1", "--seq-len", "12", "--batch-size", "4", "--epochs", "1", "--no-plot",
                 "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if x.startswith("epoch 1/1"))
    nats = float(line.split("val_loss ")[1].split()[0])
    bits = float(line.split("(")[1].split(" bits/char")[0])
    assert bits == pytest.approx(nats / np.log(2), abs=2e-3)
