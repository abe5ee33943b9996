"""SequenceClassifier: variable-length sequences -> one class (many to one)."""

from __future__ import annotations

import numpy as np

from rnnlab._checks import check_int
from rnnlab.data.audio_features import AudioFeatures, extract
from rnnlab.data.ts import pad_sequences
from rnnlab.errors import ConfigError, DataError, ShapeError
from rnnlab.functional.activations import softmax
from rnnlab.functional.losses import softmax_cross_entropy
from rnnlab.models.base import BatchResult
from rnnlab.models.encoder import SequenceEncoder, check_values


class SequenceClassifier(SequenceEncoder):
    """Classify variable-length sequences: standardise -> RNN / LSTM / GRU -> last state or mean -> Linear.

    input_size: C features a step; classes: the class names (K of them), or their number;
    cell, hidden_size, num_layers, dropout: the encoder; bidirectional: read each sequence
    both ways (the features then hold both directions' final states); pooling: "last" (the
    final state) or "mean" (of the outputs over valid steps); mean, std: (C,) feature
    standardisation, saved with the model (:meth:`fit_scaling` sets them from training data);
    audio: for a model trained on recordings, the feature settings it reads (an
    :class:`~rnnlab.data.audio_features.AudioFeatures` or its dict, saved with the model) so that
    :meth:`predict_recordings` computes exactly the training features; proj_size: the LSTM's
    projection (0: none; see :class:`~rnnlab.nn.LSTM`); recurrent_dropout: on the state entering
    each recurrent product (see :class:`~rnnlab.nn.Recurrent`); layer_norm: the layer-normalised
    LSTM or GRU (see :mod:`rnnlab.functional.layer_norm`); dtype; rng: seed or
    Generator for the weights and dropout.

    Data: ``x`` (N, T, C) zero-padded, ``lengths`` (N,) the true lengths (or None: all T),
    ``labels`` (N,) class indices.

    Example::

        >>> import numpy as np
        >>> from rnnlab.models import SequenceClassifier
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal((60, 8, 2)); lengths = rng.integers(3, 9, 60)
        >>> y = (x[:, 0, 0] > 0).astype(int)  # the class is written at the first step
        >>> model = SequenceClassifier(2, ["neg", "pos"], hidden_size=8, bidirectional=True, rng=0)
        >>> history = model.fit(x, lengths, y, epochs=30, lr=0.02, seed=0, progress=False)
        >>> model.evaluate(x, lengths, y)["accuracy"] > 0.9
        True
    """

    def __init__(self, input_size: int, classes, *, cell: str = "lstm", hidden_size: int = 64, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, pooling: str = "last", mean=None, std=None,
                 audio=None, proj_size: int = 0, recurrent_dropout: float = 0.0, layer_norm: bool = False,
                 dtype=np.float32, rng=None):
        super().__init__()
        if isinstance(classes, int) and not isinstance(classes, bool):
            classes = [str(i) for i in range(check_int("classes", classes, minimum=2))]
        classes = [str(c) for c in classes]
        if len(classes) < 2 or len(set(classes)) != len(classes):
            raise ConfigError(f"classes should be at least two distinct names, got {classes!r}")
        self.classes = classes
        self.audio = None if audio is None else audio_settings(audio, input_size)
        self.build_encoder(input_size, len(classes), cell, hidden_size, num_layers, bidirectional, dropout, pooling,
                           mean, std, dtype, rng, proj_size, recurrent_dropout, layer_norm)
        self._last = None

    def get_config(self) -> dict:
        audio = {} if self.audio is None else {"audio": self.audio.to_dict()}
        return {"input_size": self.input_size, "classes": list(self.classes), **self.encoder_config(), **audio}

    @classmethod
    def parameter_shapes(cls, config: dict) -> dict[str, tuple]:
        classes = config.get("classes")
        if not isinstance(classes, list) or len(classes) < 2:
            raise ConfigError("the config's classes should be a list of at least two names")
        return cls.encoder_shapes(config, check_int("input_size", config.get("input_size")), len(classes))

    def describe(self) -> str:
        """A one-line summary of the architecture."""
        reads = "" if self.audio is None else f"audio ({self.audio.describe()}) -> "
        return f"{reads}{self.describe_encoder()} -> {len(self.classes)} classes"

    def fit_scaling(self, x, lengths=None) -> SequenceClassifier:
        """Set the feature standardisation from (training) sequences' valid steps; returns self."""
        x, lengths = self.check_inputs(x, lengths)
        valid = x.reshape(-1, x.shape[2]) if lengths is None else x[np.arange(x.shape[1])[None] < lengths[:, None]]
        check_values(valid, [f"feature {k}" for k in range(x.shape[2])], "the training sequences")
        self.set_scaling(valid)
        return self

    def check_data(self, x, lengths, labels):
        """Validate a data set: x (N, T, C), lengths (N,) or None, labels (N,) class indices."""
        x, lengths = self.check_inputs(x, lengths)
        labels = np.asarray(labels)
        K = len(self.classes)
        if labels.shape != (x.shape[0],) or labels.dtype.kind not in "iu":
            raise ShapeError(f"labels should be ({x.shape[0]},) integer class indices, got {labels.shape} "
                             f"{labels.dtype}")
        if labels.min() < 0 or labels.max() >= K:
            raise DataError(f"labels should be class indices in 0..{K - 1}, got {labels.min()} to {labels.max()}")
        if lengths is None:
            lengths = np.full(x.shape[0], x.shape[1], dtype=np.int64)
        return x, lengths, labels.astype(np.int64)

    def loss(self, x, lengths, labels) -> float:
        """Mean cross-entropy (nats); keeps what :meth:`backward` needs."""
        return self._loss(*self.check_data(x, lengths, labels))[0]

    def _loss(self, x, lengths, labels):
        scores = self.outputs(x, lengths)
        loss, dscores = softmax_cross_entropy(scores, labels)
        self._last = dscores.astype(self.dtype)
        return loss, int((scores.argmax(axis=1) == labels).sum())

    def train_batch(self, x, lengths, labels) -> BatchResult:
        """One forward and backward pass on validated data (see :meth:`check_data`)."""
        loss, correct = self._loss(x, lengths, labels)
        self.backward()
        return BatchResult(loss, correct, x.shape[0])

    def predict_proba(self, x, lengths=None) -> np.ndarray:
        """Class probabilities (N, K), in evaluation mode."""
        x, lengths = self.check_inputs(x, lengths)
        return self.batched(lambda a, b: softmax(self.outputs(a, b).astype(np.float64), axis=1), x, lengths)

    def predict_recordings(self, paths, progress: bool | None = False) -> np.ndarray:
        """Class probabilities (N, K) of N audio files, their features computed with the model's
        own settings (resampled to its sample rate; see :attr:`audio`)."""
        if self.audio is None:
            raise ConfigError("this classifier was trained on precomputed sequences, not on recordings: give it "
                              "(N, T, C) features (predict_proba)")
        done = extract(paths, self.audio, cache=False, progress=progress)
        x, lengths = pad_sequences(done.features, dtype=np.float32)
        return self.predict_proba(x, lengths)

    def predict(self, x, lengths=None) -> np.ndarray:
        """The most likely class index of every sequence, (N,) int64 (names: ``model.classes[i]``)."""
        return self.predict_proba(x, lengths).argmax(axis=1)

    def evaluate(self, x, lengths, labels) -> dict:
        """Loss, accuracy, confusion matrix (rows: true class, columns: predicted) and per-class
        precision and recall (None for a class never predicted / never present)."""
        x, lengths, labels = self.check_data(x, lengths, labels)
        probs = self.predict_proba(x, lengths)
        pred = probs.argmax(axis=1)
        K = len(self.classes)
        confusion = np.zeros((K, K), dtype=np.int64)
        np.add.at(confusion, (labels, pred), 1)
        tp = np.diag(confusion)
        precision = [float(tp[k] / confusion[:, k].sum()) if confusion[:, k].sum() else None for k in range(K)]
        recall = [float(tp[k] / confusion[k].sum()) if confusion[k].sum() else None for k in range(K)]
        nll = -np.log(np.maximum(probs[np.arange(len(labels)), labels], np.finfo(np.float64).tiny))
        return {"loss": float(nll.mean()), "accuracy": float((pred == labels).mean()),
                "confusion": confusion.tolist(), "precision": precision, "recall": recall,
                "classes": list(self.classes)}


def audio_settings(audio, input_size: int) -> AudioFeatures:
    """The feature settings of a model trained on recordings, checked against its input size."""
    settings = audio if isinstance(audio, AudioFeatures) else AudioFeatures.from_dict(audio)
    if settings.sample_rate is None:
        raise ConfigError("the audio feature settings should name the sample rate the model was trained at")
    if settings.size != input_size:
        raise ConfigError(f"the audio feature settings give {settings.size} features a frame; the model reads "
                          f"{input_size}")
    return settings
