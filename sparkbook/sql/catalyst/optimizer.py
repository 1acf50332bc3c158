"""The optimizer: rules that rewrite an analyzed logical plan into one that computes the same
rows with less work, named as Catalyst names them, run in a loop until the plan stops
changing (Spark's fixed-point batches, roughly):

- ``EliminateSubqueryAliases``: aliases only matter to the analyzer.
- ``ConstantFolding``: a subtree of literals is computed once, on the driver (``1 + 2`` is
  ``3``); one that fails (``1 / 0``) is left to fail in the tasks, as Spark leaves it.
- ``BooleanSimplification`` (``true AND x`` is ``x``), ``PruneFilters`` (``WHERE true``
  goes, ``WHERE false`` leaves an empty relation) and ``PropagateEmptyRelation``.
- ``CombineFilters`` and ``PushDownPredicates``: filters move below projections (the
  aliases substituted), sorts, repartitions, grouping keys, into each child of a union,
  and into join sides (the conjuncts
  that name one side only; an inner join takes the rest into its condition), so that they
  end next to the scan, which pushes them into the files (``execution/files.py``).
- ``InferFiltersFromConstraints``: a comparison is never true of NULL, so ``x > 1`` lets
  the filter also say ``isnotnull(x)`` (which a scan can push down), and a join's keys
  are not NULL on a side whose unmatched rows the join drops.
- ``ColumnPruning`` and ``CollapseProject``: only the columns used above flow up; a
  projection is inserted above a child with columns nobody reads.
"""

from __future__ import annotations

from collections.abc import Callable

from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst import logical as lp
from sparkbook.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    MapType,
    StructType,
)

MAX_ITERATIONS = 20  # spark.sql.optimizer.maxIterations is 100; these plans settle sooner

# The expressions whose value depends on their children only: what may be folded, and
# substituted or moved by the rules. Anything else (aggregates, window functions, UDFs,
# rand) stays where the analyzer put it.
DETERMINISTIC = (e.Literal, e.AttributeReference, e.Alias, e.BinaryArithmetic,
                 e.BinaryComparison, e.And, e.Or, e.Not, e.UnaryMinus, e.IsNull, e.In,
                 e.Like, e.CaseWhen, e.Cast, e.ScalarFunction)
NONDETERMINISTIC_FUNCTIONS = {"rand", "randn", "uuid", "current_date", "current_timestamp",
                              "now", "monotonically_increasing_id", "spark_partition_id",
                              "input_file_name"}


def optimize(plan: lp.LogicalPlan) -> lp.LogicalPlan:
    """The optimized plan of an analyzed one: the same output, computed with less work."""
    plan = transform_plan(plan, lambda node: map_expressions(node, _optimize_subqueries))
    plan = _to_fixed_point(eliminate_subquery_aliases(plan))
    plan = _to_fixed_point(transform_plan(plan, infer_filters))
    return collapse_projects(prune_columns(plan, {a.expr_id for a in plan.output()}, False))


def _optimize_subqueries(x: e.Expression) -> e.Expression:
    """Each scalar subquery's plan optimized too (as Spark's OptimizeSubqueries)."""
    return transform_up(x, lambda n: e.ScalarSubquery(optimize(n.plan), n.expr_id)
                        if isinstance(n, e.ScalarSubquery) else n)


def _to_fixed_point(plan: lp.LogicalPlan) -> lp.LogicalPlan:
    text = None  # the plan's tree string, once known
    for _ in range(MAX_ITERATIONS):
        rewritten = transform_plan(plan, _operator_rules)
        if rewritten is plan:  # no rule changed a node: nothing to print and compare
            break
        before = plan.tree_string() if text is None else text
        plan, text = rewritten, rewritten.tree_string()
        if text == before:  # rebuilt, but the same plan
            break
    return plan


# --- expressions --------------------------------------------------------------------


def references(x: e.Expression) -> set[int]:
    return {n.expr_id for n in x.walk() if isinstance(n, e.AttributeReference)}


