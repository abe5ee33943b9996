"""``rnnlab info`` (what a model or run is), ``rnnlab datasets`` and ``rnnlab plot`` (redraw a run's pictures)."""

from __future__ import annotations

import json
from pathlib import Path

from rnnlab.cli.common import check_output, open_model, print_json, run_of, task_plots
from rnnlab.cli.parsing import Command, Parser
from rnnlab.datasets import DATA_DIR, listing
from rnnlab.errors import ConfigError, MissingDependency
from rnnlab.interop.onnx import onnx_summary
from rnnlab.kernels import describe as describe_kernels
from rnnlab.models import load_model
from rnnlab.runs import HISTORY, MODEL, Run
from rnnlab.training import History

INFO_EPILOG = """examples:
  rnnlab info runs/gru                   the model, its data and its training
  rnnlab info runs/gru/last.npz --json
  rnnlab info runs/gru/model.onnx        an ONNX export: its inputs and outputs
"""
DATASETS_EPILOG = """examples:
  rnnlab datasets               the bundled data sets, their sizes and licences
  rnnlab datasets --json
"""
PLOT_EPILOG = """examples:
  rnnlab plot runs/gru                   redraw runs/gru/loss.png from history.csv
  rnnlab plot runs/gru --out gru.png
"""


def add_info_arguments(parser: Parser) -> None:
    parser.add_argument("target", type=Path, help="a run folder, a model file, a checkpoint or an ONNX export")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def describe(path: Path, model, target: Path) -> dict:
    """What ``rnnlab info`` shows of a loaded model file, as a JSON-able dict."""
    header = model.file_header
    info = {
        "file": str(path), "kind": header.get("kind", "model"), "format_version": header.get("format_version"),
        "written_by": f"rnnlab {header.get('rnnlab_version')}", "model": type(model).__name__,
        "architecture": model.describe(), "parameters": model.num_parameters(), "dtype": model.dtype.name,
        "config": model.get_config(),
    }
    vocab = model.vocab.tokens if hasattr(model, "vocab") else None
    if vocab is not None:
        chars = all(len(t) == 1 for t in vocab)
        info["vocabulary"] = {"size": len(vocab), "tokens": "".join(vocab) if chars else vocab}
    run = run_of(target, model)
    if run is not None:
        config = run.config.to_dict()
        info["run"] = {"folder": str(run.folder), "task": run.task.name, "seed": config["seed"],
                       "data": config["data"], "train": config["train"]}
    trainer = header.get("trainer")
    history = (trainer.get("history") or []) if isinstance(trainer, dict) else []
    if not isinstance(trainer, dict) and run is not None and (path.parent / HISTORY).exists():
        history = History.from_csv((path.parent / HISTORY).read_text(encoding="utf-8")).rows
    if history:
        last = history[-1]
        best_epoch = model.file_extra.get("epoch") if info["kind"] == "model" else (trainer or {}).get("best_epoch")
        info["training"] = {"epochs": len(history), "best_epoch": best_epoch,
                            "last": {k: last.get(k) for k in ("train_loss", "val_loss", "val_accuracy", "lr")},
                            "seconds": sum(r.get("time_s") or 0 for r in history), "threads": last.get("threads")}
    info["kernels"] = describe_kernels()  # what would run this model here, now
    return info


def print_info(info: dict) -> None:
    print(f"{info['file']}: rnnlab {info['kind']} file, format version {info['format_version']}, "
          f"written by {info['written_by']}")
    print(f"  model: {info['architecture']}")
    print(f"  {info['parameters']:,} parameters, {info['dtype']}")
    if "vocabulary" in info:
        v = info["vocabulary"]
        tokens = v["tokens"] if isinstance(v["tokens"], str) else " ".join(v["tokens"][:30])
        print(f"  vocabulary: {v['size']} tokens: {tokens!r}")
    if "run" in info:
        r, t = info["run"], info["run"]["train"]
        print(f"  run: task {r['task']}, seed {r['seed']}, data {r['data']}")
        print(f"  training config: {t['optimizer']} lr {t['lr']:g}, batch {t['batch_size']}, {t['epochs']} epochs, "
              f"schedule {t['schedule']}")
    if "training" in info:
        t = info["training"]
        last = t["last"]
        val = "" if last["val_loss"] is None else f", val_loss {last['val_loss']:.4f}"
        if last["val_accuracy"] is not None:  # a forecaster has none
            val += f", val_acc {last['val_accuracy']:.4f}"
        threads = "" if t.get("threads") is None else f" on {t['threads']:g} thread(s)"
        print(f"  trained: {t['epochs']} epochs in {t['seconds']:.1f} s{threads}; best epoch {t['best_epoch']}; "
              f"last epoch train_loss {last['train_loss']:.4f}{val}, lr {last['lr']:.3g}")
    print(f"  runs here on {info['kernels'].removeprefix('kernels: ')} kernels")


