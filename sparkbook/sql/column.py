"""``Column``: an expression a DataFrame call is made of (the API of ``pyspark.sql.Column``).
Operators build the expression tree; nothing is resolved or computed until a DataFrame
uses the column."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

from sparkbook.errors import PySparkTypeError, PySparkValueError
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.types import (
    BinaryType,
    BooleanType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    TimestampType,
    parse_ddl,
)


def literal(value: Any) -> e.Literal:
    """A Python value as a literal of Spark's type for it (a small int is an int)."""
    if value is None:
        return e.null_literal()
    if isinstance(value, bool):
        return e.Literal(value, BooleanType())
    if isinstance(value, int):
        if -2**31 <= value < 2**31:
            return e.Literal(value, IntegerType())
        return e.Literal(value, LongType())
    if isinstance(value, float):
        return e.Literal(value, DoubleType())
    if isinstance(value, str):
        return e.Literal(value, StringType())
    if isinstance(value, decimal.Decimal):
        digits = value.as_tuple()
        scale = max(0, -digits.exponent)
        return e.Literal(value, DecimalType(max(len(digits.digits), scale, 1), scale))
    if isinstance(value, datetime.datetime):
        return e.Literal(value, TimestampType())
    if isinstance(value, datetime.date):
        return e.Literal(value, DateType())
    if isinstance(value, (bytes, bytearray)):
        return e.Literal(bytes(value), BinaryType())
    raise PySparkTypeError(
        f"[UNSUPPORTED_LITERAL] Unsupported Literal type {type(value).__name__}.",
        "UNSUPPORTED_LITERAL")


def to_expr(value: Any) -> e.Expression:
    """A Column's expression, or a Python value as a literal (``col + 1``)."""
    if isinstance(value, Column):
        return value._expr
    return literal(value)


def name_expr(value: Column | str, arg: str = "col") -> e.Expression:
    """A Column's expression, or a column name (``select("age")``)."""
    if isinstance(value, Column):
        return value._expr
    if isinstance(value, str):
        return column_reference(value)
    raise PySparkTypeError(
        f"[NOT_EXPECTED_TYPE] Argument `{arg}` should be Column or str, got "
        f"{type(value).__name__}.", "NOT_EXPECTED_TYPE",
        {"arg_name": arg, "arg_type": type(value).__name__})


def column_reference(name: str) -> e.Expression:
    """``"age"``, ``"p.name"``, ``"`a.b`"``, ``"*"`` or ``"p.*"`` as an unresolved name."""
    parts, current, quoted, i = [], "", False, 0
    while i < len(name):
        ch = name[i]
        if ch == "`":
            if quoted and name[i + 1:i + 2] == "`":
                current += "`"
                i += 1
            else:
                quoted = not quoted
        elif ch == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
        i += 1
    parts.append(current)
    if parts[-1] == "*" and not name.endswith("`"):
        return e.UnresolvedStar(parts[:-1] or None)
    return e.UnresolvedAttribute(parts)


def _binary(kind: type, symbol: str | None = None, reverse: bool = False):
    """A Column operator building ``kind`` (with its ``symbol``, when it takes one)."""

    def op(self: Column, other: Any) -> Column:
        left, right = self._expr, to_expr(other)
        if reverse:
            left, right = right, left
        return Column(kind(symbol, left, right) if symbol else kind(left, right))

    return op


