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


class PySparkException(Exception):
    """An error reported with an error class, as ``[ERROR_CLASS] message`` (PySpark's base).

    ``getCondition()`` is the error class (``UNRESOLVED_COLUMN.WITH_SUGGESTION``), and
    ``getMessageParameters()`` the values the message was made from.
    """

    def __init__(self, message: str = "", errorClass: str | None = None,
                 messageParameters: dict[str, str] | None = None,
                 sqlState: str | None = None) -> None:
        super().__init__(message)
        self._message = message
        self._error_class = errorClass
        self._parameters = dict(messageParameters or {})
        self._sql_state = sqlState

    def getCondition(self) -> str | None:
        return self._error_class

    def getErrorClass(self) -> str | None:
        return self._error_class

    def getMessageParameters(self) -> dict[str, str]:
        return dict(self._parameters)

    def getSqlState(self) -> str | None:
        return self._sql_state

    def getMessage(self) -> str:
        return self._message

    def __str__(self) -> str:
        return self._message

    def __reduce__(self) -> tuple:
        # Rebuilt from its fields: an error raised in a task reaches the driver whole.
        return (type(self), (self._message, self._error_class, self._parameters,
                             self._sql_state))


class PySparkRuntimeError(PySparkException, RuntimeError):
    """A runtime error PySpark reports with an error class, as ``[ERROR_CLASS] message``
    (e.g. ``pipe(checkCode=True)`` when the command fails)."""


class PySparkTypeError(PySparkException, TypeError):
    """An argument of the wrong type (``[NOT_EXPECTED_TYPE] ...``)."""


class PySparkValueError(PySparkException, ValueError):
    """An argument of the right type and a wrong value."""


class PySparkAttributeError(PySparkException, AttributeError):
    """An attribute that does not exist (``Row.nope``)."""


class PySparkImportError(PySparkException, ImportError):
    """A package a call needs is not installed (pandas for ``toPandas``)."""


class AnalysisException(PySparkException):
    """A query that cannot be planned: an unknown column, a type mismatch."""


class ParseException(AnalysisException):
    """Expression or SQL text that does not parse."""


class SparkRuntimeException(PySparkException):
    """A query failed while running."""


class SparkNoSuchElementException(PySparkException):
    """A key that does not exist (an unknown SQL setting)."""


class ArithmeticException(PySparkException):
    """ANSI arithmetic failed: overflow, division by zero."""


class DateTimeException(PySparkException):
    """A date or timestamp that does not parse (ANSI mode), or is out of range."""


class ArrayIndexOutOfBoundsException(PySparkException):
    """An array index outside the array (ANSI mode): ``arr[5]``, ``element_at``."""


class IllegalArgumentException(PySparkException):
    """A value a function cannot accept."""


class NumberFormatException(IllegalArgumentException):
    """A string that does not parse as the number it is cast to."""


class UnsupportedOperationException(PySparkException):
    """An operation Spark does not allow here (a second ``pivot``)."""


def sql_error(error_class: str, sql_state: str | None, message: str,
              kind: type[PySparkException] = AnalysisException,
              **parameters: str) -> PySparkException:
    """An error as Spark SQL words it: ``[CLASS] message SQLSTATE: state``."""
    text = f"[{error_class}] {message}" + (f" SQLSTATE: {sql_state}" if sql_state else "")
    return kind(text, error_class, parameters, sql_state)
