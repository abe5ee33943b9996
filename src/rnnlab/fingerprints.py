"""Content fingerprints of a run's data files, so that a resume or an evaluation notices a changed file.

A run rebuilds its data from its config (the file's path, the split, the seed). If the file
changed since training, the rebuilt data is not the data the run was trained on: resuming
would train on something else, and an evaluation would report numbers about another data set.
So a new run records ``data.json`` (each file's SHA-256), and commands that rebuild the data
compare it first.

Example::

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp()); data = folder / "series.csv"
    >>> _ = data.write_text("date,y\\n2000-01-01,1\\n")
    >>> record(folder, [data])
    >>> changed_files(folder, [data])
    []
    >>> _ = data.write_text("date,y\\n2000-01-01,2\\n")
    >>> changed_files(folder, [data]) == [str(data)]
    True
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from rnnlab.io import atomic_write_text

FINGERPRINTS = "data.json"


def fingerprint(path) -> str:
    """``sha256:<hex>`` of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def record(folder, paths) -> None:
    """Write ``folder/data.json``: the fingerprint of each data file (nothing for generated data)."""
    if not paths:
        return
    files = {str(p): fingerprint(p) for p in paths}
    atomic_write_text(Path(folder) / FINGERPRINTS, json.dumps({"files": files}, indent=2) + "\n")


def changed_files(folder, paths) -> list[str]:
    """The data files whose content differs from what ``folder/data.json`` recorded (missing ones
    included); none when the run recorded nothing (runs made before rnnlab kept fingerprints)."""
    path = Path(folder) / FINGERPRINTS
    if not path.exists():
        return []
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return [str(path)]  # the record itself is damaged: nothing can be vouched for
    out = []
    for p in paths:
        if not isinstance(recorded, dict) or str(p) not in recorded or not Path(p).is_file() or \
                fingerprint(p) != recorded[str(p)]:
            out.append(str(p))
    return out
