"""Aggregate functions (``sum``, ``avg``, ``count``, ``min``, ``max``, ``first``, ``last``,
``collect_list``, ``collect_set``, ``count(DISTINCT x)``): their Spark names, result types
and the partial and final steps they are computed in on either side of an exchange."""

from __future__ import annotations

from collections.abc import Callable

from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.types import (
    ArrayType,
    DataType,
    DecimalType,
    DoubleType,
    FractionalType,
    IntegralType,
    LongType,
    NullType,
    NumericType,
    StringType,
)


class AggregateFunction(e.Expression):
    """``name(child)`` over the rows of a group; ``distinct`` for ``count(DISTINCT x)``."""

    def __init__(self, name: str, args: list[e.Expression], distinct: bool = False,
                 ignore_nulls: bool = False) -> None:
        self.name = name
        self.children = tuple(args)
        self.distinct = distinct
        self.ignore_nulls = ignore_nulls  # first/last(x, ignorenulls=True)

    def render(self, r: Callable) -> str:
        inner = ", ".join(r(c) for c in self.children)
        return f"{self.name}({'DISTINCT ' if self.distinct else ''}{inner})"

    @property
    def child(self) -> e.Expression:
        return self.children[0]


def result_type(f: AggregateFunction) -> tuple[DataType, bool]:
    """Spark's type of the aggregate's result, and whether it can be null."""
    from sparkbook.sql.catalyst.typecoercion import mismatch

    name, dt = f.name, f.child.dtype
    if name == "count":
        return LongType(), False
    if name in ("sum", "avg"):
        if isinstance(dt, StringType):
            dt = DoubleType()  # ANSI mode reads a string as a double
        if not isinstance(dt, (NumericType, NullType)):
            raise mismatch(f, "UNEXPECTED_INPUT_TYPE",
                           f'The first parameter requires the "NUMERIC" or "ANSI INTERVAL" '
                           f'type, however "{e.output_name(f.child)}" has the type '
                           f'"{dt.simpleString().upper()}".')
        if isinstance(dt, DecimalType):
            if name == "sum":
                return DecimalType(min(38, dt.precision + 10), dt.scale), True
            return DecimalType(min(38, dt.precision + 4), min(38, dt.scale + 4)), True
        if name == "avg" or isinstance(dt, FractionalType):
            return DoubleType(), True
        return LongType(), True  # integral and null inputs sum to a bigint
    if name in ("collect_list", "collect_set"):
        return ArrayType(dt, containsNull=False), False
    return dt, True  # min, max, first, last


def input_type(f: AggregateFunction) -> DataType | None:
    """The type the argument is cast to before the aggregate runs (None: as it is)."""
    dt = f.child.dtype
    if f.name in ("sum", "avg"):
        if isinstance(dt, (IntegralType, NullType)):
            return LongType() if f.name == "sum" else DoubleType()
        if isinstance(dt, StringType):
            return DoubleType()
    return None


def contains_aggregate(x: e.Expression) -> bool:
    return any(isinstance(n, AggregateFunction) for n in x.walk())
