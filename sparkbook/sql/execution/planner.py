"""Planning the second slice's logical nodes: where the exchanges go (Spark's
EnsureRequirements, by hand), partial aggregation before them, and the join strategy
(broadcast below ``spark.sql.autoBroadcastJoinThreshold`` or under a ``broadcast`` hint,
else a shuffled hash join)."""

from __future__ import annotations

from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst import logical as lp
from sparkbook.sql.catalyst.aggregates import AggregateFunction
from sparkbook.sql.execution import exchange as x
from sparkbook.sql.execution.joins import HashJoinExec, JoinSpec, split_condition
from sparkbook.sql.execution.operators import (
    BroadcastExchangeExec,
    CoalesceExec,
    HashAggregateExec,
    ReplicateRowsExec,
    ShuffleExchangeExec,
    SortExec,
    TakeOrderedAndProjectExec,
    UnionExec,
)
from sparkbook.sql.execution.physical import (
    ProjectExec,
    SparkPlan,
    ordered_limit,
    plan_physical,
)

UNKNOWN_SIZE = 2 ** 63 - 1  # Spark's default for a plan it cannot size (an RDD's)


def settings() -> dict[str, str]:
    """The active session's SQL settings that planning and adaptive execution read."""
    from sparkbook.sql.session import SQL_DEFAULTS, SparkSession

    session = SparkSession.getActiveSession()
    out = dict(SQL_DEFAULTS)
    if session is not None:
        for key in list(out) + ["spark.sql.adaptive.coalescePartitions.enabled",
                                "spark.sql.adaptive.advisoryPartitionSizeInBytes",
                                "spark.sql.adaptive.coalescePartitions.minPartitionSize"]:
            value = session.conf.get(key, None)
            if value is not None:
                out[key] = value
    return out


def plan_more(plan: lp.LogicalPlan, top: bool) -> SparkPlan | None:
    conf = settings()
    n = int(conf["spark.sql.shuffle.partitions"])
    if isinstance(plan, lp.Aggregate):
        return plan_aggregate(plan, conf, n)
    if isinstance(plan, lp.Join):
        return plan_join(plan, conf, n)
    if isinstance(plan, lp.Sort):
        order = [o for o in plan.order if isinstance(o, e.SortOrder)]
        child = plan_physical(plan.child, False)
        return SortExec(order, ShuffleExchangeExec(x.RangePartitioning(order, n), child, conf))
    if isinstance(plan, lp.Union):
        return UnionExec([plan_physical(c, False) for c in plan.children], plan.output())
    if isinstance(plan, lp.GlobalLimit) and ordered_limit(plan) is not None:
        project, sort = ordered_limit(plan)
        order = [o for o in sort.order if isinstance(o, e.SortOrder)]
        return TakeOrderedAndProjectExec(plan.n, order, plan_physical(sort.child, False),
                                         project.project_list if project else None)
    if isinstance(plan, lp.Repartition):
        child = plan_physical(plan.child, False)
        if not plan.shuffle:
            return CoalesceExec(plan.n, child)
        part = x.HashPartitioning(plan.keys, plan.n) if plan.keys else \
            x.RoundRobinPartitioning(plan.n)
        return ShuffleExchangeExec(part, child, conf, user_asked=True)
    if isinstance(plan, lp.ReplicateRows):
        return ReplicateRowsExec(plan.count, plan.columns, plan_physical(plan.child, False))
    if isinstance(plan, lp.ResolvedHint):
        return plan_physical(plan.child, top)
    if isinstance(plan, lp.Window):
        from sparkbook.sql.execution.window import plan_window

        return plan_window(plan, conf, n)
    if isinstance(plan, lp.Expand):
        from sparkbook.sql.execution.expand import ExpandExec

        return ExpandExec(plan.projections, plan.columns, plan_physical(plan.child, False))
    if isinstance(plan, lp.Generate):
        from sparkbook.sql.execution.generate import GenerateExec

        return GenerateExec(plan.generator, plan.generated, plan_physical(plan.child, False))
    return None


