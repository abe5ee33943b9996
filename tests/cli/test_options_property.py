"""Property: whatever option values or config file a user gives ``rnnlab train``, for every task,
the exit status is 0 or 2, there is never a traceback, and no file outside the run folder changes."""

import contextlib
import io
import json
import warnings
from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlab.cli import main
from rnnlab.config import base_type
from rnnlab.tasks import TASKS
from rnnlab.training import TrainConfig

# small values, so that a valid combination trains in a moment; and values no option accepts
INTS = ["-1", "0", "1", "2", "3", "1.5", "x", ""]
FLOATS = ["-1", "0", "0.3", "1", "nan", "inf", "1e400", "abc"]
BOOLS = ["true", "false", "maybe", "1"]
JSON_VALUES = st.sampled_from([-1, 0, 1, 2, 0.3, 1.5, "true", True, False, None, "x", [1], {"a": 1}, 10**30])


def option_values(cls):
    """(flag, value) pairs for a config dataclass's command-line fields."""
    out = []
    for f in fields(cls):
        if not f.metadata.get("cli", True) or f.metadata.get("positional"):
            continue
        kind = base_type(f)[0]
        pool = [*map(str, f.metadata["choices"]), "bogus"] if f.metadata.get("choices") else \
            {"int": INTS, "float": FLOATS, "bool": BOOLS, "str": ["", "x", "y,x"]}[kind]
        out.append(st.tuples(st.just("--" + f.name.replace("_", "-")), st.sampled_from(pool)))
    return out


@pytest.fixture(scope="module")
def data_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    (folder / "t.txt").write_text("the cat sat on the mat; the dog sat on the log. " * 12)
    (folder / "s.csv").write_text("y,x\n" + "".join(f"{(i % 9) + 0.1 * i:.2f},{i % 4}\n" for i in range(120)))
    rows = [([1, 2, 3, 4], "a"), ([4, 3, 2, 1], "b"), ([2, 2, 3, 1], "a"), ([1, 3, 4, 4], "b")] * 6
    (folder / "c.ts").write_text("@classLabel true a b\n@data\n"
                                 + "".join(",".join(map(str, v)) + f":{c}\n" for v, c in rows))
    return folder


BASE = {"letters": ["--samples", "40", "--val-samples", "10"], "text": ["t.txt", "--seq-len", "8"],
        "forecast": ["s.csv", "--window", "6", "--column", "y"], "classify": ["c.ts"]}
SMALL = ["--hidden-size", "3", "--epochs", "1", "--batch-size", "8", "--quiet", "--no-plot"]


STATUSES: list[int] = []  # every run's exit status, to check that both outcomes happen


def snapshot(folder: Path) -> dict:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def run_cli(argv) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # advice (dropout on one layer), printed, not an error
        status = main(argv)
    return status, err.getvalue()


def check_one_run(data_files, task, argv):
    out = data_files / "run"
    before = snapshot(data_files)
    status, err = run_cli(["train", task, *argv, "--out", str(out)])
    STATUSES.append(status)
    assert status in (0, 2), (argv, status, err)
    assert "Traceback" not in err, err
    if status == 2:
        assert err.count("\n") == 1 and err.startswith("rnnlab"), err
    after = {p: b for p, b in snapshot(data_files).items() if out not in p.parents}
    assert after == {p: b for p, b in before.items() if out not in p.parents}, "a file outside the run changed"
    for p in sorted(out.rglob("*"), reverse=True) if out.exists() else []:
        p.unlink() if p.is_file() else p.rmdir()
    if out.exists():
        out.rmdir()


SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.parametrize("task", list(TASKS))
def test_random_options_end_in_0_or_2_and_touch_nothing_else(data_files, task, monkeypatch):
    monkeypatch.chdir(data_files)
    t = TASKS[task]
    pool = option_values(t.data_config) + option_values(t.model_config) + option_values(TrainConfig)

    @SETTINGS
    @given(st.lists(st.one_of(*pool), max_size=4))
    def check(chosen):
        check_one_run(data_files, task, [*BASE[task], *SMALL, *(x for pair in chosen for x in pair)])

    check()


@pytest.mark.parametrize("task", list(TASKS))
def test_random_config_files_end_in_0_or_2_and_touch_nothing_else(data_files, task, monkeypatch):
    monkeypatch.chdir(data_files)
    t = TASKS[task]
    names = [f.name for cls in (t.data_config, t.model_config, TrainConfig) for f in fields(cls)]
    section = st.sampled_from(["data", "model", "train", "seed", "task", "other"])

    @SETTINGS
    @given(st.lists(st.tuples(section, st.sampled_from(names), JSON_VALUES), max_size=4))
    def check(entries):
        config: dict = {}
        for where, name, value in entries:
            if where in ("seed", "task", "other"):
                config[where] = value
            else:
                config.setdefault(where, {})[name] = value
        path = data_files / "config.json"
        path.write_text(json.dumps(config))
        try:
            check_one_run(data_files, task, [*BASE[task], *SMALL, "--config", str(path)])
        finally:
            path.unlink()

    check()


def test_the_properties_saw_runs_that_trained_and_runs_that_were_refused():
    assert 0 in STATUSES and 2 in STATUSES, STATUSES
