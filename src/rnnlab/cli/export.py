"""``rnnlab export``: a trained model to ONNX, checked by onnx and, where installed, by onnxruntime."""

from __future__ import annotations

from pathlib import Path

from rnnlab.cli.common import check_output, open_model, print_json
from rnnlab.cli.info import print_onnx
from rnnlab.cli.parsing import Command, Parser
from rnnlab.errors import ConfigError, MissingDependency
from rnnlab.interop.onnx import check_with_onnxruntime, onnx_summary
from rnnlab.runs import CONFIG

EPILOG = """examples:
  rnnlab export runs/austen                      writes runs/austen/model.onnx
  rnnlab export runs/sun12 --out sunspots.onnx
  rnnlab info runs/austen/model.onnx             what the export takes and gives
"""


def add_arguments(parser: Parser) -> None:
    parser.add_argument("model", type=Path, help="a run folder, or a model file saved by rnnlab")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="where to write the .onnx file (default: model.onnx beside the model)")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def run(args) -> int:
    """``rnnlab export MODEL [--out FILE]``."""
    path, model = open_model(args.model)
    out = args.out if args.out is not None else path.with_suffix(".onnx")
    if out.suffix != ".onnx":
        raise ConfigError(f"--out {out}: an ONNX file's name should end in .onnx")
    run_folder = path.parent if (path.parent / CONFIG).exists() else None
    model.to_onnx(check_output(out, args.force, run_folder))
    try:
        difference = check_with_onnxruntime(model, out)
    except MissingDependency:
        difference = None
    summary = onnx_summary(out)
    if args.json:
        print_json({**summary, "bytes": out.stat().st_size, "onnxruntime_difference": difference})
        return 0
    print(f"wrote {out} ({out.stat().st_size / 1024:,.0f} KiB)")
    print_onnx(summary)
    if difference is None:
        print("  checked by onnx.checker; install onnxruntime (pip install 'rnnlab[onnx]') to compare the outputs")
    else:
        print(f"  checked by onnx.checker, and by onnxruntime on a random batch: largest difference from rnnlab "
              f"{difference:.1e}")
    return 0


# this module's entry in the command table (cli/app.py)
EXPORT = Command("export", "a trained model to ONNX, for onnxruntime and other serving stacks",
                 "Write a model as an ONNX graph of standard operators (opset 17), check it with onnx.checker and, "
                 "where installed, run it with onnxruntime against rnnlab's own outputs. See docs/export.md.",
                 EPILOG, add_arguments, run, computes=False)
