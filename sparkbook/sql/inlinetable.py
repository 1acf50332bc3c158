"""SQL's inline tables, ``VALUES (1, 'a'), (2, 'b') AS t(x, y)`` (Spark's
ResolveInlineTables): each column's type is the widest of its values' types, a column is
nullable when a value in it is NULL, and the values, computed on the driver, become a
DataFrame of their own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sparkbook.errors import ParseException
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst.typecoercion import cast_to, common_type, type_tree
from sparkbook.sql.types import NullType, StructField, StructType

if TYPE_CHECKING:
    from sparkbook.sql.dataframe import DataFrame
    from sparkbook.sql.session import SparkSession


def inline_table(session: SparkSession, rows: list[list[e.Expression]],
                 names: list[str], where: str) -> DataFrame:
    """The DataFrame of ``rows`` (unresolved expressions of no column) named ``names``
    (Spark's ``col1``, ``col2``, ... when empty); ``where`` is the SQL text shown in an
    error."""
    width = len(names) if names else len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ParseException(
                f"\n[INVALID_INLINE_TABLE.NUM_COLUMNS_MISMATCH] Invalid inline table. Inline "
                f"table expected {width} columns but found {len(row)} columns in row {i}. "
                f"SQLSTATE: 42000\n== SQL ==\n{where}\n",
                "INVALID_INLINE_TABLE.NUM_COLUMNS_MISMATCH", {}, "42000")
    typed = [[type_tree(x) for x in row] for row in rows]
    types = [common_type([row[j].dtype for row in typed]) or NullType() for j in range(width)]
    values = [tuple(_value(cast_to(x, dt)) for x, dt in zip(row, types)) for row in typed]
    fields = [StructField(names[j] if names else f"col{j + 1}", types[j],
                          any(v[j] is None for v in values)) for j in range(width)]
    return session.createDataFrame(values, StructType(fields))


def _value(x: e.Expression) -> object:
    from sparkbook.sql.execution.evaluate import BatchEvaluator
    from sparkbook.sql.execution.physical import empty_columns

    return BatchEvaluator([]).column(x, empty_columns(1))[0].as_py()
