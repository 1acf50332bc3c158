"""The expression tree that DataFrame calls, ``expr()`` text and (later) SQL all build.

Names follow Catalyst's (``AttributeReference``, ``Alias``, ``Add``, ``CaseWhen``, ...).
Each node prints two ways: ``sql()``, the name Spark gives a column made of it
(``(age + 1)``), and ``explain()``, the form with expression ids the plans show
(``(age#1L + 1)``). Types are set by the analyzer (``dtype``/``nullable``); evaluation over
Arrow batches lives in ``sparkbook.sql.execution.arrow``.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import decimal
import itertools
from collections.abc import Callable, Iterator
from typing import Any

from sparkbook.sql.types import DataType, LongType, NullType, java_number_str

_ids = itertools.count()


def new_expr_id() -> int:
    return next(_ids)


class Expression:
    """A node: its children, and once analyzed its type and whether it can be null."""

    children: tuple[Expression, ...] = ()
    dtype: DataType | None = None
    nullable: bool = True

    def sql(self) -> str:
        return self.render(lambda c: c.sql())

    def explain(self) -> str:
        return self.render(lambda c: c.explain())

    def render(self, r: Callable[[Expression], str]) -> str:
        raise NotImplementedError

    def with_children(self, children: list[Expression]) -> Expression:
        """A copy with other children (and no type yet)."""
        node = copy.copy(self)
        node.children = tuple(children)
        node.dtype = None
        return node

    def transform_up(self, rule: Callable[[Expression], Expression]) -> Expression:
        node = self.with_children([c.transform_up(rule) for c in self.children]) \
            if self.children else self
        return rule(node)

    def walk(self) -> Iterator[Expression]:
        yield self
        for c in self.children:
            yield from c.walk()

    def __repr__(self) -> str:
        return self.explain()


class LeafExpression(Expression):
    def with_children(self, children: list[Expression]) -> Expression:
        return self


class UnresolvedAttribute(LeafExpression):
    """A column by name (``age``, ``p.name``), not yet found in a plan's output."""

    def __init__(self, parts: list[str]) -> None:
        self.parts = parts

    @property
    def name(self) -> str:
        return self.parts[-1]

    def render(self, r: Callable) -> str:
        return ".".join(quote_if_needed(p) for p in self.parts)

    def explain(self) -> str:
        return "'" + ".".join(self.parts)


class UnresolvedStar(LeafExpression):
    """``*`` or ``p.*``: every column of the plan (or of one alias)."""

    def __init__(self, target: list[str] | None = None) -> None:
        self.target = target

    def render(self, r: Callable) -> str:
        return ".".join(self.target + ["*"]) if self.target else "*"


class AttributeReference(LeafExpression):
    """A column of a plan's output: a name, a type and an id that tells it from others."""

    def __init__(self, name: str, dtype: DataType, nullable: bool = True,
                 expr_id: int | None = None, qualifier: tuple[str, ...] = ()) -> None:
        self.name = name
        self.dtype = dtype
        self.nullable = nullable
        self.expr_id = new_expr_id() if expr_id is None else expr_id
        self.qualifier = qualifier

    def render(self, r: Callable) -> str:
        return self.name

    def explain(self) -> str:
        return f"{self.name}#{self.expr_id}{type_suffix(self.dtype)}"

    def renamed(self, name: str) -> AttributeReference:
        return AttributeReference(name, self.dtype, self.nullable, self.expr_id, self.qualifier)

    def qualified(self, qualifier: tuple[str, ...]) -> AttributeReference:
        return AttributeReference(self.name, self.dtype, self.nullable, self.expr_id, qualifier)

    def as_nullable(self) -> AttributeReference:
        return AttributeReference(self.name, self.dtype, True, self.expr_id, self.qualifier)


def type_suffix(dt: DataType | None) -> str:
    return "L" if isinstance(dt, LongType) else ""


class Literal(LeafExpression):
    def __init__(self, value: Any, dtype: DataType) -> None:
        self.value = value
        self.dtype = dtype
        self.nullable = value is None

    def explain(self) -> str:
        return "null" if self.value is None else self.sql()  # plans print null lower-case

    def render(self, r: Callable) -> str:
        v = self.value
        if v is None:
            return "NULL"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return java_number_str(v, self.dtype)
        if isinstance(v, decimal.Decimal):
            return format(v, "f")
        return str(v)


