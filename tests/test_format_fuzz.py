"""Fuzzing the model-file header: whatever it holds, loading either works or raises ModelFileError."""

import io
import json
import tempfile
import time
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlab import ModelFileError, NextTokenModel, load_model
from rnnlab.io import HEADER_KEY

MODEL = NextTokenModel(list("abc"), hidden_size=3, embedding_dim=2, rng=0)
ARRAYS = MODEL.state_dict()
with tempfile.TemporaryDirectory() as d:
    VALID_BLOB = np.load(MODEL.save(Path(d) / "m.npz"), allow_pickle=False)[HEADER_KEY].tobytes()
VALID = json.loads(VALID_BLOB)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
KEYS = ["format", "format_version", "rnnlab_version", "model", "config", "extra", "kind", "trainer"]
CONFIG_KEYS = list(VALID["config"])


def load_with_header(blob: bytes):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "model.npz"
        with open(path, "wb") as f:
            np.savez(f, **{HEADER_KEY: np.frombuffer(blob, np.uint8)}, **ARRAYS)
        try:
            return load_model(path)
        except ModelFileError:
            return None


SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), json_values, max_size=8))
def test_random_headers(header):
    load_with_header(json.dumps(header).encode())


@SETTINGS
@given(st.sampled_from(KEYS), json_values)
def test_one_top_level_field_replaced(key, value):
    load_with_header(json.dumps({**VALID, key: value}).encode())


@SETTINGS
@given(st.sampled_from(CONFIG_KEYS), json_values)
def test_one_config_field_replaced(key, value):
    model = load_with_header(json.dumps({**VALID, "config": {**VALID["config"], key: value}}).encode())
    if model is not None:  # whatever loaded must be a working model with the file's weights
        for name, array in ARRAYS.items():
            np.testing.assert_array_equal(model.state_dict()[name], array)


@SETTINGS
@given(st.binary(max_size=200))
def test_random_header_bytes(blob):
    load_with_header(blob)


def test_the_valid_header_loads():
    model = load_with_header(json.dumps(VALID).encode())
    assert model is not None and model.get_config() == MODEL.get_config()


# -- the archive itself: member names, declared shapes and sizes, compressed payloads ---------------------
def npy_member(shape, dtype, payload_bytes: int, fill: int) -> bytes:
    """A .npy member whose header declares ``shape`` and whose data is ``payload_bytes`` bytes of ``fill``."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": np.dtype(dtype).str, "fortran_order": False,
                                               "shape": tuple(shape)})
    return buf.getvalue() + bytes([fill]) * payload_bytes


members = st.lists(st.tuples(
    st.sampled_from([*ARRAYS, HEADER_KEY, "x", "../evil", "dir/a"]) | st.text(max_size=6),
    st.lists(st.integers(0, 3_000_000_000), max_size=3),
    st.sampled_from(["<f4", "<f8", "|u1", "<i8"]),
    st.integers(0, 3 << 20),  # payload bytes actually stored
    st.integers(0, 255),
), max_size=4)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(members, st.booleans())
def test_crafted_archives_are_refused_within_bounded_memory_and_time(entries, with_valid_header):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "crafted.npz"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # zipfile warns of a duplicate name: that is the test
            if with_valid_header:
                zf.writestr(HEADER_KEY + ".npy", npy_member((len(VALID_BLOB),), "|u1", 0, 0) + VALID_BLOB)
            for name, shape, dtype, payload, fill in entries:
                zf.writestr(name + ".npy", npy_member(shape, dtype, payload, fill))
        assert path.stat().st_size < 10 << 20
        tracemalloc.start()
        start = time.perf_counter()
        try:
            load_model(path)
        except ModelFileError:
            pass
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert peak < 200 << 20, f"the loader held {peak / 2**20:.0f} MB for a {path.stat().st_size} byte file"
        assert time.perf_counter() - start < 10


def test_a_zip_bomb_is_refused_before_anything_is_decompressed(tmp_path):
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:  # 1.5 GB of zeros in about 1.5 MB
        zf.writestr("rnn.weight_hh_l0.npy", npy_member((375_000_000,), "<f4", 1_500_000_000, 0))
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="declares 1,500,000,128 bytes of content in a file of"):
            load_model(path)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 20 << 20


def test_damaged_array_data_is_named_as_such(tmp_path):
    path = MODEL.save(tmp_path / "m.npz")
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("fc.weight.npy")
    npy = raw.find(b"\x93NUMPY", info.header_offset)  # the member's .npy bytes, stored as they are
    for k in range(npy + 130, npy + 140):  # inside the array's data, past its 128-byte header
        raw[k] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match=r"fc\.weight|corrupt|damaged") as err:
        load_model(path)
    assert "header" not in str(err.value)
