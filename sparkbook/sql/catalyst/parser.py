"""Expression text in Spark's dialect (``expr("age + 1")``, ``filter("age > 5")``) parsed by
sqlglot and turned into the same expression tree the Column API builds."""

from __future__ import annotations

import decimal

import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark

from sparkbook.errors import ParseException
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst import windows as w
from sparkbook.sql.catalyst.aggregates import AggregateFunction
from sparkbook.sql.types import (
    BooleanType,
    DecimalType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    parse_ddl,
    parse_error,
)

_ARITHMETIC = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%",
               exp.IntDiv: "div"}
_COMPARISON = {exp.EQ: "=", exp.NullSafeEQ: "<=>", exp.LT: "<", exp.LTE: "<=", exp.GT: ">",
               exp.GTE: ">="}
_BINARY = {exp.And: e.And, exp.Or: e.Or, exp.Like: e.Like}

# sqlglot's function nodes -> Spark's function name and how Spark prints it.
_FUNCTIONS = {
    exp.Upper: ("upper", "upper"), exp.Lower: ("lower", "lower"),
    exp.Length: ("length", "length"), exp.Abs: ("abs", "abs"), exp.Sqrt: ("sqrt", "SQRT"),
    exp.Round: ("round", "round"), exp.Coalesce: ("coalesce", "coalesce"),
    exp.StartsWith: ("startswith", "startswith"), exp.EndsWith: ("endswith", "endswith"),
    exp.Contains: ("contains", "contains"),
}

# sqlglot's aggregate nodes -> Spark's aggregate function.
_AGGREGATES = {exp.Sum: "sum", exp.Avg: "avg", exp.Min: "min", exp.Max: "max",
               exp.First: "first", exp.Last: "last", exp.ArrayAgg: "collect_list",
               exp.ArrayUniqueAgg: "collect_set", exp.Count: "count"}
_ANONYMOUS_AGGREGATES = {"mean": "avg", "collect_list": "collect_list",
                         "collect_set": "collect_set"}

KNOWN_FUNCTIONS = {"upper": "upper", "lower": "lower", "length": "length", "abs": "abs",
                   "sqrt": "SQRT", "round": "round", "coalesce": "coalesce",
                   "startswith": "startswith", "endswith": "endswith",
                   "contains": "contains", "isnull": "isnull", "isnotnull": "isnotnull"}


# Functions read as written (sqlglot's Anonymous with the name and arguments as given):
# sqlglot rewrites many of them into other dialects' forms (year(d) into a cast of d, to
# to_timestamp(x) into a CAST) that would lose Spark's name and semantics.
_AS_WRITTEN = {
    "concat", "concat_ws", "split", "regexp_replace", "regexp_extract", "initcap", "lpad",
    "rpad", "to_date", "to_timestamp", "year", "month", "day", "dayofmonth", "dayofweek",
    "dayofyear", "quarter", "hour", "minute", "second", "date_add", "date_sub", "datediff",
    "date_format", "array", "size", "array_contains", "struct", "element_at", "explode",
    "explode_outer", "posexplode", "posexplode_outer", "ltrim", "rtrim", "substr", "rlike",
    "current_date", "current_timestamp", "sort_array"}


class SparkAsWritten(Spark):
    """Spark's dialect, with the functions of ``_AS_WRITTEN`` left as written."""

    class Parser(Spark.Parser):
        FUNCTIONS = {k: v for k, v in Spark.Parser.FUNCTIONS.items()
                     if k.lower() not in _AS_WRITTEN}
        FUNCTION_PARSERS = {k: v for k, v in Spark.Parser.FUNCTION_PARSERS.items()
                            if k.lower() not in _AS_WRITTEN}


# Functions read as written: the kernel's name and how Spark prints the call.
_SCALARS = {"day": ("dayofmonth", "day"), "substr": ("substring", "substr"),
            "rlike": ("rlike", "RLIKE")}
_SCALARS.update({n: (n, n) for n in _AS_WRITTEN if n not in _SCALARS})
_GENERATORS = {"explode", "explode_outer", "posexplode", "posexplode_outer"}
MAX_INT = 2**31 - 1


