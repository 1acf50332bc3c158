"""The analyzer: finds every name in its child plan's output (case-insensitively, as
``spark.sql.caseSensitive=false``), expands ``*``, names projected expressions as Spark
does, and types them. What cannot be resolved raises ``AnalysisException`` naming what is
missing and what exists."""

from __future__ import annotations

from sparkbook.errors import AnalysisException
from sparkbook.sql.catalyst import deduplicate, windows
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst import logical as lp
from sparkbook.sql.catalyst.typecoercion import mismatch, type_tree
from sparkbook.sql.catalyst.windows import contains_window
from sparkbook.sql.types import BooleanType, IntegerType, MapType, NullType, StringType

MAX_SUGGESTIONS = 5


def analyze(plan: lp.LogicalPlan) -> lp.LogicalPlan:
    """The resolved plan (a plan already resolved comes back as it is)."""
    if isinstance(plan, (lp.LogicalRDD, lp.Range)):
        return plan
    children = [analyze(c) for c in plan.children]
    node = plan.with_children(children)
    if isinstance(node, lp.Filter) and not node.resolved and contains_window(node.condition):
        raise windows.not_allowed("WHERE")
    try:
        if isinstance(node, lp.Project) and not node.resolved:
            return _project(node)
        if isinstance(node, lp.Filter) and not node.resolved:
            return _filter(node)
        if isinstance(node, lp.Aggregate) and not node.resolved:
            return _aggregate(node)
        if isinstance(node, lp.Join) and not node.resolved:
            return _join(node)
        if isinstance(node, lp.Sort) and not node.resolved:
            return _sort(node)
        if isinstance(node, lp.Repartition) and not node.resolved:
            keys = [type_tree(resolve(k, node.child.output())) for k in node.keys]
            return lp.Repartition(node.n, keys, node.shuffle, node.child, resolved=True)
    except AnalysisException as err:
        raise _with_plan(err, node) from None
    return node


def _with_plan(err: AnalysisException, node: lp.LogicalPlan) -> AnalysisException:
    """The error with the plan that failed after it, as Spark words it."""
    text = f"{err.getMessage()};\n{node.tree_string()}"
    return type(err)(text, err.getCondition(), err.getMessageParameters(), err.getSqlState())


def _project(node: lp.Project) -> lp.LogicalPlan:
    attrs = node.child.output()
    _check_no_grouping(node.project_list)
    if any(_aggregates_rows(x) for x in node.project_list):
        # select(avg("x")): an aggregate of all rows, as Spark's analyzer makes it.
        return _aggregate(lp.Aggregate([], node.project_list, node.child))
    child = node.child
    out: list[e.Expression] = []
    for item in node.project_list:
        if isinstance(item, e.UnresolvedStar):
            out.extend(expand_star(item, attrs))
            continue
        resolved = resolve(item, attrs)
        if _generator_of(resolved) is not None:
            # explode(...) in a select: a Generate below the projection, one per generator
            # in order (so a second one repeats the first's rows), as Spark plans it.
            child = _generate(resolved, child)
            out.extend(child.generated)
            continue
        if windows.uses_window(resolved):  # its name shows the frame the analyzer chose
            resolved = windows.resolve_frames(type_tree(resolved))
            name = e.output_name(windows.without_implicit_casts(resolved))
        else:
            name = e.output_name(resolved)
        if not isinstance(resolved, (e.Alias, e.AttributeReference)):
            resolved = e.Alias(resolved, name)
        _check_no_generator(resolved)
        out.append(type_tree(resolved))
    if any(windows.uses_window(x) for x in out):
        return windows.extract_windows(out, child)
    return lp.Project(out, child, resolved=True)


def _aggregates_rows(x: e.Expression) -> bool:
    """An aggregate function of the rows (not one a window computes)."""
    from sparkbook.sql.catalyst.aggregates import AggregateFunction

    if isinstance(x, windows.WindowExpression):
        return False
    return isinstance(x, AggregateFunction) or any(_aggregates_rows(c) for c in x.children)


def _generator_of(item: e.Expression) -> e.Generator | None:
    inner = item.child if isinstance(item, (e.Alias, e.MultiAlias)) else item
    return inner if isinstance(inner, e.Generator) else None


