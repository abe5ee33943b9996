"""The bars of the real-data tasks, measured: text against PyTorch, forecasting and classification against baselines.

text
    Pride and Prejudice (last 10% held out), a 2-layer LSTM (hidden 256, embedding 64), chunks
    of 100 characters, 32 streams, Adam 2e-3, gradient-norm clipping at 5, truncated BPTT with
    the state carried between chunks and reset every epoch. rnnlab (its ``Trainer``) and
    PyTorch (the idiomatic loop, ``torch.nn.LSTM``) start from the *same* initial weights and
    see the same batches in the same order; each trains for ``--minutes`` of its own wall-clock
    time. Their turns are interleaved in slices of ``--slice`` seconds, so a slow moment of
    this shared machine hits both alike. Validation bits per character (16 streams read with
    carried state) is measured outside the timed slices. Bar: rnnlab <= 1.8 and <= PyTorch.
    ``--variants`` instead trains the plain LSTM, the layer-normalised one and one with recurrent
    dropout, rnnlab only, the same way (benchmarks/text_variants.py).

forecast
    Monthly sunspots (1-step and 12-step horizons) and weekly CO2 (52-week horizon): test MAE,
    RMSE and MASE of rnnlab's Forecaster against persistence and seasonal-naive baselines
    computed by the same code. Bar: the model beats both baselines on sunspots, and the
    seasonal-naive one on CO2. Then the bike-sharing series (benchmarks/bikes.py has the
    bars): hourly with covariates and intervals, two series in one model, daily; with
    statsforecast's AutoETS and MSTL beside them where it installs.

classify
    JapaneseVowels (270 train / 370 test, 9 speakers): test accuracy. Bar: at least 0.95.

audio
    The whole Free Spoken Digit Dataset (``--fsdd``, 3,000 recordings) on its own split: takes
    0-4 of every speaker and digit are the test set, 5-49 the training set (a manifest written
    for the run). ``rnnlab train classify MANIFEST --audio`` with its defaults (MFCC 13 + deltas,
    bidirectional GRU 64). The features are extracted first into an empty cache and timed on
    their own; the training time is the run's. Bar: test accuracy at least 0.97, trained in
    under 5 minutes.

Usage::

    python benchmarks/tasks.py                          # everything: about 25 minutes
    python benchmarks/tasks.py --task text --minutes 2  # a quick look
    python benchmarks/tasks.py --task text --variants   # plain / layer norm / recurrent dropout, 30 minutes
    python benchmarks/tasks.py --task forecast classify --json results.json
    python benchmarks/tasks.py --task audio
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

import numpy as np
from bikes import bench_bikes, print_table  # beside this script
from text_variants import bench_variants, print_variants, timed_slice

import rnnlab
from rnnlab import datasets
from rnnlab.data.text import split_text
from rnnlab.models import CharLM
from rnnlab.training import TrainConfig, Trainer

TEXT = {"cell": "lstm", "num_layers": 2, "hidden_size": 256, "embedding_dim": 64}
SEQ_LEN, BATCH, LR, CLIP, VAL_STREAMS = 100, 32, 2e-3, 5.0, 16


# -- text ------------------------------------------------------------------------------------------


class TorchCharLM:
    """PyTorch's side of the text benchmark: the same network, its idiomatic training loop."""

    def __init__(self, torch, model: CharLM):
        self.torch = torch
        nn = torch.nn
        V, E, H, L = len(model.vocab), TEXT["embedding_dim"], TEXT["hidden_size"], TEXT["num_layers"]
        cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[model.rnn.cell]
        self.net = nn.ModuleDict({"embedding": nn.Embedding(V, E), "rnn": cls(E, H, L, batch_first=True),
                                  "fc": nn.Linear(H, V)})
        self.net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})
        self.opt = torch.optim.Adam(self.net.parameters(), lr=LR)
        self.state = None
        self.V = V

    def scores(self, x, state):
        out, state = self.net["rnn"](self.net["embedding"](x), state)
        return self.net["fc"](out), state

    def train_step(self, x, y) -> float:
        torch = self.torch
        self.opt.zero_grad()
        scores, state = self.scores(x, self.state)
        self.state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        loss = torch.nn.functional.cross_entropy(scores.reshape(-1, self.V), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), CLIP)
        self.opt.step()
        return loss.item()

    def evaluate(self, xv, yv, chunk=200) -> float:
        torch = self.torch
        nll, count, state = 0.0, 0, None
        with torch.no_grad():
            for s in range(0, xv.shape[1], chunk):
                scores, state = self.scores(torch.from_numpy(xv[:, s : s + chunk]), state)
                logp = torch.log_softmax(scores.double(), -1)
                tgt = torch.from_numpy(yv[:, s : s + chunk])
                nll -= float(logp.gather(-1, tgt[..., None]).sum())
                count += tgt.numel()
        return nll / count / math.log(2)


