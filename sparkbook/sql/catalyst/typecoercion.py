"""Types of resolved expressions, with the implicit casts ANSI mode inserts (Spark's
``AnsiTypeCoercion``): an int plus a bigint is a bigint, int / int is a double, a string
compared with a number is read as that number, and so on."""

from __future__ import annotations

import decimal
from collections.abc import Callable

from sparkbook.errors import AnalysisException
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst.aggregates import AggregateFunction, result_type
from sparkbook.sql.catalyst.windows import WINDOW_NODES, type_window
from sparkbook.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    ByteType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    FractionalType,
    IntegerType,
    IntegralType,
    LongType,
    MapType,
    NullType,
    NumericType,
    ShortType,
    StringType,
    StructField,
    StructType,
    TimestampNTZType,
    TimestampType,
)

_NUMERIC_ORDER = [ByteType, ShortType, IntegerType, LongType, DecimalType, FloatType,
                  DoubleType]


def _rank(dt: DataType) -> int:
    return _NUMERIC_ORDER.index(type(dt))


def wider_numeric(a: DataType, b: DataType) -> DataType:
    """The type two numbers meet in (a float with an int or bigint meets in a double)."""
    if a == b:
        return a
    if isinstance(a, FloatType) and isinstance(b, (IntegerType, LongType, DecimalType)) or (
            isinstance(b, FloatType) and isinstance(a, (IntegerType, LongType, DecimalType))):
        return DoubleType()
    if isinstance(a, DecimalType) and isinstance(b, (DecimalType, IntegralType)) or (
            isinstance(b, DecimalType) and isinstance(a, IntegralType)):
        # Spark's wider decimal: room for the larger integral part and the larger scale.
        da, db = as_decimal(a), as_decimal(b)
        scale = max(da.scale, db.scale)
        return DecimalType(min(38, max(da.precision - da.scale, db.precision - db.scale)
                               + scale), scale)
    return a if _rank(a) >= _rank(b) else b


# The decimal an integral type fits in, as Spark's DecimalPrecision converts it.
_INTEGRAL_DIGITS = {ByteType: 3, ShortType: 5, IntegerType: 10, LongType: 20}


def as_decimal(dt: DataType, x: e.Expression | None = None) -> DecimalType:
    """``dt`` as a decimal; an integer literal takes just its digits (``1`` is
    ``decimal(1,0)``), as Spark types literals in decimal arithmetic."""
    if isinstance(dt, DecimalType):
        return dt
    if isinstance(x, e.Literal) and isinstance(x.value, int):
        return DecimalType(len(str(abs(x.value))), 0)
    return DecimalType(_INTEGRAL_DIGITS[type(dt)], 0)


def decimal_result(symbol: str, a: DecimalType, b: DecimalType) -> DecimalType:
    """Spark's result type of decimal ``+ - * /`` (``DecimalPrecision``), with its loss of
    scale (to no less than 6) when the precision passes 38."""
    p1, s1, p2, s2 = a.precision, a.scale, b.precision, b.scale
    if symbol in "+-":
        scale = max(s1, s2)
        precision = max(p1 - s1, p2 - s2) + scale + 1
    elif symbol == "*":
        precision, scale = p1 + p2 + 1, s1 + s2
    else:
        scale = max(6, s1 + p2 + 1)
        precision = p1 - s1 + s2 + scale
    if precision <= 38:
        return DecimalType(precision, scale)
    integral = precision - scale
    return DecimalType(38, max(38 - integral, min(scale, 6)))


def common_type(types: list[DataType]) -> DataType | None:
    """The type several values (CASE branches, coalesce arguments) are all cast to."""
    known = [t for t in types if not isinstance(t, NullType)]
    if not known:
        return NullType()
    result = known[0]
    for t in known[1:]:
        if t == result:
            continue
        if isinstance(t, NumericType) and isinstance(result, NumericType):
            result = wider_numeric(result, t)
        elif {type(t), type(result)} <= {DateType, TimestampType}:
            result = TimestampType()
        elif isinstance(t, StringType) or isinstance(result, StringType):
            result = StringType()
        else:
            return None
    return result