def _generate(item: e.Expression, child: lp.LogicalPlan) -> lp.Generate:
    generator = type_tree(_generator_of(item))
    dt = generator.dtype
    if isinstance(dt, MapType):
        names = ["key", "value"]
        fields = [(dt.keyType, False), (dt.valueType, dt.valueContainsNull)]
    else:
        names, fields = ["col"], [(dt.elementType, dt.containsNull)]
    if generator.with_position:
        names, fields = ["pos", *names], [(IntegerType(), False), *fields]
    if isinstance(item, (e.Alias, e.MultiAlias)):
        given = [item.name] if isinstance(item, e.Alias) else item.names
        if len(names) != len(given):
            raise AnalysisException(
                f"[UDTF_ALIAS_NUMBER_MISMATCH] The number of aliases supplied in the AS clause "
                f"does not match the number of columns output by the UDTF. Expected "
                f"{len(names)} aliases, but got {', '.join(given)}. Please ensure that the "
                f"number of aliases provided matches the number of columns output by the UDTF. "
                f"SQLSTATE: 42802", "UDTF_ALIAS_NUMBER_MISMATCH", {}, "42802")
        names = given
    generated = [e.AttributeReference(n, t, nullable or generator.outer)
                 for n, (t, nullable) in zip(names, fields)]
    return lp.Generate(generator, generated, child)


def _check_no_generator(x: e.Expression) -> None:
    for node in x.walk():
        if isinstance(node, e.Generator):
            raise AnalysisException(
                f'[UNSUPPORTED_GENERATOR.NESTED_IN_EXPRESSIONS] The generator is not '
                f'supported: nested in expressions "{e.output_name(x)}". SQLSTATE: 42K0E',
                "UNSUPPORTED_GENERATOR.NESTED_IN_EXPRESSIONS", {}, "42K0E")


def _filter(node: lp.Filter) -> lp.LogicalPlan:
    try:
        condition = type_tree(resolve(node.condition, node.child.output()))
    except AnalysisException:
        below = _filter_below_project(node)
        if below is None:
            raise
        return below
    _check_boolean(condition)
    return lp.Filter(condition, node.child, resolved=True)


def _filter_below_project(node: lp.Filter) -> lp.LogicalPlan | None:
    """``select("name").filter("age > 1")``: a filter may name a column its child projected
    away, as Spark's ResolveMissingReferences allows. The column is carried through the
    projection, filtered on, and projected away again above the filter."""
    project = node.child
    if not isinstance(project, lp.Project):
        return None
    shown = project.output()
    names = {a.name.lower() for a in shown}
    hidden = [a for a in project.child.output() if a.name.lower() not in names]
    try:
        condition = type_tree(resolve(node.condition, shown + hidden))
    except AnalysisException:
        return None
    _check_boolean(condition)
    used = {x.expr_id for x in condition.walk() if isinstance(x, e.AttributeReference)}
    carried = [a for a in hidden if a.expr_id in used]
    wider = lp.Project(project.project_list + carried, project.child, resolved=True)
    return lp.Project(shown, lp.Filter(condition, wider, resolved=True), resolved=True)


def _named(x: e.Expression) -> e.Expression:
    return x if isinstance(x, (e.Alias, e.AttributeReference)) else e.Alias(x, e.output_name(x))


def _check_no_grouping(items: list[e.Expression]) -> None:
    """grouping()/grouping_id() outside an aggregate over grouping sets (which resolves
    them itself)."""
    if any(isinstance(n, e.Grouping) for x in items for n in x.walk()):
        from sparkbook.sql.catalyst.grouping import unsupported_grouping

        raise unsupported_grouping()


def _aggregate(node: lp.Aggregate) -> lp.Aggregate:
    attrs = node.child.output()
    _check_no_grouping(node.aggregates)
    keys = [type_tree(resolve(k, attrs)) for k in node.keys]
    out: list[e.Expression] = []
    for item in node.aggregates:
        if isinstance(item, e.UnresolvedStar):
            out.extend(expand_star(item, attrs))
            continue
        out.append(type_tree(_named(resolve(item, attrs))))
    _check_grouped(keys, out)
    return lp.Aggregate(keys, out, node.child, resolved=True)


