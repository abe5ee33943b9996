"""Hyperparameter search on Optuna: ``rnnlab tune`` (see docs/tuning.md).

:mod:`~rnnlab.tuning.space` reads and checks search spaces; :mod:`~rnnlab.tuning.study` runs
trials as run folders in a shared study; :mod:`~rnnlab.tuning.report` says what it found.
"""

from rnnlab.tuning.report import print_report, summarize, write_report
from rnnlab.tuning.space import Param, default_space, read_space
from rnnlab.tuning.study import StudySpec, load_study, tune

__all__ = ["Param", "StudySpec", "default_space", "load_study", "print_report", "read_space", "summarize", "tune",
           "write_report"]
