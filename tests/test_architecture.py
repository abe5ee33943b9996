"""The package's shape: modules talk through public names only, and files stay small."""

import ast
from pathlib import Path

import rnnlab

PACKAGE = Path(rnnlab.__file__).parent

# `something._name` where something is not self or cls, allowed where the reason is given:
ALLOWED = {
    # a Module builds the flat parameter buffers of its own subtree and sets each child's views
    ("nn/module.py", "module._flat"),
}


def private_accesses(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            yield node.lineno, ast.unparse(node)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rnnlab"):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    yield node.lineno, f"{node.module}.{alias.name}"


def test_no_module_touches_another_modules_private_names():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        for line, text in private_accesses(path):
            if (rel, text) not in ALLOWED:
                found.append(f"{rel}:{line}: {text}")
    assert not found, "private names used across objects:\n" + "\n".join(found)


def test_the_check_finds_what_it_looks_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from rnnlab.x import _hidden\n\ndef f(layer):\n    return layer._cache, self._fine\n")
    assert [text for _, text in private_accesses(bad)] == ["rnnlab.x._hidden", "layer._cache"]


def test_no_source_file_is_over_400_lines():
    long = {p.relative_to(PACKAGE).as_posix(): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert not long, f"split these files: {long}"


def test_no_function_is_over_60_lines():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body[1:] if ast.get_docstring(node) else node.body  # the docstring is not code
                if not body:
                    continue
                lines = body[-1].end_lineno - body[0].lineno + 1
                if lines > 60:
                    long.append(f"{path.relative_to(PACKAGE).as_posix()}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, "split these functions:\n" + "\n".join(long)
