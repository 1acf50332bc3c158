"""Executors SIGKILLed at seeded random moments cost retries, never a wrong answer.

Each workload shape (narrow map/filter, reduceByKey, groupByKey, join, sortByKey, a cached
RDD reused, a DataFrame groupBy/agg) runs under the ``chaos`` fixture and is checked
against the answer plain Python gives. The reliability run (``pytest -m reliability -k
chaos``) makes at least 100 kills and prints runs, kills, wrong answers, failed jobs and
the time added against an unkilled run; the fast case makes three.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from operator import add

import pytest
from chaos import ChaosMonkey

pytestmark = pytest.mark.sparkbook_only

N = 800
PARTITIONS = 8


def slow(x: int) -> int:
    time.sleep(0.0005)  # long enough that a kill lands mid-stage, not between jobs
    return x


def expected_groups() -> dict[int, list[int]]:
    groups: dict[int, list[int]] = defaultdict(list)
    for x in range(N):
        groups[x % 7].append(x)
    return dict(groups)


def narrow(sc, spark):
    got = sc.parallelize(range(N), PARTITIONS).map(slow).filter(lambda x: x % 3 == 0) \
        .map(lambda x: x * 2).collect()
    return got, [x * 2 for x in range(N) if x % 3 == 0]


def reduce_by_key(sc, spark):
    got = sc.parallelize(range(N), PARTITIONS).map(lambda x: (x % 10, slow(x))) \
        .reduceByKey(add).map(lambda kv: (kv[0], slow(kv[1]))).collectAsMap()
    return got, {k: sum(x for x in range(N) if x % 10 == k) for k in range(10)}


def group_by_key(sc, spark):
    got = sc.parallelize(range(N), PARTITIONS).map(lambda x: (x % 7, slow(x))) \
        .groupByKey(4).mapValues(sorted).collectAsMap()
    return got, expected_groups()


def join(sc, spark):
    left = sc.parallelize(range(N), PARTITIONS).map(lambda x: (x % 50, slow(x)))
    right = sc.parallelize(range(50), 4).map(lambda k: (k, k * k))
    got = sorted(left.join(right, 4).collect())
    return got, sorted((x % 50, (x, (x % 50) ** 2)) for x in range(N))


def sort_by_key(sc, spark):
    got = sc.parallelize(range(N), PARTITIONS).map(lambda x: ((x * 7919) % N, slow(x))) \
        .sortByKey(numPartitions=4).collect()
    return got, sorted(((x * 7919) % N, x) for x in range(N))


def cached_reuse(sc, spark):
    cached = sc.parallelize(range(N), PARTITIONS).map(slow).map(lambda x: (x % 5, x)).cache()
    try:
        first = cached.count()
        again = cached.reduceByKey(add).collectAsMap()
        return (first, again), (N, {k: sum(x for x in range(N) if x % 5 == k) for k in range(5)})
    finally:
        cached.unpersist()


def dataframe_agg(sc, spark):
    from sparkbook.sql import functions as F

    rows = sc.parallelize(range(N), PARTITIONS).map(lambda x: (f"k{x % 6}", slow(x)))
    df = spark.createDataFrame(rows, "k string, v bigint")
    got = sorted(tuple(r) for r in df.groupBy("k").agg(F.sum("v"), F.count("v")).collect())
    return got, sorted((f"k{k}", sum(x for x in range(N) if x % 6 == k),
                        sum(1 for x in range(N) if x % 6 == k)) for k in range(6))


SHAPES: dict[str, Callable] = {f.__name__: f for f in (
    narrow, reduce_by_key, group_by_key, join, sort_by_key, cached_reuse, dataframe_agg)}


def wait_for_executors(sc, count: int = 2, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while len(sc.cluster.executors()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(sc.cluster.executors()) >= count, "the killed executors were not replaced"


def timed(sc, spark, shape: Callable, monkey: ChaosMonkey | None = None):
    """(seconds, right, failed) for one run of ``shape``, under ``monkey`` if given."""
    if monkey is not None:
        sc.addSparkListener(monkey, synchronous=True)
    started = time.monotonic()
    try:
        got, want = shape(sc, spark)
        right, failed = got == want, False
    except Exception:
        right, failed = False, True
    finally:
        seconds = time.monotonic() - started
        if monkey is not None:
            sc.removeSparkListener(monkey)
    return seconds, right, failed


def baseline(sc, spark, shape: Callable) -> tuple[float, int]:
    """Median seconds of three unkilled runs, and the task events one run makes."""
    runs = []
    for _ in range(3):
        counter = ChaosMonkey(sc, seed=0, kills=0)
        seconds, right, _ = timed(sc, spark, shape, counter)
        assert right, f"{shape.__name__} is wrong even without kills"
        runs.append(seconds)
    return statistics.median(runs), counter.events


def run_chaos(sc, spark, runs_per_shape: int, first_seed: int = 0) -> dict:
    """Runs each shape ``runs_per_shape`` times with one seeded kill each; the figures."""
    figures = {"runs": 0, "kills": 0, "wrong": 0, "failed": 0, "added": [], "seeds": {}}
    seed = first_seed
    for name, shape in SHAPES.items():
        wait_for_executors(sc)
        base, events = baseline(sc, spark, shape)
        for _ in range(runs_per_shape):
            wait_for_executors(sc)
            # Kill before the last event, so that some of the job is still to run.
            monkey = ChaosMonkey(sc, seed, kills=1, horizon=max(1, events - 1))
            seconds, right, failed = timed(sc, spark, shape, monkey)
            figures["runs"] += 1
            figures["kills"] += len(monkey.kills)
            figures["wrong"] += not right and not failed
            figures["failed"] += failed
            figures["added"].append(seconds - base)
            print(f"chaos seed {seed} {name}: {seconds:.2f} s, kills {len(monkey.kills)}, "
                  f"right {right}", flush=True)
            if not right:
                figures["seeds"][seed] = name
            seed += 1
    wait_for_executors(sc)
    return figures


def summary(figures: dict) -> dict:
    added = figures["added"]
    return {k: figures[k] for k in ("runs", "kills", "wrong", "failed", "seeds")} | {
        "median_added_s": round(statistics.median(added), 3),
        "max_added_s": round(max(added), 3)}


def test_the_chaos_monkey_is_reproducible_from_its_seed(sc):
    a, b = ChaosMonkey(sc, seed=42, kills=3, horizon=50), ChaosMonkey(sc, 42, 3, 50)
    assert a.triggers == b.triggers and len(set(a.triggers)) == 3
    assert all(1 <= t <= 50 for t in a.triggers)
    assert ChaosMonkey(sc, seed=43, kills=3, horizon=50).triggers != a.triggers


def test_three_seeded_kills_cost_retries_never_a_wrong_answer(sc, spark, chaos):
    wait_for_executors(sc)
    for seed, shape in enumerate((reduce_by_key, join, cached_reuse)):
        with chaos(sc, seed=seed, kills=1, horizon=12) as monkey:
            got, want = shape(sc, spark)
        assert got == want, (seed, shape.__name__)
        assert len(monkey.kills) == 1, "the monkey killed no executor"
        wait_for_executors(sc)


@pytest.mark.reliability
@pytest.mark.timeout(1800)
def test_reliability_chaos_100_kills_across_workload_shapes(sc, spark):
    runs = int(os.environ.get("SPARKBOOK_CHAOS_RUNS", "15"))  # per shape: 7 x 15 = 105
    figures = summary(run_chaos(sc, spark, runs))
    print("\nchaos:", json.dumps(figures))
    assert figures["wrong"] == 0, figures
    assert figures["kills"] >= 100 or runs < 15, figures
