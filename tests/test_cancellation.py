"""Cancelling jobs: running tasks stop on the executors and the cluster stays usable."""

from __future__ import annotations

import threading
import time

import pytest

from sparkbook import SparkException

pytestmark = pytest.mark.sparkbook_only


def sleepy(x: int) -> int:
    time.sleep(0.05)
    return x


def test_cancel_all_jobs_stops_running_tasks_within_a_second(sc):
    started = threading.Event()

    def cancel_soon() -> None:
        deadline = time.monotonic() + 20
        while not sc.statusTracker().getActiveStageIds() and time.monotonic() < deadline:
            time.sleep(0.01)
        started.set()
        time.sleep(0.3)
        sc.cancelAllJobs()

    canceller = threading.Thread(target=cancel_soon)
    canceller.start()
    begun = time.monotonic()
    with pytest.raises(SparkException, match="cancel"):
        sc.parallelize(range(2000), 4).map(sleepy).count()  # about 25 s if not cancelled
    canceller.join()
    assert started.is_set() and time.monotonic() - begun < 5
    deadline = time.monotonic() + 5
    while any(e.get("active_tasks") for e in sc.statusStore.executors.values() if e.get("alive")):
        assert time.monotonic() < deadline, "tasks still running on the executors"
        time.sleep(0.05)
    assert sc.parallelize(range(10), 2).sum() == 45


def test_cancel_job_group_cancels_only_that_group(sc):
    errors = []

    def run_group() -> None:
        sc.setJobGroup("slow", "a slow job")
        try:
            sc.parallelize(range(400), 2).map(sleepy).count()
        except SparkException as exc:
            errors.append(exc)

    worker = threading.Thread(target=run_group)
    worker.start()
    deadline = time.monotonic() + 20
    while not sc.statusTracker().getJobIdsForGroup("slow") and time.monotonic() < deadline:
        time.sleep(0.01)
    sc.cancelJobGroup("slow")
    worker.join(20)
    assert errors and "cancelled" in str(errors[0])
    assert sc.parallelize(range(4), 2).count() == 4
