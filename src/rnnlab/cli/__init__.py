"""The ``rnnlab`` command line.

``main(argv=None) -> int`` parses ``argv`` (default: ``sys.argv[1:]``) and returns the exit
status, so tests call it in-process. Mistakes a user can make (a missing file, an unknown
letter, a bad option value, a model for another task) print one line, ``rnnlab: error: ...``,
and return 2; ``--debug`` shows the traceback instead. Ctrl-C during training saves a
checkpoint and returns 130.

Commands: demo, train TASK, resume RUN, evaluate, predict, generate, forecast, datasets, info, plot,
gradient-flow, gradcheck.
The options of ``train`` are generated from the task's config dataclasses and
:class:`~rnnlab.training.TrainConfig`, so they always match what the library accepts.

One module per command group, each with its arguments and its run function: ``train``
(demo, train, resume), ``evaluate``, ``predict`` (predict, generate), ``forecast``, ``info``
(info, datasets, plot), ``diagnose`` (gradient-flow, gradcheck). ``app`` holds the command
table, the parser built from it and ``main``; ``parsing`` the option machinery; ``common``
what the commands share.
"""

from rnnlab.cli.app import COMMANDS, ExitCode, build_parser, main

__all__ = ["COMMANDS", "ExitCode", "build_parser", "main"]
