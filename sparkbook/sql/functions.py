"""Column functions (the API of ``pyspark.sql.functions``) for this slice: ``col``, ``lit``,
``expr``, ``when``, ``coalesce`` and the simple scalar functions."""

from __future__ import annotations

from typing import Any

from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst.parser import parse_expression
from sparkbook.sql.column import Column, column_reference, literal, name_expr, to_expr
from sparkbook.sql.types import IntegerType

__all__ = ["col", "column", "lit", "expr", "when", "coalesce", "upper", "lower", "length",
           "abs", "round", "sqrt", "asc", "desc"]


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