def is_deterministic(x: e.Expression) -> bool:
    return all(isinstance(n, DETERMINISTIC) and not (
        isinstance(n, e.ScalarFunction) and n.name in NONDETERMINISTIC_FUNCTIONS)
        for n in x.walk())


def conjuncts(x: e.Expression) -> list[e.Expression]:
    """``a AND b AND c`` as ``[a, b, c]``."""
    if isinstance(x, e.And):
        return conjuncts(x.left) + conjuncts(x.right)
    return [x]


def and_all(parts: list[e.Expression]) -> e.Expression | None:
    """The conjuncts joined left-deep, as Spark's ``reduceLeft(And)``."""
    out: e.Expression | None = None
    for part in parts:
        if out is None:
            out = part
        else:
            nullable = out.nullable or part.nullable
            out = e.And(out, part)
            out.dtype, out.nullable = BooleanType(), nullable
    return out


def transform_up(x: e.Expression, rule: Callable[[e.Expression], e.Expression]
                 ) -> e.Expression:
    """``rule`` applied bottom up; a rebuilt node keeps its type (the rules keep types)."""
    node = x
    if x.children:
        kids = [transform_up(c, rule) for c in x.children]
        if any(k is not c for k, c in zip(kids, x.children)):
            node = x.with_children(kids)
            node.dtype, node.nullable = x.dtype, x.nullable
    return rule(node)


def substitute(x: e.Expression, by_id: dict[int, e.Expression]) -> e.Expression:
    """``x`` with the attributes of ``by_id`` replaced by their expressions."""
    return transform_up(x, lambda n: by_id.get(n.expr_id, n)
                        if isinstance(n, e.AttributeReference) else n)


def _foldable(x: e.Expression) -> bool:
    return (x.children and isinstance(x, DETERMINISTIC) and not isinstance(x, e.Alias)
            and is_deterministic(x) and all(isinstance(c, e.Literal) for c in x.children)
            and x.dtype is not None
            and not isinstance(x.dtype, (ArrayType, MapType, StructType, BinaryType)))


def _fold(x: e.Expression) -> e.Expression:
    """ConstantFolding of one node whose children are literals."""
    if not _foldable(x):
        return x
    from sparkbook.sql.execution.evaluate import BatchEvaluator
    from sparkbook.sql.execution.physical import empty_columns

    try:
        value = BatchEvaluator([]).column(x, empty_columns(1))[0].as_py()
    except Exception:  # noqa: BLE001 - it fails in the tasks instead, with Spark's error
        return x
    return e.Literal(value, x.dtype)


def _is(x: e.Expression, value: bool) -> bool:
    return isinstance(x, e.Literal) and x.value is value


def _simplify(x: e.Expression) -> e.Expression:
    """BooleanSimplification of AND and OR with a true or false side."""
    if isinstance(x, (e.And, e.Or)):
        unit = isinstance(x, e.And)  # true AND y is y, false OR y is y
        for a, b in ((x.left, x.right), (x.right, x.left)):
            if _is(a, unit):
                return b
            if _is(a, not unit):
                return a
    return x


def simplify_expression(x: e.Expression) -> e.Expression:
    return transform_up(x, lambda n: _simplify(_fold(n)))


# --- plans --------------------------------------------------------------------------


def transform_plan(plan: lp.LogicalPlan, rule: Callable[[lp.LogicalPlan], lp.LogicalPlan]
                   ) -> lp.LogicalPlan:
    """``rule`` applied top down, then to the children of what it returned."""
    plan = rule(plan)
    if not plan.children:
        return plan
    kids = [transform_plan(c, rule) for c in plan.children]
    if all(k is c for k, c in zip(kids, plan.children)):
        return plan
    return plan.with_children(kids)


def eliminate_subquery_aliases(plan: lp.LogicalPlan) -> lp.LogicalPlan:
    def rule(node: lp.LogicalPlan) -> lp.LogicalPlan:
        while isinstance(node, lp.SubqueryAlias):
            node = node.child
        return node
    return transform_plan(plan, rule)


