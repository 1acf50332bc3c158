"""EventRecorder: a SparkListener that keeps what the driver's listener bus delivers."""

from __future__ import annotations

import threading

from sparkbook import SparkListener


class EventRecorder(SparkListener):
    """Job starts and ends, task ends (and the threads they arrived on), executor events."""

    def __init__(self) -> None:
        self.jobs, self.job_ends, self.tasks, self.metrics = [], [], [], []
        self.added, self.removed = [], []
        self.task_threads: set[str] = set()

    def on_job_start(self, event) -> None:
        self.jobs.append(event)

    def on_job_end(self, event) -> None:
        self.job_ends.append(event)

    def on_task_end(self, event) -> None:
        self.tasks.append(event)
        self.task_threads.add(threading.current_thread().name)

    def on_executor_metrics_update(self, event) -> None:
        self.metrics.append(event)

    def on_executor_added(self, event) -> None:
        self.added.append(event)

    def on_executor_removed(self, event) -> None:
        self.removed.append(event)
