"""The command line, in-process through main(argv)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from rnnlab import NextTokenModel, load_model
from rnnlab.cli import main
from rnnlab.data import LETTERS


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code = main(["demo", "--samples", "200", "--val-samples", "100", "--epochs", "3", "--hidden-size", "16",
                 "--out", str(out), "--quiet"])
    assert code == 0
    return out


def test_demo_writes_a_complete_run_folder(demo_run):
    names = sorted(p.name for p in demo_run.iterdir())
    assert names == ["config.json", "history.csv", "loss.png", "model.npz"]
    assert (demo_run / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len((demo_run / "history.csv").read_text().splitlines()) == 4
    config = json.loads((demo_run / "config.json").read_text())
    assert config["samples"] == 200 and config["hidden_size"] == 16
    model = load_model(demo_run / "model.npz")
    assert model.file_extra["task"] == "letters" and len(model.file_extra["val_per_step_accuracy"]) == 5


def test_demo_report(tmp_path, capsys):
    assert main(["demo", "--samples", "100", "--val-samples", "50", "--epochs", "2", "--hidden-size", "8",
                 "--out", str(tmp_path), "--quiet", "--no-plot", "--variant", "fibonacci"]) == 0
    out = capsys.readouterr().out
    assert "a0 + a1: needs memory" in out and "best possible ln(26)/5 = 0.652" in out
    assert out.count("truth") == 5 and "saved in" in out and not (tmp_path / "loss.png").exists()


def test_demo_is_reproducible(tmp_path):
    args = ["demo", "--samples", "100", "--val-samples", "20", "--epochs", "2", "--hidden-size", "8", "--quiet",
            "--no-plot", "--seed", "5"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    a, b = load_model(tmp_path / "a" / "model.npz"), load_model(tmp_path / "b" / "model.npz")
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(v, b.state_dict()[k])


def test_predict_prints_top_letters(demo_run, capsys):
    model_path = str(demo_run / "model.npz")
    assert main(["predict", model_path, "r", "r", "i", "q", "g", "--top", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "input: r r i q g" and len(out) == 4
    assert main(["predict", model_path, "rriqg", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    model = NextTokenModel.load(model_path)
    expected = model.predict_topk("rriqg", k=5)
    assert [(d["token"], d["probability"]) for d in result["top"]] == [(t, pytest.approx(p)) for t, p in expected]


@pytest.mark.parametrize(
    ("argv_tail", "message"),
    [(["r", "R", "9"], "2 token(s) not in the vocabulary: 'R', '9'"), ([], "the input sequence is empty")],
)
def test_predict_user_errors_are_one_line_with_status_2(demo_run, capsys, argv_tail, message):
    assert main(["predict", str(demo_run / "model.npz"), *argv_tail]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnlab: error: ") and message in lines[0]


def test_predict_with_a_bad_model_file(tmp_path, capsys):
    bad = tmp_path / "model.npz"
    bad.write_bytes(b"not a zip")
    assert main(["predict", str(bad), "a"]) == 2
    assert "not an rnnlab model file" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "missing.npz"), "a"]) == 2
    assert "no model file" in capsys.readouterr().err


def test_debug_shows_the_traceback(tmp_path):
    from rnnlab import ModelFileError

    with pytest.raises(ModelFileError):
        main(["--debug", "predict", str(tmp_path / "missing.npz"), "a"])


def test_demo_bad_options(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["demo", "--lr", "-1"])
    assert info.value.code == 2
    assert "expected a number > 0" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["demo", "--out", str(tmp_path / "file"), "--epochs", "1", "--samples", "10", "--quiet"]) == 2
    assert "is a file" in capsys.readouterr().err


def test_diverging_demo_is_a_clear_error(tmp_path, capsys):
    code = main(["demo", "--samples", "64", "--val-samples", "10", "--epochs", "20", "--optimizer", "sgd",
                 "--lr", "1e8", "--clip-norm", "none", "--nonlinearity", "relu", "--quiet", "--out", str(tmp_path)])
    assert code == 2
    assert "training diverged at epoch" in capsys.readouterr().err


def test_gradcheck_command(capsys):
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and out.count("pass") >= 8
    assert main(["gradcheck", "--notebook", "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert max(reports["all fixed"].values()) < 1e-6
    assert reports["only assign_dW"]["W"] > 1e-2


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().err


def test_python_dash_m_and_version():
    out = subprocess.run([sys.executable, "-m", "rnnlab", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("rnnlab ")


def test_every_command_has_help_with_an_example(capsys):
    for cmd in ("demo", "predict", "gradcheck"):
        with pytest.raises(SystemExit) as info:
            main([cmd, "--help"])
        assert info.value.code == 0
        out = capsys.readouterr().out
        assert "examples:" in out and "default" in out


def test_letters_vocab_saved_with_the_model(demo_run):
    assert load_model(demo_run / "model.npz").vocab == LETTERS


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_demo_with_gated_cells(tmp_path, capsys, cell):
    assert main(["demo", "--cell", cell, "--num-layers", "2", "--dropout", "0.1", "--samples", "100",
                 "--val-samples", "20", "--epochs", "2", "--hidden-size", "8", "--quiet", "--no-plot",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"{cell.upper()}(32, 8, 2 layers, dropout 0.1)" in out
    model = load_model(tmp_path / "model.npz")
    assert model.rnn.cell == cell and model.rnn.num_layers == 2 and model.file_extra["cell"] == cell
    assert main(["predict", str(tmp_path / "model.npz"), "abc"]) == 0


def test_demo_rejects_relu_for_gated_cells(tmp_path, capsys):
    assert main(["demo", "--cell", "gru", "--nonlinearity", "relu", "--out", str(tmp_path), "--quiet"]) == 2
    assert "--nonlinearity applies to --cell rnn only" in capsys.readouterr().err


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradcheck_one_cell(capsys, cell):
    assert main(["gradcheck", "--cell", cell]) == 0
    out = capsys.readouterr().out
    assert out.count(": pass") == 4 and "FAIL" not in out and "bidirectional=True" in out
