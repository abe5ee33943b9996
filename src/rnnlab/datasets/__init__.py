"""The data sets bundled with rnnlab (no network needed), and their registry.

======================  =============================================================  ===============
name                    what                                                           loader
======================  =============================================================  ===============
pride-and-prejudice     Jane Austen's novel, 684,768 characters (text generation)      load_text
sunspots                monthly mean sunspot numbers 1749-2009, 3,126 months           load_series
co2                     weekly CO2 at Mauna Loa from 1958, 2,284 weeks, 59 missing      load_series
bike-hourly             Washington D.C. bike rentals 2011-2012, hourly, with weather    load_series
                        (17,379 hours; 165 hours missing)
bike-daily              the same, daily (731 days)                                     load_series
japanese-vowels         9 speakers, 12 LPC features, 7-29 steps; 270 train / 370 test  load_sequences
spoken-digits           480 spoken digits (FSDD subset), 6 speakers; 360 train / 120   load_audio
                        test, FLAC at 8 kHz
======================  =============================================================  ===============

``rnnlab datasets`` lists them with sizes and licences; ``NOTICE.md`` in the data folder
carries each file's attribution. Every loader also accepts a path to a file of your own in
the same format, and a registered name wherever a command takes a data file.

Example::

    >>> from rnnlab import datasets
    >>> text = datasets.load_text("pride-and-prejudice")
    >>> text[:19]
    'PRIDE AND PREJUDICE'
    >>> values, meta = datasets.load_series("sunspots", columns=["sunspots"])
    >>> values.shape, meta["columns"], meta["dates"][0]
    ((3126, 1), ['sunspots'], '1749-01')
    >>> (x, lengths, y), meta = datasets.load_sequences("japanese-vowels", split="train")
    >>> x.shape, int(lengths.min()), int(lengths.max()), meta["classes"][:3]
    ((270, 26, 12), 7, 26, ['1', '2', '3'])
    >>> (x, lengths, y), meta = datasets.load_audio("spoken-digits", split="test", cache=False, progress=False)
    >>> x.shape[0], x.shape[2], meta["classes"][:3], meta["features"]["sample_rate"]
    (120, 39, ['0', '1', '2'], 8000)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnlab.data.series import read_csv_series
from rnnlab.data.text import read_text
from rnnlab.data.ts import pad_sequences, read_ts
from rnnlab.errors import DataError

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Dataset:
    """One bundled data set: ``files`` (by split) inside :data:`DATA_DIR`, its kind and provenance."""

    name: str
    kind: str  # "text", "series", "sequences" or "audio" (a manifest beside its recordings)
    files: dict
    description: str
    licence: str
    source: str
    defaults: dict

    @property
    def paths(self) -> dict[str, Path]:
        """The files' full paths, by split."""
        return {split: DATA_DIR / f for split, f in self.files.items()}

    @property
    def size_bytes(self) -> int:
        """Total size of the bundled files (compressed, as stored; an audio set's recordings included)."""
        if self.kind == "audio":
            return sum(p.stat().st_size for m in self.paths.values() for p in m.parent.iterdir())
        return sum(p.stat().st_size for p in self.paths.values())

    def path(self, split: str = "all") -> Path:
        """The file of ``split`` ("all" for a single-file data set; "train" / "test" otherwise)."""
        if split not in self.files:
            raise DataError(f"data set {self.name!r} has splits {', '.join(self.files)}, not {split!r}")
        return self.paths[split]


