"""JobWaiter: hands a job's results from the scheduler thread to the thread that runs it."""

from __future__ import annotations

import collections
import queue
from collections.abc import Callable
from typing import Any

# Undecoded result bytes that wake the caller before the job ends. Below it, results wait
# for the job's end, so that a job of many small tasks does not wake the caller (and
# contend with the scheduler thread for the GIL) once per task; above it, the caller
# decodes while the executors still work on the rest.
WAKE_BYTES = 1 << 20


class JobWaiter:
    """Spark's JobWaiter: ``task_succeeded`` and ``job_succeeded``/``job_failed`` come from
    the scheduler thread, ``collect`` runs on the caller's."""

    _DONE = object()

    def __init__(self, job_id: int, num_partitions: int) -> None:
        self.job_id = job_id
        self.results: list = [None] * num_partitions
        self.error: BaseException | None = None
        self._ready: collections.deque = collections.deque()
        self._undecoded = 0  # bytes in _ready since the last wake (scheduler thread only)
        self._wake: queue.SimpleQueue = queue.SimpleQueue()

    def task_succeeded(self, index: int, result: list[bytes]) -> None:
        self._ready.append((index, result))
        self._undecoded += sum(len(frame) for frame in result)
        if self._undecoded >= WAKE_BYTES:
            self._undecoded = 0
            self._wake.put(None)

    def set_result(self, index: int, value: Any) -> None:
        """A result that needs no decoding (a map stage's statistics), before the end."""
        self.results[index] = value

    def job_succeeded(self) -> None:
        self._wake.put(self._DONE)

    def job_failed(self, error: BaseException) -> None:
        self.error = error
        self._wake.put(self._DONE)

    def collect(self, decode: Callable[[list[bytes]], Any] | None) -> list:
        """Decode results until the job ends; raises the job's error if it failed."""
        while True:
            try:
                item = self._wake.get(timeout=0.1)  # a timeout keeps Ctrl-C responsive
            except queue.Empty:
                continue
            while self._ready:  # everything appended before the wake
                index, blob = self._ready.popleft()
                self.results[index] = decode(blob)
            if item is self._DONE:
                break
        if self.error is not None:
            raise self.error
        return self.results


class SimpleFutureAction:
    """A submitted job, as Spark's SimpleFutureAction: ``get`` waits for its value (on the
    caller's thread; an interrupt cancels the job), ``cancel`` cancels it. ``decode``
    turns each task's result frames into its result, ``value`` the results into what
    ``get`` returns (a map-stage job's: its one result, the MapOutputStatistics)."""

    def __init__(self, waiter: JobWaiter, cancel_job: Callable[[int, str], object],
                 decode: Callable[[list[bytes]], Any] | None = None,
                 value: Callable[[list], Any] | None = None) -> None:
        self._waiter = waiter
        self._cancel_job = cancel_job
        self._decode = decode
        self._value = value

    @property
    def jobIds(self) -> list[int]:  # noqa: N802 - Spark's name
        return [self._waiter.job_id]

    def get(self) -> Any:
        """The job's value; raises its error if it failed."""
        try:
            results = self._waiter.collect(self._decode)
        except KeyboardInterrupt:
            self.cancel("by the user (interrupt)")
            raise
        return results if self._value is None else self._value(results)

    def cancel(self, reason: str = "by the user") -> None:
        self._cancel_job(self._waiter.job_id, reason)
