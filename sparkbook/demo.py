"""``sparkbook demo``: a word count on a local cluster, as a first look at the engine."""

from __future__ import annotations

import os
import random
import tempfile
import time
from operator import add

WORDS = ("spark driver executor manager stage task shuffle partition cache lineage "
         "resilient distributed dataset action transformation narrow wide skew broadcast "
         "accumulator notebook cluster memory disk job scheduler block fetch map reduce "
         "key value sort join group count collect").split()


def write_corpus(path: str, megabytes: int, seed: int = 7) -> None:
    """A deterministic text of about ``megabytes`` MB drawn from a Zipf-like vocabulary."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(WORDS))]
    line_words = 12
    lines_needed = megabytes * 1024 * 1024 // (line_words * 8)
    with open(path, "w") as f:
        for _ in range(0, lines_needed, 1000):
            chunk = rng.choices(WORDS, weights, k=1000 * line_words)
            f.write("\n".join(" ".join(chunk[i:i + line_words])
                              for i in range(0, len(chunk), line_words)))
            f.write("\n")


def run_demo(master: str, megabytes: int) -> None:
    from sparkbook import SparkConf, SparkContext

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "corpus.txt")
        write_corpus(path, megabytes)
        conf = SparkConf().set("spark.ui.showConsoleProgress", "true")
        started = time.perf_counter()
        with SparkContext(master, "sparkbook-demo", conf=conf) as sc:
            pids = sc.cluster.executor_pids()
            print(f"sparkbook demo: {master}, application {sc.applicationId}, "
                  f"{len(pids)} executors (pids {sorted(pids.values())})")
            counts = (sc.textFile(path, 8)
                      .flatMap(str.split)
                      .map(lambda w: (w, 1))
                      .reduceByKey(add))
            top = counts.sortBy(lambda kv: -kv[1]).take(10)
            print(f"word count of {os.path.getsize(path) / 1e6:.0f} MB: "
                  f"{counts.count()} distinct words; the most frequent:")
            for word, n in top:
                print(f"  {word:<16}{n:>10,}")
        print(f"done in {time.perf_counter() - started:.1f} s")
