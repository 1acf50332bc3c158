"""A coalesced read of neighbouring reduce partitions fetches them in batches: one
FetchShuffleBlocks per executor holding map outputs, not one per reduce partition, and a
map output lost in the middle of the batch still fails the fetch naming it."""

from __future__ import annotations

import time
from operator import add

import pytest

from sparkbook.executor.blockid import ShuffleBlockId
from sparkbook.executor.env import SparkEnv
from sparkbook.taskcontext import TaskContext

pytestmark = pytest.mark.sparkbook_only

MAPS, REDUCES = 8, 200


def on_every_executor(sc, f) -> dict[str, object]:
    """Executor id -> ``f()`` run in a task there, for every registered executor."""
    wanted = {e.executor_id for e in sc.cluster.executors()}
    seen: dict[str, object] = {}
    deadline = time.monotonic() + 30
    while not wanted <= seen.keys() and time.monotonic() < deadline:
        for executor_id, value in sc.parallelize(range(8), 8).map(
                lambda _: _slowly(lambda: (TaskContext.get().executor_id, f()))).collect():
            seen.setdefault(executor_id, value)
    assert wanted <= seen.keys(), "some executor ran none of the probe tasks"
    return seen


def _slowly(f):
    time.sleep(0.05)  # so that every executor gets some of the tasks
    return f()


def _served() -> int:
    return SparkEnv.get().shuffle_requests_served


def counts_by_key(sc):
    """An RDD ``reduceByKey`` into ``REDUCES`` partitions, from ``MAPS`` slow map tasks
    (so that both executors write map outputs)."""
    pairs = sc.parallelize(range(4000), MAPS).mapPartitions(
        lambda xs: _slowly(lambda: [(x % 300, 1) for x in xs]))
    return pairs.reduceByKey(add, REDUCES)


def test_a_coalesced_read_asks_each_executor_once_for_all_its_partitions(sc, recorded):
    counts = counts_by_key(sc)
    before = on_every_executor(sc, _served)
    [(reducer, result)] = counts.coalesce(1).mapPartitions(
        lambda it: [(TaskContext.get().executor_id, sorted(it))]).collect()
    after = on_every_executor(sc, _served)
    assert result == [(k, sum(1 for x in range(4000) if x % 300 == k)) for k in range(300)]
    sc.waitForListeners()
    writers = {e.task_info.executor_id for e in recorded.tasks
               if e.task_type == "ShuffleMapTask" and e.reason == "Success"}
    assert len(writers) == 2, "the map stage ran on one executor only"
    # One request to the other executor; the reducer reads its own outputs in place.
    assert sum(after[e] - before.get(e, 0) for e in after) == len(writers - {reducer}) == 1
    [read] = [e for e in recorded.tasks if e.shuffle_reads]
    written = [e.shuffle_write for e in recorded.tasks if e.shuffle_write is not None]
    assert read.shuffle_reads == [(counts.shuffle_id, sum(sum(w.sizes) for w in written),
                                   sum(sum(w.records) for w in written))]
    assert read.metrics.shuffle_read_bytes == sum(sum(w.sizes) for w in written)
    assert read.metrics.shuffle_read_records == sum(sum(w.records) for w in written)


def test_a_map_output_lost_in_the_middle_of_a_batch_fails_the_fetch_naming_it(sc, recorded):
    counts = counts_by_key(sc)
    counts.count()  # the map outputs, written
    app_id, shuffle_id, lost = sc.applicationId, counts.shuffle_id, MAPS // 2

    def forget() -> bool:
        block = ShuffleBlockId(app_id, shuffle_id, lost)
        had = SparkEnv.get().blocks.contains(block)
        SparkEnv.get().blocks.remove(block)
        return had

    assert any(on_every_executor(sc, forget).values()), "no executor held the map output"
    assert sum(v for _, v in counts.coalesce(4).collect()) == 4000  # the map stage reran
    sc.waitForListeners()
    failed = [e for e in recorded.tasks if e.reason == "FetchFailed"]
    assert failed, "no reduce task failed to fetch"
    assert all(f"shuffle {shuffle_id}, map {lost})" in e.error for e in failed)