def map_expressions(node: lp.LogicalPlan, f: Callable[[e.Expression], e.Expression]
                    ) -> lp.LogicalPlan:
    """The node with ``f`` applied to each of its expressions (nodes it does not know are
    left as they are)."""
    if isinstance(node, lp.Project):
        project_list = [f(p) for p in node.project_list]
        return node if _same(project_list, node.project_list) else \
            lp.Project(project_list, node.child, True)
    if isinstance(node, lp.Filter):
        condition = f(node.condition)
        return node if condition is node.condition else lp.Filter(condition, node.child, True)
    if isinstance(node, lp.Aggregate):
        keys, aggregates = [f(k) for k in node.keys], [f(a) for a in node.aggregates]
        return node if _same(keys, node.keys) and _same(aggregates, node.aggregates) else \
            lp.Aggregate(keys, aggregates, node.child, True)
    if isinstance(node, lp.Join) and node.condition is not None:
        condition = f(node.condition)
        return node if condition is node.condition else \
            _join_like(node, node.children[0], node.children[1], condition)
    if isinstance(node, lp.Sort):
        order = [f(o) for o in node.order]
        return node if _same(order, node.order) else lp.Sort(order, node.child, True)
    return node


def _same(new: list[e.Expression], old: list[e.Expression]) -> bool:
    """Whether ``f`` left every expression as it was (the very objects): the node is kept,
    so that a pass of rules that changes nothing gives back the plan it was given."""
    return all(a is b for a, b in zip(new, old))


def _join_like(node: lp.Join, left: lp.LogicalPlan, right: lp.LogicalPlan,
               condition: e.Expression | None, how: str | None = None) -> lp.Join:
    out = lp.Join(left, right, how or node.how, condition, node.using, True)
    out.project = node.project
    return out


def _operator_rules(node: lp.LogicalPlan) -> lp.LogicalPlan:
    node = map_expressions(node, simplify_expression)
    if isinstance(node, lp.Filter):
        return _filter_rules(node)
    if isinstance(node, lp.Join):
        return _push_join_condition(node)
    return _propagate_empty(node)


def _empty(node: lp.LogicalPlan) -> bool:
    return isinstance(node, lp.LocalRelation)


def _propagate_empty(node: lp.LogicalPlan) -> lp.LogicalPlan:
    """PropagateEmptyRelation: an operator over no rows gives no rows."""
    unary = (lp.Project, lp.Filter, lp.Sort, lp.GlobalLimit, lp.Repartition, lp.ResolvedHint)
    if isinstance(node, unary) and _empty(node.children[0]):
        return lp.LocalRelation(node.output())
    if isinstance(node, lp.Aggregate) and node.keys and _empty(node.child):
        return lp.LocalRelation(node.output())
    if isinstance(node, lp.Join):
        left, right = (_empty(c) for c in node.children)
        if (node.how in ("Inner", "LeftSemi") and (left or right)) or (
                node.how in ("LeftOuter", "LeftAnti", "FullOuter") and left and
                (node.how != "FullOuter" or right)) or (node.how == "RightOuter" and right):
            return lp.LocalRelation(node.output())
    return node


def _filter_rules(node: lp.Filter) -> lp.LogicalPlan:
    cond, child = node.condition, node.child
    if _is(cond, True):  # PruneFilters
        return child
    if isinstance(cond, e.Literal) and not cond.value:
        return lp.LocalRelation(node.output())
    if _empty(child):
        return child
    if isinstance(child, lp.Filter):  # CombineFilters: the inner condition first
        return lp.Filter(and_all([child.condition, cond]), child.child, True)
    return _push_down(node)


