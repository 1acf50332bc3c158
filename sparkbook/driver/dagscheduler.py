"""DAGScheduler: the driver's scheduling core. It turns each action into a job, cuts the
job into stages at shuffle boundaries, submits each stage's missing tasks once its parent
stages' outputs exist, and, through the TaskSchedulerImpl it owns, places tasks on free
executor cores and retries the ones that fail.

It is one state machine, as Spark's ``DAGSchedulerEventProcessLoop`` is: ``handle`` takes
an event (``scheduler_events``: a job submitted, a task's StatusUpdate, an executor added
or lost, a cancellation, a tick of the clock) and returns the instructions it leads to,
in order: tasks to launch or kill, binaries to drop, results and job endings for the
waiting caller, listener events to post. It has no sockets, threads or clock of its own,
so tests drive it with invented events and a fake clock; the scheduler backend feeds it
on one thread and carries the instructions out.

Recovery, as in Spark: a lost executor's shuffle outputs are forgotten; a reduce task
that cannot fetch a map output fails with FetchFailed, and the map stage is resubmitted
for its missing partitions before the reduce stage runs again. Cached partitions lost
with an executor are recomputed from lineage when next needed.
"""

from __future__ import annotations

import collections
import itertools
import logging
import time
from collections.abc import Callable, Iterable

from sparkbook import messages as m
from sparkbook import serializers
from sparkbook.driver import scheduler_events as ev
from sparkbook.driver.listener import (
    ExecutorAdded,
    ExecutorRemoved,
    JobEnd,
    JobStart,
    StageCompleted,
    StageSubmitted,
)
from sparkbook.driver.mapoutputtracker import MapOutputTracker, MapStatus
from sparkbook.driver.stage import (
    ActiveJob,
    ResultStage,
    ShuffleMapStage,
    Stage,
    parent_stages,
)
from sparkbook.driver.task import ResultTask, ShuffleMapTask, Task, TaskSet
from sparkbook.driver.taskscheduler import (
    Completion,
    CompletionEvent,
    Launch,
    TaskSchedulerImpl,
)
from sparkbook.driver.tasksetmanager import Speculation
from sparkbook.errors import PythonException, SparkException
from sparkbook.rdd.dependency import NarrowDependency, ShuffleDependency
from sparkbook.rdd.rdd import RDD

log = logging.getLogger("sparkbook.dagscheduler")

MAX_CONSECUTIVE_STAGE_ATTEMPTS = 4