class ScalarSubquery(LeafExpression):
    """``(SELECT max(b) FROM t)`` as a value: an analyzed plan of one column and at most one
    row. As Spark's ``ScalarSubquery``, it runs as a job of its own before the query that
    reads it (``execution.subquery``), which then reads ``value`` as a literal."""

    def __init__(self, plan, expr_id: int | None = None) -> None:
        self.plan = plan
        self.expr_id = new_expr_id() if expr_id is None else expr_id
        column = plan.output()[0]
        self.dtype, self.nullable = column.dtype, True
        self.value: Any = None

    def render(self, r: Callable) -> str:
        return "scalarsubquery()"

    def explain(self) -> str:
        if PHYSICAL_PLAN.get():
            return f"Subquery subquery#{self.expr_id}, [id=#{self.expr_id}]"
        return f"scalar-subquery#{self.expr_id} []"

    def __getstate__(self) -> dict:
        # Tasks need the value only (the plan holds RDDs and runs on the driver).
        return {k: v for k, v in self.__dict__.items() if k != "plan"}


# Whether expressions are printed in a physical plan (a scalar subquery is then Spark's
# ``Subquery subquery#N``, in a logical one ``scalar-subquery#N []``).
PHYSICAL_PLAN = contextvars.ContextVar("physical_plan", default=False)


@contextlib.contextmanager
def printing_physical_plan() -> Iterator[None]:
    token = PHYSICAL_PLAN.set(True)
    try:
        yield
    finally:
        PHYSICAL_PLAN.reset(token)


def scalar_subqueries_of(node) -> list[ScalarSubquery]:
    """The scalar subqueries in the expressions a plan node holds (not its children's)."""
    found: dict[int, ScalarSubquery] = {}

    def visit(value) -> None:
        if isinstance(value, Expression):
            for n in value.walk():
                if isinstance(n, ScalarSubquery):
                    found.setdefault(id(n), n)
        elif isinstance(value, (list, tuple)) and not isinstance(value, str):
            for v in value:
                visit(v)

    for key, value in vars(node).items():
        if key != "children":
            visit(value)
    return list(found.values())


class UnresolvedSubquery(Expression):
    """A subquery in SQL text, as parsed (``query``, sqlglot's tree): ``kind`` is
    ``scalar``, ``exists`` or ``in`` (whose one child is the value looked for).
    ``spark.sql`` makes it a ``ScalarSubquery`` or a semi / anti join."""

    def __init__(self, kind: str, query, value: Expression | None = None) -> None:
        self.kind, self.query = kind, query
        self.children = (value,) if value is not None else ()

    def render(self, r: Callable) -> str:
        inner = self.query.sql("spark")
        if self.kind == "in":
            return f"({r(self.children[0])} IN ({inner}))"
        return f"exists({inner})" if self.kind == "exists" else f"({inner})"


class Alias(Expression):
    """``expr AS name``: names a projected expression (and gives it an id)."""

    def __init__(self, child: Expression, name: str, expr_id: int | None = None) -> None:
        self.children = (child,)
        self.name = name
        self.expr_id = new_expr_id() if expr_id is None else expr_id

    @property
    def child(self) -> Expression:
        return self.children[0]

    def render(self, r: Callable) -> str:
        return self.name

    def explain(self) -> str:
        return f"{self.child.explain()} AS {self.name}#{self.expr_id}{type_suffix(self.dtype)}"

    def to_attribute(self) -> AttributeReference:
        return AttributeReference(self.name, self.dtype, self.nullable, self.expr_id)


class MultiAlias(Expression):
    """``posexplode(arr).alias("p", "v")``: names for each column a generator gives."""

    def __init__(self, child: Expression, names: list[str]) -> None:
        self.children = (child,)
        self.names = names

    @property
    def child(self) -> Expression:
        return self.children[0]

    def render(self, r: Callable) -> str:
        return f"{r(self.child)} AS ({', '.join(self.names)})"


class BinaryOperator(Expression):
    symbol = "?"

    def __init__(self, left: Expression, right: Expression) -> None:
        self.children = (left, right)

    @property
    def left(self) -> Expression:
        return self.children[0]

    @property
    def right(self) -> Expression:
        return self.children[1]

    def render(self, r: Callable) -> str:
        return f"({r(self.left)} {self.symbol} {r(self.right)})"


