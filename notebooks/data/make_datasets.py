"""Make the lessons' datasets, deterministically: `python notebooks/data/make_datasets.py`.

- monsters.csv: a bestiary of made-up fantasy monsters: name, type, size, challenge
  rating, speed types and the six ability scores;
- access.log: web-server logs (common log format) with a few hot pages and one very
  busy client, for the skew lesson;
- corpus.txt: a text for word counts, drawn from a small vocabulary with a Zipf-like
  frequency.
Nothing here is copied from elsewhere: every value comes from the seeded generator.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

HERE = Path(__file__).parent
SEED = 2026

SYLLABLES = ["gor", "thra", "vex", "mal", "ka", "zor", "ith", "bel", "ur", "ny", "dra",
             "sha", "quo", "lim", "rak", "ost", "fen", "wyr", "gul", "ix"]
TYPES = ["aberration", "beast", "construct", "dragon", "elemental", "fey", "fiend",
         "giant", "monstrosity", "ooze", "plant", "undead"]
SIZES = ["Tiny", "Small", "Medium", "Large", "Huge", "Gargantuan"]
SPEEDS = ["walk", "fly", "swim", "climb", "burrow"]
PAGES = ["/", "/index.html", "/spells", "/monsters", "/monsters/dragon", "/maps",
         "/login", "/search", "/about", "/static/app.js", "/static/style.css"]
WORDS = ("the a of and to in is that it for on with as was his they at be this from "
         "dragon sword shield spell quest dungeon tavern map gold knight wizard rogue "
         "cleric bard ranger paladin druid monk warlock sorcerer barbarian fighter "
         "castle forest cave river mountain village king queen goblin orc troll giant "
         "spark driver executor stage task shuffle partition cache lineage").split()


def monsters(rng: random.Random, n: int = 2000) -> list[list]:
    rows = []
    for i in range(n):
        name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).title()
        size = rng.choices(SIZES, weights=[2, 4, 8, 5, 2, 1])[0]
        cr = rng.choice([0, 0.125, 0.25, 0.5] + list(range(1, 31)))
        speeds = sorted(rng.sample(SPEEDS, rng.randint(1, 3)))
        scores = [rng.randint(3, 20) + (SIZES.index(size) if k == 0 else 0) for k in range(6)]
        rows.append([f"{name} {i}", rng.choice(TYPES), size, cr, "|".join(speeds), *scores])
    return rows


def access_log(rng: random.Random, n: int = 60000) -> list[str]:
    lines = []
    for i in range(n):
        # One client makes a third of all requests: a skewed key.
        busy = rng.random() < 0.33
        client = "10.0.0.7" if busy else f"10.0.{rng.randint(0, 40)}.{rng.randint(1, 254)}"
        page = rng.choices(PAGES, weights=[30, 10, 8, 12, 6, 5, 4, 9, 2, 7, 7])[0]
        status = rng.choices([200, 304, 404, 500], weights=[85, 8, 6, 1])[0]
        size = rng.randint(200, 50000) if status == 200 else 0
        minute, second = divmod(i * 86400 // n, 60)
        hour, minute = divmod(minute, 60)
        lines.append(f'{client} - - [25/Nov/2026:{hour:02d}:{minute:02d}:{second:02d} +0000] '
                     f'"GET {page} HTTP/1.1" {status} {size}')
    return lines


def corpus(rng: random.Random, lines: int = 20000) -> list[str]:
    weights = [1 / (rank + 1) for rank in range(len(WORDS))]
    return [" ".join(rng.choices(WORDS, weights, k=rng.randint(6, 14))) for _ in range(lines)]


def main() -> None:
    rng = random.Random(SEED)
    with open(HERE / "monsters.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["name", "type", "size", "challenge_rating", "speeds",
                         "str", "dex", "con", "int", "wis", "cha"])
        writer.writerows(monsters(rng))
    (HERE / "access.log").write_text("\n".join(access_log(rng)) + "\n")
    (HERE / "corpus.txt").write_text("\n".join(corpus(rng)) + "\n")


if __name__ == "__main__":
    main()
