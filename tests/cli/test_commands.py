"""The command line on the letter task: every command, its errors and exit codes."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from rnnlab import NextTokenModel, load_model
from rnnlab.cli import main
from rnnlab.data import LETTERS

SMALL = ["--samples", "120", "--val-samples", "30", "--hidden-size", "8", "--quiet"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "demo"
    assert main(["demo", *SMALL, "--epochs", "3", "--out", str(out)]) == 0
    return out


def history_rows(path):
    with open(path) as f:
        return [{k: v for k, v in r.items() if k not in ("time_s", "seq_per_s")} for r in csv.DictReader(f)]


def test_demo_writes_a_complete_run_folder(demo_run):
    names = sorted(p.name for p in demo_run.iterdir())
    assert names == [".lock", "config.json", "history.csv", "last.npz", "loss.png", "model.npz"]  # .lock: runs.RunLock
    assert (demo_run / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(history_rows(demo_run / "history.csv")) == 3
    config = json.loads((demo_run / "config.json").read_text())
    assert config["data"]["samples"] == 120 and config["model"]["hidden_size"] == 8 and config["train"]["epochs"] == 3
    model = load_model(demo_run / "model.npz")
    assert model.file_extra["task"] == "letters" and model.file_extra["run"] == config
    assert load_model(demo_run / "last.npz").num_parameters() == model.num_parameters()


def test_demo_report(tmp_path, capsys):
    assert main(["demo", *SMALL, "--epochs", "2", "--out", str(tmp_path / "r"), "--no-plot",
                 "--variant", "fibonacci"]) == 0
    out = capsys.readouterr().out
    assert "a0 + a1: needs memory" in out and "best possible ln(26)/5 = 0.652" in out
    assert out.count("truth") == 5 and "saved in" in out and not (tmp_path / "r" / "loss.png").exists()


@pytest.mark.parametrize("optimizer", [[], ["--optimizer", "rmsprop", "--momentum", "0.9", "--lr", "0.002"]])
def test_train_then_resume_equals_one_longer_run(tmp_path, optimizer):
    args = ["train", "letters", *SMALL, "--cell", "gru", "--num-layers", "2", "--dropout", "0.2",
            "--schedule", "step", "--step-size", "1", "--seed", "3", "--no-plot", *optimizer]
    assert main([*args, "--epochs", "4", "--out", str(tmp_path / "straight")]) == 0
    assert main([*args, "--epochs", "2", "--out", str(tmp_path / "split")]) == 0
    assert main(["resume", str(tmp_path / "split"), "--epochs", "2", "--quiet", "--no-plot"]) == 0
    a, b = load_model(tmp_path / "straight" / "last.npz"), load_model(tmp_path / "split" / "last.npz")
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(v, b.state_dict()[k])
    assert history_rows(tmp_path / "straight" / "history.csv") == history_rows(tmp_path / "split" / "history.csv")
    assert json.loads((tmp_path / "split" / "config.json").read_text())["train"]["epochs"] == 4


def test_resume_a_finished_run_says_so(demo_run, capsys):
    assert main(["resume", str(demo_run), "--quiet"]) == 0
    assert "trained all 3 planned epochs; pass --epochs N" in capsys.readouterr().err


def test_config_files_and_precedence(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('seed = 7\n[data]\nsamples = 64\nval_samples = 16\n[model]\ncell = "lstm"\nhidden_size = 6\n'
                    '[train]\nepochs = 1\nlr = 0.02\n')
    assert main(["train", "letters", "--config", str(toml), "--lr", "0.05", "--out", str(tmp_path / "a"),
                 "--quiet", "--no-plot"]) == 0
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["seed"] == 7 and config["model"]["cell"] == "lstm" and config["train"]["lr"] == 0.05
    as_json = tmp_path / "c.json"
    as_json.write_text(json.dumps({"model": {"hidden_size": 5}, "train": {"epochs": 1}, "data": {"samples": 40}}))
    assert main(["train", "letters", "--config", str(as_json), "--out", str(tmp_path / "b"), "--quiet",
                 "--no-plot"]) == 0
    assert json.loads((tmp_path / "b" / "config.json").read_text())["model"]["hidden_size"] == 5


@pytest.mark.parametrize(("argv", "message"), [
    (["train", "letters", "--hiden-size", "8"], "unrecognized arguments: --hiden-size"),
    (["train", "letters", "--lr", "-1"], "expected a number > 0"),
    (["train", "letters", "--cell", "transformer"], "expected one of rnn, lstm, gru, got 'transformer'"),
    (["train", "translation"], "invalid choice: 'translation'"),
    (["resume", "nowhere"], "nowhere is not a run folder"),
    (["evaluate", "nowhere.npz"], "no model file at nowhere.npz"),
    (["info", "nowhere.npz"], "no model file at nowhere.npz"),
    (["plot", "nowhere"], "not a run folder"),
])
def test_user_mistakes_are_one_line_with_status_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_bad_config_files(tmp_path, capsys):
    cases = {
        "unknown.toml": ('[model]\nhidden = 3\n', "unknown [model] option(s) hidden"),
        "type.json": ('{"model": {"hidden_size": "big"}}', "hidden_size should be a positive integer"),
        "other.json": ('{"task": "text"}', "this config is for task 'text'"),
        "broken.toml": ("[model\n", "is not valid TOML"),
        "config.yaml": ("a: 1\n", "should end in .json or .toml"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        assert main(["train", "letters", "--config", str(tmp_path / name), "--out", str(tmp_path / "x"),
                     "--quiet"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], (name, err)
    assert main(["train", "letters", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "no config file" in capsys.readouterr().err


def test_an_existing_run_is_never_overwritten(demo_run, capsys):
    before = (demo_run / "model.npz").read_bytes()
    assert main(["train", "letters", *SMALL, "--epochs", "1", "--out", str(demo_run)]) == 2
    assert "already holds a run; continue it with `rnnlab resume" in capsys.readouterr().err
    assert (demo_run / "model.npz").read_bytes() == before


def test_predict_prints_top_letters(demo_run, capsys):
    assert main(["predict", str(demo_run), "r", "r", "i", "q", "g", "--top", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "input: r r i q g" and len(out) == 4
    assert main(["predict", str(demo_run / "model.npz"), "rriqg", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    expected = NextTokenModel.load(demo_run / "model.npz").predict_topk("rriqg", k=5)
    assert [(d["token"], d["probability"]) for d in result["top"]] == [(t, pytest.approx(p)) for t, p in expected]


@pytest.mark.parametrize(
    ("argv_tail", "message"),
    [(["r", "R", "9"], "2 token(s) not in the vocabulary: 'R', '9'"), ([], "the input sequence is empty")],
)
def test_predict_user_errors_are_one_line_with_status_2(demo_run, capsys, argv_tail, message):
    assert main(["predict", str(demo_run), *argv_tail]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnlab: error: ") and message in lines[0]


def test_predict_with_a_bad_model_file(tmp_path, capsys):
    bad = tmp_path / "model.npz"
    bad.write_bytes(b"not a zip")
    assert main(["predict", str(bad), "a"]) == 2
    assert "not an rnnlab model file" in capsys.readouterr().err


def test_evaluate_info_and_plot(demo_run, capsys):
    assert main(["evaluate", str(demo_run), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)["results"]
    assert evaluated["loss"] == pytest.approx(load_model(demo_run / "model.npz").file_extra["best"])
    assert main(["evaluate", str(demo_run / "last.npz")]) == 0
    assert "held-out results (30 sequences)" in capsys.readouterr().out
    assert main(["info", str(demo_run), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["parameters"] == load_model(demo_run / "model.npz").num_parameters()
    assert info["vocabulary"] == {"size": 26, "tokens": "".join(LETTERS.tokens)}
    assert info["run"]["task"] == "letters" and info["training"]["epochs"] == 3
    assert main(["info", str(demo_run / "last.npz")]) == 0
    text = capsys.readouterr().out
    assert "rnnlab checkpoint file" in text and "trained: 3 epochs" in text
    (demo_run / "loss.png").unlink()
    assert main(["plot", str(demo_run)]) == 0
    assert (demo_run / "loss.png").exists() and "wrote" in capsys.readouterr().out


def test_gradient_flow(tmp_path, capsys):
    assert main(["gradient-flow", "--steps", "12", "--hidden-size", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    default = next(iter(result["norms"].values()))
    assert set(default) == {"RNN", "LSTM", "GRU"} and all(len(v) == 12 for v in default.values())
    assert main(["gradient-flow", "--steps", "12", "--hidden-size", "4", "--out", str(tmp_path / "g.png")]) == 0
    assert (tmp_path / "g.png").exists() and "RNN, W_hh x4" in capsys.readouterr().out


def test_debug_shows_the_traceback(tmp_path):
    from rnnlab import ModelFileError

    with pytest.raises(ModelFileError):
        main(["--debug", "predict", str(tmp_path / "missing.npz"), "a"])


def test_diverging_training_is_a_clear_error(tmp_path, capsys):
    code = main(["train", "letters", "--samples", "64", "--val-samples", "10", "--epochs", "20", "--optimizer", "sgd",
                 "--lr", "1e8", "--clip-norm", "none", "--nonlinearity", "relu", "--quiet",
                 "--out", str(tmp_path / "d")])
    assert code == 2
    assert "training diverged at epoch" in capsys.readouterr().err


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_demo_with_gated_cells(tmp_path, capsys, cell):
    assert main(["demo", *SMALL, "--cell", cell, "--num-layers", "2", "--dropout", "0.1", "--epochs", "2",
                 "--no-plot", "--out", str(tmp_path / "r")]) == 0
    assert f"{cell.upper()}(32, 8, 2 layers, dropout 0.1)" in capsys.readouterr().out
    model = load_model(tmp_path / "r" / "model.npz")
    assert model.rnn.cell == cell and model.rnn.num_layers == 2
    assert main(["predict", str(tmp_path / "r"), "abc"]) == 0


def test_demo_rejects_relu_for_gated_cells(tmp_path, capsys):
    assert main(["demo", "--cell", "gru", "--nonlinearity", "relu", "--out", str(tmp_path / "r"), "--quiet"]) == 2
    assert "nonlinearity applies to cell rnn only" in capsys.readouterr().err


def test_gradcheck_command(capsys):
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and out.count(": pass") >= 8
    assert main(["gradcheck", "--notebook", "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert max(reports["all fixed"].values()) < 1e-6
    assert reports["only assign_dW"]["W"] > 1e-2


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradcheck_one_cell(capsys, cell):
    assert main(["gradcheck", "--cell", cell]) == 0
    out = capsys.readouterr().out
    assert out.count(": pass") == {"lstm": 7, "gru": 5}.get(cell, 4) and "FAIL" not in out
    assert "bidirectional=True" in out and ("proj_size=3" in out) == (cell == "lstm")
    assert ("layer_norm=True" in out) == (cell != "rnn")


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().err


def test_python_dash_m_and_version():
    out = subprocess.run([sys.executable, "-m", "rnnlab", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("rnnlab ")


@pytest.mark.parametrize("argv", [["demo"], ["train", "letters"], ["resume"], ["evaluate"], ["predict"], ["info"],
                                  ["plot"], ["gradient-flow"], ["gradcheck"]])
def test_every_command_has_help_with_defaults_and_an_example(capsys, argv):
    assert main([*argv, "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    # an option with a value of its own shows it; a flag or an option without one shows no empty default
    assert ("(default: " in out) == (argv[0] not in ("evaluate", "info"))
    assert not any(f"(default: {empty})" in out for empty in ("None", "False", ""))


def test_interrupted_training_saves_a_checkpoint_and_resumes(tmp_path):
    """A real SIGINT to a real `rnnlab train`, then `rnnlab resume` finishes the run."""
    import signal
    import time

    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "rnnlab", "train", "letters", "--samples", "4000", "--val-samples", "50",
           "--epochs", "30", "--hidden-size", "16", "--quiet", "--no-plot", "--out", str(run)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (run / "last.npz").exists():
        assert time.time() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() is not None else ""
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "training interrupted at epoch" in err and "checkpoint saved to" in err
    assert main(["resume", str(run), "--quiet", "--no-plot", "--json"]) == 0
    assert len(history_rows(run / "history.csv")) == 30