class DAGScheduler:
    """Events in, instructions out: see the module docstring."""

    def __init__(self, max_failures: int = 4, locality_wait: float = 3.0,
                 clock: Callable[[], float] = time.time,
                 speculation: Speculation | None = None,
                 executor_wait: float = 60.0) -> None:
        self.clock = clock
        # spark.sparkbook.executorWaitTimeout: how long jobs wait once no executor is left.
        self.executor_wait = executor_wait
        self._no_executors_since: float | None = None
        self._out: list = []  # the instructions of the event being handled
        self.emit = self._out.append
        self.task_scheduler = TaskSchedulerImpl(self.emit, max_failures, locality_wait, clock,
                                                speculation)
        self.map_outputs = MapOutputTracker()
        self.cache_locs: dict[tuple[int, int], set[str]] = {}
        self.stages: dict[int, Stage] = {}
        self.shuffle_stages: dict[int, ShuffleMapStage] = {}
        self.jobs: dict[int, ActiveJob] = {}
        self.waiting: set[Stage] = set()
        self.running: set[Stage] = set()
        self.failed: set[Stage] = set()
        self.app_files: set[tuple[str, str]] = set()  # added files every executor gets
        self.cleaning: set[int] = set()  # garbage shuffles whose stages are still in use
        self.cluster_lost: str | None = None  # why no job can run any more
        self.next_stage_id = 0
        self._freed: list[str] = []  # executors whose cores StatusUpdates freed
        self._handlers: dict[type, Callable] = {
            ev.JobSubmitted: self._job_submitted,
            ev.MapStageSubmitted: self._map_stage_submitted,
            ev.StatusUpdate: lambda e: self._status_update(e.update, e.result),
            ev.ExecutorAdded: self._executor_added,
            ev.ExecutorLost: self._executor_lost,
            ev.ClusterManagerLost: self._cluster_manager_lost,
            ev.CancelJob: self._cancel_job,
            ev.CancelJobs: self._cancel_jobs,
            ev.Tick: self._tick,
            ev.RddUnpersisted: self._rdd_unpersisted,
            ev.BroadcastRemoved: self._broadcast_removed,
            ev.ShuffleCleaned: lambda e: self._clean_shuffles({e.shuffle_id}),
            ev.FileAdded: lambda e: self.app_files.add(e.shipment),
        }

    # --- the one way in ---------------------------------------------------------------

    def handle(self, event: ev.Event) -> list[ev.Instruction]:
        """Apply one event; the instructions it leads to, in the order to carry them out."""
        return self.handle_all((event,))

    def handle_all(self, events: Iterable[ev.Event]) -> list[ev.Instruction]:
        """Apply several events, then fill the cores they freed in one round of offers.
        Should one event's handling raise (a defect), the others are applied all the same,
        and its error is raised after them."""
        handlers = self._handlers
        failure: Exception | None = None
        for event in events:
            try:
                handlers[type(event)](event)
            except Exception as exc:  # noqa: BLE001 - a defect; the other events still count
                failure = failure or exc
        self._offer()
        if failure is not None:  # what was emitted goes out with the next event's
            raise failure
        out = self._out.copy()
        self._out.clear()
        return out

    # --- read-only views (for the backend's callers, on the scheduler thread) -------------

    def cached_partition_count(self, rdd_id: int) -> int:
        return sum(1 for (rid, _) in self.cache_locs if rid == rdd_id)

    def shuffle_ids(self) -> list[int]:
        """The shuffles whose map stages or map outputs the driver still keeps."""
        return sorted(set(self.shuffle_stages) | set(self.map_outputs.shuffle_ids()))

    # --- building stages ----------------------------------------------------------------

    def _new_stage_id(self) -> int:
        self.next_stage_id += 1
        return self.next_stage_id - 1

    def _parent_stages(self, rdd: RDD, job_id: int) -> list[Stage]:
        def new_map_stage(dep: ShuffleDependency, parents: list[Stage]) -> ShuffleMapStage:
            stage = ShuffleMapStage(self._new_stage_id(), dep, parents, job_id)
            self.stages[stage.id] = stage
            self.map_outputs.register_shuffle(dep.shuffle_id, stage.num_tasks)
            return stage

        return parent_stages(rdd, self.shuffle_stages, new_map_stage)

    def _shuffle_map_stage(self, dep: ShuffleDependency, job_id: int) -> ShuffleMapStage:
        """The map stage of ``dep``, made (with its missing parents) if it does not exist
        (Spark's getOrCreateShuffleMapStage)."""
        stage = self.shuffle_stages.get(dep.shuffle_id)
        if stage is None:
            parents = self._parent_stages(dep.rdd, job_id)  # numbered before it, as in Spark
            stage = ShuffleMapStage(self._new_stage_id(), dep, parents, job_id)
            self.stages[stage.id] = stage
            self.shuffle_stages[dep.shuffle_id] = stage
            self.map_outputs.register_shuffle(dep.shuffle_id, stage.num_tasks)
        return stage

    def plan(self, rdd: RDD, op: str, callsite: str) -> tuple[list[Stage], set[Stage]]:
        """The stages a job of ``op`` on every partition of ``rdd`` would have (by id, the
        final one last), and those of them it would run (the rest are skipped), built as
        ``JobSubmitted`` builds them but changing nothing: stages that exist are shared,
        new ones get the ids they would get if the job were submitted next."""
        ids = itertools.count(self.next_stage_id)

        def new_map_stage(dep: ShuffleDependency, parents: list[Stage]) -> ShuffleMapStage:
            return ShuffleMapStage(next(ids), dep, parents, -1)

        scratch = collections.ChainMap({}, self.shuffle_stages)  # new stages go to the first
        parents = parent_stages(rdd, scratch, new_map_stage)
        final = ResultStage(next(ids), rdd, list, list(range(rdd.getNumPartitions())),
                            parents, -1, op, callsite)
        return sorted(self._ancestors(final), key=lambda s: s.id), self._stages_to_run(final)

    def _is_available(self, stage: Stage) -> bool:
        return (isinstance(stage, ShuffleMapStage)
                and self.map_outputs.is_available(stage.shuffle_id))

    def _ancestors(self, stage: Stage) -> list[Stage]:
        found, stack = {}, [stage]
        while stack:
            current = stack.pop()
            if current.id not in found:
                found[current.id] = current
                stack.extend(current.parents)
        return list(found.values())

    # --- jobs and stages ------------------------------------------------------------------

    def _job_submitted(self, e: ev.JobSubmitted) -> None:
        job_id = e.job_id
        if self.cluster_lost is not None:  # fail at once: no executor will ever come
            self.emit(ev.JobEnded(job_id, SparkException(self.cluster_lost)))
            return
        try:
            parents = self._parent_stages(e.rdd, job_id)
        except Exception as exc:  # e.g. a file that vanished while listing partitions
            self.emit(ev.JobEnded(job_id, exc))
            return
        stage = ResultStage(self._new_stage_id(), e.rdd, e.func, e.partitions, parents,
                            job_id, e.op, e.callsite)
        self.stages[stage.id] = stage
        job = ActiveJob(job_id, stage, e.properties, [False] * len(e.partitions))
        stage.job = job
        self._start_job(job, e.callsite)

    def _map_stage_submitted(self, e: ev.MapStageSubmitted) -> None:
        """A job whose final stage is the shuffle's map stage (Spark's
        handleMapStageSubmitted): it ends, with the shuffle's statistics, once every map
        output exists; at once when they all exist already."""
        if self.cluster_lost is not None:
            self.emit(ev.JobEnded(e.job_id, SparkException(self.cluster_lost)))
            return
        try:
            stage = self._shuffle_map_stage(e.dependency, e.job_id)
        except Exception as exc:  # e.g. a file that vanished while listing partitions
            self.emit(ev.JobEnded(e.job_id, exc))
            return
        job = ActiveJob(e.job_id, stage, e.properties, [False], dependency=e.dependency)
        stage.map_stage_jobs.append(job)
        self._start_job(job, e.callsite)

    def _start_job(self, job: ActiveJob, callsite: str) -> None:
        """Post the job's start and submit its final stage (or end it: nothing to run)."""
        stage = job.final_stage
        self.jobs[job.job_id] = job
        stages = sorted(self._ancestors(stage), key=lambda s: s.id)
        for s in stages:
            s.job_ids.add(job.job_id)
        infos = [s.info if s.info is not None and self._is_available(s) else
                 s.describe(max(s.latest_attempt, 0), s.num_tasks) for s in stages]
        to_run = set() if self._is_available(stage) else self._stages_to_run(stage)
        self.emit(JobStart(job.job_id, self.clock(), infos, dict(job.properties), callsite,
                           [s.id for s in stages if s not in to_run]))
        if not to_run:
            self._finish_map_stage_jobs(stage)
        elif not job.finished:
            self._finish_job(job)
        else:
            try:
                self._submit_stage(stage)
            except Exception as exc:  # noqa: BLE001 - the job fails, the scheduler goes on
                log.exception("submitting job %s failed", job.job_id)
                self._fail_job(job, exc)

    def _stages_to_run(self, final: Stage) -> set[Stage]:
        """The stages submitting ``final`` runs: it and, recursively, the parents whose
        shuffle outputs are missing (the others are skipped, as ``_submit_stage`` does)."""
        found, stack = set(), [final]
        while stack:
            current = stack.pop()
            if current not in found:
                found.add(current)
                stack.extend(p for p in current.parents if not self._is_available(p))
        return found

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
            return self.map_outputs.missing(stage.shuffle_id)
        job = stage.job
        return [i for i, done in enumerate(job.finished) if not done] if job else []

    def _submit_missing_tasks(self, stage: Stage) -> None:
        job = self._job_for(stage)
        if job is None:
            return
        indices = self._missing_partitions(stage)
        try:
            stage.binary, stage.broadcasts, stage.warnings = stage.serialize()
        except Exception as exc:
            self._abort_stage(stage, f"Task not serializable: {exc}", exc)
            return
        info = stage.new_info(len(indices))
        info.submission_time = self.clock()
        self.emit(StageSubmitted(info, dict(job.properties)))
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

    def _stage_done(self, stage: Stage) -> None:
        self.running.discard(stage)
        if stage.info is not None and stage.info.completion_time is None:
            stage.info.completion_time = self.clock()
            self.emit(StageCompleted(stage.info))
        self.task_scheduler.stage_finished(stage.id)
        for data in self.task_scheduler.executors.values():  # its binaries are not needed
            for binary_id in [b for b in data.binaries if b[0] == stage.id]:
                data.binaries.discard(binary_id)
                self.emit(ev.RemoveBinary(data.info.executor_id, binary_id))
        if isinstance(stage, ShuffleMapStage):
            if not self._is_available(stage):
                # Some outputs were lost while the stage ran: run the missing ones again.
                self._submit_stage(stage)
                return
            stage.failed_attempts = 0
            self._finish_map_stage_jobs(stage)
        self._submit_waiting_stages()

    def _finish_map_stage_jobs(self, stage: ShuffleMapStage) -> None:
        """Every map output of the stage exists: its map-stage jobs end, with the sizes."""
        if not stage.map_stage_jobs:
            return
        stats = self.map_outputs.statistics(stage.shuffle_id,
                                            stage.shuffle_dep.partitioner.numPartitions)
        for job in list(stage.map_stage_jobs):
            job.finished[0] = True
            job.num_finished = 1
            self.emit(ev.MapStageResult(job.job_id, stats))
            self._finish_job(job)

    def _submit_waiting_stages(self) -> None:
        for stage in sorted(self.waiting, key=lambda s: s.id):
            missing = [p for p in stage.parents if not self._is_available(p)]
            active = self.running | self.waiting | self.failed
            # Ready, or waiting on a parent nothing runs any more (it had finished, then lost
            # outputs with an executor): submitting it again reruns that parent first.
            if stage in self.waiting and not any(p in active for p in missing):
                self.waiting.discard(stage)
                self._submit_stage(stage)

    def _resubmit_failed_stages(self) -> None:
        failed, self.failed = sorted(self.failed, key=lambda s: s.first_job_id), set()
        for stage in failed:
            self._submit_stage(stage)

    # --- launching --------------------------------------------------------------------

    def _offer(self) -> None:
        """Fill free cores: all of them when new tasks appeared, else the freed ones."""
        ts = self.task_scheduler
        while ts.offer_all or self._freed:
            launches = ts.resource_offers(None if ts.offer_all else self._freed)
            self._freed = []
            if not launches:
                return
            for launch in launches:
                self._launch(launch)

    def _launch(self, launch: Launch) -> None:
        task = launch.task
        stage = self.stages[task.stage_id]
        locations = self._shuffle_locations(stage, task.partition)
        if locations is None:
            # Its input is already known to be missing: fail it as its fetch would.
            shuffle_id, map_id = self._missing_map_output(stage)
            reason = m.FetchFailed("", shuffle_id, map_id,
                                   f"missing map output {map_id} of shuffle {shuffle_id}")
            self._status_update(m.StatusUpdate(launch.task_id, launch.executor_id, reason), [],
                                free=False)
            return
        executors = self.task_scheduler.executors
        data = executors[launch.executor_id]
        if task.split_blob is None:
            task.split_blob = serializers.dumps(task.split)
        binary_id = (stage.id, stage.latest_attempt)
        binary = None
        if binary_id not in data.binaries:
            binary = stage.binary
            data.binaries.add(binary_id)
        # Broadcasts the stage reads and files the application added go to each executor
        # once, with the first task that needs them.
        shipments: list[tuple[str, str]] = []
        if stage.broadcasts or self.app_files:
            wanted = {("broadcast", bid) for bid in stage.broadcasts} | self.app_files
            shipments = sorted(wanted - data.held)
            data.held.update(shipments)
        shuffle_locations = {
            shuffle_id: [(ex, executors[ex].info.address, maps) for ex, maps in locs]
            for shuffle_id, locs in locations.items()}
        self.emit(ev.LaunchTask(
            launch.executor_id, launch.task_id, task.stage_id, task.stage_attempt,
            task.partition, launch.attempt, task.kind, binary_id, binary, task.split_blob,
            shipments, shuffle_locations, launch.properties))

    def _shuffle_locations(self, stage: Stage, partition: int) -> dict | None:
        """What a task of the stage must fetch; None if a map output has gone missing."""
        found = {}
        for dep, one_to_one in stage.reads:
            locs = self.map_outputs.locations(dep.shuffle_id, partition if one_to_one else None)
            if locs is None:
                return None
            found[dep.shuffle_id] = locs
        return found

    def _missing_map_output(self, stage: Stage) -> tuple[int, int]:
        """A (shuffle id, map id) the stage needs and no executor has."""
        for dep, _ in stage.reads:
            missing = self.map_outputs.missing(dep.shuffle_id)
            if missing:
                return dep.shuffle_id, missing[0]
        raise AssertionError(f"stage {stage.id} misses no map output")

    def _kill(self, kills: list[tuple[int, str]]) -> None:
        for task_id, executor_id in kills:
            self.emit(ev.KillTask(executor_id, task_id))

    # --- task endings ---------------------------------------------------------------------

    def _status_update(self, update: m.StatusUpdate, result: list, free: bool = True) -> None:
        handled = self.task_scheduler.status_update(update, result)
        if handled is None:
            return
        executor_id, completions = handled
        if free:
            self._freed.append(executor_id)
        for rdd_id, partition, _size in update.block_updates:
            self.cache_locs.setdefault((rdd_id, partition), set()).add(executor_id)
        for rdd_id, partition in update.dropped_blocks:
            locs = self.cache_locs.get((rdd_id, partition))
            if locs is not None:
                locs.discard(executor_id)
        self._completed(completions)

    def _completed(self, completions: list[Completion]) -> None:
        for c in completions:
            if not isinstance(c, CompletionEvent):
                self._task_set_failed(c.stage_id, c.reason, c.failure, c.executor_id)
            elif isinstance(c.reason, m.FetchFailed):
                self._fetch_failed(c.task, c.reason)
            else:
                self._task_succeeded(c.task, c.executor_id, c.update, c.result)

    def _task_succeeded(self, task: Task, executor_id: str, update: m.StatusUpdate,
                        result: list) -> None:
        stage = self.stages.get(task.stage_id)
        if stage is None:
            return
        if update.accumulators:
            self.emit(ev.UpdateAccumulators(update.accumulators))
        if isinstance(task, ResultTask):
            job = stage.job
            if job is None or job.job_id not in self.jobs or job.finished[task.output_index]:
                return
            job.finished[task.output_index] = True
            job.num_finished += 1
            stage.pending.discard(task.partition)
            self.emit(ev.TaskResult(job.job_id, task.output_index, result))
            if job.num_finished == len(job.finished):
                self._stage_done(stage)
                self._finish_job(job)
            return
        # A ShuffleMapTask: record where its output lives (its executor is alive: the task
        # scheduler drops updates from lost executors).
        self.map_outputs.register_map_output(stage.shuffle_id, task.partition,
                                             MapStatus(executor_id, update.sizes,
                                                       update.records))
        stage.pending.discard(task.partition)
        if stage in self.running and not stage.pending:
            self._stage_done(stage)

    def _fetch_failed(self, task: Task, reason: m.FetchFailed) -> None:
        """A reduce task could not read a map output: rerun the map stage, then this one."""
        stage = self.stages.get(task.stage_id)
        map_stage = self.shuffle_stages.get(reason.shuffle_id)
        if stage is None or map_stage is None:
            return
        self.map_outputs.unregister_map_output(reason.shuffle_id, reason.map_id,
                                               reason.executor_id)
        if task.stage_attempt != stage.latest_attempt or stage in self.failed:
            return  # this attempt was already given up on
        if stage in self.running:
            self.running.discard(stage)
            self._kill(self.task_scheduler.cancel_stage(stage.id))
            stage.info.failure_reason = reason.description
            stage.info.completion_time = self.clock()
            self.emit(StageCompleted(stage.info))
        stage.failed_attempts += 1
        if stage.failed_attempts >= MAX_CONSECUTIVE_STAGE_ATTEMPTS:
            self._abort_stage(stage, f"{stage.name} has failed the maximum allowable number "
                                     f"of times: {MAX_CONSECUTIVE_STAGE_ATTEMPTS}. Most recent "
                                     f"failure reason: {reason.description}")
            return
        self.failed.update((stage, map_stage))
        self._resubmit_failed_stages()

    def _task_set_failed(self, stage_id: int, reason: str, failure: m.TaskEndReason | None,
                         executor_id: str) -> None:
        stage = self.stages.get(stage_id)
        if stage is not None:
            exc: BaseException
            if isinstance(failure, m.ExceptionFailure):
                exc = PythonException(
                    f"Job aborted due to stage failure: {reason}, most recent failure: "
                    f"{failure.message}\n\n"
                    f"Remote traceback (executor {executor_id}):\n{failure.traceback}",
                    failure.type, failure.description, failure.traceback, executor_id)
            elif failure is not None:  # e.g. the task's executor died running it
                exc = SparkException(f"Job aborted due to stage failure: {reason}, most "
                                     f"recent failure: {failure.message}")
            else:
                exc = SparkException(f"Job aborted due to stage failure: {reason}")
            self._abort_stage(stage, reason, exc)
        self._kill(self.task_scheduler.cancel_stage(stage_id))

    # --- executors, blocks, cancellation ----------------------------------------------------

    def _executor_added(self, e: ev.ExecutorAdded) -> None:
        if self.task_scheduler.is_alive(e.info.executor_id) or self.cluster_lost is not None:
            return
        self.task_scheduler.executor_added(e.info)
        self.emit(ExecutorAdded(e.info.executor_id, self.clock(), e.info))

    def _executor_lost(self, e: ev.ExecutorLost) -> None:
        executor_id = e.executor_id
        if not self.task_scheduler.is_alive(executor_id):
            return
        self.emit(ExecutorRemoved(executor_id, self.clock(), e.reason))
        self._completed(self.task_scheduler.executor_lost(executor_id, e.reason,
                                                          e.exit_caused_by_app) or [])
        lost = self.map_outputs.remove_outputs_on_executor(executor_id)
        for key in [k for k, v in self.cache_locs.items() if executor_id in v]:
            self.cache_locs[key].discard(executor_id)
            if not self.cache_locs[key]:
                del self.cache_locs[key]
        if lost:
            log.info("executor %s lost shuffle outputs of shuffles %s", executor_id, lost)

    def _cluster_manager_lost(self, e: ev.ClusterManagerLost) -> None:
        if self.cluster_lost is not None:
            return
        self.cluster_lost = e.reason
        for executor_id in sorted(self.task_scheduler.executors):
            self._executor_lost(ev.ExecutorLost(executor_id, e.reason))
        for job in sorted(self.jobs.values(), key=lambda j: j.job_id):
            self._fail_job(job, SparkException(e.reason))

    def _tick(self, e: ev.Tick) -> None:
        self._wait_for_executors()
        ts = self.task_scheduler
        if ts.check_speculatable_tasks() or ts.has_pending():
            ts.offer_all = True

    def _wait_for_executors(self) -> None:
        """While jobs run on no executor at all (every one was lost at once, or none came),
        wait for new ones up to ``executor_wait`` seconds, then fail those jobs."""
        if not self.jobs or self.task_scheduler.executors:
            self._no_executors_since = None
            return
        now = self.clock()
        if self._no_executors_since is None:
            self._no_executors_since = now
            log.warning("no executors left: jobs wait up to %g s for new ones "
                        "(spark.sparkbook.executorWaitTimeout)", self.executor_wait)
        elif now - self._no_executors_since >= self.executor_wait:
            self._no_executors_since = None
            error = SparkException(
                f"Job aborted: no executors for {self.executor_wait:g} s "
                "(spark.sparkbook.executorWaitTimeout): every executor was lost and no new "
                "one registered with the cluster manager")
            for job in sorted(self.jobs.values(), key=lambda j: j.job_id):
                self._fail_job(job, error)

    def _rdd_unpersisted(self, e: ev.RddUnpersisted) -> None:
        for key in [k for k in self.cache_locs if k[0] == e.rdd_id]:
            del self.cache_locs[key]
        self.emit(e)  # and the executors drop its blocks

    def _broadcast_removed(self, e: ev.BroadcastRemoved) -> None:
        self.emit(e)  # and the executors drop it
        for data in self.task_scheduler.executors.values():
            data.held.discard(("broadcast", e.bid))  # sent again if read again

    def _clean_shuffles(self, shuffle_ids: set[int]) -> None:
        """Forget garbage shuffles (Spark's ContextCleaner.doCleanupShuffle): their map
        stages, with the lineage and data those hold, and their map outputs, here and on
        the executors. One whose stage is still in use waits in ``cleaning``."""
        self.cleaning |= shuffle_ids
        cleaned = True
        while cleaned:  # a stage dropped may free its parent stages
            cleaned = False
            for shuffle_id in sorted(self.cleaning):
                stage = self.shuffle_stages.get(shuffle_id)
                if stage is not None and self._in_use(stage):
                    continue
                self.cleaning.discard(shuffle_id)
                cleaned = True
                if stage is not None:
                    del self.shuffle_stages[shuffle_id]
                    self.stages.pop(stage.id, None)
                if self.map_outputs.unregister_shuffle(shuffle_id):
                    self.emit(ev.RemoveShuffle(shuffle_id))

    def _in_use(self, stage: Stage) -> bool:
        return (stage in self.running or stage in self.waiting or stage in self.failed
                or any(j in self.jobs for j in stage.job_ids)
                or any(stage in s.parents for s in self.stages.values()))

    def _cancel_job(self, e: ev.CancelJob) -> None:
        job = self.jobs.get(e.job_id)
        if job is not None:
            self._fail_job(job, SparkException(f"Job {e.job_id} cancelled {e.reason}"))

    def _cancel_jobs(self, e: ev.CancelJobs) -> None:
        for job in [j for j in self.jobs.values() if e.predicate(j.properties)]:
            self._fail_job(job, SparkException(f"Job {job.job_id} cancelled {e.reason}"))

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
                self._kill(self.task_scheduler.cancel_stage(stage.id))
                self.running.discard(stage)
                if stage.info is not None and stage.info.completion_time is None:
                    stage.info.completion_time = self.clock()
                    stage.info.failure_reason = stage.info.failure_reason or str(error)
                    self.emit(StageCompleted(stage.info))
            self.waiting.discard(stage)
            self.failed.discard(stage)
        self._forget_job(job)
        self.emit(JobEnd(job.job_id, self.clock(), False, str(error)))
        self.emit(ev.JobEnded(job.job_id, error))

    def _finish_job(self, job: ActiveJob) -> None:
        for stage in self._ancestors(job.final_stage):
            stage.job_ids.discard(job.job_id)
        self._forget_job(job)
        self.emit(JobEnd(job.job_id, self.clock(), True))
        self.emit(ev.JobEnded(job.job_id))

    def _forget_job(self, job: ActiveJob) -> None:
        self.jobs.pop(job.job_id, None)
        final = job.final_stage
        if isinstance(final, ResultStage):
            self.stages.pop(final.id, None)
            final.job = None
        else:  # a map stage stays, for the jobs that read its outputs
            final.map_stage_jobs.remove(job)
        if self.cleaning:
            self._clean_shuffles(set())
