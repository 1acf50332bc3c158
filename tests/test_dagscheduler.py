"""The DAG and task schedulers as state machines, driven by invented events (no cluster).

Each test builds real RDD lineage on a driver stand-in that only hands out ids, submits a
job, and then plays the executors' part by hand: which tasks were launched where, which
succeeded, which failed and how.
"""

from __future__ import annotations

import itertools
from operator import add

import pytest

from sparkbook import messages as m
from sparkbook.conf import SparkConf
from sparkbook.driver.dagscheduler import DAGScheduler
from sparkbook.driver.listener import LiveListenerBus, SparkListener
from sparkbook.driver.taskscheduler import Launch, TaskSchedulerImpl
from sparkbook.errors import PythonException
from sparkbook.rdd.kinds import ParallelCollectionRDD, slice_collection

pytestmark = pytest.mark.sparkbook_only


class DriverStandIn:
    """Just enough of a SparkContext to build lineage: ids, call sites, configuration."""

    def __init__(self) -> None:
        self._ids = itertools.count()
        self._shuffle_ids = itertools.count()
        self._conf = SparkConf(loadDefaults=False)

    def _new_rdd_id(self) -> int:
        return next(self._ids)

    def _new_shuffle_id(self) -> int:
        return next(self._shuffle_ids)

    def _callsite(self) -> str:
        return "test:1"

    def _cached_partition_count(self, rdd_id: int) -> int:
        return 0

    def parallelize(self, data: list, n: int) -> ParallelCollectionRDD:
        return ParallelCollectionRDD(self, slice_collection(data, n))


class Waiter:
    def __init__(self) -> None:
        self.results: dict[int, bytes] = {}
        self.error: BaseException | None = None
        self.succeeded = False

    def task_succeeded(self, index: int, result: bytes) -> None:
        self.results[index] = result

    def job_failed(self, error: BaseException) -> None:
        self.error = error

    def job_succeeded(self) -> None:
        self.succeeded = True


class Recorder(SparkListener):
    def __init__(self) -> None:
        self.stages: list[tuple[int, int]] = []
        self.task_ends: list[str] = []

    def on_stage_submitted(self, event) -> None:
        self.stages.append((event.stage_info.stage_id, event.stage_info.attempt_id))

    def on_task_end(self, event) -> None:
        self.task_ends.append(event.reason)


class Cluster:
    """The schedulers plus two pretend executors with one core each."""

    def __init__(self, executors: tuple[str, ...] = ("0", "1"),
                 locality_wait: float = 0.0) -> None:
        self.bus = LiveListenerBus()
        self.events = Recorder()
        self.bus.add_listener(self.events, synchronous=True)
        self.ts = TaskSchedulerImpl(self.bus, max_failures=4, locality_wait=locality_wait)
        self.dag = DAGScheduler(self.ts, self.bus, lambda blob: None)
        self.ts.dag = self.dag
        for executor_id in executors:
            self.ts.executor_added(executor_id, 1)
        self.running: list[Launch] = []

    def submit(self, rdd, op: str = "collect") -> Waiter:
        waiter = Waiter()
        self.dag.submit_job(rdd, list, list(range(rdd.getNumPartitions())), waiter, {}, op,
                            "test:1")
        self.offer()
        return waiter

    def offer(self) -> None:
        """Kill what the driver asked to kill, then launch what fits."""
        while self.ts.kill_requests:
            task_id, _ = self.ts.kill_requests.pop()
            for launch in [lt for lt in self.running if lt.task_id == task_id]:
                self.running.remove(launch)
                self.ts.status_update(m.StatusUpdate(task_id, launch.executor_id,
                                                     m.TaskKilled()), None)
        self.running.extend(self.ts.resource_offers())

    def finish(self, launch: Launch, reason: m.TaskEndReason | None = None) -> None:
        self.running.remove(launch)
        update = m.StatusUpdate(launch.task_id, launch.executor_id, reason or m.Success())
        if reason is None and launch.task.kind == "shuffle_map":
            update.sizes = [1] * 4
        self.ts.status_update(update, [b"result"])
        self.offer()

    def finish_all(self) -> None:
        while self.running:
            self.finish(self.running[0])


def pairs_rdd(driver: DriverStandIn):
    return driver.parallelize([(i % 3, i) for i in range(12)], 4)


def test_reduce_by_key_is_two_stages_and_the_reduce_stage_waits_for_the_map_stage():
    driver, cluster = DriverStandIn(), Cluster()
    waiter = cluster.submit(pairs_rdd(driver).reduceByKey(add, 4))
    assert {launch.task.kind for launch in cluster.running} == {"shuffle_map"}
    assert len(cluster.running) == 2  # two one-core executors
    cluster.finish_all()
    assert waiter.succeeded and len(waiter.results) == 4
    assert cluster.events.stages == [(0, 0), (1, 0)]


