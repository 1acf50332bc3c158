"""What a notebook that runs for days keeps: the driver's RSS over many shuffle jobs.

Issue 9's measurement: N jobs of ``parallelize(list(range(200_000)), 4)`` + ``reduceByKey``
on ``local[2]``, ``gc.collect()`` after each (as Spark's periodic GC), then the driver's
RSS against where it started, the shuffles the driver still keeps, and what the
executors' block stores hold. ``--no-cleaner`` runs with
``spark.cleaner.referenceTracking=false``, which keeps every shuffle, as sparkbook did
before its ContextCleaner.

    python bench/driver_retention.py --jobs 1000 [--no-cleaner] [--json]

``tests/test_context_cleaner.py`` runs it with 1,000 jobs (``pytest -m reliability``).
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from operator import add

import psutil

from sparkbook import SparkConf, SparkContext


def store_bytes(sc: SparkContext) -> list[int]:
    """Each executor's block store, memory and disk, as its last heartbeat said."""
    with sc.statusStore.lock:
        return [e["metrics"].memory_used + e["metrics"].disk_used
                for e in sc.statusStore.executors.values() if e.get("metrics")]


def measure(jobs: int, cleaner: bool) -> dict:
    conf = SparkConf().set("spark.cleaner.referenceTracking", str(cleaner).lower())
    sc = SparkContext("local[2]", "driver-retention", conf=conf)
    try:
        def job() -> int:
            data = list(range(200_000))
            return sc.parallelize(data, 4).map(lambda x: (x % 1000, 1)).reduceByKey(add).count()

        job()  # warm up: imports, first binaries
        gc.collect()
        me = psutil.Process()
        start, t0 = me.memory_info().rss, time.monotonic()
        for _ in range(jobs):
            assert job() == 1000
            gc.collect()
        seconds = time.monotonic() - t0
        deadline = time.monotonic() + 10  # heartbeats report the stores twice a second
        while sum(store_bytes(sc)) and cleaner and time.monotonic() < deadline:
            time.sleep(0.1)
        return {"jobs": jobs, "cleaner": cleaner, "seconds": round(seconds, 1),
                "rss_start": start, "rss_end": me.memory_info().rss,
                "shuffles_kept": len(sc._backend.shuffle_ids()), "stores": store_bytes(sc)}
    finally:
        sc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--no-cleaner", action="store_true")
    parser.add_argument("--json", action="store_true", help="one JSON line, for tests")
    opts = parser.parse_args()
    result = measure(opts.jobs, not opts.no_cleaner)
    if opts.json:
        print(json.dumps(result))
        return
    grown = (result["rss_end"] - result["rss_start"]) / 2**20
    print(f"{result['jobs']} jobs in {result['seconds']} s, cleaner "
          f"{'on' if result['cleaner'] else 'off'}: driver RSS "
          f"{result['rss_start'] / 2**20:.0f} MB -> {result['rss_end'] / 2**20:.0f} MB "
          f"({grown:+.1f} MB); shuffles kept {result['shuffles_kept']}; executors' block "
          f"stores {[f'{b / 2**20:.1f} MB' for b in result['stores']]}")


if __name__ == "__main__":
    main()
