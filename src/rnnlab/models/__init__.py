"""Whole networks for the tasks: :class:`NextTokenModel` (the notebook's task), :class:`CharLM`
(character-level language model), :class:`SequenceClassifier` and :class:`Forecaster`."""

from rnnlab.models.base import MODEL_TYPES, Model, load_model
from rnnlab.models.char_lm import CharLM
from rnnlab.models.next_token import NextTokenModel
from rnnlab.models.sequence import Forecaster, SequenceClassifier

__all__ = ["MODEL_TYPES", "CharLM", "Forecaster", "Model", "NextTokenModel", "SequenceClassifier", "load_model"]