def cast_to(x: e.Expression, dt: DataType) -> e.Expression:
    if x.dtype == dt:
        return x
    if isinstance(x, e.Literal) and (x.value is None or (
            isinstance(x.dtype, NumericType) and isinstance(dt, (IntegralType, DoubleType,
                                                                 FloatType)))):
        # Folded at once, as Spark's optimizer folds cast(1 as bigint) into 1.
        value = x.value if x.value is None or isinstance(dt, IntegralType) else float(x.value)
        if not isinstance(dt, IntegralType) or isinstance(x.dtype, IntegralType):
            return e.Literal(value, dt)
    if isinstance(x, e.Literal) and isinstance(x.dtype, IntegralType) and isinstance(
            dt, DecimalType) and len(str(abs(x.value))) <= dt.precision - dt.scale:
        return e.Literal(decimal.Decimal(x.value), dt)
    c = e.Cast(x, dt, implicit=True)
    c.dtype, c.nullable = dt, x.nullable
    return c


def mismatch(expr: e.Expression, sub_class: str, detail: str) -> AnalysisException:
    name = e.output_name(expr)
    cls = f"DATATYPE_MISMATCH.{sub_class}"
    return AnalysisException(
        f'[{cls}] Cannot resolve "{name}" due to data type mismatch: {detail} '
        f"SQLSTATE: 42K09", cls, {"sqlExpr": f'"{name}"'}, "42K09")


def _type_name(dt: DataType) -> str:
    return f'"{dt.simpleString().upper()}"'


def type_expression(x: e.Expression) -> e.Expression:
    """``x`` (whose children are typed) with its own type set and its children cast."""
    if x.dtype is not None and isinstance(x, (e.AttributeReference, e.Literal,
                                           e.ScalarSubquery)):
        return x
    kids = list(x.children)
    nullable = any(k.nullable for k in kids)
    if isinstance(x, e.Alias):
        out = x.with_children(kids)
        out.dtype, out.nullable = kids[0].dtype, kids[0].nullable
        return out
    if isinstance(x, e.BinaryArithmetic):
        kids, dt = _arithmetic(x, kids)
        nullable = nullable or isinstance(dt, DecimalType)  # Spark's decimal overflow
    elif isinstance(x, (e.And, e.Or)):
        kids, dt = [_boolean(x, k) for k in kids], BooleanType()
    elif isinstance(x, e.Not):
        kids, dt = [_boolean(x, kids[0])], BooleanType()
    elif isinstance(x, e.BinaryComparison):
        target = _comparison_type(x, kids[0].dtype, kids[1].dtype)
        kids, dt = [cast_to(k, target) for k in kids], BooleanType()
        if x.symbol == "<=>":
            nullable = False
    elif isinstance(x, (e.IsNull, e.IsNotNull)):
        dt, nullable = BooleanType(), False
    elif isinstance(x, e.In):
        target = common_type([k.dtype for k in kids])
        if target is None:
            raise mismatch(x, "DATA_DIFF_TYPES", "Input to `in` should all be the same type.")
        kids, dt = [cast_to(k, target) for k in kids], BooleanType()
    elif isinstance(x, e.Like):
        kids, dt = [cast_to(k, StringType()) for k in kids], BooleanType()
    elif isinstance(x, e.CaseWhen):
        kids, dt = _case_when(x, kids)
        nullable = any(v.nullable for _, v in x.with_children(kids).branches) or (
            not x.has_else or kids[-1].nullable)
    elif isinstance(x, e.UnaryMinus):
        dt = _numeric(x, kids[0])
        kids = [cast_to(kids[0], dt)]
    elif isinstance(x, e.Cast):
        dt = x.to
        nullable = nullable or x.try_
    elif isinstance(x, e.ScalarFunction):
        if x.name == "between":
            v, lo, hi = kids
            rewritten = e.And(e.BinaryComparison(">=", v, lo), e.BinaryComparison("<=", v, hi))
            return type_tree(rewritten)
        kids, dt, nullable = _function(x, kids, nullable)
    elif isinstance(x, e.SortOrder):
        dt, nullable = kids[0].dtype, kids[0].nullable
    elif isinstance(x, AggregateFunction):
        out = x.with_children(kids)
        out.dtype, out.nullable = result_type(out)
        return out
    elif isinstance(x, WINDOW_NODES):
        return type_window(x, kids)
    else:
        raise AnalysisException(f"[INTERNAL_ERROR] Cannot type {type(x).__name__}.",
                                "INTERNAL_ERROR")
    out = x.with_children(kids)
    out.dtype, out.nullable = dt, nullable
    return out