def test_a_second_job_on_the_same_shuffle_skips_the_map_stage():
    driver, cluster = DriverStandIn(), Cluster()
    counts = pairs_rdd(driver).reduceByKey(add, 4)
    cluster.submit(counts)
    cluster.finish_all()
    waiter = cluster.submit(counts.mapValues(str), op="count")
    assert {launch.task.kind for launch in cluster.running} == {"result"}
    cluster.finish_all()
    assert waiter.succeeded
    assert [s for s, _ in cluster.events.stages] == [0, 1, 2]  # stage 0 was not resubmitted


def test_a_fetch_failure_resubmits_the_lost_map_output_then_the_reduce_stage():
    driver, cluster = DriverStandIn(), Cluster()
    waiter = cluster.submit(pairs_rdd(driver).reduceByKey(add, 4))
    while any(launch.task.kind == "shuffle_map" for launch in cluster.running):
        cluster.finish(cluster.running[0])
    holder = cluster.dag.map_outputs.locations(0, None)
    executor_of_map_1 = next(ex for ex, maps in holder if 1 in maps)
    cluster.finish(cluster.running[0], m.FetchFailed(executor_of_map_1, 0, 1, "executor lost"))
    # Map partition 1 runs again (stage 0, attempt 1) before the reduce stage's attempt 1.
    assert cluster.events.stages[-1] == (0, 1)
    assert [(lt.task.kind, lt.task.partition) for lt in cluster.running] == [("shuffle_map", 1)]
    cluster.finish_all()
    assert cluster.events.stages[-1] == (1, 1)
    assert waiter.succeeded and len(waiter.results) == 4
    assert "FetchFailed" in cluster.events.task_ends


def test_a_lost_executor_reruns_its_running_tasks_without_counting_failures():
    driver, cluster = DriverStandIn(), Cluster()
    waiter = cluster.submit(driver.parallelize(list(range(8)), 4).map(str))
    on_lost = [lt for lt in cluster.running if lt.executor_id == "1"]
    cluster.ts.executor_lost("1", "killed")
    cluster.running = [lt for lt in cluster.running if lt.executor_id != "1"]
    cluster.offer()
    cluster.finish_all()
    assert waiter.succeeded and waiter.error is None
    assert cluster.events.task_ends.count("ExecutorLostFailure") == len(on_lost)


def test_losing_an_executor_forgets_its_map_outputs_and_recomputes_them():
    driver, cluster = DriverStandIn(), Cluster()
    counts = pairs_rdd(driver).reduceByKey(add, 4)
    cluster.submit(counts)
    cluster.finish_all()
    cluster.ts.executor_lost("0", "killed")
    missing = cluster.dag.map_outputs.missing(0)
    assert missing, "the outputs written on executor 0 are gone"
    waiter = cluster.submit(counts)
    assert {(lt.task.kind, lt.task.partition) for lt in cluster.running} <= {
        ("shuffle_map", p) for p in missing}
    cluster.finish_all()
    assert waiter.succeeded


def test_a_task_failing_four_times_fails_the_job_with_the_remote_error():
    driver, cluster = DriverStandIn(), Cluster()
    waiter = cluster.submit(driver.parallelize(list(range(4)), 1).map(str))
    for _ in range(4):
        cluster.finish(cluster.running[0], m.ExceptionFailure(
            "ValueError", "boom", "Traceback ...\nValueError: boom\n"))
    assert isinstance(waiter.error, PythonException)
    assert waiter.error.remote_type == "ValueError"
    assert "failed 4 times" in str(waiter.error)
    assert cluster.running == []


def test_a_retried_task_avoids_the_executor_it_failed_on():
    driver, cluster = DriverStandIn(), Cluster()
    cluster.submit(driver.parallelize(list(range(4)), 1).map(str))
    first = cluster.running[0]
    cluster.finish(first, m.ExceptionFailure("E", "m", ""))
    assert cluster.running[0].executor_id != first.executor_id


def test_tasks_prefer_the_executor_that_caches_their_partition():
    driver, cluster = DriverStandIn(), Cluster(locality_wait=3.0)
    cached = driver.parallelize(list(range(8)), 4).map(str).cache()
    for partition in range(4):
        cluster.dag.block_updated("1", cached.id(), partition, True)
    cluster.submit(cached)
    assert [lt.executor_id for lt in cluster.running] == ["1"]
