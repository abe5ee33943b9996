"""Model files: round trips, and clear errors for everything that is not a healthy rnnlab model."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

from rnnlab import ModelFileError, NextTokenModel, load_model
from rnnlab.data import LETTERS
from rnnlab.io import HEADER_KEY, atomic_write, load_arrays, save_arrays


@pytest.fixture
def saved(tmp_path):
    model = NextTokenModel(LETTERS, hidden_size=6, embedding_dim=4, rng=3)
    path = model.save(tmp_path / "model.npz", extra={"note": "hi"})
    return model, path


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_round_trip_is_bit_identical(tmp_path, dtype, cell):
    extra = {"nonlinearity": "relu"} if cell == "rnn" else {"num_layers": 2, "dropout": 0.25}
    model = NextTokenModel(list("xyz!"), cell=cell, hidden_size=5, dtype=dtype, rng=1, **extra)
    path = model.save(tmp_path / "m.npz")
    loaded = NextTokenModel.load(path)
    assert loaded.get_config() == model.get_config() and loaded.vocab == model.vocab
    for k, v in model.state_dict().items():
        assert loaded.state_dict()[k].dtype == v.dtype
        np.testing.assert_array_equal(loaded.state_dict()[k], v)
    ids = np.array([[0, 1, 2, 3]])
    np.testing.assert_array_equal(loaded.predict_proba(ids), model.predict_proba(ids))
    assert type(load_model(path)) is NextTokenModel


def test_header_extra_is_kept(saved):
    _, path = saved
    assert load_model(path).file_extra == {"note": "hi"}


def _rewrite(path, arrays=None, header=None, drop=()):
    """Rewrite a model file's members, as a hand-crafted file would."""
    with np.load(path, allow_pickle=False) as f:
        members = {k: f[k] for k in f.files if k not in drop}
    if header is not None:
        members[HEADER_KEY] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    members.update(arrays or {})
    with open(path, "wb") as fh:
        np.savez(fh, **members)


def _header(path):
    with np.load(path, allow_pickle=False) as f:
        return json.loads(f[HEADER_KEY].tobytes())


def test_missing_empty_and_foreign_files(tmp_path):
    with pytest.raises(ModelFileError, match="no model file"):
        load_model(tmp_path / "nope.npz")
    with pytest.raises(ModelFileError, match="is a folder"):
        load_model(tmp_path)
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(ModelFileError, match="not an rnnlab model file"):
        load_model(tmp_path / "empty.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ModelFileError, match="not an rnnlab model file"):
        load_model(tmp_path / "text.npz")
    np.savez(tmp_path / "plain.npz", a=np.zeros(3))
    with pytest.raises(ModelFileError, match="no rnnlab header"):
        load_model(tmp_path / "plain.npz")


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.95])
def test_truncated_file(saved, cut):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(ModelFileError):
        load_model(path)


def test_corrupted_bytes(saved):
    _, path = saved
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError):
        load_model(path)


def test_wrong_shapes_names_dtypes_and_values(saved):
    model, path = saved
    _rewrite(path, arrays={"fc.bias": np.zeros(3, np.float32)})
    with pytest.raises(ModelFileError, match=r"fc.bias has shape \(3,\), expected \(26,\)"):
        load_model(path)
    model.save(path)
    _rewrite(path, drop=("rnn.weight_hh_l0",), arrays={"rnn.weight_hh_l9": np.zeros((6, 6), np.float32)})
    with pytest.raises(ModelFileError, match=r"missing arrays rnn.weight_hh_l0; unexpected arrays rnn.weight_hh_l9"):
        load_model(path)
    model.save(path)
    _rewrite(path, arrays={"fc.bias": np.zeros(26, np.float64)})
    with pytest.raises(ModelFileError, match=r"fc.bias has dtype float64, expected float32"):
        load_model(path)
    model.save(path)
    _rewrite(path, arrays={"fc.bias": np.full(26, np.nan, np.float32)})
    with pytest.raises(ModelFileError, match="NaN or infinite"):
        load_model(path)