def type_tree(x: e.Expression) -> e.Expression:
    return x.transform_up(type_expression)


def _numeric(x: e.Expression, k: e.Expression) -> DataType:
    dt = k.dtype
    if isinstance(dt, NumericType):
        return dt
    if isinstance(dt, (StringType, NullType)):
        return DoubleType() if isinstance(dt, StringType) else IntegerType()
    raise mismatch(x, "UNEXPECTED_INPUT_TYPE",
                   f'The first parameter requires the "NUMERIC" type, however '
                   f'"{e.output_name(k)}" has the type {_type_name(dt)}.')


def _boolean(x: e.Expression, k: e.Expression) -> e.Expression:
    if isinstance(k.dtype, (BooleanType, NullType, StringType)):
        return cast_to(k, BooleanType())
    raise mismatch(x, "UNEXPECTED_INPUT_TYPE",
                   f'The first parameter requires the "BOOLEAN" type, however '
                   f'"{e.output_name(k)}" has the type {_type_name(k.dtype)}.')


def _arithmetic(x: e.BinaryArithmetic, kids: list[e.Expression]
                ) -> tuple[list[e.Expression], DataType]:
    lt, rt = kids[0].dtype, kids[1].dtype
    # NULL takes the other side's type; a string is read as a number of the other's kind.
    if isinstance(lt, NullType):
        lt = rt if not isinstance(rt, NullType) else IntegerType()
    if isinstance(rt, NullType):
        rt = lt
    if isinstance(lt, StringType):
        lt = LongType() if isinstance(rt, IntegralType) else DoubleType()
    if isinstance(rt, StringType):
        rt = LongType() if isinstance(lt, IntegralType) else DoubleType()
    if not (isinstance(lt, NumericType) and isinstance(rt, NumericType)):
        detail = (f"the left and right operands of the binary operator have incompatible "
                  f"types ({_type_name(kids[0].dtype)} and {_type_name(kids[1].dtype)}).")
        raise mismatch(x, "BINARY_OP_DIFF_TYPES", detail)
    dt = DoubleType() if x.symbol == "/" and not isinstance(
        wider_numeric(lt, rt), DecimalType) else wider_numeric(lt, rt)
    if isinstance(dt, DecimalType) and x.symbol in ("+", "-", "*", "/"):
        # Each side a decimal of its own digits; the result as Spark types it.
        da, db = as_decimal(lt, kids[0]), as_decimal(rt, kids[1])
        return [cast_to(kids[0], da), cast_to(kids[1], db)], decimal_result(x.symbol, da, db)
    if x.symbol == "div":  # integral division: of bigints, whatever the operands
        dt = LongType()
    return [cast_to(kids[0], dt), cast_to(kids[1], dt)], dt


def _comparison_type(x: e.Expression, lt: DataType, rt: DataType) -> DataType:
    if isinstance(lt, NullType):
        return rt
    if isinstance(rt, NullType) or lt == rt:
        return lt
    if isinstance(lt, NumericType) and isinstance(rt, NumericType):
        return wider_numeric(lt, rt)
    for a, b in ((lt, rt), (rt, lt)):
        if isinstance(a, StringType):
            if isinstance(b, IntegralType):
                return LongType()
            if isinstance(b, FractionalType):
                return DoubleType() if not isinstance(b, DecimalType) else b
            if isinstance(b, (DateType, TimestampType, TimestampNTZType, BooleanType)):
                return b
    if {type(lt), type(rt)} <= {DateType, TimestampType}:
        return TimestampType()
    detail = (f"the left and right operands of the binary operator have incompatible types "
              f"({_type_name(lt)} and {_type_name(rt)}).")
    raise mismatch(x, "BINARY_OP_DIFF_TYPES", detail)


def _case_when(x: e.CaseWhen, kids: list[e.Expression]) -> tuple[list[e.Expression], DataType]:
    node = x.with_children(kids)
    values = [v for _, v in node.branches] + ([node.else_value] if x.has_else else [])
    dt = common_type([v.dtype for v in values])
    if dt is None:
        raise mismatch(x, "DATA_DIFF_TYPES",
                       "Input to `casewhen` should all be the same type, but it's "
                       f"[{', '.join(v.dtype.simpleString().upper() for v in values)}].")
    out: list[e.Expression] = []
    for cond, value in node.branches:
        out += [_boolean(x, cond), cast_to(value, dt)]
    if x.has_else:
        out.append(cast_to(node.else_value, dt))
    return out, dt