def _check_grouped(keys: list[e.Expression], items: list[e.Expression]) -> None:
    """Every column an aggregate's result names outside an aggregate function is (in) a
    grouping key, as Spark's CheckAnalysis demands."""
    from sparkbook.sql.catalyst.aggregates import AggregateFunction

    grouped = {k.explain() for k in keys} | {k.child.explain() for k in keys
                                            if isinstance(k, e.Alias)}

    def loose(x: e.Expression) -> e.Expression | None:
        if isinstance(x, (AggregateFunction, windows.WindowExpression)) or \
                x.explain() in grouped:
            return None
        if isinstance(x, e.AttributeReference):
            return x
        return next((c for c in map(loose, x.children) if c is not None), None)

    for item in items:
        column = loose(item.child if isinstance(item, e.Alias) else item)
        if column is None:
            continue
        if not keys:
            raise AnalysisException(
                "[MISSING_GROUP_BY] The query does not include a GROUP BY clause. Add GROUP BY "
                "or turn it into the window functions using OVER clauses. SQLSTATE: 42803",
                "MISSING_GROUP_BY", {}, "42803")
        name = e.output_name(column)
        raise AnalysisException(
            f'[MISSING_AGGREGATION] The non-aggregating expression "{name}" is based on '
            f"columns which are not participating in the GROUP BY clause. Add the columns or "
            f"the expression to the GROUP BY, aggregate the expression, or use "
            f'"any_value({name})" if you do not care which of the values within a group is '
            f"returned. SQLSTATE: 42803", "MISSING_AGGREGATION",
            {"expression": f'"{name}"'}, "42803")


def _join(node: lp.Join) -> lp.Join:
    left_plan, right_plan = node.children
    shared = deduplicate.conflicting(left_plan, right_plan)
    if shared:  # a self-join: the right side's columns get ids of their own
        right_plan, _ = deduplicate.new_instances(right_plan, shared)
    left, right = left_plan.output(), right_plan.output()
    if node.using is None:
        condition = None if node.condition is None else type_tree(
            resolve(node.condition, left + right))
        if condition is not None:
            _check_boolean(condition)
        return lp.Join(left_plan, right_plan, node.how, condition, None, True)
    lkeys = [resolve_name(e.UnresolvedAttribute([k]), left) for k in node.using]
    rkeys = [resolve_name(e.UnresolvedAttribute([k]), right) for k in node.using]
    condition = None
    for lk, rk in zip(lkeys, rkeys):
        eq = type_tree(e.BinaryComparison("=", lk, rk))
        condition = eq if condition is None else e.And(condition, eq)
    if condition is not None:
        condition = type_tree(condition)
    joined = lp.Join(left_plan, right_plan, node.how, condition, None, True)
    both = joined.output()  # nullability as the join type makes it
    by_id = {a.expr_id: a for a in both}
    lids, rids = {a.expr_id for a in lkeys}, {a.expr_id for a in rkeys}
    if node.how == "FullOuter":
        keys: list[e.Expression] = [
            type_tree(e.Alias(e.ScalarFunction("coalesce", [by_id[lk.expr_id],
                                                           by_id[rk.expr_id]]), lk.name))
            for lk, rk in zip(lkeys, rkeys)]
    elif node.how == "RightOuter":
        keys = [by_id[rk.expr_id] for rk in rkeys]
    else:
        keys = [by_id[lk.expr_id] for lk in lkeys]
    rest = [a for a in both if a.expr_id not in lids | rids]
    joined.project = keys + rest
    joined.using = list(node.using)
    return joined


def _sort(node: lp.Sort) -> lp.Sort:
    attrs = node.child.output()
    order = []
    for o in node.order:
        x = resolve(o, attrs)
        order.append(type_tree(x if isinstance(x, e.SortOrder) else e.SortOrder(x)))
    return lp.Sort(order, node.child, resolved=True)


def _check_boolean(condition: e.Expression) -> None:
    if not isinstance(condition.dtype, (BooleanType, NullType)):
        name = e.output_name(condition)
        raise mismatch(condition, "FILTER_NOT_BOOLEAN",
                       f'Filter expression "{name}" of type '
                       f'"{condition.dtype.simpleString().upper()}" is not a boolean.')


def expand_star(star: e.UnresolvedStar, attrs: list[e.AttributeReference]
                ) -> list[e.AttributeReference]:
    if not star.target:
        return list(attrs)
    target = [p.lower() for p in star.target]
    found = [a for a in attrs if [q.lower() for q in a.qualifier[-len(target):]] == target]
    if not found:
        raise AnalysisException(
            f"[CANNOT_RESOLVE_STAR_EXPAND] Cannot resolve `{'`.`'.join(star.target)}`.* "
            f"given input columns {', '.join(_quoted(a) for a in attrs)}. SQLSTATE: 42704",
            "CANNOT_RESOLVE_STAR_EXPAND", {}, "42704")
    return found


