"""Types of resolved expressions, with the implicit casts ANSI mode inserts (Spark's
``AnsiTypeCoercion``): an int plus a bigint is a bigint, int / int is a double, a string
compared with a number is read as that number, and so on."""

from __future__ import annotations

from sparkbook.errors import AnalysisException
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst.aggregates import AggregateFunction, result_type
from sparkbook.sql.catalyst.windows import WINDOW_NODES, type_window
from sparkbook.sql.types import (
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
    NullType,
    NumericType,
    ShortType,
    StringType,
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
    if isinstance(a, DecimalType) and isinstance(b, DecimalType):
        return DecimalType(max(a.precision, b.precision), max(a.scale, b.scale))
    return a if _rank(a) >= _rank(b) else b


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
    if x.dtype is not None and isinstance(x, (e.AttributeReference, e.Literal)):
        return x
    kids = list(x.children)
    nullable = any(k.nullable for k in kids)
    if isinstance(x, e.Alias):
        out = x.with_children(kids)
        out.dtype, out.nullable = kids[0].dtype, kids[0].nullable
        return out
    if isinstance(x, e.BinaryArithmetic):
        kids, dt = _arithmetic(x, kids)
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
    raise AnalysisException(f"[UNRESOLVED_ROUTINE] Cannot resolve routine `{name}`.",
                            "UNRESOLVED_ROUTINE")
