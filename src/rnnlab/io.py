"""Saving and loading model files safely.

A model file is a NumPy ``.npz`` archive (a zip of ``.npy`` arrays) holding the
parameters by name plus one extra member, ``__header__``: the UTF-8 bytes of a JSON
object (uint8 array) with the format name and version, the rnnlab version, the model
class and its configuration (vocabulary included). See docs/format.md.

Safety:

- files are read with ``allow_pickle=False``; a model file can never run code;
- before any array is read, its ``.npy`` header is checked: a plain numeric dtype
  (no object, structured or string arrays) and a declared size that agrees with the
  archive member's actual size (so a hand-made header cannot make us allocate terabytes);
- every write goes to a temporary file in the same folder, is flushed to disk, then
  ``os.replace``\\ s the old file: a crash leaves either the old file or the new one,
  never a half-written mix.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from rnnlab._version import __version__
from rnnlab.errors import ModelFileError, WriteError

FORMAT_NAME = "rnnlab-model"
FORMAT_VERSION = 1
HEADER_KEY = "__header__"
MAX_TOTAL_BYTES = 1 << 33  # 8 GiB: refuse files declaring more than this
# rnnlab's arrays hardly compress (trained weights are noise-like), so a file whose members
# declare far more than the file's own size is a "zip bomb" or damage: refused before reading
MAX_EXPANSION = 50
SMALL_FILE_BYTES = 64 << 20  # below this much declared content the expansion is not checked
READ_CHUNK = 1 << 20


def _file_mode(path: Path) -> int:
    """The mode a new file at ``path`` should get: the existing file's, else 0666 minus the umask."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write(path, write, mode: str = "wb") -> Path:
    """Write a file atomically: ``write(fileobj)`` fills a temporary file, then it replaces ``path``.

    The folder is created if needed. On any error the temporary file is removed and an
    existing file at ``path`` is left untouched; an OSError (a read-only folder, a full disk, a
    folder in the way) becomes a :class:`~rnnlab.errors.WriteError` naming the path.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}; nothing there was changed") from None
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode(path))  # mkstemp's files are private (0600); give the usual mode
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, WriteError):
            raise WriteError(f"cannot write {path}: {exc.strerror or exc}; "
                             + ("the file there is unchanged" if path.exists() else "nothing was written")) from None
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    """Write UTF-8 text to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def save_arrays(path, arrays: dict[str, np.ndarray], header: dict) -> Path:
    """Write ``arrays`` and a JSON ``header`` to an ``.npz`` model file, atomically.

    The header gets ``format``, ``format_version`` and ``rnnlab_version`` added.
    Returns the path written.
    """
    if HEADER_KEY in arrays:
        raise ValueError(f"{HEADER_KEY!r} is reserved for the header")
    full = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "rnnlab_version": __version__, **header}
    blob = np.frombuffer(json.dumps(full, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    payload = {HEADER_KEY: blob, **{k: np.ascontiguousarray(v) for k, v in arrays.items()}}
    return atomic_write(path, lambda f: np.savez(f, **payload))


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path) -> np.ndarray:
    name = info.filename[:-4]
    with zf.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ModelFileError(f"{path}: array {name!r} uses .npy format {version}, which rnnlab does not read")
        except ModelFileError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise ModelFileError(f"{path}: array {name!r} is damaged: its compressed data does not decompress "
                                 f"({exc})") from None
        except Exception as exc:
            raise ModelFileError(f"{path}: array {name!r} has a corrupt .npy header ({exc})") from None
        if dtype.kind not in "fiub" or dtype.fields is not None or dtype.hasobject:
            raise ModelFileError(
                f"{path}: array {name!r} has dtype {dtype}; model files hold only numbers "
                "(this file was not written by rnnlab and may be unsafe)"
            )
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        declared = count * dtype.itemsize
        header_len = f.tell()
        if declared != info.file_size - header_len:
            raise ModelFileError(
                f"{path}: array {name!r} declares {declared} bytes of data but the archive holds "
                f"{info.file_size - header_len}; the file is truncated or was tampered with"
            )
        array = np.empty(count, dtype)  # read straight into the array, a chunk at a time: one copy in memory
        buffer = memoryview(array).cast("B")
        done = 0
        while done < declared:
            n = f.readinto(buffer[done : done + READ_CHUNK])
            if not n:
                raise ModelFileError(f"{path}: array {name!r} is truncated")
            done += n
    return array.reshape(shape, order="F" if fortran else "C")


def load_arrays(path) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a model file written by :func:`save_arrays`: ``(header, arrays)``.

    Raises :class:`~rnnlab.errors.ModelFileError` naming the problem for a missing file,
    a file that is not an rnnlab model, a truncated or corrupt archive, unsafe content,
    or an unknown format version. Checking the arrays against a model's expected names and
    shapes is the caller's job (see ``Model.load``).
    """
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"no model file at {path}")
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder; give the path of a model file (.npz) inside it")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ModelFileError(f"{path} is not an rnnlab model file (not a readable .npz archive: {exc})") from None
    arrays: dict[str, np.ndarray] = {}
    with zf:
        try:
            infos = zf.infolist()
            total = sum(i.file_size for i in infos)
            on_disk = path.stat().st_size
            if total > MAX_TOTAL_BYTES or (total > SMALL_FILE_BYTES and total > MAX_EXPANSION * on_disk):
                raise ModelFileError(f"{path} declares {total:,} bytes of content in a file of {on_disk:,} bytes: "
                                     "not a model file rnnlab wrote (or a damaged one); nothing was loaded")
            for info in infos:
                if not info.filename.endswith(".npy") or "/" in info.filename:
                    raise ModelFileError(f"{path} holds {info.filename!r}, which is not part of an rnnlab model file")
                name = info.filename[:-4]
                if name in arrays:
                    raise ModelFileError(f"{path} holds array {name!r} twice")
                arrays[name] = _read_member(zf, info, path)
        except ModelFileError:
            raise
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, RuntimeError) as exc:
            raise ModelFileError(f"{path} is corrupt or truncated ({exc})") from None
    blob = arrays.pop(HEADER_KEY, None)
    if blob is None:
        raise ModelFileError(f"{path} has no rnnlab header: it is an .npz file, but not an rnnlab model")
    if blob.dtype != np.uint8 or blob.ndim != 1:
        raise ModelFileError(f"{path}: the header should be a 1-D uint8 array, got {blob.dtype} {blob.shape}")
    try:
        header = json.loads(blob.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(f"{path}: the header is not valid UTF-8 JSON ({type(exc).__name__}: {exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path} is not an rnnlab model file (its header does not say format {FORMAT_NAME!r})")
    version = header.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= FORMAT_VERSION:
        raise ModelFileError(
            f"{path} uses format version {version!r}; this rnnlab ({__version__}) reads versions 1..{FORMAT_VERSION}"
            " - upgrade rnnlab to read it"
        )
    return header, arrays


def check_arrays(path, arrays: dict[str, np.ndarray], expected: dict[str, tuple], dtype) -> None:
    """Check that ``arrays`` has exactly the ``expected`` names (name -> shape), the dtype, finite values."""
    problems = []
    missing = [k for k in expected if k not in arrays]
    unexpected = [k for k in arrays if k not in expected]
    if missing:
        problems.append("missing arrays " + ", ".join(missing))
    if unexpected:
        problems.append("unexpected arrays " + ", ".join(unexpected))
    for name, shape in expected.items():
        a = arrays.get(name)
        if a is None:
            continue
        if a.shape != tuple(shape):
            problems.append(f"{name} has shape {a.shape}, expected {tuple(shape)}")
        elif a.dtype != np.dtype(dtype):
            problems.append(f"{name} has dtype {a.dtype}, expected {np.dtype(dtype).name}")
        elif not np.isfinite(a).all():
            problems.append(f"{name} holds NaN or infinite values")
    if problems:
        raise ModelFileError(f"{path} does not match its declared model: " + "; ".join(problems))
