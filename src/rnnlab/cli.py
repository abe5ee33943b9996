"""The ``rnnlab`` command line.

``main(argv=None) -> int`` parses ``argv`` (default: ``sys.argv[1:]``) and returns the
exit status, so tests call it in-process. Mistakes a user can make (a missing file, an
unknown letter, a bad option value) print one line, ``rnnlab: error: ...``, and return 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from rnnlab._version import __version__
from rnnlab.errors import ConfigError, DataError, RnnlabError

DEMO_EPILOG = """examples:
  rnnlab demo                         the notebook's task with its sizes (about 5 seconds)
  rnnlab demo --samples 10000         every (a0, a1) pair seen: close to the 0.652-nat floor
  rnnlab demo --variant fibonacci     every step after the first needs memory
  rnnlab demo --variant fibonacci --cell lstm    a gated cell learns those memory steps
  rnnlab demo --optimizer sgd --lr 0.05 --clip-value 1 --weight-decay 0
"""

PREDICT_EPILOG = """examples:
  rnnlab predict runs/letters-20261129-101500/model.npz r r i q g --top 5
  rnnlab predict MODEL rriqg --json
"""

GRADCHECK_EPILOG = """examples:
  rnnlab gradcheck               every layer and the whole model, relative error per parameter
  rnnlab gradcheck --cell lstm   one cell: 1 and 2 layers, one and two directions, ragged lengths
  rnnlab gradcheck --notebook    the notebook's backward pass: each of its four bugs, and all fixed
