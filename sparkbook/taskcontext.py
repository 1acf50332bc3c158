"""TaskContext: what a running task knows about itself, as ``pyspark.TaskContext``."""

from __future__ import annotations

import threading

_current = threading.local()


class TaskContext:
    """Information about the task running in this executor thread.

    ``TaskContext.get()`` returns it inside a task and ``None`` on the driver.
    """

    def __init__(self, stage_id: int, stage_attempt: int, partition_id: int, attempt: int,
                 task_id: int, properties: dict[str, str], cpus: int = 1) -> None:
        self._stage_id = stage_id
        self._stage_attempt = stage_attempt
        self._partition_id = partition_id
        self._attempt = attempt
        self._task_id = task_id
        self._properties = properties
        self._cpus = cpus

    @classmethod
    def get(cls) -> TaskContext | None:
        return getattr(_current, "context", None)

    @classmethod
    def _set(cls, context: TaskContext | None) -> None:
        _current.context = context

    def stageId(self) -> int:
        return self._stage_id

    def partitionId(self) -> int:
        return self._partition_id

    def attemptNumber(self) -> int:
        return self._attempt

    def taskAttemptId(self) -> int:
        return self._task_id

    def getLocalProperty(self, key: str) -> str | None:
        return self._properties.get(key)

    def cpus(self) -> int:
        return self._cpus

    def resources(self) -> dict:
        return {}
