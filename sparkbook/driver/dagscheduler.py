"""DAGScheduler: turns each action into a job, cuts the job into stages at shuffle
boundaries, and submits each stage's missing tasks once its parent stages' outputs exist.

It is a state machine driven by events (a job submitted, a task ended, an executor lost,
a job cancelled) without sockets of its own, as Spark's DAGScheduler event loop is: the
scheduler backend owns the sockets and calls in; tests drive it with invented events.

Recovery, as in Spark: a lost executor's shuffle outputs are forgotten; a reduce task
that cannot fetch a map output fails with FetchFailed, and the map stage is resubmitted
for its missing partitions before the reduce stage runs again. Cached partitions lost
with an executor are recomputed from lineage when next needed.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sparkbook import messages as m
from sparkbook import serializers
from sparkbook.broadcast import collecting_broadcasts
from sparkbook.driver.listener import (
    JobEnd,
    JobStart,
    LiveListenerBus,
    StageCompleted,
    StageInfo,
    StageSubmitted,
)
from sparkbook.driver.mapoutputtracker import MapOutputTracker, MapStatus
from sparkbook.driver.task import ResultTask, ShuffleMapTask, Task, TaskSet
from sparkbook.errors import PythonException, SparkException
from sparkbook.rdd.dependency import NarrowDependency, ShuffleDependency
from sparkbook.rdd.rdd import RDD, shipping_lineage

log = logging.getLogger("sparkbook.dagscheduler")

MAX_CONSECUTIVE_STAGE_ATTEMPTS = 4


class Stage:
    """A set of tasks that run the same pipelined functions, one per partition."""

    def __init__(self, stage_id: int, rdd: RDD, num_tasks: int, parents: list[Stage],
                 first_job_id: int) -> None:
        self.id = stage_id
        self.rdd = rdd
        self.num_tasks = num_tasks
        self.parents = parents
        self.first_job_id = first_job_id
        self.job_ids: set[int] = set()
        self.latest_attempt = -1
        self.failed_attempts = 0
        self.name = f"{rdd.op} at {rdd.callsite}"
        self.info: StageInfo | None = None
        self.lineage_ids, self.reads = stage_lineage(rdd)
        self.pending: set[int] = set()
        self.binary: bytes | None = None
        self.broadcast_ids: set[str] = set()

    def new_info(self, num_tasks: int) -> StageInfo:
        self.latest_attempt += 1
        self.info = StageInfo(self.id, self.latest_attempt, self.name, num_tasks,
                              [p.id for p in self.parents], rdd_name=repr(self.rdd),
                              is_shuffle_map=isinstance(self, ShuffleMapStage))
        return self.info


class ShuffleMapStage(Stage):
    """An intermediate stage: its tasks write shuffle outputs for the stages after it."""

    def __init__(self, stage_id: int, dep: ShuffleDependency, parents: list[Stage],
                 first_job_id: int) -> None:
        super().__init__(stage_id, dep.rdd, dep.rdd.getNumPartitions(), parents, first_job_id)
        self.shuffle_dep = dep
        self.name = f"{dep.rdd.op} at {dep.rdd.callsite}"


class ResultStage(Stage):
    """The final stage of a job: its tasks run the action's function on each partition."""

    def __init__(self, stage_id: int, rdd: RDD, func: Callable, partitions: list[int],
                 parents: list[Stage], job_id: int, op: str, callsite: str) -> None:
        super().__init__(stage_id, rdd, len(partitions), parents, job_id)
        self.func = func
        self.partitions = partitions
        self.job: ActiveJob | None = None
        self.name = f"{op} at {callsite}"


@dataclass
class ActiveJob:
    job_id: int
    final_stage: ResultStage
    waiter: JobWaiterLike
    properties: dict
    finished: list[bool] = field(default_factory=list)
    num_finished: int = 0


