"""The classify task: variable-length multivariate sequences -> one class (many to one)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import ClassVar

import numpy as np

from rnnlab import datasets
from rnnlab.config import option
from rnnlab.data.audio import LABEL_SOURCES, find_recordings, has_test_split, read_audio
from rnnlab.data.audio_features import AudioFeatures
from rnnlab.data.ts import pad_sequences, read_ts
from rnnlab.errors import ConfigError, DataError
from rnnlab.models.classifier import SequenceClassifier
from rnnlab.models.encoder import POOLINGS
from rnnlab.tasks.base import RecurrentModelConfig, RunConfig, Task, TaskData


@dataclass
class ClassifyData(AudioFeatures):
    """Which labelled sequences to train and test on: a .ts file, or recordings (with ``audio``,
    whose features the inherited :class:`~rnnlab.data.audio_features.AudioFeatures` fields set)."""

    file: str = option("japanese-vowels", "a labelled .ts file (sktime/aeon format), or with --audio a folder of "
                       "recordings or a CSV manifest, or a bundled set's name (rnnlab datasets)", positional=True)
    test_file: str = option("", "a .ts file (with --audio: a folder or manifest) for the test results (default: the "
                            "bundled set's test split, or a manifest's test rows; else none)")
    val_fraction: float = option(0.15, "part of the training file held out for validation (stratified by class)",
                                 above=0.0, below=1.0)
    audio: bool = option(False, "the data are recordings (WAV, FLAC, OGG): features are computed from them")
    label_from: str = option("folder", "audio: a recording's class is its subfolder's name, or its file name up to "
                             "the first _ (7_jackson_32.wav)", choices=LABEL_SOURCES)

    def __post_init__(self):
        super().__post_init__()
        if not self.file:
            raise ConfigError("file should name a .ts file, a folder of recordings or a bundled data set")
        bundled = datasets.DATASETS.get(self.file)
        if bundled is not None and (bundled.kind == "audio") != self.audio:
            raise ConfigError(f"{self.file} is a set of recordings: add --audio" if self.audio is False else
                              f"{self.file} is not a set of recordings: leave out --audio")

    def test_source(self) -> str | None:
        if self.test_file:
            return self.test_file
        if self.file in datasets.DATASETS:
            return self.file
        return self.file if self.audio and has_test_split(self.file) else None

    def feature_settings(self) -> AudioFeatures:
        """The audio feature settings these options give (the sample rate may still be undecided)."""
        return AudioFeatures(**{f.name: getattr(self, f.name) for f in fields(AudioFeatures)})


@dataclass
class ClassifierConfig(RecurrentModelConfig):
    """A SequenceClassifier's architecture (input size, classes and scaling come from the data)."""

    cell: str = option("gru", "recurrent cell", choices=("rnn", "lstm", "gru"))
    bidirectional: bool = option(True, "read each sequence both ways")
    pooling: str = option("last", "features: the final state, or the mean output over valid steps", choices=POOLINGS)


def read_labelled(source, split: str, d: ClassifyData | None = None, settings: AudioFeatures | None = None):
    """``(x, lengths, labels, meta)`` from a bundled name (with its split) or a .ts file; with
    ``d.audio``, from recordings, their features computed with ``settings`` (default: d's). Read once."""
    if d is not None and d.audio:
        settings = settings or d.feature_settings()
        return datasets.read_once(read_recordings, datasets.resolve(source, "audio"), split, d.label_from,
                                  tuple(settings.to_dict().items()))
    seqs, labels, meta = datasets.read_once(read_ts, datasets.resolve(source, "sequences", split))
    x, lengths = pad_sequences(seqs)
    return x, lengths, labels, meta


def read_recordings(path, split: str, label_from: str, settings: tuple):
    """:func:`~rnnlab.datasets.load_audio` as ``(x, lengths, labels, meta)`` (settings as items, for read_once)."""
    (x, lengths, labels), meta = datasets.load_audio(path, split, label_from=label_from,
                                                     features=AudioFeatures(**dict(settings)))
    return x, lengths, labels, meta


