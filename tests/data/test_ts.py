"""The .ts reader and padding."""

import gzip

import numpy as np
import pytest

from rnnlab.data.ts import pad_sequences, read_ts
from rnnlab.errors import DataError

TS = """# a comment
@problemName Tiny
@dimensions 2
@equalLength false
@classLabel true a b
@data
1,2,3:4,5,6:a
7,8:9,10:b
"""


def test_read_ts(tmp_path):
    (tmp_path / "t.ts").write_text(TS)
    seqs, labels, meta = read_ts(tmp_path / "t.ts")
    np.testing.assert_array_equal(seqs[0], [[1, 4], [2, 5], [3, 6]])  # (T, C): dimensions become columns
    assert seqs[1].shape == (2, 2) and labels.tolist() == [0, 1]
    assert meta["classes"] == ["a", "b"] and meta["problem"] == "Tiny" and meta["dimensions"] == 2
    (tmp_path / "t.ts.gz").write_bytes(gzip.compress(TS.encode()))
    assert read_ts(tmp_path / "t.ts.gz")[1].tolist() == [0, 1]


@pytest.mark.parametrize(("text", "message"), [
    ("@data\n", "no samples after @data"),
    ("@dimensions 2\n", "no @data line"),
    ("hello\n@data\n1:a\n", "line 1: expected a header line"),
    ("@dimensions two\n@data\n", "@dimensions should be an integer"),
    ("@classLabel false\n@data\n", "not a classification file"),
    ("@dimensions 2\n@data\n1,2:a\n", "line 3: 1 dimensions, but @dimensions says 2"),
    ("@data\n1,x,3:a\n", r"line 2, dimension 1: 'x' is not a number"),
    ("@data\n1,2:3:a\n", "different lengths"),
    ("@data\n1,NaN:a\n", "missing or infinite"),
    ("@classLabel true a b\n@data\n1,2:c\n", "labels 'c' are not in @classLabel"),
    ("@data\n1,2,3\n", "separated by ':'"),
])
def test_malformed_ts_files(tmp_path, text, message):
    (tmp_path / "bad.ts").write_text(text)
    with pytest.raises(DataError, match=message):
        read_ts(tmp_path / "bad.ts")


def test_ts_file_errors(tmp_path):
    with pytest.raises(DataError, match=r"no such \.ts file"):
        read_ts(tmp_path / "none.ts")
    (tmp_path / "x.ts").write_bytes(b"@data\n\xff:a\n")
    with pytest.raises(DataError, match="not UTF-8"):
        read_ts(tmp_path / "x.ts")


def test_pad_sequences():
    x, lengths = pad_sequences([np.ones((2, 3)), np.full((4, 3), 2.0)])
    assert x.shape == (2, 4, 3) and lengths.tolist() == [2, 4] and x[0, 2:].sum() == 0
    with pytest.raises(DataError, match="same C"):
        pad_sequences([np.ones((2, 3)), np.ones((2, 4))])