def _push_down(node: lp.Filter) -> lp.LogicalPlan:
    """PushDownPredicates: the filter (or the conjuncts of it that can go) below its child."""
    cond, child = node.condition, node.child
    if not is_deterministic(cond):
        return node
    if isinstance(child, lp.Project) and all(is_deterministic(p) for p in child.project_list):
        aliases = {p.expr_id: p.child for p in child.project_list if isinstance(p, e.Alias)}
        return lp.Project(child.project_list,
                          lp.Filter(substitute(cond, aliases), child.child, True), True)
    if isinstance(child, (lp.Sort, lp.Repartition, lp.ResolvedHint)):
        return child.with_children([lp.Filter(cond, child.children[0], True)])
    if isinstance(child, lp.Aggregate):
        keys = {k.expr_id for k in child.keys if isinstance(k, e.AttributeReference)}
        passed = {a.expr_id for a in child.aggregates
                  if isinstance(a, e.AttributeReference) and a.expr_id in keys}
        below = [c for c in conjuncts(cond) if references(c) and references(c) <= passed]
        return _split(node, below, lambda parts: child.with_children(
            [lp.Filter(and_all(parts), child.child, True)]))
    if isinstance(child, lp.Join):
        return _push_into_join(node, child)
    if isinstance(child, lp.Union):  # into each child, its columns taken by position
        first = [a.expr_id for a in child.children[0].output()]
        return lp.Union([lp.Filter(substitute(cond, dict(zip(first, c.output()))), c, True)
                         for c in child.children])
    return node


def _split(node: lp.Filter, below: list[e.Expression],
           make: Callable[[list[e.Expression]], lp.LogicalPlan]) -> lp.LogicalPlan:
    """The node with the conjuncts ``below`` moved down by ``make``; the rest stay."""
    if not below:
        return node
    above = [c for c in conjuncts(node.condition) if c not in below]
    new_child = make(below)
    return lp.Filter(and_all(above), new_child, True) if above else new_child


def _sides(join: lp.Join) -> tuple[set[int], set[int]]:
    return ({a.expr_id for a in join.children[0].output()},
            {a.expr_id for a in join.children[1].output()})


def _only(x: e.Expression, side: set[int], other: set[int]) -> bool:
    """Whether ``x`` names columns of ``side`` only (a self-join's shared ids are neither)."""
    refs = references(x)
    return refs <= side and not refs & other


def _eliminate_outer_join(join: lp.Join, parts: list[e.Expression]) -> lp.Join:
    """EliminateOuterJoin: when the filter above is never true of a row whose columns of
    one side are NULL, the rows an outer join pads with NULLs on that side are dropped
    anyway, and the join need not keep them."""
    if join.how not in ("LeftOuter", "RightOuter", "FullOuter"):
        return join
    lids, rids = _sides(join)

    def rejects_nulls_of(side: set[int], other: set[int]) -> bool:
        for c in parts:
            tested = [c.child] if isinstance(c, e.IsNotNull) else _intolerant_columns(c)
            if any(isinstance(a, e.AttributeReference) and a.expr_id in side and
                   a.expr_id not in other for a in tested):
                return True
        return False

    no_null_left, no_null_right = rejects_nulls_of(lids, rids), rejects_nulls_of(rids, lids)
    how = {("LeftOuter", True): "Inner", ("RightOuter", True): "Inner"}.get(
        (join.how, no_null_right if join.how == "LeftOuter" else no_null_left), join.how)
    if join.how == "FullOuter":
        how = {(True, True): "Inner", (True, False): "LeftOuter",
               (False, True): "RightOuter"}.get((no_null_right, no_null_left), "FullOuter")
    return join if how == join.how else _join_like(join, *join.children, join.condition, how)


