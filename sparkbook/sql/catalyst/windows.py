"""Window expressions, in Catalyst's names: ``WindowExpression`` (a function ``OVER`` a
``WindowSpecDefinition``: partition keys, order, and a frame), the frame
(``specifiedwindowframe(RowFrame, -1, 1)``, or ``unspecifiedframe$()`` until the analyzer
gives it Spark's default), and the window functions that are not aggregates
(``row_number``, ``rank``, ``lag``, ...). Aggregates (``sum`` ...) over a window are the
ordinary ``AggregateFunction``."""

from __future__ import annotations

from collections.abc import Callable

from sparkbook.errors import AnalysisException
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst import logical as lp
from sparkbook.sql.catalyst.aggregates import AggregateFunction
from sparkbook.sql.types import DataType, DoubleType, IntegerType, NumericType


class SpecialFrameBoundary(e.LeafExpression):
    """``UNBOUNDED PRECEDING``, ``CURRENT ROW`` or ``UNBOUNDED FOLLOWING``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind  # "unboundedpreceding", "currentrow", "unboundedfollowing"

    def render(self, r: Callable) -> str:
        return {"unboundedpreceding": "UNBOUNDED PRECEDING", "currentrow": "CURRENT ROW",
                "unboundedfollowing": "UNBOUNDED FOLLOWING"}[self.kind]

    def explain(self) -> str:
        return f"{self.kind}$()"


UNBOUNDED_PRECEDING = SpecialFrameBoundary("unboundedpreceding")
CURRENT_ROW = SpecialFrameBoundary("currentrow")
UNBOUNDED_FOLLOWING = SpecialFrameBoundary("unboundedfollowing")


def boundary_value(b: e.Expression) -> int | float | None:
    """A boundary as an offset from the current row (None: unbounded)."""
    if isinstance(b, SpecialFrameBoundary):
        return 0 if b.kind == "currentrow" else None
    if isinstance(b, e.UnaryMinus):
        return -boundary_value(b.child)
    if isinstance(b, (e.Cast, _ImplicitBoundary)):
        return boundary_value(b.child)
    return b.value


def _boundary_sql(b: e.Expression) -> str:
    if isinstance(b, SpecialFrameBoundary):
        return b.sql()
    if isinstance(b, e.UnaryMinus):
        return f"{b.child.sql()} PRECEDING"
    return f"{b.sql()} FOLLOWING"


class WindowFrame(e.Expression):
    """``ROWS|RANGE BETWEEN lower AND upper``; ``kind`` None is Spark's unspecified frame."""

    def __init__(self, kind: str | None, lower: e.Expression | None = None,
                 upper: e.Expression | None = None) -> None:
        self.kind = kind  # "RowFrame", "RangeFrame" or None
        self.children = () if kind is None else (lower, upper)

    @property
    def lower(self) -> e.Expression:
        return self.children[0]

    @property
    def upper(self) -> e.Expression:
        return self.children[1]

    def render(self, r: Callable) -> str:
        if self.kind is None:
            return ""
        rows = "ROWS" if self.kind == "RowFrame" else "RANGE"
        return f"{rows} BETWEEN {_boundary_sql(self.lower)} AND {_boundary_sql(self.upper)}"

    def explain(self) -> str:
        if self.kind is None:
            return "unspecifiedframe$()"
        return f"specifiedwindowframe({self.kind}, {self.lower.explain()}, " \
               f"{self.upper.explain()})"

    def same(self, other: WindowFrame) -> bool:
        return self.kind == other.kind and self.explain() == other.explain()


ROWS_TO_CURRENT = WindowFrame("RowFrame", UNBOUNDED_PRECEDING, CURRENT_ROW)
RANGE_TO_CURRENT = WindowFrame("RangeFrame", UNBOUNDED_PRECEDING, CURRENT_ROW)
WHOLE_PARTITION = WindowFrame("RowFrame", UNBOUNDED_PRECEDING, UNBOUNDED_FOLLOWING)