BIKE_LICENCE = ("CC BY 4.0: H. Fanaee-T and J. Gama (2013), Event labeling combining ensemble detectors and "
                "background knowledge, Progress in Artificial Intelligence 2:113-127")

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset("pride-and-prejudice", "text", {"all": "pride_and_prejudice.txt.gz"},
                "Jane Austen, Pride and Prejudice: plain UTF-8 text, 684,768 characters, 75 distinct",
                "novel: public domain; packaging (R package janeaustenr by Julia Silge): MIT",
                "Debian package r-cran-janeaustenr 1.0.0-1", {}),
        Dataset("sunspots", "series", {"all": "sunspots_monthly.csv"},
                "monthly mean sunspot numbers, 1749-01 to 2009-06 (3,126 months; columns year, month, sunspots)",
                "public domain", "NOAA National Geophysical Data Center, via statsmodels 0.15.0",
                {"column": "sunspots", "season": 132}),
        Dataset("co2", "series", {"all": "co2_weekly.csv"},
                "weekly atmospheric CO2 at Mauna Loa in ppm, from 1958-03-29 (2,284 weeks, 59 missing)",
                "public domain", "statsmodels 0.15.0 (datasets/co2)", {"column": "co2", "season": 52}),
        Dataset("bike-hourly", "series", {"all": "bike_sharing_hourly.csv.gz"},
                "Capital Bikeshare rentals (Washington D.C.) per hour, 2011-2012: casual, registered and cnt, with "
                "calendar and weather columns (17,379 rows; the hours with no record are missing)",
                BIKE_LICENCE, "UCI Machine Learning Repository, Bike Sharing Dataset (hour.csv)",
                {"column": "cnt", "season": 24, "seasons": [168], "date_column": "dteday,hr"}),
        Dataset("bike-daily", "series", {"all": "bike_sharing_daily.csv.gz"},
                "Capital Bikeshare rentals (Washington D.C.) per day, 2011-2012, with calendar and weather columns "
                "(731 days)", BIKE_LICENCE, "UCI Machine Learning Repository, Bike Sharing Dataset (day.csv)",
                {"column": "cnt", "season": 7, "date_column": "dteday"}),
        Dataset("japanese-vowels", "sequences",
                {"train": "JapaneseVowels_TRAIN.ts.gz", "test": "JapaneseVowels_TEST.ts.gz"},
                "9 speakers saying a Japanese vowel: 12 LPC cepstrum coefficients a step, 7-29 steps; "
                "270 train / 370 test",
                "CC BY 4.0: M. Kudo, J. Toyama, M. Shimbo (1999), Multidimensional Curve Classification Using "
                "Passing-Through Regions, Pattern Recognition Letters 20(11-13):1103-1111",
                "UCI Machine Learning Repository, via aeon 1.6.0", {}),
        Dataset("spoken-digits", "audio", {"all": "spoken_digits/manifest.csv"},
                "spoken digits 0-9: 480 recordings of the Free Spoken Digit Dataset (6 speakers x 10 digits x "
                "takes 0-1 for test, 5-10 for training), mono FLAC at 8 kHz",
                "CC BY-SA 4.0: Free Spoken Digit Dataset (FSDD), Z. Jackson et al.",
                "github.com/Jakobovski/free-spoken-digit-dataset (converted from WAV to FLAC)", {}),
    )
}


def get(name: str) -> Dataset:
    """The bundled data set called ``name``; a DataError lists the known ones."""
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"no bundled data set called {name!r}; bundled: {', '.join(DATASETS)}") from None


def resolve(source, kind: str, split: str = "all") -> Path:
    """A file path from ``source``: a bundled data set's name (of this ``kind``) or a path."""
    if isinstance(source, str) and source in DATASETS:
        d = DATASETS[source]
        if d.kind != kind:
            raise DataError(f"{source!r} is a {d.kind} data set, not {kind}")
        return d.path(split)
    return Path(source)


def load_text(source) -> str:
    """A bundled text (by name) or any UTF-8 text file (``.gz`` too): the whole text as a str."""
    return read_text(resolve(source, "text"))