class BinaryArithmetic(BinaryOperator):
    """``a + b``, ``a - b``, ``a * b``, ``a / b``, ``a % b``, ``a div b``: Catalyst's Add,
    Subtract, Multiply, Divide, Remainder and IntegralDivide, one class told apart by its
    symbol."""

    # The try_ function Spark's error message points to when the operator fails.
    TRY_NAMES = {"+": "try_add", "-": "try_subtract", "*": "try_multiply", "/": "try_divide",
                 "%": "try_mod", "div": "try_divide"}

    def __init__(self, symbol: str, left: Expression, right: Expression) -> None:
        super().__init__(left, right)
        self.symbol = symbol

    @property
    def try_name(self) -> str:
        return self.TRY_NAMES[self.symbol]


class BinaryComparison(BinaryOperator):
    """``=``, ``<=>`` (null-safe equality), ``<``, ``<=``, ``>``, ``>=``: Catalyst's EqualTo,
    EqualNullSafe, LessThan, ... told apart by their symbol."""

    def __init__(self, symbol: str, left: Expression, right: Expression) -> None:
        super().__init__(left, right)
        self.symbol = symbol


class And(BinaryOperator):
    symbol = "AND"


class Or(BinaryOperator):
    symbol = "OR"


class UnaryExpression(Expression):
    def __init__(self, child: Expression) -> None:
        self.children = (child,)

    @property
    def child(self) -> Expression:
        return self.children[0]


class Not(UnaryExpression):
    def render(self, r: Callable) -> str:
        return f"(NOT {r(self.child)})"

    def explain(self) -> str:
        return f"NOT {self.child.explain()}"


class UnaryMinus(UnaryExpression):
    """``-x``: named ``negative(x)`` from a Column, ``(- x)`` from expression text."""

    def __init__(self, child: Expression, from_text: bool = False) -> None:
        super().__init__(child)
        self.from_text = from_text

    def render(self, r: Callable) -> str:
        return f"(- {r(self.child)})" if self.from_text else f"negative({r(self.child)})"

    def explain(self) -> str:
        return f"-{self.child.explain()}"


class IsNull(UnaryExpression):
    function = "isnull"  # how plans print it

    def render(self, r: Callable) -> str:
        return f"({r(self.child)} IS {'NOT ' if isinstance(self, IsNotNull) else ''}NULL)"

    def explain(self) -> str:
        return f"{self.function}({self.child.explain()})"


class IsNotNull(IsNull):
    function = "isnotnull"


class In(Expression):
    def __init__(self, value: Expression, items: list[Expression]) -> None:
        self.children = (value, *items)

    def render(self, r: Callable) -> str:
        items = ", ".join(r(c) for c in self.children[1:])
        return f"({r(self.children[0])} IN ({items}))"


class Like(BinaryOperator):
    def render(self, r: Callable) -> str:
        return f"{r(self.left)} LIKE {r(self.right)}"


class CaseWhen(Expression):
    """``CASE WHEN c1 THEN v1 ... [ELSE e] END``: children are c1, v1, c2, v2, ..., [e]."""

    def __init__(self, branches: list[tuple[Expression, Expression]],
                 else_value: Expression | None = None) -> None:
        flat = [e for pair in branches for e in pair]
        self.children = tuple(flat + ([else_value] if else_value is not None else []))
        self.has_else = else_value is not None

    @property
    def branches(self) -> list[tuple[Expression, Expression]]:
        n = len(self.children) - (1 if self.has_else else 0)
        return [(self.children[i], self.children[i + 1]) for i in range(0, n, 2)]

    @property
    def else_value(self) -> Expression | None:
        return self.children[-1] if self.has_else else None

    def render(self, r: Callable) -> str:
        text = "CASE" + "".join(f" WHEN {r(c)} THEN {r(v)}" for c, v in self.branches)
        if self.has_else:
            text += f" ELSE {r(self.else_value)}"
        return text + " END"


class Cast(UnaryExpression):
    """``CAST(x AS t)``, ANSI: a value that does not convert fails the query; as
    ``TRY_CAST`` (``try_``) it is NULL instead."""

    def __init__(self, child: Expression, to: DataType, implicit: bool = False,
                 try_: bool = False) -> None:
        super().__init__(child)
        self.to = to
        self.implicit = implicit  # inserted by type coercion, not asked for
        self.try_ = try_

    def render(self, r: Callable) -> str:
        name = "TRY_CAST" if self.try_ else "CAST"
        return f"{name}({r(self.child)} AS {self.to.simpleString().upper()})"

    def explain(self) -> str:
        name = "try_cast" if self.try_ else "cast"
        return f"{name}({self.child.explain()} as {self.to.simpleString()})"