def bench_text(args, torch) -> dict:
    text = datasets.load_text("pride-and-prejudice")
    train_text, val_text = split_text(text, 0.1)
    model = CharLM.from_text(text, **{**TEXT, "cell": args.cell}, rng=args.seed)
    (x, y), (xv, yv) = model.text_arrays(train_text, val_text, seq_len=SEQ_LEN, batch_size=BATCH,
                                         val_streams=VAL_STREAMS)
    tmodel = TorchCharLM(torch, model)  # the same initial weights
    trainer = Trainer(model, (x, y), TrainConfig(epochs=10_000, batch_size=BATCH, lr=LR, clip_norm=CLIP,
                                                 shuffle=False, progress=False, seed=args.seed))
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    n_batches = x.shape[0] // BATCH
    budget = args.minutes * 60.0
    used = {"rnnlab": 0.0, "torch": 0.0}
    steps = {"rnnlab": 0, "torch": 0}
    torch_pos = 0
    curve = []
    next_eval = args.eval_every * 60.0

    def rnnlab_slice(seconds):
        return timed_slice(trainer, seconds)

    def torch_slice(seconds):
        nonlocal torch_pos
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            b = torch_pos % n_batches
            if b == 0:
                tmodel.state = None  # a new epoch: reset the carried state, as rnnlab does
            tmodel.train_step(X[b * BATCH : (b + 1) * BATCH], Y[b * BATCH : (b + 1) * BATCH])
            torch_pos += 1
        return time.perf_counter() - t0

    print(f"text: {model.describe()}, {model.num_parameters():,} parameters; {n_batches} batches an epoch; "
          f"{args.minutes:g} minutes each, interleaved in {args.slice:g} s slices", flush=True)
    while min(used.values()) < budget:
        for name, fn in (("rnnlab", rnnlab_slice), ("torch", torch_slice)):
            left = budget - used[name]
            if left > 0:
                used[name] += fn(min(args.slice, left))
        steps = {"rnnlab": trainer.step, "torch": torch_pos}
        if min(used.values()) >= min(next_eval, budget):
            point = {"minutes": min(used.values()) / 60, "steps": dict(steps),
                     "rnnlab_bpc": model.evaluate(xv, yv)["bits_per_char"], "torch_bpc": tmodel.evaluate(xv, yv)}
            curve.append(point)
            print(f"  {point['minutes']:5.1f} min: rnnlab {point['rnnlab_bpc']:.4f} bpc ({steps['rnnlab']} steps), "
                  f"PyTorch {point['torch_bpc']:.4f} bpc ({steps['torch']} steps)", flush=True)
            next_eval += args.eval_every * 60.0
    final = curve[-1]
    sample = model.sample("It is a truth", 300, temperature=0.8, seed=0)
    # PyTorch's validation bits/char after as many steps as rnnlab made (linear between its points):
    # the same steps from the same start should give the same quality; only the speed differs
    t_steps = [0] + [p["steps"]["torch"] for p in curve]
    t_bpc = [math.log2(len(model.vocab))] + [p["torch_bpc"] for p in curve]
    same_steps = float(np.interp(steps["rnnlab"], t_steps, t_bpc))
    return {"minutes": args.minutes, "steps": steps, "seconds": used, "curve": curve,
            "rnnlab_bpc": final["rnnlab_bpc"], "torch_bpc": final["torch_bpc"],
            "torch_bpc_at_rnnlab_steps": same_steps,
            "best": {k: min(p[f"{k}_bpc"] for p in curve) for k in ("rnnlab", "torch")},
            "steps_per_s": {k: steps[k] / used[k] for k in steps},
            "bar_met": final["rnnlab_bpc"] <= 1.8 and final["rnnlab_bpc"] <= final["torch_bpc"],
            "sample": "It is a truth" + sample}


