"""``rnnlab gradient-flow`` (the vanishing-gradient picture) and ``rnnlab gradcheck`` (backward passes, proven)."""

from __future__ import annotations

import json
from pathlib import Path

from rnnlab.cli.common import check_output, print_json
from rnnlab.cli.parsing import Command, Parser, value
from rnnlab.diagnostics import gradient_flow
from rnnlab.gradcheck import cell_cases, layer_cases, notebook_cases

FLOW_EPILOG = """examples:
  rnnlab gradient-flow                   |dL/dh_t| over 100 steps for RNN, LSTM and GRU, to gradient-flow.png
  rnnlab gradient-flow --steps 200 --out flow.png --json
"""
GRADCHECK_EPILOG = """examples:
  rnnlab gradcheck               every layer and the whole model, relative error per parameter
  rnnlab gradcheck --cell lstm   one cell: 1 and 2 layers, one and two directions, ragged lengths
                                 (the LSTM also with a projection, LSTM and GRU with layer norm)
  rnnlab gradcheck --notebook    the notebook's backward pass: each of its four bugs, and all fixed
"""
PASS_BELOW = 1e-6  # relative error: a correct gradient gives about 1e-10, the notebook's smallest bug 2.7e-3


def add_flow_arguments(parser: Parser) -> None:
    parser.add_argument("--steps", type=value("int", minimum=1), default=100, metavar="T", help="sequence length")
    parser.add_argument("--hidden-size", type=value("int", minimum=1), default=32, metavar="N",
                        help="hidden units of each layer")
    parser.add_argument("--seed", type=value("int", minimum=0), default=0, metavar="N",
                        help="seed for weights and inputs")
    parser.add_argument("--out", type=Path, default=Path("gradient-flow.png"), metavar="FILE",
                        help="where to write the picture")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    parser.add_argument("--json", action="store_true", help="print the norms as JSON instead of drawing")


def run_flow(args) -> int:
    """``rnnlab gradient-flow``: the vanishing-gradient picture."""
    target = None if args.json else check_output(args.out, args.force)
    groups = gradient_flow(steps=args.steps, hidden_size=args.hidden_size, seed=args.seed)
    if args.json:
        print_json({"steps": args.steps, "hidden_size": args.hidden_size, "norms": groups})
        return 0
    from rnnlab.plot import plot_gradient_flow

    out = plot_gradient_flow(groups, target, hidden_size=args.hidden_size)
    print(f"|dL/dh_t| {args.steps - 1} steps before the loss, relative to the last step:")
    for setting, norms in groups.items():
        print(f"  {setting}:")
        for name, values in norms.items():
            print(f"    {name:<26}{values[0] / values[-1]:9.1e}")
    print(f"wrote {out}")
    return 0


def add_gradcheck_arguments(parser: Parser) -> None:
    parser.add_argument("--cell", choices=("rnn", "lstm", "gru"), default=None,
                        help="check only this recurrent cell, in more configurations")
    parser.add_argument("--notebook", action="store_true", help="check the notebook's backward pass instead")
    parser.add_argument("--seed", type=value("int", minimum=0), default=0, metavar="N",
                        help="seed for the random weights and inputs")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def run_gradcheck(args) -> int:
    """``rnnlab gradcheck [--cell C] [--notebook]``."""
    if args.notebook:
        reports, what = notebook_cases(args.seed), "the notebook's backward pass"
    elif args.cell:
        reports, what = cell_cases(args.cell, args.seed), f"the {args.cell.upper()} layer"
    else:
        reports, what = layer_cases(args.seed), "rnnlab's layers and model"
    if args.json:
        print(json.dumps({name: dict(r) for name, r in reports.items()}, indent=2))
        return 0
    print(f"gradient check of {what}: relative error |analytic - numeric| / (|analytic| + |numeric|)")
    print(f"per parameter, float64, finite differences (docs/from-the-notebook.md); below {PASS_BELOW:g} passes")
    for name, report in reports.items():
        print(f"\n{name}: {'pass' if report.max_error < PASS_BELOW else 'FAIL'}")
        for param, err in report.items():
            print(f"  {param:<22}{err:10.2e}" + ("" if err < PASS_BELOW else "   <- wrong gradient"))
    return 0


# this module's entries in the command table (cli/app.py): every command module declares its own alike
GRADIENT_FLOW = Command("gradient-flow", "the vanishing-gradient picture: |dL/dh_t| for RNN, LSTM and GRU",
                        "How much gradient reaches each time step from a loss at the last one, for a vanilla RNN, an "
                        "LSTM and a GRU side by side (freshly initialised, random inputs).", FLOW_EPILOG,
                        add_flow_arguments, run_flow)
GRADCHECK = Command("gradcheck", "check backward passes against finite differences",
                    "Gradient-check rnnlab's layers and model in float64 (relative error per parameter; a correct "
                    "gradient gives about 1e-10), or the notebook's backward pass with --notebook.", GRADCHECK_EPILOG,
                    add_gradcheck_arguments, run_gradcheck)