_STRING_FUNCTIONS = {"upper", "lower"}
_STRING_PREDICATES = {"startswith", "endswith", "contains"}


def _function(x: e.ScalarFunction, kids: list[e.Expression], nullable: bool
              ) -> tuple[list[e.Expression], DataType, bool]:
    name = x.name
    if name in _STRING_FUNCTIONS:
        return [cast_to(kids[0], StringType())], StringType(), nullable
    if name in _STRING_PREDICATES:
        return [cast_to(k, StringType()) for k in kids], BooleanType(), nullable
    if name == "length":
        arg = kids[0] if isinstance(kids[0].dtype, BinaryType) else cast_to(kids[0],
                                                                           StringType())
        return [arg], IntegerType(), nullable
    if name == "abs":
        dt = _numeric(x, kids[0])
        return [cast_to(kids[0], dt)], dt, nullable
    if name == "sqrt":
        return [cast_to(kids[0], DoubleType())], DoubleType(), nullable
    if name == "round":
        dt = _numeric(x, kids[0])
        scale = kids[1] if len(kids) > 1 else e.Literal(0, IntegerType())
        if not isinstance(scale, e.Literal) or not isinstance(scale.dtype, IntegralType):
            raise mismatch(x, "NON_FOLDABLE_INPUT",
                           'the input scale should be a foldable "INT" expression.')
        return [cast_to(kids[0], dt), scale], dt, nullable
    if name == "coalesce":
        dt = common_type([k.dtype for k in kids])
        if dt is None:
            raise mismatch(x, "DATA_DIFF_TYPES", "Input to `coalesce` should all be the "
                           "same type.")
        return [cast_to(k, dt) for k in kids], dt, all(k.nullable for k in kids)
    if name in ("isnull", "isnotnull"):
        return kids, BooleanType(), False
    typer = _python_udf if isinstance(x, e.PythonUDF) else _TYPERS.get(name)
    if typer is not None:
        return typer(x, kids, nullable)
    raise AnalysisException(f"[UNRESOLVED_ROUTINE] Cannot resolve routine `{name}`.",
                            "UNRESOLVED_ROUTINE")


# --- strings, dates, collections ----------------------------------------------------------

Typed = tuple[list[e.Expression], DataType, bool]


def _signature(args: list[DataType | None], result: DataType, literal: tuple[int, ...] = ()
               ) -> Callable[[e.ScalarFunction, list[e.Expression], bool], Typed]:
    """A function whose arguments are cast to ``args`` (the last repeats; None keeps the
    type) and whose result is ``result``; the ``literal`` arguments must be constants."""

    def typer(x: e.ScalarFunction, kids: list[e.Expression], nullable: bool) -> Typed:
        for i in literal:
            if i < len(kids):
                _require_literal(x, kids[i])
        out = []
        for i, k in enumerate(kids):
            target = args[min(i, len(args) - 1)] if args else None
            out.append(k if target is None else _implicit(x, k, target))
        return out, result, nullable

    return typer


def _require_literal(x: e.Expression, k: e.Expression) -> None:
    inner = k
    while isinstance(inner, e.Cast):
        inner = inner.child
    if not isinstance(inner, e.Literal):
        raise mismatch(x, "NON_FOLDABLE_INPUT",
                       f'the input "{e.output_name(k)}" should be a foldable '
                       f'{_type_name(k.dtype)} expression; however, got "{e.output_name(k)}".')


_IMPLICIT_TO_STRING = (NumericType, BooleanType, DateType, TimestampType, TimestampNTZType,
                       BinaryType, NullType)


