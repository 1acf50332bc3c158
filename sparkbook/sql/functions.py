"""Column functions (the API of ``pyspark.sql.functions``): ``col``, ``lit``, ``expr``,
``when``, ``coalesce``, the simple scalar functions, the aggregates and ``broadcast``."""

from __future__ import annotations

from typing import Any

from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst.aggregates import AggregateFunction
from sparkbook.sql.catalyst.parser import parse_expression
from sparkbook.sql.column import Column, column_reference, literal, name_expr, to_expr
from sparkbook.sql.types import IntegerType

__all__ = ["col", "column", "lit", "expr", "when", "coalesce", "upper", "lower", "length",
           "abs", "round", "sqrt", "asc", "desc", "sum", "avg", "mean", "count",
           "countDistinct", "count_distinct", "min", "max", "first", "last", "collect_list",
           "collect_set", "broadcast"]


def col(col: str) -> Column:
    """The column named ``col`` (resolved, case-insensitively, when a DataFrame uses it)."""
    return Column(column_reference(col))


column = col


def lit(col: Any) -> Column:
    """A literal value (a Column is returned as it is)."""
    return col if isinstance(col, Column) else Column(literal(col))


def expr(str: str) -> Column:
    """Expression text in Spark SQL's dialect: ``expr("age + 1")``."""
    return Column(parse_expression(str))


def when(condition: Column, value: Any) -> Column:
    """``CASE WHEN condition THEN value``; continue with ``.when()`` and ``.otherwise()``."""
    return Column(e.CaseWhen([(condition._expr, to_expr(value))]))


def coalesce(*cols: Column | str) -> Column:
    return Column(e.ScalarFunction("coalesce", [name_expr(c) for c in cols]))


def _function(name: str, pretty: str | None = None):
    def f(col: Column | str) -> Column:
        return Column(e.ScalarFunction(name, [name_expr(col)], pretty))

    f.__name__ = name
    f.__doc__ = f"Spark's ``{name}`` of a column."
    return f


upper = _function("upper")
lower = _function("lower")
length = _function("length")
abs = _function("abs")
sqrt = _function("sqrt", "SQRT")


def round(col: Column | str, scale: int = 0) -> Column:
    """Rounded half up (away from zero) to ``scale`` decimal places."""
    return Column(e.ScalarFunction("round", [name_expr(col), e.Literal(scale, IntegerType())]))


def asc(col: str) -> Column:
    return Column(e.SortOrder(column_reference(col), True))


def desc(col: str) -> Column:
    return Column(e.SortOrder(column_reference(col), False))


# --- aggregate functions ---------------------------------------------------------------


def _aggregate(name: str, col: Column | str, distinct: bool = False) -> Column:
    return Column(AggregateFunction(name, [name_expr(col)], distinct))


def sum(col: Column | str) -> Column:
    """The sum of a column's values in each group (a bigint for integers, NULL for none)."""
    return _aggregate("sum", col)


def avg(col: Column | str) -> Column:
    return _aggregate("avg", col)


mean = avg


def count(col: Column | str) -> Column:
    """The number of non-null values; ``count("*")`` counts rows (named ``count(1)``)."""
    if isinstance(col, str) and col == "*":
        return Column(AggregateFunction("count", [e.Literal(1, IntegerType())]))
    return _aggregate("count", col)


def countDistinct(col: Column | str, *cols: Column | str) -> Column:
    """The number of distinct non-null values (``count(DISTINCT x)``)."""
    return _aggregate("count", col, distinct=True)


count_distinct = countDistinct


def min(col: Column | str) -> Column:
    return _aggregate("min", col)


def max(col: Column | str) -> Column:
    return _aggregate("max", col)


def first(col: Column | str, ignorenulls: bool = False) -> Column:
    """The first value of each group (NULL if it is NULL, unless ``ignorenulls``)."""
    return Column(AggregateFunction("first", [name_expr(col)], ignore_nulls=ignorenulls))


def last(col: Column | str, ignorenulls: bool = False) -> Column:
    return Column(AggregateFunction("last", [name_expr(col)], ignore_nulls=ignorenulls))


def collect_list(col: Column | str) -> Column:
    return _aggregate("collect_list", col)


def collect_set(col: Column | str) -> Column:
    return _aggregate("collect_set", col)


def broadcast(df):
    """Hint that ``df`` is small enough to broadcast to every task of a join."""
    from sparkbook.sql.catalyst.logical import ResolvedHint

    return df._with(ResolvedHint(df._plan))


# --- window functions ------------------------------------------------------------------


def _window_function(name: str, *args: e.Expression) -> Column:
    from sparkbook.sql.catalyst.windows import WindowFunction

    return Column(WindowFunction(name, list(args)))


def row_number() -> Column:
    """1, 2, 3, ... in each window partition, in its order (``.over(window)``)."""
    return _window_function("row_number")


def rank() -> Column:
    """The row's rank in its partition: ties share it and leave gaps (1, 1, 3)."""
    return _window_function("rank")


def dense_rank() -> Column:
    """The rank without gaps after ties (1, 1, 2)."""
    return _window_function("dense_rank")


def percent_rank() -> Column:
    """``(rank - 1) / (rows in the partition - 1)``, 0 for a partition of one row."""
    return _window_function("percent_rank")


def cume_dist() -> Column:
    """The fraction of the partition's rows ordered at or before this one (ties too)."""
    return _window_function("cume_dist")


def ntile(n: int) -> Column:
    """The bucket 1..n of the row when its partition is cut into ``n`` near-equal parts."""
    return _window_function("ntile", literal(n))


def lag(col: Column | str, offset: int = 1, default: Any = None) -> Column:
    """The value ``offset`` rows before in the window partition (``default`` if none)."""
    return _window_function("lag", name_expr(col), e.Literal(offset, IntegerType()),
                            to_expr(default))


def lead(col: Column | str, offset: int = 1, default: Any = None) -> Column:
    """The value ``offset`` rows after in the window partition (``default`` if none)."""
    return _window_function("lead", name_expr(col), e.Literal(offset, IntegerType()),
                            to_expr(default))


__all__ += ["row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag",
            "lead"]