class WindowSpecDefinition(e.Expression):
    """``(PARTITION BY ... ORDER BY ... frame)``: children are the partition keys, the sort
    orders, then the frame."""

    def __init__(self, partition: list[e.Expression], order: list[e.Expression],
                 frame: WindowFrame) -> None:
        self.children = (*partition, *order, frame)
        self.num_partition = len(partition)

    @property
    def partition(self) -> list[e.Expression]:
        return list(self.children[:self.num_partition])

    @property
    def order(self) -> list[e.SortOrder]:
        return list(self.children[self.num_partition:-1])

    @property
    def frame(self) -> WindowFrame:
        return self.children[-1]

    def render(self, r: Callable) -> str:
        parts = []
        if self.partition:
            parts.append("PARTITION BY " + ", ".join(r(p) for p in self.partition))
        if self.order:
            parts.append("ORDER BY " + ", ".join(r(o) for o in self.order))
        if self.frame.kind is not None:
            parts.append(r(self.frame))
        return "(" + " ".join(parts) + ")"

    def explain(self) -> str:
        shown = [c.explain() for c in self.children]
        return f"windowspecdefinition({', '.join(shown)})"

    def key(self) -> str:
        """Partition keys and order: the expressions of one spec run in one ``Window``."""
        return "|".join(c.explain() for c in self.children[:-1])


class WindowExpression(e.Expression):
    """``function OVER (spec)``."""

    def __init__(self, function: e.Expression, spec: WindowSpecDefinition) -> None:
        self.children = (function, spec)

    @property
    def function(self) -> e.Expression:
        return self.children[0]

    @property
    def spec(self) -> WindowSpecDefinition:
        return self.children[1]

    def render(self, r: Callable) -> str:
        return f"{r(self.function)} OVER {r(self.spec)}"

    def explain(self) -> str:
        f = self.function
        shown = f.explain()
        if isinstance(f, AggregateFunction) and f.name in ("first", "last"):
            shown = f"{shown[:-1]}, {str(f.ignore_nulls).lower()})"  # Spark shows ignoreNulls
        return f"{shown} {self.spec.explain()}"


# name -> (how Spark prints it in a column name, result type); lag/lead take the input's.
_RANKING: dict[str, tuple[str, DataType]] = {
    "row_number": ("row_number", IntegerType()), "rank": ("RANK", IntegerType()),
    "dense_rank": ("DENSE_RANK", IntegerType()), "percent_rank": ("PERCENT_RANK", DoubleType()),
    "cume_dist": ("cume_dist", DoubleType()), "ntile": ("ntile", IntegerType())}


class WindowFunction(e.Expression):
    """A function only a window computes: the ranking ones (``row_number``, ``rank``,
    ``dense_rank``, ``percent_rank``, ``cume_dist``, ``ntile(n)``) and the offset ones
    (``lag``/``lead(input, offset, default)``)."""

    def __init__(self, name: str, args: list[e.Expression], by_order: bool = False) -> None:
        self.name = name
        self.children = tuple(args)
        # rank, dense_rank, percent_rank: their arguments are the window's order keys,
        # shown in plans (rank(t#1)), not in names (RANK()).
        self.by_order = by_order

    @property
    def offset(self) -> int:
        """lag/lead: rows after the current one (negative for lag)."""
        n = self.children[1].value
        return -n if self.name == "lag" else n

    def render(self, r: Callable) -> str:
        pretty = _RANKING[self.name][0] if self.name in _RANKING else self.name
        args = () if self.by_order else self.children
        return f"{pretty}({', '.join(r(c) for c in args)})"

    def explain(self) -> str:
        if self.by_order:
            return f"{self.name}({', '.join(c.explain() for c in self.children)})"
        if self.name in ("lag", "lead"):
            value, _, default = self.children
            shown = "null" if isinstance(default, e.Literal) and default.value is None \
                else default.explain()
            return f"{self.name}({value.explain()}, {self.offset}, {shown})"
        return super().explain()

    def required_frame(self) -> WindowFrame:
        """The frame Spark fixes for the function (a lag's is its one row)."""
        if self.name in ("lag", "lead"):
            offset = e.Literal(self.offset, IntegerType())
            return WindowFrame("RowFrame", offset, offset)
        return RANGE_TO_CURRENT if self.name == "cume_dist" else ROWS_TO_CURRENT


_RANKED_BY_ORDER = ("rank", "dense_rank", "percent_rank")


