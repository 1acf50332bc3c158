#!/usr/bin/env python3
"""Peak RSS of each executor against ``spark.executor.memory`` on a word count.

    python bench/memcap.py [--megabytes 300] [--memory 256m] [--partitions 8] [--cache]

Writes the demo's corpus (once) under the temp folder, counts its words on ``local[2]``
(with ``--cache``: caches the lines ``MEMORY_AND_DISK`` and counts twice) and samples
every executor's RSS every 50 ms; prints the peak of each and its ratio to the limit.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from operator import add

import psutil

from sparkbook import SparkConf, SparkContext, StorageLevel
from sparkbook.conf import parse_bytes
from sparkbook.demo import write_corpus


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--megabytes", type=int, default=300)
    p.add_argument("--memory", default="256m")
    p.add_argument("--partitions", type=int, default=8)
    p.add_argument("--cache", action="store_true")
    args = p.parse_args()
    corpus = os.path.join(tempfile.gettempdir(), f"sparkbook-memcap-{args.megabytes}.txt")
    if not os.path.exists(corpus):
        write_corpus(corpus, args.megabytes)
    sc = SparkContext("local[2]", "memcap", conf=SparkConf().set("spark.executor.memory",
                                                                  args.memory))
    peaks: dict[int, int] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            for pid in sc.cluster.executor_pids().values():
                try:
                    rss = psutil.Process(pid).memory_info().rss
                except psutil.Error:
                    continue
                peaks[pid] = max(peaks.get(pid, 0), rss)

    threading.Thread(target=sample, daemon=True).start()
    started = time.perf_counter()
    lines = sc.textFile(corpus, args.partitions)
    if args.cache:
        lines = lines.persist(StorageLevel.MEMORY_AND_DISK)
    for _ in range(2 if args.cache else 1):
        counts = lines.flatMap(str.split).map(lambda w: (w, 1)).reduceByKey(add).collect()
    seconds = time.perf_counter() - started
    done.set()
    sc.stop()
    limit = parse_bytes(args.memory)
    worst = max(peaks.values())
    print(f"{args.megabytes} MB word count, {len(counts)} words, {seconds:.1f} s; limit "
          f"{limit >> 20} MB; peak executor RSS "
          + ", ".join(f"{v >> 20} MB" for v in sorted(peaks.values()))
          + f"; worst {worst / limit:.2f}x the limit")


if __name__ == "__main__":
    main()
