"""The listener bus: the driver's one feed of what the scheduler and the cluster are doing.

The scheduler posts events (job, stage and task start and end with metrics; executors
added, removed and their resource metrics); widgets, the console progress bar, the status
tracker and tests all listen here. Synchronous listeners (the status store) see each
event as it is posted; the others receive it on the bus's own thread, so a slow listener
never stalls the scheduler. That thread wakes at most every ``BATCH_PERIOD`` seconds and
delivers what has queued up, so that busy jobs do not cost a thread switch per task.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from sparkbook.messages import ExecutorInfo
from sparkbook.metrics import ExecutorMetrics, TaskMetrics

log = logging.getLogger("sparkbook.listener")

BATCH_PERIOD = 0.02


@dataclass
class StageInfo:
    stage_id: int
    attempt_id: int
    name: str
    num_tasks: int
    parent_ids: list[int]
    rdd_name: str = ""
    is_shuffle_map: bool = False
    submission_time: float | None = None
    completion_time: float | None = None
    failure_reason: str | None = None
    parent_shuffles: list[int] = field(default_factory=list)  # the shuffle each parent writes
    steps: list[str] = field(default_factory=list)  # the RDD ops it pipelines, first to last
    cached: list[str] = field(default_factory=list)  # those of its steps that are persisted
    warnings: list[str] = field(default_factory=list)  # e.g. a closure too large to ship
    shuffle_id: int | None = None  # a map stage's: the shuffle it writes
    # How that shuffle aggregates: "map-side" (reduceByKey), "reduce-side" (groupByKey)
    # or "" (none: partitionBy, join, sortByKey).
    aggregation: str = ""


@dataclass
class ShuffleWrite:
    """What one map task wrote, per reduce partition."""

    sizes: list[int]  # bytes
    records: list[int]
    hot_keys: list[tuple[str, int]] = field(default_factory=list)  # (repr, estimated)


@dataclass
class TaskInfo:
    task_id: int
    index: int
    attempt: int
    launch_time: float
    executor_id: str
    host: str = ""
    speculative: bool = False
    finish_time: float | None = None
    status: str = "RUNNING"  # RUNNING | SUCCESS | FAILED | KILLED

    @property
    def duration(self) -> float:
        return (self.finish_time or time.time()) - self.launch_time


class SparkListenerEvent:
    """Base of every event on the bus."""


@dataclass
class ApplicationStart(SparkListenerEvent):
    app_id: str
    app_name: str
    time: float
    user: str = ""


@dataclass
class ApplicationEnd(SparkListenerEvent):
    time: float


@dataclass
class JobStart(SparkListenerEvent):
    job_id: int
    time: float
    stage_infos: list[StageInfo]
    properties: dict = field(default_factory=dict)
    call_site: str = ""
    skipped_stage_ids: list[int] = field(default_factory=list)  # outputs exist: none run


@dataclass
class JobEnd(SparkListenerEvent):
    job_id: int
    time: float
    succeeded: bool
    error: str | None = None


@dataclass
class StageSubmitted(SparkListenerEvent):
    stage_info: StageInfo
    properties: dict = field(default_factory=dict)


@dataclass
class StageCompleted(SparkListenerEvent):
    stage_info: StageInfo


@dataclass
class TaskStart(SparkListenerEvent):
    stage_id: int
    stage_attempt: int
    task_info: TaskInfo


@dataclass
class TaskEnd(SparkListenerEvent):
    stage_id: int
    stage_attempt: int
    task_type: str  # ShuffleMapTask | ResultTask
    reason: str  # Success | ExceptionFailure | FetchFailed | ExecutorLostFailure | TaskKilled
    task_info: TaskInfo
    metrics: TaskMetrics
    error: str | None = None
    output: list[str] = field(default_factory=list)  # what the task printed
    output_dropped: int = 0
    shuffle_reads: list[tuple[int, int, int]] = field(default_factory=list)  # per shuffle
    shuffle_write: ShuffleWrite | None = None  # a successful map task's


@dataclass
class ExecutorAdded(SparkListenerEvent):
    executor_id: str
    time: float
    info: ExecutorInfo


@dataclass
class ExecutorRemoved(SparkListenerEvent):
    executor_id: str
    time: float
    reason: str


@dataclass
class ExecutorMetricsUpdate(SparkListenerEvent):
    executor_id: str
    metrics: ExecutorMetrics


@dataclass
class BlockUpdated(SparkListenerEvent):
    executor_id: str
    rdd_id: int
    partition: int
    size: int  # 0 when the block was removed


class SparkListener:
    """Override the ``on_*`` methods you need; the bus calls them with each event."""

    def on_application_start(self, event: ApplicationStart) -> None: ...
    def on_application_end(self, event: ApplicationEnd) -> None: ...
    def on_job_start(self, event: JobStart) -> None: ...
    def on_job_end(self, event: JobEnd) -> None: ...
    def on_stage_submitted(self, event: StageSubmitted) -> None: ...
    def on_stage_completed(self, event: StageCompleted) -> None: ...
    def on_task_start(self, event: TaskStart) -> None: ...
    def on_task_end(self, event: TaskEnd) -> None: ...
    def on_executor_added(self, event: ExecutorAdded) -> None: ...
    def on_executor_removed(self, event: ExecutorRemoved) -> None: ...
    def on_executor_metrics_update(self, event: ExecutorMetricsUpdate) -> None: ...
    def on_block_updated(self, event: BlockUpdated) -> None: ...


_HANDLERS = {
    ApplicationStart: "on_application_start", ApplicationEnd: "on_application_end",
    JobStart: "on_job_start", JobEnd: "on_job_end",
    StageSubmitted: "on_stage_submitted", StageCompleted: "on_stage_completed",
    TaskStart: "on_task_start", TaskEnd: "on_task_end",
    ExecutorAdded: "on_executor_added", ExecutorRemoved: "on_executor_removed",
    ExecutorMetricsUpdate: "on_executor_metrics_update", BlockUpdated: "on_block_updated",
}


def dispatch(listener: SparkListener, event: SparkListenerEvent) -> None:
    try:
        getattr(listener, _HANDLERS[type(event)])(event)
    except Exception:
        log.exception("listener %r failed on %s", listener, type(event).__name__)


class LiveListenerBus:
    """Delivers events to synchronous listeners at once and to the rest on a thread."""

    def __init__(self) -> None:
        self._sync: list[SparkListener] = []
        self._async: list[SparkListener] = []
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._pending = 0
        self._idle = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="sparkbook-listener-bus",
                                        daemon=True)
        self._thread.start()

    def add_listener(self, listener: SparkListener, synchronous: bool = False) -> None:
        (self._sync if synchronous else self._async).append(listener)

    def remove_listener(self, listener: SparkListener) -> None:
        for group in (self._sync, self._async):
            if listener in group:
                group.remove(listener)

    def post(self, event: SparkListenerEvent) -> None:
        for listener in self._sync:
            dispatch(listener, event)
        if not self._async:
            return
        with self._idle:
            self._pending += 1
        # Only the listeners registered now hear of it, even if delivery comes later.
        self._queue.put((event, tuple(self._async)))

    def wait_until_empty(self, timeout: float = 10.0) -> bool:
        """Block until every posted event has reached every listener."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _run(self) -> None:
        while True:
            events = [self._queue.get()]
            while True:
                try:
                    events.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for event, listeners in events:
                for listener in listeners:
                    if listener in self._async:  # unless removed in the meantime
                        dispatch(listener, event)
            with self._idle:
                self._pending -= len(events)
                if self._pending == 0:
                    self._idle.notify_all()
            time.sleep(BATCH_PERIOD)