def plan_aggregate(plan: lp.Aggregate, conf: dict[str, str], n: int) -> SparkPlan:
    functions: list[AggregateFunction] = []
    func_attrs: list[e.AttributeReference] = []
    seen: dict[str, e.AttributeReference] = {}

    def take_function(node: e.Expression) -> e.Expression:
        if not isinstance(node, AggregateFunction):
            return node
        key = f"{node.explain()} {node.distinct} {node.ignore_nulls}"
        if key not in seen:
            functions.append(node)
            seen[key] = e.AttributeReference(node.sql(), node.dtype, node.nullable)
            func_attrs.append(seen[key])
        return seen[key]

    keys = plan.keys
    key_attrs = [k if isinstance(k, e.AttributeReference) else k.to_attribute()
                 if isinstance(k, e.Alias) else
                 e.AttributeReference(e.output_name(k), k.dtype, k.nullable) for k in keys]
    # A result names a key by the key itself, or (groupBy(expr.alias("m"))) by its alias.
    by_key = {k.explain(): a for k, a in zip(keys, key_attrs)}
    by_key.update({k.child.explain(): a for k, a in zip(keys, key_attrs)
                   if isinstance(k, e.Alias)})

    def rewrite(node: e.Expression) -> e.Expression:
        if isinstance(node, AggregateFunction):
            return take_function(node)
        if node.explain() in by_key:
            return by_key[node.explain()]
        return node

    results = [_rewrite_top(r, rewrite) for r in plan.aggregates]
    child = plan_physical(plan.child, False)
    partial = HashAggregateExec(keys, functions, child, True, key_attrs)
    partitioning = x.HashPartitioning(key_attrs, n) if keys else x.Partitioning()
    exchange = ShuffleExchangeExec(partitioning, partial, conf)
    return HashAggregateExec(keys, functions, exchange, False, key_attrs, results, func_attrs)


def _rewrite_top(x_: e.Expression, rule) -> e.Expression:
    """Aggregates and grouping keys replaced by the columns the final step computes."""
    def walk(node: e.Expression) -> e.Expression:
        replaced = rule(node)
        if replaced is not node:
            return replaced
        if not node.children:
            return node
        out = node.with_children([walk(c) for c in node.children])
        out.dtype, out.nullable = node.dtype, node.nullable
        return out
    return walk(x_)


