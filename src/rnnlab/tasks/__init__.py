"""Tasks: what ``rnnlab train TASK`` trains. A task bundles its data, its model and its report.

Each task has three config dataclasses (data, model, train defaults) whose fields become the
command line's options; :mod:`rnnlab.runs` keeps a run's folder. The tasks: ``letters`` (the
notebook's task), ``text`` (character-level language model), ``forecast`` (time series) and
``classify`` (sequence classification).
"""

from rnnlab.tasks.base import Task, config_from_dict, dataclass_from_dict
from rnnlab.tasks.classify import ClassifyTask
from rnnlab.tasks.forecast import ForecastTask
from rnnlab.tasks.letters import LettersTask
from rnnlab.tasks.text import TextTask

TASKS: dict[str, Task] = {t.name: t for t in (LettersTask(), TextTask(), ForecastTask(), ClassifyTask())}

__all__ = ["TASKS", "ClassifyTask", "ForecastTask", "LettersTask", "Task", "TextTask", "config_from_dict",
           "dataclass_from_dict"]