def _push_into_join(node: lp.Filter, join: lp.Join) -> lp.LogicalPlan:
    """A filter above a join: conjuncts of one side go below it, where the join type keeps
    that side's rows as they are (both sides of an inner join, the preserved side of an
    outer one); an inner join takes those naming both sides into its condition."""
    join = _eliminate_outer_join(join, conjuncts(node.condition))
    lids, rids = _sides(join)
    left_ok = join.how in ("Inner", "LeftOuter", "LeftSemi", "LeftAnti")
    right_ok = join.how in ("Inner", "RightOuter")
    parts = conjuncts(node.condition)
    to_left = [c for c in parts if left_ok and _only(c, lids, rids)]
    to_right = [c for c in parts if right_ok and _only(c, rids, lids)]
    into = [c for c in parts if join.how == "Inner" and references(c) <= lids | rids
            and c not in to_left + to_right]
    if not (to_left or to_right or into):
        return node
    left, right = join.children

    def make(_below: list[e.Expression]) -> lp.LogicalPlan:
        cond = and_all(([join.condition] if join.condition is not None else []) + into)
        return _join_like(join, lp.Filter(and_all(to_left), left, True) if to_left else left,
                          lp.Filter(and_all(to_right), right, True) if to_right else right,
                          cond)
    return _split(node, to_left + to_right + into, make)


def _push_join_condition(join: lp.Join) -> lp.LogicalPlan:
    """The conjuncts of a join's condition that name one side only go below that side,
    where the join type allows it."""
    join = _propagate_empty(join)
    if not isinstance(join, lp.Join) or join.condition is None or \
            not is_deterministic(join.condition):
        return join
    lids, rids = _sides(join)
    left_ok = join.how in ("Inner", "LeftSemi", "RightOuter")
    right_ok = join.how in ("Inner", "LeftSemi", "LeftOuter", "LeftAnti")
    parts = conjuncts(join.condition)
    to_left = [c for c in parts if left_ok and references(c) and _only(c, lids, rids)]
    to_right = [c for c in parts if right_ok and references(c) and _only(c, rids, lids)]
    if not (to_left or to_right):
        return join
    rest = [c for c in parts if c not in to_left + to_right]
    left, right = join.children
    return _join_like(join, lp.Filter(and_all(to_left), left, True) if to_left else left,
                      lp.Filter(and_all(to_right), right, True) if to_right else right,
                      and_all(rest))


# --- InferFiltersFromConstraints ---------------------------------------------------

# What is NULL whenever an input is (Catalyst's NullIntolerant): such a condition is never
# true of a row where a column it reads is NULL.
NULL_INTOLERANT = (e.BinaryArithmetic, e.BinaryComparison, e.Not, e.UnaryMinus, e.Cast,
                   e.Like)
NULL_INTOLERANT_FUNCTIONS = {"startswith", "endswith", "contains", "upper", "lower",
                             "length", "abs", "sqrt"}


def _intolerant_columns(x: e.Expression) -> list[e.AttributeReference]:
    """The columns that cannot be NULL where ``x`` is true (first use first)."""
    if isinstance(x, e.AttributeReference):
        return [x]
    intolerant = (isinstance(x, NULL_INTOLERANT) and getattr(x, "symbol", "") != "<=>") or (
        isinstance(x, e.ScalarFunction) and x.name in NULL_INTOLERANT_FUNCTIONS)
    return [a for c in x.children for a in _intolerant_columns(c)] if intolerant else []


def _not_null(plan: lp.LogicalPlan) -> set[int]:
    """The columns of the plan's output known not to be NULL."""
    out = {a.expr_id for a in plan.output() if not a.nullable}
    if isinstance(plan, lp.Filter):
        out |= _not_null(plan.child)
        for c in conjuncts(plan.condition):
            if isinstance(c, e.IsNotNull) and isinstance(c.child, e.AttributeReference):
                out.add(c.child.expr_id)
            elif not isinstance(c, e.IsNull):
                out |= {a.expr_id for a in _intolerant_columns(c)}
    elif isinstance(plan, (lp.Project, lp.Sort, lp.GlobalLimit, lp.Repartition,
                           lp.ResolvedHint)):
        out |= _not_null(plan.children[0]) & {a.expr_id for a in plan.output()}
    elif isinstance(plan, lp.Join):
        left, right = (_not_null(c) for c in plan.children)
        kept = {"Inner": left | right, "LeftSemi": left, "LeftOuter": left, "LeftAnti": left,
                "RightOuter": right}.get(plan.how, set())
        out |= kept & {a.expr_id for a in plan.output()}
    return out


