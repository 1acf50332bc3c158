"""The status store (a synchronous listener) and SparkStatusTracker, PySpark's read API."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

from sparkbook.driver.listener import (
    ExecutorAdded,
    ExecutorMetricsUpdate,
    ExecutorRemoved,
    JobEnd,
    JobStart,
    SparkListener,
    StageCompleted,
    StageSubmitted,
    TaskEnd,
    TaskStart,
)


class SparkJobInfo(NamedTuple):
    jobId: int
    stageIds: list[int]
    status: str


class SparkStageInfo(NamedTuple):
    stageId: int
    currentAttemptId: int
    submissionTime: int
    name: str
    numTasks: int
    numActiveTasks: int
    numCompletedTasks: int
    numFailedTasks: int


@dataclass
class StageStatus:
    stage_id: int
    attempt: int
    name: str
    num_tasks: int
    status: str = "PENDING"  # PENDING | ACTIVE | COMPLETE | FAILED | SKIPPED
    submission_time: float | None = None
    completion_time: float | None = None
    active: int = 0
    completed: int = 0
    failed: int = 0
    killed: int = 0
    shuffle_read_bytes: int = 0
    shuffle_write_bytes: int = 0
    shuffle_read_records: int = 0  # rows, for a SQL exchange
    shuffle_write_records: int = 0
    input_bytes: int = 0
    cache_hits: int = 0
    earlier_failed: int = 0  # tasks that failed in this stage's earlier attempts
    task_durations: list[float] = field(default_factory=list)
    failure_reason: str | None = None


@dataclass
class JobStatus:
    job_id: int
    stage_ids: list[int]
    group: str | None
    description: str | None
    call_site: str
    submission_time: float
    status: str = "RUNNING"  # RUNNING | SUCCEEDED | FAILED
    completion_time: float | None = None
    error: str | None = None


class AppStatusStore(SparkListener):
    """Live state of jobs, stages and executors, updated as events are posted.

    Like Spark's UI it keeps at most ``retained_jobs`` finished jobs, ``retained_stages``
    finished stages and ``retained_dead_executors`` removed executors
    (``spark.ui.retainedJobs``, ``spark.ui.retainedStages``,
    ``spark.ui.retainedDeadExecutors``), so that a notebook running for days does not
    grow without bound; when over, the oldest tenth (or the excess) goes at once.
    """

    def __init__(self, retained_jobs: int = 1000, retained_stages: int = 1000,
                 retained_dead_executors: int = 100) -> None:
        self.lock = threading.Lock()
        self.jobs: dict[int, JobStatus] = {}
        self.stages: dict[int, StageStatus] = {}
        self.executors: dict[str, dict] = {}
        self.retained_jobs = retained_jobs
        self.retained_stages = retained_stages
        self.retained_dead_executors = retained_dead_executors

    def _trim(self, table: dict, retained: int, finished: Callable[[object], bool]) -> None:
        """Forget the oldest finished entries of ``table`` beyond ``retained`` (under lock)."""
        if len(table) <= retained:  # the common case, checked at every job's end: no scan
            return
        done = [key for key, value in table.items() if finished(value)]
        excess = len(done) - retained
        if excess > 0:
            for key in done[:max(excess, retained // 10)]:
                del table[key]

    def on_job_start(self, event: JobStart) -> None:
        props = event.properties
        with self.lock:
            self.jobs[event.job_id] = JobStatus(
                event.job_id, [s.stage_id for s in event.stage_infos],
                props.get("spark.jobGroup.id"), props.get("spark.job.description"),
                event.call_site, event.time)
            for info in event.stage_infos:
                if info.stage_id not in self.stages or info.completion_time is not None:
                    self.stages[info.stage_id] = StageStatus(
                        info.stage_id, info.attempt_id, info.name, info.num_tasks)

    def on_job_end(self, event: JobEnd) -> None:
        with self.lock:
            job = self.jobs[event.job_id]
            job.status = "SUCCEEDED" if event.succeeded else "FAILED"
            job.completion_time = event.time
            job.error = event.error
            for stage_id in job.stage_ids:
                stage = self.stages.get(stage_id)
                if stage is not None and stage.status == "PENDING":
                    stage.status = "SKIPPED"
            self._trim(self.jobs, self.retained_jobs, lambda j: j.status != "RUNNING")
            self._trim(self.stages, self.retained_stages,
                       lambda s: s.status in ("COMPLETE", "FAILED", "SKIPPED"))

    def on_stage_submitted(self, event: StageSubmitted) -> None:
        info = event.stage_info
        with self.lock:
            earlier = self.stages.get(info.stage_id)
            stage = self.stages[info.stage_id] = StageStatus(
                info.stage_id, info.attempt_id, info.name, info.num_tasks, "ACTIVE",
                info.submission_time)
            if earlier is not None and earlier.attempt < info.attempt_id:
                # A retry: keep the failures that caused it in sight.
                stage.earlier_failed = earlier.earlier_failed + earlier.failed

    def on_stage_completed(self, event: StageCompleted) -> None:
        info = event.stage_info
        with self.lock:
            stage = self.stages.get(info.stage_id)
            if stage is None or stage.attempt != info.attempt_id:
                return
            stage.status = "FAILED" if info.failure_reason else "COMPLETE"
            stage.completion_time = info.completion_time
            stage.failure_reason = info.failure_reason

    def on_task_start(self, event: TaskStart) -> None:
        with self.lock:
            stage = self.stages.get(event.stage_id)
            if stage is not None and stage.attempt == event.stage_attempt:
                stage.active += 1
            ex = self.executors.get(event.task_info.executor_id)
            if ex is not None:
                ex["active_tasks"] = ex.get("active_tasks", 0) + 1

    def on_task_end(self, event: TaskEnd) -> None:
        m = event.metrics
        with self.lock:
            stage = self.stages.get(event.stage_id)
            if stage is not None and stage.attempt == event.stage_attempt:
                stage.active -= 1
                if event.reason == "Success":
                    stage.completed += 1
                    stage.task_durations.append(event.task_info.duration)
                elif event.reason == "TaskKilled":
                    stage.killed += 1
                else:
                    stage.failed += 1
                stage.shuffle_read_bytes += m.shuffle_read_bytes
                stage.shuffle_write_bytes += m.shuffle_write_bytes
                stage.shuffle_read_records += m.shuffle_read_records
                stage.shuffle_write_records += m.shuffle_write_records
                stage.input_bytes += m.input_bytes
                stage.cache_hits += m.cache_hits
            elif (stage is not None and event.stage_attempt < stage.attempt
                  and event.reason not in ("Success", "TaskKilled")):
                stage.earlier_failed += 1  # an earlier attempt's task, failing late
            ex = self.executors.get(event.task_info.executor_id)
            if ex is not None:
                ex["active_tasks"] = max(0, ex.get("active_tasks", 0) - 1)
                key = "completed_tasks" if event.reason == "Success" else "failed_tasks"
                ex[key] = ex.get(key, 0) + 1

    def on_executor_added(self, event: ExecutorAdded) -> None:
        with self.lock:
            self.executors[event.executor_id] = dict(asdict(event.info),
                                                     alive=True, added_time=event.time)

    def on_executor_removed(self, event: ExecutorRemoved) -> None:
        with self.lock:
            ex = self.executors.setdefault(event.executor_id, {})
            ex.update(alive=False, removed_reason=event.reason, removed_time=event.time)
            self._trim(self.executors, self.retained_dead_executors,
                       lambda e: not e.get("alive"))

    def on_executor_metrics_update(self, event: ExecutorMetricsUpdate) -> None:
        with self.lock:
            ex = self.executors.get(event.executor_id)
            if ex is not None:
                ex["metrics"] = event.metrics


class SparkStatusTracker:
    """Low-level status of jobs and stages (``sc.statusTracker()``)."""

    def __init__(self, store: AppStatusStore) -> None:
        self._store = store

    def getJobIdsForGroup(self, jobGroup: str | None = None) -> list[int]:
        with self._store.lock:
            return [j.job_id for j in self._store.jobs.values() if j.group == jobGroup]

    def getActiveStageIds(self) -> list[int]:
        with self._store.lock:
            return sorted(s.stage_id for s in self._store.stages.values()
                          if s.status == "ACTIVE")

    def getActiveJobsIds(self) -> list[int]:
        with self._store.lock:
            return sorted(j.job_id for j in self._store.jobs.values() if j.status == "RUNNING")

    def getJobInfo(self, jobId: int) -> SparkJobInfo | None:
        with self._store.lock:
            job = self._store.jobs.get(jobId)
            return None if job is None else SparkJobInfo(job.job_id, list(job.stage_ids),
                                                         job.status)

    def getStageInfo(self, stageId: int) -> SparkStageInfo | None:
        with self._store.lock:
            s = self._store.stages.get(stageId)
            if s is None:
                return None
            submitted = int((s.submission_time or 0) * 1000)
            return SparkStageInfo(s.stage_id, s.attempt, submitted, s.name, s.num_tasks,
                                  s.active, s.completed, s.failed)
