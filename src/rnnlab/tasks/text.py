"""The text task: a character-level language model on any UTF-8 text (char-rnn)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rnnlab import datasets
from rnnlab.config import check_fields, option
from rnnlab.data.text import eval_streams, read_text, split_text, stream_batches
from rnnlab.data.vocab import Vocab
from rnnlab.errors import ConfigError, DataError
from rnnlab.models.char_lm import LN2, CharLM
from rnnlab.tasks.base import RecurrentModelConfig, RunConfig, Task, TaskData


@dataclass
class TextData:
    """Which text, how it is split and cut into chunks."""

    file: str = option("pride-and-prejudice", "a UTF-8 text file, or a bundled text's name (rnnlab datasets)",
                       positional=True)
    val_fraction: float = option(0.1, "the last part of the text held out for validation (contiguous)", above=0.0,
                                 below=1.0)
    seq_len: int = option(100, "characters per chunk: how far back gradients flow (truncated BPTT)", minimum=1)
    val_streams: int = option(16, "validation is read as this many contiguous streams, state carried", minimum=1)

    def __post_init__(self):
        check_fields(self)
        if not self.file:
            raise ConfigError("file should name a text file or a bundled text")


@dataclass
class CharLMConfig(RecurrentModelConfig):
    """A CharLM's architecture (the vocabulary comes from the text)."""

    hidden_size: int = option(256, "recurrent hidden units", minimum=1)
    num_layers: int = option(2, "stacked recurrent layers", minimum=1)
    embedding_dim: int = option(64, "character embedding size", minimum=1)


def load_run_text(source: str) -> str:
    """The text of a bundled name or a file (read once while the file is unchanged)."""
    return datasets.read_once(read_text, datasets.resolve(source, "text"))


class TextTask(Task):
    """Character-level language modelling (see :class:`~rnnlab.models.CharLM`)."""

    # the Task declaration every task makes (tasks/base.py): name, help, config classes, defaults
    name = "text"
    description = "a character-level language model on a text file (char-rnn): bits per character, generation"
    data_config = TextData
    model_config = CharLMConfig
    train_defaults: ClassVar[dict] = {"epochs": 10, "batch_size": 32, "lr": 2e-3, "clip_norm": 5.0,
                                      "shuffle": False}

    def check_config(self, config: RunConfig) -> None:
        if config.train.shuffle:
            raise ConfigError("the text task reads its streams in order: shuffle must stay false")

    def prepare(self, config: RunConfig, rng_data, rng_val) -> TaskData:
        d = config.data
        text = load_run_text(d.file)
        train_text, val_text = split_text(text, d.val_fraction)
        vocab = Vocab.from_text(text)
        if len(vocab) < 2:
            raise DataError(f"{d.file} holds a single distinct character ({text[0]!r}): there is nothing for a "
                            "language model to learn; give a real text")
        train = stream_batches(vocab.encode(train_text), config.train.batch_size, d.seq_len)
        info = {"vocab": vocab, "characters": len(text), "held_out": len(val_text)}
        return TaskData(train, eval_streams(vocab.encode(val_text), d.val_streams), info)

    def data_files(self, config: RunConfig) -> list:
        return [datasets.resolve(config.data.file, "text")]

    def build_model(self, config: RunConfig, data: TaskData, rng):
        return CharLM(data.info["vocab"], rng=rng, **vars(config.model))

    def intro(self, config: RunConfig, data: TaskData, out) -> None:
        d, info = config.data, data.info
        B = config.train.batch_size
        steps = data.train[0].shape[0] // B
        print(f"text: {d.file}: {info['characters']:,} characters, {len(info['vocab'])} distinct; the last "
              f"{info['held_out']:,} ({d.val_fraction:.0%}) held out", file=out)
        print(f"training: {B} streams of {steps * d.seq_len:,} characters, read in chunks of {d.seq_len} with the "
              f"state carried ({steps} steps an epoch)", file=out)

    def title(self, config: RunConfig) -> str:
        m = config.model
        return f"{m.num_layers}-layer {m.cell.upper()} ({m.hidden_size}) on {Path(config.data.file).name}"

    def loss_label(self, config: RunConfig) -> str:
        return "cross-entropy per character (nats)"

    def report(self, model, config: RunConfig, validation, out) -> dict:
        metrics = model.evaluate(*validation)
        print(f"validation: {metrics['loss']:.4f} nats = {metrics['bits_per_char']:.4f} bits per character; "
              f"next-character accuracy {metrics['accuracy']:.3f} (uniform guessing: "
              f"{math.log(len(model.vocab)) / LN2:.2f} bits)", file=out)
        prime = model.vocab.decode(validation[0][0, :40])
        prime = prime[: prime.rfind(" ") + 1] or prime
        sample = model.sample(prime, 300, temperature=0.8, seed=0)
        print(f"\nsample (temperature 0.8, primed with the validation text's start):\n{prime}{sample}", file=out)
        return {**metrics, "sample": prime + sample}

    def evaluate_file(self, model, config: RunConfig, path, out) -> dict:
        text = datasets.load_text(path)
        metrics = model.evaluate_text(text, config.data.val_streams)
        print(f"{path}: {len(text):,} characters: {metrics['loss']:.4f} nats = {metrics['bits_per_char']:.4f} "
              f"bits per character; accuracy {metrics['accuracy']:.3f}", file=out)
        return metrics
