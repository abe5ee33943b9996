"""Tasks: what ``rnnlab train TASK`` trains. A task bundles its data, its model and its report.

Each task has three config dataclasses (data, model, train defaults) whose fields become the
command line's options; :mod:`rnnlab.runs` keeps a run's folder. Today: ``letters`` (the
notebook's task).
"""

from rnnlab.tasks.base import Task, config_from_dict, dataclass_from_dict
from rnnlab.tasks.letters import LettersTask

TASKS: dict[str, Task] = {t.name: t for t in (LettersTask(),)}

__all__ = ["TASKS", "LettersTask", "Task", "config_from_dict", "dataclass_from_dict"]
