"""The text task: a character-level language model on any UTF-8 text (char-rnn)."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rnnlab import datasets
from rnnlab._checks import check_int
from rnnlab.data.text import eval_streams, split_text, stream_batches
from rnnlab.data.vocab import Vocab
from rnnlab.errors import ConfigError
from rnnlab.models.char_lm import LN2, CharLM
from rnnlab.tasks.base import Task, check_fraction, option


@dataclass
class TextData:
    """Which text, how it is split and cut into chunks."""

    file: str = option("pride-and-prejudice", "a UTF-8 text file, or a bundled text's name (rnnlab datasets)",
                     positional=True)
    val_fraction: float = option(0.1, "the last part of the text held out for validation (contiguous)")
    seq_len: int = option(100, "characters per chunk: how far back gradients flow (truncated BPTT)")
    val_streams: int = option(16, "validation is read as this many contiguous streams, state carried")

    def __post_init__(self):
        if not isinstance(self.file, str) or not self.file:
            raise ConfigError("file should name a text file or a bundled text")
        check_fraction("val_fraction", self.val_fraction)
        check_int("seq_len", self.seq_len)
        check_int("val_streams", self.val_streams)


@dataclass
class CharLMConfig:
    """A CharLM's architecture (the vocabulary comes from the text)."""

    cell: str = option("lstm", "recurrent cell", choices=("rnn", "lstm", "gru"))
    embedding_dim: int = option(64, "character embedding size")
    hidden_size: int = option(256, "recurrent hidden units")
    num_layers: int = option(2, "stacked recurrent layers")
    dropout: float = option(0.0, "dropout between stacked layers, in training only")
    dtype: str = option("float32", "floating-point precision", choices=("float32", "float64"))


@functools.lru_cache(maxsize=4)
def _text(path: str, mtime: float) -> str:
    return datasets.load_text(path)


def load_run_text(source: str) -> str:
    """The text of a bundled name or a file (cached while the file is unchanged)."""
    path = datasets.resolve(source, "text")
    mtime = path.stat().st_mtime if path.exists() else -1.0
    return _text(str(source) if source in datasets.DATASETS else str(path), mtime)


class TextTask(Task):
    """Character-level language modelling (see :class:`~rnnlab.models.CharLM`)."""

    name = "text"
    description = "a character-level language model on a text file (char-rnn): bits per character, generation"
    data_config = TextData
    model_config = CharLMConfig
    train_defaults: ClassVar[dict] = {"epochs": 10, "batch_size": 32, "lr": 2e-3, "clip_norm": 5.0,
                                      "shuffle": False}

    def _split(self, d: TextData) -> tuple[str, str, Vocab]:
        text = load_run_text(d.file)
        train, val = split_text(text, d.val_fraction)
        return train, val, Vocab.from_text(text)

    def build_data(self, d, rng_data, rng_val, train_cfg):
        if train_cfg.get("shuffle"):
            raise ConfigError("the text task reads its streams in order: shuffle must stay false")
        train, val, vocab = self._split(d)
        x, y = stream_batches(vocab.encode(train), train_cfg["batch_size"], d.seq_len)
        return (x, y), eval_streams(vocab.encode(val), d.val_streams)

    def build_model(self, m, rng, d):
        return CharLM(self._split(d)[2], rng=rng, **vars(m))

    def intro(self, config, train, out) -> None:
        d = config["data"]
        text = load_run_text(d["file"])
        n_val = len(text) - len(split_text(text, d["val_fraction"])[0])
        B = config["train"]["batch_size"]
        print(f"text: {d['file']}: {len(text):,} characters, {len(set(text))} distinct; the last {n_val:,} "
              f"({d['val_fraction']:.0%}) held out", file=out)
        print(f"training: {B} streams of {train[0].shape[0] // B * d['seq_len']:,} characters, read in chunks of "
              f"{d['seq_len']} with the state carried ({train[0].shape[0] // B} steps an epoch)", file=out)

    def title(self, config) -> str:
        m = config["model"]
        return (f"{m['num_layers']}-layer {m['cell'].upper()} ({m['hidden_size']}) on "
                f"{Path(config['data']['file']).name}")

    def loss_label(self, config) -> str:
        return "cross-entropy per character (nats)"

    def report(self, model, config, validation, out) -> dict:
        metrics = model.evaluate(*validation)
        print(f"validation: {metrics['loss']:.4f} nats = {metrics['bits_per_char']:.4f} bits per character; "
              f"next-character accuracy {metrics['accuracy']:.3f} (uniform guessing: "
              f"{math.log(len(model.vocab)) / LN2:.2f} bits)", file=out)
        prime = model.vocab.decode(validation[0][0, :40])
        prime = prime[: prime.rfind(" ") + 1] or prime
        sample = model.sample(prime, 300, temperature=0.8, seed=0)
        print(f"\nsample (temperature 0.8, primed with the validation text's start):\n{prime}{sample}", file=out)
        return {**metrics, "sample": prime + sample}

    def evaluate_file(self, model, config, path, out) -> dict:
        text = datasets.load_text(path)
        metrics = model.evaluate_text(text, config["data"]["val_streams"] if config else 16)
        print(f"{path}: {len(text):,} characters: {metrics['loss']:.4f} nats = {metrics['bits_per_char']:.4f} "
              f"bits per character; accuracy {metrics['accuracy']:.3f}", file=out)
        return metrics
