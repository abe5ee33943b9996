"""rnnlab: recurrent neural networks in NumPy.

Correct to the last digit (every backward pass gradient-checked, every layer compared with
PyTorch), fast on a CPU, and pleasant to use. The public API:

- :mod:`rnnlab.nn`: layers (``Embedding``, ``Linear``, ``RNN``) with PyTorch's names and shapes;
- :mod:`rnnlab.functional`: the pure NumPy operations the layers are built from;
- :mod:`rnnlab.models`: whole networks (``NextTokenModel``) with fit / predict / save / load;
- :mod:`rnnlab.optim`: SGD, Adam and gradient clipping;
- :mod:`rnnlab.training`: the resumable ``Trainer``, ``TrainConfig`` and ``History``;
- :mod:`rnnlab.data`: vocabularies and the notebook's letter task;
- :mod:`rnnlab.gradcheck`: numerical gradient checking, for tests and for learning.
"""

from rnnlab import data, functional, gradcheck, models, nn, optim, training
from rnnlab._version import __version__
from rnnlab.data import LETTERS, Vocab, letter_task
from rnnlab.errors import (
    ConfigError,
    DataError,
    ModelFileError,
    RnnlabError,
    ShapeError,
    TrainingDiverged,
    TrainingInterrupted,
    UnknownTokenError,
)
from rnnlab.models import Model, NextTokenModel, load_model
from rnnlab.training import History, TrainConfig, Trainer, fit

__all__ = [
    "LETTERS",
    "ConfigError",
    "DataError",
    "History",
    "Model",
    "ModelFileError",
    "NextTokenModel",
    "RnnlabError",
    "ShapeError",
    "TrainConfig",
    "Trainer",
    "TrainingDiverged",
    "TrainingInterrupted",
    "UnknownTokenError",
    "Vocab",
    "__version__",
    "data",
    "fit",
    "functional",
    "gradcheck",
    "letter_task",
    "load_model",
    "models",
    "nn",
    "optim",
    "training",
]