def stratified_split(labels, fraction: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """``(train_idx, val_idx)``: about ``fraction`` of each class held out (at least one of any class
    with two or more samples), chosen by ``rng``; both sorted."""
    val = []
    for k in np.unique(labels):
        idx = np.flatnonzero(labels == k)
        n = round(len(idx) * fraction)
        n = min(max(n, 1 if len(idx) > 1 else 0), len(idx) - 1)
        val.extend(rng.permutation(idx)[:n].tolist())
    val = np.sort(np.array(val, dtype=np.int64))
    return np.setdiff1d(np.arange(len(labels)), val), val


class ClassifyTask(Task):
    """Sequence classification (see :class:`~rnnlab.models.SequenceClassifier`)."""

    name = "classify"
    description = "classify variable-length sequences (a .ts file, or recordings with --audio): accuracy, confusion"
    data_config = ClassifyData
    model_config = ClassifierConfig
    train_defaults: ClassVar[dict] = {"epochs": 60, "batch_size": 32, "lr": 3e-3, "clip_norm": 5.0}

    def prepare(self, config: RunConfig, rng_data, rng_val) -> TaskData:
        """The training file, split once into training and validation parts by ``rng_val``
        (stratified by class); the model's scaling is fitted on the training part."""
        d = config.data
        x, lengths, labels, meta = read_labelled(d.file, "train", d)
        present = sorted({meta["classes"][k] for k in np.unique(labels)})
        if len(present) < 2:
            raise DataError(f"{d.file}: every sequence carries the class {present[0]!r}: there is nothing to tell "
                            "apart; a classifier needs at least two classes")
        self.check_test_file(d, x.shape[2], meta)  # now, not after training
        tr, va = stratified_split(labels, d.val_fraction, rng_val)
        if len(va) == 0 or len(tr) == 0:
            raise DataError(f"{d.file} has too few sequences ({len(labels)}) to hold some out for validation")
        return TaskData((x[tr], lengths[tr], labels[tr]), (x[va], lengths[va], labels[va]), {"meta": meta})

    def data_files(self, config: RunConfig) -> list:
        d = config.data
        test = d.test_source()
        if d.audio:  # the manifests and every recording: a changed recording is noticed
            sources = {datasets.resolve(s, "audio") for s in (d.file, test) if s is not None}
            return sorted({*(p for p in sources if p.is_file()),
                           *(r.path for s in sources for r in find_recordings(s, d.label_from))})
        return [datasets.resolve(d.file, "sequences", "train")] + (
            [] if test is None else [datasets.resolve(test, "sequences", "test")])

    def build_model(self, config: RunConfig, data: TaskData, rng):
        x, lengths, _ = data.train
        meta = data.info["meta"]
        audio = meta["features"] if config.data.audio else None
        model = SequenceClassifier(x.shape[2], meta["classes"], audio=audio, rng=rng, **vars(config.model))
        return model.fit_scaling(x, lengths)

    def check_test_file(self, data_cfg: ClassifyData, features: int, train_meta: dict) -> None:
        """The test file must have the training file's features a step and only its classes (its
        recordings' features are computed at the training recordings' sample rate)."""
        source = data_cfg.test_source()
        if source is None:
            return
        settings = AudioFeatures.from_dict(train_meta["features"]) if data_cfg.audio else None
        x, _, labels, meta = read_labelled(source, "test", data_cfg, settings)
        classes = train_meta["classes"]
        if x.shape[2] != features:
            raise DataError(f"{source} has {x.shape[2]} features a step; the training file {data_cfg.file} has "
                            f"{features}")
        unknown = sorted({meta["classes"][k] for k in np.unique(labels)} - set(classes))
        if unknown:
            raise DataError(f"{source} has classes the training file {data_cfg.file} has not: {', '.join(unknown)}")

    def test_data(self, data_cfg: ClassifyData, model=None):
        """``(x, lengths, labels)`` of the test file (labels mapped to the model's classes), or None."""
        source = data_cfg.test_source()
        if source is None:
            return None
        x, lengths, labels, meta = read_labelled(source, "test", data_cfg, getattr(model, "audio", None))
        if model is not None:
            labels = self._relabel(labels, meta, model, source)
        return x, lengths, labels

    @staticmethod
    def _relabel(labels, meta, model, source):
        index = {c: i for i, c in enumerate(model.classes)}
        unknown = sorted(set(meta["classes"][k] for k in np.unique(labels)) - set(index))
        if unknown:
            raise DataError(f"{source} has classes the model was not trained on: {', '.join(unknown)}")
        return np.array([index[meta["classes"][k]] for k in labels], dtype=np.int64)

    def intro(self, config: RunConfig, data: TaskData, out) -> None:
        d = config.data
        x, lengths, labels = data.train
        print(f"{'recordings' if d.audio else 'sequences'}: {d.file}: {len(labels):,} for training (after holding "
              f"out {d.val_fraction:.0%} for validation), {x.shape[2]} features a step, {lengths.min()}-"
              f"{lengths.max()} steps; {len(np.unique(labels))} classes", file=out)
        meta = data.info["meta"]
        if d.audio:
            features = AudioFeatures.from_dict(meta["features"])
            print(f"features: {features.describe()}: {meta['seconds']:.1f} s for {len(meta['paths']):,} recordings "
                  f"({meta['cached']:,} from the cache)", file=out)
            for note in meta["notes"]:
                print(f"note: {note}", file=out)
        source = d.test_source()
        print(f"test set: {source if source else 'none (give --test-file)'}", file=out)

    def title(self, config: RunConfig) -> str:
        m = config.model
        bi = "bidirectional " if m.bidirectional else ""
        return f"{bi}{m.cell.upper()} classifier on {Path(config.data.file).name}"

    def _print_metrics(self, name, metrics, out) -> None:
        classes = metrics["classes"]
        print(f"{name}: accuracy {metrics['accuracy']:.4f}, cross-entropy {metrics['loss']:.4f} nats", file=out)
        width = max(5, *(len(c) for c in classes)) + 1
        print("  confusion matrix (rows: true class, columns: predicted):", file=out)
        print("  " + " " * width + "".join(f"{c:>{width}}" for c in classes), file=out)
        for c, row in zip(classes, metrics["confusion"], strict=True):
            print(f"  {c:>{width}}" + "".join(f"{v:>{width}}" for v in row), file=out)
        print(f"  {'class':>{width}}{'precision':>11}{'recall':>9}", file=out)
        for c, p, r in zip(classes, metrics["precision"], metrics["recall"], strict=True):
            fp = "-" if p is None else f"{p:.3f}"
            fr = "-" if r is None else f"{r:.3f}"
            print(f"  {c:>{width}}{fp:>11}{fr:>9}", file=out)

    def report(self, model, config: RunConfig, validation, out) -> dict:
        d = config.data
        results = {"validation": model.evaluate(*validation)}
        print(f"validation: accuracy {results['validation']['accuracy']:.4f} ({len(validation[2])} sequences)",
              file=out)
        test = self.test_data(d, model)
        if test is not None:
            results["test"] = model.evaluate(*test)
            self._print_metrics(f"test ({len(test[2])} sequences from {d.test_source()})", results["test"], out)
        return results

    def plots(self, model, config: RunConfig, folder) -> list:
        from rnnlab.plot import plot_confusion, plot_spectrograms

        test = self.test_data(config.data, model)
        if test is None:
            return []
        metrics = model.evaluate(*test)
        written = [plot_confusion(metrics["confusion"], metrics["classes"], Path(folder) / "confusion.png",
                                  title=f"{self.title(config)}: test accuracy {metrics['accuracy']:.3f}")]
        if model.audio is not None:
            examples = self.spectrogram_examples(model, config)
            written.append(plot_spectrograms(examples, Path(folder) / "spectrograms.png",
                                             title=f"test recordings: {model.audio.describe()}"))
        return written

    def spectrogram_examples(self, model, config: RunConfig, count: int = 6) -> list[dict]:
        """A few test recordings (the first of each class, up to ``count``) with their log-mel
        spectrograms (n_mels, T) in dB, true and predicted classes."""
        source = config.data.test_source()
        x, lengths, labels, meta = read_labelled(source, "test", config.data, model.audio)
        labels = self._relabel(labels, meta, model, source)
        first = sorted({int(k): i for i, k in reversed(list(enumerate(labels)))}.values())[:count]
        predicted = model.predict(x[first], lengths[first])
        examples = []
        for i, guess in zip(first, predicted, strict=True):
            samples, rate, _ = read_audio(meta["paths"][i], model.audio.sample_rate)
            examples.append({"name": Path(meta["paths"][i]).name, "spectrogram": model.audio.log_mel(samples, rate),
                             "hop_s": model.audio.hop_ms / 1000, "true": model.classes[labels[i]],
                             "predicted": model.classes[guess]})
        return examples

    def evaluate_file(self, model, config: RunConfig, path, out) -> dict:
        x, lengths, labels, meta = read_labelled(str(path), "test", config.data, model.audio)
        if x.shape[2] != model.input_size:
            raise DataError(f"{path} has {x.shape[2]} features a step; the model reads {model.input_size}")
        labels = self._relabel(labels, meta, model, path)
        metrics = model.evaluate(x, lengths, labels)
        self._print_metrics(f"{path} ({len(labels)} sequences)", metrics, out)
        return metrics
