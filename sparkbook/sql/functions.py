"""Column functions (the API of ``pyspark.sql.functions``): ``col``, ``lit``, ``expr``,
``when``, ``coalesce``, the simple scalar functions, the aggregates and ``broadcast``."""

from __future__ import annotations

from typing import Any

from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst.aggregates import AggregateFunction
from sparkbook.sql.catalyst.parser import parse_expression
from sparkbook.sql.column import Column, column_reference, literal, name_expr, to_expr
from sparkbook.sql.types import BooleanType, IntegerType
from sparkbook.sql.udf import udf

__all__ = ["col", "column", "lit", "expr", "when", "coalesce", "upper", "lower", "length",
           "abs", "round", "sqrt", "asc", "desc", "concat", "concat_ws", "split",
           "regexp_replace", "regexp_extract", "substring", "trim", "ltrim", "rtrim",
           "initcap", "lpad", "rpad", "to_date", "to_timestamp", "year", "month",
           "dayofmonth", "dayofweek", "dayofyear", "quarter", "hour", "minute", "second",
           "date_add", "date_sub", "datediff", "current_date", "current_timestamp",
           "date_format", "array", "size", "array_contains", "struct", "element_at",
           "sort_array", "explode", "explode_outer", "posexplode", "posexplode_outer", "udf",
           "sum", "avg", "mean", "count", "countDistinct", "count_distinct", "min", "max",
           "first", "last", "collect_list", "collect_set", "broadcast"]


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


def _function(name: str, pretty: str | None = None, doc: str = "of a column",
              node: type[e.ScalarFunction] = e.ScalarFunction):
    """A function of one column, named ``name`` (printed ``pretty``)."""
    def f(col: Column | str) -> Column:
        return Column(node(name, [name_expr(col)], pretty))

    f.__name__ = name
    f.__doc__ = f"Spark's ``{name}`` {doc}."
    return f


upper = _function("upper")
lower = _function("lower")
length = _function("length")
abs = _function("abs")
sqrt = _function("sqrt", "SQRT")


def round(col: Column | str, scale: int = 0) -> Column:
    """Rounded half up (away from zero) to ``scale`` decimal places."""
    return Column(e.ScalarFunction("round", [name_expr(col), e.Literal(scale, IntegerType())]))


# --- strings ------------------------------------------------------------------------------


def _call(name: str, *args: e.Expression, pretty: str | None = None) -> Column:
    return Column(e.ScalarFunction(name, list(args), pretty))


def _columns(cols: tuple) -> list[e.Expression]:
    if len(cols) == 1 and isinstance(cols[0], (list, tuple)):
        cols = tuple(cols[0])
    return [name_expr(c) for c in cols]


def concat(*cols: Column | str) -> Column:
    """The strings joined end to end (NULL if any is NULL)."""
    return _call("concat", *_columns(cols))


def concat_ws(sep: str, *cols: Column | str) -> Column:
    """The strings joined with ``sep`` between them, NULLs skipped."""
    return _call("concat_ws", literal(sep), *_columns(cols))


def split(str: Column | str, pattern: str | Column, limit: int | Column = -1) -> Column:
    """An array of the pieces of ``str`` around matches of the regex ``pattern`` (at most
    ``limit`` pieces when ``limit`` > 0)."""
    return _call("split", name_expr(str), to_expr(pattern), to_expr(limit))


def regexp_replace(string: Column | str, pattern: str | Column,
                   replacement: str | Column) -> Column:
    """Every match of the regex ``pattern`` replaced (``$1`` names a group)."""
    return _call("regexp_replace", name_expr(string), to_expr(pattern), to_expr(replacement),
                 literal(1))


def regexp_extract(str: Column | str, pattern: str | Column, idx: int | Column) -> Column:
    """Group ``idx`` of the first match of ``pattern`` ("" when nothing matches)."""
    return _call("regexp_extract", name_expr(str), to_expr(pattern), to_expr(idx))


def substring(str: Column | str, pos: int, len: int) -> Column:
    """``len`` characters from the 1-based ``pos`` (a negative one counts from the end)."""
    return _call("substring", name_expr(str), literal(pos), literal(len))


def _trim(name: str, where: str):
    def f(col: Column | str, trim: Column | str | None = None) -> Column:
        args = [name_expr(col)] + ([to_expr(trim)] if trim is not None else [])
        return Column(e.StringTrim(name, args))

    f.__name__ = name
    f.__doc__ = f"The string with spaces (or the characters of ``trim``) cut {where}."
    return f