"""


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


def _optional_positive(text: str) -> float | None:
    """A positive float, or "none"/"off"/"0" for "disabled"."""
    if text.lower() in ("none", "off", "0"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number or 'none', got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number or 'none', got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _float(text: str, minimum: float, strict: bool) -> float:
    bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and (value > minimum if strict else value >= minimum)):
        raise argparse.ArgumentTypeError(f"expected a number {bound}, got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    return _float(text, 0.0, strict=False)


def _positive_float(text: str) -> float:
    return _float(text, 0.0, strict=True)


def _probability(text: str) -> float:
    value = _float(text, 0.0, strict=False)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1), got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``rnnlab`` command (subcommands demo, predict, gradcheck)."""
    parser = argparse.ArgumentParser(
        prog="rnnlab",
        description="Recurrent neural networks in NumPy: train, check and use them.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"rnnlab {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="the notebook's letter task end to end, done right",
        description="Generate the notebook's letter task, train an RNN on it, report held-out accuracy per "
        "step and cross-entropy against the best possible, show predictions, save the model and plots.",
        epilog=DEMO_EPILOG,
        formatter_class=_Formatter,
    )
    demo.add_argument("--samples", type=_positive_int, default=1000, help="training sequences")
    demo.add_argument("--val-samples", type=_positive_int, default=1000, help="held-out sequences")
    demo.add_argument("--seq-len", type=_positive_int, default=5, help="input letters per sequence")
    demo.add_argument("--variant", choices=("sum", "fibonacci"), default="sum",
                      help="sum: the notebook's rule (sum of all previous letters); fibonacci: previous two")
    demo.add_argument("--cell", choices=("rnn", "lstm", "gru"), default="rnn", help="recurrent cell")
    demo.add_argument("--hidden-size", type=_positive_int, default=50, help="recurrent hidden units")
    demo.add_argument("--num-layers", type=_positive_int, default=1, help="stacked recurrent layers")
    demo.add_argument("--dropout", type=_probability, default=0.0, help="dropout between stacked layers")
    demo.add_argument("--embedding-dim", type=_positive_int, default=32, help="letter embedding size")
    demo.add_argument("--nonlinearity", choices=("tanh", "relu"), default="tanh", help="activation (--cell rnn)")
    demo.add_argument("--epochs", type=_positive_int, default=200, help="passes over the training data")
    demo.add_argument("--batch-size", type=_positive_int, default=32, help="sequences per step")
    demo.add_argument("--optimizer", choices=("adam", "sgd"), default="adam", help="optimizer")
    demo.add_argument("--lr", type=_positive_float, default=0.003, help="learning rate")
    demo.add_argument("--momentum", type=_non_negative_float, default=0.0, help="SGD momentum")
    demo.add_argument("--weight-decay", type=_non_negative_float, default=2e-4,
                      help="L2 penalty; helps the model generalise the sum to letter pairs it never saw")
    demo.add_argument("--clip-norm", type=_optional_positive, default=5.0,
                      help="rescale gradients to at most this global norm ('none' to disable)")
    demo.add_argument("--clip-value", type=_optional_positive, default=None,
                      help="clamp each gradient entry to [-v, v], the notebook's clipping ('none' to disable)")
    demo.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="floating-point precision")
    demo.add_argument("--seed", type=int, default=0, help="seed for data, initial weights and shuffling")
    demo.add_argument("--out", type=Path, default=None, help="run folder (default runs/letters-<timestamp>)")
    demo.add_argument("--no-plot", action="store_true", help="do not write the loss-curve PNG")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(func=cmd_demo)

    predict = sub.add_parser(
        "predict",
        help="the most likely next letters after a sequence",
        description="Load a saved next-token model and print the top-k next tokens after the given sequence, "
        "with probabilities (the notebook's predict). Tokens may be given one per argument or run together.",
        epilog=PREDICT_EPILOG,
        formatter_class=_Formatter,
    )
    predict.add_argument("model", type=Path, help="a model file saved by rnnlab (model.npz in a run folder)")
    predict.add_argument("tokens", nargs="*", help="the input sequence, e.g. r r i q g")
    predict.add_argument("--top", type=_positive_int, default=5, help="how many candidates to show")
    predict.add_argument("--json", action="store_true", help="print JSON for scripts")
    predict.set_defaults(func=cmd_predict)

    gradcheck = sub.add_parser(
        "gradcheck",
        help="check backward passes against finite differences",
        description="Gradient-check rnnlab's layers and model in float64 (relative error per parameter; "
        "a correct gradient gives about 1e-10), or the notebook's backward pass with --notebook.",
        epilog=GRADCHECK_EPILOG,
        formatter_class=_Formatter,
    )
    gradcheck.add_argument("--cell", choices=("rnn", "lstm", "gru"), default=None,
                           help="check only this recurrent cell, in more configurations")
    gradcheck.add_argument("--notebook", action="store_true", help="check the notebook's backward pass instead")
    gradcheck.add_argument("--seed", type=int, default=0, help="seed for the random weights and inputs")
    gradcheck.add_argument("--json", action="store_true", help="print JSON for scripts")
    gradcheck.set_defaults(func=cmd_gradcheck)
    return parser


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.func(args)
    except RnnlabError as exc:
        if args.debug:
            raise
        message = " ".join(str(exc).split())
        print(f"rnnlab: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnnlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `rnnlab gradcheck | head`: the reader left, which is fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


# -- demo ------------------------------------------------------------------------------------
def _step_descriptions(variant: str, T: int) -> list[str]:
    names = ["2nd letter: pure chance"]
    for t in range(1, T):
        if variant == "sum":
            names.append("a0 + a1: needs memory" if t == 1 else "2 x previous: no memory")
        else:
            names.append(f"a{t - 1} + a{t}: needs memory")
    return names


def _default_run_folder(task: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{task}-{stamp}"
    path, k = base, 1
    while path.exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


def cmd_demo(args) -> int:
    """``rnnlab demo``: the notebook end to end, done right."""
    from rnnlab.data import LETTERS, format_samples, letter_task
    from rnnlab.models import NextTokenModel

    out = args.out or _default_run_folder("letters")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder")
    seeds = np.random.SeedSequence(args.seed).spawn(4)
    data_rng, val_rng, init_rng = (np.random.default_rng(s) for s in seeds[:3])
    shuffle_seed = int(seeds[3].generate_state(1)[0])
    x, y = letter_task(args.samples, seq_len=args.seq_len, variant=args.variant, rng=data_rng)
    xv, yv = letter_task(args.val_samples, seq_len=args.seq_len, variant=args.variant, rng=val_rng)
    rule = "sum of all previous letters" if args.variant == "sum" else "sum of the previous two letters"
    print(f"rnnlab {__version__} demo: the notebook's letter task, done right")
    print(f"task: each letter is the {rule}, mod 26; {args.samples} training and "
          f"{args.val_samples} held-out sequences (seed {args.seed})")
    print(format_samples(x, y, n=5))
    print()
    if args.cell != "rnn" and args.nonlinearity != "tanh":
        raise ConfigError("--nonlinearity applies to --cell rnn only")
    model = NextTokenModel(LETTERS, cell=args.cell, embedding_dim=args.embedding_dim, hidden_size=args.hidden_size,
                           num_layers=args.num_layers, dropout=args.dropout, nonlinearity=args.nonlinearity,
                           dtype=args.dtype, rng=init_rng)
    clip = []
    if args.clip_norm:
        clip.append(f"norm clip {args.clip_norm:g}")
    if args.clip_value:
        clip.append(f"value clip {args.clip_value:g}")
    print(f"model: {model.describe()}: {model.num_parameters():,} parameters, {args.dtype}")
    print(f"training: {args.optimizer} lr {args.lr:g}, weight decay {args.weight_decay:g}, batch {args.batch_size}, "
          f"{args.epochs} epochs" + (", " + ", ".join(clip) if clip else ", no clipping"))
    t0 = time.perf_counter()
    history = model.fit(
        x, y, validation=(xv, yv), epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer,
        lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay, clip_norm=args.clip_norm,
        clip_value=args.clip_value, seed=shuffle_seed, progress=False if args.quiet else None,
        log_every=max(1, args.epochs // 10),
    )
    elapsed = time.perf_counter() - t0
    speed = args.samples * args.epochs / sum(r["time_s"] for r in history.rows)
    print(f"trained in {elapsed:.1f} s ({speed:,.0f} sequences/s including validation)")
    print()

    metrics = model.evaluate(xv, yv)
    floor = math.log(26) / args.seq_len
    print(f"held-out results ({args.val_samples} sequences):")
    print(f"  {'step':<5}{'target':<26}{'accuracy':>9}{'CE (nats)':>11}")
    for t, desc in enumerate(_step_descriptions(args.variant, args.seq_len)):
        print(f"  {t:<5}{desc:<26}{metrics['per_step_accuracy'][t]:>9.3f}{metrics['per_step_loss'][t]:>11.3f}")
    print(f"  chance accuracy 1/26 = {1 / 26:.3f}; step 0 cannot beat ln(26) = {math.log(26):.3f} nats")
    print(f"  mean per-step cross-entropy: {metrics['loss']:.3f} nats "
          f"(best possible ln(26)/{args.seq_len} = {floor:.3f})")
    print()

    print("predictions for the last step of 5 held-out sequences (top 5, as the notebook shows):")
    for i in range(min(5, len(xv))):
        seq = LETTERS.decode(xv[i])
        truth = LETTERS.decode(yv[i, -1:])
        top = model.predict_topk(seq, k=5)
        shown = ", ".join(f"{tok} {p:.3f}" for tok, p in top)
        mark = "right" if top[0][0] == truth else "wrong"
        print(f"  {' '.join(seq)}  ->  {shown}   truth {truth} ({mark})")
    print()

    summary = {"task": "letters", "variant": args.variant, "cell": args.cell, "seq_len": args.seq_len,
               "samples": args.samples, "epochs": args.epochs, "val_loss": metrics["loss"],
               "val_accuracy": metrics["accuracy"], "val_per_step_accuracy": metrics["per_step_accuracy"]}
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in ("func",)}
    try:
        out.mkdir(parents=True, exist_ok=True)
        model_path = model.save(out / "model.npz", extra=summary)
        history.save_csv(out / "history.csv")
        from rnnlab.io import atomic_write_text

        atomic_write_text(out / "config.json", json.dumps(config, indent=2, sort_keys=True) + "\n")
        saved = [model_path, out / "history.csv", out / "config.json"]
        if not args.no_plot:
            from rnnlab.plot import plot_history

            title = f"{args.cell.upper()} on the letter task ({args.variant}, {args.samples} training sequences)"
            try:
                saved.append(plot_history(history, out / "loss.png", title=title, floor=floor))
            except RnnlabError as exc:  # matplotlib missing: the run is still useful
                print(f"note: no plot ({exc})")
    except OSError as exc:
        raise ConfigError(f"cannot write the run folder {out}: {exc.strerror or exc}") from None
    print(f"saved in {out}/: " + ", ".join(p.name for p in saved))
    print(f"try: rnnlab predict {model_path} {' '.join(LETTERS.decode(xv[0]))}")
    return 0


# -- predict ---------------------------------------------------------------------------------
def cmd_predict(args) -> int:
    """``rnnlab predict MODEL TOKENS... --top K``."""
    from rnnlab.models import NextTokenModel, load_model

    model = load_model(args.model)
    if not isinstance(model, NextTokenModel):
        raise ConfigError(f"{args.model} holds a {type(model).__name__}; predict needs a next-token model")
    text = "".join(args.tokens)
    if not text:
        raise DataError("the input sequence is empty: give at least one token, e.g. rnnlab predict MODEL r r i q g")
    tokens = model.vocab.split(text) if all(len(t) == 1 for t in model.vocab) else list(args.tokens)
    top = model.predict_topk(tokens, k=args.top)
    if args.json:
        print(json.dumps({"input": tokens, "top": [{"token": t, "probability": p} for t, p in top]}))
    else:
        print(f"input: {' '.join(tokens)}")
        for rank, (tok, p) in enumerate(top, 1):
            print(f"  {rank}. {tok}  {p:.4f}")
    return 0


# -- gradcheck -------------------------------------------------------------------------------
def _cell_reports(cell: str, seed: int) -> dict:
    from rnnlab.gradcheck import check_layer
    from rnnlab.nn import CELL_TYPES

    rng = np.random.default_rng(seed)
    reports = {}
    for layers, bidirectional, lengths in [(1, False, None), (2, False, None), (1, True, [5, 3, 1]),
                                           (2, True, [5, 3, 1])]:
        layer = CELL_TYPES[cell](3, 4, layers, bidirectional=bidirectional, dtype=np.float64, rng=rng)
        x = rng.standard_normal((3, 5, 3))
        shape = layer.state_shape(3)
        parts = tuple(rng.standard_normal(shape) for _ in range(layer.n_states))
        state = parts if layer.n_states == 2 else parts[0]
        name = f"{layer!r}" + (f", lengths={lengths}" if lengths else "") + ", with initial state"
        reports[name] = check_layer(layer, x, state, lengths=lengths, rng=rng)
    return reports


def _layer_reports(seed: int) -> dict:
    from rnnlab.gradcheck import check_layer, check_model
    from rnnlab.models import NextTokenModel
    from rnnlab.nn import GRU, LSTM, RNN, Embedding, Linear

    rng = np.random.default_rng(seed)
    f64 = np.float64
    reports = {
        "Embedding(7, 3)": check_layer(Embedding(7, 3, dtype=f64, rng=rng), rng.integers(0, 7, (2, 4)), rng=rng),
        "Linear(3, 4)": check_layer(Linear(3, 4, dtype=f64, rng=rng), rng.standard_normal((2, 4, 3)), rng=rng),
    }
    for nl in ("tanh", "relu"):
        x = rng.standard_normal((2, 5, 3))
        reports[f"RNN(3, 4, {nl})"] = check_layer(RNN(3, 4, nonlinearity=nl, dtype=f64, rng=rng), x, rng=rng)
        reports[f"RNN(3, 4, {nl}) with h0"] = check_layer(
            RNN(3, 4, nonlinearity=nl, dtype=f64, rng=rng), x, rng.standard_normal((1, 2, 4)), rng=rng
        )
    x = rng.standard_normal((3, 5, 3))
    reports["LSTM(3, 4, 2 layers, bidirectional), ragged lengths"] = check_layer(
        LSTM(3, 4, 2, bidirectional=True, dtype=f64, rng=rng), x, lengths=[5, 2, 4], rng=rng
    )
    reports["GRU(3, 4, 2 layers, bidirectional), ragged lengths"] = check_layer(
        GRU(3, 4, 2, bidirectional=True, dtype=f64, rng=rng), x, lengths=[5, 2, 4], rng=rng
    )
    model = NextTokenModel(list("abcdef"), embedding_dim=3, hidden_size=4, dtype=f64, rng=rng)
    ids, targets = rng.integers(0, 6, (3, 4)), rng.integers(0, 6, (3, 4))
    reports["NextTokenModel (loss)"] = check_model(model, ids, targets)
    reports["NextTokenModel (masked loss)"] = check_model(model, ids, targets, rng.random((3, 4)) > 0.3)
    return reports


def _notebook_reports(seed: int) -> dict:
    from rnnlab import notebook

    reports = {"all four bugs (as published)": notebook.check_bugs(notebook.BUGS, rng=seed)}
    for bug in notebook.BUGS:
        reports[f"only {bug}"] = notebook.check_bugs((bug,), rng=seed)
    reports["all fixed"] = notebook.check_bugs((), rng=seed)
    return reports


def cmd_gradcheck(args) -> int:
    """``rnnlab gradcheck [--notebook]``."""
    if args.notebook:
        reports = _notebook_reports(args.seed)
    elif args.cell:
        reports = _cell_reports(args.cell, args.seed)
    else:
        reports = _layer_reports(args.seed)
    tol = 1e-6
    if args.json:
        print(json.dumps({name: dict(r) for name, r in reports.items()}, indent=2))
        return 0
    what = "the notebook's backward pass" if args.notebook else f"the {args.cell.upper()} layer" if args.cell else (
        "rnnlab's layers and model")
    print(f"gradient check of {what}: relative error |analytic - numeric| / (|analytic| + |numeric|)")
    print(f"per parameter, float64, finite differences (docs/from-the-notebook.md); below {tol:g} passes")
    for name, report in reports.items():
        verdict = "pass" if report.max_error < tol else "FAIL"
        print(f"\n{name}: {verdict}")
        for param, err in report.items():
            flag = "" if err < tol else "   <- wrong gradient"
            print(f"  {param:<22}{err:10.2e}{flag}")
    return 0
