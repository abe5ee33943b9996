"""Labelled recordings: finding them (a folder per class, a name prefix, a CSV manifest) and reading their samples.

soundfile (libsndfile: WAV of any bit depth, FLAC, OGG, AIFF) reads the samples and librosa
resamples them; both come with the ``audio`` extra and are imported only when a recording is
read. The three layouts:

- ``folder``: ``digits/7/a.wav``: the subfolder's name is the class;
- ``prefix``: ``digits/7_jackson_32.wav``: the file name up to its first ``_`` is the class;
- a manifest, ``labels.csv`` with the columns ``path,label`` and optionally ``split``
  (``train`` or ``test``); relative paths are read from the manifest's folder.

Example::

    >>> import tempfile, pathlib
    >>> import numpy as np, soundfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name, pitch in [("low_1.wav", 220), ("high_1.wav", 880)]:
    ...     soundfile.write(folder / name, np.sin(2 * np.pi * pitch * np.arange(800) / 8000), 8000)
    >>> [(r.path.name, r.label) for r in find_recordings(folder, "prefix")]
    [('high_1.wav', 'high'), ('low_1.wav', 'low')]
    >>> samples, rate, channels = read_audio(folder / "low_1.wav")
    >>> samples.shape, rate, channels
    ((800,), 8000, 1)
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnlab.errors import DataError, MissingDependency

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif")
LABEL_SOURCES = ("folder", "prefix")
SPLITS = ("train", "test")


@dataclass(frozen=True, order=True)
class Recording:
    """One labelled recording: its ``path``, its ``label`` (the class name) and its ``split``
    (``"train"`` or ``"test"`` from a manifest's split column; ``""`` where none was given)."""

    path: Path
    label: str
    split: str = ""


def soundfile_module():
    """The soundfile module, or a MissingDependency naming the extra to install."""
    try:
        import soundfile
    except (ImportError, OSError):  # OSError: the package is there but libsndfile is not
        raise MissingDependency("reading audio needs soundfile and librosa: pip install 'rnnlab[audio]'",
                                "soundfile") from None
    return soundfile


def librosa_module():
    """The librosa module, or a MissingDependency naming the extra to install."""
    try:
        import librosa
    except ImportError:
        raise MissingDependency("audio features need librosa: pip install 'rnnlab[audio]'", "librosa") from None
    return librosa


# -- finding recordings ----------------------------------------------------------------------------
def is_audio(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES and not path.name.startswith(".")


def find_recordings(source, label_from: str = "folder") -> list[Recording]:
    """The labelled recordings of a folder (``label_from`` "folder" or "prefix") or a CSV manifest,
    sorted by path. A DataError names the folder or file for an empty folder, a missing path, a
    file name without a prefix, or a bad manifest line."""
    source = Path(source)
    if label_from not in LABEL_SOURCES:
        raise DataError(f"label_from should be one of {', '.join(LABEL_SOURCES)}, got {label_from!r}")
    if not source.exists():
        raise DataError(f"{source}: no such folder or manifest")
    if source.is_file():
        if source.suffix.lower() != ".csv":
            raise DataError(f"{source} is a file: give a folder of recordings or a CSV manifest (path,label[,split])")
        return read_manifest(source)
    if label_from == "prefix":
        return prefix_labelled(source)
    found = sorted(Recording(p, p.parent.name) for sub in source.iterdir() if sub.is_dir()
                   for p in sub.iterdir() if is_audio(p))
    if not found:
        loose = any(is_audio(p) for p in source.iterdir())
        hint = (" (recordings lie in the folder itself: for names like 7_jackson_32.wav, give --label-from prefix)"
                if loose else "")
        raise DataError(f"{source}: no recordings ({', '.join(AUDIO_SUFFIXES)}) in subfolders named after their "
                        f"classes{hint}")
    return found


def prefix_labelled(folder: Path) -> list[Recording]:
    """The recordings in ``folder`` labelled by their name up to the first underscore."""
    found = []
    for p in sorted(folder.iterdir()):
        if not is_audio(p):
            continue
        label, sep, rest = p.stem.partition("_")
        if not sep or not label or not rest:
            raise DataError(f"{p}: with --label-from prefix a file is named <class>_<anything>{p.suffix} "
                            "(e.g. 7_jackson_32.wav)")
        found.append(Recording(p, label))
    if not found:
        raise DataError(f"{folder}: no recordings ({', '.join(AUDIO_SUFFIXES)}) in this folder")
    return found


def read_manifest(path: Path) -> list[Recording]:
    """The rows of a CSV manifest ``path,label[,split]``: paths relative to the manifest's folder."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read this manifest ({exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    if "path" not in columns or "label" not in columns:
        raise DataError(f"{path}, line 1: a manifest's header names the columns path,label (and optionally split); "
                        f"found {','.join(columns) or 'nothing'}")
    reader.fieldnames = columns
    rows = []
    for row in reader:
        where = f"{path}, line {reader.line_num}"
        file, label = (row.get("path") or "").strip(), (row.get("label") or "").strip()
        split = (row.get("split") or "").strip() if "split" in columns else ""
        if not file or not label:
            raise DataError(f"{where}: every row needs a path and a label")
        if "split" in columns and split not in SPLITS:
            raise DataError(f"{where}: split should be train or test, got {split!r}")
        full = Path(file) if Path(file).is_absolute() else path.parent / file
        if not full.is_file():
            raise DataError(f"{where}: {full} does not exist")
        rows.append(Recording(full, label, split))
    if not rows:
        raise DataError(f"{path}: the manifest lists no recordings")
    return rows


def select_split(recordings: list[Recording], split: str) -> list[Recording]:
    """The recordings of ``split`` ("train" or "test") where a manifest marked splits; every
    recording for "all", or where none is marked."""
    if split == "all" or not any(r.split for r in recordings):
        return list(recordings)
    chosen = [r for r in recordings if r.split == split]
    if not chosen:
        raise DataError(f"the manifest marks no recording as {split}")
    return chosen


# -- reading samples -------------------------------------------------------------------------------
def file_bytes(path: Path) -> bytes:
    """The bytes of a recording; a DataError names the file when it cannot be read."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read this file ({exc.strerror or exc})") from None


def unreadable(path, exc) -> DataError:
    """The error for a recording libsndfile cannot read."""
    return DataError(f"{path}: cannot read this recording ({exc}); is it a WAV, FLAC or OGG file?")


def decode(data: bytes, path) -> tuple[np.ndarray, int]:
    """``(samples (S, channels) float32, rate)`` of an encoded recording's bytes; a DataError names
    ``path`` for an empty, corrupt or unreadable file."""
    sf = soundfile_module()
    if not data:
        raise DataError(f"{path}: the file is empty (0 bytes)")
    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise unreadable(path, exc) from None
    if samples.shape[0] == 0:
        raise DataError(f"{path}: the recording holds no samples (zero length)")
    if not np.isfinite(samples).all():
        raise DataError(f"{path}: the recording holds NaN or infinite samples")
    return samples, int(rate)


def to_mono(samples: np.ndarray, rate: int, target_rate: int | None = None) -> np.ndarray:
    """(S, channels) samples -> (S',) float32 mono (the channels' mean), resampled to ``target_rate``
    (librosa's default resampler, soxr) when it is given and differs from ``rate``."""
    mono = samples.mean(axis=1, dtype=np.float32) if samples.shape[1] > 1 else samples[:, 0]
    if target_rate and target_rate != rate:
        mono = librosa_module().resample(mono, orig_sr=rate, target_sr=target_rate).astype(np.float32)
    return np.ascontiguousarray(mono)


def read_audio(path, sample_rate: int | None = None) -> tuple[np.ndarray, int, int]:
    """One recording as ``(samples (S,) float32 mono, rate, channels in the file)``, resampled to
    ``sample_rate`` when given (None: the file's own rate)."""
    path = Path(path)
    samples, rate = decode(file_bytes(path), path)
    return to_mono(samples, rate, sample_rate), sample_rate or rate, samples.shape[1]


def probe(paths) -> list[tuple[int, int]]:
    """``(sample rate, channels)`` of each recording, read from its header only."""
    sf = soundfile_module()
    found = []
    for p in paths:
        if Path(p).stat().st_size == 0:
            raise DataError(f"{p}: the file is empty (0 bytes)")
        try:
            info = sf.info(str(p))
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
            raise unreadable(p, exc) from None
        found.append((int(info.samplerate), int(info.channels)))
    return found


def common_rate(paths, probes) -> int:
    """The sample rate the recordings share (``probes`` from :func:`probe`); a DataError when they
    differ, suggesting --sample-rate."""
    counts = Counter(rate for rate, _ in probes)
    if len(counts) > 1:
        (usual, n), (other, m) = counts.most_common(2)
        example = next(p for p, (rate, _) in zip(paths, probes, strict=True) if rate == other)
        raise DataError(f"the recordings have several sample rates: {usual} Hz ({n} files), {other} Hz ({m}, e.g. "
                        f"{example}){' and more' if len(counts) > 2 else ''}; give --sample-rate to resample them "
                        "all to one")
    return next(iter(counts))


def has_test_split(source) -> bool:
    """Whether ``source`` is a manifest that marks some recordings as test."""
    path = Path(source)
    return path.suffix.lower() == ".csv" and path.is_file() and any(r.split == "test" for r in read_manifest(path))
