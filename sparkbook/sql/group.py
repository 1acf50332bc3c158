"""``GroupedData``: what ``df.groupBy(...)`` returns (the API of
``pyspark.sql.GroupedData``): ``agg``, ``count`` and the numeric shortcuts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sparkbook.errors import AnalysisException, PySparkTypeError
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst import logical as lp
from sparkbook.sql.catalyst.aggregates import AggregateFunction
from sparkbook.sql.column import Column, column_reference
from sparkbook.sql.types import NumericType

if TYPE_CHECKING:
    from sparkbook.sql.dataframe import DataFrame

# agg({"x": "mean"}): the names Spark accepts for each function.
_DICT_NAMES = {"avg": "avg", "mean": "avg", "sum": "sum", "min": "min", "max": "max",
               "count": "count", "first": "first", "last": "last",
               "collect_list": "collect_list", "collect_set": "collect_set"}


class GroupedData:
    def __init__(self, df: DataFrame, keys: list[e.Expression]) -> None:
        self._df = df
        self._keys = keys

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
        return self._df._with(lp.Aggregate(self._keys, list(self._keys) + cols, self._df._plan))

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


def _int():
    from sparkbook.sql.types import IntegerType

    return IntegerType()


def _named_function(name: str, col: str) -> e.Expression:
    if name == "count" and col == "*":
        return AggregateFunction("count", [e.Literal(1, _int())])
    return AggregateFunction(name, [column_reference(col)])
