"""Recordings on the command line: train classify --audio, predict files, evaluate a folder, plot spectrograms."""

import json

import numpy as np
import pytest

from audio_helpers import RATE, tone, write_tones
from cli_helpers import error_of, run_json
from rnnlab import datasets
from rnnlab.cli import main
from rnnlab.data.audio_features import AudioFeatures
from rnnlab.models import SequenceClassifier, load_model
from rnnlab.runs import Run

soundfile = pytest.importorskip("soundfile", reason="audio needs soundfile: pip install 'rnnlab[audio]'")
pytest.importorskip("librosa", reason="audio needs librosa: pip install 'rnnlab[audio]'")

PNG = b"\x89PNG\r\n\x1a\n"
SMALL = ["--hidden-size", "8", "--epochs", "25", "--lr", "0.02", "--batch-size", "8", "--quiet"]


@pytest.fixture(scope="module")
def tones_run(tmp_path_factory):
    """A model trained on a manifest of low and high tones (its last two takes a class: the test split)."""
    folder = tmp_path_factory.mktemp("tones")
    manifest = write_tones(folder / "data", "manifest", per_class=10)
    out = folder / "run"
    assert main(["train", "classify", str(manifest), "--audio", "--features", "logmel", "--n-mels", "16",
                 "--deltas", "1", *SMALL, "--out", str(out)]) == 0
    return out


def test_training_on_a_manifest_tests_on_its_test_rows(tones_run):
    summary = json.loads((tones_run / "config.json").read_text())
    assert summary["data"]["audio"] is True
    model = load_model(tones_run / "model.npz")
    assert model.classes == ["high", "low"] and model.input_size == 32
    assert model.audio == AudioFeatures(features="logmel", n_mels=16, deltas=1, sample_rate=RATE)
    assert (tones_run / "confusion.png").read_bytes()[:8] == PNG
    assert (tones_run / "spectrograms.png").read_bytes()[:8] == PNG
    recorded = json.loads((tones_run / "data.json").read_text())["files"]
    assert len(recorded) == 21 and any(p.endswith("labels.csv") for p in recorded)  # every recording is vouched for


def test_the_normalisation_is_fitted_on_the_training_part_only(tones_run):
    model = load_model(tones_run / "model.npz")
    run = Run.open(tones_run)
    data = run.data()
    (x, lengths, _), (xv, lv, _) = data.train, data.validation
    valid = x[np.arange(x.shape[1])[None] < lengths[:, None]]
    np.testing.assert_allclose(model.mean, valid.mean(axis=0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(model.std, valid.std(axis=0), rtol=1e-6, atol=1e-6)
    both = np.concatenate([valid, xv[np.arange(xv.shape[1])[None] < lv[:, None]]])
    assert not np.allclose(model.mean, both.mean(axis=0))  # the validation part was left out


def test_predict_reads_files_of_another_sample_rate(tones_run, tmp_path, capsys):
    low = tmp_path / "low16k.wav"
    soundfile.write(low, tone("low", 0.15, 16000, seed=5), 16000)
    high = tmp_path / "high.flac"
    soundfile.write(high, tone("high", 0.12, RATE, seed=6), RATE)
    found = run_json(["predict", str(tones_run), str(low), str(high), "--top", "2"], capsys)["predictions"]
    assert [f["file"] for f in found] == [str(low), str(high)]
    assert [f["top"][0]["class"] for f in found] == ["low", "high"]
    assert all(sum(t["probability"] for t in f["top"]) == pytest.approx(1.0) for f in found)
    model = load_model(tones_run / "model.npz")  # the command computes what the model's own method does
    expected = model.predict_recordings([low, high])
    assert found[0]["top"][0]["probability"] == pytest.approx(expected[0].max(), rel=1e-6)
    assert main(["predict", str(tones_run), str(low), "--top", "1"]) == 0
    assert capsys.readouterr().out.startswith(f"{low}: low ")


def test_evaluate_a_folder_gives_accuracy_confusion_precision_recall(tones_run, tmp_path, capsys):
    folder = write_tones(tmp_path / "more", "folder", per_class=4)
    res = run_json(["evaluate", str(tones_run), "--data", str(folder)], capsys)["results"]
    cm = np.array(res["confusion"])
    assert cm.sum() == 8 and res["accuracy"] == pytest.approx(np.trace(cm) / 8)
    assert res["accuracy"] >= 0.75 and len(res["precision"]) == len(res["recall"]) == 2
    assert main(["evaluate", str(tones_run), "--data", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "confusion matrix" in out and "precision" in out


def test_plot_redraws_the_spectrograms(tones_run, capsys):
    (tones_run / "spectrograms.png").unlink()
    assert main(["plot", str(tones_run)]) == 0
    assert (tones_run / "spectrograms.png").read_bytes()[:8] == PNG


def test_a_folder_per_class_and_a_test_folder(tmp_path, capsys):
    train, test = write_tones(tmp_path / "train", per_class=6), write_tones(tmp_path / "test", per_class=2)
    summary = run_json(["train", "classify", str(train), "--audio", "--test-file", str(test), "--no-plot", *SMALL,
                        "--out", str(tmp_path / "run")], capsys)
    assert np.array(summary["results"]["test"]["confusion"]).sum() == 4


def test_audio_errors_are_one_line(tones_run, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert "no recordings" in error_of(["train", "classify", str(tmp_path / "empty"), "--audio", "--out",
                                        str(tmp_path / "r")], capsys)
    assert "spoken-digits is a set of recordings: add --audio" in error_of(["train", "classify", "spoken-digits"],
                                                                           capsys)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    assert f"{bad}: cannot read this recording" in error_of(["predict", str(tones_run), str(bad)], capsys)
    assert "give at least one recording" in error_of(["predict", str(tones_run)], capsys)
    one = write_tones(tmp_path / "one", per_class=3)
    for p in (one / "high").iterdir():
        p.unlink()
    (one / "high").rmdir()
    assert "a classifier needs at least two classes" in error_of(["train", "classify", str(one), "--audio", "--out",
                                                                  str(tmp_path / "r1")], capsys)
    res = run_json(["evaluate", str(tones_run), "--data", str(one)], capsys)["results"]  # one class is fine here
    assert np.array(res["confusion"]).sum() == 3 and res["recall"][0] is None
    assert "n_mfcc (20) should be at most n_mels (16)" in error_of(
        ["train", "classify", str(tmp_path), "--audio", "--n-mels", "16", "--n-mfcc", "20"], capsys)


def test_predict_refuses_a_classifier_of_precomputed_sequences(tmp_path, capsys):
    model = SequenceClassifier(3, ["a", "b"], hidden_size=4, rng=0)
    model.save(tmp_path / "m.npz")
    assert "a classifier of precomputed sequences" in error_of(["predict", str(tmp_path / "m.npz"), "x.wav"], capsys)


def test_the_bundled_spoken_digits_train_out_of_the_box(tmp_path, capsys):
    summary = run_json(["train", "classify", "spoken-digits", "--audio", "--hidden-size", "8", "--epochs", "1",
                        "--quiet", "--no-plot", "--out", str(tmp_path / "run")], capsys)
    test = summary["results"]["test"]
    assert np.array(test["confusion"]).sum() == 120 and test["classes"] == [str(d) for d in range(10)]
    assert datasets.get("spoken-digits").size_bytes <= 2_000_000
