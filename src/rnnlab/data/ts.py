"""Variable-length multivariate sequences with class labels: the sktime / aeon ``.ts`` format.

A ``.ts`` file has header lines (``#`` comments and ``@`` keywords such as ``@dimensions 12``
and ``@classLabel true 1 2 3``), an ``@data`` line, then one sample a line: the dimensions
separated by ``:``, the values of each dimension by ``,``, and the class label after the last
``:``. Every error names the file and line.
"""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np

from rnnlab.errors import DataError


def read_ts(path):
    """Read a ``.ts`` classification file (``.gz`` too).

    Returns ``(sequences, labels, meta)``: sequences a list of (T_i, C) float64 arrays; labels
    (N,) int64 indices into ``meta["classes"]`` (the ``@classLabel`` list, or the sorted labels
    found); meta also has ``dimensions``, ``problem`` and ``path``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such .ts file: {path}" if not path.exists() else f"{path} is not a file")
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8")
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    meta = {"path": str(path), "problem": None, "dimensions": None, "classes": None}
    sequences, labels = [], []
    in_data = False
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise DataError(f"{path}, line {number}: expected a header line starting with @ before @data, "
                                f"got {line[:40]!r}")
            key, _, rest = line[1:].partition(" ")
            key = key.lower()
            if key == "data":
                in_data = True
            elif key == "problemname":
                meta["problem"] = rest.strip()
            elif key == "dimensions":
                try:
                    meta["dimensions"] = int(rest)
                except ValueError:
                    raise DataError(f"{path}, line {number}: @dimensions should be an integer, got {rest!r}") from None
            elif key == "classlabel":
                words = rest.split()
                if not words or words[0].lower() != "true":
                    raise DataError(f"{path}, line {number}: this is not a classification file (@classLabel "
                                    f"{rest.strip()!r}); rnnlab reads labelled .ts files")
                meta["classes"] = words[1:]
            continue
        sequences.append(_sample(path, number, line, meta["dimensions"]))
        labels.append(line.rsplit(":", 1)[1].strip())
        if meta["dimensions"] is None:
            meta["dimensions"] = sequences[-1].shape[1]
    if not in_data:
        raise DataError(f"{path} has no @data line: is it a .ts file?")
    if not sequences:
        raise DataError(f"{path} has no samples after @data")
    classes = meta["classes"] or sorted(set(labels), key=lambda s: (len(s), s))
    meta["classes"] = classes
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise DataError(f"{path}: labels {', '.join(map(repr, unknown[:5]))} are not in @classLabel "
                        f"({' '.join(classes)})")
    return sequences, np.array([index[lab] for lab in labels], dtype=np.int64), meta


def _sample(path, number, line, dims) -> np.ndarray:
    parts = line.split(":")
    if len(parts) < 2:
        raise DataError(f"{path}, line {number}: a sample needs its dimensions and a label separated by ':'")
    channels = parts[:-1]
    if dims is not None and len(channels) != dims:
        raise DataError(f"{path}, line {number}: {len(channels)} dimensions, but @dimensions says {dims}")
    series = []
    for c, chunk in enumerate(channels):
        try:
            vals = [float(v) for v in chunk.split(",")]
        except ValueError:
            bad = next(v for v in chunk.split(",") if not _is_float(v))
            raise DataError(f"{path}, line {number}, dimension {c + 1}: {bad.strip()!r} is not a number") from None
        if any(math.isnan(v) or math.isinf(v) for v in vals):
            raise DataError(f"{path}, line {number}, dimension {c + 1}: missing or infinite values are not supported")
        series.append(vals)
    lengths = {len(s) for s in series}
    if len(lengths) != 1:
        raise DataError(f"{path}, line {number}: the dimensions have different lengths {sorted(lengths)}")
    return np.array(series, dtype=np.float64).T  # (T_i, C)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def pad_sequences(sequences, max_len: int | None = None, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Stack (T_i, C) sequences into ``(x (N, T_max, C) zero-padded, of ``dtype``, lengths (N,) int64)``."""
    if not sequences:
        raise DataError("no sequences to pad")
    C = sequences[0].shape[1]
    if any(s.ndim != 2 or s.shape[1] != C for s in sequences):
        raise DataError("every sequence should be a (T_i, C) array with the same C")
    lengths = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    T = int(lengths.max()) if max_len is None else max_len
    if lengths.max() > T:
        raise DataError(f"a sequence has {lengths.max()} steps, more than max_len={T}")
    x = np.zeros((len(sequences), T, C), dtype=dtype)
    for i, s in enumerate(sequences):
        x[i, : s.shape[0]] = s
    return x, lengths
