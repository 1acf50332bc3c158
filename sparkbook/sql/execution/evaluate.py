"""Expressions evaluated a whole Arrow record batch at a time with ``pyarrow.compute``, with
Spark's ANSI semantics: integer overflow, division by zero and malformed casts raise, with
Spark's error classes and messages. Runs in the tasks, on the executors."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sparkbook.errors import (
    ArithmeticException,
    NumberFormatException,
    PySparkException,
    SparkRuntimeException,
    sql_error,
)
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.execution import arrays, datetimes, strings
from sparkbook.sql.execution.arrow import to_arrow_type
from sparkbook.sql.execution.values import Kernel, Value
from sparkbook.sql.types import (
    BooleanType,
    DataType,
    DateType,
    DecimalType,
    FractionalType,
    IntegralType,
    NullType,
    StringType,
    TimestampNTZType,
    TimestampType,
    java_number_str,
    to_sql_type_name,
)


class BatchEvaluator:
    """Evaluates expressions over batches whose columns are ``inputs``, by expression id."""

    def __init__(self, inputs: list[e.AttributeReference]) -> None:
        self.ordinals = {a.expr_id: i for i, a in enumerate(inputs)}

    def column(self, x: e.Expression, batch: pa.RecordBatch) -> pa.Array:
        """``x`` over ``batch`` as an array of one value per row."""
        value = self.eval(x, batch)
        if isinstance(value, pa.Scalar):
            return pc.fill_null(pa.nulls(batch.num_rows, value.type), value) \
                if value.is_valid else pa.nulls(batch.num_rows, value.type)
        return value

    def eval(self, x: e.Expression, batch: pa.RecordBatch) -> Value:
        kernel = _KERNELS.get(type(x))
        if kernel is None:
            raise SparkRuntimeException(f"[INTERNAL_ERROR] No kernel for {type(x).__name__}.",
                                        "INTERNAL_ERROR")
        return kernel(self, x, batch)


def _attribute(ev: BatchEvaluator, x: e.AttributeReference, batch: pa.RecordBatch) -> Value:
    return batch.column(ev.ordinals[x.expr_id])


def _literal(ev: BatchEvaluator, x: e.Literal, batch: pa.RecordBatch) -> Value:
    arrow_type = to_arrow_type(x.dtype) if not isinstance(x.dtype, NullType) else pa.null()
    return pa.scalar(x.value, arrow_type)


def _subquery(ev: BatchEvaluator, x: e.ScalarSubquery, batch: pa.RecordBatch) -> Value:
    return _literal(ev, e.Literal(x.value, x.dtype), batch)  # what its own job computed


def _alias(ev: BatchEvaluator, x: e.Alias, batch: pa.RecordBatch) -> Value:
    return ev.eval(x.child, batch)


def _overflow(x: e.Expression) -> ArithmeticException:
    name = getattr(x, "try_name", "") or "try_add"
    return sql_error("ARITHMETIC_OVERFLOW", "22003",
                     f"overflow. Use '{name}' to tolerate overflow and return NULL instead. "
                     'If necessary set "spark.sql.ansi.enabled" to "false" to bypass this '
                     "error.", ArithmeticException)


_CHECKED = {"+": (pc.add_checked, pc.add), "-": (pc.subtract_checked, pc.subtract),
            "*": (pc.multiply_checked, pc.multiply)}


def _arithmetic(ev: BatchEvaluator, x: e.BinaryArithmetic, batch: pa.RecordBatch) -> Value:
    left, right = ev.eval(x.left, batch), ev.eval(x.right, batch)
    integral = isinstance(x.dtype, IntegralType)
    decimal = isinstance(x.dtype, DecimalType) and x.symbol != "%"
    if x.symbol in _CHECKED:
        if decimal:
            return _to_decimal(x, _CHECKED[x.symbol][0](left, right))
        return _exact(x, *_CHECKED[x.symbol], left, right)
    # Divide and Remainder: a zero divisor of a non-null dividend is an error in ANSI mode.
    zero = pc.and_kleene(pc.equal(right, 0), pc.is_valid(left))
    if pc.any(zero).as_py() if isinstance(zero, (pa.Array, pa.ChunkedArray)) else (
            zero.as_py()):
        if x.symbol in ("/", "div"):
            raise sql_error("DIVIDE_BY_ZERO", "22012",
                            "Division by zero. Use `try_divide` to tolerate divisor being 0 "
                            'and return NULL instead. If necessary set "spark.sql.ansi.enabled"'
                            ' to "false" to bypass this error.', ArithmeticException)
        raise sql_error("REMAINDER_BY_ZERO", "22012",
                        "Remainder by zero. Use `try_mod` to tolerate divisor being 0 and "
                        'return NULL instead. If necessary set "spark.sql.ansi.enabled" to '
                        '"false" to bypass this error.', ArithmeticException)
    one = pa.scalar(Decimal(1), right.type) if decimal else pc.cast(pa.scalar(1), right.type)
    safe_right = pc.if_else(pc.equal(right, 0), one, right)
    if decimal:
        return _decimal_divide(x, left, safe_right)
    if x.symbol in ("/", "div"):  # div of bigints truncates toward zero, as Arrow's does
        return pc.divide(left, safe_right)
    # Java's remainder keeps the dividend's sign: a - trunc(a / b) * b.
    quotient = pc.divide(left, safe_right)
    if not integral:
        quotient = pc.trunc(quotient)
    return pc.subtract(left, pc.multiply(quotient, safe_right))


def _to_decimal(x: e.Expression, value: Value) -> Value:
    """Arrow's decimal result in Spark's decimal type (a value too wide for it overflows)."""
    try:
        return pc.cast(value, to_arrow_type(x.dtype))
    except pa.ArrowInvalid:
        raise _overflow(x) from None


def _decimal_divide(x: e.BinaryArithmetic, left: Value, right: Value) -> Value:
    """Spark divides decimals to its result scale, rounding half up; Arrow truncates to
    max(4, s1 + p2 - s2 + 1) digits, so the dividend is widened until Arrow keeps one digit
    more than Spark wants, and that digit rounds."""
    lt, rt = left.type, right.type
    extra = max(0, x.dtype.scale + 1 - (lt.scale + rt.precision - rt.scale + 1))
    if extra:
        left = pc.cast(left, pa.decimal128(min(38, lt.precision + extra), lt.scale + extra))
    quotient = pc.divide(left, right)
    return _to_decimal(x, pc.round(quotient, ndigits=x.dtype.scale,
                                   round_mode="half_towards_infinity"))


def _exact(x: e.Expression, checked: Callable, unchecked: Callable, *args: Value) -> Value:
    """An integral result is checked for overflow (ANSI mode); a fractional one is not."""
    if not isinstance(x.dtype, IntegralType):
        return unchecked(*args)
    try:
        return checked(*args)
    except pa.ArrowInvalid:
        raise _overflow(x) from None


def _minus(ev: BatchEvaluator, x: e.UnaryMinus, batch: pa.RecordBatch) -> Value:
    return _exact(x, pc.negate_checked, pc.negate, ev.eval(x.child, batch))


_COMPARE = {"=": pc.equal, "<": pc.less, "<=": pc.less_equal, ">": pc.greater,
            ">=": pc.greater_equal}


def _compare(ev: BatchEvaluator, x: e.BinaryComparison, batch: pa.RecordBatch) -> Value:
    left, right = ev.eval(x.left, batch), ev.eval(x.right, batch)
    if x.symbol == "<=>":
        both_null = pc.and_(pc.is_null(left), pc.is_null(right))
        equal = pc.fill_null(pc.equal(left, right), False)
        return pc.or_(both_null, equal)
    if left.type == pa.null() or right.type == pa.null():
        return pa.scalar(None, pa.bool_())
    return _COMPARE[x.symbol](left, right)


def _logic(ev: BatchEvaluator, x: e.Expression, batch: pa.RecordBatch) -> Value:
    # Kleene logic is SQL's three-valued logic: NULL AND false is false, NULL OR true true.
    left, right = (_as_bool(ev.eval(c, batch)) for c in x.children)
    return pc.and_kleene(left, right) if isinstance(x, e.And) else pc.or_kleene(left, right)


def _as_bool(v: Value) -> Value:
    return pc.cast(v, pa.bool_()) if v.type == pa.null() else v


def _not(ev: BatchEvaluator, x: e.Not, batch: pa.RecordBatch) -> Value:
    return pc.invert(_as_bool(ev.eval(x.child, batch)))


def _is_null(ev: BatchEvaluator, x: e.Expression, batch: pa.RecordBatch) -> Value:
    value = ev.eval(x.children[0], batch)
    return pc.is_valid(value) if isinstance(x, e.IsNotNull) else pc.is_null(value)


def _in(ev: BatchEvaluator, x: e.In, batch: pa.RecordBatch) -> Value:
    value = ev.eval(x.children[0], batch)
    items = x.children[1:]
    if all(isinstance(i, e.Literal) for i in items):
        present = [i.value for i in items if i.value is not None]
        found = pc.is_in(value, value_set=pa.array(present, value.type))
        # x IN (...) is NULL when x is NULL, or when not found and the list holds a NULL.
        found = pc.if_else(pc.is_null(value), pa.scalar(None, pa.bool_()), found)
        if len(present) < len(items):
            found = pc.if_else(found, True, pa.scalar(None, pa.bool_()))
        return found
    result: Value = pa.scalar(False)
    for item in items:
        result = pc.or_kleene(result, pc.equal(value, ev.eval(item, batch)))
    return result


def _like(ev: BatchEvaluator, x: e.Like, batch: pa.RecordBatch) -> Value:
    value = ev.eval(x.left, batch)
    return pc.match_like(value, _literal_pattern(x.right))


def _literal_pattern(x: e.Expression) -> str:
    while isinstance(x, e.Cast):
        x = x.child
    if not isinstance(x, e.Literal):
        raise SparkRuntimeException("[UNSUPPORTED_FEATURE] A pattern must be a literal in "
                                    "this version of sparkbook.", "UNSUPPORTED_FEATURE")
    return x.value


def _case_when(ev: BatchEvaluator, x: e.CaseWhen, batch: pa.RecordBatch) -> Value:
    conditions = [ev.column(c, batch) for c, _ in x.branches]
    values = [ev.column(v, batch) for _, v in x.branches]
    if x.has_else:
        values.append(ev.column(x.else_value, batch))
    arrow_type = to_arrow_type(x.dtype)
    values = [v.cast(arrow_type) if v.type != arrow_type else v for v in values]
    return pc.case_when(pc.make_struct(*conditions, field_names=[
        str(i) for i in range(len(conditions))]), *values)


def _function(ev: BatchEvaluator, x: e.ScalarFunction, batch: pa.RecordBatch) -> Value:
    name = x.name
    if name == "coalesce":
        return pc.coalesce(*[ev.eval(c, batch) for c in x.children])
    if isinstance(x, e.PythonUDF):
        from sparkbook.sql.udf import evaluate_udf

        return evaluate_udf(x, [ev.eval(c, batch) for c in x.children], batch.num_rows)
    kernel = FUNCTION_KERNELS.get(name)
    if kernel is not None:
        return kernel(x, [ev.eval(c, batch) for c in x.children], batch.num_rows)
    arg = ev.eval(x.children[0], batch)
    if name == "abs":
        return _exact(x, pc.abs_checked, pc.abs, arg)
    if name == "sqrt":
        return pc.sqrt(arg)
    if name == "round":
        scale = x.children[1].value
        if isinstance(x.dtype, IntegralType) and scale >= 0:
            return arg
        if isinstance(x.dtype, IntegralType):
            return pc.round(arg, ndigits=scale, round_mode="half_towards_infinity")
        return _round_half_up(ev.column(x.children[0], batch), scale)
    raise SparkRuntimeException(f"[INTERNAL_ERROR] No kernel for {name}.", "INTERNAL_ERROR")


FUNCTION_KERNELS: dict[str, Kernel] = {**strings.KERNELS, **datetimes.KERNELS,
                                       **arrays.KERNELS}


def _round_half_up(arg: pa.Array, scale: int) -> pa.Array:
    """Spark rounds a double's decimal text half up (2.675 -> 2.68, as Java's BigDecimal of
    Double.toString), not its binary value (2.67499...): Arrow writes the shortest text,
    reads it as a decimal and rounds that. Values too large or small for the decimal keep
    the binary rounding, which is the same for them."""
    binary = pc.round(arg, ndigits=scale, round_mode="half_towards_infinity")
    magnitude = pc.abs(arg)
    exact = pc.fill_null(pc.and_(pc.less(magnitude, 1e18), pc.greater_equal(magnitude, 1e-12)),
                         False)
    if not pc.any(exact).as_py():
        return binary
    text = pc.cast(pc.if_else(exact, arg, pa.scalar(0.0, arg.type)), pa.string())
    decimal = pc.round(pc.cast(text, pa.decimal128(38, 18)), ndigits=scale,
                       round_mode="half_towards_infinity")
    return pc.if_else(exact, pc.cast(decimal, arg.type), binary)


def _cast(ev: BatchEvaluator, x: e.Cast, batch: pa.RecordBatch) -> Value:
    value = ev.column(x.child, batch)
    if not x.try_:
        return cast_array(value, x.child.dtype, x.to)
    try:
        return cast_array(value, x.child.dtype, x.to)
    except PySparkException:  # TRY_CAST: only the values that do not convert are NULL
        return pa.array([_try_cast_one(value.slice(i, 1), x.child.dtype, x.to)
                         for i in range(len(value))], to_arrow_type(x.to))


def _try_cast_one(value: pa.Array, source: DataType, target: DataType) -> Any:
    try:
        return cast_array(value, source, target)[0].as_py()
    except PySparkException:
        return None


def cast_array(value: pa.Array, source: DataType, target: DataType) -> pa.Array:
    """Spark's ANSI cast of a whole column."""
    arrow_type = to_arrow_type(target)
    if source == target:
        return value
    if isinstance(source, NullType):
        return pa.nulls(len(value), arrow_type)
    if isinstance(target, StringType):
        return _to_string(value, source)
    if isinstance(source, StringType):
        return _from_string(value, target, arrow_type)
    if isinstance(target, IntegralType) and isinstance(source, FractionalType):
        value = pc.trunc(value)  # Spark truncates a fraction toward zero
    if isinstance(source, (TimestampType, TimestampNTZType)) and isinstance(
            target, (IntegralType, FractionalType)) and not isinstance(target, DecimalType):
        value = _epoch_seconds(value, isinstance(target, IntegralType))
    if isinstance(target, (TimestampType, TimestampNTZType)) and isinstance(
            source, (IntegralType, FractionalType)):
        micros = pc.multiply(pc.cast(value, pa.float64()), 1_000_000)
        return pc.cast(pc.cast(micros, pa.int64(), safe=False), arrow_type)
    try:
        return pc.cast(value, arrow_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        bad = _first_out_of_range(value, arrow_type)
        raise _cast_overflow(bad, source, target) from None


def _epoch_seconds(value: pa.Array, whole: bool) -> pa.Array:
    """A timestamp as Spark casts it to a number: seconds since the epoch, floored to a
    whole second for an integer type (-0.5 s is -1)."""
    micros = pc.cast(value, pa.int64())
    if not whole:
        return pc.divide(pc.cast(micros, pa.float64()), 1_000_000.0)
    # Integer division truncates toward zero: step back a second less one microsecond first.
    below = pc.if_else(pc.less(micros, 0), pc.subtract(micros, 999_999), micros)
    return pc.divide(below, 1_000_000)


def _first_out_of_range(value: pa.Array, arrow_type: pa.DataType):
    for item in value.to_pylist():  # only on the error path, to name the value
        try:
            pa.array([item]).cast(arrow_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return item
    return None


def _cast_overflow(bad, source: DataType, target: DataType) -> ArithmeticException:
    shown = f"{java_number_str(bad)}D" if isinstance(bad, float) else str(bad)
    return sql_error("CAST_OVERFLOW", "22003",
                     f'The value {shown} of the type "{to_sql_type_name(source)}" cannot be '
                     f'cast to "{to_sql_type_name(target)}" due to an overflow. Use `try_cast` '
                     "to tolerate overflow and return NULL instead.", ArithmeticException)


_BOOL_STRINGS = {"t": True, "true": True, "y": True, "yes": True, "1": True,
                 "f": False, "false": False, "n": False, "no": False, "0": False}


def _from_string(value: pa.Array, target: DataType, arrow_type: pa.DataType) -> pa.Array:
    trimmed = pc.utf8_trim_whitespace(value)
    if isinstance(target, BooleanType):
        lowered = pc.utf8_lower(trimmed)
        known = pa.array(list(_BOOL_STRINGS))
        bad = pc.and_(pc.invert(pc.is_in(lowered, value_set=known)), pc.is_valid(lowered))
        if pc.any(bad).as_py():
            raise _invalid_input(value, bad, target, SparkRuntimeException)
        truthy = pa.array([k for k, v in _BOOL_STRINGS.items() if v])
        return pc.if_else(pc.is_valid(lowered), pc.is_in(lowered, value_set=truthy),
                          pa.scalar(None, pa.bool_()))
    if isinstance(target, DateType):
        return datetimes.cast_to_date(value)
    if isinstance(target, (TimestampType, TimestampNTZType)):
        return datetimes.cast_to_timestamp(value)
    if isinstance(target, IntegralType):
        bad = pc.invert(pc.fill_null(pc.match_substring_regex(trimmed, r"^[+-]?\d+$"), True))
        if pc.any(bad).as_py():
            raise _invalid_input(value, bad, target, NumberFormatException)
    try:
        return pc.cast(trimmed, arrow_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        parsed = [_parses(v, arrow_type) for v in trimmed.to_pylist()]  # error path only
        bad = pa.array([not ok for ok in parsed])
        if pc.any(bad).as_py():
            kind = NumberFormatException if isinstance(
                target, (IntegralType, FractionalType)) else SparkRuntimeException
            raise _invalid_input(value, bad, target, kind) from None
        raise


def _parses(v, arrow_type: pa.DataType) -> bool:
    try:
        pa.array([v]).cast(arrow_type)
        return True
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False


def _invalid_input(value: pa.Array, bad: pa.Array, target: DataType, kind: type):
    first = value.filter(bad)[0].as_py()
    return sql_error("CAST_INVALID_INPUT", "22018",
                     f"The value '{first}' of the type \"STRING\" cannot be cast to "
                     f'"{to_sql_type_name(target)}" because it is malformed. Correct the value '
                     "as per the syntax, or change its target type. Use `try_cast` to tolerate "
                     "malformed input and return NULL instead.", kind)


def _to_string(value: pa.Array, source: DataType) -> pa.Array:
    if isinstance(source, (TimestampType, TimestampNTZType)):
        text = pc.strftime(value, format="%Y-%m-%d %H:%M:%S")
        text = pc.replace_substring_regex(text, r"(\.\d*?)0+$", r"\1")
        return pc.replace_substring_regex(text, r"\.$", "")
    if isinstance(source, FractionalType) and not isinstance(source, DecimalType):
        return _doubles_to_string(value, source)
    if isinstance(source, DateType):
        return pc.strftime(value, format="%Y-%m-%d")
    return pc.cast(value, pa.string())


def _doubles_to_string(value: pa.Array, source: DataType) -> pa.Array:
    """Java's Double.toString for a column: Arrow formats the ordinary values, and the few
    that Java writes in scientific notation (or as NaN/Infinity) are written one by one."""
    magnitude = pc.abs(value)
    plain = pc.or_(pc.and_(pc.greater_equal(magnitude, 1e-3), pc.less(magnitude, 1e7)),
                   pc.equal(value, 0))
    text = pc.cast(value, pa.string())
    needs_point = pc.invert(pc.match_substring(text, "."))
    text = pc.if_else(needs_point, pc.binary_join_element_wise(text, ".0", ""), text)
    special = pc.and_(pc.invert(pc.fill_null(plain, True)), pc.is_valid(value))
    if not pc.any(special).as_py():
        return text
    rows = pc.indices_nonzero(special).to_pylist()
    values = value.to_pylist()
    out = text.to_pylist()
    for i in rows:
        out[i] = java_number_str(values[i], source)
    return pa.array(out, pa.string())


_KERNELS: dict[type, Callable] = {
    e.AttributeReference: _attribute, e.Literal: _literal, e.Alias: _alias,
    e.BinaryArithmetic: _arithmetic, e.UnaryMinus: _minus, e.BinaryComparison: _compare,
    e.And: _logic, e.Or: _logic, e.Not: _not, e.IsNull: _is_null, e.IsNotNull: _is_null,
    e.In: _in, e.Like: _like, e.CaseWhen: _case_when, e.ScalarFunction: _function,
    e.ExtractValue: _function, e.PythonUDF: _function, e.StringTrim: _function,
    e.Cast: _cast, e.ScalarSubquery: _subquery,
}
