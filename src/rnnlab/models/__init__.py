"""Whole networks for the tasks: :class:`NextTokenModel` (the notebook's task), :class:`CharLM`
(character-level language model), :class:`SequenceClassifier` and :class:`Forecaster`."""

from rnnlab.models.base import MODEL_TYPES, BatchResult, Model, load_model
from rnnlab.models.char_lm import CharLM
from rnnlab.models.classifier import SequenceClassifier
from rnnlab.models.forecaster import Forecaster
from rnnlab.models.next_token import NextTokenModel

__all__ = ["MODEL_TYPES", "BatchResult", "CharLM", "Forecaster", "Model", "NextTokenModel", "SequenceClassifier",
           "load_model"]
