"""TaskSetManager: schedules the tasks of one stage attempt and retries the ones that fail.

It prefers to run a task on an executor that holds the task's cached input (locality),
waiting up to ``spark.locality.wait`` for such a slot before running it elsewhere. A
failed task runs again, on another executor when there is one, until it has failed
``spark.task.maxFailures`` times; then the whole task set is aborted. A task lost with
its executor runs again without counting as a failure.
"""

from __future__ import annotations

from collections import deque

from sparkbook.driver.task import Task, TaskSet


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
        return not self.zombie and bool(self.pending)

    def resource_offer(self, executor_id: str, live_executors: int,
                       now: float) -> tuple[int, Task] | None:
        """A task (its index and template) to run on ``executor_id``, or None."""
        if self.zombie or not self.pending:
            return None
        index = self._pop(self._for_executor.get(executor_id), executor_id, live_executors)
        if index is not None:
            self._last_local_launch = now
        else:
            index = self._pop(self._no_prefs, executor_id, live_executors)
        if index is None and now - self._last_local_launch >= self.locality_wait:
            index = self._pop(self._all, executor_id, live_executors)
        if index is None:
            return None
        self.pending.discard(index)
        self.attempts[index] += 1
        return index, self.tasks[index]

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

    def launched(self, task_id: int, index: int, executor_id: str) -> None:
        self.running[task_id] = (index, executor_id)

    def attempt_number(self, index: int) -> int:
        return self.attempts[index] - 1

    def handle_success(self, task_id: int) -> int | None:
        """Mark the task done; its index, or None if the index had already succeeded."""
        index, _ = self.running.pop(task_id, (None, None))
        if index is None or self.successful[index]:
            return None
        self.successful[index] = True
        self.num_succeeded += 1
        return index

    def handle_failure(self, task_id: int, counts: bool) -> str | None:
        """Requeue a failed task. Returns a reason when the task set must be aborted."""
        index, executor_id = self.running.pop(task_id, (None, None))
        if index is None or self.successful[index]:
            return None
        if counts:
            self.failures[index] += 1
            self.failed_on[index].add(executor_id)
            if self.failures[index] >= self.max_failures:
                self.zombie = True
                return (f"Task {index} in stage {self.stage_id}.{self.stage_attempt} failed "
                        f"{self.failures[index]} times")
        if not self.zombie:
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