def type_window(x: e.Expression, kids: list[e.Expression]) -> e.Expression:
    """The type of a window node (typecoercion's ``type_expression`` asks here): a lag's
    default is cast to its input's type."""
    from sparkbook.sql.catalyst.typecoercion import cast_to, mismatch

    dt, nullable = None, True
    if isinstance(x, WindowFunction) and x.name in ("lag", "lead"):
        value, offset, default = kids
        default = e.Literal(None, value.dtype) if isinstance(default, e.Literal) and \
            default.value is None else cast_to(default, value.dtype)
        kids = [value, offset, default]
        dt, nullable = value.dtype, value.nullable or default.nullable
    elif isinstance(x, WindowFunction):
        if x.name == "ntile":
            n = kids[0]
            if not isinstance(n, e.Literal) or not isinstance(n.value, int) or n.value <= 0:
                raise mismatch(x, "VALUE_OUT_OF_RANGE", "The buckets must be between "
                               f"(0, 2147483647] (current value = {n.sql()}).")
        dt, nullable = _RANKING[x.name][1], False
    elif isinstance(x, WindowExpression):
        dt, nullable = kids[0].dtype, kids[0].nullable
    out = x.with_children(kids)
    out.dtype, out.nullable = dt, nullable
    return out


def _not_ordered(name: str, sql: str) -> AnalysisException:
    cls = "WINDOW_FUNCTION_FRAME_NOT_ORDERED"
    return AnalysisException(
        f"[{cls}] Window function {name} requires the window to be ordered. You need to add "
        f"an ORDER BY clause. For example: SELECT {sql} OVER (PARTITION BY window_partition "
        f"ORDER BY window_ordering) FROM table. SQLSTATE: 42601", cls,
        {"windowFunction": name}, "42601")


def resolve_frame(w: WindowExpression) -> WindowExpression:
    """The window with Spark's frame filled in and checked: a window function's own frame,
    an aggregate's ``RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`` when ordered, else
    the whole partition."""
    from sparkbook.sql.catalyst.typecoercion import mismatch

    f, spec = w.function, w.spec
    frame = spec.frame
    if isinstance(f, WindowFunction):
        if not spec.order:
            raise _not_ordered(f.name, f.sql())
        required = f.required_frame()
        if frame.kind is not None and not frame.same(required):
            raise AnalysisException(
                f"Window Frame {frame.explain()} must match the required frame "
                f"{required.explain()}.", "_LEGACY_ERROR_TEMP_1036")
        frame = required
    elif not isinstance(f, AggregateFunction):
        cls = "UNSUPPORTED_EXPR_FOR_WINDOW"
        raise AnalysisException(
            f'[{cls}] Expression "{f.sql()}" not supported within a window function. '
            f"SQLSTATE: 42P20", cls, {"sqlExpr": f'"{f.sql()}"'}, "42P20")
    elif frame.kind is None:
        frame = RANGE_TO_CURRENT if spec.order else WHOLE_PARTITION
    if frame.kind == "RangeFrame":
        if not spec.order and not (frame.lower is UNBOUNDED_PRECEDING
                                   and frame.upper is UNBOUNDED_FOLLOWING):
            raise mismatch(WindowSpecDefinition(spec.partition, [], frame),
                           "RANGE_FRAME_WITHOUT_ORDER", "A range window frame cannot be used "
                           "in an unordered window specification.")
        valued = [b for b in (frame.lower, frame.upper)
                  if not isinstance(b, SpecialFrameBoundary)]
        if valued and len(spec.order) > 1:
            order = ",".join(o.explain() for o in spec.order)
            raise mismatch(spec, "RANGE_FRAME_MULTI_ORDER",
                           "A range window frame with value boundaries cannot be used in a "
                           f"window specification with multiple order by expressions: {order}.")
        if valued and spec.order and not isinstance(spec.order[0].dtype, NumericType):
            key_type = spec.order[0].dtype.simpleString().upper()
            raise mismatch(frame, "SPECIFIED_WINDOW_FRAME_UNACCEPTED_TYPE",
                           f'The data type of the lower bound "{key_type}" does not match the '
                           'expected data type ("NUMERIC" or "INTERVAL DAY TO SECOND" or '
                           '"INTERVAL YEAR TO MONTH" or "INTERVAL").')
        if valued and spec.order:
            frame = _range_bounds_typed(frame, spec.order[0].dtype)
    lo, hi = boundary_value(frame.lower), boundary_value(frame.upper)
    if (frame.lower is UNBOUNDED_FOLLOWING or frame.upper is UNBOUNDED_PRECEDING
            or (lo is not None and hi is not None and lo > hi)):
        raise mismatch(frame, "SPECIFIED_WINDOW_FRAME_WRONG_COMPARISON",
                       "The lower bound of a window frame must be less than or equal to the "
                       "upper bound.")
    if isinstance(f, WindowFunction) and f.name in _RANKED_BY_ORDER:
        f = _typed(WindowFunction(f.name, [o.child for o in spec.order], by_order=True))
    out = _typed(WindowExpression(f, WindowSpecDefinition(spec.partition, spec.order, frame)))
    if isinstance(f, AggregateFunction) and f.distinct:
        cls = "DISTINCT_WINDOW_FUNCTION_UNSUPPORTED"
        raise AnalysisException(f'[{cls}] Distinct window functions are not supported: '
                                f'"{out.sql()}". SQLSTATE: 0A000', cls,
                                {"windowExpr": f'"{out.sql()}"'}, "0A000")
    return out


