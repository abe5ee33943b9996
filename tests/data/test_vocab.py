"""Vocab: encode, decode, errors."""

import pytest

from rnnlab import ConfigError, DataError, UnknownTokenError, Vocab


def test_vocab_encode_decode_and_errors():
    v = Vocab.from_text("banana!")
    assert v.tokens == ["!", "a", "b", "n"]  # sorted: the same ids on every run
    assert v.decode(v.encode("banana")) == "banana"
    assert "a" in v and "z" not in v and len(v) == 4
    with pytest.raises(UnknownTokenError, match=r"2 token\(s\) not in the vocabulary: 'x', 'y'"):
        v.encode("axbyx")
    with pytest.raises(ConfigError, match="unique"):
        Vocab(["a", "a"])
    with pytest.raises(ConfigError, match="at least one"):
        Vocab([])
    with pytest.raises(DataError, match="empty text"):
        Vocab.from_text("")
    with pytest.raises(DataError, match=r"ids should be in 0\.\.3"):
        v.decode([4])
    words = Vocab(["the", "cat"])
    assert words.decode(words.encode(["cat", "the"])) == ["cat", "the"]
    with pytest.raises(ConfigError, match="multi-character"):
        words.encode("the")
