"""DeduplicateRelations: the two sides of a join never share a column id.

A self-join (``emp e JOIN emp m``, ``df.alias("e").join(df.alias("m"), ...)``) joins a
plan with itself, so both sides' columns carry the same ids, and ``e.boss = m.id`` would
compare a row's columns with themselves. As Spark's analyzer does, the right side gets new
instances of the columns it shares with the left: fresh ids where they are made (a
relation's columns, an alias) and in every expression of the right side that reads them.
"""

from __future__ import annotations

import copy

from sparkbook.errors import AnalysisException
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst import logical as lp
from sparkbook.sql.catalyst.optimizer import transform_up


def conflicting(left: lp.LogicalPlan, right: lp.LogicalPlan) -> set[int]:
    """The ids both sides' outputs hold."""
    return {a.expr_id for a in left.output()} & {a.expr_id for a in right.output()}


def new_instances(plan: lp.LogicalPlan, ids: set[int]) -> tuple[lp.LogicalPlan, dict[int, int]]:
    """``plan`` with a fresh id for each of ``ids``, and the ids it gave (old -> new)."""
    fresh = {i: e.new_expr_id() for i in ids}
    return _renumbered(plan, fresh), fresh


def _renumbered(plan: lp.LogicalPlan, fresh: dict[int, int]) -> lp.LogicalPlan:
    node = copy.copy(plan)
    for name, value in vars(plan).items():
        if name == "children":
            node.children = tuple(_renumbered(c, fresh) for c in value)
        else:
            setattr(node, name, _renumbered_value(value, fresh))
    return node


def _renumbered_value(value: object, fresh: dict[int, int]) -> object:
    # A node's fields: expressions, lists of them (a projection, sort orders), lists of
    # lists (Expand's projections); anything else (an RDD, a file relation) is kept.
    if isinstance(value, e.Expression):
        return renumber(value, fresh)
    if isinstance(value, list):
        return [_renumbered_value(v, fresh) for v in value]
    return value


def renumber(x: e.Expression, fresh: dict[int, int]) -> e.Expression:
    """``x`` with the attributes and aliases of ``fresh``'s ids given their new ids."""
    def rule(node: e.Expression) -> e.Expression:
        if isinstance(node, (e.AttributeReference, e.Alias)) and node.expr_id in fresh:
            node = copy.copy(node)
            node.expr_id = fresh[node.expr_id]
        return node

    return transform_up(x, rule)


def self_join_condition(condition: e.Expression, shared: set[int],
                        fresh: dict[int, int]) -> e.Expression:
    """A DataFrame join's condition over columns taken from both sides of a self-join, as
    Spark's ``Dataset.join`` reads it: ``df.k == df2.k`` compares the left side's ``k``
    with the right side's; any other column the two sides share is ambiguous."""
    def trivial(node: e.Expression) -> bool:
        return (isinstance(node, e.BinaryComparison) and node.symbol in ("=", "<=>")
                and isinstance(node.left, e.AttributeReference)
                and isinstance(node.right, e.AttributeReference)
                and node.left.expr_id == node.right.expr_id and node.left.expr_id in shared)

    ambiguous: list[str] = []
    stack = [condition]
    while stack:
        x = stack.pop()
        if trivial(x):
            continue
        if isinstance(x, e.AttributeReference) and x.expr_id in shared and \
                x.explain() not in ambiguous:
            ambiguous.append(x.explain())
        stack.extend(reversed(x.children))
    if ambiguous:
        raise ambiguous_self_join(ambiguous)

    def rule(node: e.Expression) -> e.Expression:
        if trivial(node):
            node = copy.copy(node)
            node.children = (node.left, renumber(node.right, fresh))
        return node

    return transform_up(condition, rule)


def ambiguous_self_join(columns: list[str]) -> AnalysisException:
    return AnalysisException(
        f"Column {', '.join(columns)} are ambiguous. It's probably because you joined several "
        "Datasets together, and some of these Datasets are the same. This column points to "
        "one of the Datasets but Spark is unable to figure out which one. Please alias the "
        "Datasets with different names via `Dataset.as` before joining them, and specify "
        'the column using qualified name, e.g. `df.as("a").join(df.as("b"), $"a.id" > '
        '$"b.id")`. You can also set spark.sql.analyzer.failAmbiguousSelfJoin to false to '
        "disable this check.", "_LEGACY_ERROR_TEMP_1182", {})