# -- forecast and classify: through the command line, as a user runs them -------------------------------

FORECASTS = {
    "sunspots, 1 month": ["sunspots", "--horizon", "1"],
    "sunspots, 12 months": ["sunspots", "--horizon", "12"],
    "co2, 52 weeks": ["co2", "--missing", "interpolate", "--window", "156", "--horizon", "52"],
}


def _cli_json(args, quiet: bool = True) -> dict:
    import contextlib
    import io

    from rnnlab.cli import main as cli

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        status = cli([*args, "--json", *(["--quiet"] if quiet else [])])
    if status != 0:
        raise SystemExit(f"rnnlab {' '.join(args)} failed with status {status}")
    return json.loads(buf.getvalue())


def bench_forecast(args, folder) -> dict:
    out = {}
    for name, extra in FORECASTS.items():
        t = time.perf_counter()
        summary = _cli_json(["train", "forecast", *extra, "--seed", str(args.seed), "--out",
                             f"{folder}/forecast-{len(out)}"])
        test = summary["results"]["test"]
        baselines = {k: v for k, v in test.items() if k != "model"}
        kinds = ("persistence", "seasonal") if name.startswith("sunspots") else ("seasonal",)
        need = {k: v for k, v in baselines.items() if k.startswith(kinds)}
        out[name] = {"test": test, "seconds": time.perf_counter() - t, "epochs": summary["epochs"],
                     "bar_met": all(test["model"]["mae"] < v["mae"] for v in need.values()),
                     "bar": "beats " + " and ".join(need)}
        print(f"forecast {name}: model MAE {test['model']['mae']:.4g}; "
              + ", ".join(f"{k} {v['mae']:.4g}" for k, v in baselines.items())
              + f" ({out[name]['seconds']:.0f} s)", flush=True)
    return out


def bench_classify(args, folder) -> dict:
    t = time.perf_counter()
    summary = _cli_json(["train", "classify", "--seed", str(args.seed), "--out", f"{folder}/classify"])
    acc = summary["results"]["test"]["accuracy"]
    print(f"classify japanese-vowels: test accuracy {acc:.4f} ({time.perf_counter() - t:.0f} s)", flush=True)
    return {"accuracy": acc, "seconds": time.perf_counter() - t, "epochs": summary["epochs"], "bar_met": acc >= 0.95}


