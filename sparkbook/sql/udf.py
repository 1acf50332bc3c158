"""Python UDFs (``functions.udf``, ``@udf(returnType=...)``, ``spark.udf.register``): a
Python function called on each row's arguments inside the task, batch by batch, its results
built into one Arrow array of the declared type. The function travels to the executors by
cloudpickle inside the plan's closure, like any RDD function; an exception it raises fails
the task and reaches the driver as a ``PythonException`` with the remote type, message and
traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sparkbook.errors import PySparkTypeError
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.execution.arrow import (
    _as_text,
    _from_arrow_value,
    _to_arrow_value,
    to_arrow_type,
)
from sparkbook.sql.execution.values import Value, as_array
from sparkbook.sql.types import DataType, StringType, parse_ddl

if TYPE_CHECKING:
    from sparkbook.sql.column import Column


def _data_type(returnType: DataType | str) -> DataType:
    if isinstance(returnType, str):
        return parse_ddl(returnType)
    if not isinstance(returnType, DataType):
        raise PySparkTypeError(
            f"[NOT_DATATYPE_OR_STR] Argument `returnType` should be a DataType or str, got "
            f"{type(returnType).__name__}.", "NOT_DATATYPE_OR_STR")
    return returnType


class UserDefinedFunction:
    """A Python function as a column function: ``f(col, ...)`` is a Column named
    ``f(col, ...)``, whose values ``f`` computes row by row on the executors."""

    def __init__(self, func: Callable, returnType: DataType | str = "string",
                 name: str | None = None) -> None:
        if not callable(func):
            raise PySparkTypeError(
                f"[NOT_CALLABLE] Argument `func` should be a callable, got "
                f"{type(func).__name__}.", "NOT_CALLABLE")
        self.func = func
        self.returnType = _data_type(returnType)
        self._name = name or getattr(func, "__name__", type(func).__name__)
        functools.update_wrapper(self, func)

    def __call__(self, *cols: Column | str) -> Column:
        from sparkbook.sql.column import Column, name_expr

        return Column(self.expression([name_expr(c) for c in cols]))

    def expression(self, args: list[e.Expression]) -> e.PythonUDF:
        """The call of this function on ``args``."""
        return e.PythonUDF(self._name, self.func, self.returnType, args)

    def asNondeterministic(self) -> UserDefinedFunction:
        """As it is: every UDF is already called once per row, never folded or reused."""
        return self


def udf(f: Callable | DataType | str | None = None,
        returnType: DataType | str = "string") -> Any:
    """A Python UDF: ``udf(f, IntegerType())``, or as a decorator ``@udf`` /
    ``@udf(returnType=IntegerType())`` / ``@udf("int")``. The default type is string."""
    if f is None or isinstance(f, (str, DataType)):
        declared = returnType if f is None else f
        return lambda func: UserDefinedFunction(func, declared)
    return UserDefinedFunction(f, returnType)


class UDFRegistration:
    """``spark.udf``: Python functions registered by name for SQL text and ``expr()``."""

    def __init__(self) -> None:
        self._functions: dict[str, UserDefinedFunction] = {}

    def register(self, name: str, f: Callable | UserDefinedFunction,
                 returnType: DataType | str | None = None) -> UserDefinedFunction:
        if isinstance(f, UserDefinedFunction):
            registered = UserDefinedFunction(f.func, returnType or f.returnType, name)
        else:
            registered = UserDefinedFunction(f, returnType or "string", name)
        self._functions[name.lower()] = registered
        return registered

    def lookup(self, name: str) -> UserDefinedFunction | None:
        return self._functions.get(name.lower())


def registered(name: str) -> UserDefinedFunction | None:
    """The active session's UDF of that name, if one is registered."""
    from sparkbook.sql.session import SparkSession

    session = SparkSession.getActiveSession()
    return session.udf.lookup(name) if session is not None else None


def evaluate_udf(x: e.PythonUDF, args: list[Value], n: int) -> pa.Array:
    """The UDF over one batch: one call per row, one Arrow array built from the results."""
    inputs = []
    for arg, child in zip(args, x.children):
        values = as_array(arg, n).to_pylist()
        inputs.append([_from_arrow_value(v, child.dtype) for v in values])
    func, dt = x.func, x.return_type
    results = [func(*row) for row in zip(*inputs)] if inputs else [func() for _ in range(n)]
    if isinstance(dt, StringType):  # PySpark writes other values as text
        results = [_as_text(v) for v in results]
    return pa.array([_to_arrow_value(v, dt) for v in results], to_arrow_type(dt))