def _is_not_null(columns: list[e.AttributeReference], known: set[int]) -> list[e.Expression]:
    out: list[e.Expression] = []
    for a in columns:
        if a.nullable and a.expr_id not in known:
            known.add(a.expr_id)
            test = e.IsNotNull(a)
            test.dtype, test.nullable = BooleanType(), False
            out.append(test)
    return out


def infer_filters(node: lp.LogicalPlan) -> lp.LogicalPlan:
    """InferFiltersFromConstraints: ``isnotnull`` of the columns a filter's comparisons
    read, before them; below a join, of the columns its condition compares on each side
    whose unmatched rows it drops (both of an inner join, the right of a left outer one)."""
    if isinstance(node, lp.Filter) and is_deterministic(node.condition):
        known = _not_null(node.child)
        known |= {c.child.expr_id for c in conjuncts(node.condition)
                  if isinstance(c, e.IsNotNull) and isinstance(c.child, e.AttributeReference)}
        columns = [a for c in conjuncts(node.condition) for a in _intolerant_columns(c)]
        new = _is_not_null(columns, known)
        return lp.Filter(and_all([and_all(new), node.condition]), node.child, True) \
            if new else node
    if isinstance(node, lp.Join) and node.condition is not None and \
            is_deterministic(node.condition):
        lids, rids = _sides(node)
        columns = [a for c in conjuncts(node.condition) for a in _intolerant_columns(c)]
        sides = []
        for i, (side, ids, other) in enumerate(((node.children[0], lids, rids),
                                                (node.children[1], rids, lids))):
            drops = node.how in ("Inner", "LeftSemi") or (
                node.how == ("RightOuter" if i == 0 else "LeftOuter") or
                (i == 1 and node.how == "LeftAnti"))
            nullable = {a.expr_id: a.nullable for a in side.output()}
            mine = [a.as_nullable() if nullable[a.expr_id] else a for a in columns
                    if a.expr_id in ids and a.expr_id not in other]
            new = _is_not_null(mine, _not_null(side)) if drops else []
            sides.append(lp.Filter(and_all(new), side, True) if new else side)
        if any(s is not c for s, c in zip(sides, node.children)):
            return _join_like(node, sides[0], sides[1], node.condition)
    return node


# --- ColumnPruning ------------------------------------------------------------------


def prune_columns(plan: lp.LogicalPlan, required: set[int], narrow: bool) -> lp.LogicalPlan:
    """The plan computing at least the columns ``required`` (by id) of its output; with
    ``narrow``, a projection on top drops the others (a Project or Filter parent leaves that
    to the scan below it, which reads only what the chain above it names)."""
    out = _prune(plan, required)
    if narrow and not isinstance(out, lp.Project) and \
            any(a.expr_id not in required for a in out.output()):
        kept = [a for a in out.output() if a.expr_id in required]
        out = lp.Project(kept, out, True)
    return out


