"""``df.na`` (``pyspark.sql.DataFrameNaFunctions``): ``fill`` and ``drop`` of NULLs, built
from the same expressions as any projection or filter (``coalesce``, ``isnotnull``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sparkbook.errors import PySparkTypeError
from sparkbook.sql import types as T
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.column import Column, literal

if TYPE_CHECKING:
    from sparkbook.sql.dataframe import DataFrame


def _fills(dt: T.DataType, value: Any) -> bool:
    """Spark fills a column only with a value of its kind (a number fills numbers)."""
    if isinstance(value, bool):
        return isinstance(dt, T.BooleanType)
    if isinstance(value, (int, float)):
        return isinstance(dt, T.NumericType)
    return isinstance(dt, T.StringType)


def fill(df: DataFrame, value: Any, subset: str | list[str] | None = None) -> DataFrame:
    if not isinstance(value, (bool, int, float, str, dict)):
        raise PySparkTypeError(
            f"[NOT_BOOL_OR_DICT_OR_FLOAT_OR_INT_OR_STR] Argument `value` should be a bool, "
            f"dict, float, int or str, got {type(value).__name__}.",
            "NOT_BOOL_OR_DICT_OR_FLOAT_OR_INT_OR_STR")
    if isinstance(subset, str):
        subset = [subset]
    if isinstance(value, dict):
        wanted = {k.lower(): v for k, v in value.items()}
    else:
        names = [c.lower() for c in subset] if subset else [c.lower() for c in df.columns]
        wanted = {n: value for n in names}
    out: list[e.Expression] = []
    for a in df._plan.output():
        v = wanted.get(a.name.lower())
        if v is None or not _fills(a.dtype, v):
            out.append(a)
            continue
        filler: e.Expression = e.Cast(literal(v), a.dtype)
        out.append(e.Alias(e.ScalarFunction("coalesce", [a, filler]), a.name))
    return df.select(*[Column(x) for x in out])


def drop(df: DataFrame, how: str = "any", thresh: int | None = None,
         subset: str | list[str] | None = None) -> DataFrame:
    """Rows with fewer than ``thresh`` non-NULL values among ``subset`` dropped (``any``:
    all of them needed; ``all``: one is enough)."""
    if isinstance(subset, str):
        subset = [subset]
    columns = [df[c] for c in subset] if subset else [df[c] for c in range(len(df.columns))]
    if thresh is None:
        thresh = len(columns) if how == "any" else 1
    from sparkbook.sql import functions as F

    present = None
    for c in columns:
        one = F.when(c.isNotNull(), F.lit(1)).otherwise(F.lit(0))
        present = one if present is None else present + one
    if present is None:
        return df
    return df.filter(present >= thresh)


class DataFrameNaFunctions:
    def __init__(self, df: DataFrame) -> None:
        self.df = df

    def fill(self, value: Any, subset: str | list[str] | None = None) -> DataFrame:
        return fill(self.df, value, subset)

    def drop(self, how: str = "any", thresh: int | None = None,
             subset: str | list[str] | None = None) -> DataFrame:
        return drop(self.df, how, thresh, subset)
