"""What a study found: the trials as a table, the parameters' importances, the epochs pruning
saved, and Optuna's plots of the search (written into the study's folder)."""

from __future__ import annotations

import contextlib
import csv
import io
import warnings
from pathlib import Path

from rnnlab.io import atomic_write_text
from rnnlab.tuning.study import import_optuna

TRIALS_CSV = "trials.csv"


def summarize(study, planned_epochs: int) -> dict:
    """The study as a JSON-able dict: trials (number, state, value, params, epochs, folder, failure,
    started and finished as ISO times), counts per state, the best trial, the epochs pruning saved,
    the parameters' importances."""
    optuna = import_optuna()
    trials = []
    for t in study.get_trials(deepcopy=False):
        trials.append({"number": t.number, "state": t.state.name.lower(), "value": t.value, "params": t.params,
                       "epochs": t.user_attrs.get("epochs", 0), "folder": t.user_attrs.get("folder"),
                       "failure": t.user_attrs.get("failure"), "retry_of": t.user_attrs.get("retry_of"),
                       "started": t.datetime_start and t.datetime_start.isoformat(),
                       "finished": t.datetime_complete and t.datetime_complete.isoformat()})
    complete = [t for t in trials if t["state"] == "complete"]
    best = None
    if complete:
        b = study.best_trial
        best = {"number": b.number, "value": b.value, "params": b.params, "folder": b.user_attrs.get("folder")}
    saved = sum(max(0, planned_epochs - t["epochs"]) for t in trials if t["state"] == "pruned")
    importances = {}
    if len(complete) >= 2:
        with contextlib.suppress(RuntimeError, ValueError, ZeroDivisionError), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # experimental-API notices
            importances = {k: float(v) for k, v in optuna.importance.get_param_importances(study).items()}
    counts = {}
    for t in trials:
        counts[t["state"]] = counts.get(t["state"], 0) + 1
    return {"study": study.study_name, "direction": study.direction.name.lower(), "trials": trials,
            "counts": counts, "best": best, "epochs_saved_by_pruning": saved, "planned_epochs": planned_epochs,
            "importances": importances}


def trials_csv(summary: dict) -> str:
    """The trials as CSV: number, state, value, epochs, one column per parameter, folder, failure."""
    names = sorted({k for t in summary["trials"] for k in t["params"]})
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["number", "state", "value", "epochs", *names, "folder", "failure"])
    for t in summary["trials"]:
        w.writerow([t["number"], t["state"], "" if t["value"] is None else t["value"], t["epochs"],
                    *[t["params"].get(n, "") for n in names], t["folder"] or "", t["failure"] or ""])
    return out.getvalue()


def write_report(study, summary: dict, folder: Path) -> list[Path]:
    """trials.csv and, with matplotlib, history.png (the optimisation history) and params.png (each
    parameter against the metric) in ``folder``; returns the paths written."""
    folder = Path(folder)
    written = [atomic_write_text(folder / TRIALS_CSV, trials_csv(summary))]
    if not any(t["state"] == "complete" for t in summary["trials"]):
        return written
    try:
        import matplotlib

        matplotlib.use("Agg")
        from optuna.visualization import matplotlib as optuna_plots
    except ImportError:
        return written
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optuna's matplotlib plots are marked experimental
        for name, draw in (("history.png", optuna_plots.plot_optimization_history),
                           ("params.png", optuna_plots.plot_slice)):
            try:
                axes = draw(study)
            except ValueError:  # nothing to draw yet
                continue
            figure = (axes.flat[0] if hasattr(axes, "flat") else axes).get_figure()
            figure.savefig(folder / name, dpi=100, bbox_inches="tight")
            matplotlib.pyplot.close(figure)
            written.append(folder / name)
    return written


def format_value(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def print_report(summary: dict, out, top: int = 10) -> None:
    """The human form: counts, the top trials as a table, importances, epochs saved."""
    counts = ", ".join(f"{n} {state}" for state, n in sorted(summary["counts"].items()))
    print(f"study {summary['study']}: {len(summary['trials'])} trials ({counts or 'none yet'})", file=out)
    ranked = sorted((t for t in summary["trials"] if t["value"] is not None and t["state"] == "complete"),
                    key=lambda t: t["value"], reverse=summary["direction"] == "maximize")
    names = sorted({k for t in summary["trials"] for k in t["params"]})
    if ranked:
        print(f"\n| trial | value | epochs | {' | '.join(names)} |", file=out)
        print("|---:|---:|---:|" + "---|" * len(names), file=out)
        for t in ranked[:top]:
            params = " | ".join(format_value(t["params"].get(n, "")) for n in names)
            print(f"| {t['number']} | {t['value']:.4f} | {t['epochs']} | {params} |", file=out)
    if summary["importances"]:
        shown = ", ".join(f"{k} {v:.2f}" for k, v in summary["importances"].items())
        print(f"\nparameter importances: {shown}", file=out)
    pruned = summary["counts"].get("pruned", 0)
    if pruned:
        print(f"pruning stopped {pruned} trial(s) early, saving {summary['epochs_saved_by_pruning']} of their "
              f"{pruned * summary['planned_epochs']} planned epochs", file=out)
    for t in summary["trials"]:
        if t["state"] == "fail":
            print(f"trial {t['number']} failed: {t['failure'] or 'no reason recorded'}", file=out)
    if summary["best"]:
        b = summary["best"]
        print(f"\nbest: trial {b['number']}, value {b['value']:.4f}, in {b['folder']}", file=out)