class JobWaiterLike:
    """What the DAGScheduler tells whoever waits for a job."""

    def task_succeeded(self, index: int, result: list[bytes]) -> None: ...
    def job_failed(self, error: BaseException) -> None: ...
    def job_succeeded(self) -> None: ...


def stage_lineage(rdd: RDD) -> tuple[set[int], list[tuple[ShuffleDependency, bool]]]:
    """The ids of the RDDs a stage pipelines, and the shuffles it reads, each with whether
    the stage's partition i reads exactly reduce partition i of it."""
    ids: set[int] = set()
    reads: dict[int, tuple[ShuffleDependency, bool]] = {}
    seen: set[tuple[int, bool]] = set()
    stack = [(rdd, True)]
    while stack:
        current, one_to_one = stack.pop()
        if (current.rdd_id, one_to_one) in seen:
            continue
        seen.add((current.rdd_id, one_to_one))
        ids.add(current.rdd_id)
        for dep in current.deps:
            if isinstance(dep, ShuffleDependency):
                earlier = reads.get(dep.shuffle_id, (dep, True))[1]
                reads[dep.shuffle_id] = (dep, earlier and one_to_one)
            else:
                stack.append((dep.rdd, one_to_one and type(dep) is NarrowDependency))
    return ids, list(reads.values())


