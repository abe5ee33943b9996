"""The LSTM's forward pass in two memory layouts: is the feature-major one worth a rewrite?

rnnlab's kernels keep every buffer batch-major: a step's gates are (N, 4H) and the recurrent
product is ``h (N, H) @ W_hh^T``. Alone, the feature-major product ``W_hh (4H, H) @ h^T (H, N)``
measured faster at some sizes (docs/kernels.md), but using it means feature-major buffers
everywhere: the input projection written as (4H, T, N), a compiled step over (H, N) blocks
(vectorised along the batch), the states kept as (H, N), and one transpose of the output at the
end. This benchmark builds that whole forward pass (inference, float32, batch 32, 100 steps,
input size = hidden, biases included) beside the shipped layer and PyTorch's, checks that it
computes the same numbers, and measures, interleaved, medians of ``--repeats``:

- ``torch``: ``torch.nn.LSTM`` under ``inference_mode`` (oneDNN's fused LSTM);
- ``rnnlab``: the shipped ``rnnlab.nn.LSTM`` (``forward_time_major``, numba kernels);
- ``feature-major``: the prototype above, with the same compiled ``tanh``;
- the products alone, in each layout: the input projection and the 100 per-step products,
  nothing else (the floor of each layout).

Usage::

    python benchmarks/layouts.py                     # about a minute
    python benchmarks/layouts.py --hidden 256 --threads 1 --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics

import numba
import numpy as np
from cells import measure  # the same median-of-repeats timer as the cells benchmark

import rnnlab
from rnnlab.kernels.fused import JIT, gate_tanh
from rnnlab.nn import LSTM

T, N = 100, 32


@numba.njit(**JIT)
def feature_major_step(gates, t, rec, hs, c, half):
    """One step: gates (4H, T, N) input projections (PyTorch's order i, f, g, o), rec (4H, N) the
    recurrent product, hs (T+1, H, N) the states (hs[t + 1] written), c (H, N) updated in place."""
    H, n = c.shape
    h = hs[t + 1]
    for k in range(H):
        gi, gf, gg, go = gates[k, t], gates[H + k, t], gates[2 * H + k, t], gates[3 * H + k, t]
        ri, rf, rg, ro = rec[k], rec[H + k], rec[2 * H + k], rec[3 * H + k]
        ck, hk = c[k], h[k]
        for j in range(n):  # along the batch: contiguous, vectorised
            i = gate_tanh((gi[j] + ri[j]) * half) * half + half
            f = gate_tanh((gf[j] + rf[j]) * half) * half + half
            o = gate_tanh((go[j] + ro[j]) * half) * half + half
            cv = f * ck[j] + i * gate_tanh(gg[j] + rg[j])
            ck[j] = cv
            hk[j] = o * gate_tanh(cv)


def feature_major_forward(x, w_ih, w_hh, bias):
    """The whole forward pass in the feature-major layout: x (T, N, H) -> out (T, N, H), batch-major."""
    H = w_hh.shape[1]
    gates = (w_ih @ x.reshape(T * N, -1).T).reshape(4 * H, T, N)
    gates += bias[:, None, None]
    hs, c = np.zeros((T + 1, H, N), x.dtype), np.zeros((H, N), x.dtype)
    rec = np.empty((4 * H, N), x.dtype)
    half = x.dtype.type(0.5)
    for t in range(T):
        np.matmul(w_hh, hs[t], out=rec)
        feature_major_step(gates, t, rec, hs, c, half)
    return np.ascontiguousarray(hs[1:].transpose(0, 2, 1))


def products(x, w_ih, w_hh, feature_major: bool):
    """The products alone, in one layout: the input projection and T per-step recurrent products."""
    H = w_hh.shape[1]
    if feature_major:
        h, rec = np.zeros((H, N), x.dtype), np.empty((4 * H, N), x.dtype)
        w_ih @ x.reshape(T * N, -1).T
        for _ in range(T):
            np.matmul(w_hh, h, out=rec)
    else:
        h, rec, w_hh_t = np.zeros((N, H), x.dtype), np.empty((N, 4 * H), x.dtype), np.ascontiguousarray(w_hh.T)
        x.reshape(T * N, -1) @ w_ih.T
        for _ in range(T):
            np.matmul(h, w_hh_t, out=rec)


def bench_case(torch, H: int, threads: int, repeats: int) -> dict:
    """One hidden size at one thread count: median seconds of each variant, and the prototype's
    largest difference from the shipped layer's output."""
    rnnlab.set_num_threads(threads)
    torch.set_num_threads(threads)
    layer = LSTM(H, H, rng=0)
    p = layer.params
    w_ih, w_hh, bias = p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"] + p["bias_hh_l0"]
    theirs = torch.nn.LSTM(H, H)
    x = np.random.default_rng(0).standard_normal((T, N, H)).astype(np.float32)
    tx = torch.from_numpy(x)
    difference = float(np.abs(feature_major_forward(x, w_ih, w_hh, bias) - layer.forward_time_major(x)[0]).max())

    def torch_forward():
        with torch.inference_mode():
            theirs(tx)

    variants = {
        "torch": torch_forward,
        "rnnlab": lambda: layer.forward_time_major(x),
        "feature-major": lambda: feature_major_forward(x, w_ih, w_hh, bias),
        "products, batch-major": lambda: products(x, w_ih, w_hh, False),
        "products, feature-major": lambda: products(x, w_ih, w_hh, True),
    }
    times = {name: [] for name in variants}
    for _ in range(repeats):  # alternate, so that a slow moment hits every variant
        for name, fn in variants.items():
            times[name].append(measure(fn))
    return {"hidden": H, "threads": threads, "difference": difference,
            "seconds": {name: statistics.median(t) for name, t in times.items()}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 256, 512])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    import torch

    rnnlab.use_kernels("numba")
    before = rnnlab.get_num_threads()
    results = [bench_case(torch, H, threads, args.repeats) for H in args.hidden for threads in args.threads]
    rnnlab.set_num_threads(before)
    print("LSTM inference, batch 32, 100 steps: PyTorch's time over each variant's (> 1: faster than PyTorch);"
          " the products' columns are each layout's floor\n")
    print("| hidden | threads | rnnlab (batch-major) | feature-major prototype | products, batch-major | "
          "products, feature-major | prototype's largest difference |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        s = r["seconds"]
        ratio = {name: s["torch"] / s[name] for name in s}
        print(f"| {r['hidden']} | {r['threads']} | {ratio['rnnlab']:.2f}x | {ratio['feature-major']:.2f}x | "
              f"{ratio['products, batch-major']:.2f}x | {ratio['products, feature-major']:.2f}x | "
              f"{r['difference']:.1e} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
