"""Two workers on one study in a real PostgreSQL database, started by the test on a temporary
directory and a free local port, and stopped after it (no mock). ``.ci/run`` installs Debian's
``postgresql`` package when its programs are missing."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna", reason="rnnlab tune needs optuna: pip install 'rnnlab[tune]'")
pytest.importorskip("psycopg2", reason="a PostgreSQL storage needs psycopg2: pip install 'rnnlab[postgres]'")


def postgres_program(name: str) -> str | None:
    """Where Debian's package puts a PostgreSQL program (not always on the PATH)."""
    return shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)),
                                      None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def database():
    initdb, pg_ctl = postgres_program("initdb"), postgres_program("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does it)")
    # not under pytest's folder, which only its owner may enter: the server may run as another user
    folder = Path(tempfile.mkdtemp(prefix="rnnlab-pg-"))
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    as_user = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as the package's own user
        user = pwd.getpwnam("postgres")
        for path in (folder, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run([*as_user, initdb, "-D", str(data), "-U", "rnnlab", "--auth=trust"], check=True,
                   capture_output=True)
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
                    f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1", "start"], check=True,
                   capture_output=True)
    try:
        yield f"postgresql+psycopg2://rnnlab@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_two_workers_share_a_study_in_postgresql(database, tmp_path):
    args = [sys.executable, "-m", "rnnlab", "tune", "letters", "--dir", str(tmp_path), "--samples", "120",
            "--val-samples", "60", "--epochs", "2", "--hidden-size", "8", "--trials", "6", "--pruner", "none",
            "--storage", database, "--study", "pg-test"]
    workers = [subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    for w in workers:
        _, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
    trials = optuna.load_study(study_name="pg-test", storage=database).get_trials()
    assert 6 <= len(trials) <= 7 and all(t.state.name == "COMPLETE" for t in trials)
    assert len({t.user_attrs["pid"] for t in trials}) == 2
    assert all(os.path.exists(os.path.join(t.user_attrs["folder"], "model.npz")) for t in trials)
    report = subprocess.run([sys.executable, "-m", "rnnlab", "tune-report", str(tmp_path / "pg-test"), "--storage",
                             database], capture_output=True, text=True, check=True).stdout
    assert f"study pg-test: {len(trials)} trials" in report
