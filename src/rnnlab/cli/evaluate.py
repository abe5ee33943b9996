"""``rnnlab evaluate RUN|MODEL [--data FILE]``: a model's held-out results."""

from __future__ import annotations

import sys
from pathlib import Path

from rnnlab.cli.common import open_model, print_json, report_stream, run_of
from rnnlab.cli.parsing import Command, Parser
from rnnlab.errors import ConfigError

EPILOG = """examples:
  rnnlab evaluate runs/gru               held-out results of the run's best model
  rnnlab evaluate runs/gru/last.npz --json
  rnnlab evaluate runs/vowels --data JapaneseVowels_TEST.ts
  rnnlab evaluate runs/austen --data emma.txt
"""


def add_arguments(parser: Parser) -> None:
    parser.add_argument("target", type=Path, help="a run folder, or a model.npz / last.npz inside one")
    parser.add_argument("--data", type=Path, default=None, metavar="FILE",
                        help="evaluate on this file instead (a text, a CSV series or a .ts file, as the task reads)")
    parser.add_argument("--allow-changed-data", action="store_true",
                        help="go on when the run's data file changed since training (with a note)")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def run(args) -> int:
    """``rnnlab evaluate RUN|MODEL``."""
    path, model = open_model(args.target)
    found = run_of(args.target, model)
    if found is None:
        raise ConfigError(f"{path} carries no run config and sits in no run folder: rnnlab cannot rebuild its "
                          "held-out data")
    with report_stream(args) as out:
        print(f"{path}: {model.describe()}", file=out)
        if args.data is not None:
            results = found.task.evaluate_file(model, found.config, args.data, out)
        else:
            found.allow_changed_data = args.allow_changed_data
            validation = found.data().validation
            for note in found.notes:
                print(f"rnnlab: {note}", file=sys.stderr)
            results = found.task.report(model, found.config, validation, out)
    if args.json:
        print_json({"model": str(path), "results": results})
    return 0


# this module's entries in the command table (cli/app.py): every command module declares its own alike
EVALUATE = Command("evaluate", "held-out results of a run's model",
                   "Evaluate a run's best model (or a model or checkpoint file) on the run's held-out data.", EPILOG,
                   add_arguments, run)
