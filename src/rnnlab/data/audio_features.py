"""Per-frame audio features (log-mel spectrogram or MFCC, with deltas), computed by librosa, cached on disk.

:class:`AudioFeatures` holds the settings; a model trained on recordings keeps them (as a
dict) so that ``predict`` computes exactly the training features. The features of a frame
are librosa's, called as documented (and as the tests call it directly):

- ``logmel``: ``librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=rate, n_fft=n_fft,
  win_length=window, hop_length=hop, n_mels=n_mels))``: decibels, floored 80 dB below the
  recording's loudest frame (librosa's default ``top_db``);
- ``mfcc``: ``librosa.feature.mfcc(y=y, sr=rate, n_mfcc=n_mfcc, n_fft=n_fft, win_length=window,
  hop_length=hop, n_mels=n_mels)`` (the DCT of the same log-mel spectrogram);
- ``deltas`` 1 or 2 append ``librosa.feature.delta(..., order=k, width=9, mode="nearest")``
  (``nearest`` because it is defined for recordings shorter than nine frames too).

The window and hop are given in milliseconds (``window = round(window_ms * rate / 1000)``
samples); ``n_fft`` is the next power of two of the window. Frames are centred (librosa's
default), so a recording of S samples gives ``1 + S // hop`` frames.

The cache: one ``.npy`` per recording under ``<cache>/audio-features/<settings key>/``, named by
the SHA-256 of the file's bytes, so an edited recording is recomputed and a renamed one is not.
``<cache>`` is ``$RNNLAB_CACHE``, else ``$XDG_CACHE_HOME/rnnlab``, else ``~/.cache/rnnlab``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from rnnlab.config import check_fields, from_dict, option
from rnnlab.data.audio import common_rate, decode, file_bytes, librosa_module, probe, to_mono
from rnnlab.errors import ConfigError, WriteError
from rnnlab.io import atomic_write

FEATURE_KINDS = ("mfcc", "logmel")
DELTA_WIDTH = 9
CACHE_VERSION = 1  # bump when the way features are computed changes


@dataclass
class AudioFeatures:
    """How a recording becomes a (T, C) sequence (see the module docstring for the exact calls).

    features: "mfcc" or "logmel"; sample_rate: the rate every recording is resampled to (None:
    the files' own, when they agree); n_mels: mel bands; n_mfcc: cepstral coefficients (MFCC
    only); deltas: 0, 1 (first differences) or 2 (and second); window_ms, hop_ms: the frame's
    length and step. C = (n_mfcc or n_mels) * (1 + deltas).
    """

    features: str = option("mfcc", "audio: per-frame features", choices=FEATURE_KINDS)
    sample_rate: int | None = option(None, "audio: resample every recording to this rate in Hz (default: the "
                                     "files' own, when they agree)", minimum=1000, zero_means_none=True)
    n_mels: int = option(40, "audio: mel bands", minimum=1, maximum=512)
    n_mfcc: int = option(13, "audio: MFCC coefficients (with --features mfcc)", minimum=1, maximum=512)
    deltas: int = option(2, "audio: append the first (1) or the first and second (2) time derivatives",
                         choices=(0, 1, 2))
    window_ms: float = option(25.0, "audio: frame length in milliseconds", above=0.0, maximum=1000.0)
    hop_ms: float = option(10.0, "audio: frame step in milliseconds", above=0.0, maximum=1000.0)

    def __post_init__(self):
        check_fields(self)
        if self.features == "mfcc" and self.n_mfcc > self.n_mels:
            raise ConfigError(f"n_mfcc ({self.n_mfcc}) should be at most n_mels ({self.n_mels}): the MFCCs are "
                              "the DCT of the mel bands")

    @classmethod
    def from_dict(cls, values) -> AudioFeatures:
        """Settings from :meth:`to_dict` output (e.g. a model file's); a ConfigError names a bad entry."""
        return from_dict(cls, values, "audio")

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def size(self) -> int:
        """C, the features a frame."""
        return (self.n_mfcc if self.features == "mfcc" else self.n_mels) * (1 + self.deltas)

    def frame(self, rate: int) -> tuple[int, int, int]:
        """``(n_fft, window, hop)`` in samples at ``rate``."""
        window = max(1, round(self.window_ms * rate / 1000))
        hop = max(1, round(self.hop_ms * rate / 1000))
        return 1 << (window - 1).bit_length(), window, hop

    def describe(self) -> str:
        """``MFCC 13 + 2 deltas, 25 ms / 10 ms frames at 8000 Hz``."""
        base = f"MFCC {self.n_mfcc}" if self.features == "mfcc" else f"log-mel {self.n_mels}"
        deltas = {0: "", 1: " + deltas", 2: " + deltas + delta-deltas"}[self.deltas]
        rate = f" at {self.sample_rate} Hz" if self.sample_rate else ""
        return f"{base}{deltas}, {self.window_ms:g} ms / {self.hop_ms:g} ms frames{rate}"

    def log_mel(self, samples: np.ndarray, rate: int) -> np.ndarray:
        """(n_mels, T) log-mel spectrogram in dB of (S,) mono samples (what the plots draw too)."""
        librosa = librosa_module()
        n_fft, window, hop = self.frame(rate)
        mel = librosa.feature.melspectrogram(y=samples, sr=rate, n_fft=n_fft, win_length=window, hop_length=hop,
                                             n_mels=self.n_mels)
        return librosa.power_to_db(mel)

    def compute(self, samples: np.ndarray, rate: int) -> np.ndarray:
        """(T, C) float32 features of (S,) mono samples at ``rate``."""
        librosa = librosa_module()
        base = self.log_mel(samples, rate)
        if self.features == "mfcc":
            base = librosa.feature.mfcc(S=base, n_mfcc=self.n_mfcc)
        parts = [base] + [librosa.feature.delta(base, width=DELTA_WIDTH, order=k, mode="nearest")
                          for k in range(1, self.deltas + 1)]
        return np.ascontiguousarray(np.concatenate(parts, axis=0).T, dtype=np.float32)

    def key(self) -> str:
        """A short name for these settings (and librosa's version) in the cache."""
        text = json.dumps({**self.to_dict(), "librosa": librosa_module().__version__, "v": CACHE_VERSION},
                          sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_root() -> Path:
    """Where rnnlab caches what it computed: $RNNLAB_CACHE, $XDG_CACHE_HOME/rnnlab or ~/.cache/rnnlab."""
    if os.environ.get("RNNLAB_CACHE"):
        return Path(os.environ["RNNLAB_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rnnlab"


@dataclass
class Extracted:
    """What :func:`extract` computed: one (T_i, C) float32 array per recording, the settings with
    the sample rate decided, how many came from the cache, how many files had several channels or
    another rate, and the seconds it took."""

    features: list
    settings: AudioFeatures
    cached: int
    mixed_down: int
    resampled: int
    seconds: float

    def notes(self) -> list[str]:
        """What the user should hear about: mixed-down and resampled recordings."""
        out = []
        if self.mixed_down:
            out.append(f"{self.mixed_down} recordings with several channels were mixed down to mono")
        if self.resampled:
            out.append(f"{self.resampled} recordings were resampled to {self.settings.sample_rate} Hz")
        return out


def features_of(data: bytes, path, settings: AudioFeatures) -> np.ndarray:
    """(T, C) features of one recording's bytes, at ``settings.sample_rate`` (which must be set)."""
    samples, rate = decode(data, path)
    return settings.compute(to_mono(samples, rate, settings.sample_rate), settings.sample_rate)


def extract(paths, settings: AudioFeatures, *, cache: bool = True, progress: bool | None = None) -> Extracted:
    """The features of every recording in ``paths`` (see :class:`Extracted`), read from the cache
    where it has them; a progress bar while computing (``progress`` None: on a terminal)."""
    start = time.perf_counter()
    paths = [Path(p) for p in paths]
    probes = probe(paths)
    if settings.sample_rate is None:
        settings = AudioFeatures(**{**settings.to_dict(), "sample_rate": common_rate(paths, probes)})
    folder = cache_root() / "audio-features" / settings.key()
    out, cached = [], 0
    bar = paths if progress is False else tqdm(paths, desc="audio features", unit="file", leave=False,
                                               disable=False if progress else None)
    for p in bar:
        data = file_bytes(p)
        entry = folder / (hashlib.sha256(data).hexdigest() + ".npy")
        if cache and entry.is_file():
            out.append(np.load(entry, allow_pickle=False))
            cached += 1
            continue
        out.append(features_of(data, p, settings))
        if cache:
            save_entry(entry, out[-1])
    mixed = sum(channels > 1 for _, channels in probes)
    resampled = sum(rate != settings.sample_rate for rate, _ in probes)
    return Extracted(out, settings, cached, mixed, resampled, time.perf_counter() - start)


def save_entry(path: Path, features: np.ndarray) -> None:
    """One cache entry, written atomically; a cache that cannot be written is skipped (it only saves time)."""
    try:
        atomic_write(path, lambda f: np.save(f, features, allow_pickle=False))
    except WriteError:
        pass
