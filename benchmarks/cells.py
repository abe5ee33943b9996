"""Recurrent cells against PyTorch on the CPU: training and inference throughput, streaming latency.

For each cell (RNN, LSTM, GRU) and hidden size H (64, 256, 512), a one-layer recurrent layer
with input size H runs on a batch of 32 sequences of 100 steps, in one process per thread
count (1 and 2), with rnnlab's NumPy (OpenBLAS) and PyTorch limited to the same number of
threads and measured in alternation:

- training: forward, backward from a fixed output gradient, and an Adam step, in time steps
  per second (32 * 100 per batch);
- inference: forward only (PyTorch under ``torch.inference_mode``), time steps per second;
- streaming: the latency of one step at batch 1 with the state carried, the way a
  generator feeds one character at a time (microseconds, median): rnnlab's ``layer.step``
  against a call of the PyTorch module on a one-step sequence.

PyTorch runs its LSTM through a fused oneDNN kernel, its RNN and GRU through per-step
products. Usage::

    python benchmarks/cells.py                  # a few minutes
    python benchmarks/cells.py --hidden 64 --cells lstm --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

T, N = 100, 32


def measure(fn, min_time: float = 0.3, max_reps: int = 50) -> float:
    """Median seconds per call of fn over a few repetitions (after one warm-up call)."""
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < min_time and len(times) < max_reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_case(cell: str, H: int, threads: int, repeats: int) -> dict:
    """Training, inference and streaming of one cell at hidden size H, rnnlab against PyTorch."""
    import numpy as np
    import torch

    from rnnlab.nn import CELL_TYPES
    from rnnlab.optim import Adam

    rng = np.random.default_rng(0)
    ours = CELL_TYPES[cell](H, H, rng=0)
    theirs = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](H, H, batch_first=True)
    x = rng.standard_normal((N, T, H)).astype(np.float32)
    g = rng.standard_normal((N, T, H)).astype(np.float32)
    tx, tg = torch.from_numpy(x), torch.from_numpy(g)
    opt = Adam(ours, lr=1e-3)
    topt = torch.optim.Adam(theirs.parameters(), lr=1e-3)

    def ours_train():
        ours.zero_grad()
        ours.forward(x)
        ours.backward(g, input_grad=False)  # as PyTorch: x does not require a gradient
        opt.step()

    def theirs_train():
        topt.zero_grad()
        out, _ = theirs(tx)
        out.backward(tg)
        topt.step()

    def ours_infer():
        ours.forward(x)

    def theirs_infer():
        with torch.inference_mode():
            theirs(tx)

    x1 = x[:1, 0]  # (1, H): one step of one sequence
    tx1 = tx[:1, :1]  # (1, 1, H) for torch.nn's module call
    state = {"ours": None, "theirs": None}

    def ours_step():
        _, state["ours"] = ours.step(x1, state["ours"])

    def theirs_step():
        with torch.inference_mode():
            _, state["theirs"] = theirs(tx1, state["theirs"])

    res = {"cell": cell, "hidden": H, "threads": threads}
    for kind, a, b in [("train", ours_train, theirs_train), ("infer", ours_infer, theirs_infer),
                       ("stream", ours_step, theirs_step)]:
        limits = {"min_time": 0.05, "max_reps": 2000} if kind == "stream" else {"min_time": 0.3, "max_reps": 50}
        ta, tb = [], []
        for _ in range(repeats):  # alternate, so that a slow moment hits both
            ta.append(measure(a, **limits))
            tb.append(measure(b, **limits))
        res[kind] = {"rnnlab": statistics.median(ta), "torch": statistics.median(tb)}
    return res


def worker(cells, hiddens, threads, repeats):
    """Runs inside a subprocess whose BLAS thread count is fixed: prints one JSON line per case."""
    import torch

    torch.set_num_threads(threads)
    for cell in cells:
        for H in hiddens:
            print(json.dumps(bench_case(cell, H, threads, repeats)), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", nargs="+", default=["rnn", "lstm", "gru"])
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 256, 512])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.cells, args.hidden, args.threads[0], args.repeats)
        return
    results = []
    for threads in args.threads:
        env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
               "MKL_NUM_THREADS": str(threads)}
        cmd = [sys.executable, __file__, "--worker", "--threads", str(threads), "--repeats", str(args.repeats),
               "--cells", *args.cells, "--hidden", *map(str, args.hidden)]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        results += [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    steps = T * N
    print(f"training and inference: time steps per second (batch {N}, {T} steps, input size = hidden); "
          "streaming: one step at batch 1, microseconds")
    print()
    print("| cell | hidden | threads | train rnnlab | train PyTorch | ratio | infer rnnlab | infer PyTorch | ratio "
          "| stream rnnlab | stream PyTorch | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in sorted(results, key=lambda r: (r["cell"], r["hidden"], r["threads"])):
        tr, inf, st = r["train"], r["infer"], r["stream"]
        print(f"| {r['cell'].upper()} | {r['hidden']} | {r['threads']} "
              f"| {steps / tr['rnnlab']:,.0f} | {steps / tr['torch']:,.0f} | {tr['torch'] / tr['rnnlab']:.2f}x "
              f"| {steps / inf['rnnlab']:,.0f} | {steps / inf['torch']:,.0f} | {inf['torch'] / inf['rnnlab']:.2f}x "
              f"| {st['rnnlab'] * 1e6:.1f} | {st['torch'] * 1e6:.1f} | {st['torch'] / st['rnnlab']:.2f}x |")
    print("(ratio > 1: rnnlab is faster; for streaming, the ratio of PyTorch's latency to rnnlab's)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