def bench_audio(args, folder) -> dict:
    recordings = sorted(Path(args.fsdd).glob("*.wav"))
    if not recordings:
        raise SystemExit(f"no recordings in {args.fsdd}: give --fsdd FOLDER (the FSDD recordings)")
    manifest = Path(folder) / "fsdd.csv"
    rows = []
    for p in recordings:
        digit, _, take = p.stem.split("_")
        rows.append(f"{p.resolve()},{digit},{'test' if int(take) < 5 else 'train'}")
    manifest.write_text("path,label,split\n" + "\n".join(rows) + "\n", encoding="utf-8")
    os.environ["RNNLAB_CACHE"] = str(Path(folder) / "cache")  # empty: the features are computed, and timed
    t = time.perf_counter()
    datasets.load_audio(manifest, "all", progress=False)
    features_s = time.perf_counter() - t
    summary = _cli_json(["train", "classify", str(manifest), "--audio", "--seed", str(args.seed), "--out",
                         f"{folder}/audio"])
    acc, train_s = summary["results"]["test"]["accuracy"], summary["seconds"]
    print(f"audio fsdd ({len(recordings)} recordings): test accuracy {acc:.4f}; features {features_s:.1f} s, "
          f"training {train_s:.0f} s ({summary['epochs']} epochs)", flush=True)
    return {"accuracy": acc, "features_seconds": features_s, "training_seconds": train_s,
            "epochs": summary["epochs"], "recordings": len(recordings), "bar_met": acc >= 0.97 and train_s < 300}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", nargs="+", choices=("text", "forecast", "classify", "audio"),
                        default=["text", "forecast", "classify", "audio"])
    parser.add_argument("--fsdd", default=str(Path(__file__).resolve().parents[2] / "shared/data/fsdd/recordings"),
                        help="audio: the folder of the Free Spoken Digit Dataset's recordings")
    parser.add_argument("--minutes", type=float, default=10.0, help="text: training minutes for each side")
    parser.add_argument("--slice", type=float, default=20.0, help="text: seconds of one interleaved turn")
    parser.add_argument("--eval-every", type=float, default=1.0, help="text: validation every this many minutes")
    parser.add_argument("--cell", choices=("lstm", "gru", "rnn"), default="lstm",
                        help="text: the recurrent cell (the bar is set for lstm)")
    parser.add_argument("--variants", action="store_true",
                        help="text: rnnlab's plain LSTM against its layer-norm and recurrent-dropout variants")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    import torch

    # every core for both, as `rnnlab train` and PyTorch do by default (rnnlab: its kernels' team, BLAS on one)
    rnnlab.set_num_threads(os.cpu_count() or 1)
    results = {"machine": platform.processor() or platform.machine(), "numpy": np.__version__,
               "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "rnnlab": rnnlab.__version__,
               "rnnlab_threads": rnnlab.get_num_threads(), "kernels": rnnlab.active_kernels().name}
    if "text" in args.task and args.variants:
        results["text_variants"] = bench_variants(args, TEXT, SEQ_LEN, BATCH, LR, CLIP, VAL_STREAMS)
        print_variants(results["text_variants"], args.minutes)
    elif "text" in args.task:
        r = results["text"] = bench_text(args, torch)
        print(f"\n| after {args.minutes:g} min | steps | steps/s | validation bits/char |")
        print("|---|---:|---:|---:|")
        for k, name in (("rnnlab", "rnnlab"), ("torch", "PyTorch")):
            print(f"| {name} | {r['steps'][k]:,} | {r['steps_per_s'][k]:.2f} | {r[k + '_bpc']:.3f} |")
        print(f"bar (<= 1.8 and no worse than PyTorch): {'met' if r['bar_met'] else 'MISSED'}")
        print(f"best over the run (validation every {args.eval_every:g} min): rnnlab {r['best']['rnnlab']:.3f}, "
              f"PyTorch {r['best']['torch']:.3f} bits/char")
        print(f"at equal steps ({r['steps']['rnnlab']:,}): rnnlab {r['rnnlab_bpc']:.3f}, PyTorch "
              f"{r['torch_bpc_at_rnnlab_steps']:.3f} bits/char (interpolated on its curve)")
        print(f"\nsample (temperature 0.8):\n{r['sample']}\n", flush=True)
    if {"forecast", "classify", "audio"} & set(args.task):
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            if "forecast" in args.task:
                results["forecast"] = bench_forecast(args, folder)
                results["bikes"] = bench_bikes(args, folder, _cli_json)
            if "classify" in args.task:
                results["classify"] = bench_classify(args, folder)
            if "audio" in args.task:
                results["audio"] = bench_audio(args, folder)
        print("\n| task | bar | result | met |")
        print("|---|---|---|---|")
        for name, r in results.get("forecast", {}).items():
            t = r["test"]
            shown = "; ".join(f"{k} {v['mae']:.4g}" for k, v in t.items())
            print(f"| {name} | model {r['bar']} in test MAE | {shown} | {'yes' if r['bar_met'] else 'NO'} |")
        if "classify" in results:
            r = results["classify"]
            met = "yes" if r["bar_met"] else "NO"
            print(f"| JapaneseVowels | test accuracy >= 0.95 | {r['accuracy']:.4f} | {met} |")
        if "audio" in results:
            r = results["audio"]
            met = "yes" if r["bar_met"] else "NO"
            print(f"| spoken digits (FSDD, {r['recordings']:,} recordings) | test accuracy >= 0.97, training < 5 min "
                  f"| {r['accuracy']:.4f}; features {r['features_seconds']:.0f} s, training "
                  f"{r['training_seconds']:.0f} s | {met} |")
    if "bikes" in results:
        print_table(results["bikes"])
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
