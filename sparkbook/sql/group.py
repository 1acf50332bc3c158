"""``GroupedData``: what ``df.groupBy(...)`` returns (the API of
``pyspark.sql.GroupedData``): ``agg``, ``count``, the numeric shortcuts and ``pivot``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sparkbook.errors import AnalysisException, PySparkTypeError, UnsupportedOperationException
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst import logical as lp
from sparkbook.sql.catalyst.aggregates import AggregateFunction, contains_aggregate
from sparkbook.sql.catalyst.grouping import grouping_sets_aggregate
from sparkbook.sql.column import Column, column_reference, literal
from sparkbook.sql.types import NumericType

if TYPE_CHECKING:
    from sparkbook.sql.dataframe import DataFrame

# agg({"x": "mean"}): the names Spark accepts for each function.
_DICT_NAMES = {"avg": "avg", "mean": "avg", "sum": "sum", "min": "min", "max": "max",
               "count": "count", "first": "first", "last": "last",
               "collect_list": "collect_list", "collect_set": "collect_set"}


class GroupedData:
    def __init__(self, df: DataFrame, keys: list[e.Expression],
                 pivot: tuple[e.Expression, list] | None = None,
                 sets: list[list[int]] | None = None) -> None:
        self._df = df
        self._keys = keys
        self._pivot = pivot  # the pivot column and its values, after pivot()
        self._sets = sets  # rollup() and cube(): the grouping sets, as positions in keys

    def agg(self, *exprs: Column | dict[str, str]) -> DataFrame:
        """Aggregates per group; the grouping columns come first, as in Spark."""
        if len(exprs) == 1 and isinstance(exprs[0], dict):
            cols = [_named_function(_DICT_NAMES.get(f, f), c) for c, f in exprs[0].items()]
        else:
            for c in exprs:
                if not isinstance(c, Column):
                    raise PySparkTypeError(
                        f"[NOT_COLUMN] Argument `exprs` should be a Column, got "
                        f"{type(c).__name__}.", "NOT_COLUMN")
            cols = [c._expr for c in exprs]
        return self._aggregate(cols)

    def _aggregate(self, cols: list[e.Expression]) -> DataFrame:
        if self._pivot is not None:
            return self._pivoted(cols)
        if self._sets is not None:
            return self._df._with(grouping_sets_aggregate(
                self._df._plan, self._keys, self._sets, list(self._keys) + cols))
        return self._df._with(lp.Aggregate(self._keys, list(self._keys) + cols, self._df._plan))

    def pivot(self, pivot_col: str | Column, values: list | None = None) -> GroupedData:
        """One column per value of ``pivot_col`` (its distinct values, sorted, unless
        given) holding each aggregate of the rows with that value."""
        if self._pivot is not None:
            raise UnsupportedOperationException(
                "[REPEATED_CLAUSE] The PIVOT clause may be used at most once per SUBQUERY "
                "operation. SQLSTATE: 42614", "REPEATED_CLAUSE", {"clause": "PIVOT"}, "42614")
        column = pivot_col if isinstance(pivot_col, Column) else Column(
            column_reference(pivot_col))
        # Resolved at once, so an unknown column fails here, as in Spark.
        self._df._with(lp.Project([column._expr], self._df._plan))
        if values is None:
            distinct = self._df.select(column).distinct()
            values = [r[0] for r in distinct.orderBy(distinct.columns[0]).collect()]
        return GroupedData(self._df, self._keys, (column._expr, list(values)))

    def _pivoted(self, cols: list[e.Expression]) -> DataFrame:
        """Spark's plan of a pivot: the aggregates by (keys, pivot column), then per key one
        column per value and aggregate, taking the row of that value (NULL if none)."""
        pivot, values = self._pivot
        for c in cols:
            if not contains_aggregate(c):
                raise AnalysisException(
                    f"Aggregate expression required for pivot, but '{e.output_name(c)}' did "
                    f"not appear in any aggregate function.", "_LEGACY_ERROR_TEMP_1006")
        named = [c if isinstance(c, e.Alias) else e.Alias(c, e.output_name(c)) for c in cols]
        keys = list(self._keys)
        by_value = self._df._with(lp.Aggregate(keys + [pivot], keys + [pivot] + named,
                                               self._df._plan))
        out = by_value._plan.output()
        key_attrs, pivot_attr, agg_attrs = out[:len(keys)], out[len(keys)], out[len(keys) + 1:]
        columns: list[e.Expression] = list(key_attrs)
        for v in values:
            value = literal(v)
            if v is not None and value.dtype != pivot_attr.dtype:
                value = e.Cast(value, pivot_attr.dtype)
            matches = e.BinaryComparison("<=>", pivot_attr, value)
            for a in agg_attrs:
                name = _pivot_name(v) if len(agg_attrs) == 1 else f"{_pivot_name(v)}_{a.name}"
                taken = AggregateFunction("first", [e.CaseWhen([(matches, a)])],
                                          ignore_nulls=True)
                columns.append(e.Alias(taken, name))
        return by_value._with(lp.Aggregate(list(key_attrs), columns, by_value._plan))

    def count(self) -> DataFrame:
        return self._aggregate([e.Alias(AggregateFunction("count", [e.Literal(1, _int())]),
                                        "count")])

    def _numeric(self, name: str, cols: tuple[str, ...]) -> DataFrame:
        if not cols:
            key_names = {getattr(k, "name", "").lower() for k in self._keys}
            cols = tuple(f.name for f in self._df.schema
                         if isinstance(f.dataType, NumericType) and f.name.lower() not in key_names)
        for c in cols:
            field = next((f for f in self._df.schema if f.name.lower() == c.lower()), None)
            if field is not None and not isinstance(field.dataType, NumericType):
                raise AnalysisException(
                    f'[UNSUPPORTED_DATA_TYPE_FOR_AGGREGATE] "{c}" is not a numeric column. '
                    f"Aggregation function can only be applied on a numeric column.",
                    "UNSUPPORTED_DATA_TYPE_FOR_AGGREGATE")
        return self._aggregate([_named_function(name, c) for c in cols])

    def sum(self, *cols: str) -> DataFrame:
        return self._numeric("sum", cols)

    def avg(self, *cols: str) -> DataFrame:
        return self._numeric("avg", cols)

    mean = avg

    def min(self, *cols: str) -> DataFrame:
        return self._numeric("min", cols)

    def max(self, *cols: str) -> DataFrame:
        return self._numeric("max", cols)


def _pivot_name(value) -> str:
    """A pivot value as Spark names its column (``null``, ``true``, ``2023``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _int():
    from sparkbook.sql.types import IntegerType

    return IntegerType()


def _named_function(name: str, col: str) -> e.Expression:
    if name == "count" and col == "*":
        return AggregateFunction("count", [e.Literal(1, _int())])
    return AggregateFunction(name, [column_reference(col)])
