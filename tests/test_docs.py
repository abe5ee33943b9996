"""The Python examples in the README and docs/ run, so they never rot."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def python_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


CASES = [(p, i, code) for p in DOCS for i, code in enumerate(python_blocks(p))]


@pytest.mark.parametrize(("path", "index", "code"), CASES, ids=[f"{p.name}-{i}" for p, i, _ in CASES])
def test_example_runs(path, index, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if "model.npz" in code and not Path("model.npz").exists():
        import rnnlab

        rnnlab.NextTokenModel(rnnlab.LETTERS, rng=0).save("model.npz")
    exec(compile(code, f"{path.name}[{index}]", "exec"), {"__name__": "__docs__"})


def test_examples_folder_scripts_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for script in sorted((ROOT / "examples").glob("*.py")):
        exec(compile(script.read_text(encoding="utf-8"), str(script), "exec"), {"__name__": "__main__"})


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = text.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block
