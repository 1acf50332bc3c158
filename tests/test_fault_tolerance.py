"""Fault tolerance as the lesson tells it: failures cost retries, never wrong answers."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from operator import add

import pytest

from sparkbook import PythonException, SparkListener, TaskContext
from sparkbook.serializers import ClosureSerializationError

pytestmark = pytest.mark.sparkbook_only


def wait_for_executors(sc, count: int = 2, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while len(sc.cluster.executors()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(sc.cluster.executors()) >= count


def explode_on_three(x: int) -> int:
    if x == 3:
        raise ValueError(f"boom at {x}")
    return x


def test_a_failing_task_is_retried_four_times_then_the_remote_error_reaches_the_driver(
        sc, recorded):
    with pytest.raises(PythonException) as caught:
        sc.parallelize(range(4), 2).map(explode_on_three).collect()
    error = caught.value
    assert error.remote_type == "ValueError"
    assert error.remote_message == "boom at 3"
    assert "explode_on_three" in error.remote_traceback
    assert 'raise ValueError(f"boom at {x}")' in error.remote_traceback
    assert "failed 4 times" in str(error) and "ValueError: boom at 3" in str(error)
    sc.waitForListeners()
    failures = [e for e in recorded.tasks if e.reason == "ExceptionFailure"]
    assert len(failures) == 4
    assert {e.task_info.index for e in failures} == {1}
    # The cluster is still usable afterwards.
    assert sc.parallelize(range(10), 2).sum() == 45


def test_a_retry_runs_on_another_executor(sc, recorded):
    wait_for_executors(sc)

    def fail_first_attempt(it):
        if TaskContext.get().attemptNumber() == 0:
            raise RuntimeError("first attempt fails")
        return it

    assert sc.parallelize(range(6), 1).mapPartitions(fail_first_attempt).collect() == [*range(6)]
    sc.waitForListeners()
    failed = [e for e in recorded.tasks if e.reason == "ExceptionFailure"]
    succeeded = [e for e in recorded.tasks if e.reason == "Success"]
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


def test_an_unpicklable_closure_is_named_at_submit_time(sc, recorded):
    lock = threading.Lock()

    def uses_lock(x):
        with lock:
            return x

    with pytest.raises(ClosureSerializationError) as caught:
        sc.parallelize(range(4), 2).map(uses_lock).collect()
    message = str(caught.value)
    assert "variable 'lock'" in message and "lock" in message.lower()
    assert "uses_lock" in message
    sc.waitForListeners()
    assert recorded.tasks == []  # nothing was sent to an executor


def test_using_the_spark_context_inside_a_task_says_it_is_driver_only(sc):
    with pytest.raises(Exception, match="SparkContext can only be used on the driver"):
        sc.parallelize(range(2), 2).map(lambda x: sc.parallelize([x]).count()).collect()


class KillOnTaskStart(SparkListener):
    """SIGKILLs one executor the moment a task start matches ``pick`` (once).

    It listens synchronously, on the scheduler's own thread, so it cannot miss a short
    stage the way a polling thread can. ``pick(event, stage)`` returns the executor id to
    kill, or None.
    """

    def __init__(self, sc, pick) -> None:
        self.sc, self.pick, self.victim = sc, pick, None

    def on_task_start(self, event) -> None:
        if self.victim is not None:
            return
        with self.sc.statusStore.lock:
            stage = self.sc.statusStore.stages.get(event.stage_id)
        victim = self.pick(event, stage) if stage is not None else None
        if victim is not None:
            self.victim = victim
            os.kill(self.sc.cluster.executor_pids()[victim], signal.SIGKILL)


@contextlib.contextmanager
def killing_an_executor(sc, pick):
    killer = KillOnTaskStart(sc, pick)
    sc.addSparkListener(killer, synchronous=True)
    try:
        yield killer
    finally:
        sc.removeSparkListener(killer)
    assert killer.victim is not None, "the executor was never killed"


def slow_identity(x: int) -> int:
    time.sleep(0.002)
    return x


def test_an_executor_killed_during_the_reduce_stage_costs_a_retry_not_the_answer(sc, recorded):
    wait_for_executors(sc)
    pairs = sc.parallelize(range(4000), 8).map(lambda x: (x % 10, slow_identity(x)))
    counts = pairs.reduceByKey(add).map(lambda kv: (kv[0], slow_identity(kv[1])))

    def other_executor_once_reducing(event, stage):
        # Kill the executor NOT running this reduce task: the task must then fail to
        # fetch that executor's map outputs, and the map stage must run again.
        if stage.name.startswith("collect"):
            return next(e for e in sc.cluster.executor_pids() if e != event.task_info.executor_id)
        return None

    with killing_an_executor(sc, other_executor_once_reducing):
        result = dict(counts.collect())
    expected = {k: sum(x for x in range(4000) if x % 10 == k) for k in range(10)}
    assert result == expected
    sc.waitForListeners()
    assert recorded.removed, "the driver was told the executor was lost"
    assert "FetchFailed" in {e.reason for e in recorded.tasks}
    wait_for_executors(sc)


def test_an_executor_killed_mid_map_stage_reruns_its_tasks_elsewhere(sc, recorded):
    wait_for_executors(sc)

    def executor_of_a_map_task_once_two_are_done(event, stage):
        return event.task_info.executor_id if stage.completed >= 2 else None

    with killing_an_executor(sc, executor_of_a_map_task_once_two_are_done):
        total = (
            sc.parallelize(range(3000), 12)
            .map(slow_identity)
            .map(lambda x: (x % 7, x))
            .reduceByKey(add)
            .values()
            .sum()
        )
    assert total == sum(range(3000))
    sc.waitForListeners()
    assert recorded.removed
    reasons = {e.reason for e in recorded.tasks}
    assert "Success" in reasons
    wait_for_executors(sc)


def test_cached_partitions_lost_with_an_executor_are_recomputed_from_lineage(sc):
    wait_for_executors(sc)
    cached = sc.parallelize(range(1000), 4).map(lambda x: x * 3).cache()
    assert cached.count() == 1000
    os.kill(sorted(sc.cluster.executor_pids().values())[0], signal.SIGKILL)
    assert cached.sum() == 3 * sum(range(1000))
    wait_for_executors(sc)
    assert cached.sum() == 3 * sum(range(1000))


def test_failed_jobs_leave_no_stage_marked_active(sc):
    tracker = sc.statusTracker()
    before = set(sc.statusStore.jobs)
    lock = threading.Lock()
    with pytest.raises(ClosureSerializationError):
        sc.parallelize(range(4), 2).map(lambda x: lock and x).count()
    with pytest.raises(PythonException):
        sc.parallelize(range(4), 2).map(explode_on_three).map(lambda x: (x, x)) \
            .reduceByKey(add).count()
    assert tracker.getActiveStageIds() == [] and tracker.getActiveJobsIds() == []
    these = sorted(set(sc.statusStore.jobs) - before)
    assert [tracker.getJobInfo(j).status for j in these] == ["FAILED", "FAILED"]


def test_a_chatty_task_does_not_block_its_executor(sc):
    def chatty(it):
        for x in it:
            print("x" * 1000, x)  # 2 MB in all: more than any pipe buffer holds
            yield x

    assert sc.parallelize(range(2000), 2).mapPartitions(chatty).count() == 2000


def test_a_defect_in_the_scheduler_fails_the_job_instead_of_hanging_it(sc, monkeypatch):
    # Fault injection: the scheduler's handling of a task's end raises once, after doing
    # its work (as a defect would). The thread that runs the scheduler must not die with
    # it: the job fails, naming the defect, and the next job runs.
    from sparkbook.driver import scheduler_events as ev
    from sparkbook.errors import SparkException

    dag = sc._backend._dag
    handle = dag._handlers[ev.StatusUpdate]
    raised = []

    def defective(event):
        handle(event)
        if not raised:
            raised.append(event)
            raise RuntimeError("an invented defect")

    monkeypatch.setitem(dag._handlers, ev.StatusUpdate, defective)
    with pytest.raises(SparkException, match="the driver's scheduler failed: RuntimeError: "
                                             "an invented defect"):
        # Four tasks on two cores: the first task's end leaves the job running.
        sc.parallelize(range(4), 4).map(lambda x: (time.sleep(0.2), x)[1]).collect()
    assert raised
    assert sc.parallelize(range(10), 2).map(lambda x: x * 2).sum() == 90
    # No task's end was lost with the defect: both executors' cores are free again.
    pids = sc.parallelize(range(2), 2).map(lambda x: (time.sleep(0.3), os.getpid())[1])
    assert len(set(pids.collect())) == 2
