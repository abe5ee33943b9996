"""Fuzzing the model-file header: whatever it holds, loading either works or raises ModelFileError."""

import json
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlab import ModelFileError, NextTokenModel, load_model
from rnnlab.io import HEADER_KEY

MODEL = NextTokenModel(list("abc"), hidden_size=3, embedding_dim=2, rng=0)
ARRAYS = MODEL.state_dict()
with tempfile.TemporaryDirectory() as d:
    VALID = json.loads(np.load(MODEL.save(Path(d) / "m.npz"), allow_pickle=False)[HEADER_KEY].tobytes())

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
