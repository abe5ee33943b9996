"""Whole networks for the tasks. Today: :class:`NextTokenModel` (the notebook's task, text)."""

from rnnlab.models.base import MODEL_TYPES, Model, load_model
from rnnlab.models.next_token import NextTokenModel

__all__ = ["MODEL_TYPES", "Model", "NextTokenModel", "load_model"]
