"""Reading recordings: the three layouts, every refusal, librosa's features, resampling, mixing down, the cache."""

import numpy as np
import pytest

from audio_helpers import RATE, tone, write_tones
from rnnlab import datasets
from rnnlab.data.audio import find_recordings, read_audio, select_split
from rnnlab.data.audio_features import AudioFeatures, extract
from rnnlab.errors import ConfigError, DataError

soundfile = pytest.importorskip("soundfile", reason="audio needs soundfile: pip install 'rnnlab[audio]'")
librosa = pytest.importorskip("librosa", reason="audio needs librosa: pip install 'rnnlab[audio]'")


def test_a_folder_per_class(tmp_path):
    recordings = find_recordings(write_tones(tmp_path, "folder", per_class=3))
    assert [(r.path.relative_to(tmp_path).as_posix(), r.label) for r in recordings] == [
        ("high/0.wav", "high"), ("high/1.wav", "high"), ("high/2.wav", "high"),
        ("low/0.wav", "low"), ("low/1.wav", "low"), ("low/2.wav", "low")]


def test_labels_from_a_name_prefix(tmp_path):
    recordings = find_recordings(write_tones(tmp_path, "prefix", per_class=2, suffix=".flac"), "prefix")
    assert [(r.path.name, r.label) for r in recordings] == [
        ("high_0.flac", "high"), ("high_1.flac", "high"), ("low_0.flac", "low"), ("low_1.flac", "low")]


def test_a_manifest_with_splits(tmp_path):
    manifest = write_tones(tmp_path / "sub", "manifest", per_class=4)
    recordings = find_recordings(manifest)
    assert len(recordings) == 8 and all(r.path.is_file() for r in recordings)
    test = select_split(recordings, "test")
    assert sorted(r.path.name for r in test) == ["high_2.wav", "high_3.wav", "low_2.wav", "low_3.wav"]
    assert len(select_split(recordings, "train")) == 4 and len(select_split(recordings, "all")) == 8


def test_load_audio_pads_the_features_and_names_the_classes(tmp_path):
    (x, lengths, labels), meta = datasets.load_audio(write_tones(tmp_path, per_class=3), progress=False)
    settings = AudioFeatures()
    hop = round(settings.hop_ms * RATE / 1000)
    samples = [read_audio(p)[0] for p in meta["paths"]]
    assert meta["classes"] == ["high", "low"] and labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert lengths.tolist() == [1 + s.size // hop for s in samples]
    assert x.shape == (6, lengths.max(), 39) and x.dtype == np.float32
    for i, s in enumerate(samples):
        np.testing.assert_array_equal(x[i, : lengths[i]], settings.__class__(sample_rate=RATE).compute(s, RATE))
        assert not x[i, lengths[i] :].any()
    assert meta["features"]["sample_rate"] == RATE and meta["notes"] == []


def write(path, samples, rate=RATE):
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, samples, rate)
    return path


