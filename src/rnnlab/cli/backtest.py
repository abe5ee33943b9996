"""``rnnlab backtest RUN [--every K] [--refit-every R]``: rolling-origin evaluation over the test part."""

from __future__ import annotations

from pathlib import Path

from rnnlab.cli.common import check_output, print_json
from rnnlab.cli.forecast import add_file_options, forecast_run
from rnnlab.cli.parsing import Command, Parser, value
from rnnlab.errors import MissingDependency
from rnnlab.io import atomic_write_text
from rnnlab.tasks.backtest import backtest
from rnnlab.tasks.forecast_report import forecast_csv

EPILOG = """examples:
  rnnlab backtest runs/bikes                         a forecast from every step of the test part, batched
  rnnlab backtest runs/bikes --every 24              one a day
  rnnlab backtest runs/bikes --every 24 --refit-every 7 --refit-epochs 3   retrained every week of origins
"""


def add_arguments(parser: Parser) -> None:
    parser.add_argument("model", type=Path, help="a forecast run folder, or a model file inside one")
    parser.add_argument("--every", type=value("int", minimum=1), default=1, metavar="K",
                        help="an origin every K steps of the test part")
    parser.add_argument("--refit-every", type=value("int", minimum=0), default=0, metavar="R",
                        help="train the model on again every R origins, on the data before them (0: never)")
    parser.add_argument("--refit-epochs", type=value("int", minimum=1), default=5, metavar="N",
                        help="epochs of each refit")
    add_file_options(parser, "the CSV of the scores per origin (default: RUN/backtest.csv)")


def run(args) -> int:
    """``rnnlab backtest RUN``."""
    model, found = forecast_run(args, "backtest")
    csv_path = check_output(args.out or found.folder / "backtest.csv", args.force, found.folder)
    plot_path = check_output(args.plot or csv_path.with_suffix(".png"), args.force, found.folder)
    result = backtest(found.task, model, found.config, args.every, args.refit_every, args.refit_epochs)
    atomic_write_text(csv_path, forecast_csv(result["rows"]))
    written = [str(csv_path)]
    try:
        from rnnlab.plot import plot_backtest

        title = f"{found.task.title(found.config)}: MAE of each origin's {found.config.data.horizon}-step forecast"
        written.append(str(plot_backtest(result["rows"], plot_path, title=title)))
    except MissingDependency:
        pass  # the CSV is the result; the picture needs matplotlib
    if args.json:
        print_json({**result, "files": written})
        return 0
    rows, overall = result["rows"], result["overall"]["test"]
    refits = f", the model trained on again {result['refits']} times" if result["refits"] else ""
    print(f"{len(rows):,} origins, every {args.every} step(s) of the test part{refits}:")
    print(f"  {'':<24}{'MAE':>10}{'RMSE':>10}{'MASE':>8}{'origins won':>13}")
    names = [n for n in rows[0] if n not in ("origin", "date")]
    for name in names:
        r = overall[name]
        won = sum(row[name] <= min(row[n] for n in names) for row in rows)
        print(f"  {name:<24}{r['mae']:>10.4g}{r['rmse']:>10.4g}{r['mase']:>8.3f}{won:>13,}")
    print(f"wrote {', '.join(written)}")
    return 0


# this module's entries in the command table (cli/app.py): every command module declares its own alike
BACKTEST = Command("backtest", "rolling-origin evaluation of a forecast run, against the baselines",
                   "Forecast from every K-th step of the run's test part (batched; optionally training the model on "
                   "again every R origins), score each origin and all of them for the model and every baseline; "
                   "write a CSV and a plot.", EPILOG, add_arguments, run)