def resolve(x: e.Expression, attrs: list[e.AttributeReference]) -> e.Expression:
    """``x`` with every column name replaced by the attribute it names."""

    ids = {a.expr_id for a in attrs}

    def rule(node: e.Expression) -> e.Expression:
        if isinstance(node, e.UnresolvedAttribute):
            try:
                return resolve_name(node, attrs)
            except AnalysisException as err:
                nested = _struct_fields(node, attrs)
                if nested is None:
                    raise err from None
                return nested
        if isinstance(node, e.AttributeReference) and node.expr_id not in ids:
            # df.age used on a DataFrame derived from df that has replaced the column.
            return resolve_name(e.UnresolvedAttribute([node.name]), attrs)
        if isinstance(node, e.UnresolvedStar):
            raise AnalysisException(
                "[INVALID_USAGE_OF_STAR_OR_REGEX] Invalid usage of '*' in expression. "
                "SQLSTATE: 42000", "INVALID_USAGE_OF_STAR_OR_REGEX", {}, "42000")
        return node

    return x.transform_up(rule)


def _struct_fields(name: e.UnresolvedAttribute, attrs: list[e.AttributeReference]
                   ) -> e.Expression | None:
    """``s.f`` (``p.s.f.g``...): the longest leading part that names a column, then struct
    fields of it, as Spark's resolution of a dotted name falls back to."""
    for k in range(len(name.parts) - 1, 0, -1):
        try:
            x: e.Expression = resolve_name(e.UnresolvedAttribute(name.parts[:k]), attrs)
        except AnalysisException:
            continue
        rest = name.parts[k:]
        for i, part in enumerate(rest):
            x = e.ExtractValue(x, e.Literal(part, StringType()), field=True,
                               from_name=i == len(rest) - 1)
        return x
    return None


def resolve_name(name: e.UnresolvedAttribute, attrs: list[e.AttributeReference]
                 ) -> e.AttributeReference:
    parts = [p.lower() for p in name.parts]
    matches = [a for a in attrs if len(parts) == 1 and a.name.lower() == parts[0]]
    if len(parts) > 1:
        matches = [a for a in attrs if a.name.lower() == parts[-1] and
                   [q.lower() for q in a.qualifier[-(len(parts) - 1):]] == parts[:-1]]
    if len(matches) == 1:
        # The column takes the user's spelling of its name: select(col("AGE")) is "AGE".
        return matches[0].renamed(name.parts[-1])
    if matches:
        names = ", ".join(_quoted(a) for a in matches)
        shown = "`" + "`.`".join(name.parts) + "`"
        raise AnalysisException(
            f"[AMBIGUOUS_REFERENCE] Reference {shown} is ambiguous, could be: [{names}]. "
            f"SQLSTATE: 42704", "AMBIGUOUS_REFERENCE", {"name": shown}, "42704")
    raise unresolved_column(name.parts, attrs)


def unresolved_column(parts: list[str], attrs: list[e.AttributeReference],
                      ties_by_name: bool = True) -> AnalysisException:
    """Spark orders the columns it suggests by edit distance; ties keep the plan's order
    for ``df["x"]`` and, in the analyzer (whose candidates Spark holds in a hashed set), are
    broken here by name."""
    shown = "`" + "`.`".join(parts) + "`"
    # A one-part name is offered one-part names, as Spark's suggestions do.
    candidates = [_quoted(a) if len(parts) > 1 else f"`{a.name}`" for a in attrs]
    base = ".".join(parts)
    ranked = sorted(candidates, key=lambda c: (levenshtein(c.replace("`", ""), base),
                                               c if ties_by_name else ""))
    suggestion = ", ".join(ranked[:MAX_SUGGESTIONS])
    cls = "UNRESOLVED_COLUMN.WITH_SUGGESTION"
    message = (f"[{cls}] A column, variable, or function parameter with name {shown} cannot "
               f"be resolved. Did you mean one of the following? [{suggestion}]. "
               f"SQLSTATE: 42703")
    return AnalysisException(message, cls, {"objectName": shown,
                                            "proposal": suggestion}, "42703")


def _quoted(a: e.AttributeReference) -> str:
    return "`" + "`.`".join([*a.qualifier, a.name]) + "`"


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]
