"""Recurrent cells against PyTorch on the CPU: training and inference throughput, streaming latency.

For each cell (RNN, LSTM, GRU; ``lstm-proj``: an LSTM with ``proj_size`` H/4, against
``torch.nn.LSTM(proj_size=H/4)`` and beside the plain LSTM; ``lstm-ln``: the layer-normalised
LSTM, ``layer_norm=True``, which PyTorch lacks, against the loop a PyTorch user writes for it, a
Python time loop with ``torch.nn.LayerNorm``, and beside the plain LSTM) and hidden
size H (64, 256, 512), a one-layer recurrent layer with input size H runs on a batch of 32
sequences of 100 steps, in one process per thread count (1 and 2), rnnlab (each kernel set) and
PyTorch held to the same number of threads (``rnnlab.set_num_threads``: the fused set's own team
with BLAS on one thread, the NumPy set on BLAS's) and measured in alternation:

- training: forward, backward from a fixed output gradient, and an Adam step, in time steps
  per second (32 * 100 per batch);
- inference: forward only (PyTorch under ``torch.inference_mode``), time steps per second;
- streaming: the latency of one step at batch 1 with the state carried, the way a
  generator feeds one character at a time (microseconds, median): rnnlab's ``layer.step``
  against a call of the PyTorch module on a one-step sequence.

PyTorch runs its LSTM through a fused oneDNN kernel, its RNN, GRU and projected LSTM (which
oneDNN does not cover) through per-step products. Usage::

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
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


VARIANTS = {"lstm-proj": "the projected LSTM (proj_size = hidden / 4)", "lstm-ln": "the layer-normalised LSTM"}


def shape_of(cell: str, H: int) -> tuple[str, int, int]:
    """``(base cell, G, P)``: the layer's cell, its gate count, and its projection size (0: none)."""
    base = cell.split("-")[0]
    return base, GATES[base], (H // 4 if cell.endswith("-proj") else 0)


def torch_layer_norm_lstm(H: int):
    """The layer-normalised LSTM as a PyTorch user writes it (PyTorch has none): the input products of
    all steps at once, then a Python loop over the steps with ``torch.nn.LayerNorm``; rnnlab's
    equations (docs/recurrent-layers.md). ``module(x (N, T, H), state=None)`` -> ``(out, (h, c))``."""
    import torch

    class LayerNormLSTM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.ih, self.hh = torch.nn.Linear(H, 4 * H), torch.nn.Linear(H, 4 * H, bias=False)
            self.ln_ih, self.ln_hh = torch.nn.LayerNorm(4 * H), torch.nn.LayerNorm(4 * H)
            self.ln_c = torch.nn.LayerNorm(H)

        def forward(self, x, state=None):
            N, T = x.shape[:2]
            h, c = state if state is not None else (x.new_zeros(N, H), x.new_zeros(N, H))
            gi = self.ln_ih(x @ self.ih.weight.T) + self.ih.bias
            outs = []
            for t in range(T):
                i, f, g, o = (gi[:, t] + self.ln_hh(self.hh(h))).chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(self.ln_c(c))
                outs.append(h)
            return torch.stack(outs, dim=1), (h, c)

    return LayerNormLSTM()


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


def flops(cell: str, H: int) -> dict:
    """Multiply-adds x 2 of one batch: inference runs the input projection (2 N T H GH, input size =
    hidden), the per-step recurrent product (2 N T R GH, R = P with a projection, else H) and the
    projection (2 N T H P); training adds the backward product and the weight gradient of each (no
    input gradient)."""
    _, G, P = shape_of(cell, H)
    R = P or H
    inp, rec, proj = 2 * N * T * H * G * H, 2 * N * T * R * G * H, 2 * N * T * H * P
    return {"infer": inp + rec + proj, "train": 2 * inp + 3 * rec + 3 * proj}


def product_floor(cell: str, H: int) -> dict:
    """Seconds that the fused kernels' matrix products take alone for one batch, nothing else, run as
    the layer runs them (:mod:`rnnlab.kernels.packed` tiles on weights packed once, rows split
    across the team of threads): the input projection and T per-step recurrent products
    (inference); training adds T per-step backward products, the input gradient and the two weight
    gradients (BLAS's). No kernel built on these products can be faster, so PyTorch's time over
    this floor is the best ratio such a kernel can reach. The same for a streaming step ("stream":
    its matrix-vector products at batch 1, NumPy's, as ``layer.step`` makes them). Also the per-step
    product's FLOP/s on one thread (the tiles' peak at that shape)."""
    import numba
    import numpy as np

    from rnnlab.kernels import team
    from rnnlab.kernels.packed import JIT, PRODUCTS, multiply, pack_columns

    @numba.njit(**{**JIT, "cache": False})
    def steps(product, h, panels, out, count, r0, r1):
        """count per-step products of rows [r0, r1): out = h @ W, W packed in panels."""
        K, M = h.shape[1], out.shape[1]
        for _ in range(count):
            multiply(product, h, r0 * K, K, r1 - r0, K, panels, out, r0 * M, M, M)

    _, G, P = shape_of(cell, H)
    R = P or H  # what the recurrent product reads: h, projected or not
    product = PRODUCTS[np.dtype(np.float32)]
    x, w_ih = np.ones((T * N, H), np.float32), np.ones((H, G * H), np.float32)
    h, out = np.ones((N, R), np.float32), np.empty((N, G * H), np.float32)
    hh, back = pack_columns(np.ones((R, G * H), np.float32)), pack_columns(np.ones((G * H, R), np.float32))
    m, hp = np.ones((N, H), np.float32), np.empty((N, max(P, 1)), np.float32)
    hr, hr_back = pack_columns(np.ones((H, max(P, 1)), np.float32)), pack_columns(np.ones((max(P, 1), H), np.float32))
    dgates, dh = np.ones((N, G * H), np.float32), np.empty((N, R), np.float32)
    dgates_all = np.ones((T * N, G * H), np.float32)

    def recurrence(a, panels, result):
        team.run_rows(steps, (product, a, panels, result, T), (), N, T * a.shape[1] * result.shape[1])

    def forward():
        team.matmul(x, w_ih)
        recurrence(h, hh, out)
        if P:
            recurrence(m, hr, hp)

    def training():
        forward()
        recurrence(dgates, back, dh)
        if P:
            recurrence(hp, hr_back, m)
        team.matmul(dgates_all, w_ih.T)  # the input gradient
        team.matmul(dgates_all.T, x)  # the input and recurrent weight gradients: (GH, TN) @ (TN, H) (R for W_hh)
        team.matmul(dgates_all.T, x[:, :R])
        if P:
            team.matmul(x.T, x[:, :P])  # the projection's: (H, TN) @ (TN, P)

    # a streaming step at batch 1: the layer's two matrix-vector products (and the projection), with
    # the weights in the parameters' own (G*H, D) layout, as layer.step reads them
    x1, h1, m1 = np.ones((1, H), np.float32), np.ones((1, R), np.float32), np.ones((1, H), np.float32)
    w_ih_rows, w_hh_rows, w_hr_rows = (np.ones((G * H, H), np.float32), np.ones((G * H, R), np.float32),
                                       np.ones((max(P, 1), H), np.float32))

    def stream():
        x1 @ w_ih_rows.T
        h1 @ w_hh_rows.T
        if P:
            m1 @ w_hr_rows.T

    return {"infer": measure(forward), "train": measure(training),
            "stream": measure(stream, min_time=0.05, max_reps=2000),
            "gemm_peak": 2 * N * T * R * G * H / measure(lambda: steps(product, h, hh, out, T, 0, N))}


def bench_case(cell: str, H: int, threads: int, repeats: int, kernel_sets=("numba",)) -> dict:
    """Training, inference and streaming of one cell at hidden size H, rnnlab (each kernel set)
    against PyTorch, measured in alternation."""
    import numpy as np
    import torch

    from rnnlab.kernels import use_kernels
    from rnnlab.nn import CELL_TYPES
    from rnnlab.optim import Adam

    rng = np.random.default_rng(0)
    base, _, P = shape_of(cell, H)
    extra = {"proj_size": P} if P else {}
    if cell.endswith("-ln"):
        ours, theirs = CELL_TYPES[base](H, H, layer_norm=True, rng=0), torch_layer_norm_lstm(H)
    else:
        ours = CELL_TYPES[base](H, H, rng=0, **extra)
        theirs = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[base](H, H, batch_first=True,
                                                                                         **extra)
    x = rng.standard_normal((N, T, H)).astype(np.float32)
    g = rng.standard_normal((N, T, P or H)).astype(np.float32)
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

    res = {"cell": cell, "hidden": H, "threads": threads, "flops": flops(cell, H), "floor": product_floor(cell, H)}
    for kind, a, b in [("train", ours_train, theirs_train), ("infer", ours_infer, theirs_infer),
                       ("stream", ours_step, theirs_step)]:
        limits = {"min_time": 0.05, "max_reps": 2000} if kind == "stream" else {"min_time": 0.3, "max_reps": 50}
        times = {name: [] for name in (*kernel_sets, "torch")}
        for _ in range(repeats):  # alternate, so that a slow moment hits every side
            for name in kernel_sets:
                use_kernels(name)
                time.sleep(0.2)  # the last side's idle threads (BLAS's, OpenMP's, the team's) stop spinning
                times[name].append(measure(a, **limits))
            time.sleep(0.2)
            times["torch"].append(measure(b, **limits))
        res[kind] = {name: statistics.median(t) for name, t in times.items()}
    return res


def worker(cells, hiddens, threads, repeats, kernel_sets):
    """Runs inside a subprocess, each library held to ``threads`` threads (rnnlab's fused kernels on
    their own team, BLAS on one; the NumPy set on BLAS's): prints one JSON line per case."""
    import torch

    import rnnlab

    torch.set_num_threads(threads)
    rnnlab.set_num_threads(threads)
    for cell in cells:
        for H in hiddens:
            print(json.dumps(bench_case(cell, H, threads, repeats, kernel_sets)), flush=True)


def print_tables(results, kernel_sets) -> None:
    """The speed table (ratio > 1: rnnlab faster) and the achieved GFLOP/s beside the GEMM peak."""
    steps = T * N
    print(f"ratio of PyTorch's time to rnnlab's (> 1: rnnlab is faster), per kernel set ({' / '.join(kernel_sets)}); "
          f"batch {N}, {T} steps, input size = hidden; streaming: one step at batch 1")
    print()
    print("| cell | hidden | threads | training | inference | streaming step | train steps/s | torch steps/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in sorted(results, key=lambda r: (r["cell"], r["hidden"], r["threads"])):
        ratios = {kind: " / ".join(f"{r[kind]['torch'] / r[kind][k]:.2f}x" for k in kernel_sets)
                  for kind in ("train", "infer", "stream")}
        best = min(r["train"][k] for k in kernel_sets)
        print(f"| {r['cell'].upper()} | {r['hidden']} | {r['threads']} | {ratios['train']} | {ratios['infer']} "
              f"| {ratios['stream']} | {steps / best:,.0f} | {steps / r['train']['torch']:,.0f} |")
    print()
    print("achieved GFLOP/s (the products' arithmetic over the measured time), the fused kernels' product peak on "
          "the per-step product's shape (one thread), and the best ratio a kernel built on these products can reach "
          "(PyTorch's time over the products' own time), all measured in the same run:")
    print()
    sides = " / ".join((*kernel_sets, "torch"))
    print(f"| cell | hidden | threads | train GFLOP/s {sides} | infer GFLOP/s {sides} | product peak "
          "| best possible train / infer / streaming ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in sorted(results, key=lambda r: (r["cell"], r["hidden"], r["threads"])):
        gf = {kind: " / ".join(f"{r['flops'][kind] / r[kind][k] / 1e9:.0f}" for k in (*kernel_sets, "torch"))
              for kind in ("train", "infer")}
        floor = r["floor"]
        print(f"| {r['cell'].upper()} | {r['hidden']} | {r['threads']} | {gf['train']} | {gf['infer']} "
              f"| {floor['gemm_peak'] / 1e9:.0f} | {r['train']['torch'] / floor['train']:.2f}x / "
              f"{r['infer']['torch'] / floor['infer']:.2f}x / {r['stream']['torch'] / floor['stream']:.2f}x |")
    for variant in VARIANTS:
        print_variant_costs(results, kernel_sets, variant)


def print_variant_costs(results, kernel_sets, variant: str) -> None:
    """An LSTM variant beside the plain LSTM, where both ran: each side's time with the variant over
    its time without (< 1: the variant is faster; PyTorch's side of lstm-ln is the user's loop)."""
    plain = {(r["hidden"], r["threads"]): r for r in results if r["cell"] == "lstm"}
    pairs = [(plain[r["hidden"], r["threads"]], r) for r in results
             if r["cell"] == variant and (r["hidden"], r["threads"]) in plain]
    if not pairs:
        return
    sides = " / ".join((*kernel_sets, "torch"))
    print()
    print(f"{VARIANTS[variant]} against the plain LSTM: time with over time without, {sides} (< 1: faster than "
          "the plain LSTM)")
    print()
    print("| hidden | threads | training | inference | streaming step |")
    print("|---:|---:|---:|---:|---:|")
    for a, b in sorted(pairs, key=lambda p: (p[0]["hidden"], p[0]["threads"])):
        cols = [" / ".join(f"{b[kind][k] / a[kind][k]:.2f}" for k in (*kernel_sets, "torch"))
                for kind in ("train", "infer", "stream")]
        print(f"| {a['hidden']} | {a['threads']} | {' | '.join(cols)} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", nargs="+", default=["rnn", "lstm", "lstm-proj", "lstm-ln", "gru"],
                        choices=["rnn", "lstm", "lstm-proj", "lstm-ln", "gru"])
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 256, 512])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--kernels", nargs="+", default=["numpy", "numba"], choices=["numpy", "numba"],
                        help="rnnlab's kernel sets to measure (each against the same PyTorch runs)")
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.cells, args.hidden, args.threads[0], args.repeats, args.kernels)
        return
    results = []
    for threads in args.threads:
        env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
               "MKL_NUM_THREADS": str(threads)}
        cmd = [sys.executable, __file__, "--worker", "--threads", str(threads), "--repeats", str(args.repeats),
               "--cells", *args.cells, "--hidden", *map(str, args.hidden), "--kernels", *args.kernels]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        results += [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    print_tables(results, args.kernels)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
