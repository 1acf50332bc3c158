"""TaskSetManager alone: locality with its wait, retries away from a failing executor,
the failure limit, and tasks lost with their executor (no sockets, no clock but ours)."""

from __future__ import annotations

import pytest

from sparkbook.driver.task import ResultTask, TaskSet
from sparkbook.driver.tasksetmanager import TaskSetManager
from sparkbook.rdd import Partition

pytestmark = pytest.mark.sparkbook_only


def task_set(preferred: list[list[str]]) -> TaskSet:
    tasks = [ResultTask(0, 0, i, Partition(i), prefs, output_index=i)
             for i, prefs in enumerate(preferred)]
    return TaskSet(tasks, stage_id=0, stage_attempt=0, priority=0)


def launch(tsm: TaskSetManager, executor_id: str, task_id: int, now: float = 0.0,
           live: int = 2) -> int | None:
    """Offer one core; the index launched as ``task_id``, or None."""
    offer = tsm.resource_offer(executor_id, live, now)
    if offer is None:
        return None
    index, _ = offer
    tsm.launched(task_id, index, executor_id)
    return index


def test_a_task_waits_for_the_executor_caching_its_input_until_the_locality_wait_ends():
    tsm = TaskSetManager(task_set([["1"]]), locality_wait=3.0, now=0.0)
    assert launch(tsm, "0", 0, now=1.0) is None  # executor 0 has not got the block
    assert launch(tsm, "0", 0, now=3.5) == 0  # waited long enough: run it anywhere


def test_a_task_runs_at_once_where_its_input_is_cached():
    tsm = TaskSetManager(task_set([["1"], []]), locality_wait=3.0)
    assert launch(tsm, "1", 0) == 0
    assert launch(tsm, "0", 1) == 1  # no preference: any executor


def test_a_failed_task_is_retried_on_another_executor_while_there_is_one():
    tsm = TaskSetManager(task_set([[]]), max_failures=4)
    assert launch(tsm, "0", 0) == 0
    assert tsm.handle_failure(0, counts=True) is None
    assert launch(tsm, "0", 1) is None  # not where it failed, while executor 1 lives
    assert launch(tsm, "1", 1) == 0
    assert tsm.attempt_number(0) == 1


def test_the_fourth_counted_failure_aborts_the_task_set():
    tsm = TaskSetManager(task_set([[]]), max_failures=4)
    reasons = []
    for task_id in range(4):
        assert launch(tsm, "0", task_id, live=1) == 0  # one executor: it must retry there
        reasons.append(tsm.handle_failure(task_id, counts=True))
    assert reasons[:3] == [None] * 3
    assert reasons[3] == "Task 0 in stage 0.0 failed 4 times"
    assert tsm.zombie and not tsm.has_pending()


def test_failures_that_do_not_count_never_abort():
    tsm = TaskSetManager(task_set([[]]), max_failures=2)
    for task_id in range(10):
        assert launch(tsm, "0", task_id, live=1) == 0
        assert tsm.handle_failure(task_id, counts=False) is None
    assert tsm.failures == [0] and tsm.has_pending()


def test_tasks_lost_with_their_executor_are_named_and_run_again():
    tsm = TaskSetManager(task_set([[], []]))
    launch(tsm, "0", 10)
    launch(tsm, "1", 11)
    assert tsm.executor_lost("1") == [11]
    assert tsm.handle_failure(11, counts=False) is None
    assert launch(tsm, "0", 12) == 1


def test_a_late_success_after_another_attempt_won_is_not_counted_twice():
    tsm = TaskSetManager(task_set([[]]))
    launch(tsm, "0", 0)
    tsm.handle_failure(0, counts=False)
    launch(tsm, "1", 1)
    assert tsm.handle_success(1) == 0
    assert tsm.handle_success(0) is None  # the first attempt, already given up on
    assert tsm.is_finished() and tsm.num_succeeded == 1
