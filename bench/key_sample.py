"""What counting hot keys costs a map task: ``write_map_output`` with and without its key
sample, per record, for map tasks of several sizes.

    python bench/key_sample.py [--repeat 7] [--partitions 8] [--budget 256]

For each task size it prints the writer's time per record without the sample (bucketing
and pickling), the sample's own time per task and per record, and the sample's share of
the writer. The records are (str key, int) pairs over 1,000 keys, one of them hot.
"""

from __future__ import annotations

import argparse
import functools
import random
import time

from sparkbook.executor.shuffle_writer import (
    SAMPLE_KEYS,
    bucket_records,
    sample_hot_keys,
    write_map_output,
)
from sparkbook.partitioner import HashPartitioner


class Dep:
    """The part of a ShuffleDependency the writer reads."""

    map_side_combine = False
    aggregator = None

    def __init__(self, partitions: int) -> None:
        self.partitioner = HashPartitioner(partitions)


def best_of(repeat: int, run) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()  # CPU, not wall: the machine may be busy
        run()
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--budget", type=int, default=SAMPLE_KEYS)
    parser.add_argument("--partitions", type=int, default=8)
    args = parser.parse_args()
    dep = Dep(args.partitions)
    rng = random.Random(3)
    print(f"{'records/task':>12} {'writer ns/rec':>14} {'sample us/task':>15} "
          f"{'sample ns/rec':>14} {'share':>7}")
    for n in (100, 1_000, 10_000, 100_000, 1_000_000):
        records = [("hot" if rng.random() < 0.3 else f"k{rng.randrange(1000)}", i)
                   for i in range(n)]
        buckets = bucket_records(iter(records), dep)
        whole = best_of(args.repeat, functools.partial(write_map_output, records, dep))
        sample = best_of(args.repeat, functools.partial(sample_hot_keys, buckets, 0,
                                                        args.budget))
        without = whole - sample
        print(f"{n:>12,} {without / n * 1e9:>14.0f} {sample * 1e6:>15.0f} "
              f"{sample / n * 1e9:>14.1f} {sample / whole:>7.1%}")


if __name__ == "__main__":
    main()
