"""The classify task: variable-length multivariate sequences -> one class (many to one)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from rnnlab import datasets
from rnnlab.config import check_fields, option
from rnnlab.data.ts import pad_sequences, read_ts
from rnnlab.errors import ConfigError, DataError
from rnnlab.models.classifier import SequenceClassifier
from rnnlab.models.encoder import POOLINGS
from rnnlab.tasks.base import RecurrentModelConfig, RunConfig, Task, TaskData


@dataclass
class ClassifyData:
    """Which labelled sequences to train and test on."""

    file: str = option("japanese-vowels", "a labelled .ts file (sktime/aeon format) for training, or a bundled set's "
                       "name (rnnlab datasets)", positional=True)
    test_file: str = option("", "a .ts file for the test results (default: the bundled set's test split; none for a "
                            "file of your own)")
    val_fraction: float = option(0.15, "part of the training file held out for validation (stratified by class)",
                                 above=0.0, below=1.0)

    def __post_init__(self):
        check_fields(self)
        if not self.file:
            raise ConfigError("file should name a .ts file or a bundled data set")

    def test_source(self) -> str | None:
        if self.test_file:
            return self.test_file
        return self.file if self.file in datasets.DATASETS else None


@dataclass
class ClassifierConfig(RecurrentModelConfig):
    """A SequenceClassifier's architecture (input size, classes and scaling come from the data)."""

    cell: str = option("gru", "recurrent cell", choices=("rnn", "lstm", "gru"))
    bidirectional: bool = option(True, "read each sequence both ways")
    pooling: str = option("last", "features: the final state, or the mean output over valid steps", choices=POOLINGS)


def read_labelled(source, split: str):
    """``(x, lengths, labels, meta)`` from a bundled name (with its split) or a .ts file (read once)."""
    seqs, labels, meta = datasets.read_once(read_ts, datasets.resolve(source, "sequences", split))
    x, lengths = pad_sequences(seqs)
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
    description = "classify variable-length sequences from a .ts file: accuracy, confusion matrix"
    data_config = ClassifyData
    model_config = ClassifierConfig
    train_defaults: ClassVar[dict] = {"epochs": 60, "batch_size": 32, "lr": 3e-3, "clip_norm": 5.0}

    def prepare(self, config: RunConfig, rng_data, rng_val) -> TaskData:
        """The training file, split once into training and validation parts by ``rng_val``
        (stratified by class); the model's scaling is fitted on the training part."""
        d = config.data
        x, lengths, labels, meta = read_labelled(d.file, "train")
        present = sorted({meta["classes"][k] for k in np.unique(labels)})
        if len(present) < 2:
            raise DataError(f"{d.file}: every sequence carries the class {present[0]!r}: there is nothing to tell "
                            "apart; a classifier needs at least two classes")
        self.check_test_file(d, x.shape[2], meta["classes"])  # now, not after training
        tr, va = stratified_split(labels, d.val_fraction, rng_val)
        if len(va) == 0 or len(tr) == 0:
            raise DataError(f"{d.file} has too few sequences ({len(labels)}) to hold some out for validation")
        return TaskData((x[tr], lengths[tr], labels[tr]), (x[va], lengths[va], labels[va]), {"meta": meta})

    def data_files(self, config: RunConfig) -> list:
        d = config.data
        test = d.test_source()
        return [datasets.resolve(d.file, "sequences", "train")] + (
            [] if test is None else [datasets.resolve(test, "sequences", "test")])

    def build_model(self, config: RunConfig, data: TaskData, rng):
        x, lengths, _ = data.train
        model = SequenceClassifier(x.shape[2], data.info["meta"]["classes"], rng=rng, **vars(config.model))
        return model.fit_scaling(x, lengths)

    def check_test_file(self, data_cfg: ClassifyData, features: int, classes) -> None:
        """The test file must have the training file's features a step and only its classes."""
        source = data_cfg.test_source()
        if source is None:
            return
        x, _, labels, meta = read_labelled(source, "test")
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
        x, lengths, labels, meta = read_labelled(source, "test")
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
        print(f"sequences: {d.file}: {len(labels):,} for training (after holding out {d.val_fraction:.0%} "
              f"for validation), {x.shape[2]} features a step, {lengths.min()}-{lengths.max()} steps; "
              f"{len(np.unique(labels))} classes", file=out)
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
        from rnnlab.plot import plot_confusion

        test = self.test_data(config.data, model)
        if test is None:
            return []
        metrics = model.evaluate(*test)
        return [plot_confusion(metrics["confusion"], metrics["classes"], Path(folder) / "confusion.png",
                               title=f"{self.title(config)}: test accuracy {metrics['accuracy']:.3f}")]

    def evaluate_file(self, model, config: RunConfig, path, out) -> dict:
        x, lengths, labels, meta = read_labelled(str(path), "test")
        if x.shape[2] != model.input_size:
            raise DataError(f"{path} has {x.shape[2]} features a step; the model reads {model.input_size}")
        labels = self._relabel(labels, meta, model, path)
        metrics = model.evaluate(x, lengths, labels)
        self._print_metrics(f"{path} ({len(labels)} sequences)", metrics, out)
        return metrics