def _typed(x: e.Expression) -> e.Expression:
    from sparkbook.sql.catalyst.typecoercion import type_expression

    return type_expression(x)


def _range_bounds_typed(frame: WindowFrame, key_type: DataType) -> WindowFrame:
    """A value boundary of another type than the order key is cast to it (its name then
    shows it as ``(- 2) FOLLOWING``, as Spark's implicit cast does)."""
    def typed(b: e.Expression) -> e.Expression:
        if isinstance(b, SpecialFrameBoundary) or b.dtype == key_type:
            return b
        if isinstance(b, e.UnaryMinus):
            return _ImplicitBoundary(b)
        return b
    return WindowFrame(frame.kind, typed(frame.lower), typed(frame.upper))


class _ImplicitBoundary(e.UnaryExpression):
    """A boundary cast to the order key's type: printed as its child, read as its value."""

    def render(self, r: Callable) -> str:
        return r(self.child)

    def explain(self) -> str:
        return self.child.explain()


WINDOW_NODES = (SpecialFrameBoundary, WindowFrame, WindowSpecDefinition, WindowExpression,
                WindowFunction, _ImplicitBoundary)


def contains_window(x: e.Expression) -> bool:
    return any(isinstance(n, WindowExpression) for n in x.walk())


def uses_window(x: e.Expression) -> bool:
    """A window expression, or a window function (which is an error without OVER)."""
    return any(isinstance(n, (WindowExpression, WindowFunction)) for n in x.walk())


def map_windows(x: e.Expression, f: Callable[[WindowExpression], e.Expression]
                ) -> e.Expression:
    """``x`` with each window expression replaced by ``f`` of it (the rest untouched)."""
    if isinstance(x, WindowExpression):
        return f(x)
    if not contains_window(x):
        return x
    return x.with_children([map_windows(c, f) for c in x.children])


def _bare_function(x: e.Expression) -> WindowFunction | None:
    """A window function used without OVER."""
    if isinstance(x, WindowFunction):
        return x
    if isinstance(x, WindowExpression):
        return None
    return next((f for f in map(_bare_function, x.children) if f is not None), None)