def _implicit(x: e.Expression, k: e.Expression, target: DataType) -> e.Expression:
    """ANSI mode's implicit cast of a function argument, or Spark's type mismatch."""
    dt = k.dtype
    if dt == target or isinstance(dt, NullType):
        return cast_to(k, target)
    ok = False
    if isinstance(target, StringType):
        ok = isinstance(dt, _IMPLICIT_TO_STRING)
    elif isinstance(target, IntegralType):
        ok = isinstance(dt, (IntegralType, StringType))
    elif isinstance(target, DateType):
        ok = isinstance(dt, (StringType, TimestampType, TimestampNTZType))
    elif isinstance(target, TimestampType):
        ok = isinstance(dt, (StringType, DateType, TimestampNTZType))
    elif isinstance(target, (DoubleType, DecimalType)):
        ok = isinstance(dt, (NumericType, StringType))
    if not ok:
        raise mismatch(x, "UNEXPECTED_INPUT_TYPE",
                       f"The {_ordinal(x, k)} parameter requires the {_type_name(target)} "
                       f'type, however "{e.output_name(k)}" has the type {_type_name(dt)}.')
    return cast_to(k, target)


_ORDINALS = ["first", "second", "third", "fourth", "fifth"]


def _ordinal(x: e.Expression, k: e.Expression) -> str:
    index = next((i for i, c in enumerate(x.children) if c is k), 0)
    return _ORDINALS[index] if index < len(_ORDINALS) else f"{index + 1}th"


def _concat_ws(x: e.ScalarFunction, kids: list[e.Expression], nullable: bool) -> Typed:
    """``concat_ws(sep, ...)``: strings, and arrays of strings (their elements joined)."""
    _require_literal(x, kids[0])
    out = [_implicit(x, kids[0], StringType())]
    for k in kids[1:]:
        is_strings = isinstance(k.dtype, ArrayType) and isinstance(k.dtype.elementType,
                                                                  (StringType, NullType))
        out.append(k if is_strings else _implicit(x, k, StringType()))
    return out, StringType(), kids[0].nullable


def _to_datetime(target: DataType):
    def typer(x: e.ScalarFunction, kids: list[e.Expression], nullable: bool) -> Typed:
        if len(kids) == 1:  # without a pattern: Spark's cast
            return [_implicit(x, kids[0], target)], target, nullable
        _require_literal(x, kids[1])
        return [_implicit(x, kids[0], StringType()), kids[1]], target, nullable

    return typer


def _now(target: DataType):
    def typer(x: e.ScalarFunction, kids: list[e.Expression], nullable: bool) -> Typed:
        return kids, target, False

    return typer


def _array(x: e.ScalarFunction, kids: list[e.Expression], nullable: bool) -> Typed:
    dt = common_type([k.dtype for k in kids]) if kids else NullType()
    if dt is None:
        raise mismatch(x, "DATA_DIFF_TYPES", "Input to `array` should all be the same type, "
                       f"but it's [{', '.join(k.dtype.simpleString().upper() for k in kids)}].")
    contains_null = any(k.nullable for k in kids)
    return [cast_to(k, dt) for k in kids], ArrayType(dt, contains_null), False


def _struct(x: e.ScalarFunction, kids: list[e.Expression], nullable: bool) -> Typed:
    fields = [StructField(k.name if isinstance(k, (e.Alias, e.AttributeReference))
                          else f"col{i + 1}", k.dtype, k.nullable) for i, k in enumerate(kids)]
    return kids, StructType(fields), False


def _collection(x: e.Expression, k: e.Expression, kinds: tuple[type, ...], shown: str) -> None:
    if not isinstance(k.dtype, kinds):
        raise mismatch(x, "UNEXPECTED_INPUT_TYPE",
                       f'The first parameter requires the {shown} type, however '
                       f'"{e.output_name(k)}" has the type {_type_name(k.dtype)}.')


def _size(x: e.ScalarFunction, kids: list[e.Expression], nullable: bool) -> Typed:
    if not isinstance(kids[0].dtype, NullType):
        _collection(x, kids[0], (ArrayType, MapType), '("ARRAY" or "MAP")')
    return kids, IntegerType(), nullable


def _array_contains(x: e.ScalarFunction, kids: list[e.Expression], nullable: bool) -> Typed:
    _collection(x, kids[0], (ArrayType,), '"ARRAY"')
    element = kids[0].dtype.elementType
    return [kids[0], _implicit(x, kids[1], element)], BooleanType(), nullable


def _sort_array(x: e.ScalarFunction, kids: list[e.Expression], nullable: bool) -> Typed:
    _collection(x, kids[0], (ArrayType,), '"ARRAY"')
    return kids, kids[0].dtype, nullable