def _as_written(name: str, args: list[e.Expression]) -> e.Expression:
    """A function read as written, with the arguments Spark adds when they are left out
    (Spark names ``split(s, -)`` as ``split(s, -, -1)``)."""
    if name in _GENERATORS:
        return e.Generator(name, args)
    if name in ("ltrim", "rtrim"):  # ltrim(trimStr, str) in SQL
        return e.StringTrim(name, args[::-1])
    kernel, pretty = _SCALARS[name]
    defaults = {"split": [e.Literal(-1, IntegerType())],
                "regexp_replace": [e.Literal(1, IntegerType())],
                "regexp_extract": [e.Literal(1, IntegerType())],
                "substr": [e.Literal(MAX_INT, IntegerType())],
                "lpad": [e.Literal(" ", StringType())], "rpad": [e.Literal(" ", StringType())],
                "sort_array": [e.Literal(True, BooleanType())]}
    wanted = {"split": 3, "regexp_replace": 4, "regexp_extract": 3, "substr": 3, "lpad": 3,
              "rpad": 3, "sort_array": 2}
    if name in wanted and len(args) < wanted[name]:
        args = args + defaults[name][:wanted[name] - len(args)]
    return e.ScalarFunction(kernel, args, pretty)


def parse_expression(text: str) -> e.Expression:
    """One expression, as ``expr()`` and ``selectExpr()`` take it."""
    return convert(parse_statements(text)[0], text)


def parse_statements(text: str) -> list[exp.Expression]:
    """sqlglot's trees of the text; its errors as Spark's ``ParseException``."""
    try:
        trees = [t for t in sqlglot.parse(text, read=SparkAsWritten) if t is not None]
    except sqlglot.errors.ParseError as err:
        raise _syntax_error(text, err) from None
    except sqlglot.errors.TokenError:
        raise parse_error("PARSE_SYNTAX_ERROR", "Syntax error at or near end of input.",
                          text, len(text), "42601") from None
    if not trees:
        raise parse_error("PARSE_EMPTY_STATEMENT",
                          "Syntax error, unexpected empty statement.", text, 0, "42617")
    return trees


def _syntax_error(text: str, err: sqlglot.errors.ParseError) -> ParseException:
    info = err.errors[0] if err.errors else {}
    if not info.get("end_context"):
        return parse_error("PARSE_SYNTAX_ERROR", "Syntax error at or near end of input.",
                           text, len(text), "42601")
    near = info.get("highlight", "")
    lines = text.split("\n")
    line = max(info.get("line", 1), 1)
    pos = sum(len(x) + 1 for x in lines[:line - 1]) + max(info.get("col", 1) - len(near), 0)
    return parse_error("PARSE_SYNTAX_ERROR", f"Syntax error at or near '{near}'.", text, pos,
                       "42601")


