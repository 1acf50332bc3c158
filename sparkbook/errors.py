"""The errors a sparkbook user can meet, shared by driver and executors."""

from __future__ import annotations


class SparkException(Exception):
    """A job failed, was cancelled, or the cluster could not run it."""


class PythonException(SparkException):
    """A task raised on an executor; carries the remote type, message and traceback."""

    def __init__(self, message: str, remote_type: str = "", remote_message: str = "",
                 remote_traceback: str = "", executor_id: str = "") -> None:
        super().__init__(message)
        self.remote_type = remote_type
        self.remote_message = remote_message
        self.remote_traceback = remote_traceback
        self.executor_id = executor_id


class FetchFailedError(Exception):
    """A reduce task could not fetch a map output: its executor is gone or lost it."""

    def __init__(self, executor_id: str, shuffle_id: int, map_id: int, reason: str) -> None:
        super().__init__(f"FetchFailed(executor {executor_id}, shuffle {shuffle_id}, "
                         f"map {map_id}): {reason}")
        self.executor_id = executor_id
        self.shuffle_id = shuffle_id
        self.map_id = map_id


class TaskKilledError(BaseException):
    """Raised inside a task's thread to stop it (a BaseException so user code's
    ``except Exception`` does not swallow it)."""


class PySparkRuntimeError(RuntimeError):
    """A runtime error PySpark reports with an error class, as ``[ERROR_CLASS] message``
    (e.g. ``pipe(checkCode=True)`` when the command fails)."""
