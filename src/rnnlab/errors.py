"""The exceptions rnnlab raises for mistakes a user can make.

Every message says what was wrong and what to do about it. They all derive from
:class:`RnnlabError`, so ``except rnnlab.RnnlabError`` catches any of them; each also
derives from the built-in exception a Python user would expect (``ValueError`` for bad
values, ``FloatingPointError`` for a diverging loss), so generic handlers keep working.
The command line prints them in one line and exits with status 2.
"""

from __future__ import annotations


class RnnlabError(Exception):
    """Base class of every error rnnlab raises on purpose."""


class ShapeError(RnnlabError, ValueError):
    """An array has the wrong number of dimensions or the wrong size along one of them."""


class DataError(RnnlabError, ValueError):
    """Training or input data is unusable: empty, NaN, out of range, badly encoded."""


class UnknownTokenError(DataError):
    """A sequence holds tokens that are not in the model's vocabulary.

    ``unknown`` lists the offending tokens, in order of first appearance.
    """

    def __init__(self, message: str, unknown: list[str]):
        super().__init__(message)
        self.unknown = unknown


class ConfigError(RnnlabError, ValueError):
    """An option or configuration value is invalid."""


class ModelFileError(RnnlabError, ValueError):
    """A model file is missing, corrupt, truncated, unsafe, or was written for something else."""


class WriteError(RnnlabError, OSError):
    """A file could not be written (a read-only folder, a full disk, a folder in the way); the
    message names the path, and the file that was there, if any, is unchanged."""


class MissingDependency(RnnlabError, ImportError):
    """An optional dependency a feature needs is not installed; the message names the pip command.

    ``package`` is its name (e.g. "matplotlib"), so a caller can carry on without the feature.
    """

    def __init__(self, message: str, package: str):
        super().__init__(message)
        self.package = package


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on Ctrl-C, cleanly, between two steps.

    ``epoch`` and ``step`` (counted from 1) say where; ``checkpoint`` is the path of the
    checkpoint written on the way out, if any. Being a ``KeyboardInterrupt``, it ends a
    script as Ctrl-C always does unless caught.
    """

    def __init__(self, message: str, epoch: int, step: int, checkpoint=None):
        super().__init__(message)
        self.epoch = epoch
        self.step = step
        self.checkpoint = checkpoint


class TrainingDiverged(RnnlabError, FloatingPointError):
    """The loss or the gradient became NaN or infinite; training stopped.

    ``epoch`` and ``step`` say where (both counted from 1). The model keeps the last
    parameters that gave a finite loss.
    """

    def __init__(self, message: str, epoch: int, step: int):
        super().__init__(message)
        self.epoch = epoch
        self.step = step

