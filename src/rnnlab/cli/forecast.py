"""``rnnlab forecast RUN --steps K [--from-end]``: a forecast as a CSV and a plot against the actual values."""

from __future__ import annotations

from pathlib import Path

from rnnlab.cli.common import check_output, open_model, print_json, run_of
from rnnlab.cli.parsing import Command, Parser, value
from rnnlab.errors import ConfigError, MissingDependency
from rnnlab.io import atomic_write_text
from rnnlab.models import Forecaster
from rnnlab.tasks.forecast_report import forecast_csv, forecast_mae

# a recursive forecast runs the model once per horizon: 100,000 steps take minutes, a billion would take days
MAX_STEPS = 100_000
EPILOG = """examples:
  rnnlab forecast runs/sun12 --steps 132          11 years from the start of the test part, against the actual
  rnnlab forecast runs/sun12 --steps 24 --from-end  two years past the end of the data
  rnnlab forecast runs/bikes --steps 24 --from-end --future weather.csv   with the known future of the covariates
  rnnlab forecast runs/stores --steps 7 --series B                 one series of a long-format run
"""


def add_arguments(parser: Parser) -> None:
    parser.add_argument("model", type=Path, help="a forecast run folder, or a model file inside one")
    parser.add_argument("--steps", type=value("int", minimum=1, maximum=MAX_STEPS), default=None, metavar="K",
                        help="steps to forecast (default: the run's horizon)")
    parser.add_argument("--from-end", action="store_true", help="forecast past the last observation")
    parser.add_argument("--future", type=Path, default=None, metavar="FILE",
                        help="a CSV with the future features' values over the forecast (its date column and those "
                        "columns); calendar features are computed from the dates")
    parser.add_argument("--series", default=None, metavar="ID",
                        help="a run on a long-format file (--series-id): only this series (default: every one)")
    add_file_options(parser, "the CSV to write (default: RUN/forecast.csv)")


def one_series(rows: list[dict], meta: dict, series: str):
    """A forecast table's rows and metadata cut down to one series of a long-format run."""
    known = meta.get("series_columns") or {}
    if series not in known:
        raise ConfigError(f"--series {series}: " + (f"the run's series are {', '.join(known)}" if known else
                                                    "this run reads a single series (no --series-id)"))
    keep = known[series]
    mine = [k for k in rows[0] if k in ("step", "date") or any(k == c or k.startswith(f"{c}_") for c in keep)]
    return [{k: r[k] for k in mine} for r in rows], {**meta, "targets": keep,
                                                     "history": meta["history"][:, [meta["targets"].index(c)
                                                                                    for c in keep]]}


def add_file_options(parser: Parser, what: str) -> None:
    """--out (``what``), --plot, --force and --json: the options of a command that writes a CSV and a picture."""
    parser.add_argument("--out", type=Path, default=None, metavar="FILE", help=what)
    parser.add_argument("--plot", type=Path, default=None, metavar="FILE",
                        help="the picture (default: the CSV's name, .png)")
    parser.add_argument("--force", action="store_true", help="replace the CSV and picture if they exist")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def forecast_run(args, command: str):
    """``(model, run)`` of a forecast run folder (or a model file inside one) that ``command`` reads."""
    path, model = open_model(args.model, Forecaster, command, "forecaster (rnnlab train forecast)")
    found = run_of(args.model, model)
    if found is None or found.task.name != "forecast":
        raise ConfigError(f"{path} sits in no forecast run folder: rnnlab cannot find its series")
    return model, found


def run(args) -> int:
    """``rnnlab forecast RUN --steps K [--from-end]``."""
    model, found = forecast_run(args, "forecast")
    steps = args.steps or found.config.data.horizon
    rows, meta = found.task.forecast_table(model, found.config, steps, from_end=args.from_end,
                                           future_file=args.future)
    if args.series is not None:
        rows, meta = one_series(rows, meta, args.series)
    csv_path = check_output(args.out or found.folder / "forecast.csv", args.force, found.folder)
    plot_path = check_output(args.plot or csv_path.with_suffix(".png"), args.force, found.folder)
    atomic_write_text(csv_path, forecast_csv(rows))
    written = [str(csv_path)]
    try:
        from rnnlab.plot import plot_forecast

        where = "past the end of the series" if args.from_end else "from the start of the test part"
        title = f"{found.task.title(found.config)}: {steps} steps {where}"
        written.append(str(plot_forecast(rows, meta, plot_path, title=title)))
    except MissingDependency:
        pass  # the CSV is the result; the picture needs matplotlib
    mae = forecast_mae(rows, meta["targets"][0])
    summary = {"steps": steps, "origin": meta["origin"], "files": written, "forecast": rows}
    if mae is not None:
        summary["mae"] = mae[0]
    if args.json:
        print_json(summary)
        return 0
    first = rows[0]["date"] or f"step {meta['origin']}"
    print(f"{steps}-step forecast of {', '.join(meta['targets'])} from {first}"
          + (f": MAE {mae[0]:.4g} against the {mae[1]} actual values" if mae else ""))
    for r in rows[:5]:
        shown = "  ".join(f"{n} {r[n]:.4g}" + ("" if r[f"{n}_actual"] is None else f" (actual {r[f'{n}_actual']:.4g})")
                          for n in meta["targets"])
        print(f"  {r['date'] or r['step']}: {shown}")
    if steps > 5:
        print(f"  ... {steps - 5} more")
    print(f"wrote {', '.join(written)}")
    return 0


# this module's entries in the command table (cli/app.py): every command module declares its own alike
FORECAST = Command("forecast", "forecast a series with a trained forecaster, to CSV and a plot",
                   "Forecast K steps from the start of the run's test part (against the actual values) or past the "
                   "end of the series, feeding forecasts back; write a CSV and a plot.", EPILOG, add_arguments, run)
