"""``DataFrame.summary`` and ``describe``: statistics of the numeric and string columns,
every value a string, as Spark gives them. One aggregation computes the counts, means,
extremes and distinct counts (and, when percentiles or a string column's numbers are asked
for, the values themselves); a second the squared deviations from the means (the sample
standard deviation); percentiles are picked from the sorted values on the driver."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from sparkbook.errors import IllegalArgumentException
from sparkbook.sql import types as T

if TYPE_CHECKING:
    from sparkbook.sql.dataframe import DataFrame

DEFAULT = ["count", "mean", "stddev", "min", "25%", "50%", "75%", "max"]
DESCRIBE = ["count", "mean", "stddev", "min", "max"]
_KNOWN = {"count", "count_distinct", "approx_count_distinct", "mean", "stddev", "min", "max"}
_PERCENT = re.compile(r"^(\d+(\.\d*)?|\.\d+)%$")
# The text a string column's value must be to count as a number (try_cast to double).
_NUMBER = re.compile(r"^\s*[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|NaN|Infinity)[dDfF]?\s*$")


def summary(df: DataFrame, statistics: list[str], cols: list[str] | None = None
            ) -> DataFrame:
    """The ``statistics`` (Spark's default list if empty) of ``cols`` (every numeric and
    string column if none)."""
    from sparkbook.sql import functions as F

    stats = list(statistics) or DEFAULT
    percents = {s: _percentile(s) for s in stats if s not in _KNOWN}
    fields = [f for f in df.schema.fields
              if (not cols or f.name in cols)
              and isinstance(f.dataType, (T.NumericType, T.StringType))]
    numbers = bool(percents) or bool({"mean", "stddev"} & set(stats))
    columns = []
    for f in fields:
        c = F.col(f.name)
        numeric = isinstance(f.dataType, T.NumericType)
        columns += [F.count(c), F.min(c), F.max(c), F.countDistinct(c),
                    F.avg(c) if numeric else F.lit(None),
                    F.collect_list(c) if numbers and (percents or not numeric) else F.lit(None),
                    # stddev of a decimal is of doubles, from the double mean
                    F.avg(c.cast("double")) if isinstance(f.dataType, T.DecimalType)
                    else F.lit(None)]
    width = 7
    first = df.agg(*columns).collect()[0] if fields else []
    values: dict[str, Any] = {}
    for i, f in enumerate(fields):
        count, low, high, distinct, mean, listed, double_mean = \
            first[width * i:width * i + width]
        if isinstance(f.dataType, T.StringType) and numbers:
            listed = [float(v.strip().rstrip("dDfF")) for v in listed if _NUMBER.match(v)]
            mean = sum(listed) / len(listed) if listed else None
        values[f.name] = {"count": count, "min": low, "max": high, "mean": mean,
                          "double_mean": mean if double_mean is None else double_mean,
                          "count_distinct": distinct, "approx_count_distinct": distinct,
                          "values": sorted(listed) if listed is not None else None}
    if "stddev" in stats:
        _stddev(df, fields, values)
    rows = []
    for s in stats:
        row = [s]
        for f in fields:
            v = values[f.name]
            value = _pick(v["values"], percents[s]) if s in percents else v[s]
            if s in percents and isinstance(f.dataType, T.DecimalType) and value is not None:
                value = float(value)  # percentile_approx of a decimal is a double
            row.append(_text(value))
        rows.append(tuple(row))
    schema = T.StructType([T.StructField(n, T.StringType())
                           for n in ["summary"] + [f.name for f in fields]])
    return df.sparkSession.createDataFrame(rows, schema)


def _stddev(df: DataFrame, fields: list[T.StructField], values: dict[str, Any]) -> None:
    """The sample standard deviation of each column: of its numbers' squared deviations
    from their mean (on the executors for a numeric column)."""
    from sparkbook.sql import functions as F

    numeric = [f for f in fields if isinstance(f.dataType, T.NumericType)
               and values[f.name]["mean"] is not None]
    squares = []
    for f in numeric:
        deviation = F.col(f.name).cast("double") - F.lit(values[f.name]["double_mean"])
        squares.append(F.sum(deviation * deviation))
    sums = dict(zip([f.name for f in numeric],
                    df.agg(*squares).collect()[0] if squares else []))
    for f in fields:
        v = values[f.name]
        if f.name not in sums and v["mean"] is not None:  # a string column's numbers
            sums[f.name] = sum((x - v["mean"]) ** 2 for x in v["values"])
        n = len(v["values"]) if f.name not in {g.name for g in numeric} else v["count"]
        m2 = sums.get(f.name)
        v["stddev"] = math.sqrt(m2 / (n - 1)) if m2 is not None and n > 1 else None


def _percentile(statistic: str) -> float:
    match = _PERCENT.match(statistic)
    value = float(statistic[:-1]) if match else -1.0
    if not 0 <= value <= 100:
        raise IllegalArgumentException(
            f"[UNRECOGNIZED_STATISTIC] The statistic '{statistic}' is not recognized. Valid "
            f"statistics include `count`, `count_distinct`, `approx_count_distinct`, `mean`, "
            f"`stddev`, `min`, `max`, and percentile values. Percentile must be a numeric "
            f"value followed by '%', within the range 0% to 100%. SQLSTATE: 42704",
            "UNRECOGNIZED_STATISTIC", {"stats": statistic}, "42704")
    return value / 100


def _pick(values: list | None, p: float) -> Any:
    """The smallest value with at least a fraction ``p`` of the values at or below it: what
    Spark's ``percentile_approx`` gives (exactly, up to its accuracy of 10,000 values)."""
    if not values:
        return None
    return values[max(math.ceil(p * len(values)) - 1, 0)]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return T.java_number_str(value) if isinstance(value, float) else str(value)
