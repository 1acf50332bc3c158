"""TaskSchedulerImpl: matches task sets to free executor cores and reports task endings.

It is part of the driver's scheduling core and owned by the DAGScheduler: it has no
sockets and no pointer back. What it has to say goes two ways only: listener events
(TaskStart, TaskEnd) are appended to the core's instructions through ``emit``, and the
task endings the DAGScheduler must react to are returned (``CompletionEvent``,
``TaskSetFailed``), as Spark's TaskSetManager reports them to the DAGScheduler.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sparkbook import messages as m
from sparkbook.driver import scheduler_events as ev
from sparkbook.driver.listener import ShuffleWrite, TaskEnd, TaskInfo, TaskStart
from sparkbook.driver.task import Task, TaskSet
from sparkbook.driver.tasksetmanager import Speculation, TaskSetManager
from sparkbook.metrics import TaskMetrics


@dataclass(slots=True)
class Launch:
    """Run ``task`` as ``task_id`` (attempt ``attempt``) on ``executor_id``."""

    executor_id: str
    task_id: int
    attempt: int
    task: Task
    properties: dict


@dataclass
class ExecutorData:
    """What the scheduler knows of one executor (Spark's ExecutorData), including what it
    has already been sent: stage binaries, broadcasts and added files go at most once."""

    info: m.ExecutorInfo
    free_cores: int
    binaries: set[tuple[int, int]] = field(default_factory=set)
    held: set[tuple[str, str]] = field(default_factory=set)  # (kind, name) shipped


@dataclass(slots=True)
class CompletionEvent:
    """A task the DAGScheduler must hear of: a first success, or a fetch failure."""

    task: Task
    reason: m.TaskEndReason
    executor_id: str
    update: m.StatusUpdate
    result: list


@dataclass(slots=True)
class TaskSetFailed:
    """A task failed ``spark.task.maxFailures`` times: its stage is aborted."""

    stage_id: int
    reason: str
    failure: m.TaskEndReason | None  # the last failure
    executor_id: str


Completion = CompletionEvent | TaskSetFailed


class TaskSchedulerImpl:
    def __init__(self, emit: Callable[[object], None], max_failures: int = 4,
                 locality_wait: float = 3.0, clock: Callable[[], float] = time.time,
                 speculation: Speculation | None = None) -> None:
        self.emit = emit
        self.speculation = speculation  # None: spark.speculation is off
        self.max_failures = max_failures
        self.locality_wait = locality_wait
        self.clock = clock
        self.executors: dict[str, ExecutorData] = {}
        self.managers: list[TaskSetManager] = []
        self.by_task: dict[int, tuple[TaskSetManager, int, TaskInfo]] = {}
        self.offer_all = False  # new tasks appeared: every free core may take one
        self._task_ids = itertools.count()
        self._rotate = 0

    # --- executors -----------------------------------------------------------------------

    def executor_added(self, info: m.ExecutorInfo) -> None:
        self.executors[info.executor_id] = ExecutorData(info, info.cores)
        self.offer_all = True

    def executor_lost(self, executor_id: str, reason: str,
                      exit_caused_by_app: bool = False) -> list[Completion] | None:
        """The endings of the tasks that ran there; None if the executor was unknown. When
        its process exited unasked, the tasks running there count a failure each (Spark's
        ``exitCausedByApp``): a task that kills its executor fails its job in the end."""
        if self.executors.pop(executor_id, None) is None:
            return None
        completions: list[Completion] = []
        for manager in list(self.managers):
            for task_id in manager.executor_lost(executor_id):
                completions += self._ended(task_id, m.ExecutorLostFailure(
                    executor_id, exit_caused_by_app, reason), TaskMetrics())
        return completions

    def is_alive(self, executor_id: str) -> bool:
        return executor_id in self.executors

    # --- task sets -----------------------------------------------------------------------

    def submit_tasks(self, task_set: TaskSet) -> None:
        for old in self.managers:
            if old.stage_id == task_set.stage_id:
                old.zombie = True  # an earlier attempt: let its running tasks finish
        self.managers.append(TaskSetManager(task_set, self.max_failures, self.locality_wait,
                                            self.clock()))
        self.offer_all = True
        self.managers.sort(key=lambda t: (t.task_set.priority, t.stage_id))

    def cancel_stage(self, stage_id: int) -> list[tuple[int, str]]:
        """Stop scheduling the stage; its running tasks, as (task id, executor), to kill."""
        kills = []
        for manager in [t for t in self.managers if t.stage_id == stage_id]:
            manager.zombie = True
            kills += [(task_id, ex) for task_id, (_, ex) in manager.running.items()]
        return kills

    def stage_finished(self, stage_id: int) -> None:
        for manager in [t for t in self.managers if t.stage_id == stage_id]:
            manager.zombie = True
            self._drop_if_idle(manager)

    def _drop_if_idle(self, manager: TaskSetManager) -> None:
        if (manager.zombie or manager.is_finished()) and not manager.running:
            if manager in self.managers:
                self.managers.remove(manager)

    def has_pending(self) -> bool:
        return any(t.has_pending() for t in self.managers)

    def check_speculatable_tasks(self) -> bool:
        """Mark slow running tasks for a copy (spark.speculation); True if any was."""
        if self.speculation is None:
            return False
        now = self.clock()
        return any([t.check_speculatable(now, self.speculation) for t in self.managers])

    def resource_offers(self, executor_ids: list[str] | None = None) -> list[Launch]:
        """Fill free cores (of the given executors, or all) with pending tasks."""
        if self.offer_all:
            executor_ids, self.offer_all = None, False
        active = [t for t in self.managers if t.has_pending()]
        if not active:
            return []
        now = self.clock()
        executors = self.executors
        ids = list(executors) if executor_ids is None else executor_ids
        if len(ids) > 1:  # spread tasks: start each round at a different executor
            self._rotate = (self._rotate + 1) % len(ids)
            ids = ids[self._rotate:] + ids[:self._rotate]
        live = len(executors)
        launches: list[Launch] = []
        progress = True
        while progress and active:
            progress = False
            for executor_id in ids:
                data = executors.get(executor_id)
                if data is None or data.free_cores <= 0:
                    continue
                for manager in active:
                    offer = manager.resource_offer(executor_id, live, now)
                    if offer is None:
                        continue
                    index, task = offer
                    task_id = next(self._task_ids)
                    speculative = manager.is_speculative(index)
                    manager.launched(task_id, index, executor_id, now)
                    attempt = manager.attempt_number(index)
                    info = TaskInfo(task_id, index, attempt, now, executor_id, data.info.host,
                                    speculative)
                    self.by_task[task_id] = (manager, index, info)
                    data.free_cores -= 1
                    launches.append(Launch(executor_id, task_id, attempt, task,
                                           manager.task_set.properties))
                    self.emit(TaskStart(task.stage_id, task.stage_attempt, info))
                    progress = True
                    break
            active = [t for t in active if t.has_pending()]
        return launches

    # --- task endings ------------------------------------------------------------------------

    def status_update(self, update: m.StatusUpdate,
                      result: list) -> tuple[str, list[Completion]] | None:
        """Handle a StatusUpdate: the executor whose core it freed and what the
        DAGScheduler must hear of; None if the update is stale."""
        entry = self.by_task.get(update.task_id)
        if entry is None:
            return None
        manager, index, info = entry
        executor_id = info.executor_id
        data = self.executors.get(executor_id)
        if data is None:
            return None  # its executor was declared lost; the task already ran elsewhere
        data.free_cores += 1
        reason = update.reason
        completions: list[Completion] = []
        if isinstance(reason, m.Success):
            first = manager.handle_success(update.task_id, self.clock()) is not None
            self._post_end(update.task_id, reason, update.metrics, update)
            if first:
                completions.append(CompletionEvent(manager.tasks[index], reason, executor_id,
                                                   update, result))
                for task_id, other in manager.other_attempts(index):  # a copy lost the race
                    self.emit(ev.KillTask(other, task_id))
            self._drop_if_idle(manager)
        elif isinstance(reason, m.FetchFailed):
            manager.running.pop(update.task_id, None)
            manager.zombie = True
            self._post_end(update.task_id, reason, update.metrics, update)
            completions.append(CompletionEvent(manager.tasks[index], reason, executor_id,
                                               update, result))
            self._drop_if_idle(manager)
        else:
            completions = self._ended(update.task_id, reason, update.metrics, update)
        return executor_id, completions

    def _ended(self, task_id: int, reason: m.TaskEndReason, metrics: TaskMetrics,
               update: m.StatusUpdate | None = None) -> list[Completion]:
        manager, _, info = self.by_task[task_id]
        self._post_end(task_id, reason, metrics, update)
        abort = manager.handle_failure(task_id, reason.counts_towards_task_failures)
        self.offer_all = True  # the task is pending again, maybe for another executor
        self._drop_if_idle(manager)
        if abort is None:
            return []
        return [TaskSetFailed(manager.stage_id, abort, reason, info.executor_id)]

    def _post_end(self, task_id: int, reason: m.TaskEndReason, metrics: TaskMetrics,
                  update: m.StatusUpdate | None = None) -> None:
        manager, index, info = self.by_task.pop(task_id)
        info.finish_time = self.clock()
        info.status = {"Success": "SUCCESS", "TaskKilled": "KILLED"}.get(reason.name, "FAILED")
        task = manager.tasks[index]
        output, dropped = (update.output, update.output_dropped) if update else ([], 0)
        written = None
        if update is not None and update.sizes is not None:
            written = ShuffleWrite(update.sizes, update.records or [0] * len(update.sizes),
                                   update.hot_keys)
        self.emit(TaskEnd(task.stage_id, task.stage_attempt, task.type_name, reason.name,
                          info, metrics, reason.message, output, dropped,
                          update.shuffle_reads if update else [], written))
