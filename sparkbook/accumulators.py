"""Accumulators: variables that tasks only add to and the driver reads.

A task gets a fresh zero-valued copy of each accumulator its closure captures; when the
task succeeds its local values travel back with its result, and the driver adds them in
exactly once per successful task. A task's profile (``spark.python.profile``) travels the
same way, keyed ``(PROFILE, rdd id)``, as PySpark's profiler is an accumulator too.
"""

from __future__ import annotations

import threading
from typing import Any, Generic, TypeVar

from sparkbook.errors import PySparkRuntimeError

T = TypeVar("T")

_task_local = threading.local()

PROFILE = "profile"  # the key of a task's profile among its accumulator updates
VALUE_NOT_ACCESSIBLE = (
    "[VALUE_NOT_ACCESSIBLE] Value `Accumulator.value` cannot be accessed inside tasks.")


class AccumulatorParam(Generic[T]):
    """How to add values of an accumulator's type: override ``zero`` and ``addInPlace``."""

    def zero(self, value: T) -> T:
        raise NotImplementedError

    def addInPlace(self, value1: T, value2: T) -> T:
        raise NotImplementedError


class AddingAccumulatorParam(AccumulatorParam):
    def __init__(self, zero_value: Any) -> None:
        self.zero_value = zero_value

    def zero(self, value: Any) -> Any:
        return self.zero_value

    def addInPlace(self, value1: Any, value2: Any) -> Any:
        value1 += value2
        return value1


INT_ACCUMULATOR_PARAM = AddingAccumulatorParam(0)
FLOAT_ACCUMULATOR_PARAM = AddingAccumulatorParam(0.0)
COMPLEX_ACCUMULATOR_PARAM = AddingAccumulatorParam(0.0j)


def default_param(value: Any) -> AccumulatorParam:
    """PySpark's default for ints (bools too), floats and complex numbers."""
    if not isinstance(value, (int, float, complex)):
        raise TypeError(f"No default accumulator param for type {type(value)}")
    if isinstance(value, int):
        return INT_ACCUMULATOR_PARAM
    return FLOAT_ACCUMULATOR_PARAM if isinstance(value, float) else COMPLEX_ACCUMULATOR_PARAM


class Accumulator(Generic[T]):
    """A shared variable tasks add to with ``+=`` or ``add``; only the driver reads it."""

    def __init__(self, aid: int, value: T, accum_param: AccumulatorParam[T],
                 on_driver: bool = True) -> None:
        self.aid = aid
        self.accum_param = accum_param
        self._value = value
        self._on_driver = on_driver

    @property
    def value(self) -> T:
        if not self._on_driver:
            raise PySparkRuntimeError(VALUE_NOT_ACCESSIBLE)
        return self._value

    @value.setter
    def value(self, value: T) -> None:
        if not self._on_driver:
            raise PySparkRuntimeError(VALUE_NOT_ACCESSIBLE)
        self._value = value

    def add(self, term: T) -> None:
        self._value = self.accum_param.addInPlace(self._value, term)

    def __iadd__(self, term: T) -> Accumulator[T]:
        self.add(term)
        return self

    def __reduce__(self) -> tuple:
        return (_task_copy, (self.aid, self.accum_param.zero(self._value), self.accum_param))

    def __str__(self) -> str:
        return str(self._value)

    def __repr__(self) -> str:
        return f"Accumulator<id={self.aid}, value={self._value}>"


def _task_copy(aid: int, zero: Any, param: AccumulatorParam) -> Accumulator:
    registry = getattr(_task_local, "registry", None)
    if registry is not None and aid in registry:
        return registry[aid]
    acc = Accumulator(aid, zero, param, on_driver=False)
    if registry is not None:
        registry[aid] = acc
    return acc


def start_task_registry() -> None:
    _task_local.registry = {}


def finish_task_registry() -> dict[int, Any]:
    """The task's local accumulator values, by id."""
    registry = getattr(_task_local, "registry", None) or {}
    _task_local.registry = None
    return {aid: acc._value for aid, acc in registry.items()}
