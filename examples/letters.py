"""The notebook's task in twenty lines: train an RNN on letter sequences and ask it for the next letter.

Run it with:  .venv/bin/python examples/letters.py
"""

import rnnlab
from rnnlab.data import LETTERS, format_samples, letter_task

x, y = letter_task(1000, rng=0)  # (1000, 5) letter ids; y is x shifted by one
x_val, y_val = letter_task(1000, rng=1)  # held-out sequences
print(format_samples(x, y, n=3))

model = rnnlab.NextTokenModel(LETTERS, hidden_size=50, rng=0)
model.fit(x, y, validation=(x_val, y_val), epochs=200, lr=0.003, weight_decay=2e-4, clip_norm=5.0, seed=0)

metrics = model.evaluate(x_val, y_val)
print("held-out accuracy per step:", [round(a, 3) for a in metrics["per_step_accuracy"]])
print(f"mean cross-entropy: {metrics['loss']:.3f} nats (best possible 0.652)")
print("after r r i q g:", model.predict_topk("rriqg", k=3))  # the sum rule says 'm'
