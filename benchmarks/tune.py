"""A hyperparameter study on JapaneseVowels: 1 worker against 2, pruning, and the best trial against the defaults.

Runs ``rnnlab tune classify --trials 30 --pruner median`` (the default space: learning rate,
batch size, hidden size, layers, dropout, cell) from scratch with ``--jobs 1`` and with
``--jobs 2``, and ``rnnlab train classify`` with the defaults; reports each study's wall time,
epochs trained per second, the epochs pruning saved, and the test accuracy of its best trial
(chosen on the validation loss) against the defaults'.

Two studies from the same seed do not run the same trials on 1 and 2 workers (each worker's
sampler has its own seed, and what it sees depends on the other), so the 1-worker study's trials
are then replayed: the same parameters queued in a new study (Optuna's ``enqueue_trial``), run
with pruning on 1 and on 2 workers. What still differs between those two is only which trials
have finished when the pruner decides. The workers' speed is also measured on wholly identical
work: ``--identical-trials`` trials that all cost the same (every
option fixed but the learning rate, 0.003 or 0.0031; no pruning), on 1 worker with one thread,
1 worker with every thread, and 2 workers, in ``--repeats`` interleaved rounds (medians).
For comparison, two single-threaded ``rnnlab train classify`` runs started together against one
alone (the median of ``--pairs`` interleaved rounds): what sharing the machine's cores and memory
costs two trainings. Each study's wall time
includes the command's start-up and its closing report (importances, plots), a fixed cost; the
trials' own span (first start to last end) is shown too.
Usage::

    python benchmarks/tune.py                     # about seven minutes on 2 cores
    python benchmarks/tune.py --trials 10 --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

FIXED = ["--hidden-size", "64", "--batch-size", "32", "--num-layers", "1", "--dropout", "0", "--cell", "gru"]


def rnnlab(*args) -> dict:
    out = subprocess.run([sys.executable, "-m", "rnnlab", *args, "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_accuracy(run: Path) -> float:
    return rnnlab("evaluate", str(run))["results"]["test"]["accuracy"]


def timed_study(folder: Path, name: str, *args) -> tuple[float, dict]:
    start = time.perf_counter()
    summary = rnnlab("tune", "classify", "--dir", str(folder / name), *args)
    return time.perf_counter() - start, summary


def trials_span(summary: dict) -> float:
    """Seconds from the first trial's start to the last one's end (the command's start-up and report left out)."""
    start = min(datetime.fromisoformat(t["started"]) for t in summary["trials"])
    return (max(datetime.fromisoformat(t["finished"]) for t in summary["trials"]) - start).total_seconds()


def replayed_study(folder: Path, name: str, params: list[dict], *args) -> tuple[float, dict]:
    """A new study that first runs ``params`` (queued in order), timed like ``timed_study``."""
    import optuna
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    (folder / name / "classify").mkdir(parents=True)
    storage = optuna.storages.JournalStorage(JournalFileBackend(str(folder / name / "classify" / "study.journal")))
    study = optuna.create_study(study_name="classify", storage=storage, direction="minimize")
    for p in params:
        study.enqueue_trial(p)
    return timed_study(folder, name, *args)


def seconds_taken(trial: dict) -> float:
    """One trial's seconds, from its start to its end."""
    return (datetime.fromisoformat(trial["finished"]) - datetime.fromisoformat(trial["started"])).total_seconds()


def scheduled_span(seconds: list[float], workers: int) -> float:
    """The span of ``workers`` perfect workers taking trials of these durations in order, each the
    next one free: what the 1-worker study's trials would take on more workers with nothing lost
    (same pruning, no slowdown from sharing the machine)."""
    free = [0.0] * workers
    for s in seconds:
        free[free.index(min(free))] += s
    return max(free)


def study_results(seconds: float, summary: dict) -> dict:
    """What the report needs of one study; durations and params in trial-number order."""
    ordered = sorted(summary["trials"], key=lambda t: t["number"])
    return {"durations": [seconds_taken(t) for t in ordered], "seconds": seconds, "trials": len(ordered),
            "counts": summary["counts"],
            "epochs_trained": sum(t["epochs"] for t in summary["trials"]),
            "epochs_saved": summary["epochs_saved_by_pruning"], "planned_epochs": summary["planned_epochs"],
            "best": summary["best"], "span": trials_span(summary),
            "test_accuracy": test_accuracy(Path(summary["best"]["folder"])),
            "params": [t["params"] for t in ordered]}


def pairs(folder: Path, rounds: int, seed: int) -> dict:
    """Seconds of one single-threaded training alone and of two started together (medians)."""
    def train(tag):
        return subprocess.Popen([sys.executable, "-m", "rnnlab", "train", "classify", "--threads", "1", "--quiet",
                                 "--no-plot", "--seed", str(seed), "--out", str(folder / f"pair-{tag}")],
                                stdout=subprocess.DEVNULL)

    alone, together = [], []
    for r in range(rounds):
        start = time.perf_counter()
        train(f"{r}a").wait()
        alone.append(time.perf_counter() - start)
        start = time.perf_counter()
        for p in [train(f"{r}b"), train(f"{r}c")]:
            p.wait()
        together.append(time.perf_counter() - start)
    return {"alone": statistics.median(alone), "together": statistics.median(together)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--identical-trials", type=int, default=8, help="trials of the workers' speed test")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds of the identical-trial studies")
    parser.add_argument("--pairs", type=int, default=3, help="rounds of two trainings together against one alone")
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
        study = ["--trials", str(args.trials), "--pruner", "median", "--seed", str(args.seed)]
        for jobs in (1, 2):  # the study as a user runs it
            results[f"median/{jobs}"] = study_results(*timed_study(folder, f"median{jobs}", *study, "--jobs",
                                                                   str(jobs)))
        params = results["median/1"]["params"]
        for jobs in (1, 2):  # the 1-worker study's trials again, in its order
            results[f"replay/{jobs}"] = study_results(*replayed_study(folder, f"replay{jobs}", params, *study,
                                                                      "--jobs", str(jobs)))
        results["replay/ideal"] = scheduled_span(results["replay/1"]["durations"], 2)
        for key in ("median/1", "median/2", "replay/1", "replay/2"):
            r = results[key]
            print(f"{key}: {r['seconds']:.0f} s, {r['counts']}, {r['epochs_trained']} epochs", flush=True)
        space = folder / "identical.toml"
        space.write_text('lr = [0.003, 0.0031]\n')
        configs = (("1 worker, 1 thread", ["--jobs", "1", "--threads", "1"]),
                   ("1 worker, every thread", ["--jobs", "1"]), ("2 workers", ["--jobs", "2"]))
        runs = {name: [] for name, _ in configs}
        for rep in range(args.repeats):  # interleaved: a slow moment of the machine hits each alike
            for name, extra in configs:
                seconds, summary = timed_study(folder, f"{name.replace(' ', '').replace(',', '')}{rep}", "--trials",
                                               str(args.identical_trials), "--pruner", "none", "--space", str(space),
                                               "--seed", str(args.seed), *FIXED, *extra)
                runs[name].append((seconds, trials_span(summary)))
                print(f"{args.identical_trials} identical trials, {name}: {seconds:.1f} s (trials "
                      f"{runs[name][-1][1]:.1f} s)", flush=True)
        for name, found in runs.items():
            results[f"identical/{name}"] = {"seconds": statistics.median(s for s, _ in found),
                                            "trials_span": statistics.median(t for _, t in found), "runs": found}
        results["pairs"] = pairs(folder, args.pairs, args.seed)
    report(results, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


def report(results: dict, args) -> None:
    d = results["defaults"]
    print("\nJapaneseVowels, rnnlab tune classify (`python benchmarks/tune.py`)\n")
    print("| study | workers | wall time (trials' span) | epochs trained / s | trials complete / pruned / failed | "
          "epochs saved by pruning | test accuracy of the best |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = (("median/1", "median pruning"), ("median/2", "median pruning"),
            ("replay/1", "the 1-worker study's trials again"), ("replay/2", "the 1-worker study's trials again"))
    for key, what in rows:
        r, jobs = results[key], key[-1]
        c = r["counts"]
        print(f"| {r['trials']} trials, {what} | {jobs} | {r['seconds']:.0f} s ({r['span']:.0f} s) | "
              f"{r['epochs_trained'] / r['seconds']:.1f} | {c.get('complete', 0)} / {c.get('pruned', 0)} / "
              f"{c.get('fail', 0)} | {r['epochs_saved']:,} of {r['planned_epochs'] * r['trials']:,} | "
              f"{r['test_accuracy']:.3f} |")
    print(f"| the defaults, one run | 1 | {d['seconds']:.0f} s | | | | {d['test_accuracy']:.3f} |")
    for first, what in (("median", "not the same trials"), ("replay", "the same trials")):
        one, two = results[f"{first}/1"], results[f"{first}/2"]
        print(f"\n{first}: 2 workers against 1 ({what}): {one['seconds'] / two['seconds']:.2f}x the wall time, "
              f"{one['span'] / two['span']:.2f}x the trials' span, "
              f"{(two['epochs_trained'] / two['seconds']) / (one['epochs_trained'] / one['seconds']):.2f}x the "
              "epochs per second")
    ideal, one = results["replay/ideal"], results["replay/1"]
    print(f"\nthe 1-worker study's trials, each as long as it took there, on 2 perfect workers in order: "
          f"{ideal:.0f} s ({one['span'] / ideal:.2f}x); its longest trial {max(one['durations']):.0f} s")
    print(f"\n{args.identical_trials} identical trials (the workers' speed on the same work; medians of "
          f"{args.repeats} interleaved rounds):\n")
    print("| workers | wall time | against 1 worker, 1 thread | the trials alone | against 1 worker, 1 thread |")
    print("|---|---:|---:|---:|---:|")
    base = results["identical/1 worker, 1 thread"]
    for name in ("1 worker, 1 thread", "1 worker, every thread", "2 workers"):
        r = results[f"identical/{name}"]
        print(f"| {name} | {r['seconds']:.1f} s | {base['seconds'] / r['seconds']:.2f}x | {r['trials_span']:.1f} s | "
              f"{base['trials_span'] / r['trials_span']:.2f}x |")
    p = results["pairs"]
    print(f"\nfor comparison: one single-threaded training alone {p['alone']:.2f} s, two started together "
          f"{p['together']:.2f} s ({2 * p['alone'] / p['together']:.2f}x the work per second)")


if __name__ == "__main__":
    main()