def tensor_line(t: dict) -> str:
    """``ids int64 (N, T)``, and "optional" for an input that may be left out."""
    return f"{t['name']} {t['dtype']} ({', '.join(map(str, t['shape']))})" + (" optional" if t["optional"] else "")


def print_onnx(summary: dict) -> None:
    """The human form of ``rnnlab.interop.onnx.onnx_summary``."""
    meta = summary["metadata"]
    print(f"{summary['file']}: ONNX export of a {summary['model_type']} (task {summary['task']}, opset "
          f"{summary['opset']}), written by rnnlab {summary['rnnlab_version']}")
    print(f"  model: {summary['architecture']}")
    print(f"  inputs: {'; '.join(tensor_line(t) for t in summary['inputs'])}")
    print(f"  outputs: {'; '.join(tensor_line(t) for t in summary['outputs'])}")
    for key in ("vocabulary", "classes", "columns", "targets"):
        if key in meta:
            values = json.loads(meta[key])
            shown = "".join(values) if key == "vocabulary" and all(len(v) == 1 for v in values) else values
            print(f"  {key}: {len(values)}: {shown!r}")


def run_info(args) -> int:
    """``rnnlab info MODEL|RUN|EXPORT.onnx``."""
    if args.target.suffix == ".onnx":
        summary = onnx_summary(args.target)
        if args.json:
            print_json(summary)
        else:
            print_onnx(summary)
        return 0
    path, model = open_model(args.target)
    info = describe(path, model, args.target)
    if args.json:
        print_json(info)
    else:
        print_info(info)
    return 0


def add_datasets_arguments(parser: Parser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def run_datasets(args) -> int:
    """``rnnlab datasets``: the bundled data sets."""
    items = listing()
    if args.json:
        print_json({"folder": str(DATA_DIR), "datasets": items})
        return 0
    for d in items:
        print(f"{d['name']}  ({d['kind']}, {d['bytes'] / 1024:,.0f} KiB: {', '.join(d['files'].values())})")
        print(f"    {d['description']}")
        print(f"    licence: {d['licence']}")
        print(f"    source: {d['source']}")
    print(f"\nfiles in {DATA_DIR}; attributions in NOTICE.md there. Use a name wherever a data file is asked for, "
          "e.g. rnnlab train forecast co2 --missing interpolate")
    return 0


def add_plot_arguments(parser: Parser) -> None:
    parser.add_argument("run", type=Path, help="the run folder")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="where to write the picture (default: RUN/loss.png)")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")


def run_plot(args) -> int:
    """``rnnlab plot RUN``."""
    run = Run.open(args.run)
    path = run.folder / HISTORY
    if not path.exists():
        raise ConfigError(f"{run.folder} has no {HISTORY} yet: train at least one epoch first")
    target = None if args.out is None else check_output(args.out, args.force, run.folder)
    out = run.plot(History.from_csv(path.read_text(encoding="utf-8")), target)
    if out is None:
        raise MissingDependency("plotting needs matplotlib: pip install 'rnnlab[plot]'", "matplotlib")
    written = [out]
    if args.out is None and (run.folder / MODEL).exists():
        written += task_plots(run, load_model(run.folder / MODEL))
    print(f"wrote {', '.join(map(str, written))}")
    return 0


# this module's entries in the command table (cli/app.py): every command module declares its own alike
INFO = Command("info", "what a model or run is: architecture, size, vocabulary, data, training",
               "Describe a model file, a checkpoint, a run folder or an ONNX export (.onnx).",
               INFO_EPILOG, add_info_arguments, run_info,
               computes=False)
DATASETS = Command("datasets", "the data sets bundled with rnnlab", "List the bundled data sets: what, size, licence.",
                   DATASETS_EPILOG, add_datasets_arguments, run_datasets, computes=False)
PLOT = Command("plot", "redraw a run's training curves", "Redraw RUN/loss.png from RUN/history.csv.", PLOT_EPILOG,
               add_plot_arguments, run_plot, computes=False)
