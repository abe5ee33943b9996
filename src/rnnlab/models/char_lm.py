"""CharLM: a character-level language model (char-rnn) with truncated BPTT over long text and generation.

Dimension letters: N streams (batch rows), T steps per chunk, V characters, H hidden size,
L layers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from rnnlab._checks import check_int
from rnnlab.data.text import eval_streams, split_text, stream_batches
from rnnlab.data.vocab import Vocab
from rnnlab.errors import ConfigError, DataError, UnknownTokenError
from rnnlab.functional.activations import log_softmax, softmax
from rnnlab.models.base import BatchResult
from rnnlab.models.next_token import NextTokenModel
from rnnlab.nn.init import as_generator
from rnnlab.nn.module import module_mode

LN2 = math.log(2.0)


def filter_probs(probs: np.ndarray, top_k: int | None = None, top_p: float | None = None) -> np.ndarray:
    """Keep the ``top_k`` most likely tokens and/or the smallest set whose mass reaches ``top_p``
    (nucleus sampling), renormalised. probs: (V,) summing to 1. Returns a new (V,) array."""
    p = np.array(probs, dtype=np.float64)
    order = np.argsort(-p, kind="stable")
    keep = np.ones(p.size, dtype=bool)
    if top_k is not None:
        keep[order[top_k:]] = False
    if top_p is not None:
        cum = np.cumsum(p[order])
        n = int(np.searchsorted(cum, top_p * cum[-1]) + 1)  # the first tokens that reach the mass
        keep[order[n:]] = False
    p[~keep] = 0.0
    return p / p.sum()


class CharLM(NextTokenModel):
    """A character-level language model: Embedding -> (stacked) RNN / LSTM / GRU -> Linear.

    The constructor is :class:`NextTokenModel`'s, with char-rnn's defaults (a 2-layer LSTM,
    hidden 256, embedding 64). Use :meth:`from_text` to build one whose sorted vocabulary
    covers a text.

    Training (:meth:`fit_text`, or :class:`~rnnlab.training.Trainer` on :meth:`text_arrays`)
    is truncated backpropagation through time over N contiguous streams, the state carried
    from each chunk to the next and reset at each epoch (see :mod:`rnnlab.data.text`);
    :meth:`evaluate` reports nats and bits per character. :meth:`generate` streams text
    one character at a time, carrying the state (the prime is read once, never again).

    Example::

        >>> from rnnlab.models import CharLM
        >>> text = "the cat sat on the mat. " * 40
        >>> model = CharLM.from_text(text, hidden_size=32, embedding_dim=8, num_layers=1, rng=0)
        >>> history = model.fit_text(text[:800], validation=text[800:], seq_len=20, batch_size=4,
        ...                          epochs=3, lr=0.01, seed=0, progress=False)
        >>> len(model.sample("the ", length=30, temperature=0.8, seed=1))
        30
    """

    def __init__(self, vocab, *, cell: str = "lstm", embedding_dim: int = 64, hidden_size: int = 256,
                 num_layers: int = 2, dropout: float = 0.0, nonlinearity: str = "tanh", proj_size: int = 0,
                 recurrent_dropout: float = 0.0, layer_norm: bool = False, dtype=np.float32, rng=None):
        super().__init__(vocab, cell=cell, embedding_dim=embedding_dim, hidden_size=hidden_size,
                         num_layers=num_layers, dropout=dropout, nonlinearity=nonlinearity, proj_size=proj_size,
                         recurrent_dropout=recurrent_dropout, layer_norm=layer_norm, dtype=dtype, rng=rng)
        if not all(len(t) == 1 for t in self.vocab):
            raise ConfigError("a CharLM's vocabulary should be single characters")
        self._carry = None

    @classmethod
    def from_text(cls, text: str, **kwargs) -> CharLM:
        """A model whose vocabulary is the sorted set of ``text``'s characters (kwargs: the constructor's)."""
        if not isinstance(text, str):
            raise DataError(f"text should be a str, got {type(text).__name__}")
        return cls(Vocab.from_text(text), **kwargs)

    # -- the carried state of truncated BPTT ----------------------------------------------------
    def start_epoch(self) -> None:
        """Forget the carried state (the trainer calls this at the start of every epoch)."""
        self._carry = None

    def carried_state(self) -> dict[str, np.ndarray]:
        """The state carried between training chunks, for checkpoints (empty when none)."""
        if self._carry is None:
            return {}
        parts = self._carry if isinstance(self._carry, tuple) else (self._carry,)
        return {f"s{i}": s for i, s in enumerate(parts)}

    def set_carried_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore :meth:`carried_state` output."""
        if not arrays:
            self._carry = None
            return
        parts = tuple(np.asarray(arrays[f"s{i}"], dtype=self.dtype) for i in range(self.rnn.n_states))
        self.rnn.state_parts(self.rnn.state_from_parts(parts), parts[0].shape[1])  # the shapes are checked
        self._carry = self.rnn.state_from_parts(parts)

    def train_batch(self, ids, targets, mask=None) -> BatchResult:
        """One truncated-BPTT step on the next chunk of every stream (rows = streams), continuing
        from the state the previous chunk ended in (when the batch has the same number of rows)."""
        states = self._carry if self._carry is not None and self._carry_rows() == ids.shape[0] else None
        loss, correct = self._loss(ids, targets, mask, states)
        self._carry = self._finals  # fresh arrays: the gradient stops here
        self.backward()
        return BatchResult(loss, correct, ids.size if mask is None else float(mask.sum()))

    def _carry_rows(self) -> int:
        """The number of streams the carried state is for."""
        return (self._carry[0] if isinstance(self._carry, tuple) else self._carry).shape[1]

    # -- data -------------------------------------------------------------------------------------
    def encode_text(self, text: str, unknown: str = "error") -> np.ndarray:
        """Text -> ids (L,). unknown: "error" (name the characters the model never saw) or "skip"."""
        if unknown not in ("error", "skip"):
            raise ConfigError(f"unknown should be 'error' or 'skip', got {unknown!r}")
        if unknown == "skip":
            text = "".join(ch for ch in text if ch in self.vocab)
        try:
            return self.vocab.encode(text)
        except UnknownTokenError as exc:
            shown = ", ".join(repr(t) for t in exc.unknown[:10]) + (" ..." if len(exc.unknown) > 10 else "")
            raise UnknownTokenError(f"{len(exc.unknown)} character(s) the model never saw in training: {shown} "
                                    "(skip them with unknown='skip', --skip-unknown on the command line)",
                                    exc.unknown) from None

    def text_arrays(self, train: str, validation: str | None = None, *, seq_len: int = 100,
                    batch_size: int = 32, val_streams: int = 16):
        """``(train arrays, validation arrays or None)`` for the :class:`~rnnlab.training.Trainer`:
        chunk-major stream batches (train it with ``batch_size`` rows per step, unshuffled) and
        ``val_streams`` long rows for :meth:`evaluate`."""
        train_arrays = stream_batches(self.encode_text(train), batch_size, seq_len)
        val = None
        if validation is not None:
            val = eval_streams(self.encode_text(validation), val_streams)
        return train_arrays, val

    def fit_text(self, text: str, *, validation: str | None = None, val_fraction: float | None = None,
                 seq_len: int = 100, val_streams: int = 16, **options):
        """Train on a text with truncated BPTT; returns the History.

        validation: held-out text, or None; val_fraction: hold out this last part of ``text``
        instead. seq_len: characters per chunk (T). Other keyword arguments are
        :class:`~rnnlab.training.TrainConfig` fields; ``batch_size`` is the number of streams.
        """
        if val_fraction is not None:
            if validation is not None:
                raise ConfigError("give validation text or val_fraction, not both")
            text, validation = split_text(text, val_fraction)
        if options.get("shuffle"):
            raise ConfigError("stream batches must stay in order: shuffle=True would break the carried state")
        train, val = self.text_arrays(text, validation, seq_len=seq_len, batch_size=options.get("batch_size", 32),
                                      val_streams=val_streams)
        return self.fit(*train, validation=val, shuffle=False, **options)

    # -- evaluation ---------------------------------------------------------------------------------
    def evaluate(self, ids, targets, mask=None, chunk: int = 200) -> dict:
        """Loss over long rows read with carried state (evaluation mode).

        ids, targets: (N, L) rows, e.g. from :func:`~rnnlab.data.text.eval_streams`; each row is
        read from its start in chunks of ``chunk`` steps with the state carried across.
        Returns ``loss`` (nats per character), ``bits_per_char`` and ``accuracy``.
        """
        data = self.check_data(ids, targets, mask)
        ids, targets = data[0], data[1]
        w = None if mask is None else np.asarray(data[2], dtype=np.float64)
        states, nll, hits, total = None, 0.0, 0.0, 0.0
        with module_mode(self):
            for start in range(0, ids.shape[1], chunk):
                sl = slice(start, start + chunk)
                scores_cm, states = self._scores_cm(ids[:, sl], states)  # (V, t*N), column s*N + n
                logp = log_softmax(scores_cm.astype(np.float64), axis=0)
                tgt = targets[:, sl].T.reshape(-1)
                cols = np.arange(tgt.size)
                weight = np.ones(tgt.size) if w is None else w[:, sl].T.reshape(-1)
                nll -= float(logp[tgt, cols] @ weight)
                hits += float((logp.argmax(axis=0) == tgt) @ weight)
                total += float(weight.sum())
        loss = nll / total
        return {"loss": loss, "bits_per_char": loss / LN2, "accuracy": hits / total}

    def evaluate_text(self, text: str, streams: int = 16) -> dict:
        """:meth:`evaluate` on a text, read as ``streams`` contiguous rows."""
        return self.evaluate(*eval_streams(self.encode_text(text), streams))

    # -- generation ------------------------------------------------------------------------------------
    def generate(self, prime: str, length: int, *, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, seed=None, unknown: str = "error") -> Iterator[str]:
        """Stream ``length`` generated characters after ``prime``, one at a time.

        The prime is read once (one forward pass); then each character is drawn from the
        next-character distribution and fed back with :meth:`~rnnlab.nn.LSTM.step`, carrying the
        state: nothing is recomputed. temperature: divides the scores (0: greedy, always the most
        likely); top_k: draw among the k most likely only; top_p: among the most likely whose
        probabilities sum to top_p (nucleus sampling); seed: seed or Generator. unknown:
        "error" (an UnknownTokenError naming the prime's unseen characters) or "skip".
        """
        length = check_int("length", length, minimum=0)
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not (
                math.isfinite(temperature) and temperature >= 0):
            raise ConfigError(f"temperature should be a finite number >= 0, got {temperature!r}")
        if top_k is not None:
            top_k = check_int("top_k", top_k)
        if top_p is not None and not (isinstance(top_p, (int, float)) and 0.0 < top_p <= 1.0):
            raise ConfigError(f"top_p should be in (0, 1], got {top_p!r}")
        if not isinstance(prime, str):
            raise DataError(f"prime should be a str, got {type(prime).__name__}")
        ids = self.encode_text(prime, unknown)
        if ids.size == 0:
            raise DataError("the prime is empty" + (" once unknown characters are skipped" if prime else "")
                            + ": give at least one character to start from")
        return self._stream(ids, length, float(temperature), top_k, top_p, as_generator(seed))

    def _stream(self, ids, length, temperature, top_k, top_p, rng) -> Iterator[str]:
        with module_mode(self):
            scores_cm, state = self._scores_cm(ids[None, :])
        scores = scores_cm[:, -1].astype(np.float64)  # after the last prime character
        tokens = self.vocab.tokens
        for _ in range(length):
            if temperature == 0.0:
                nxt = int(np.argmax(scores))
            else:
                probs = filter_probs(softmax(scores / temperature), top_k, top_p)
                nxt = int(rng.choice(probs.size, p=probs))
            yield tokens[nxt]
            h, state = self.rnn.step(self.embedding.forward(np.array([nxt])), state)  # (1, H)
            scores = self.fc.forward(h)[0].astype(np.float64)

    def sample(self, prime: str, length: int = 200, *, temperature: float = 1.0, top_k: int | None = None,
               top_p: float | None = None, seed=None, unknown: str = "error") -> str:
        """``length`` characters generated after ``prime`` (the prime not included); see :meth:`generate`."""
        return "".join(self.generate(prime, length, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed,
                                     unknown=unknown))

    def greedy(self, prime: str, length: int = 200, *, unknown: str = "error") -> str:
        """Greedy decoding: always the most likely next character (``sample`` with temperature 0)."""
        return self.sample(prime, length, temperature=0.0, unknown=unknown)