REFUSALS = {
    "corrupt": (lambda d: (write_tones(d), (d / "low" / "0.wav").write_bytes(b"RIFF not really a wave")),
                "low/0.wav: cannot read this recording"),
    "zero bytes": (lambda d: (write_tones(d), (d / "high" / "1.wav").write_bytes(b"")),
                   "high/1.wav: the file is empty"),
    "no samples": (lambda d: (write_tones(d), write(d / "high" / "9.wav", np.zeros(0, np.float32))),
                   "high/9.wav: the recording holds no samples"),
    "empty folder": (lambda d: (d / "nothing").mkdir(), "no recordings"),
    "loose files": (lambda d: write_tones(d, "prefix"), "give --label-from prefix"),
    "two rates": (lambda d: (write_tones(d), write(d / "low" / "x.wav", tone("low", 0.1, 16000), 16000)),
                  "give --sample-rate"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_bad_recordings_are_refused_naming_the_file(case, tmp_path):
    make, expected = REFUSALS[case]
    make(tmp_path)
    source = tmp_path / "nothing" if case == "empty folder" else tmp_path
    with pytest.raises(DataError, match="^.*" + expected.replace("/", ".")) as info:
        datasets.load_audio(source, progress=False, cache=False)
    assert str(tmp_path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("text, expected", [
    ("file,label\nx.wav,a\n", "line 1: a manifest's header names the columns path,label"),
    ("path,label\nmissing.wav,a\n", "line 2: .*missing.wav does not exist"),
    ("path,label,split\nlow/0.wav,low,dev\n", "line 2: split should be train or test, got 'dev'"),
    ("path,label\nlow/0.wav,\n", "line 2: every row needs a path and a label"),
    ("path,label\n", "the manifest lists no recordings"),
])
def test_bad_manifests_are_refused_naming_the_line(text, expected, tmp_path):
    write_tones(tmp_path)
    manifest = tmp_path / "labels.csv"
    manifest.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=expected):
        find_recordings(manifest)


def test_prefix_names_without_a_class_are_refused(tmp_path):
    write(tmp_path / "tone.wav", tone("low", 0.1))
    with pytest.raises(DataError, match=r"tone\.wav: with --label-from prefix a file is named <class>_<anything>"):
        find_recordings(tmp_path, "prefix")
    with pytest.raises(DataError, match="no such folder or manifest"):
        find_recordings(tmp_path / "absent")


@pytest.mark.parametrize("kind, rate, deltas", [("mfcc", 8000, 2), ("logmel", 16000, 1), ("mfcc", 22050, 0)])
def test_features_are_librosas_called_directly(kind, rate, deltas):
    y = tone("low", 0.3, rate, seed=1)
    s = AudioFeatures(features=kind, n_mels=32, n_mfcc=12, deltas=deltas, window_ms=30, hop_ms=15)
    n_fft, win, hop = s.frame(rate)
    assert (win, hop) == (round(0.03 * rate), round(0.015 * rate)) and n_fft >= win > n_fft // 2
    mel = dict(sr=rate, n_fft=n_fft, win_length=win, hop_length=hop, n_mels=32)
    base = (librosa.feature.mfcc(y=y, n_mfcc=12, **mel) if kind == "mfcc" else
            librosa.power_to_db(librosa.feature.melspectrogram(y=y, **mel)))
    expected = np.concatenate([base] + [librosa.feature.delta(base, width=9, order=k, mode="nearest")
                                        for k in range(1, deltas + 1)]).T
    got = s.compute(y, rate)
    assert got.shape == (1 + y.size // hop, s.size) == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


def test_settings_are_checked():
    with pytest.raises(ConfigError, match=r"n_mfcc \(20\) should be at most n_mels \(16\)"):
        AudioFeatures(n_mfcc=20, n_mels=16)
    with pytest.raises(ConfigError, match="features should be one of mfcc, logmel"):
        AudioFeatures(features="cqt")
    with pytest.raises(ConfigError, match=r"unknown \[audio\] option\(s\) n_fft"):
        AudioFeatures.from_dict({"n_fft": 512})
    assert AudioFeatures.from_dict(AudioFeatures(sample_rate=16000).to_dict()) == AudioFeatures(sample_rate=16000)


def test_stereo_is_mixed_down_and_other_rates_resampled(tmp_path):
    left, right = tone("low", 0.2, 16000, seed=2), tone("high", 0.2, 16000, seed=3)
    stereo = write(tmp_path / "stereo.wav", np.stack([left, right], axis=1), 16000)
    s = AudioFeatures(sample_rate=RATE)
    done = extract([stereo], s, cache=False, progress=False)
    mono = librosa.resample(soundfile.read(stereo, dtype="float32")[0].mean(axis=1), orig_sr=16000, target_sr=RATE)
    np.testing.assert_allclose(done.features[0], s.compute(mono, RATE), rtol=1e-5, atol=1e-4)
    assert done.notes() == ["1 recordings with several channels were mixed down to mono",
                            "1 recordings were resampled to 8000 Hz"]
    assert read_audio(stereo, RATE)[1:] == (RATE, 2)


def test_features_are_cached_by_content_and_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLAB_CACHE", str(tmp_path / "cache"))
    folder = write_tones(tmp_path / "data", per_class=3)
    paths = [r.path for r in find_recordings(folder)]
    first = extract(paths, AudioFeatures(), progress=False)
    again = extract(paths, AudioFeatures(), progress=False)
    assert (first.cached, again.cached) == (0, 6)
    for a, b in zip(first.features, again.features, strict=True):
        np.testing.assert_array_equal(a, b)
    write(paths[0], tone("high", 0.25, seed=9))  # an edited recording is recomputed, the others are not
    edited = extract(paths, AudioFeatures(), progress=False)
    assert edited.cached == 5 and edited.features[0].shape != first.features[0].shape
    assert extract(paths, AudioFeatures(n_mfcc=10), progress=False).cached == 0  # other settings, other entries
    assert len(list((tmp_path / "cache" / "audio-features").iterdir())) == 2


def test_a_folder_of_one_class_loads(tmp_path):
    write(tmp_path / "low" / "0.wav", tone("low", 0.1))
    (_, _, labels), meta = datasets.load_audio(tmp_path, progress=False, cache=False)
    assert meta["classes"] == ["low"] and labels.tolist() == [0]  # evaluating on it is fine; training is refused