def estimated_size(plan: lp.LogicalPlan) -> int:
    """Spark's size estimate (``sizeInBytes`` without statistics): a range knows its rows
    (8 bytes each), a file relation is its files' total size, an RDD's size is unknown; a
    filter keeps its child's estimate, other operators scale it by the width of their rows
    against their child's; a join multiplies its sides', a union adds them."""
    if isinstance(plan, lp.Range):
        return max(0, -(-(plan.end - plan.start) // plan.step)) * 8
    if isinstance(plan, lp.LocalRelation):
        return 0
    if isinstance(plan, lp.LogicalRDD):
        return plan.relation.size_in_bytes if plan.relation is not None else UNKNOWN_SIZE
    if isinstance(plan, lp.GlobalLimit):
        return min(estimated_size(plan.child), plan.n * _row_size(plan.output()))
    if isinstance(plan, lp.Join):
        left, right = (estimated_size(c) for c in plan.children)
        if plan.how in ("LeftSemi", "LeftAnti"):
            return left
        return UNKNOWN_SIZE if UNKNOWN_SIZE in (left, right) else left * right
    if isinstance(plan, lp.Union):
        sizes = [estimated_size(c) for c in plan.children]
        return UNKNOWN_SIZE if UNKNOWN_SIZE in sizes else sum(sizes)
    if isinstance(plan, lp.Aggregate) and not plan.keys:
        return _row_size(plan.output())  # one row
    if plan.children and len(plan.children) == 1:
        child = estimated_size(plan.children[0])
        if child == UNKNOWN_SIZE or isinstance(plan, (lp.Filter, lp.ResolvedHint)):
            return child
        return max(1, child * _row_size(plan.output()) //
                   _row_size(plan.children[0].output()))
    return UNKNOWN_SIZE


def _row_size(attrs: list[e.AttributeReference]) -> int:
    """Spark's ``getSizePerRow``: 8 bytes of row header and each column's default size."""
    return 8 + sum(_default_size(a.dtype) for a in attrs)


def _default_size(dt) -> int:
    from sparkbook.sql import types as T

    if isinstance(dt, T.ArrayType):
        return _default_size(dt.elementType)
    if isinstance(dt, T.MapType):
        return _default_size(dt.keyType) + _default_size(dt.valueType)
    if isinstance(dt, T.StructType):
        return sum(_default_size(f.dataType) for f in dt.fields)
    if isinstance(dt, T.DecimalType):
        return 8 if dt.precision <= 18 else 16
    sizes = {T.ByteType: 1, T.BooleanType: 1, T.NullType: 1, T.ShortType: 2,
             T.IntegerType: 4, T.FloatType: 4, T.DateType: 4, T.StringType: 20,
             T.BinaryType: 100}
    return sizes.get(type(dt), 8)


def _hinted(plan: lp.LogicalPlan) -> bool:
    while isinstance(plan, (lp.SubqueryAlias, lp.Project, lp.Filter)):
        plan = plan.children[0]
    return isinstance(plan, lp.ResolvedHint)


def plan_join(plan: lp.Join, conf: dict[str, str], n: int) -> SparkPlan:
    lplan, rplan = plan.children
    left_attrs, right_attrs = lplan.output(), rplan.output()
    lkeys, rkeys, residual = split_condition(plan.condition, left_attrs, right_attrs)
    both = lp.Join(lplan, rplan, plan.how, plan.condition, None, True).output()
    spec = JoinSpec(plan.how, left_attrs, right_attrs, lkeys, rkeys, residual, both)
    joined = _join_strategy(plan, spec, conf, n)
    # A join on names keeps each key once, first: a projection above it, as Spark plans it.
    return ProjectExec(plan.project, joined) if plan.project is not None else joined


def _join_strategy(plan: lp.Join, spec: JoinSpec, conf: dict[str, str], n: int) -> SparkPlan:
    lplan, rplan = plan.children
    lkeys, rkeys = spec.lkeys, spec.rkeys
    left, right = plan_physical(lplan, False), plan_physical(rplan, False)
    threshold = x._bytes(conf["spark.sql.autoBroadcastJoinThreshold"])
    small_right = _hinted(rplan) or 0 <= estimated_size(rplan) <= threshold
    small_left = _hinted(lplan) or 0 <= estimated_size(lplan) <= threshold
    build = None
    if not lkeys and plan.how == "Inner" and not small_right:
        return HashJoinExec(spec, left, right, None, plan.condition)  # CartesianProduct
    # Without keys, a nested loop join broadcasts the side the join type does not keep
    # (a full outer join broadcasts the right, and reads the left in one task).
    if plan.how in ("Inner", "LeftOuter", "LeftSemi", "LeftAnti") and (small_right or not lkeys):
        build = "right"
    elif plan.how in ("Inner", "RightOuter") and (small_left or not lkeys):
        build = "left"
    elif plan.how == "FullOuter" and not lkeys:
        build = "right"
    if build == "right":
        return HashJoinExec(spec, left, BroadcastExchangeExec(right, rkeys), build, plan.condition)
    if build == "left":
        return HashJoinExec(spec, BroadcastExchangeExec(left, lkeys), right, build, plan.condition)
    lx = ShuffleExchangeExec(x.HashPartitioning(lkeys, n), left, conf)
    rx = ShuffleExchangeExec(x.HashPartitioning(rkeys, n), right, conf)
    return HashJoinExec(spec, lx, rx, None, plan.condition)
