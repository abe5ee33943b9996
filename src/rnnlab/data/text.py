"""Text for character-level language models: reading files, splitting, and char-rnn's stream batches.

Truncated backpropagation through time over a long text (char-rnn's scheme): the text is cut
into N contiguous *streams*, one per batch row; each training step takes the next ``seq_len``
characters of every stream, and the recurrent state is carried from one chunk to the next
(gradients stop at the chunk boundary), so the model sees context far longer than
``seq_len``. The state is reset at the start of every epoch.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from rnnlab._checks import check_int
from rnnlab.errors import DataError


def read_text(path) -> str:
    """The text of a UTF-8 file (``.gz`` files are decompressed).

    Raises :class:`~rnnlab.errors.DataError` for a missing or empty file, a folder, or bytes
    that are not UTF-8 (naming the byte offset of the first bad byte).
    """
    path = Path(path)  # the checks every file reader makes (io.load_arrays too), each with its own error type
    if not path.exists():
        raise DataError(f"no such text file: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a folder; give a text file")
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:  # a damaged .gz: BadGzipFile is an OSError, zlib's is not
        raise DataError(f"cannot read {path}: {exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        source = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "latin1"  # a UTF-16 file starts with a BOM
        raise DataError(f"{path} is not UTF-8 text: byte {exc.start} is 0x{raw[exc.start]:02x}; "
                        f"convert it first (e.g. iconv -f {source} -t utf-8)") from None
    if text.startswith("\ufeff"):
        text = text[1:]  # a UTF-8 byte-order mark is not part of the text
    if not text:
        raise DataError(f"{path} is empty: a language model needs text to learn from")
    return text


def split_text(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """``(train, validation)``: the validation text is the last ``val_fraction`` of the text, contiguous."""
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"val_fraction should be a number > 0 and < 1, got {val_fraction!r}")
    cut = len(text) - round(len(text) * val_fraction)
    if cut < 2 or len(text) - cut < 2:
        raise DataError(f"the text is too short to split ({len(text)} characters): give at least a few hundred")
    return text[:cut], text[cut:]


def stream_batches(ids, batch_size: int, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut a long id sequence into char-rnn's training chunks.

    ids: (L,) token ids. The text is split into ``batch_size`` contiguous streams of
    ``S = (L - 1) // batch_size`` steps (the few ids left over at the end are dropped), and each
    stream into ``C = S // seq_len`` chunks of ``seq_len`` steps.

    Returns ``(inputs, targets)``, each of shape (C * batch_size, seq_len), *chunk-major*: rows
    ``c * batch_size .. (c + 1) * batch_size - 1`` are chunk c of streams 0..batch_size-1, so
    batch c (taken in order, unshuffled) continues exactly where batch c - 1 stopped, stream
    by stream. ``targets`` is ``inputs`` shifted by one character.
    """
    ids = np.asarray(ids)
    batch_size = check_int("batch_size", batch_size)
    seq_len = check_int("seq_len", seq_len)
    if ids.ndim != 1:
        raise DataError(f"ids should be a 1-D sequence of token ids, got shape {ids.shape}")
    S = (ids.shape[0] - 1) // batch_size
    C = S // seq_len
    if C < 1:
        raise DataError(f"the text ({ids.shape[0]:,} characters) is too short for {batch_size} streams of "
                        f"{seq_len} characters: it needs at least {batch_size * seq_len + 1:,}; lower "
                        "batch_size or seq_len")
    used = C * seq_len
    starts = np.arange(batch_size) * S
    pos = starts[:, None] + np.arange(used)[None, :]  # (B, used)
    x = ids[pos].reshape(batch_size, C, seq_len).transpose(1, 0, 2).reshape(C * batch_size, seq_len)
    y = ids[pos + 1].reshape(batch_size, C, seq_len).transpose(1, 0, 2).reshape(C * batch_size, seq_len)
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def eval_streams(ids, streams: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut an id sequence into ``streams`` long contiguous rows for evaluation with carried state.

    Returns ``(inputs, targets)`` of shape (streams, S) with ``S = (L - 1) // streams``; the
    model reads each row from its start, so only ``streams`` characters lose their context.
    A text too short for that many streams gets fewer (at least 2 steps each).
    """
    ids = np.asarray(ids)
    streams = min(check_int("streams", streams), max(1, (ids.shape[0] - 1) // 2))
    S = (ids.shape[0] - 1) // streams
    if S < 1:
        raise DataError(f"the validation text ({ids.shape[0]} characters) is too short for {streams} streams")
    pos = np.arange(streams)[:, None] * S + np.arange(S)[None, :]
    return ids[pos], ids[pos + 1]
