"""``rnnlab export`` and ``rnnlab info`` on .onnx files: trained runs served by onnxruntime give
exactly what rnnlab's own commands give."""

from __future__ import annotations

import numpy as np
import pytest

from cli_helpers import error_of, run_json
from rnnlab import datasets
from rnnlab.cli import main
from rnnlab.models import load_model

pytest.importorskip("onnx", reason="the ONNX export needs onnx: pip install 'rnnlab[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="checking exports needs onnxruntime: pip install 'rnnlab[onnx]'")


def session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def forecast_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export-fc")
    t = np.arange(240)
    y = 10 + np.sin(2 * np.pi * t / 12) + 0.01 * t
    lines = ["date,y"] + [f"{np.datetime64('2000-01-03') + np.timedelta64(7 * int(i), 'D')},{v:.4f}"
                          for i, v in enumerate(y)]
    (folder / "s.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = folder / "run"
    assert main(["train", "forecast", str(folder / "s.csv"), "--column", "y", "--window", "24", "--horizon", "3",
                 "--hidden-size", "8", "--epochs", "2", "--quiet", "--out", str(out)]) == 0
    return out, y


def test_export_writes_beside_the_model_and_the_forecast_is_rnnlab_forecast_s(forecast_run, capsys):
    run, y = forecast_run
    summary = run_json(["export", str(run)], capsys)
    assert summary["file"] == str(run / "model.onnx") and summary["onnxruntime_difference"] < 1e-5
    assert [t["name"] for t in summary["inputs"]] == ["window"]
    theirs = session(run / "model.onnx").run(None, {"window": y[-24:][None, :, None]})[0][0, :, 0]
    ours = [row["y"] for row in run_json(["forecast", str(run), "--steps", "3", "--from-end"], capsys)["forecast"]]
    assert np.abs(theirs - ours).max() < 1e-5 * np.abs(ours).max()


def test_the_classifier_s_classes_on_japanese_vowels_test_set_are_identical(tmp_path, capsys):
    out = tmp_path / "jv"
    assert main(["train", "classify", "--hidden-size", "12", "--epochs", "3", "--bidirectional", "true", "--quiet",
                 "--out", str(out)]) == 0
    assert main(["export", str(out), "--out", str(tmp_path / "jv.onnx")]) == 0
    assert "largest difference from rnnlab" in capsys.readouterr().out
    (x, lengths, _), _ = datasets.load_sequences("japanese-vowels", split="test")
    probs = session(tmp_path / "jv.onnx").run(None, {"inputs": x.astype(np.float32),
                                                     "sequence_lens": lengths.astype(np.int32)})[0]
    assert len(probs) == 370
    assert (probs.argmax(1) == load_model(out / "model.npz").predict(x, lengths)).all()


def test_info_describes_an_export(forecast_run, capsys):
    run, _ = forecast_run
    assert main(["export", str(run), "--out", str(run / "info.onnx")]) == 0
    capsys.readouterr()
    assert main(["info", str(run / "info.onnx")]) == 0
    text = capsys.readouterr().out
    assert "ONNX export of a Forecaster (task forecast, opset 17)" in text
    assert "inputs: window float64 (N, 24, 1)" in text and "outputs: forecast float64 (N, 3, 1)" in text
    assert run_json(["info", str(run / "info.onnx")], capsys)["metadata"]["targets"] == '["y"]'


def test_export_refuses_to_replace_a_file_of_yours_and_names_bad_files(forecast_run, tmp_path, capsys):
    run, _ = forecast_run
    mine = tmp_path / "mine.onnx"
    mine.write_bytes(b"precious")
    assert "add --force" in error_of(["export", str(run), "--out", str(mine)], capsys)
    assert mine.read_bytes() == b"precious"
    assert main(["export", str(run), "--out", str(mine), "--force"]) == 0
    assert "should end in .onnx" in error_of(["export", str(run), "--out", str(tmp_path / "m.txt")], capsys)
    (tmp_path / "cut.onnx").write_bytes(mine.read_bytes()[:100])
    assert "cut.onnx is not a readable ONNX model" in error_of(["info", str(tmp_path / "cut.onnx")], capsys)
    assert "is it a run folder" in error_of(["export", str(tmp_path)], capsys)
