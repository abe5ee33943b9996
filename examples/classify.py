"""Who is speaking? Classify JapaneseVowels utterances (9 speakers, 7-29 frames of 12 features).

Run it with:  .venv/bin/python examples/classify.py
"""

from rnnlab import datasets
from rnnlab.models import SequenceClassifier

(x, lengths, y), meta = datasets.load_sequences("japanese-vowels", "train")  # x (270, 26, 12), zero-padded
(xt, lt, yt), _ = datasets.load_sequences("japanese-vowels", "test")

model = SequenceClassifier(12, meta["classes"], cell="gru", hidden_size=64, bidirectional=True, rng=0)
model.fit_scaling(x, lengths)  # feature standardisation from the training data, saved with the model
model.fit(x, lengths, y, epochs=40, lr=3e-3, clip_norm=5.0, seed=0)

m = model.evaluate(xt, lt, yt)
print(f"test accuracy {m['accuracy']:.3f} on {len(yt)} utterances")
print("recall per speaker:", [round(r, 2) for r in m["recall"]])
for row in m["confusion"]:  # rows: true speaker, columns: predicted
    print(" ".join(f"{v:3d}" for v in row))
