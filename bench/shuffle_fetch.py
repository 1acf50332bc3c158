"""The shuffle read path, measured: a reduce task reading many reduce partitions.

- ``sql``: ``groupBy`` of 1M rows into 1,000 groups with 200 shuffle partitions, which
  adaptive coalescing reads in one task (the whole query runs each time).
- ``rdd coalesced``: ``reduceByKey`` into 200 partitions read by ``coalesce(1)``, the map
  outputs written once beforehand (only the reduce stage runs).
- ``rdd``: the same 200 partitions read by 200 tasks.

For each: median of 5 of the wall time, the CPU time of the driver and executors
(``tree_cpu``), and the reduce tasks' run and fetch-wait time (summed over its tasks), on
``local[2]``. Run: ``python3 bench/shuffle_fetch.py [--burners N]``; ``--burners`` keeps
N busy-looping processes running meanwhile, as a loaded machine (each fetch round trip
then waits for the serving executor to get a time slice).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from collections.abc import Callable
from operator import add

from sql import tree_cpu

from sparkbook.driver.listener import SparkListener

ROWS, GROUPS, PARTITIONS, REPEAT = 1_000_000, 1_000, 200, 5


class ReduceTimes(SparkListener):
    """Run time and fetch wait of the tasks that read a shuffle."""

    def __init__(self) -> None:
        self.run = self.wait = 0.0

    def on_task_end(self, event) -> None:
        if event.shuffle_reads:
            self.run += event.metrics.executor_run_time
            self.wait += event.metrics.shuffle_fetch_wait_time


def engine_cpu(burners: list[int]) -> float:
    """CPU seconds of this process and its descendants, but for the burners."""
    import psutil

    burnt = 0.0
    for pid in burners:
        t = psutil.Process(pid).cpu_times()
        burnt += t.user + t.system
    return tree_cpu() - burnt


def measure(sc, work: Callable[[], object], burners: list[int]) -> dict[str, float]:
    rows = []
    for _ in range(REPEAT):
        times = ReduceTimes()
        sc.addSparkListener(times)
        wall, cpu = time.perf_counter(), engine_cpu(burners)
        work()
        wall, cpu = time.perf_counter() - wall, engine_cpu(burners) - cpu
        sc.waitForListeners()
        sc.removeSparkListener(times)
        rows.append((wall, cpu, times.run, times.wait))
    return dict(zip(("wall", "cpu", "reduce run", "fetch wait"),
                    (statistics.median(c) for c in zip(*rows))))


def _burn() -> None:
    while True:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--burners", type=int, default=0, help="busy processes meanwhile")
    burners = [multiprocessing.Process(target=_burn, daemon=True)
               for _ in range(parser.parse_args().burners)]
    for b in burners:
        b.start()
    try:
        run([b.pid for b in burners])
    finally:
        for b in burners:
            b.terminate()


def run(burners: list[int]) -> None:
    from sparkbook.sql import SparkSession
    from sparkbook.sql import functions as F

    spark = (SparkSession.builder.master("local[2]").appName("bench-shuffle-fetch")
             .config("spark.sql.shuffle.partitions", str(PARTITIONS)).getOrCreate())
    sc = spark.sparkContext
    try:
        sc.parallelize(range(4), 4).count()  # warm-up: both executors up
        df = spark.range(0, ROWS, 1, 8).withColumn("k", F.col("id") % GROUPS)
        query = df.groupBy("k").agg(F.sum("id"))
        counts = sc.parallelize(range(ROWS), 8).map(lambda x: (x % GROUPS, 1)).reduceByKey(
            add, PARTITIONS)
        counts.count()  # the map outputs, written once
        cases = {"sql": lambda: query.collect(),
                 "rdd coalesced": lambda: counts.coalesce(1).count(),
                 "rdd": lambda: counts.count()}
        print(f"{'case':<14} {'wall s':>8} {'cpu s':>8} {'reduce run s':>13} "
              f"{'fetch wait s':>13}")
        for name, work in cases.items():
            r = measure(sc, work, burners)
            print(f"{name:<14} {r['wall']:>8.3f} {r['cpu']:>8.3f} {r['reduce run']:>13.3f} "
                  f"{r['fetch wait']:>13.3f}")
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
