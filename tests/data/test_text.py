"""Reading text, splitting it, and char-rnn's stream batches."""

import gzip

import numpy as np
import pytest

from rnnlab.data.text import eval_streams, read_text, split_text, stream_batches
from rnnlab.errors import DataError


def test_read_text_utf8_gz_and_bom(tmp_path):
    (tmp_path / "a.txt").write_bytes("\ufeffcafé ☕\n".encode())
    assert read_text(tmp_path / "a.txt") == "café ☕\n"
    (tmp_path / "b.txt.gz").write_bytes(gzip.compress(b"hello"))
    assert read_text(tmp_path / "b.txt.gz") == "hello"


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such text file"), (b"", "is empty"), (b"caf\xe9 au lait", "not UTF-8 text: byte 3 is 0xe9"),
])
def test_read_text_errors(tmp_path, content, message):
    path = tmp_path / "t.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_text(path)
    with pytest.raises(DataError, match="is a folder"):
        read_text(tmp_path)


def test_split_text_holds_out_the_last_part_contiguously():
    text = "".join(chr(97 + i % 26) for i in range(1000))
    train, val = split_text(text, 0.1)
    assert train + val == text and len(val) == 100
    with pytest.raises(DataError, match="too short"):
        split_text("abc", 0.1)


def test_stream_batches_continue_each_stream_from_batch_to_batch():
    ids = np.arange(1000)
    x, y = stream_batches(ids, batch_size=4, seq_len=10)
    S = 999 // 4  # steps per stream
    C = S // 10
    assert x.shape == y.shape == (C * 4, 10)
    np.testing.assert_array_equal(y, x + 1)  # targets: the next character
    for c in range(C):
        for i in range(4):
            np.testing.assert_array_equal(x[c * 4 + i], ids[i * S + c * 10 : i * S + c * 10 + 10])
    # stream i, read batch after batch, is one contiguous slice of the text
    stream = x.reshape(C, 4, 10)[:, 2].reshape(-1)
    np.testing.assert_array_equal(stream, np.arange(2 * S, 2 * S + C * 10))


def test_stream_batches_too_short_text_is_a_clear_error():
    with pytest.raises(DataError, match=r"too short for 32 streams of 100 characters: it needs at least 3,201"):
        stream_batches(np.arange(500), 32, 100)


def test_eval_streams_shape_and_clamp():
    x, y = eval_streams(np.arange(101), 4)
    assert x.shape == (4, 25) and (y == x + 1).all()
    assert eval_streams(np.arange(7), 16)[0].shape == (3, 2)  # fewer streams for a short text


def test_a_damaged_gz_and_a_utf16_file_are_one_line_errors(tmp_path):
    good = gzip.compress(b"some text " * 100)
    damaged = tmp_path / "t.txt.gz"
    damaged.write_bytes(good[:20] + bytes(b ^ 0xFF for b in good[20:40]) + good[40:])
    with pytest.raises(DataError, match=r"cannot read .*t\.txt\.gz"):
        read_text(damaged)
    utf16 = tmp_path / "u.txt"
    utf16.write_bytes("caf\u00e9 au lait".encode("utf-16"))
    with pytest.raises(DataError, match="iconv -f utf-16 -t utf-8"):
        read_text(utf16)