class Column:
    """An expression over a DataFrame's columns."""

    def __init__(self, expr: e.Expression) -> None:
        self._expr = expr

    # arithmetic, as Spark types it (int / int is a double)
    __add__ = _binary(e.BinaryArithmetic, "+")
    __radd__ = _binary(e.BinaryArithmetic, "+", reverse=True)
    __sub__ = _binary(e.BinaryArithmetic, "-")
    __rsub__ = _binary(e.BinaryArithmetic, "-", reverse=True)
    __mul__ = _binary(e.BinaryArithmetic, "*")
    __rmul__ = _binary(e.BinaryArithmetic, "*", reverse=True)
    __truediv__ = _binary(e.BinaryArithmetic, "/")
    __rtruediv__ = _binary(e.BinaryArithmetic, "/", reverse=True)
    __mod__ = _binary(e.BinaryArithmetic, "%")
    __rmod__ = _binary(e.BinaryArithmetic, "%", reverse=True)

    def __neg__(self) -> Column:
        return Column(e.UnaryMinus(self._expr))

    # comparison
    __eq__ = _binary(e.BinaryComparison, "=")  # type: ignore[assignment]
    __lt__ = _binary(e.BinaryComparison, "<")
    __le__ = _binary(e.BinaryComparison, "<=")
    __gt__ = _binary(e.BinaryComparison, ">")
    __ge__ = _binary(e.BinaryComparison, ">=")
    eqNullSafe = _binary(e.BinaryComparison, "<=>")

    def __ne__(self, other: Any) -> Column:  # type: ignore[override]
        return Column(e.Not(e.BinaryComparison("=", self._expr, to_expr(other))))

    # logic (three-valued with NULL)
    __and__ = _binary(e.And)
    __rand__ = _binary(e.And, reverse=True)
    __or__ = _binary(e.Or)
    __ror__ = _binary(e.Or, reverse=True)

    def __invert__(self) -> Column:
        return Column(e.Not(self._expr))

    def __bool__(self) -> bool:
        raise PySparkValueError(
            "[CANNOT_CONVERT_COLUMN_INTO_BOOL] Cannot convert column into bool: please use "
            "'&' for 'and', '|' for 'or', '~' for 'not' when building DataFrame boolean "
            "expressions.", "CANNOT_CONVERT_COLUMN_INTO_BOOL")

    __hash__ = None  # type: ignore[assignment]

    def __iter__(self):
        raise PySparkTypeError("[NOT_ITERABLE] Column is not iterable.", "NOT_ITERABLE")

    # naming and types
    def alias(self, *alias: str, **kwargs: Any) -> Column:
        if not alias:
            raise PySparkValueError("[ONLY_ALLOWED_FOR_SINGLE_COLUMN] Argument `alias` can "
                                    "only be provided for a single column.",
                                    "ONLY_ALLOWED_FOR_SINGLE_COLUMN")
        if len(alias) > 1:  # the columns of a generator: posexplode(a).alias("p", "v")
            return Column(e.MultiAlias(self._expr, list(alias)))
        return Column(e.Alias(self._expr, alias[0]))

    name = alias

    def cast(self, dataType: DataType | str) -> Column:
        if isinstance(dataType, str):
            dataType = parse_ddl(dataType)
        elif not isinstance(dataType, DataType):
            raise PySparkTypeError(
                f"[NOT_DATATYPE_OR_STR] Argument `dataType` should be a DataType or str, got "
                f"{type(dataType).__name__}.", "NOT_DATATYPE_OR_STR")
        return Column(e.Cast(self._expr, dataType))

    astype = cast

    def try_cast(self, dataType: DataType | str) -> Column:  # noqa: N803 - PySpark's name
        """``cast``, but NULL where a value does not convert (where ``cast`` fails)."""
        cast = self.cast(dataType)._expr
        return Column(e.Cast(cast.child, cast.to, try_=True))

    # predicates
    def isNull(self) -> Column:
        return Column(e.IsNull(self._expr))

    def isNotNull(self) -> Column:
        return Column(e.IsNotNull(self._expr))

    def isin(self, *cols: Any) -> Column:
        if len(cols) == 1 and isinstance(cols[0], (list, set, tuple)):
            cols = tuple(cols[0])
        return Column(e.In(self._expr, [to_expr(c) for c in cols]))

    def between(self, lowerBound: Any, upperBound: Any) -> Column:
        return (self >= lowerBound) & (self <= upperBound)

    def like(self, other: str) -> Column:
        return Column(e.Like(self._expr, literal(other)))

    def startswith(self, other: Any) -> Column:
        return Column(e.ScalarFunction("startswith", [self._expr, to_expr(other)]))

    def endswith(self, other: Any) -> Column:
        return Column(e.ScalarFunction("endswith", [self._expr, to_expr(other)]))

    def contains(self, other: Any) -> Column:
        return Column(e.ScalarFunction("contains", [self._expr, to_expr(other)]))

    def rlike(self, other: str) -> Column:
        """Whether a match of the regular expression ``other`` is in the string."""
        return Column(e.ScalarFunction("rlike", [self._expr, literal(other)], "RLIKE"))

    def substr(self, startPos: int | Column, length: int | Column) -> Column:
        """``length`` characters from the 1-based ``startPos``."""
        return Column(e.ScalarFunction("substring", [self._expr, to_expr(startPos),
                                                     to_expr(length)], "substr"))

    # arrays, maps, structs
    def getItem(self, key: Any) -> Column:
        """An array's element by 0-based index, or a map's value by key."""
        return Column(e.ExtractValue(self._expr, to_expr(key)))

    def getField(self, name: str) -> Column:
        """A struct's field."""
        return Column(e.ExtractValue(self._expr, literal(name), field=True))

    def __getitem__(self, k: Any) -> Column:
        if isinstance(k, slice):
            if k.step is not None:
                raise PySparkValueError("[SLICE_WITH_STEP] Slice with step is not supported.",
                                        "SLICE_WITH_STEP")
            return self.substr(k.start, k.stop)
        return self.getItem(k)

    def __getattr__(self, item: str) -> Column:
        if item.startswith("_"):
            raise AttributeError(item)
        return self.getField(item)

    # CASE WHEN, continued from functions.when()
    def _open_case(self, error_class: str, message: str) -> e.CaseWhen:
        """This column's CASE WHEN, which must not have its ELSE yet."""
        x = self._expr
        if not isinstance(x, e.CaseWhen) or x.has_else:
            raise PySparkTypeError(f"[{error_class}] {message}", error_class)
        return x

    def when(self, condition: Column, value: Any) -> Column:
        x = self._open_case("INVALID_WHEN_USAGE", "when() can only be applied on a Column "
                            "previously generated by when() function, and cannot be applied "
                            "once otherwise() is applied.")
        return Column(e.CaseWhen(x.branches + [(condition._expr, to_expr(value))]))

    def otherwise(self, value: Any) -> Column:
        x = self._open_case("INVALID_OTHERWISE_USAGE", "otherwise() can only be applied once "
                            "on a Column previously generated by when().")
        return Column(e.CaseWhen(x.branches, to_expr(value)))

    # sort order (used by orderBy in a later slice)
    def asc(self) -> Column:
        return Column(e.SortOrder(self._expr, True))

    def desc(self) -> Column:
        return Column(e.SortOrder(self._expr, False))

    def asc_nulls_first(self) -> Column:
        return Column(e.SortOrder(self._expr, True, True))

    def asc_nulls_last(self) -> Column:
        return Column(e.SortOrder(self._expr, True, False))

    def desc_nulls_first(self) -> Column:
        return Column(e.SortOrder(self._expr, False, True))

    def desc_nulls_last(self) -> Column:
        return Column(e.SortOrder(self._expr, False, False))

    def over(self, window) -> Column:
        """This function computed over a window (``Window.partitionBy().orderBy()``)."""
        from sparkbook.sql.catalyst.windows import WindowExpression
        from sparkbook.sql.window import WindowSpec

        if not isinstance(window, WindowSpec):
            raise PySparkTypeError(
                f"[NOT_EXPECTED_TYPE] Argument `window` should be WindowSpec, got "
                f"{type(window).__name__}.", "NOT_EXPECTED_TYPE",
                {"arg_name": "window", "expected_type": "WindowSpec",
                 "arg_type": type(window).__name__})
        return Column(WindowExpression(self._expr, window._definition()))

    def __repr__(self) -> str:
        return f"Column<'{self._expr.sql()}'>"