def extract_windows(items: list[e.Expression], child: lp.LogicalPlan) -> lp.LogicalPlan:
    """Spark's ExtractWindowExpressions: a projection with window expressions becomes a
    ``Project`` of what they need, one ``Window`` per partitioning and order (stacked in
    the order they first appear), and a ``Project`` of the columns asked for on top.
    ``items`` are named, typed and their frames resolved."""
    from sparkbook.sql.catalyst.typecoercion import type_tree

    windows: list[e.Alias] = []

    def pull(w: WindowExpression) -> e.Expression:
        alias = type_tree(e.Alias(w, f"_we{len(windows)}"))
        windows.append(alias)
        return alias.to_attribute()

    top: list[e.Expression] = []
    regular: list[e.Expression] = []
    for item in items:
        if isinstance(item, e.Alias) and isinstance(item.child, WindowExpression):
            windows.append(item)
            top.append(item.to_attribute())
        elif contains_window(item):
            top.append(type_tree(map_windows(item, pull)))
        else:
            regular.append(item)
            top.append(item.to_attribute() if isinstance(item, e.Alias) else item)
    bare = next((f for f in map(_bare_function, items) if f is not None), None)
    if bare is not None:
        cls = "WINDOW_FUNCTION_WITHOUT_OVER_CLAUSE"
        raise AnalysisException(
            f'[{cls}] Window function "{bare.sql()}" requires an OVER clause. SQLSTATE: 42601',
            cls, {"funcName": f'"{bare.sql()}"'}, "42601")
    windows, needed = _extract_inputs(windows)
    # What the windows and the top projection read, from the child, beside the rest.
    have = {x.expr_id for x in regular if isinstance(x, (e.AttributeReference, e.Alias))}
    missing = [x for x in needed if x.expr_id not in have]
    have |= {x.expr_id for x in missing}
    available = {a.expr_id: a for a in child.output()}
    for x in windows + top:
        for n in x.walk():
            if isinstance(n, e.AttributeReference) and n.expr_id in available \
                    and n.expr_id not in have:
                have.add(n.expr_id)
                missing.append(available[n.expr_id])
    plan: lp.LogicalPlan = lp.Project(regular + missing, child, resolved=True)
    groups: dict[str, list[e.Alias]] = {}
    for w in windows:
        groups.setdefault(w.child.spec.key(), []).append(w)
    for group in groups.values():
        spec = group[0].child.spec
        plan = lp.Window(group, spec.partition, spec.order, plan)
    return lp.Project(top, plan, resolved=True)


def _extract_inputs(windows: list[e.Alias]) -> tuple[list[e.Alias], list[e.Alias]]:
    """The windows with their arguments, partition keys and order keys that are not columns
    computed below them as ``_w0``, ``_w1``, ... (as Spark does), so that the exchange and
    the sort work on columns; and what the projection below must hold for them, in the
    order Spark meets it."""
    from sparkbook.sql.catalyst.typecoercion import type_tree

    extracted: dict[str, e.Alias] = {}
    needed: dict[int, e.Expression] = {}  # by expression id, in the order they are met

    def column(x: e.Expression) -> e.Expression:
        if isinstance(x, e.Literal):
            return x
        if isinstance(x, e.AttributeReference):
            needed.setdefault(x.expr_id, x)
            return x
        if x.explain() not in extracted:
            extracted[x.explain()] = type_tree(e.Alias(x, f"_w{len(extracted)}"))
            needed[extracted[x.explain()].expr_id] = extracted[x.explain()]
        return extracted[x.explain()].to_attribute()

    out = []
    for w in windows:
        f, spec = w.child.function, w.child.spec
        if isinstance(f, AggregateFunction):  # Spark's order: arguments, keys, order
            f = f.with_children([column(c) for c in f.children])
        elif f.name in ("lag", "lead"):
            f = f.with_children([column(f.children[0]), *f.children[1:]])
        partition = [column(p) for p in spec.partition]
        order = [o.with_children([column(o.child)]) for o in spec.order]
        if isinstance(f, WindowFunction) and f.by_order:
            f = f.with_children([o.child for o in order])
        spec = WindowSpecDefinition(partition, order, spec.frame)
        out.append(type_tree(e.Alias(WindowExpression(f, spec), w.name, w.expr_id)))
    return out, list(needed.values())


def resolve_frames(x: e.Expression) -> e.Expression:
    """``x`` (typed) with every window's frame resolved, typed again."""
    from sparkbook.sql.catalyst.typecoercion import type_tree

    return type_tree(map_windows(x, resolve_frame)) if contains_window(x) else x


def without_implicit_casts(x: e.Expression) -> e.Expression:
    """``x`` as Spark prints it in a name: the casts type coercion added left out."""
    return x.transform_up(lambda n: n.child if isinstance(n, e.Cast) and n.implicit else n)


def not_allowed(clause: str) -> AnalysisException:
    cls = "WINDOW_FUNCTION_NOT_ALLOWED_IN_CLAUSE"
    return AnalysisException(f"[{cls}] It is not allowed to use window functions inside "
                             f"{clause} clause. SQLSTATE: 42601", cls, {"clauseName": clause},
                             "42601")
