"""The letters task: the notebook's letter sequences, next-letter prediction."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from rnnlab.config import check_fields, option
from rnnlab.data.letters import LETTERS, VARIANTS, format_samples, letter_task
from rnnlab.errors import ConfigError
from rnnlab.models.next_token import NextTokenModel
from rnnlab.tasks.base import RecurrentModelConfig, RunConfig, Task, TaskData


@dataclass
class LettersData:
    """The letter task's data: how many sequences, how long, which rule."""

    samples: int = option(1000, "training sequences", minimum=1)
    val_samples: int = option(1000, "held-out sequences", minimum=1)
    seq_len: int = option(5, "input letters per sequence", minimum=1)
    variant: str = option("sum", "sum: the notebook's rule (sum of all previous letters); fibonacci: previous two",
                          choices=VARIANTS)

    def __post_init__(self):
        check_fields(self)


@dataclass
class NextTokenConfig(RecurrentModelConfig):
    """A NextTokenModel's architecture (its constructor arguments, the vocabulary aside)."""

    cell: str = option("rnn", "recurrent cell", choices=("rnn", "lstm", "gru"))
    hidden_size: int = option(50, "recurrent hidden units", minimum=1)
    embedding_dim: int = option(32, "token embedding size", minimum=1)
    nonlinearity: str = option("tanh", "activation of --cell rnn", choices=("tanh", "relu"))


def step_descriptions(variant: str, T: int) -> list[str]:
    """What each target step asks of the model (for the report)."""
    names = ["2nd letter: pure chance"]
    for t in range(1, T):
        if variant == "sum":
            names.append("a0 + a1: needs memory" if t == 1 else "2 x previous: no memory")
        else:
            names.append(f"a{t - 1} + a{t}: needs memory")
    return names


class LettersTask(Task):
    """The notebook's task (see rnnlab.data.letters and docs/from-the-notebook.md)."""

    name = "letters"
    description = "the notebook's letter sequences: predict the next letter at every step"
    data_config = LettersData
    model_config = NextTokenConfig
    train_defaults: ClassVar[dict] = {
        "epochs": 200, "batch_size": 32, "lr": 0.003, "weight_decay": 2e-4, "clip_norm": 5.0,
    }

    def check_config(self, config: RunConfig) -> None:
        if config.model.cell != "rnn" and config.model.nonlinearity != "tanh":
            raise ConfigError("nonlinearity applies to cell rnn only (--nonlinearity with --cell rnn)")

    def prepare(self, config: RunConfig, rng_data, rng_val) -> TaskData:
        d = config.data
        train = letter_task(d.samples, seq_len=d.seq_len, variant=d.variant, rng=rng_data)
        val = letter_task(d.val_samples, seq_len=d.seq_len, variant=d.variant, rng=rng_val)
        return TaskData(train, val, {})

    def build_model(self, config: RunConfig, data: TaskData, rng):
        return NextTokenModel(LETTERS, rng=rng, **vars(config.model))

    def intro(self, config: RunConfig, data: TaskData, out) -> None:
        d = config.data
        rule = "sum of all previous letters" if d.variant == "sum" else "sum of the previous two letters"
        print(f"task: each letter is the {rule}, mod 26; {d.samples} training and {d.val_samples} "
              f"held-out sequences (seed {config.seed})", file=out)
        print(format_samples(*data.train, n=5), file=out)

    def title(self, config: RunConfig) -> str:
        d, m = config.data, config.model
        layers = f"{m.num_layers}-layer " if m.num_layers > 1 else ""
        return f"{layers}{m.cell.upper()} on the letter task: {d.variant} rule, {d.samples:,} training sequences"

    def plot_floor(self, config: RunConfig) -> float:
        return math.log(26) / config.data.seq_len

    def report(self, model, config: RunConfig, validation, out) -> dict:
        xv, yv = validation
        d = config.data
        metrics = model.evaluate(xv, yv)
        floor = self.plot_floor(config)
        print(f"held-out results ({len(xv)} sequences):", file=out)
        print(f"  {'step':<5}{'target':<26}{'accuracy':>9}{'CE (nats)':>11}", file=out)
        for t, desc in enumerate(step_descriptions(d.variant, d.seq_len)):
            print(f"  {t:<5}{desc:<26}{metrics['per_step_accuracy'][t]:>9.3f}{metrics['per_step_loss'][t]:>11.3f}",
                  file=out)
        print(f"  chance accuracy 1/26 = {1 / 26:.3f}; step 0 cannot beat ln(26) = {math.log(26):.3f} nats", file=out)
        print(f"  mean per-step cross-entropy: {metrics['loss']:.3f} nats "
              f"(best possible ln(26)/{d.seq_len} = {floor:.3f})", file=out)
        print(file=out)
        print("predictions for the last step of 5 held-out sequences (top 5, as the notebook shows):", file=out)
        predictions = []
        for i in range(min(5, len(xv))):
            seq = LETTERS.decode(xv[i])
            truth = LETTERS.decode(yv[i, -1:])
            top = model.predict_topk(seq, k=5)
            shown = ", ".join(f"{tok} {p:.3f}" for tok, p in top)
            mark = "right" if top[0][0] == truth else "wrong"
            print(f"  {' '.join(seq)}  ->  {shown}   truth {truth} ({mark})", file=out)
            predictions.append({"input": seq, "top": top, "truth": truth})
        return {**metrics, "floor": floor, "predictions": predictions}
