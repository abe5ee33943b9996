"""What the command-line tests share: run a command for its JSON, or for its one-line error."""

import json

from rnnlab.cli import main


def run_json(args, capsys):
    """The JSON summary ``rnnlab ARGS --json`` prints (the command must succeed)."""
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def error_of(args, capsys) -> str:
    """The error line of a command that must fail with exit status 2 and no traceback."""
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnlab: error: ") and "Traceback" not in err and err.count("\n") == 1
    return err
