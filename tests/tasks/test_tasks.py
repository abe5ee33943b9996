"""Every task learns on a slice of its real data."""

import csv

from rnnlab import datasets
from rnnlab.cli import main


def _losses(run):
    with open(run / "history.csv", newline="") as f:
        return [float(r["train_loss"]) for r in csv.DictReader(f)]


def test_each_task_learns_on_a_slice_of_its_real_data(tmp_path, capsys):
    text = datasets.load_text("pride-and-prejudice")[:12_000]
    (tmp_path / "p.txt").write_text(text, encoding="utf-8")
    values, meta = datasets.load_series("sunspots", ["sunspots"])
    with open(tmp_path / "sun.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["date", "sunspots"])
        w.writerows([d, v] for d, v in zip(meta["dates"][:700], values[:700, 0], strict=True))
    (x, lengths, y), info = datasets.load_sequences("japanese-vowels", "train")
    lines = [f"@dimensions 12\n@classLabel true {' '.join(info['classes'])}\n@data\n"]
    for i in range(0, 270, 3):  # every third utterance: 90 of them, all 9 speakers
        seq = x[i, : lengths[i]]
        dims = ":".join(",".join(f"{v:.6f}" for v in seq[:, c]) for c in range(12))
        lines.append(f"{dims}:{info['classes'][y[i]]}\n")
    (tmp_path / "jv.ts").write_text("".join(lines))
    runs = {
        "text": ["text", str(tmp_path / "p.txt"), "--hidden-size", "32", "--embedding-dim", "8", "--num-layers", "1",
                 "--seq-len", "25", "--batch-size", "8", "--epochs", "3", "--lr", "0.01"],
        "forecast": ["forecast", str(tmp_path / "sun.csv"), "--window", "24", "--hidden-size", "8", "--epochs", "3",
                     "--season", "12"],
        "classify": ["classify", str(tmp_path / "jv.ts"), "--hidden-size", "16", "--epochs", "8"],
    }
    for name, args in runs.items():
        out = tmp_path / name
        assert main(["train", *args, "--quiet", "--no-plot", "--out", str(out)]) == 0, name
        losses = _losses(out)
        assert losses[-1] < losses[0], (name, losses)
    capsys.readouterr()
