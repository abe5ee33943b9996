"""``rnnlab predict`` (the most likely next tokens, or the classes of recordings) and ``rnnlab generate``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from rnnlab.cli.common import open_model, print_json
from rnnlab.cli.parsing import Command, Parser, value
from rnnlab.errors import ConfigError, DataError
from rnnlab.models import CharLM, NextTokenModel, SequenceClassifier

PREDICT_EPILOG = """examples:
  rnnlab predict runs/letters-20261129-101500 r r i q g --top 5
  rnnlab predict runs/letters-20261129-101500/model.npz rriqg --json
  rnnlab predict runs/digits 7_theo_3.wav hello.flac --top 3     (a classifier trained with --audio)
"""
GENERATE_EPILOG = """examples:
  rnnlab generate runs/austen --prime "It is a truth" --length 500 --temperature 0.8
  rnnlab generate runs/austen --prime "Mr. Darcy" --top-p 0.9 --seed 3
  rnnlab generate runs/austen --prime "Elizabeth" --greedy --length 200
"""


def add_predict_arguments(parser: Parser) -> None:
    parser.add_argument("model", type=Path, help="a run folder, or a model file saved by rnnlab")
    parser.add_argument("tokens", nargs="*", help="the input sequence, e.g. r r i q g; or, for a classifier "
                        "trained on recordings, the audio files")
    parser.add_argument("--top", type=value("int", minimum=1), default=5, metavar="K",
                        help="how many candidates to show")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def run_predict(args) -> int:
    """``rnnlab predict MODEL TOKENS... --top K``, or ``rnnlab predict MODEL FILE.wav... --top K``."""
    _, model = open_model(args.model, (NextTokenModel, SequenceClassifier), "predict",
                          "next-token model, or a classifier trained on recordings")
    if isinstance(model, SequenceClassifier):
        return predict_recordings(model, args)
    text = "".join(args.tokens)
    if not text:
        raise DataError("the input sequence is empty: give at least one token, e.g. rnnlab predict MODEL r r i q g")
    tokens = model.vocab.split(text) if all(len(t) == 1 for t in model.vocab) else list(args.tokens)
    top = model.predict_topk(tokens, k=args.top)
    if args.json:
        print_json({"input": tokens, "top": [{"token": t, "probability": p} for t, p in top]})
    else:
        print(f"input: {' '.join(tokens)}")
        for rank, (tok, p) in enumerate(top, 1):
            print(f"  {rank}. {tok}  {p:.4f}")
    return 0


def predict_recordings(model: SequenceClassifier, args) -> int:
    """The top classes of each audio file in ``args.tokens``, with probabilities."""
    if model.audio is None:
        raise ConfigError(f"{args.model} is a classifier of precomputed sequences: rnnlab predict reads recordings "
                          "(train with --audio); evaluate .ts files with rnnlab evaluate --data")
    if not args.tokens:
        raise DataError("give at least one recording, e.g. rnnlab predict RUN 7_theo_3.wav")
    probs = model.predict_recordings(args.tokens)
    k = min(args.top, len(model.classes))
    found = [{"file": f, "top": [{"class": model.classes[j], "probability": float(p[j])}
                                 for j in np.argsort(-p, kind="stable")[:k]]} for f, p in zip(args.tokens, probs,
                                                                                             strict=True)]
    if args.json:
        print_json({"predictions": found})
        return 0
    for item in found:
        print(f"{item['file']}: " + ", ".join(f"{t['class']} {t['probability']:.4f}" for t in item["top"]))
    return 0


def add_generate_arguments(parser: Parser) -> None:
    parser.add_argument("model", type=Path, help="a text run folder, or a model file")
    parser.add_argument("--prime", default="\n", metavar="TEXT", help="the text to start from (default: a new line)")
    parser.add_argument("--length", type=value("int", minimum=0), default=500, metavar="N",
                        help="characters to generate")
    parser.add_argument("--temperature", type=value("float", minimum=0.0), default=1.0, metavar="F",
                        help="below 1: safer, above 1: wilder; 0: greedy")
    parser.add_argument("--top-k", type=value("int", minimum=1), default=None, metavar="K",
                        help="draw among the k most likely only")
    parser.add_argument("--top-p", type=value("float", above=0.0, maximum=1.0), default=None, metavar="P",
                        help="nucleus sampling: draw among the most likely whose probabilities sum to p")
    parser.add_argument("--greedy", action="store_true", help="always the most likely character")
    parser.add_argument("--seed", type=value("int", minimum=0), default=None, metavar="N",
                        help="seed for reproducible samples")
    parser.add_argument("--skip-unknown", action="store_true",
                        help="drop prime characters the model never saw instead of stopping")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def run_generate(args) -> int:
    """``rnnlab generate MODEL --prime TEXT --length N ...``: stream generated characters."""
    _, model = open_model(args.model, CharLM, "generate", "text model (rnnlab train text)")
    prime = args.prime.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    stream = model.generate(prime, args.length, temperature=0.0 if args.greedy else args.temperature,
                            top_k=args.top_k, top_p=args.top_p, seed=args.seed,
                            unknown="skip" if args.skip_unknown else "error")
    if args.json:
        print_json({"prime": prime, "text": "".join(stream)})
        return 0
    sys.stdout.write(prime)
    for ch in stream:
        sys.stdout.write(ch)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0


# this module's entries in the command table (cli/app.py): every command module declares its own alike
PREDICT = Command("predict", "the most likely next letters after a sequence, or the classes of recordings",
                  "Print the top-k next tokens after the given sequence, with probabilities (the notebook's "
                  "predict). Tokens may be given one per argument or run together. For a classifier trained on "
                  "recordings (--audio), give audio files: each gets its top-k classes, its features computed with "
                  "the model's own settings and resampled to its sample rate.", PREDICT_EPILOG,
                  add_predict_arguments, run_predict)
GENERATE = Command("generate", "generate text with a character-level language model",
                   "Prime a text model with some characters, then stream generated characters to stdout, one at a "
                   "time (the state is carried: nothing is recomputed).", GENERATE_EPILOG, add_generate_arguments,
                   run_generate)
