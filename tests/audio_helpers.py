"""Tiny recordings the audio tests write themselves: sine tones, low against high, a learnable two-class problem."""

import zlib
from pathlib import Path

import numpy as np

RATE = 8000
PITCH = {"low": 300.0, "high": 1800.0}


def tone(label: str, seconds: float, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """(S,) float32 samples: the class's pitch with a random phase, a fade in and out, and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.02)
    wave = 0.5 * np.sin(2 * np.pi * PITCH[label] * t + rng.uniform(0, 2 * np.pi)) * fade
    return (wave + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def write_tones(folder, layout: str = "folder", per_class: int = 8, rate: int = RATE, suffix: str = ".wav"):
    """Write ``per_class`` recordings of each class into ``folder`` ("folder": low/3.wav; "prefix":
    low_3.wav; "manifest": files plus labels.csv whose last two a class are the test split).
    Returns the folder, or the manifest's path."""
    import soundfile

    folder = Path(folder)
    rows = []
    for label in PITCH:
        for i in range(per_class):
            samples = tone(label, 0.08 + 0.02 * (i % 5), rate, seed=zlib.crc32(f"{label}{i}".encode()))
            name = f"{label}/{i}{suffix}" if layout == "folder" else f"{label}_{i}{suffix}"
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            soundfile.write(path, samples, rate)
            rows.append(f"{name},{label},{'test' if i >= per_class - 2 else 'train'}")
    if layout != "manifest":
        return folder
    manifest = folder / "labels.csv"
    manifest.write_text("path,label,split\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return manifest