def _prune(plan: lp.LogicalPlan, required: set[int]) -> lp.LogicalPlan:
    if isinstance(plan, lp.Project):
        kept = [p for p in plan.project_list if p.expr_id in required]
        need = set().union(*(references(p) for p in kept)) if kept else set()
        return lp.Project(kept, prune_columns(plan.child, need, False), True)
    if isinstance(plan, lp.Filter):
        need = required | references(plan.condition)
        return lp.Filter(plan.condition, prune_columns(plan.child, need, False), True)
    if isinstance(plan, lp.Aggregate):
        need = set().union(*(references(x) for x in plan.keys + plan.aggregates))
        return plan.with_children([prune_columns(plan.child, need, True)])
    if isinstance(plan, (lp.Sort, lp.GlobalLimit, lp.Repartition, lp.ResolvedHint)):
        exprs = plan.order if isinstance(plan, lp.Sort) else \
            plan.keys if isinstance(plan, lp.Repartition) else []
        need = required.union(*(references(x) for x in exprs))
        narrow = not isinstance(plan, (lp.GlobalLimit, lp.ResolvedHint))
        return plan.with_children([prune_columns(plan.child, need, narrow)])
    if isinstance(plan, lp.Join):
        need = set(required)
        if plan.condition is not None:
            need |= references(plan.condition)
        # A USING join's output (its keys once, then the rest): only the columns required.
        project = None if plan.project is None else \
            [p for p in plan.project if p.expr_id in required]
        if project:
            need |= set().union(*(references(p) for p in project))
        out = plan.with_children([prune_columns(c, need, True) for c in plan.children])
        out.project = project
        return out
    if isinstance(plan, lp.Expand):
        return _prune_expand(plan, required)
    # Anything else (a union by position, a generator) needs all of its children's columns.
    return plan.with_children([prune_columns(c, {a.expr_id for a in c.output()}, False)
                               for c in plan.children])


def _prune_expand(plan: lp.Expand, required: set[int]) -> lp.LogicalPlan:
    """An Expand keeps the columns required above; the projection below it that names its
    keys is folded into its projections, as Spark's optimized plan shows it."""
    keep = [i for i, a in enumerate(plan.columns) if a.expr_id in required]
    rows = [[row[i] for i in keep] for row in plan.projections]
    need = set().union(*(references(x) for row in rows for x in row))
    child = prune_columns(plan.child, need, True)
    if isinstance(child, lp.Project):
        aliases = {p.expr_id: p.child for p in child.project_list
                   if isinstance(p, e.Alias) and isinstance(p.child, e.AttributeReference)}
        rows = [[substitute(x, aliases) for x in row] for row in rows]
        items: dict[int, e.Expression] = {}
        for p in child.project_list:
            item = aliases.get(p.expr_id, p)
            items.setdefault(item.expr_id, item)
        below = list(items.values())
        child = child.child if lp.same_columns(below, child.child.output()) else \
            lp.Project(below, child.child, True)
    return lp.Expand(rows, [plan.columns[i] for i in keep], child)


def collapse_projects(plan: lp.LogicalPlan) -> lp.LogicalPlan:
    """CollapseProject: a projection of a projection is one, the lower one's expressions
    substituted, unless that would compute a costly expression more than once."""
    def rule(node: lp.LogicalPlan) -> lp.LogicalPlan:
        while isinstance(node, lp.Project) and isinstance(node.child, lp.Project):
            lower = node.child
            if not all(is_deterministic(p) for p in lower.project_list + node.project_list):
                return node
            aliases = {p.expr_id: p for p in lower.project_list if isinstance(p, e.Alias)}
            uses: dict[int, int] = {}
            for p in node.project_list:
                for n in p.walk():
                    if isinstance(n, e.AttributeReference) and n.expr_id in aliases:
                        uses[n.expr_id] = uses.get(n.expr_id, 0) + 1
            if any(n > 1 and not isinstance(aliases[i].child, (e.Literal,
                                                                e.AttributeReference))
                   for i, n in uses.items()):
                return node
            node = lp.Project([_substitute_top(p, aliases) for p in node.project_list],
                              lower.child, True)
        return node
    return transform_plan(plan, rule)


def _substitute_top(p: e.Expression, aliases: dict[int, e.Alias]) -> e.Expression:
    """An upper projection's item over the lower one's aliases, keeping its own name/id."""
    if isinstance(p, e.AttributeReference) and p.expr_id in aliases:
        lower = aliases[p.expr_id]
        out = e.Alias(lower.child, p.name, p.expr_id)
        out.dtype, out.nullable = lower.dtype, lower.nullable
        return out
    return substitute(p, {i: a.child for i, a in aliases.items()})
