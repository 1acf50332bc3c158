"""TaskSchedulerImpl: matches task sets to free executor cores and reports task endings.

Like the DAGScheduler it owns no sockets: the backend offers it free cores (all of them,
or one executor's after a task ends there) and launches what it returns; the backend
hands it every StatusUpdate and executor loss.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

from sparkbook import messages as m
from sparkbook.driver.listener import LiveListenerBus, TaskEnd, TaskInfo, TaskStart
from sparkbook.driver.task import Task, TaskSet
from sparkbook.driver.tasksetmanager import TaskSetManager
from sparkbook.metrics import TaskMetrics


@dataclass
class Launch:
    """Run ``task`` as ``task_id`` (attempt ``attempt``) on ``executor_id``."""

    executor_id: str
    task_id: int
    attempt: int
    task: Task
    properties: dict


class TaskSchedulerImpl:
    def __init__(self, bus: LiveListenerBus, max_failures: int = 4, locality_wait: float = 3.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.bus = bus
        self.max_failures = max_failures
        self.locality_wait = locality_wait
        self.clock = clock
        self.dag = None  # set by the context: the DAGScheduler that receives task endings
        self.free_cores: dict[str, int] = {}
        self.hosts: dict[str, str] = {}
        self.managers: list[TaskSetManager] = []
        self.by_task: dict[int, tuple[TaskSetManager, int, TaskInfo]] = {}
        self.kill_requests: list[tuple[int, str]] = []
        self.finished_stages: list[int] = []
        self._offer_all = False  # new tasks appeared: every free core may take one
        self._task_ids = itertools.count()
        self._rotate = 0

    # --- executors -----------------------------------------------------------------------

    def executor_added(self, executor_id: str, cores: int, host: str = "") -> None:
        self.free_cores[executor_id] = cores
        self.hosts[executor_id] = host

    def executor_lost(self, executor_id: str, reason: str) -> None:
        if self.free_cores.pop(executor_id, None) is None:
            return
        for manager in list(self.managers):
            for task_id in manager.executor_lost(executor_id):
                self._ended(task_id, m.ExecutorLostFailure(executor_id, False, reason),
                            TaskMetrics())
        self.dag.executor_lost(executor_id)

    def is_alive(self, executor_id: str) -> bool:
        return executor_id in self.free_cores

    # --- task sets -----------------------------------------------------------------------

    def submit_tasks(self, task_set: TaskSet) -> None:
        for old in self.managers:
            if old.stage_id == task_set.stage_id:
                old.zombie = True  # an earlier attempt: let its running tasks finish
        self.managers.append(TaskSetManager(task_set, self.max_failures, self.locality_wait,
                                            self.clock()))
        self._offer_all = True
        self.managers.sort(key=lambda t: (t.task_set.priority, t.stage_id))

    def cancel_stage(self, stage_id: int) -> None:
        """Stop scheduling the stage and ask its executors to kill its running tasks."""
        for manager in [t for t in self.managers if t.stage_id == stage_id]:
            manager.zombie = True
            for task_id, (_, executor_id) in manager.running.items():
                self.kill_requests.append((task_id, executor_id))

    def stage_finished(self, stage_id: int) -> None:
        self.finished_stages.append(stage_id)
        for manager in [t for t in self.managers if t.stage_id == stage_id]:
            manager.zombie = True
            self._drop_if_idle(manager)

    def _drop_if_idle(self, manager: TaskSetManager) -> None:
        if (manager.zombie or manager.is_finished()) and not manager.running:
            if manager in self.managers:
                self.managers.remove(manager)

    def has_pending(self) -> bool:
        return any(t.has_pending() for t in self.managers)

    def resource_offers(self, executor_ids: list[str] | None = None) -> list[Launch]:
        """Fill free cores (of the given executors, or all) with pending tasks."""
        now = self.clock()
        if self._offer_all:
            executor_ids, self._offer_all = None, False
        ids = list(self.free_cores) if executor_ids is None else executor_ids
        if len(ids) > 1:  # spread tasks: start each round at a different executor
            self._rotate = (self._rotate + 1) % len(ids)
            ids = ids[self._rotate:] + ids[:self._rotate]
        live = len(self.free_cores)
        launches: list[Launch] = []
        active = [t for t in self.managers if t.has_pending()]
        progress = True
        while progress and active:
            progress = False
            for executor_id in ids:
                if self.free_cores.get(executor_id, 0) <= 0:
                    continue
                for manager in active:
                    offer = manager.resource_offer(executor_id, live, now)
                    if offer is None:
                        continue
                    index, task = offer
                    task_id = next(self._task_ids)
                    manager.launched(task_id, index, executor_id)
                    attempt = manager.attempt_number(index)
                    info = TaskInfo(task_id, index, attempt, now, executor_id,
                                    self.hosts.get(executor_id, ""))
                    self.by_task[task_id] = (manager, index, info)
                    self.free_cores[executor_id] -= 1
                    launches.append(Launch(executor_id, task_id, attempt, task,
                                           manager.task_set.properties))
                    self.bus.post(TaskStart(task.stage_id, task.stage_attempt, info))
                    progress = True
                    break
            active = [t for t in active if t.has_pending()]
        return launches

    # --- task endings ------------------------------------------------------------------------

    def status_update(self, update: m.StatusUpdate, result: list[bytes] | None) -> str | None:
        """Handle a StatusUpdate; returns the executor whose core it freed, if any."""
        task_id = update.task_id
        entry = self.by_task.get(task_id)
        if entry is None:
            return None
        manager, index, info = entry
        executor_id = info.executor_id
        if executor_id not in self.free_cores:
            return None  # its executor was declared lost; the task already ran elsewhere
        self.free_cores[executor_id] += 1
        for rdd_id, partition, _size in update.block_updates:
            self.dag.block_updated(executor_id, rdd_id, partition, True)
        for rdd_id, partition in update.dropped_blocks:
            self.dag.block_updated(executor_id, rdd_id, partition, False)
        reason = update.reason
        if isinstance(reason, m.Success):
            task = manager.tasks[index]
            first = manager.handle_success(task_id) is not None
            self._post_end(task_id, reason, update.metrics, update)
            if first:
                self.dag.task_succeeded(task, executor_id, update, result)
            self._drop_if_idle(manager)
        elif isinstance(reason, m.FetchFailed):
            task = manager.tasks[index]
            manager.running.pop(task_id, None)
            manager.zombie = True
            self._post_end(task_id, reason, update.metrics, update)
            self.dag.task_failed_fetch(task, reason.executor_id, reason.shuffle_id,
                                       reason.map_id, reason.description)
            self._drop_if_idle(manager)
        else:
            self._ended(task_id, reason, update.metrics, update)
        return executor_id

    def fail_unlaunchable(self, launch: Launch, shuffle_id: int, map_id: int) -> None:
        """A reduce task whose input is already known to be missing fails as a fetch would."""
        reason = m.FetchFailed("", shuffle_id, map_id,
                               f"missing map output {map_id} of shuffle {shuffle_id}")
        self.status_update(m.StatusUpdate(launch.task_id, launch.executor_id, reason), None)

    def _ended(self, task_id: int, reason: m.TaskEndReason, metrics: TaskMetrics,
               update: m.StatusUpdate | None = None) -> None:
        manager, _, info = self.by_task[task_id]
        self._post_end(task_id, reason, metrics, update)
        abort = manager.handle_failure(task_id, reason.counts_towards_task_failures)
        self._offer_all = True  # the task is pending again, maybe for another executor
        if abort is not None:
            failure = reason if isinstance(reason, m.ExceptionFailure) else None
            self.dag.task_set_aborted(manager.stage_id, abort, failure, info.executor_id)
            self.cancel_stage(manager.stage_id)
        self._drop_if_idle(manager)

    def _post_end(self, task_id: int, reason: m.TaskEndReason, metrics: TaskMetrics,
                  update: m.StatusUpdate | None = None) -> None:
        manager, index, info = self.by_task.pop(task_id)
        info.finish_time = self.clock()
        info.status = {"Success": "SUCCESS", "TaskKilled": "KILLED"}.get(reason.name, "FAILED")
        task = manager.tasks[index]
        output, dropped = (update.output, update.output_dropped) if update else ([], 0)
        self.bus.post(TaskEnd(task.stage_id, task.stage_attempt, task.type_name, reason.name,
                              info, metrics, reason.message, output, dropped))