class DAGScheduler:
    """Jobs -> stages -> task sets, and recovery when tasks or executors fail."""

    def __init__(self, task_scheduler, bus: LiveListenerBus,
                 apply_accumulators: Callable[[bytes], None],
                 clock: Callable[[], float] = time.time) -> None:
        self.task_scheduler = task_scheduler
        self.bus = bus
        self.apply_accumulators = apply_accumulators
        self.clock = clock
        self.map_outputs = MapOutputTracker()
        self.cache_locs: dict[tuple[int, int], set[str]] = {}
        self.stages: dict[int, Stage] = {}
        self.shuffle_stages: dict[int, ShuffleMapStage] = {}
        self.jobs: dict[int, ActiveJob] = {}
        self.waiting: set[Stage] = set()
        self.running: set[Stage] = set()
        self.failed: set[Stage] = set()
        self._job_ids = itertools.count()
        self._stage_ids = itertools.count()

    # --- building stages ----------------------------------------------------------------

    def _parent_stages(self, rdd: RDD, job_id: int) -> list[Stage]:
        _, reads = stage_lineage(rdd)
        return [self._shuffle_map_stage(dep, job_id) for dep, _ in reads]

    def _shuffle_map_stage(self, dep: ShuffleDependency, job_id: int) -> ShuffleMapStage:
        stage = self.shuffle_stages.get(dep.shuffle_id)
        if stage is None:
            parents = self._parent_stages(dep.rdd, job_id)
            stage = ShuffleMapStage(next(self._stage_ids), dep, parents, job_id)
            self.stages[stage.id] = stage
            self.shuffle_stages[dep.shuffle_id] = stage
            self.map_outputs.register_shuffle(dep.shuffle_id, stage.num_tasks)
        return stage

    def _is_available(self, stage: Stage) -> bool:
        return (isinstance(stage, ShuffleMapStage)
                and self.map_outputs.is_available(stage.shuffle_dep.shuffle_id))

    def _ancestors(self, stage: Stage) -> list[Stage]:
        found, stack = {}, [stage]
        while stack:
            current = stack.pop()
            if current.id not in found:
                found[current.id] = current
                stack.extend(current.parents)
        return list(found.values())

    # --- events -------------------------------------------------------------------------

    def submit_job(self, rdd: RDD, func: Callable, partitions: list[int],
                   waiter: JobWaiterLike, properties: dict, op: str, callsite: str) -> int:
        job_id = next(self._job_ids)
        try:
            parents = self._parent_stages(rdd, job_id)
        except Exception as exc:  # e.g. a file that vanished while listing partitions
            waiter.job_failed(exc)
            return job_id
        stage = ResultStage(next(self._stage_ids), rdd, func, partitions, parents, job_id, op,
                            callsite)
        self.stages[stage.id] = stage
        job = ActiveJob(job_id, stage, waiter, properties, [False] * len(partitions))
        stage.job = job
        self.jobs[job_id] = job
        stages = sorted(self._ancestors(stage), key=lambda s: s.id)
        for s in stages:
            s.job_ids.add(job_id)
        infos = [s.info if s.info is not None and self._is_available(s) else StageInfo(
            s.id, max(s.latest_attempt, 0), s.name, s.num_tasks, [p.id for p in s.parents],
            is_shuffle_map=isinstance(s, ShuffleMapStage)) for s in stages]
        self.bus.post(JobStart(job_id, self.clock(), infos, dict(properties), callsite))
        if not partitions:
            self._finish_job(job)
            return job_id
        self._submit_stage(stage)
        return job_id

    def _submit_stage(self, stage: Stage) -> None:
        if stage in self.waiting or stage in self.running or stage in self.failed:
            return
        missing = [p for p in stage.parents if not self._is_available(p)]
        if not missing:
            self._submit_missing_tasks(stage)
            return
        for parent in sorted(missing, key=lambda s: s.id):
            self._submit_stage(parent)
        self.waiting.add(stage)

    def _missing_partitions(self, stage: Stage) -> list[int]:
        if isinstance(stage, ShuffleMapStage):
            return self.map_outputs.missing(stage.shuffle_dep.shuffle_id)
        job = stage.job
        return [i for i, done in enumerate(job.finished) if not done] if job else []

    def _submit_missing_tasks(self, stage: Stage) -> None:
        job = self._job_for(stage)
        if job is None:
            return
        indices = self._missing_partitions(stage)
        try:
            action = stage.shuffle_dep if isinstance(stage, ShuffleMapStage) else stage.func
            with shipping_lineage(stage.lineage_ids), collecting_broadcasts() as used:
                stage.binary = serializers.dumps_closure((stage.rdd, action), stage.name)
            stage.broadcast_ids = used
        except Exception as exc:
            self._abort_stage(stage, f"Task not serializable: {exc}", exc)
            return
        info = stage.new_info(len(indices))
        info.submission_time = self.clock()
        self.bus.post(StageSubmitted(info, dict(job.properties)))
        tasks: list[Task] = []
        splits = stage.rdd.partitions()
        for i in indices:
            if isinstance(stage, ShuffleMapStage):
                p = i
                tasks.append(ShuffleMapTask(stage.id, info.attempt_id, p, splits[p],
                                            self._preferred_locations(stage.rdd, p)))
            else:
                p = stage.partitions[i]
                tasks.append(ResultTask(stage.id, info.attempt_id, p, splits[p],
                                        self._preferred_locations(stage.rdd, p), output_index=i))
        if not tasks:
            self._stage_done(stage)
            return
        stage.pending = {t.partition for t in tasks}
        self.running.add(stage)
        self.task_scheduler.submit_tasks(TaskSet(tasks, stage.id, info.attempt_id, job.job_id,
                                                 dict(job.properties)))

    def _job_for(self, stage: Stage) -> ActiveJob | None:
        ids = [j for j in stage.job_ids if j in self.jobs]
        return self.jobs[min(ids)] if ids else None

    def _preferred_locations(self, rdd: RDD, partition: int) -> list[str]:
        stack, seen = [(rdd, partition)], set()
        while stack:
            current, p = stack.pop()
            if (current.rdd_id, p) in seen:
                continue
            seen.add((current.rdd_id, p))
            locs = self.cache_locs.get((current.rdd_id, p))
            if locs:
                return sorted(locs)
            for dep in current.deps:
                if isinstance(dep, NarrowDependency):
                    stack.extend((dep.rdd, q) for q in dep.parents_of(p))
        return []

    def shuffle_locations(self, stage_id: int, partition: int) -> dict | None:
        """What a task of the stage must fetch; None if a map output has gone missing."""
        stage = self.stages.get(stage_id)
        if stage is None:
            return {}
        found = {}
        for dep, one_to_one in stage.reads:
            locs = self.map_outputs.locations(dep.shuffle_id, partition if one_to_one else None)
            if locs is None:
                return None
            found[dep.shuffle_id] = locs
        return found

    def missing_map_output(self, stage_id: int) -> tuple[int, int] | None:
        """A (shuffle id, map id) the stage needs and no executor has."""
        for dep, _ in self.stages[stage_id].reads:
            missing = self.map_outputs.missing(dep.shuffle_id)
            if missing:
                return dep.shuffle_id, missing[0]
        return None

    def task_succeeded(self, task: Task, executor_id: str, update: m.StatusUpdate,
                       result: list[bytes]) -> None:
        stage = self.stages.get(task.stage_id)
        if stage is None:
            return
        if update.accumulators:
            self.apply_accumulators(update.accumulators)
        if isinstance(task, ResultTask):
            job = stage.job
            if job is None or job.job_id not in self.jobs or job.finished[task.output_index]:
                return
            job.finished[task.output_index] = True
            job.num_finished += 1
            stage.pending.discard(task.partition)
            job.waiter.task_succeeded(task.output_index, result)
            if job.num_finished == len(job.finished):
                self._stage_done(stage)
                self._finish_job(job)
            return
        # A ShuffleMapTask: record where its output lives (its executor is alive: the task
        # scheduler drops updates from lost executors).
        self.map_outputs.register_map_output(stage.shuffle_dep.shuffle_id, task.partition,
                                             MapStatus(executor_id, update.sizes))
        stage.pending.discard(task.partition)
        if stage in self.running and not stage.pending:
            self._stage_done(stage)

    def _stage_done(self, stage: Stage) -> None:
        self.running.discard(stage)
        if stage.info is not None and stage.info.completion_time is None:
            stage.info.completion_time = self.clock()
            self.bus.post(StageCompleted(stage.info))
        self.task_scheduler.stage_finished(stage.id)
        if isinstance(stage, ShuffleMapStage):
            if not self._is_available(stage):
                # Some outputs were lost while the stage ran: run the missing ones again.
                self._submit_stage(stage)
                return
            stage.failed_attempts = 0
        self._submit_waiting_stages()

    def _submit_waiting_stages(self) -> None:
        ready = [s for s in self.waiting if all(self._is_available(p) for p in s.parents)]
        for stage in sorted(ready, key=lambda s: s.id):
            self.waiting.discard(stage)
            self._submit_stage(stage)

    def task_failed_fetch(self, task: Task, executor_id: str, shuffle_id: int, map_id: int,
                          message: str) -> None:
        """A reduce task could not read a map output: rerun the map stage, then this one."""
        stage = self.stages.get(task.stage_id)
        map_stage = self.shuffle_stages.get(shuffle_id)
        if stage is None or map_stage is None:
            return
        self.map_outputs.unregister_map_output(shuffle_id, map_id, executor_id)
        if task.stage_attempt != stage.latest_attempt or stage in self.failed:
            return  # this attempt was already given up on
        if stage in self.running:
            self.running.discard(stage)
            self.task_scheduler.cancel_stage(stage.id)
            stage.info.failure_reason = message
            stage.info.completion_time = self.clock()
            self.bus.post(StageCompleted(stage.info))
        stage.failed_attempts += 1
        if stage.failed_attempts >= MAX_CONSECUTIVE_STAGE_ATTEMPTS:
            self._abort_stage(stage, f"{stage.name} has failed the maximum allowable number "
                                     f"of times: {MAX_CONSECUTIVE_STAGE_ATTEMPTS}. Most recent "
                                     f"failure reason: {message}")
            return
        self.failed.update((stage, map_stage))
        self.resubmit_failed_stages()

    def resubmit_failed_stages(self) -> None:
        failed, self.failed = sorted(self.failed, key=lambda s: s.first_job_id), set()
        for stage in failed:
            self._submit_stage(stage)

    def task_set_aborted(self, stage_id: int, reason: str, failure: m.ExceptionFailure | None,
                         executor_id: str) -> None:
        stage = self.stages.get(stage_id)
        if stage is None:
            return
        exc: BaseException
        if failure is not None:
            exc = PythonException(
                f"Job aborted due to stage failure: {reason}, most recent failure: "
                f"{failure.message}\n\n"
                f"Remote traceback (executor {executor_id}):\n{failure.traceback}",
                failure.type, failure.description, failure.traceback, executor_id)
        else:
            exc = SparkException(f"Job aborted due to stage failure: {reason}")
        self._abort_stage(stage, reason, exc)

    def executor_lost(self, executor_id: str) -> None:
        lost = self.map_outputs.remove_outputs_on_executor(executor_id)
        for key in [k for k, v in self.cache_locs.items() if executor_id in v]:
            self.cache_locs[key].discard(executor_id)
            if not self.cache_locs[key]:
                del self.cache_locs[key]
        if lost:
            log.info("executor %s lost shuffle outputs of shuffles %s", executor_id, lost)

    def block_updated(self, executor_id: str, rdd_id: int, partition: int,
                      stored: bool) -> None:
        key = (rdd_id, partition)
        if stored:
            self.cache_locs.setdefault(key, set()).add(executor_id)
        elif key in self.cache_locs:
            self.cache_locs[key].discard(executor_id)

    def rdd_unpersisted(self, rdd_id: int) -> None:
        for key in [k for k in self.cache_locs if k[0] == rdd_id]:
            del self.cache_locs[key]

    def cancel_job(self, job_id: int, reason: str) -> None:
        job = self.jobs.get(job_id)
        if job is not None:
            self._fail_job(job, SparkException(f"Job {job_id} cancelled {reason}"))

    def cancel_jobs(self, predicate: Callable[[dict], bool], reason: str) -> None:
        for job in [j for j in self.jobs.values() if predicate(j.properties)]:
            self._fail_job(job, SparkException(f"Job {job.job_id} cancelled {reason}"))

    # --- endings ------------------------------------------------------------------------

    def _abort_stage(self, stage: Stage, reason: str, exc: BaseException | None = None) -> None:
        if stage.info is not None and stage.info.completion_time is None:
            stage.info.failure_reason = reason
        error = exc or SparkException(f"Job aborted due to stage failure: {reason}")
        for job in [j for j in self.jobs.values() if stage.id in
                    {s.id for s in self._ancestors(j.final_stage)}]:
            self._fail_job(job, error)

    def _fail_job(self, job: ActiveJob, error: BaseException) -> None:
        for stage in self._ancestors(job.final_stage):
            stage.job_ids.discard(job.job_id)
            if stage.job_ids:
                continue
            if stage in self.running:
                self.task_scheduler.cancel_stage(stage.id)
                self.running.discard(stage)
                if stage.info is not None and stage.info.completion_time is None:
                    stage.info.completion_time = self.clock()
                    stage.info.failure_reason = stage.info.failure_reason or str(error)
                    self.bus.post(StageCompleted(stage.info))
            self.waiting.discard(stage)
            self.failed.discard(stage)
        self._forget_job(job)
        self.bus.post(JobEnd(job.job_id, self.clock(), False, str(error)))
        job.waiter.job_failed(error)

    def _finish_job(self, job: ActiveJob) -> None:
        for stage in self._ancestors(job.final_stage):
            stage.job_ids.discard(job.job_id)
        self._forget_job(job)
        self.bus.post(JobEnd(job.job_id, self.clock(), True))
        job.waiter.job_succeeded()

    def _forget_job(self, job: ActiveJob) -> None:
        self.jobs.pop(job.job_id, None)
        self.stages.pop(job.final_stage.id, None)
        job.final_stage.job = None
