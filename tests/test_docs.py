"""The Python examples in the README and docs/ run, so they never rot."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def python_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


CASES = [(p, i, code) for p in DOCS for i, code in enumerate(python_blocks(p))]


def onnx_files():
    """The exports docs/export.md's serving examples read (they import nothing of rnnlab)."""
    import numpy as np

    from rnnlab.models import CharLM, Forecaster, SequenceClassifier

    return {
        "char.onnx": lambda: CharLM.from_text("the cat sat on the mat", hidden_size=8, embedding_dim=4, rng=0),
        "forecaster.onnx": lambda: Forecaster(["y"], horizon=3, window=24, hidden_size=8, rng=0).fit_scaling(
            np.linspace(0, 1, 50)[:, None]),
        "classifier.onnx": lambda: SequenceClassifier(12, 9, hidden_size=8, rng=0),
    }


@pytest.mark.parametrize(("path", "index", "code"), CASES, ids=[f"{p.name}-{i}" for p, i, _ in CASES])
def test_example_runs(path, index, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if "model.npz" in code and not Path("model.npz").exists():
        import rnnlab

        rnnlab.NextTokenModel(rnnlab.LETTERS, rng=0).save("model.npz")
    if ".onnx\"" in code:
        pytest.importorskip("onnxruntime", reason="the ONNX examples need pip install 'rnnlab[onnx]'")
        for name, make in onnx_files().items():
            if f'"{name}"' in code and f'to_onnx("{name}")' not in code:
                make().to_onnx(name)
    exec(compile(code, f"{path.name}[{index}]", "exec"), {"__name__": "__docs__"})


def test_examples_folder_scripts_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for script in sorted((ROOT / "examples").glob("*.py")):
        exec(compile(script.read_text(encoding="utf-8"), str(script), "exec"), {"__name__": "__main__"})


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = text.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block
