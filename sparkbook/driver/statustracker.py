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
    ShuffleWrite,
    SparkListener,
    StageCompleted,
    StageInfo,
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


HOT_KEYS_KEPT = 200  # per map stage, of the hottest keys its tasks report


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
    parents: list[int] = field(default_factory=list)
    parent_shuffles: list[int] = field(default_factory=list)  # the shuffle of each parent
    steps: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    shuffle_reads: dict[int, list[int]] = field(default_factory=dict)  # id -> bytes, records
    shuffle_id: int | None = None  # a map stage's
    aggregation: str = ""  # how that shuffle aggregates (StageInfo.aggregation)
    shuffle_write_records: int = 0
    # The shuffle matrix: per map executor, bytes and records per reduce partition.
    write_bytes: dict[str, list[int]] = field(default_factory=dict)
    write_records: dict[str, list[int]] = field(default_factory=dict)
    hot_keys: dict[str, int] = field(default_factory=dict)  # key repr -> estimated records

    @classmethod
    def of(cls, info: StageInfo, status: str = "PENDING") -> StageStatus:
        return cls(info.stage_id, info.attempt_id, info.name, info.num_tasks, status,
                   info.submission_time if status == "ACTIVE" else None,
                   parents=list(info.parent_ids), parent_shuffles=list(info.parent_shuffles),
                   steps=list(info.steps), cached=list(info.cached),
                   warnings=list(info.warnings), shuffle_id=info.shuffle_id,
                   aggregation=info.aggregation)

    def add_shuffle_write(self, executor_id: str, written: ShuffleWrite) -> None:
        for table, row in ((self.write_bytes, written.sizes),
                           (self.write_records, written.records)):
            cells = table.get(executor_id)
            if cells is None:
                table[executor_id] = list(row)
            else:
                table[executor_id] = [a + b for a, b in zip(cells, row)]
        hot = self.hot_keys
        for key, n in written.hot_keys:
            hot[key] = hot.get(key, 0) + n
        if len(hot) > HOT_KEYS_KEPT * 5:  # bounded: a key outside the top loses its count
            kept = sorted(hot.items(), key=lambda kv: -kv[1])[:HOT_KEYS_KEPT]
            self.hot_keys = dict(kept)


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
    # The job's own view of its stages: a stage it shares with a later job keeps, here,
    # what it did in this job (the later job's skipping it shows in that job's view).
    stages: dict[int, StageStatus] = field(default_factory=dict, repr=False)


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
        self.active_jobs: dict[int, JobStatus] = {}
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
        skipped = set(event.skipped_stage_ids)
        with self.lock:
            job = self.jobs[event.job_id] = JobStatus(
                event.job_id, [s.stage_id for s in event.stage_infos],
                props.get("spark.jobGroup.id"), props.get("spark.job.description"),
                event.call_site, event.time)
            self.active_jobs[event.job_id] = job
            for info in event.stage_infos:
                if info.stage_id not in self.stages or info.completion_time is not None:
                    self.stages[info.stage_id] = StageStatus.of(
                        info, "SKIPPED" if info.stage_id in skipped else "PENDING")
                job.stages[info.stage_id] = self.stages[info.stage_id]

    def on_job_end(self, event: JobEnd) -> None:
        with self.lock:
            job = self.jobs[event.job_id]
            self.active_jobs.pop(event.job_id, None)
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
            stage = self.stages[info.stage_id] = StageStatus.of(info, "ACTIVE")
            if earlier is not None and earlier.attempt < info.attempt_id:
                # A retry: keep the failures that caused it in sight.
                stage.earlier_failed = earlier.earlier_failed + earlier.failed
            for job in self.active_jobs.values():
                if info.stage_id in job.stages:
                    job.stages[info.stage_id] = stage

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
                if event.shuffle_write is not None:
                    stage.add_shuffle_write(event.task_info.executor_id, event.shuffle_write)
                stage.input_bytes += m.input_bytes
                stage.cache_hits += m.cache_hits
                for shuffle_id, read_bytes, read_records in event.shuffle_reads:
                    read = stage.shuffle_reads.setdefault(shuffle_id, [0, 0])
                    read[0] += read_bytes
                    read[1] += read_records
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
