"""Training throughput on the notebook's letter task: rnnlab against PyTorch and the notebook, in one run.

The same model everywhere (Embedding(26, 32) -> RNN(32, 50, tanh) -> Linear(50, 26)), the same
data (1,000 sequences of 5 letters), Adam with weight decay 2e-4, global-norm clipping at 5,
a fresh shuffle every epoch:

- rnnlab: ``NextTokenModel.fit`` (NumPy with its default BLAS threads), with each kernel set
  (``--kernels``: the NumPy reference set and numba's fused one);
- PyTorch on the CPU: the idiomatic loop (zero_grad, forward, cross_entropy, backward,
  clip_grad_norm_, step), at 1 and at 2 threads; ratios use the faster of the two;
- the notebook: its own per-sample algorithm (rnnlab.notebook: one-hot columns, one sample at
  a time, value clipping, SGD), whose speed does not depend on a batch size.

Measurements are interleaved (rnnlab, torch 1 thread, torch 2 threads, the notebook, repeat)
so that a slow moment of this shared machine hits all of them alike; the table shows medians
over repeats.

With ``--quality`` it also trains each to the end with the demo's settings (rnnlab and PyTorch:
200 epochs at batch 32; the notebook: its published settings) and reports held-out accuracy
and cross-entropy.

Usage::

    python benchmarks/letters.py                       # about a minute
    python benchmarks/letters.py --quality --json results.json
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time

import numpy as np

import rnnlab
from rnnlab import notebook
from rnnlab.data import LETTERS, letter_task

HIDDEN, EMBED, VOCAB, LR, WD, CLIP = 50, 32, 26, 0.003, 2e-4, 5.0


def rnnlab_run(x, y, batch, epochs, seed=0):
    model = rnnlab.NextTokenModel(LETTERS, embedding_dim=EMBED, hidden_size=HIDDEN, rng=seed)
    model.fit(x, y, epochs=1, batch_size=batch, lr=LR, weight_decay=WD, clip_norm=CLIP, seed=seed, progress=False)
    t = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=batch, lr=LR, weight_decay=WD, clip_norm=CLIP, seed=seed,
              progress=False)
    return len(x) * epochs / (time.perf_counter() - t), model


def torch_model(torch):
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(VOCAB, EMBED)
            self.rnn = torch.nn.RNN(EMBED, HIDDEN, batch_first=True)
            self.fc = torch.nn.Linear(HIDDEN, VOCAB)

        def forward(self, ids):
            return self.fc(self.rnn(self.embedding(ids))[0])

    return Net()


def torch_run(torch, x, y, batch, epochs, threads, seed=0):
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    net = torch_model(torch)
    opt = torch.optim.Adam(net.parameters(), lr=LR, weight_decay=WD)
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(seed)

    def epoch():
        perm = torch.randperm(len(X), generator=gen)
        for s in range(0, len(X), batch):
            idx = perm[s : s + batch]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(X[idx]).reshape(-1, VOCAB), Y[idx].reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), CLIP)
            opt.step()

    epoch()  # warm-up
    t = time.perf_counter()
    for _ in range(epochs):
        epoch()
    return len(X) * epochs / (time.perf_counter() - t), net


def notebook_run(x, y, samples, seed=0):
    X, Y = notebook.encode(x[:samples]), notebook.encode(y[:samples])
    t = time.perf_counter()
    params, _ = notebook.train(X, Y, epochs=1, hidden_size=HIDDEN, vocab_size=VOCAB, learning_rate=1e-4, rng=seed)
    return samples / (time.perf_counter() - t), params


def held_out_torch(torch, net, xv, yv):
    with torch.no_grad():
        logp = torch.log_softmax(net(torch.from_numpy(xv)), -1).double().numpy()
    nll = -np.take_along_axis(logp, yv[..., None], -1)[..., 0]
    acc = (logp.argmax(-1) == yv).mean(axis=0)
    return float(nll.mean()), float(acc[-1]), float(acc[1])


def held_out_notebook(params, xv, yv):
    X = notebook.encode(xv)
    nll, hits = [], []
    for i in range(len(X)):
        outs, _ = notebook.forward_propagation(X[i], params, HIDDEN)
        p = np.stack([o[:, 0] for o in outs])  # (T, V)
        nll.append(-np.log(p[np.arange(len(p)), yv[i]] + 1e-12))
        hits.append(p.argmax(-1) == yv[i])
    hits = np.array(hits).mean(axis=0)
    return float(np.mean(nll)), float(hits[-1]), float(hits[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 256])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per measurement")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quality", action="store_true", help="also train to the end and compare held-out results")
    parser.add_argument("--kernels", nargs="+", default=["numpy", "numba"], choices=["numpy", "numba"],
                        help="rnnlab's kernel sets to measure (the quality run uses the last)")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    import torch

    x, y = letter_task(args.samples, rng=0)
    xv, yv = letter_task(1000, rng=1)
    results = {"machine": platform.processor() or platform.machine(), "numpy": np.__version__,
               "torch": torch.__version__, "rnnlab": rnnlab.__version__, "samples": args.samples,
               "epochs": args.epochs, "repeats": args.repeats, "speed": {}}
    rows = []
    for batch in args.batch_sizes:
        runs = {**{f"rnnlab-{k}": [] for k in args.kernels}, "torch1": [], "torch2": [], "notebook": []}
        for _ in range(args.repeats):  # interleaved, so that a slow moment of the machine hits all alike
            for kernels in args.kernels:
                rnnlab.use_kernels(kernels)
                runs[f"rnnlab-{kernels}"].append(rnnlab_run(x, y, batch, args.epochs)[0])
            runs["torch1"].append(torch_run(torch, x, y, batch, args.epochs, 1)[0])
            runs["torch2"].append(torch_run(torch, x, y, batch, args.epochs, 2)[0])
            runs["notebook"].append(notebook_run(x, y, min(500, args.samples))[0])
        med = {k: statistics.median(v) for k, v in runs.items()}
        best_torch = max(med["torch1"], med["torch2"])
        row = {**med, **{f"vs_torch-{k}": med[f"rnnlab-{k}"] / best_torch for k in args.kernels},
               "vs_notebook": max(med[f"rnnlab-{k}"] for k in args.kernels) / med["notebook"]}
        results["speed"][str(batch)] = {**row, "runs": runs}
        rows.append((batch, row))
    print()
    sets = " / ".join(args.kernels)
    print(f"| batch | rnnlab {sets} | PyTorch 1 thread | PyTorch 2 threads | notebook | rnnlab / PyTorch ({sets}) "
          "| rnnlab / notebook |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for batch, r in rows:
        ours = " / ".join(f"{r[f'rnnlab-{k}']:,.0f}" for k in args.kernels)
        ratios = " / ".join(f"{r[f'vs_torch-{k}']:.2f}x" for k in args.kernels)
        print(f"| {batch} | {ours} | {r['torch1']:,.0f} | {r['torch2']:,.0f} | {r['notebook']:,.0f} | "
              f"{ratios} | {r['vs_notebook']:.0f}x |")
    print("(sequences per second, training: forward + backward + clipping + Adam step; medians)")

    if args.quality:
        print("\nquality after full training (1,000 held-out sequences):")
        t = time.perf_counter()
        _, model = rnnlab_run(x, y, 32, 199)  # + 1 warm-up epoch = 200
        m = model.evaluate(xv, yv)
        q = {"rnnlab": (m["loss"], m["per_step_accuracy"][-1], m["per_step_accuracy"][1], time.perf_counter() - t)}
        t = time.perf_counter()
        _, net = torch_run(torch, x, y, 32, 199, 1)
        q["pytorch"] = (*held_out_torch(torch, net, xv, yv), time.perf_counter() - t)
        t = time.perf_counter()
        X, Y = notebook.encode(x), notebook.encode(y)
        params, _ = notebook.train(X, Y, epochs=200, hidden_size=HIDDEN, vocab_size=VOCAB, learning_rate=1e-4, rng=0)
        q["notebook"] = (*held_out_notebook(params, xv, yv), time.perf_counter() - t)
        print("| implementation | mean CE per step (nats) | last-step accuracy | step-1 accuracy | wall time (s) |")
        print("|---|---:|---:|---:|---:|")
        for name, (ce, last, step1, secs) in q.items():
            print(f"| {name} | {ce:.3f} | {last:.3f} | {step1:.3f} | {secs:.1f} |")
        print(f"(best possible CE ln(26)/5 = {math.log(26) / 5:.3f}; rnnlab and PyTorch: Adam lr {LR}, weight decay "
              f"{WD}, batch 32, 200 epochs; notebook: its own settings, SGD lr 1e-4, 200 epochs, its bugs included)")
        results["quality"] = q
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