trim = _trim("trim", "at both ends")
ltrim = _trim("ltrim", "at the start")
rtrim = _trim("rtrim", "at the end")
initcap = _function("initcap", doc="of a string column: each word's first letter upper case")


def lpad(col: Column | str, len: int, pad: str) -> Column:
    """Padded on the left with ``pad`` to ``len`` characters (cut to ``len`` if longer)."""
    return _call("lpad", name_expr(col), literal(len), literal(pad))


def rpad(col: Column | str, len: int, pad: str) -> Column:
    return _call("rpad", name_expr(col), literal(len), literal(pad))


# --- dates and timestamps -----------------------------------------------------------------


def to_date(col: Column | str, format: str | None = None) -> Column:
    """The column as a date: by Spark's cast, or read with a datetime ``format``."""
    args = [name_expr(col)] + ([literal(format)] if format is not None else [])
    return _call("to_date", *args)


def to_timestamp(col: Column | str, format: str | None = None) -> Column:
    """The column as a timestamp: by Spark's cast, or read with a datetime ``format``."""
    args = [name_expr(col)] + ([literal(format)] if format is not None else [])
    return _call("to_timestamp", *args)


year = _function("year")
month = _function("month")
dayofmonth = _function("dayofmonth")
dayofweek = _function("dayofweek")
dayofyear = _function("dayofyear")
quarter = _function("quarter")
hour = _function("hour")
minute = _function("minute")
second = _function("second")


def date_add(start: Column | str, days: Column | int) -> Column:
    return _call("date_add", name_expr(start), to_expr(days))


def date_sub(start: Column | str, days: Column | int) -> Column:
    return _call("date_sub", name_expr(start), to_expr(days))


def datediff(end: Column | str, start: Column | str) -> Column:
    """The days from ``start`` to ``end``."""
    return _call("datediff", name_expr(end), name_expr(start))


def current_date() -> Column:
    return _call("current_date")


def current_timestamp() -> Column:
    return _call("current_timestamp")


def date_format(date: Column | str, format: str) -> Column:
    """A date or timestamp as text in Spark's datetime pattern (``yyyy-MM-dd HH:mm``)."""
    return _call("date_format", name_expr(date), literal(format))


# --- arrays, maps and structs --------------------------------------------------------------


def array(*cols: Column | str) -> Column:
    return _call("array", *_columns(cols))


def struct(*cols: Column | str) -> Column:
    return _call("struct", *_columns(cols))


def size(col: Column | str) -> Column:
    """The number of elements of an array or map (NULL for NULL)."""
    return _call("size", name_expr(col))


def array_contains(col: Column | str, value: Any) -> Column:
    return _call("array_contains", name_expr(col), to_expr(value))


def sort_array(col: Column | str, asc: bool = True) -> Column:
    """Each array sorted: NULLs first when ascending, last when descending."""
    return _call("sort_array", name_expr(col), e.Literal(bool(asc), BooleanType()))


def element_at(col: Column | str, extraction: Any) -> Column:
    """An array's element by 1-based index (negative from the end), or a map's value."""
    return _call("element_at", name_expr(col), to_expr(extraction))


_ROWS = ": a row per element of an array (or entry of a map)"
explode = _function("explode", doc=_ROWS, node=e.Generator)
explode_outer = _function("explode_outer", doc=_ROWS + ", one NULL row for none",
                          node=e.Generator)
posexplode = _function("posexplode", doc=_ROWS + ", with its position", node=e.Generator)
posexplode_outer = _function("posexplode_outer", doc=_ROWS + ", with its position",
                             node=e.Generator)


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
    """The number of distinct non-null values (``count(DISTINCT x)``); of several columns,
    of the distinct rows of them none of whose values is NULL."""
    return Column(AggregateFunction("count", [name_expr(c) for c in (col, *cols)], True))


count_distinct = countDistinct


def grouping(col: Column | str) -> Column:
    """1 on the rows of ``rollup``/``cube`` that aggregate over every value of ``col``,
    else 0 (a tinyint)."""
    return Column(e.Grouping("grouping", [name_expr(col)]))


def grouping_id(*cols: Column | str) -> Column:
    """The ``grouping`` bits of every key (or of ``cols``, which must be the keys in order),
    the first key highest: Spark's ``spark_grouping_id``, a bigint."""
    return Column(e.Grouping("grouping_id", [name_expr(c) for c in cols]))


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