def test_bad_headers(saved):
    model, path = saved
    header = _header(path)
    _rewrite(path, header={**header, "format_version": 99})
    with pytest.raises(ModelFileError, match=r"format version 99.*upgrade rnnlab"):
        load_model(path)
    _rewrite(path, header={**header, "format": "something-else"})
    with pytest.raises(ModelFileError, match="not an rnnlab model file"):
        load_model(path)
    _rewrite(path, header={**header, "model": "Pickle"})
    with pytest.raises(ModelFileError, match="unknown type 'Pickle'"):
        load_model(path)
    _rewrite(path, header={**header, "config": {**header["config"], "hidden_size": -1}})
    with pytest.raises(ModelFileError, match="invalid model configuration"):
        load_model(path)
    _rewrite(path, header={**header, "config": {**header["config"], "evil": 1}})
    with pytest.raises(ModelFileError, match="unknown NextTokenModel config entries: evil"):
        load_model(path)
    model.save(path)
    _rewrite(path, arrays={HEADER_KEY: np.frombuffer(b"{not json", np.uint8)})
    with pytest.raises(ModelFileError, match="not valid UTF-8 JSON"):
        load_model(path)


def test_object_arrays_and_pickles_are_refused(saved, tmp_path):
    _, path = saved
    with np.load(path, allow_pickle=False) as f:
        members = {k: f[k] for k in f.files}
    members["fc.bias"] = np.array([{"a": 1}, None], dtype=object)
    with open(path, "wb") as fh:
        np.savez(fh, **members)  # numpy pickles object arrays
    with pytest.raises(ModelFileError, match=r"dtype object.*may be unsafe"):
        load_model(path)
    # a raw pickle member dressed as .npy
    evil = tmp_path / "evil.npz"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("fc.bias.npy", b"\x80\x04\x95" + b"cos\nsystem\n" + b"." * 20)
    with pytest.raises(ModelFileError, match=r"corrupt .npy header"):
        load_model(evil)
    other = tmp_path / "other.npz"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("payload.py", b"print('hi')")
    with pytest.raises(ModelFileError, match="not part of an rnnlab model file"):
        load_model(other)


def test_huge_declared_size_is_refused_before_allocating(saved):
    _, path = saved
    with np.load(path, allow_pickle=False) as f:
        members = {k: f[k] for k in f.files}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, v in members.items():
            b = io.BytesIO()
            np.lib.format.write_array(b, v)
            zf.writestr(k + ".npy", b.getvalue())
        # a header declaring 10**12 float64 values followed by 8 bytes of data
        hdr = io.BytesIO()
        np.lib.format.write_array_header_1_0(hdr, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
        zf.writestr("big.npy", hdr.getvalue() + b"\0" * 8)
    path.write_bytes(buf.getvalue())
    with pytest.raises(ModelFileError, match="declares 8000000000000 bytes"):
        load_arrays(path)


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old")

    def explode(f):
        f.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, explode)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind


def test_save_arrays_refuses_the_reserved_name(tmp_path):
    with pytest.raises(ValueError, match="reserved"):
        save_arrays(tmp_path / "x.npz", {HEADER_KEY: np.zeros(1)}, {})


def test_a_header_declaring_a_huge_model_is_refused_before_allocating(saved):
    model, path = saved
    header = _header(path)
    for key, value in [("hidden_size", 10**6), ("embedding_dim", 10**7), ("num_layers", 10**5)]:
        _rewrite(path, header={**header, "config": {**header["config"], key: value}})
        with pytest.raises(ModelFileError, match="does not match its declared model"):
            load_model(path)  # would need terabytes if built first
        model.save(path)


def test_parameter_shapes_match_the_built_model():
    for cfg in [{"cell": "lstm", "num_layers": 2}, {"cell": "gru", "hidden_size": 7, "embedding_dim": 3}, {}]:
        m = NextTokenModel(list("abcd"), rng=0, **cfg)
        assert NextTokenModel.parameter_shapes(m.get_config()) == {k: v.shape for k, v in m.state_dict().items()}
