"""``spark.sql(text)``: a query in Spark's dialect, parsed by sqlglot and built with the same
DataFrame calls (so the same logical plan) that the DataFrame API would make: FROM is
``spark.table``, JOIN is ``join``, WHERE ``filter``, GROUP BY ``groupBy().agg``, ORDER BY
``orderBy``, LIMIT ``limit``, UNION ``union``; ROLLUP/CUBE/GROUPING SETS an ``Expand`` below
the aggregate (``catalyst.grouping``); subqueries as Spark's rewrites plan them (scalar ones
run first as their own job, IN/EXISTS semi and anti joins, correlated ones joins)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from sqlglot import exp

from sparkbook.errors import AnalysisException
from sparkbook.sql import statements
from sparkbook.sql.catalyst import deduplicate
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst import logical as lp
from sparkbook.sql.catalyst.aggregates import AggregateFunction
from sparkbook.sql.catalyst.analyzer import expand_star, resolve
from sparkbook.sql.catalyst.grouping import (
    combined_sets,
    cube_sets,
    grouping_sets_aggregate,
    rollup_sets,
)
from sparkbook.sql.catalyst.optimizer import conjuncts
from sparkbook.sql.catalyst.parser import convert, parse_statements
from sparkbook.sql.catalyst.windows import WindowExpression, contains_window
from sparkbook.sql.column import Column
from sparkbook.sql.inlinetable import inline_table
from sparkbook.sql.types import BooleanType, IntegerType, parse_error

if TYPE_CHECKING:
    from sparkbook.sql.dataframe import DataFrame
    from sparkbook.sql.session import SparkSession


def sql(session: SparkSession, text: str) -> DataFrame:
    """The DataFrame of one query."""
    trees = parse_statements(text)
    if len(trees) == 1 and statements.command(trees[0]):
        return statements.run(session, trees[0], text, _Query(session, text, {}).query)
    if len(trees) > 1 or not isinstance(trees[0], (exp.Query, exp.Subquery, exp.Values)):
        raise parse_error("PARSE_SYNTAX_ERROR",
                          f"Syntax error at or near '{text.split()[0]}'.", text, 0, "42601")
    return _Query(session, text, {}).query(trees[0])


_JOINS = {("", "SEMI"): "left_semi", ("LEFT", "SEMI"): "left_semi",
          ("", "ANTI"): "left_anti", ("LEFT", "ANTI"): "left_anti",
          ("LEFT", ""): "left", ("LEFT", "OUTER"): "left", ("RIGHT", ""): "right",
          ("RIGHT", "OUTER"): "right", ("FULL", ""): "full", ("FULL", "OUTER"): "full",
          ("", "INNER"): "inner", ("", ""): "inner", ("", "CROSS"): "cross"}


class _Query:
    """One scope of a query: the CTEs it can name."""

    def __init__(self, session: SparkSession, text: str, ctes: dict[str, DataFrame],
                 outer: list[e.AttributeReference] | None = None) -> None:
        self.session, self.text, self.ctes = session, text, dict(ctes)
        # A correlated subquery's scope: the outer query's columns its WHERE may name, and
        # the conjuncts naming them, pulled out of it into the join that runs it.
        self.outer = outer
        self.correlated: list[e.Expression] = []
        self.carried: list[e.AttributeReference] = []  # the columns added for them
        self.aggregated = False  # whether the correlated query aggregates (by them)
        # Correlated scalar subqueries met in an expression: the left outer joins (the
        # aggregated subquery, the condition) the query's rows need before they read them.
        self.joins: list[tuple[lp.LogicalPlan, e.Expression]] = []

    def expr(self, node: exp.Expression, df: DataFrame | None = None) -> e.Expression:
        """The expression of ``node``, each scalar subquery in it planned (one that names
        the columns of ``df``, the rows it is read over, joined to them by ``joined``)."""
        def plan(x: e.Expression) -> e.Expression:
            return self._subquery_value(x, df) if isinstance(x, e.UnresolvedSubquery) else x
        return convert(node, self.text).transform_up(plan)

    def _subquery_value(self, node: e.UnresolvedSubquery, df: DataFrame | None,
                        null_aware: bool = False) -> e.Expression:
        """A subquery as a value. A scalar one uncorrelated is a ``ScalarSubquery``;
        correlated, as Spark's RewriteCorrelatedScalarSubquery plans it, the column of its
        aggregate grouped by the inner columns the correlation names, left outer joined to
        the rows. An uncorrelated EXISTS is whether the subquery has a row; any other
        EXISTS or IN (under OR, in a select list) is ``existence``."""
        if (node.kind == "in") and df is None:
            raise _unsupported_subquery(node)
        outer = df._plan.output() if df is not None else None
        scope = _Query(self.session, self.text, self.ctes, outer)
        sub = scope.query(node.query)
        if node.kind == "exists" and not scope.correlated:
            return exists(sub)
        if node.kind != "scalar":
            return self._existence(node, scope, sub, outer or [], null_aware)
        plan = sub._plan
        width = len(plan.output()) - len(scope.carried)
        check_one_column(width)
        if not scope.correlated:
            return e.ScalarSubquery(plan)
        if not scope.aggregated:
            raise AnalysisException(
                "[UNSUPPORTED_SUBQUERY_EXPRESSION_CATEGORY.MUST_AGGREGATE_CORRELATED_SCALAR_"
                "SUBQUERY] Unsupported subquery expression: Correlated scalar subqueries must "
                "be aggregated to return at most one row. SQLSTATE: 0A000",
                "UNSUPPORTED_SUBQUERY_EXPRESSION_CATEGORY.MUST_AGGREGATE_CORRELATED_SCALAR_"
                "SUBQUERY", {}, "0A000")
        right, conditions = plan, list(scope.correlated)
        self.joins.append((right, functools.reduce(e.And, conditions)))
        value: e.Expression = right.output()[0].as_nullable()
        empty = _over_no_rows(plan.aggregates[0])
        if empty is not None:
            # Where no row matches, the aggregate's value over no rows (count is 0, not
            # NULL): Spark's fix of the "count bug". A matched row's key is never NULL.
            key = right.output()[width].as_nullable()
            value = e.CaseWhen([(e.IsNull(key), e.Literal(empty, value.dtype))], value)
        outer_ids = {o.expr_id for o in outer or []}
        names = sorted({a.name for c in scope.correlated for a in c.walk()
                        if isinstance(a, e.AttributeReference) and a.expr_id in outer_ids})
        return e.Alias(value, f"scalarsubquery({', '.join(names)})")

    def _existence(self, node: e.UnresolvedSubquery, scope: _Query, sub: DataFrame,
                   outer: list[e.AttributeReference], null_aware: bool) -> e.Expression:
        """Whether a row of the subquery matches (Spark's ExistenceJoin): a left outer join
        with the subquery's distinct keys (the IN value, the inner columns an equality
        correlation names) and a flag, which is at most one matching row. In WHERE an
        uncorrelated IN is null-aware (NULL where the value or a subquery row is NULL and
        nothing matched), as NOT of it needs."""
        if scope.aggregated or any(not (isinstance(c, e.BinaryComparison) and c.symbol == "=")
                                   for c in scope.correlated):
            raise _unsupported_subquery(node)
        output = sub._plan.output()
        width = len(output) - len(scope.carried)
        keys = list(scope.carried)
        if node.kind == "in":
            value = resolve(node.children[0], outer)
            if width != 1:
                raise _in_length_mismatch(value, output[:width])
            keys.insert(0, output[0])
        flag = e.Alias(e.Literal(True, BooleanType()), "exists")
        flagged = sub._with(lp.Project(keys + [flag], sub._plan)).distinct()
        right, conditions = flagged._plan, list(scope.correlated)
        if node.kind == "in":
            conditions.insert(0, e.BinaryComparison("=", value, right.output()[0]))
        self.joins.append((right, functools.reduce(e.And, conditions)))
        flag_column = right.output()[-1].as_nullable()
        false = e.Literal(False, BooleanType())
        if node.kind == "exists":
            return e.Alias(e.ScalarFunction("coalesce", [flag_column, false]), "exists()")
        branches = [(e.IsNull(flag_column), false)]
        if null_aware and not scope.correlated:
            column = sub._plan.output()[0]
            nulls = sub._with(lp.Filter(e.IsNull(column), sub._plan))
            unknown = e.Or(e.And(e.IsNull(value), e.IsNotNull(
                e.ScalarSubquery(first_row(sub)._plan))),
                e.IsNotNull(e.ScalarSubquery(first_row(nulls)._plan)))
            branches.insert(0, (e.And(e.IsNull(flag_column), unknown),
                                e.Literal(None, BooleanType())))
        return e.Alias(e.CaseWhen(branches, flag_column),
                       f"({node.children[0].sql()} IN (listquery()))")

    def joined(self, df: DataFrame) -> DataFrame:
        """``df`` left outer joined with the subqueries its expressions read (correlated
        scalar ones, EXISTS/IN as values)."""
        for right, condition in self.joins:
            df = df._with(lp.Join(df._plan, right, "LeftOuter", condition))
        self.joins = []
        return df

    def where(self, df: DataFrame, condition: e.Expression) -> DataFrame:
        """WHERE (and HAVING, over the aggregate's rows): the conjuncts without subqueries
        as a filter; each ``[NOT] EXISTS`` and ``[NOT] IN`` subquery among the conjuncts
        then as Spark's RewritePredicateSubquery plans it, a left semi (anti) join with the
        subquery."""
        plain, predicates = [], []
        for c in conjuncts(condition):
            negated = isinstance(c, e.Not) and isinstance(c.child, e.UnresolvedSubquery)
            target = c.child if negated else c
            if isinstance(target, e.UnresolvedSubquery) and target.kind != "scalar":
                predicates.append((target, negated))
            else:
                plain.append(c)
        if plain:
            condition = functools.reduce(e.And, plain).transform_up(
                lambda x: self._subquery_value(x, df, null_aware=True)
                if isinstance(x, e.UnresolvedSubquery) else x)
            if self.outer is not None:
                condition = self._pull_correlated(condition, df)
            if condition is not None:
                width = len(df.columns)
                df = self.joined(df).filter(Column(condition))
                if len(df.columns) != width:  # the joined subqueries' columns dropped
                    df = df.select(*[df[i] for i in range(width)])
        for subquery, negated in predicates:
            df = self._predicate_subquery(df, subquery, negated)
        return df

    def _pull_correlated(self, condition: e.Expression, df: DataFrame) -> e.Expression | None:
        """The conjuncts naming the inner query's columns only; the others, naming the
        outer query's too, are kept (resolved) in ``correlated``."""
        inner = df._plan.output()
        kept = []
        for c in conjuncts(condition):
            try:
                resolve(c, inner)
                kept.append(c)
            except AnalysisException:
                self.correlated.append(resolve(c, inner + list(self.outer or [])))
        return functools.reduce(e.And, kept) if kept else None

    def _predicate_subquery(self, df: DataFrame, node: e.UnresolvedSubquery,
                            negated: bool) -> DataFrame:
        outer = df._plan.output()
        scope = _Query(self.session, self.text, self.ctes, outer)
        sub = scope.query(node.query)
        width = len(sub._plan.output()) - len(scope.carried)
        if scope.aggregated:
            raise _unsupported_correlation()
        if node.kind == "exists" and not scope.correlated:
            # Uncorrelated EXISTS: whether the subquery has a row, as a scalar subquery of
            # its first row (Spark 4 plans it so).
            found = exists(sub).child
            return df.filter(Column(e.Not(found) if negated else found))
        right, conditions = sub._plan, list(scope.correlated)
        if node.kind == "in":
            value = resolve(node.children[0], outer)
            if width != 1:
                raise _in_length_mismatch(value, sub._plan.output()[:width])
            match = e.BinaryComparison("=", value, right.output()[0])
            # NOT IN is null-aware: a NULL comparison is no proof the value is absent.
            conditions.insert(0, e.Or(match, e.IsNull(match)) if negated else match)
        how = "LeftAnti" if negated else "LeftSemi"
        condition = functools.reduce(e.And, conditions) if conditions else None
        return df._with(lp.Join(df._plan, right, how, condition))

    def extra_columns(self) -> list[e.AttributeReference]:
        """The inner columns the correlated conjuncts name, carried out of the subquery's
        projection for the join to compare."""
        outer = {a.expr_id for a in self.outer or []}
        seen: dict[int, e.AttributeReference] = {}
        for c in self.correlated:
            for n in c.walk():
                if isinstance(n, e.AttributeReference) and n.expr_id not in outer:
                    seen.setdefault(n.expr_id, n)
        return list(seen.values())

    def query(self, node: exp.Expression) -> DataFrame:
        scope = self
        with_ = node.args.get("with_")
        if with_ is not None:
            scope = _Query(self.session, self.text, self.ctes)
            for cte in with_.expressions:
                scope.ctes[cte.alias.lower()] = scope.query(cte.this).alias(cte.alias)
        if isinstance(node, exp.Subquery):
            df = scope.query(node.this)
        elif isinstance(node, exp.SetOperation):
            df = scope.set_operation(node)
        elif isinstance(node, exp.Select):
            return scope.select(node)
        elif isinstance(node, exp.Values):
            df = scope.values(node)
        else:
            raise parse_error("PARSE_SYNTAX_ERROR",
                              f"Syntax error at or near '{node.sql('spark')}'.", self.text, 0,
                              "42601")
        return scope.order_and_limit(node, df)

    def set_operation(self, node: exp.SetOperation) -> DataFrame:
        left, right = self.query(node.this), self.query(node.expression)
        distinct = node.args.get("distinct", True)
        if isinstance(node, exp.Union):
            both = left.union(right)
            return both.distinct() if distinct else both
        if isinstance(node, exp.Intersect):
            return left.intersect(right) if distinct else left.intersectAll(right)
        return left.subtract(right) if distinct else left.exceptAll(right)

    def relation(self, node: exp.Expression) -> DataFrame:
        if isinstance(node, exp.Table):
            name = node.name
            df = self.ctes.get(name.lower()) if not node.db else None
            if df is None:
                df = self.session.table(".".join(p.name for p in node.parts),
                                        node.this.meta.get("start"))
        elif isinstance(node, exp.Subquery):
            df = self.query(node.this)
        elif isinstance(node, exp.Values):
            df = self.values(node)
        else:
            raise parse_error("PARSE_SYNTAX_ERROR",
                              f"Syntax error at or near '{node.sql('spark')}'.", self.text, 0,
                              "42601")
        if self.outer is not None:
            # A subquery's tables get columns of their own (as Spark's DeduplicateRelations
            # gives them): the outer query, or another subquery joined beside this one, may
            # read the same table, and a correlation must tell the two apart.
            ids = {a.expr_id for a in df._plan.output()}
            df = df._with(deduplicate.new_instances(df._plan, ids)[0])
        return df.alias(node.alias) if node.alias else df

    def values(self, node: exp.Values) -> DataFrame:
        """An inline table: ``VALUES (1, 'a'), (2, 'b') AS t(x, y)``."""
        rows = [[self.expr(x) for x in (t.expressions if isinstance(t, exp.Tuple) else [t])]
                for t in node.expressions]
        alias = node.args.get("alias")
        names = [c.name for c in alias.columns] if alias is not None else []
        return inline_table(self.session, rows, names, node.sql("spark"))

    def from_clause(self, node: exp.Select) -> DataFrame:
        source = node.args.get("from_")
        if source is None:  # SELECT 1: Spark's OneRowRelation
            return self.session.range(1, numPartitions=1).select()
        df = self.relation(source.this)
        for join in node.args.get("joins") or []:
            other = self.relation(join.this)
            how = _JOINS.get((join.side.upper(), join.kind.upper()), "inner")
            using = join.args.get("using")
            on = join.args.get("on")
            if using:
                df = df.join(other, [u.name for u in using], how)
            elif on is not None:
                df = df.join(other, Column(self.expr(on)), how)
            elif how in ("inner", "cross"):
                df = df.crossJoin(other)
            else:
                df = df.join(other, None, how)
        for lateral in node.args.get("laterals") or []:
            df = self.lateral_view(lateral, df)
        return df

    def lateral_view(self, node: exp.Lateral, df: DataFrame) -> DataFrame:
        """``LATERAL VIEW [OUTER] explode(arr) v AS x``: the rows and their generated
        columns, as a select of ``*`` and the generator makes them."""
        generator = self.expr(node.this)
        if not isinstance(generator, e.Generator):
            raise parse_error("PARSE_SYNTAX_ERROR",
                              f"Syntax error at or near '{node.this.sql('spark')}'.",
                              self.text, 0, "42601")
        if node.args.get("outer") and not generator.outer:
            generator = e.Generator(f"{generator.name}_outer", list(generator.children))
        alias = node.args.get("alias")
        names = [c.name for c in alias.columns] if alias is not None else []
        item: e.Expression = generator
        if len(names) == 1:
            item = e.Alias(generator, names[0])
        elif names:
            item = e.MultiAlias(generator, names)
        return df._with(lp.Project([e.UnresolvedStar(), item], df._plan))

    def select(self, node: exp.Select) -> DataFrame:
        df = self.from_clause(node)
        where = node.args.get("where")
        if where is not None:
            df = self.where(df, convert(where.this, self.text))
        items = [self.expr(_named_windows(x, node), df) for x in node.expressions]
        if self.joins:  # * is the query's own columns, not the joined subqueries'
            items = [y for x in items for y in (
                expand_star(x, df._plan.output()) if isinstance(x, e.UnresolvedStar) else [x])]
            df = self.joined(df)
        group = node.args.get("group")
        having = node.args.get("having")
        aggregated = (group is not None or having is not None
                      or any(_has_aggregate(x) for x in items))
        if self.correlated and aggregated:
            if group is not None or having is not None:
                raise _unsupported_correlation()
            # A correlated aggregate: grouped by the inner columns the correlation names.
            self.carried, self.aggregated = self.extra_columns(), True
            return df._with(lp.Aggregate(self.carried, items + self.carried, df._plan))
        if not aggregated:
            before = df
            if not _all_columns(items):  # Spark's optimizer drops a Project of every column
                self.carried = self.extra_columns()
                df = df._with(lp.Project(items + self.carried, df._plan))
            if node.args.get("distinct"):
                df = df.distinct()
            return self.order_and_limit(node, df, before, items)
        keys, sets = self._grouping(group, items)
        if any(contains_window(x) for x in items):
            return self._windows_over_aggregate(node, df, keys, sets, items)
        # Hidden aggregates (in HAVING or ORDER BY, not selected) are computed beside the
        # selected ones and projected away afterwards, as Spark's analyzer does.
        extra: list[e.Expression] = []
        condition = None
        if having is not None:
            condition = _over_aggregate(convert(having.this, self.text), items, extra)
        order = node.args.get("order")
        orders = [self._sort_order(o, items, extra) for o in order.expressions] if order else []
        df = df._with(_aggregate(df._plan, keys, sets, items + extra))
        shown = df._plan.output()[:len(items)]
        if condition is not None:
            df = self.where(df, _bound(condition, df))
        if orders:
            df = df._with(lp.Sort([_bound(o, df) for o in orders], df._plan))
        if extra:
            df = df._with(lp.Project(list(shown), df._plan))
        if node.args.get("distinct"):
            df = df.distinct()
        return self.limit(node, df)

    def _windows_over_aggregate(self, node: exp.Select, df: DataFrame, keys: list[e.Expression],
                                sets: list[list[int]] | None, items: list[e.Expression]
                                ) -> DataFrame:
        """``SELECT k, sum(x), rank() OVER (ORDER BY sum(x)) ... GROUP BY k``: the aggregate
        first (the aggregates the windows read as hidden columns of it), HAVING, then the
        windows over its rows, then ORDER BY the selected columns."""
        plain = [x for x in items if not contains_window(x)]
        extra: list[e.Expression] = []
        windowed = [_aggregates_in_windows(x, plain, extra) for x in items
                    if contains_window(x)]
        having = node.args.get("having")
        condition = None if having is None else _over_aggregate(
            convert(having.this, self.text), plain, extra)
        df = df._with(_aggregate(df._plan, keys, sets, plain + extra))
        shown = iter(df._plan.output()[:len(plain)])
        if condition is not None:
            df = self.where(df, _bound(condition, df))
        over = iter(_bound(x, df) for x in windowed)
        final = [next(over) if contains_window(x) else next(shown) for x in items]
        df = df._with(lp.Project(final, df._plan))
        if node.args.get("distinct"):
            df = df.distinct()
        return self.order_and_limit(node, df)

    def _grouping(self, group: exp.Group | None, items: list[e.Expression]
                  ) -> tuple[list[e.Expression], list[list[int]] | None]:
        """GROUP BY's keys, and its grouping sets (positions in the keys) when it has
        ``ROLLUP``, ``CUBE`` or ``GROUPING SETS`` (each part's sets crossed with the
        others', a plain key being in every set)."""
        if group is None:
            return [], None
        keys: list[e.Expression] = []

        def position(g: exp.Expression) -> int:
            key = self._group_key(g, items)
            for i, k in enumerate(keys):
                if k.sql() == key.sql():
                    return i
            keys.append(key)
            return len(keys) - 1

        def members(g: exp.Expression) -> list[int]:
            inner = g.this if isinstance(g, exp.Paren) else g
            if isinstance(inner, exp.Tuple):
                return [position(x) for x in inner.expressions]
            return [position(inner)]

        parts: list[list[list[int]]] = []
        for g in group.expressions:
            if isinstance(g, (exp.Rollup, exp.Cube)):
                at = [members(x)[0] for x in g.expressions]
                chosen = rollup_sets(len(at)) if isinstance(g, exp.Rollup) \
                    else cube_sets(len(at))
                parts.append([[at[i] for i in s] for s in chosen])
            elif isinstance(g, exp.GroupingSets):
                parts.append([members(x) for x in g.expressions])
            else:
                parts.append([[position(g)]])
        grouped = any(isinstance(g, (exp.Rollup, exp.Cube, exp.GroupingSets))
                      for g in group.expressions)
        # GROUP BY a, b WITH ROLLUP | WITH CUBE | GROUPING SETS (...): over those keys.
        for name, sets in (("rollup", rollup_sets), ("cube", cube_sets)):
            if group.args.get(name):
                parts, grouped = [sets(len(keys))], True
        for g in group.args.get("grouping_sets") or []:
            parts, grouped = [[members(x) for x in g.expressions]], True
        return keys, combined_sets(parts) if grouped else None

    def _group_key(self, node: exp.Expression, items: list[e.Expression]) -> e.Expression:
        # GROUP BY 1 names the first selected expression; GROUP BY an alias its expression.
        if isinstance(node, exp.Literal) and not node.is_string:
            return _unaliased(items[int(node.this) - 1])
        key = self.expr(node)
        if isinstance(key, e.UnresolvedAttribute) and len(key.parts) == 1:
            for item in items:
                if isinstance(item, e.Alias) and item.name.lower() == key.name.lower():
                    return item.child
        return key

    def _sort_order(self, node: exp.Ordered, items: list[e.Expression],
                    extra: list[e.Expression] | None) -> e.SortOrder:
        target = node.this
        if isinstance(target, exp.Literal) and not target.is_string:
            item = items[int(target.this) - 1]
            child = item if isinstance(item, (e.UnresolvedAttribute, e.AttributeReference)) \
                else e.UnresolvedAttribute([e.output_name(item)])
        else:
            child = self.expr(target)
            if extra is not None:
                child = _over_aggregate(child, items, extra)
        ascending = not node.args.get("desc")
        return e.SortOrder(child, ascending, bool(node.args.get("nulls_first")))

    def order_and_limit(self, node: exp.Expression, df: DataFrame,
                        before: DataFrame | None = None,
                        items: list[e.Expression] | None = None) -> DataFrame:
        order = node.args.get("order")
        if order is not None:
            shown: list[e.Expression] = list(items or df._plan.output())
            orders = [self._sort_order(o, shown, None) for o in order.expressions]
            try:
                df = df._with(lp.Sort(orders, df._plan))
            except AnalysisException:
                if before is None or node.args.get("distinct"):
                    raise
                # ORDER BY a column the SELECT dropped: sort below the projection, the
                # aliases standing for what they name.
                aliases = {i.name.lower(): i.child for i in items or []
                           if isinstance(i, e.Alias)}
                orders = [_dealiased(o, aliases) for o in orders]
                df = before._with(lp.Sort(orders, before._plan))
                df = df._with(lp.Project(items or [], df._plan))
        return self.limit(node, df)

    def limit(self, node: exp.Expression, df: DataFrame) -> DataFrame:
        limit = node.args.get("limit")
        if limit is None:
            return df
        value = limit.expression if limit.expression is not None else limit.this
        return df.limit(int(value.this))


def _aggregate(plan: lp.LogicalPlan, keys: list[e.Expression], sets: list[list[int]] | None,
               items: list[e.Expression]) -> lp.LogicalPlan:
    if sets is None:
        return lp.Aggregate(keys, items, plan)
    return grouping_sets_aggregate(plan, keys, sets, items)


def _over_no_rows(item: e.Expression):
    """The value of an aggregate's result over no rows (count 0, the others NULL), or None
    when it is NULL."""
    from sparkbook.sql.catalyst.optimizer import simplify_expression, transform_up

    def empty(x: e.Expression) -> e.Expression:
        if isinstance(x, AggregateFunction):
            return e.Literal(0 if x.name == "count" else None, x.dtype)
        return x
    value = simplify_expression(transform_up(_unaliased(item), empty))
    return value.value if isinstance(value, e.Literal) else None


def check_one_column(width: int) -> None:
    if width != 1:
        raise AnalysisException(
            f"[INVALID_SUBQUERY_EXPRESSION.SCALAR_SUBQUERY_RETURN_MORE_THAN_ONE_OUTPUT_COLUMN] "
            f"Invalid subquery: Scalar subquery must return only one column, but got {width}. "
            f"SQLSTATE: 42823",
            "INVALID_SUBQUERY_EXPRESSION.SCALAR_SUBQUERY_RETURN_MORE_THAN_ONE_OUTPUT_COLUMN",
            {"number": str(width)}, "42823")


def exists(df: DataFrame) -> e.Alias:
    """An uncorrelated EXISTS, named ``exists()``: as Spark 4 plans it, whether a scalar
    subquery of the first row (``SELECT 1 AS col ... LIMIT 1``) is not NULL."""
    return e.Alias(e.IsNotNull(e.ScalarSubquery(first_row(df)._plan)), "exists()")


def first_row(df: DataFrame) -> DataFrame:
    return df._with(lp.Project([e.Alias(e.Literal(1, IntegerType()), "col")],
                               df._plan)).limit(1)


def _unsupported_subquery(x: e.UnresolvedSubquery) -> AnalysisException:
    """An EXISTS or IN subquery outside a query's WHERE or select list, or one that is no
    conjunct of WHERE and is correlated other than by equalities."""
    return AnalysisException(
        f"[UNSUPPORTED_SUBQUERY_EXPRESSION_CATEGORY.UNSUPPORTED_IN_EXISTS_SUBQUERY] "
        f"Unsupported subquery expression: sparkbook runs an IN/EXISTS predicate subquery "
        f"in WHERE or a select list, correlated only by equalities where it is no conjunct "
        f"of WHERE: {x.sql()}. SQLSTATE: 0A000",
        "UNSUPPORTED_SUBQUERY_EXPRESSION_CATEGORY.UNSUPPORTED_IN_EXISTS_SUBQUERY", {}, "0A000")


def _unsupported_correlation() -> AnalysisException:
    return AnalysisException(
        "[UNSUPPORTED_SUBQUERY_EXPRESSION_CATEGORY.CORRELATED_REFERENCE] Unsupported "
        "subquery expression: sparkbook runs a correlated subquery as an EXISTS or IN "
        "predicate without aggregation, or as a scalar subquery aggregating without GROUP BY "
        "or HAVING. SQLSTATE: 0A000",
        "UNSUPPORTED_SUBQUERY_EXPRESSION_CATEGORY.CORRELATED_REFERENCE", {}, "0A000")


def _in_length_mismatch(value: e.Expression, columns: list[e.AttributeReference]
                        ) -> AnalysisException:
    names = ", ".join(f'"{a.name}"' for a in columns)
    return AnalysisException(
        f'[DATATYPE_MISMATCH.IN_SUBQUERY_LENGTH_MISMATCH] Cannot resolve "({value.sql()} IN '
        f'(listquery()))" due to data type mismatch: The number of columns in the left hand '
        f'side of an IN subquery does not match the number of columns in the output of '
        f'subquery. Left hand side columns(length: 1): ["{value.sql()}"], right hand side '
        f'columns(length: {len(columns)}): [{names}]. SQLSTATE: 42K09',
        "DATATYPE_MISMATCH.IN_SUBQUERY_LENGTH_MISMATCH", {}, "42K09")


def _all_columns(items: list[e.Expression]) -> bool:
    return len(items) == 1 and isinstance(items[0], e.UnresolvedStar) and not items[0].target


def _has_aggregate(x: e.Expression) -> bool:
    """An aggregate of the rows of a group (not one over a window)."""
    if isinstance(x, WindowExpression):
        return False
    return isinstance(x, AggregateFunction) or any(_has_aggregate(c) for c in x.children)


def _aggregates_in_windows(x: e.Expression, items: list[e.Expression],
                           extra: list[e.Expression]) -> e.Expression:
    """A selected expression with windows over an aggregate's rows: every aggregate in it
    that is not a window's own function becomes a column of the aggregate."""
    if isinstance(x, WindowExpression):
        f = x.function
        if f.children:
            f = f.with_children([_over_aggregate(c, items, extra) for c in f.children])
        return WindowExpression(f, _over_aggregate(x.spec, items, extra))
    if not contains_window(x):
        return _over_aggregate(x, items, extra)
    return x.with_children([_aggregates_in_windows(c, items, extra) for c in x.children])


def _named_windows(item: exp.Expression, node: exp.Select) -> exp.Expression:
    """``OVER w`` with ``WINDOW w AS (...)``: the definition put in its place."""
    named = {d.name.lower(): d for d in node.args.get("windows") or []}
    if not named:
        return item

    def fill(n: exp.Expression) -> exp.Expression:
        alias = n.args.get("alias") if isinstance(n, exp.Window) else None
        if alias is None or alias.name.lower() not in named:
            return n
        d = named[alias.name.lower()]
        return exp.Window(this=n.this.copy(), partition_by=d.args.get("partition_by"),
                          order=d.args.get("order"), spec=d.args.get("spec"))

    return item.transform(fill)


def _unaliased(x: e.Expression) -> e.Expression:
    return x.child if isinstance(x, e.Alias) else x


def _over_aggregate(x: e.Expression, items: list[e.Expression],
                    extra: list[e.Expression]) -> e.Expression:
    """``x`` (of HAVING or ORDER BY) over the aggregate's output: each aggregate function
    becomes the selected column computing it, or a hidden column added to ``extra``."""
    selected = {_unaliased(item).explain(): i for i, item in enumerate(items)}

    def rule(node: e.Expression) -> e.Expression:
        if not isinstance(node, (AggregateFunction, e.Grouping)):
            return node
        index = selected.get(node.explain())
        if index is None:
            index = selected[node.explain()] = len(items) + len(extra)
            extra.append(e.Alias(node, f"__agg{len(extra)}"))
        return _Slot(index)

    return x.transform_up(rule)


class _Slot(e.LeafExpression):
    """The ``index``-th output column of the Aggregate, which is analyzed only after HAVING
    and ORDER BY are read."""

    def __init__(self, index: int) -> None:
        self.index = index

    def render(self, r) -> str:
        return f"slot({self.index})"


def _bound(x: e.Expression, df: DataFrame) -> e.Expression:
    output = df._plan.output()
    return x.transform_up(lambda n: output[n.index] if isinstance(n, _Slot) else n)


def _dealiased(order: e.SortOrder, aliases: dict[str, e.Expression]) -> e.SortOrder:
    def rule(node: e.Expression) -> e.Expression:
        if isinstance(node, e.UnresolvedAttribute) and len(node.parts) == 1:
            return aliases.get(node.name.lower(), node)
        return node

    return order.transform_up(rule)
