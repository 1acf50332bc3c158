"""Fault tolerance as the lesson tells it: failures cost retries, never wrong answers."""

from __future__ import annotations

import os
import signal
import threading
import time
from operator import add

import pytest

from sparkbook import PythonException, SparkListener, TaskContext
from sparkbook.serializers import ClosureSerializationError

pytestmark = pytest.mark.sparkbook_only


class EventLog(SparkListener):
    """Every task end and executor removal the driver's listener bus delivered."""

    def __init__(self) -> None:
        self.task_ends = []
        self.removed = []

    def on_task_end(self, event) -> None:
        self.task_ends.append(event)

    def on_executor_removed(self, event) -> None:
        self.removed.append(event)


@pytest.fixture
def events(sc):
    log = EventLog()
    sc._bus.add_listener(log)
    yield log
    sc._bus.wait_until_empty()
    sc._bus.remove_listener(log)


def wait_for_executors(sc, count: int = 2, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while len(sc._executor_pids()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(sc._executor_pids()) >= count


def explode_on_three(x: int) -> int:
    if x == 3:
        raise ValueError(f"boom at {x}")
    return x


def test_a_failing_task_is_retried_four_times_then_the_remote_error_reaches_the_driver(sc, events):
    with pytest.raises(PythonException) as caught:
        sc.parallelize(range(4), 2).map(explode_on_three).collect()
    error = caught.value
    assert error.remote_type == "ValueError"
    assert error.remote_message == "boom at 3"
    assert "explode_on_three" in error.remote_traceback
    assert 'raise ValueError(f"boom at {x}")' in error.remote_traceback
    assert "failed 4 times" in str(error) and "ValueError: boom at 3" in str(error)
    sc._bus.wait_until_empty()
    failures = [e for e in events.task_ends if e.reason == "ExceptionFailure"]
    assert len(failures) == 4
    assert {e.task_info.index for e in failures} == {1}
    # The cluster is still usable afterwards.
    assert sc.parallelize(range(10), 2).sum() == 45


def test_a_retry_runs_on_another_executor(sc, events):
    wait_for_executors(sc)

    def fail_first_attempt(it):
        if TaskContext.get().attemptNumber() == 0:
            raise RuntimeError("first attempt fails")
        return it

    assert sc.parallelize(range(6), 1).mapPartitions(fail_first_attempt).collect() == [*range(6)]
    sc._bus.wait_until_empty()
    failed = [e for e in events.task_ends if e.reason == "ExceptionFailure"]
    succeeded = [e for e in events.task_ends if e.reason == "Success"]
    assert len(failed) == 1 and len(succeeded) == 1
    assert failed[0].task_info.executor_id != succeeded[0].task_info.executor_id


def test_accumulator_updates_count_once_per_successful_task(sc):
    acc = sc.accumulator(0)

    def count_and_fail_once(it):
        for _ in it:
            acc.add(1)
        if TaskContext.get().attemptNumber() == 0 and TaskContext.get().partitionId() == 0:
            raise RuntimeError("the updates of this attempt must not count")
        return iter(())

    sc.parallelize(range(100), 4).mapPartitions(count_and_fail_once).count()
    assert acc.value == 100


def test_an_unpicklable_closure_is_named_at_submit_time(sc, events):
    lock = threading.Lock()

    def uses_lock(x):
        with lock:
            return x

    with pytest.raises(ClosureSerializationError) as caught:
        sc.parallelize(range(4), 2).map(uses_lock).collect()
    message = str(caught.value)
    assert "variable 'lock'" in message and "lock" in message.lower()
    assert "uses_lock" in message
    sc._bus.wait_until_empty()
    assert events.task_ends == []  # nothing was sent to an executor


def test_using_the_spark_context_inside_a_task_says_it_is_driver_only(sc):
    with pytest.raises(Exception, match="SparkContext can only be used on the driver"):
        sc.parallelize(range(2), 2).map(lambda x: sc.parallelize([x]).count()).collect()


def kill_executor_when(sc, condition, timeout: float = 30.0) -> threading.Thread:
    """SIGKILL one executor from a thread as soon as ``condition()`` holds."""

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                pid = sorted(sc._executor_pids().items())[0][1]
                os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.01)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def slow_identity(x: int) -> int:
    time.sleep(0.002)
    return x


def test_an_executor_killed_during_the_reduce_stage_costs_a_retry_not_the_answer(sc, events):
    wait_for_executors(sc)
    store = sc._status
    pairs = sc.parallelize(range(4000), 8).map(lambda x: (x % 10, slow_identity(x)))
    counts = pairs.reduceByKey(add).map(lambda kv: (kv[0], slow_identity(kv[1])))

    def reduce_stage_running() -> bool:
        with store.lock:
            return any(
                s.status == "ACTIVE"
                and s.completed == 0
                and s.stage_id > 0
                and not s.name.startswith("map at")
                for s in store.stages.values()
                if s.name.startswith("collect")
            )

    killer = kill_executor_when(sc, reduce_stage_running)
    result = dict(counts.collect())
    killer.join()
    expected = {k: sum(x for x in range(4000) if x % 10 == k) for k in range(10)}
    assert result == expected
    sc._bus.wait_until_empty()
    assert events.removed, "the driver was told the executor was lost"
    wait_for_executors(sc)


def test_an_executor_killed_mid_map_stage_reruns_its_tasks_elsewhere(sc, events):
    wait_for_executors(sc)
    store = sc._status

    def map_stage_half_done() -> bool:
        with store.lock:
            return any(s.status == "ACTIVE" and s.completed >= 2 for s in store.stages.values())

    killer = kill_executor_when(sc, map_stage_half_done)
    total = (
        sc.parallelize(range(3000), 12)
        .map(slow_identity)
        .map(lambda x: (x % 7, x))
        .reduceByKey(add)
        .values()
        .sum()
    )
    killer.join()
    assert total == sum(range(3000))
    sc._bus.wait_until_empty()
    assert events.removed
    reasons = {e.reason for e in events.task_ends}
    assert "Success" in reasons
    wait_for_executors(sc)


def test_cached_partitions_lost_with_an_executor_are_recomputed_from_lineage(sc):
    wait_for_executors(sc)
    cached = sc.parallelize(range(1000), 4).map(lambda x: x * 3).cache()
    assert cached.count() == 1000
    os.kill(sorted(sc._executor_pids().values())[0], signal.SIGKILL)
    assert cached.sum() == 3 * sum(range(1000))
    wait_for_executors(sc)
    assert cached.sum() == 3 * sum(range(1000))


def test_failed_jobs_leave_no_stage_marked_active(sc):
    lock = threading.Lock()
    with pytest.raises(ClosureSerializationError):
        sc.parallelize(range(4), 2).map(lambda x: lock and x).count()
    with pytest.raises(PythonException):
        sc.parallelize(range(4), 2).map(explode_on_three).map(lambda x: (x, x)) \
            .reduceByKey(add).count()
    tracker = sc.statusTracker()
    assert tracker.getActiveStageIds() == [] and tracker.getActiveJobsIds() == []
    failed = [tracker.getJobInfo(j) for j in range(100) if tracker.getJobInfo(j)]
    assert [j.status for j in failed[-2:]] == ["FAILED", "FAILED"]


def test_a_chatty_task_does_not_block_its_executor(sc):
    def chatty(it):
        for x in it:
            print("x" * 1000, x)  # 2 MB in all: more than any pipe buffer holds
            yield x

    assert sc.parallelize(range(2000), 2).mapPartitions(chatty).count() == 2000
