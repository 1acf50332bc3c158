"""The ContextCleaner: what the driver garbage-collects, the cluster forgets too.

A notebook runs for days. Each shuffle job leaves a map stage (holding its lineage and
the data parallelized into it) on the driver and map outputs in the executors' block
stores; once the RDD that reads the shuffle is garbage, nothing can read them again, so
the driver drops the stage and its map outputs and tells every executor to drop its
blocks (``RemoveShuffle``), as Spark's ContextCleaner does. Persisted RDDs and broadcasts
go the same way. The first tests watch the finalizers on a driver stand-in (no sockets);
the others run real jobs.
"""

from __future__ import annotations

import gc
import json
from operator import add
from pathlib import Path

import cloudpickle
import pytest
from procutil import REPO_ROOT, Reaper, child_env, driver_script, python_cmd
from test_dagscheduler import Core, DriverStandIn

from sparkbook.broadcast import Broadcast
from sparkbook.driver import scheduler_events as ev
from sparkbook.driver.cleaner import ContextCleaner
from sparkbook.rdd.dependency import ShuffleDependency
from sparkbook.rdd.rdd import shipping_lineage

pytestmark = pytest.mark.sparkbook_only


class CleanedDriver(DriverStandIn):
    """A driver stand-in with a ContextCleaner whose events land in ``posted``."""

    def __init__(self) -> None:
        super().__init__()
        self.posted: list = []
        self._cleaner = ContextCleaner(self.posted.append)


def lineage_ids(rdd) -> set[int]:
    ids, stack = set(), [rdd]
    while stack:
        current = stack.pop()
        ids.add(current.rdd_id)
        stack.extend(dep.rdd for dep in current.deps)
    return ids


def test_a_shuffle_is_cleaned_once_no_rdd_reads_it():
    driver = CleanedDriver()
    pairs = driver.parallelize([(i % 3, i) for i in range(12)], 4)
    counts = pairs.reduceByKey(add, 2)
    doubled = counts.mapValues(lambda v: 2 * v)
    del counts
    gc.collect()
    assert driver.posted == []  # doubled still reads the shuffle
    del doubled
    gc.collect()
    assert driver.posted == [ev.ShuffleCleaned(0)]
    assert driver._cleaner.cleaned["shuffle"] == 1


def test_the_map_stage_the_core_keeps_does_not_keep_its_shuffle_alive():
    driver, core = CleanedDriver(), Core()
    counts = driver.parallelize([(i % 3, i) for i in range(12)], 4).reduceByKey(add, 2)
    core.submit(counts)
    core.finish_all()
    assert list(core.dag.shuffle_stages) == [0]
    del counts
    gc.collect()
    assert driver.posted == [ev.ShuffleCleaned(0)]  # which then drops the stage
    assert core.handle(driver.posted[0]) == [ev.RemoveShuffle(0)]


def test_a_persisted_rdd_is_unpersisted_once_when_it_is_garbage():
    driver = CleanedDriver()
    cached = driver.parallelize(list(range(8)), 2).map(str).cache()
    cached.persist()  # the same level again: still watched once
    rdd_id = cached.id()
    del cached
    gc.collect()
    assert driver.posted == [ev.RddUnpersisted(rdd_id)]


def test_copies_unpickled_from_a_stage_binary_never_register():
    driver = CleanedDriver()
    counts = driver.parallelize([(1, 2)], 1).reduceByKey(add, 1).cache()
    with shipping_lineage(lineage_ids(counts)):  # a map stage's binary, a result stage's
        blob = cloudpickle.dumps((counts.deps[0].rdd, counts.deps[0], counts))
    for _ in range(3):  # what an executor does with each stage binary
        copy = cloudpickle.loads(blob)
        del copy
    gc.collect()
    assert driver.posted == []  # the driver's own counts is alive: nothing is garbage
    del counts
    gc.collect()
    assert sorted(map(repr, driver.posted)) == ["RddUnpersisted(rdd_id=1)",
                                                "ShuffleCleaned(shuffle_id=0)"]


def test_a_garbage_broadcast_is_forgotten_on_the_driver_and_removed_on_the_executors():
    driver, forgotten = CleanedDriver(), []
    b = Broadcast(driver, list(range(100)), "app:0")
    driver._cleaner.register_broadcast(b, "app:0", forgotten.append)
    del b
    gc.collect()
    assert driver.posted == [ev.BroadcastRemoved("app:0")] and forgotten == ["app:0"]


def test_a_stage_keeps_the_broadcasts_it_read_until_its_job_ends():
    driver, core = CleanedDriver(), Core()
    b = Broadcast(driver, [1, 2, 3], "app:0")
    driver._cleaner.register_broadcast(b, "app:0", lambda bid: None)
    holder = {"b": b}  # as a notebook's global: read when the binary is pickled
    job = core.submit(driver.parallelize(list(range(4)), 2).map(
        lambda x: x + len(holder["b"].value)))
    holder.clear()
    del b
    gc.collect()
    assert driver.posted == []  # a retry elsewhere may still have to send it
    core.finish_all()
    assert core.succeeded(job)
    gc.collect()
    assert driver.posted == [ev.BroadcastRemoved("app:0")]