class ScalarFunction(Expression):
    """A named function of its arguments (``upper``, ``round``, ``coalesce``, ...): what it
    computes is looked up by ``name`` in the analyzer (its type) and the executor (its
    kernel), so one class serves every simple function."""

    def __init__(self, name: str, args: list[Expression], pretty: str | None = None) -> None:
        self.name = name
        self.children = tuple(args)
        self.pretty = pretty or name  # how Spark prints it: SQRT, upper, ...

    def render(self, r: Callable) -> str:
        return f"{self.pretty}({', '.join(r(c) for c in self.children)})"


class ExtractValue(ScalarFunction):
    """``arr[0]``, ``m['k']``, ``s.f`` (``getItem``, ``getField``, ``col("s.f")``): which
    one is the child's type's to say. ``field`` says it was asked for as a struct field;
    ``from_name`` that it came from a dotted column name, which names the column by its
    last part."""

    def __init__(self, child: Expression, key: Expression, field: bool = False,
                 from_name: bool = False) -> None:
        super().__init__("extractvalue", [child, key])
        self.field, self.from_name = field, from_name

    @property
    def is_struct_field(self) -> bool:
        from sparkbook.sql.types import StructType

        return self.field or isinstance(self.children[0].dtype, StructType)

    def render(self, r: Callable) -> str:
        child, key = self.children
        if self.is_struct_field and isinstance(key, Literal):
            return f"{r(child)}.{key.value}"
        return f"{r(child)}[{r(key)}]"


class StringTrim(ScalarFunction):
    """``trim``, ``ltrim``, ``rtrim``: of spaces (``trim(t)``), or of the characters of a
    second argument, printed as Spark prints it (``TRIM(BOTH x FROM t)``)."""

    SIDES = {"trim": "BOTH", "ltrim": "LEADING", "rtrim": "TRAILING"}

    def render(self, r: Callable) -> str:
        if len(self.children) == 1:
            return super().render(r)
        source, characters = self.children
        return f"TRIM({self.SIDES[self.name]} {r(characters)} FROM {r(source)})"


class Generator(ScalarFunction):
    """``explode``, ``explode_outer``, ``posexplode``, ``posexplode_outer``: a function
    giving rows, not a value; in a select it becomes a ``Generate`` node below it."""

    @property
    def outer(self) -> bool:
        return self.name.endswith("_outer")

    @property
    def with_position(self) -> bool:
        return self.name.startswith("pos")


class Grouping(ScalarFunction):
    """``grouping(k)`` (1 where the row aggregates over all values of key ``k``) and
    ``grouping_id(k...)`` (those bits of every key, the first key highest): what the
    analyzer reads from ``spark_grouping_id`` under ``GROUPING SETS``/``ROLLUP``/``CUBE``."""


class PythonUDF(ScalarFunction):
    """A Python function called on each row's arguments, batch by batch on the executors,
    returning ``return_type`` (``functions.udf``)."""

    def __init__(self, name: str, func: Callable, return_type: DataType,
                 args: list[Expression]) -> None:
        super().__init__(name, args)
        self.func, self.return_type = func, return_type


class SortOrder(UnaryExpression):
    def __init__(self, child: Expression, ascending: bool = True,
                 nulls_first: bool | None = None) -> None:
        super().__init__(child)
        self.ascending = ascending
        self.nulls_first = ascending if nulls_first is None else nulls_first

    def render(self, r: Callable) -> str:
        direction = "ASC" if self.ascending else "DESC"
        nulls = "FIRST" if self.nulls_first else "LAST"
        return f"{r(self.child)} {direction} NULLS {nulls}"


def quote_if_needed(part: str) -> str:
    return part if part.replace("_", "a").isalnum() else "`" + part.replace("`", "``") + "`"


def output_name(e: Expression) -> str:
    """The name Spark gives a projected expression: an alias's or attribute's own name, a
    cast column keeps its column's name, anything else its SQL text."""
    if isinstance(e, (Alias, AttributeReference, UnresolvedAttribute)):
        return e.name
    if isinstance(e, ExtractValue) and e.from_name:
        return str(e.children[1].value)
    if isinstance(e, Cast) and isinstance(e.child, (AttributeReference, UnresolvedAttribute)):
        return e.child.name
    return e.sql()


def null_literal() -> Literal:
    return Literal(None, NullType())
