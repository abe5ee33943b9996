"""Serving an exported model: rnnlab against onnxruntime (its ONNX export) against PyTorch, on the CPU.

The model is a character model as ``rnnlab train text`` builds it (Embedding(75, 64) -> 2-layer
LSTM or GRU, hidden 256 -> Linear(256, 75), log-probabilities out), the same weights on all
three sides (PyTorch's through ``rnnlab.interop.torch``), at 1 and 2 threads:

- streaming: the latency of one step at batch 1 with the state carried, the way a generator
  feeds one character at a time (microseconds, median);
- throughput: a batch of 32 sequences of 100 steps, forward only (time steps per second).

rnnlab streams as ``CharLM.generate`` does (``rnn.step`` between the embedding and the output
layer) and runs ``model.forward`` on the batch, each with a log-softmax; onnxruntime runs its
session on the export; PyTorch the modules under ``inference_mode``. Usage::

    python benchmarks/export.py                 # about two minutes
    python benchmarks/export.py --cells gru --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import rnnlab
from rnnlab.functional.activations import log_softmax
from rnnlab.interop.torch import to_torch

V, E, H, LAYERS, N, T = 75, 64, 256, 2, 32, 100


def median_seconds(fn, min_time: float = 0.5, max_reps: int = 2000) -> float:
    fn()
    times, start = [], time.perf_counter()
    while len(times) < 5 or (time.perf_counter() - start < min_time and len(times) < max_reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def sides(cell: str, threads: int, folder: Path):
    """{name: (step, batch)} callables for rnnlab, onnxruntime and PyTorch at ``threads``."""
    import onnxruntime as ort
    import torch

    rnnlab.set_num_threads(threads)
    torch.set_num_threads(threads)
    model = rnnlab.NextTokenModel([chr(32 + i) for i in range(V)], cell=cell, embedding_dim=E, hidden_size=H,
                                  num_layers=LAYERS, rng=0)
    path = model.to_onnx(folder / f"{cell}.onnx")
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads, options.log_severity_level = threads, 1, 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    embedding, rnn, fc = (to_torch(m) for m in (model.embedding, model.rnn, model.fc))
    rnn.batch_first = True
    one, batch = np.array([[3]]), np.random.default_rng(0).integers(0, V, (N, T))
    tone, tbatch = torch.from_numpy(one), torch.from_numpy(batch)
    state = {"rnnlab": None, "torch": None, "ort": {}}
    names = [o.name.replace("_n", "_0") for o in session.get_outputs()[1:]]

    def rnnlab_step():  # what CharLM.generate does for each character
        h, state["rnnlab"] = model.rnn.step(model.embedding.forward(one[0]), state["rnnlab"])
        log_softmax(model.fc.forward(h))

    def ort_step():
        _, *s = session.run(None, {"ids": one, **state["ort"]})
        state["ort"] = dict(zip(names, s, strict=True))

    def torch_step():
        with torch.inference_mode():
            out, state["torch"] = rnn(embedding(tone), state["torch"])
            torch.log_softmax(fc(out), -1)

    def torch_batch():
        with torch.inference_mode():
            torch.log_softmax(fc(rnn(embedding(tbatch))[0]), -1)

    return {"rnnlab": (rnnlab_step, lambda: log_softmax(model.forward(batch)[0])),
            "onnxruntime": (ort_step, lambda: session.run(None, {"ids": batch})),
            "pytorch": (torch_step, torch_batch)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru"], choices=["rnn", "lstm", "gru"])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for cell in args.cells:
            for threads in args.threads:
                fns = sides(cell, threads, Path(tmp))
                runs = {(name, kind): [] for name in fns for kind in ("step", "batch")}
                for _ in range(args.repeats):  # interleaved: a slow moment of the machine hits all alike
                    for name, (step, whole) in fns.items():
                        runs[(name, "step")].append(median_seconds(step, 0.2))
                        runs[(name, "batch")].append(median_seconds(whole, 0.5, 50))
                med = {f"{name}/{kind}": statistics.median(v) for (name, kind), v in runs.items()}
                results.append({"cell": cell, "threads": threads, **med})
                print(f"{cell} {threads} thread(s): " + ", ".join(f"{k} {v * 1e3:.3f} ms" for k, v in med.items()),
                      flush=True)
    print(f"\nEmbedding({V}, {E}) -> {LAYERS}-layer cell, hidden {H} -> Linear({H}, {V}); rnnlab {rnnlab.__version__}, "
          f"{rnnlab.active_kernels().name} kernels; medians of {args.repeats} interleaved repeats\n")
    print("| cell | threads | streaming step, µs: rnnlab / onnxruntime / PyTorch | batch 32 x 100, "
          "steps/s: rnnlab / onnxruntime / PyTorch |")
    print("|---|---:|---:|---:|")
    for r in results:
        step = " / ".join(f"{r[f'{n}/step'] * 1e6:,.0f}" for n in ("rnnlab", "onnxruntime", "pytorch"))
        rate = " / ".join(f"{N * T / r[f'{n}/batch']:,.0f}" for n in ("rnnlab", "onnxruntime", "pytorch"))
        print(f"| {r['cell'].upper()} | {r['threads']} | {step} | {rate} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
