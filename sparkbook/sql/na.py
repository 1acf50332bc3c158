"""``df.na`` (``pyspark.sql.DataFrameNaFunctions``): ``fill`` and ``drop`` of NULLs, and
``replace`` of values, built from the same expressions as any projection or filter
(``coalesce``, ``isnotnull``, ``CASE WHEN``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sparkbook.errors import PySparkTypeError, PySparkValueError
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


_NO_VALUE = object()  # replace(to_replace) without a value (a dict needs none)


def _kind(value: Any) -> str:
    return "bool" if isinstance(value, bool) else \
        "number" if isinstance(value, (int, float)) else "string"


def replace(df: DataFrame, to_replace: Any, value: Any = _NO_VALUE,
            subset: str | list[str] | None = None) -> DataFrame:
    """Values replaced in the columns of their kind (numbers in numeric columns, strings in
    string columns, booleans in boolean ones), each new value cast to its column's type."""
    if isinstance(to_replace, dict):
        pairs = list(to_replace.items())
    else:
        if value is _NO_VALUE:
            raise PySparkTypeError(
                "[ARGUMENT_REQUIRED] Argument `value` is required when argument `to_replace` "
                "is not a dictionary.", "ARGUMENT_REQUIRED")
        keys = list(to_replace) if isinstance(to_replace, (list, tuple)) else [to_replace]
        values = list(value) if isinstance(value, (list, tuple)) else [value] * len(keys)
        if len(values) != len(keys):
            raise PySparkValueError(
                f"[LENGTH_SHOULD_BE_THE_SAME] to_replace and value should be of the same "
                f"length, got {len(keys)} and {len(values)}.", "LENGTH_SHOULD_BE_THE_SAME")
        pairs = list(zip(keys, values))
    if len({_kind(x) for pair in pairs for x in pair if x is not None}) > 1:
        raise PySparkValueError("[MIXED_TYPE_REPLACEMENT] Mixed type replacements are not "
                                "supported.", "MIXED_TYPE_REPLACEMENT")
    if isinstance(subset, str):
        subset = [subset]
    names = {c.lower() for c in (subset or df.columns)}
    out: list[e.Expression] = []
    for a in df._plan.output():
        if a.name.lower() not in names or not pairs or not _fills(a.dtype, pairs[0][0]):
            out.append(a)
            continue
        branches = [(e.BinaryComparison("=", a, literal(old)), e.Cast(literal(new), a.dtype))
                    for old, new in pairs]
        out.append(e.Alias(e.CaseWhen(branches, a), a.name))
    return df.select(*[Column(x) for x in out])


class DataFrameNaFunctions:
    def __init__(self, df: DataFrame) -> None:
        self.df = df

    def fill(self, value: Any, subset: str | list[str] | None = None) -> DataFrame:
        return fill(self.df, value, subset)

    def drop(self, how: str = "any", thresh: int | None = None,
             subset: str | list[str] | None = None) -> DataFrame:
        return drop(self.df, how, thresh, subset)

    def replace(self, to_replace: Any, value: Any = _NO_VALUE,
                subset: str | list[str] | None = None) -> DataFrame:
        return replace(self.df, to_replace, value, subset)