def convert(node: exp.Expression, text: str) -> e.Expression:
    """sqlglot's tree -> sparkbook's expression tree."""
    kind = type(node)
    if kind is exp.Paren:
        return convert(node.this, text)
    if kind is exp.Column:
        if isinstance(node.this, exp.Star):
            return e.UnresolvedStar([p.name for p in node.parts[:-1]])
        return e.UnresolvedAttribute([p.name for p in node.parts])
    if kind is exp.Star:
        return e.UnresolvedStar()
    if kind is exp.Literal:
        return _literal(node)
    if kind is exp.Boolean:
        return e.Literal(bool(node.this), BooleanType())
    if kind is exp.Null:
        return e.null_literal()
    if kind in _BINARY:
        both = _BINARY[kind](convert(node.this, text), convert(node.expression, text))
        return e.Not(both) if node.args.get("negate") else both
    if kind is exp.Window:
        return _window(node, text)
    if kind in _WINDOW_FUNCTIONS:
        return _window_function(node, text)
    if kind in _AGGREGATES or kind is exp.IgnoreNulls:
        return _aggregate(node, text)
    if kind is exp.Anonymous and node.name.lower() in _ANONYMOUS_AGGREGATES:
        args = [convert(a, text) for a in node.expressions]
        return AggregateFunction(_ANONYMOUS_AGGREGATES[node.name.lower()], args)
    if kind in _ARITHMETIC:
        return e.BinaryArithmetic(_ARITHMETIC[kind], convert(node.this, text),
                                  convert(node.expression, text))
    if kind in _COMPARISON or kind is exp.NEQ:
        equal = e.BinaryComparison(_COMPARISON.get(kind, "="), convert(node.this, text),
                                   convert(node.expression, text))
        return e.Not(equal) if kind is exp.NEQ else equal
    if kind is exp.Not:
        inner = node.this
        if isinstance(inner, exp.Is) and isinstance(inner.expression, exp.Null):
            return e.IsNotNull(convert(inner.this, text))
        return e.Not(convert(inner, text))
    if kind is exp.Is and isinstance(node.expression, exp.Null):
        return e.IsNull(convert(node.this, text))
    if kind is exp.Neg:
        return e.UnaryMinus(convert(node.this, text), from_text=True)
    if kind in (exp.Grouping, exp.GroupingId):
        name = "grouping" if kind is exp.Grouping else "grouping_id"
        return e.Grouping(name, [convert(a, text) for a in node.expressions])
    if kind is exp.Subquery:
        return e.UnresolvedSubquery("scalar", node.this)
    if kind is exp.Exists:
        return e.UnresolvedSubquery("exists", node.this)
    if kind is exp.In and node.args.get("query") is not None:
        return e.UnresolvedSubquery("in", node.args["query"].this, convert(node.this, text))
    if kind is exp.In:
        return e.In(convert(node.this, text), [convert(x, text) for x in node.expressions])
    if kind is exp.Between:
        args = [convert(node.this, text), convert(node.args["low"], text),
                convert(node.args["high"], text)]
        return e.ScalarFunction("between", args)
    if kind is exp.Case:
        branches = [(convert(i.this, text), convert(i.args["true"], text))
                    for i in node.args.get("ifs", [])]
        default = node.args.get("default")
        return e.CaseWhen(branches, convert(default, text) if default is not None else None)
    if kind in (exp.Cast, exp.TryCast):
        return e.Cast(convert(node.this, text), parse_ddl(node.to.sql("spark")),
                      try_=bool(node.args.get("safe")))  # sqlglot reads Spark's CAST as
        # a TryCast too (Spark without ANSI mode); TRY_CAST is the one marked safe
    if kind is exp.Alias:
        return e.Alias(convert(node.this, text), node.alias)
    if kind in _FUNCTIONS:
        name, pretty = _FUNCTIONS[kind]
        args = [convert(a, text) for a in _function_args(node)]
        if name == "round" and len(args) == 1:
            args.append(e.Literal(0, IntegerType()))  # Spark names it round(x, 0)
        return e.ScalarFunction(name, args, pretty)
    if kind is exp.Anonymous and node.name.lower() in _SCALARS:
        return _as_written(node.name.lower(), [convert(a, text) for a in node.expressions])
    if kind is exp.RegexpLike:
        return e.ScalarFunction("rlike", [convert(node.this, text),
                                          convert(node.expression, text)], "RLIKE")
    if kind is exp.Substring:
        length = node.args.get("length")
        args = [convert(node.this, text), convert(node.args["start"], text),
                convert(length, text) if length is not None else e.Literal(MAX_INT,
                                                                          IntegerType())]
        return e.ScalarFunction("substring", args, "substring")
    if kind is exp.Trim:
        name = {"LEADING": "ltrim", "TRAILING": "rtrim"}.get(node.args.get("position"), "trim")
        chars = node.args.get("expression")
        args = [convert(node.this, text)] + ([convert(chars, text)] if chars else [])
        return e.StringTrim(name, args)
    if kind in (exp.CurrentDate, exp.CurrentTimestamp):
        name = "current_date" if kind is exp.CurrentDate else "current_timestamp"
        return e.ScalarFunction(name, [], name)
    if kind is exp.Bracket:
        return e.ExtractValue(convert(node.this, text), convert(node.expressions[0], text))
    if kind is exp.Dot:
        return e.ExtractValue(convert(node.this, text),
                              e.Literal(node.expression.name, StringType()), field=True)
    if kind is exp.Anonymous and node.name.lower() in KNOWN_FUNCTIONS:
        name = node.name.lower()
        args = [convert(a, text) for a in node.expressions]
        return e.ScalarFunction(name, args, KNOWN_FUNCTIONS[name])
    if kind is exp.Anonymous:
        from sparkbook.sql.udf import registered

        function = registered(node.name)
        if function is not None:
            return function.expression([convert(a, text) for a in node.expressions])
    if isinstance(node, exp.Func):
        name = node.name if kind is exp.Anonymous else node.sql_name()
        raise unresolved_routine(name)
    raise parse_error("PARSE_SYNTAX_ERROR", f"Syntax error at or near '{node.sql('spark')}'.",
                      text, 0, "42601")


_WINDOW_FUNCTIONS = {exp.RowNumber: "row_number", exp.Rank: "rank", exp.DenseRank: "dense_rank",
                     exp.PercentRank: "percent_rank", exp.CumeDist: "cume_dist",
                     exp.Ntile: "ntile", exp.Lag: "lag", exp.Lead: "lead"}


