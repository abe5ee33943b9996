"""Tasks: what ``rnnlab train TASK`` trains. A task bundles its data, its model and its report.

Each task has a data and a model config dataclass (and training defaults) whose fields become
the command line's options; a run's whole config is a typed :class:`RunConfig`, and
:mod:`rnnlab.runs` keeps a run's folder. The tasks: ``letters`` (the notebook's task), ``text``
(character-level language model), ``forecast`` (time series) and ``classify`` (sequence
classification).
"""

from rnnlab.tasks.base import RecurrentModelConfig, RunConfig, Task, TaskData, config_from_dict
from rnnlab.tasks.classify import ClassifyTask
from rnnlab.tasks.forecast import ForecastTask
from rnnlab.tasks.letters import LettersTask
from rnnlab.tasks.text import TextTask

TASKS: dict[str, Task] = {t.name: t for t in (LettersTask(), TextTask(), ForecastTask(), ClassifyTask())}

__all__ = ["TASKS", "ClassifyTask", "ForecastTask", "LettersTask", "RecurrentModelConfig", "RunConfig", "Task",
           "TaskData", "TextTask", "config_from_dict"]
