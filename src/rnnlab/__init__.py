"""rnnlab: recurrent neural networks in NumPy.

Correct to the last digit (every backward pass gradient-checked, every layer compared with
PyTorch), fast on a CPU, and pleasant to use. The public API:

- :mod:`rnnlab.nn`: layers (``Embedding``, ``Linear``, ``RNN``, ``LSTM``, ``GRU``) with PyTorch's
  names and shapes, and the inputs of their time-major interface (``SequenceInput``, ``TokenInput``);
- :mod:`rnnlab.functional`: the pure NumPy operations the layers are built from;
- :mod:`rnnlab.kernels`: which recurrent kernels run (NumPy's reference set or numba's fused one,
  ``use_kernels``), and :mod:`rnnlab.threads`: how many threads compute (``set_num_threads``);
- :mod:`rnnlab.models`: whole networks with fit / predict / save / load: ``NextTokenModel``,
  ``CharLM`` (text), ``SequenceClassifier``, ``Forecaster``;
- :mod:`rnnlab.optim`: SGD, Adam, AdamW, RMSprop, Adagrad and gradient clipping;
- :mod:`rnnlab.training`: the resumable ``Trainer``, ``TrainConfig`` and ``History``;
- :mod:`rnnlab.data` and :mod:`rnnlab.datasets`: vocabularies, batching, readers, the bundled data sets;
- :mod:`rnnlab.tasks` and :mod:`rnnlab.runs`: what ``rnnlab train`` trains, and its run folders;
- :mod:`rnnlab.gradcheck`: numerical gradient checking, for tests and for learning;
- :mod:`rnnlab.errors`: the exceptions (every one an ``RnnlabError``).

The names most scripts need are importable from ``rnnlab`` itself (``__all__``).
"""

from rnnlab import data, functional, gradcheck, kernels, models, nn, optim, training
from rnnlab._version import __version__
from rnnlab.data import LETTERS, Vocab, letter_task
from rnnlab.errors import (
    ConfigError,
    DataError,
    MissingDependency,
    ModelFileError,
    RnnlabError,
    ShapeError,
    TrainingDiverged,
    TrainingInterrupted,
    UnknownTokenError,
    WriteError,
)
from rnnlab.kernels import active_kernels, use_kernels
from rnnlab.models import CharLM, Forecaster, Model, NextTokenModel, SequenceClassifier, load_model
from rnnlab.threads import get_num_threads, set_num_threads
from rnnlab.training import History, TrainConfig, Trainer, fit

__all__ = [
    "LETTERS",
    "CharLM",
    "ConfigError",
    "DataError",
    "Forecaster",
    "History",
    "MissingDependency",
    "Model",
    "ModelFileError",
    "NextTokenModel",
    "RnnlabError",
    "SequenceClassifier",
    "ShapeError",
    "TrainConfig",
    "Trainer",
    "TrainingDiverged",
    "TrainingInterrupted",
    "UnknownTokenError",
    "Vocab",
    "WriteError",
    "__version__",
    "active_kernels",
    "data",
    "fit",
    "functional",
    "get_num_threads",
    "gradcheck",
    "kernels",
    "letter_task",
    "load_model",
    "models",
    "nn",
    "optim",
    "set_num_threads",
    "training",
    "use_kernels",
]