def _window_function(node: exp.Expression, text: str) -> e.Expression:
    name = _WINDOW_FUNCTIONS[type(node)]
    if name in ("lag", "lead"):
        offset, default = node.args.get("offset"), node.args.get("default")
        args = [convert(node.this, text),
                convert(offset, text) if offset is not None else e.Literal(1, IntegerType()),
                convert(default, text) if default is not None else e.null_literal()]
    else:
        args = [convert(node.this, text)] if node.args.get("this") is not None else []
    return w.WindowFunction(name, args)


def _window(node: exp.Window, text: str) -> e.Expression:
    """``f OVER (PARTITION BY ... ORDER BY ... ROWS|RANGE BETWEEN ...)``."""
    partition = [convert(p, text) for p in node.args.get("partition_by") or []]
    order_by = node.args.get("order")
    order = [e.SortOrder(convert(o.this, text), not o.args.get("desc"),
                         bool(o.args.get("nulls_first")))
             for o in (order_by.expressions if order_by is not None else [])]
    spec = node.args.get("spec")
    frame = w.WindowFrame(None)
    if spec is not None:
        kind = "RowFrame" if spec.args.get("kind", "").upper() == "ROWS" else "RangeFrame"
        lower = _frame_bound(spec.args.get("start"), spec.args.get("start_side"), text)
        upper = _frame_bound(spec.args.get("end") or "CURRENT ROW",
                             spec.args.get("end_side"), text)
        frame = w.WindowFrame(kind, lower, upper)
    return w.WindowExpression(convert(node.this, text),
                              w.WindowSpecDefinition(partition, order, frame))


def _frame_bound(value, side: str | None, text: str) -> e.Expression:
    if isinstance(value, str):
        if value.upper() == "CURRENT ROW":
            return w.CURRENT_ROW
        return w.UNBOUNDED_PRECEDING if (side or "").upper() == "PRECEDING" \
            else w.UNBOUNDED_FOLLOWING
    offset = convert(value, text)
    return e.UnaryMinus(offset, from_text=True) if (side or "").upper() == "PRECEDING" \
        else offset


def _aggregate(node: exp.Expression, text: str) -> AggregateFunction:
    """``sum(x)``, ``count(*)`` (Spark's ``count(1)``), ``count(DISTINCT x)``,
    ``first(x, true)`` (sqlglot wraps it in IgnoreNulls)."""
    ignore_nulls = isinstance(node, exp.IgnoreNulls)
    if ignore_nulls:
        node = node.this
    name = _AGGREGATES.get(type(node))
    if name is None:
        raise unresolved_routine(node.sql_name())
    arg = node.this
    distinct = isinstance(arg, exp.Distinct)
    if distinct:  # count(DISTINCT a, b) counts the distinct pairs
        return AggregateFunction(name, [convert(a, text) for a in arg.expressions], True,
                                 ignore_nulls)
    child = (e.Literal(1, IntegerType()) if isinstance(arg, exp.Star)
             else convert(arg, text))
    return AggregateFunction(name, [child], distinct, ignore_nulls)


def _function_args(node: exp.Expression) -> list[exp.Expression]:
    args: list[exp.Expression] = []
    for value in node.args.values():
        if isinstance(value, list):
            args.extend(value)
        elif isinstance(value, exp.Expression):
            args.append(value)
    return args


def _literal(node: exp.Literal) -> e.Literal:
    if node.is_string:
        return e.Literal(node.this, StringType())
    text = node.this
    if "e" in text.lower():
        return e.Literal(float(text), DoubleType())
    if "." in text:
        # Spark reads 1.5 as decimal(2,1): its digits and scale (a double past 38 digits).
        value = decimal.Decimal(text)
        digits = value.as_tuple()
        scale = max(0, -digits.exponent)
        precision = max(len(digits.digits), scale, 1)
        if precision > 38:
            return e.Literal(float(text), DoubleType())
        return e.Literal(value, DecimalType(precision, scale))
    value = int(text)
    if -2**31 <= value < 2**31:
        return e.Literal(value, IntegerType())
    if -2**63 <= value < 2**63:
        return e.Literal(value, LongType())
    return e.Literal(decimal.Decimal(value), DecimalType(min(len(text), 38), 0))


def unresolved_routine(name: str) -> Exception:
    from sparkbook.errors import AnalysisException

    message = (f"[UNRESOLVED_ROUTINE] Cannot resolve routine `{name.lower()}` on search path "
               f"[`system`.`builtin`, `system`.`session`, `spark_catalog`.`default`]. "
               f"SQLSTATE: 42883")
    return AnalysisException(message, "UNRESOLVED_ROUTINE", {"routineName": f"`{name}`"},
                             "42883")
