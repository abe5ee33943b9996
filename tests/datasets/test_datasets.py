"""The bundled data sets and their attributions."""


import numpy as np
import pytest

from rnnlab import datasets
from rnnlab.errors import DataError


def test_bundled_corpus():
    text = datasets.load_text("pride-and-prejudice")
    assert len(text) == 684_768 and len(set(text)) == 75 and text.startswith("PRIDE AND PREJUDICE")


def test_bundled_japanese_vowels():
    (x, lengths, y), meta = datasets.load_sequences("japanese-vowels", "train")
    assert x.shape == (270, 26, 12) and np.bincount(y).tolist() == [30] * 9
    (xt, lt, _), _ = datasets.load_sequences("japanese-vowels", "test")
    assert xt.shape[0] == 370 and lt.min() == 7 and lt.max() == 29
    assert (x[np.arange(x.shape[1])[None] >= lengths[:, None]] == 0).all()  # zero padding
    assert meta["classes"] == [str(k) for k in range(1, 10)]
    with pytest.raises(DataError, match="splits train, test"):
        datasets.load_sequences("japanese-vowels", "validation")


def test_bundled_series():
    values, meta = datasets.load_series("sunspots", ["sunspots"])
    assert values.shape == (3126, 1) and meta["dates"][-1] == "2009-06"
    with pytest.raises(DataError, match="'co2': 59"):
        datasets.load_series("co2")
    values, meta = datasets.load_series("co2", missing="interpolate")
    assert values.shape == (2284, 1) and np.isfinite(values).all() and meta["missing"] == {"co2": 59}
    with pytest.raises(DataError, match="not series"):
        datasets.load_series("pride-and-prejudice")


def test_notice_carries_every_attribution():
    notice = (datasets.DATA_DIR / "NOTICE.md").read_text(encoding="utf-8")
    for d in datasets.DATASETS.values():
        for f in d.files.values():
            assert f in notice
    assert "Kudo" in notice and "janeaustenr" in notice
