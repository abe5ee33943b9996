"""A character-level language model on Pride and Prejudice (char-rnn), then text from it.

A short run (about 20 seconds here, 2.0 bits per character) already writes words; `rnnlab train text`
trains the full-size model (2-layer LSTM, hidden 256) and `benchmarks/tasks.py` measures it
against PyTorch.

Run it with:  .venv/bin/python examples/text.py
"""

from rnnlab import datasets
from rnnlab.data.text import split_text
from rnnlab.models import CharLM

text = datasets.load_text("pride-and-prejudice")  # any UTF-8 file works: datasets.load_text("my.txt")
train, val = split_text(text, 0.1)  # the last 10% held out, contiguous
model = CharLM.from_text(text, cell="gru", num_layers=1, hidden_size=192, embedding_dim=32, rng=0)

# truncated BPTT: 32 contiguous streams, chunks of 64 characters, the state carried between chunks
model.fit_text(train[:300_000], validation=val[:20_000], seq_len=64, batch_size=32, epochs=4, lr=4e-3,
               clip_norm=5.0, seed=0)

print(f"validation: {model.evaluate_text(val[:20_000])['bits_per_char']:.3f} bits per character")
print("It is a truth" + model.sample("It is a truth", 300, temperature=0.8, seed=0))
print("greedy:", model.greedy("Mr. Darcy", 60))
