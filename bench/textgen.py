"""Deterministic text corpus for the word-count workload (W5)."""

from __future__ import annotations

import os
import random
import string
from itertools import accumulate
from pathlib import Path

VOCABULARY_SIZE = 20_000
WORDS_PER_LINE = (10, 15)
LINES_PER_BATCH = 20_000


def make_vocabulary(rng: random.Random, size: int = VOCABULARY_SIZE) -> list[str]:
    """Return ``size`` distinct lowercase words of 2-10 letters, in rank order."""
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < size:
        word = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 10)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def write_corpus(path: Path, size_bytes: int, seed: int) -> None:
    """Write lines of 10-15 Zipf-distributed words until the file holds ``size_bytes``.

    The content depends only on ``seed`` (and ``size_bytes``), so every run and every
    backend reads the same bytes. Written to a temporary name and renamed, so an
    interrupted run never leaves a short file that would later pass for a complete one.
    """
    rng = random.Random(seed)
    vocab = make_vocabulary(rng)
    # Zipf with s = 1: the word of rank r is drawn with weight 1 / r.
    cum_weights = list(accumulate(1.0 / rank for rank in range(1, len(vocab) + 1)))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    written = 0
    with open(tmp, "w", encoding="ascii", newline="\n") as out:
        while written < size_bytes:
            lengths = [rng.randint(*WORDS_PER_LINE) for _ in range(LINES_PER_BATCH)]
            words = rng.choices(vocab, cum_weights=cum_weights, k=sum(lengths))
            lines = []
            start = 0
            for n in lengths:
                line = " ".join(words[start : start + n]) + "\n"
                start += n
                lines.append(line)
                written += len(line)
                if written >= size_bytes:
                    break
            out.write("".join(lines))
    os.replace(tmp, path)


def ensure_corpus(path: Path, size_bytes: int, seed: int) -> Path:
    """Generate the corpus at ``path`` unless a complete one is already there."""
    if not (path.exists() and path.stat().st_size >= size_bytes):
        write_corpus(path, size_bytes, seed)
    return path
