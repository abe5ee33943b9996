"""Vocabularies: the mapping between tokens (characters, letters) and integer ids."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from rnnlab.errors import ConfigError, DataError, UnknownTokenError


class Vocab:
    """An ordered set of string tokens; token ``i`` has id ``i``.

    tokens: the tokens in id order (strings, no duplicates). Use :meth:`from_text` to
    build a sorted character vocabulary from text: sorting makes the ids the same on
    every run (``list(set(text))`` does not).

    Example::

        >>> v = Vocab.from_text("hello")
        >>> v.tokens
        ['e', 'h', 'l', 'o']
        >>> v.encode("hole").tolist()
        [1, 3, 2, 0]
        >>> v.decode([1, 0, 2, 2, 3])
        'hello'
    """

    def __init__(self, tokens: Iterable[str]):
        tokens = list(tokens)
        if not tokens:
            raise ConfigError("a vocabulary needs at least one token")
        bad = [t for t in tokens if not isinstance(t, str) or t == ""]
        if bad:
            raise ConfigError(f"vocabulary tokens should be non-empty strings, got {bad[:3]!r}")
        if len(set(tokens)) != len(tokens):
            dup = sorted({t for t in tokens if tokens.count(t) > 1})
            raise ConfigError(f"vocabulary tokens should be unique, repeated: {dup[:5]!r}")
        self._tokens = tokens
        self._index = {t: i for i, t in enumerate(tokens)}
        self._chars = all(len(t) == 1 for t in tokens)

    @classmethod
    def from_text(cls, text: str) -> Vocab:
        """The sorted set of characters of ``text``."""
        if not text:
            raise DataError("cannot build a vocabulary from empty text")
        return cls(sorted(set(text)))

    @property
    def tokens(self) -> list[str]:
        """The tokens in id order (a copy)."""
        return list(self._tokens)

    def __len__(self) -> int:
        return len(self._tokens)

    def __iter__(self):
        return iter(self._tokens)

    def __contains__(self, token) -> bool:
        return token in self._index

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocab) and list(other) == self._tokens

    def __hash__(self) -> int:
        return hash(tuple(self._tokens))

    def __repr__(self) -> str:
        shown = "".join(self._tokens) if self._chars and len(self) <= 40 else f"{len(self)} tokens"
        return f"Vocab({shown!r})"

    def split(self, text: str | Sequence[str]) -> list[str]:
        """Turn a string into tokens (its characters, for a character vocabulary) or pass a list through."""
        if isinstance(text, str):
            if not self._chars:
                raise ConfigError("this vocabulary has multi-character tokens: pass a list of tokens, not a string")
            return list(text)
        return list(text)

    def encode(self, seq: str | Sequence[str]) -> np.ndarray:
        """Tokens -> ids of shape (T,), int64.

        seq: a string (one token per character) or a sequence of tokens. Raises
        :class:`~rnnlab.errors.UnknownTokenError` naming every token not in the vocabulary.
        """
        tokens = self.split(seq)
        unknown = [t for t in dict.fromkeys(tokens) if t not in self._index]
        if unknown:
            shown = ", ".join(repr(t) for t in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
            raise UnknownTokenError(
                f"{len(unknown)} token(s) not in the vocabulary: {shown}; the vocabulary is {self!r}",
                unknown,
            )
        return np.fromiter((self._index[t] for t in tokens), dtype=np.int64, count=len(tokens))

    def decode(self, ids) -> str | list[str]:
        """Ids -> the string of their tokens (character vocabularies) or the list of tokens."""
        ids = np.asarray(ids).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise DataError(f"ids should be in 0..{len(self) - 1}, got values from {ids.min()} to {ids.max()}")
        tokens = [self._tokens[i] for i in ids.tolist()]
        return "".join(tokens) if self._chars else tokens