def _element(x: e.ScalarFunction, kids: list[e.Expression]) -> Typed:
    """``arr[i]``, ``m[k]``, ``element_at``: the element's type, found in the child's."""
    child, key = kids
    dt = child.dtype
    if isinstance(dt, ArrayType):
        return [child, _implicit(x, key, IntegerType())], dt.elementType, True
    if isinstance(dt, MapType):
        return [child, _implicit(x, key, dt.keyType)], dt.valueType, True
    raise _extract_error(child)


def _extract_error(child: e.Expression) -> AnalysisException:
    return AnalysisException(
        f'[INVALID_EXTRACT_BASE_FIELD_TYPE] Can\'t extract a value from '
        f'"{e.output_name(child)}". Need a complex type [STRUCT, ARRAY, MAP] but got '
        f'{_type_name(child.dtype)}. SQLSTATE: 42000', "INVALID_EXTRACT_BASE_FIELD_TYPE",
        {}, "42000")


def _extract_value(x: e.ScalarFunction, kids: list[e.Expression], nullable: bool) -> Typed:
    child, key = kids
    if isinstance(child.dtype, StructType):
        name = key.value if isinstance(key, e.Literal) else None
        found = [f for f in child.dtype.fields
                 if name is not None and f.name.lower() == str(name).lower()]
        if not found:
            fields = ", ".join(f"`{f.name}`" for f in child.dtype.fields)
            raise AnalysisException(
                f"[FIELD_NOT_FOUND] No such struct field `{name}` in {fields}. "
                "SQLSTATE: 42704", "FIELD_NOT_FOUND", {}, "42704")
        return [child, e.Literal(found[0].name, StringType())], found[0].dataType, True
    return _element(x, kids)


def _element_at(x: e.ScalarFunction, kids: list[e.Expression], nullable: bool) -> Typed:
    return _element(x, kids)


def _generator(x: e.ScalarFunction, kids: list[e.Expression], nullable: bool) -> Typed:
    _collection(x, kids[0], (ArrayType, MapType), '("ARRAY" or "MAP")')
    return kids, kids[0].dtype, True


def _python_udf(x: e.ScalarFunction, kids: list[e.Expression], nullable: bool) -> Typed:
    return kids, x.return_type, True


_S, _I, _D, _TS = StringType(), IntegerType(), DateType(), TimestampType()

_TYPERS: dict[str, Callable[[e.ScalarFunction, list[e.Expression], bool], Typed]] = {
    "concat": _signature([_S], _S), "concat_ws": _concat_ws,
    "split": _signature([_S, _S, _I], ArrayType(_S, False), (1, 2)),
    "regexp_replace": _signature([_S, _S, _S, _I], _S, (1, 2, 3)),
    "regexp_extract": _signature([_S, _S, _I], _S, (1, 2)),
    "rlike": _signature([_S, _S], BooleanType(), (1,)),
    "substring": _signature([_S, _I, _I], _S, (1, 2)),
    "trim": _signature([_S], _S, (1,)), "ltrim": _signature([_S], _S, (1,)),
    "rtrim": _signature([_S], _S, (1,)), "initcap": _signature([_S], _S),
    "lpad": _signature([_S, _I, _S], _S, (1, 2)), "rpad": _signature([_S, _I, _S], _S, (1, 2)),
    "to_date": _to_datetime(_D), "to_timestamp": _to_datetime(_TS),
    "date_add": _signature([_D, _I], _D), "date_sub": _signature([_D, _I], _D),
    "datediff": _signature([_D, _D], _I), "date_format": _signature([_TS, _S], _S, (1,)),
    "current_date": _now(_D), "current_timestamp": _now(_TS),
    "array": _array, "struct": _struct, "size": _size, "array_contains": _array_contains,
    "sort_array": _sort_array, "extractvalue": _extract_value, "element_at": _element_at,
    "explode": _generator, "explode_outer": _generator, "posexplode": _generator,
    "posexplode_outer": _generator,
}
for _name in ("year", "month", "dayofmonth", "dayofweek", "dayofyear", "quarter"):
    _TYPERS[_name] = _signature([_D], _I)
for _name in ("hour", "minute", "second"):
    _TYPERS[_name] = _signature([_TS], _I)
