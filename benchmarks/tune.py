"""A hyperparameter study on JapaneseVowels: 1 worker against 2, pruning, and the best trial against the defaults.

Runs ``rnnlab tune classify --trials 30 --pruner median`` (the default space: learning rate,
batch size, hidden size, layers, dropout, cell) from scratch with ``--jobs 1`` and with
``--jobs 2``, the same without pruning on fewer trials (where both do the same work, so the wall
times compare the workers alone), and ``rnnlab train classify`` with the defaults; reports each
study's wall time, epochs trained per second, the epochs pruning saved, and the test accuracy of
its best trial (chosen on the validation loss) against the defaults'. Usage::

    python benchmarks/tune.py                     # about ten minutes on 2 cores
    python benchmarks/tune.py --trials 10 --json out.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def rnnlab(*args) -> dict:
    out = subprocess.run([sys.executable, "-m", "rnnlab", *args, "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_accuracy(run: Path) -> float:
    return rnnlab("evaluate", str(run))["results"]["test"]["accuracy"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--unpruned-trials", type=int, default=8, help="trials of the study without pruning")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    results = {"trials": args.trials}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        rnnlab("train", "classify", "--out", str(folder / "defaults"), "--quiet", "--no-plot", "--seed",
               str(args.seed))
        results["defaults"] = {"seconds": time.perf_counter() - start,
                               "test_accuracy": test_accuracy(folder / "defaults")}
        # the study as asked (median pruning), then without pruning: the same work on 1 and 2 workers
        for pruner, trials in (("median", args.trials), ("none", args.unpruned_trials)):
            for jobs in (1, 2):
                start = time.perf_counter()
                summary = rnnlab("tune", "classify", "--trials", str(trials), "--jobs", str(jobs), "--pruner",
                                 pruner, "--dir", str(folder / f"{pruner}{jobs}"), "--seed", str(args.seed))
                seconds = time.perf_counter() - start
                trained = sum(t["epochs"] for t in summary["trials"])
                results[f"{pruner}/{jobs}"] = {"seconds": seconds, "trials": trials, "counts": summary["counts"],
                                               "epochs_trained": trained,
                                               "epochs_saved": summary["epochs_saved_by_pruning"],
                                               "planned_epochs": summary["planned_epochs"], "best": summary["best"],
                                               "test_accuracy": test_accuracy(Path(summary["best"]["folder"]))}
                print(f"pruner {pruner}, {jobs} worker(s): {seconds:.0f} s, {summary['counts']}, {trained} epochs "
                      f"trained", flush=True)
    d = results["defaults"]
    print("\nJapaneseVowels, rnnlab tune classify (`python benchmarks/tune.py`)\n")
    print("| study | workers | wall time | epochs trained / s | trials complete / pruned / failed | epochs saved by "
          "pruning | test accuracy of the best |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for key, r in results.items():
        if "/" not in key:
            continue
        pruner, jobs = key.split("/")
        c = r["counts"]
        print(f"| {r['trials']} trials, pruner {pruner} | {jobs} | {r['seconds']:.0f} s | "
              f"{r['epochs_trained'] / r['seconds']:.1f} | {c.get('complete', 0)} / {c.get('pruned', 0)} / "
              f"{c.get('fail', 0)} | {r['epochs_saved']} | {r['test_accuracy']:.3f} |")
    print(f"| the defaults, one run | 1 | {d['seconds']:.0f} s | | | | {d['test_accuracy']:.3f} |")
    for pruner in ("median", "none"):
        one, two = results[f"{pruner}/1"], results[f"{pruner}/2"]
        print(f"pruner {pruner}: 2 workers against 1: {one['seconds'] / two['seconds']:.2f}x the wall time, "
              f"{(two['epochs_trained'] / two['seconds']) / (one['epochs_trained'] / one['seconds']):.2f}x the "
              "epochs per second")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