def test_a_stopped_cleaner_posts_nothing():
    driver = CleanedDriver()
    counts = driver.parallelize([(1, 2)], 1).reduceByKey(add, 1)
    driver._cleaner.stop()
    del counts
    gc.collect()
    assert driver.posted == []


# --- on a real cluster -------------------------------------------------------------------


def shuffles_of(rdd) -> set[int]:
    found, stack = set(), [rdd]
    while stack:
        current = stack.pop()
        found |= {d.shuffle_id for d in current.deps if isinstance(d, ShuffleDependency)}
        stack.extend(d.rdd for d in current.deps)
    return found


def block_store_bytes(sc) -> int:
    """What the executors' last heartbeats say their block stores hold, memory and disk."""
    with sc.statusStore.lock:
        metrics = [e.get("metrics") for e in sc.statusStore.executors.values() if e["alive"]]
    return sum(m.memory_used + m.disk_used for m in metrics if m is not None)


def test_thirty_shuffle_jobs_leave_no_shuffle_on_the_driver_or_the_executors(sc, eventually):
    gc.collect()
    before = eventually(lambda: block_store_bytes(sc), lambda b: True, 0)
    dropped: set[int] = set()
    for _ in range(30):
        spread = sc.parallelize(range(20_000), 2).map(lambda x: (x, x)).partitionBy(2)
        assert spread.count() == 20_000
        dropped |= shuffles_of(spread)
        del spread
        gc.collect()  # as Spark's periodic GC on the driver
    assert len(dropped) == 30
    # The driver forgets each shuffle's stage, lineage and map outputs...
    assert not eventually(lambda: set(sc._backend.shuffle_ids()) & dropped, lambda s: not s)
    # ... and each executor's block store drops its map outputs (30 x ~200 KB if kept).
    after = eventually(lambda: block_store_bytes(sc), lambda b: b <= before + 256 * 1024)
    assert after <= before + 256 * 1024, (before, after)


def plus_length_of(b: Broadcast):
    return lambda x: x + len(b.value)


def test_a_garbage_broadcast_and_persisted_rdd_leave_the_executors(sc, eventually):
    b = sc.broadcast(list(range(50_000)))
    cached = sc.parallelize(range(4), 2).map(plus_length_of(b)).cache()
    assert cached.sum() == 4 * 50_000 + 6
    rdd_id, bid = cached.id(), b.bid
    assert sc._cached_partition_count(rdd_id) == 2
    del cached, b
    gc.collect()
    assert eventually(lambda: sc._cached_partition_count(rdd_id), lambda n: n == 0) == 0
    assert bid not in sc._broadcast_blobs


def test_reference_tracking_off_keeps_every_shuffle(reaper: Reaper, tmp_path: Path):
    script = driver_script(tmp_path, """\
        import gc
        conf = SparkConf().set("spark.cleaner.referenceTracking", "false")
        sc = SparkContext("local[1]", "no-cleaner", conf=conf)
        for _ in range(3):
            sc.parallelize(range(10), 2).map(lambda x: (x, x)).partitionBy(2).count()
            gc.collect()
        report("kept", shuffles=sc._backend.shuffle_ids())
        sc.stop()
    """)
    driver = reaper.child(python_cmd(script), child_env())
    assert driver.report("kept", 60)["shuffles"] == [0, 1, 2]
    assert driver.wait(15) == 0, driver.describe()


@pytest.mark.reliability
@pytest.mark.timeout(900)
def test_a_thousand_shuffle_jobs_leave_the_driver_within_50_mb(reaper: Reaper):
    """Issue 9's notebook that runs for days (bench/driver_retention.py): 1,000 jobs of
    parallelize(200_000) + reduceByKey, the driver's RSS before and after, and the
    executors' block stores."""
    script = REPO_ROOT / "bench" / "driver_retention.py"
    run = reaper.child(python_cmd(script, "--jobs", "1000", "--json"), child_env())
    assert run.wait(850) == 0, run.describe()
    done = json.loads(run.stdout.strip().splitlines()[-1])
    grown = (done["rss_end"] - done["rss_start"]) / 2**20
    print(f"1,000 jobs in {done['seconds']:.0f} s: driver RSS {done['rss_start'] / 2**20:.0f}"
          f" MB -> {done['rss_end'] / 2**20:.0f} MB ({grown:+.1f} MB); block stores "
          f"{done['stores']}")
    assert grown < 50, done
    assert done["shuffles_kept"] == 0 and sum(done["stores"]) == 0, done