def load_series(source, columns=None, *, date_columns=None, date_format=None, missing: str = "error",
                gaps: str = "error"):
    """A bundled series (by name) or a CSV file: ``(values (T, C) float64, metadata)``.

    See :func:`rnnlab.data.series.read_csv_series` for the options; a bundled series' own date
    columns are used when ``date_columns`` is None (``dteday,hr`` for bike-hourly).
    """
    if date_columns is None and isinstance(source, str) and source in DATASETS:
        named = DATASETS[source].defaults.get("date_column")
        date_columns = named.split(",") if named else None
    return read_csv_series(resolve(source, "series"), columns, date_columns=date_columns, date_format=date_format,
                           missing=missing, gaps=gaps)


def load_sequences(source, split: str = "train"):
    """A bundled sequence-classification set (by name and split) or a ``.ts`` file.

    Returns ``((x (N, T_max, C), lengths (N,), labels (N,) int64), metadata)``; see
    :func:`rnnlab.data.ts.read_ts`.
    """
    seqs, labels, meta = read_ts(resolve(source, "sequences", split))
    x, lengths = pad_sequences(seqs)
    return (x, lengths, labels), meta


def load_audio(source, split: str = "all", *, label_from: str = "folder", features=None, cache: bool = True,
               progress: bool | None = None):
    """Labelled recordings as padded feature sequences: a bundled set (by name), a folder or a manifest.

    source: ``spoken-digits``, a folder (``label_from`` "folder": one subfolder per class, or
    "prefix": ``7_jackson_32.wav``) or a CSV manifest ``path,label[,split]``; split: "train" or
    "test" (a manifest's split column chooses; a source without one gives every recording), or
    "all"; features: an :class:`~rnnlab.data.audio_features.AudioFeatures` (default MFCC 13 +
    deltas, see docs/audio.md); cache and progress: see :func:`~rnnlab.data.audio_features.extract`.

    Returns ``((x (N, T_max, C) float32 zero-padded, lengths (N,), labels (N,) int64), metadata)``
    with ``classes`` (sorted names; labels index them), ``paths``, ``features`` (the settings as a
    dict, the sample rate decided), ``notes`` (mixed-down or resampled files), ``cached`` and
    ``seconds``.
    """
    from rnnlab.data.audio import find_recordings, select_split
    from rnnlab.data.audio_features import AudioFeatures, extract

    path = resolve(source, "audio")
    recordings = select_split(find_recordings(path, label_from), split)
    done = extract([r.path for r in recordings], features or AudioFeatures(), cache=cache, progress=progress)
    classes = sorted({r.label for r in recordings}, key=natural_key)
    index = {c: i for i, c in enumerate(classes)}
    x, lengths = pad_sequences(done.features, dtype=np.float32)
    labels = np.array([index[r.label] for r in recordings], dtype=np.int64)
    meta = {"classes": classes, "paths": [str(r.path) for r in recordings], "features": done.settings.to_dict(),
            "notes": done.notes(), "cached": done.cached, "seconds": done.seconds}
    return (x, lengths, labels), meta


def natural_key(name: str):
    """Sort class names as numbers where they all are numbers ("2" before "10")."""
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def listing() -> list[dict]:
    """One dict per bundled data set: name, kind, files, size in bytes, description, licence, source."""
    return [{"name": d.name, "kind": d.kind, "files": dict(d.files), "bytes": d.size_bytes,
             "description": d.description, "licence": d.licence, "source": d.source} for d in DATASETS.values()]


__all__ = ["DATASETS", "DATA_DIR", "Dataset", "get", "listing", "load_audio", "load_sequences", "load_series",
           "load_text", "resolve"]


@functools.lru_cache(maxsize=16)
def _read_cached(reader, path: str, mtime_ns: int, args: tuple):
    return reader(path, *args)


def read_once(reader, path, *args):
    """``reader(path, *args)``, read once while the file is unchanged (cached by its modification time).

    A command that asks for the same data several times (to train, then to report) reads the
    file once. The result is shared: callers copy what they change.
    """
    path = Path(path)
    mtime = path.stat().st_mtime_ns if path.exists() else -1
    return _read_cached(reader, str(path), mtime, tuple(args))
