"""Data: vocabularies and the built-in data sets (the notebook's letter task)."""

from rnnlab.data.letters import LETTERS, VARIANTS, format_samples, letter_sequences, letter_task
from rnnlab.data.vocab import Vocab

__all__ = ["LETTERS", "VARIANTS", "Vocab", "format_samples", "letter_sequences", "letter_task"]
