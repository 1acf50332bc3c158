"""TaskSetManager: schedules the tasks of one stage attempt and retries the ones that fail.

It prefers to run a task on an executor that holds the task's cached input (locality),
waiting up to ``spark.locality.wait`` for such a slot before running it elsewhere. A
failed task runs again, on another executor when there is one, until it has failed
``spark.task.maxFailures`` times; then the whole task set is aborted. A task lost with
its executor runs again without counting as a failure. With ``spark.speculation`` a task
running much longer than its finished siblings gets a copy on another executor; the
first attempt to finish wins and the others are killed.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass

from sparkbook.driver.task import Task, TaskSet


@dataclass(frozen=True)
class Speculation:
    """When a running task is slow enough to copy (``spark.speculation.*``, with Spark
    4's defaults): once ``quantile`` of the tasks have finished, a task running longer
    than ``multiplier`` times their median duration, and at least ``min_runtime``."""

    multiplier: float = 3.0
    quantile: float = 0.9
    min_runtime: float = 0.1


class TaskSetManager:
    """State machine for one TaskSet (no sockets, no clocks of its own)."""

    def __init__(self, task_set: TaskSet, max_failures: int = 4,
                 locality_wait: float = 3.0, now: float = 0.0) -> None:
        self.task_set = task_set
        self.tasks = task_set.tasks
        self.max_failures = max_failures
        self.locality_wait = locality_wait
        n = len(self.tasks)
        self.successful = [False] * n
        self.failures = [0] * n
        self.attempts = [0] * n
        self.failed_on: list[set[str]] = [set() for _ in range(n)]
        self.running: dict[int, tuple[int, str]] = {}  # task id -> (index, executor)
        self.pending: set[int] = set(range(n))
        self.speculatable: set[int] = set()  # running indices that may get a copy
        self.started: dict[int, float] = {}  # task id -> launch time
        self.durations: list[float] = []  # of the successful tasks
        self.num_succeeded = 0
        self.zombie = False
        self._for_executor: dict[str, deque[int]] = {}
        self._no_prefs: deque[int] = deque()
        self._all: deque[int] = deque()
        self._last_local_launch = now
        for index in range(n):
            self._enqueue(index)

    @property
    def stage_id(self) -> int:
        return self.task_set.stage_id

    @property
    def stage_attempt(self) -> int:
        return self.task_set.stage_attempt

    def _enqueue(self, index: int) -> None:
        prefs = self.tasks[index].preferred
        for executor_id in prefs:
            self._for_executor.setdefault(executor_id, deque()).append(index)
        if not prefs:
            self._no_prefs.append(index)
        self._all.append(index)

    def has_pending(self) -> bool:
        return not self.zombie and bool(self.pending or self.speculatable)

    def resource_offer(self, executor_id: str, live_executors: int,
                       now: float) -> tuple[int, Task] | None:
        """A task (its index and template) to run on ``executor_id``, or None."""
        if self.zombie:
            return None
        if not self.pending:
            return self._speculative_offer(executor_id)
        index = self._pop(self._for_executor.get(executor_id), executor_id, live_executors)
        if index is not None:
            self._last_local_launch = now
        else:
            index = self._pop(self._no_prefs, executor_id, live_executors)
        if index is None and now - self._last_local_launch >= self.locality_wait:
            index = self._pop(self._all, executor_id, live_executors)
        if index is None:
            return self._speculative_offer(executor_id)
        self.pending.discard(index)
        self.attempts[index] += 1
        return index, self.tasks[index]

    def _speculative_offer(self, executor_id: str) -> tuple[int, Task] | None:
        """A copy of a slow task, for an executor that is not already running it."""
        for index in sorted(self.speculatable):
            if all(ex != executor_id for i, ex in self.running.values() if i == index):
                self.speculatable.discard(index)
                self.attempts[index] += 1
                return index, self.tasks[index]
        return None

    def is_speculative(self, index: int) -> bool:
        """Whether a launch of ``index`` now would be a copy of a running attempt."""
        return any(i == index for i, _ in self.running.values())

    def check_speculatable(self, now: float, rule: Speculation) -> bool:
        """Mark the running tasks slow enough to copy; True if any was newly marked."""
        if self.zombie or self.num_succeeded < max(1, math.floor(rule.quantile *
                                                                 len(self.tasks))):
            return False
        threshold = max(rule.multiplier * statistics.median(self.durations), rule.min_runtime)
        copies: dict[int, int] = {}
        for index, _ in self.running.values():
            copies[index] = copies.get(index, 0) + 1
        found = False
        for task_id, (index, _) in self.running.items():
            if (copies[index] == 1 and index not in self.speculatable
                    and not self.successful[index] and now - self.started[task_id] > threshold):
                self.speculatable.add(index)
                found = True
        return found

    def other_attempts(self, index: int) -> list[tuple[int, str]]:
        """The attempts of ``index`` still running, as (task id, executor): once one has
        succeeded, the others are killed."""
        return [(task_id, ex) for task_id, (i, ex) in self.running.items() if i == index]

    def _pop(self, queue: deque[int] | None, executor_id: str, live: int) -> int | None:
        if not queue:
            return None
        skipped = []
        found = None
        while queue:
            index = queue.popleft()
            if index not in self.pending:
                continue  # launched or finished through another queue
            failed_here = self.failed_on[index]
            if executor_id in failed_here and len(failed_here) < live:
                skipped.append(index)  # try it on an executor where it has not failed
                continue
            found = index
            break
        queue.extendleft(reversed(skipped))
        return found

    def launched(self, task_id: int, index: int, executor_id: str, now: float = 0.0) -> None:
        self.running[task_id] = (index, executor_id)
        self.started[task_id] = now

    def attempt_number(self, index: int) -> int:
        return self.attempts[index] - 1

    def handle_success(self, task_id: int, now: float = 0.0) -> int | None:
        """Mark the task done; its index, or None if the index had already succeeded."""
        index, _ = self.running.pop(task_id, (None, None))
        started = self.started.pop(task_id, now)
        if index is None or self.successful[index]:
            return None
        self.successful[index] = True
        self.speculatable.discard(index)
        self.num_succeeded += 1
        self.durations.append(now - started)
        return index

    def handle_failure(self, task_id: int, counts: bool) -> str | None:
        """Requeue a failed task. Returns a reason when the task set must be aborted."""
        index, executor_id = self.running.pop(task_id, (None, None))
        self.started.pop(task_id, None)
        if index is None or self.successful[index]:
            return None
        if counts:
            self.failures[index] += 1
            self.failed_on[index].add(executor_id)
            if self.failures[index] >= self.max_failures:
                self.zombie = True
                return (f"Task {index} in stage {self.stage_id}.{self.stage_attempt} failed "
                        f"{self.failures[index]} times")
        if not self.zombie and not self.is_speculative(index):  # no copy still running
            self.pending.add(index)
            self._enqueue(index)
        return None

    def executor_lost(self, executor_id: str) -> list[int]:
        """Task ids that were running on the lost executor (each is requeued)."""
        lost = [tid for tid, (_, ex) in self.running.items() if ex == executor_id]
        self._for_executor.pop(executor_id, None)
        return lost

    def is_finished(self) -> bool:
        return self.num_succeeded == len(self.tasks)
