"""An idle executor hands the memory its finished tasks freed back to the OS."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.sparkbook_only

MB = 1 << 20


def _allocate_and_free(_: object) -> list[tuple[int, int]]:
    """Touch 300 MB of Arrow buffers, drop them, and report this executor's RSS then."""
    import os

    import numpy as np
    import psutil
    import pyarrow as pa

    buffers = [pa.allocate_buffer(MB) for _ in range(300)]
    for b in buffers:
        np.frombuffer(b, np.uint8)[::4096] = 1  # pages really in memory
    del buffers
    return [(os.getpid(), psutil.Process().memory_info().rss)]


def _rss(_: object) -> list[tuple[int, int]]:
    import os

    import psutil
    return [(os.getpid(), psutil.Process().memory_info().rss)]


def test_an_executor_returns_a_finished_tasks_arrow_memory_once_idle(sc):
    from sparkbook.executor.memory import IDLE_BEFORE_RELEASE

    after_task = dict(sc.parallelize([0, 1], 2).mapPartitions(_allocate_and_free).collect())
    assert all(rss > 300 * MB for rss in after_task.values())  # freed, but still held
    time.sleep(IDLE_BEFORE_RELEASE + 0.5)  # the executors are idle
    later = dict(sc.parallelize(range(8), 8).mapPartitions(_rss).collect())
    both = after_task.keys() & later.keys()
    assert both
    for pid in both:
        assert later[pid] < after_task[pid] - 200 * MB, (pid, after_task[pid], later[pid])


def test_a_long_task_that_grew_the_executor_returns_the_memory_before_the_next_task(sc):
    def allocate_slowly(part):
        import time

        out = _allocate_and_free(part)
        time.sleep(0.05)  # a long task, whose growth is measured
        return out

    after_task = dict(sc.parallelize([0, 1], 2).mapPartitions(allocate_slowly).collect())
    later = dict(sc.parallelize(range(2), 2).mapPartitions(_rss).collect())  # at once
    both = after_task.keys() & later.keys()
    assert both
    for pid in both:
        assert later[pid] < after_task[pid] - 200 * MB, (pid, after_task[pid], later[pid])
