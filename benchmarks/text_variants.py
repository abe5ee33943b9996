"""Text: the plain 2-layer LSTM beside its layer-normalised and recurrent-dropout variants, at equal
wall time (``benchmarks/tasks.py --task text --variants``).

The network, data, batches and optimizer of the text benchmark (``tasks.py``'s ``TEXT``); each
variant starts from the plain model's initial weights (a layer norm's gains start at 1, its bias
at 0) and trains for ``--minutes`` of its own wall-clock time, the variants' turns interleaved in
slices of ``--slice`` seconds so that a slow moment of the shared machine hits all alike.
Validation bits per character is measured outside the timed slices, every ``--eval-every``
minutes. PyTorch has neither variant, so only rnnlab runs here.
"""

from __future__ import annotations

import threading
import time

from rnnlab import datasets
from rnnlab.data.text import split_text
from rnnlab.errors import TrainingInterrupted
from rnnlab.models import CharLM
from rnnlab.training import TrainConfig, Trainer

VARIANTS = {"plain": {}, "layer norm": {"layer_norm": True}, "recurrent dropout 0.25": {"recurrent_dropout": 0.25}}


def timed_slice(trainer: Trainer, seconds: float) -> float:
    """Train for about ``seconds`` (the trainer stops between steps); returns the seconds taken."""
    timer = threading.Timer(seconds, trainer.stop)
    t0 = time.perf_counter()
    timer.start()
    try:
        trainer.run()
    except TrainingInterrupted:
        pass
    finally:
        timer.cancel()
    return time.perf_counter() - t0


def bench_variants(args, text_options: dict, seq_len: int, batch: int, lr: float, clip: float,
                   val_streams: int) -> dict:
    """Each variant's steps, steps per second, final and best validation bits per character."""
    text = datasets.load_text("pride-and-prejudice")
    train_text, val_text = split_text(text, 0.1)
    plain = CharLM.from_text(text, **{**text_options, "cell": args.cell}, rng=args.seed)
    (x, y), (xv, yv) = plain.text_arrays(train_text, val_text, seq_len=seq_len, batch_size=batch,
                                         val_streams=val_streams)
    runs = {}
    for name, options in VARIANTS.items():
        model = CharLM.from_text(text, **{**text_options, "cell": args.cell}, **options, rng=args.seed)
        model.load_state_dict(plain.state_dict(), strict=False)  # the same start (the gains keep theirs)
        trainer = Trainer(model, (x, y), TrainConfig(epochs=10_000, batch_size=batch, lr=lr, clip_norm=clip,
                                                     shuffle=False, progress=False, seed=args.seed))
        runs[name] = {"model": model, "trainer": trainer, "seconds": 0.0, "curve": []}
        print(f"text variant {name}: {model.describe()}, {model.num_parameters():,} parameters", flush=True)
    budget, next_eval = args.minutes * 60.0, args.eval_every * 60.0
    while min(r["seconds"] for r in runs.values()) < budget:
        for r in runs.values():
            left = budget - r["seconds"]
            if left > 0:
                r["seconds"] += timed_slice(r["trainer"], min(args.slice, left))
        done = min(r["seconds"] for r in runs.values())
        if done >= min(next_eval, budget):
            for r in runs.values():
                bpc = r["model"].evaluate(xv, yv)["bits_per_char"]
                r["curve"].append({"minutes": done / 60, "steps": r["trainer"].step, "bpc": bpc})
            print(f"  {done / 60:5.1f} min: " + ", ".join(f"{name} {r['curve'][-1]['bpc']:.4f} bpc "
                                                        f"({r['trainer'].step} steps)" for name, r in runs.items()),
                  flush=True)
            next_eval += args.eval_every * 60.0
    return {name: {"steps": r["trainer"].step, "seconds": r["seconds"], "steps_per_s": r["trainer"].step / r["seconds"],
                   "bpc": r["curve"][-1]["bpc"], "best": min(p["bpc"] for p in r["curve"]), "curve": r["curve"]}
            for name, r in runs.items()}


def print_variants(results: dict, minutes: float) -> None:
    """The table: each variant after ``minutes`` of training."""
    print(f"\n| 2-layer LSTM, after {minutes:g} min | steps | steps/s | validation bits/char | best |")
    print("|---|---:|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['steps']:,} | {r['steps_per_s']:.2f} | {r['bpc']:.3f} | {r['best']:.3f} |")
