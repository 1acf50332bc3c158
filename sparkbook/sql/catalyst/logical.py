"""Logical plans: what a DataFrame computes, in Spark's node names (``LogicalRDD``,
``Range``, ``Project``, ``Filter``, ``GlobalLimit``, ``SubqueryAlias``). A plan fresh from
the API may hold unresolved names; the analyzer returns one whose every node knows its
``output`` columns."""

from __future__ import annotations

from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst.trees import TreeNode
from sparkbook.sql.types import LongType


class LogicalPlan(TreeNode):
    resolved = True

    def output(self) -> list[e.AttributeReference]:
        raise NotImplementedError

    def with_children(self, children: list[LogicalPlan]) -> LogicalPlan:
        raise NotImplementedError

    def describe(self) -> str:
        return ("" if self.resolved else "'") + self.node_line()

    def node_line(self) -> str:
        raise NotImplementedError


class LeafNode(LogicalPlan):
    def with_children(self, children: list[LogicalPlan]) -> LogicalPlan:
        return self


class LogicalRDD(LeafNode):
    """An RDD of Arrow record batches whose columns are ``attributes``; ``source`` names the
    file format and ``location`` the paths when the RDD reads files (``spark.read``), and
    ``relation`` (``execution.files.FileRelation``) the files, from which the physical scan
    builds an RDD reading only the columns and rows the query needs."""

    def __init__(self, attributes: list[e.AttributeReference], rdd, source: str | None = None,
                 location: list[str] | None = None, relation=None) -> None:
        self.attributes = attributes
        self.rdd = rdd
        self.source, self.location = source, location
        self.relation = relation

    def output(self) -> list[e.AttributeReference]:
        return self.attributes

    def node_line(self) -> str:
        if self.source is not None:
            return f"Relation [{','.join(a.explain() for a in self.attributes)}] {self.source}"
        return f"LogicalRDD [{', '.join(a.explain() for a in self.attributes)}], false"


class LocalRelation(LeafNode):
    """No rows, with these columns: what a filter that is never true leaves (Spark's
    PruneFilters), and any operator over it (PropagateEmptyRelation)."""

    def __init__(self, attributes: list[e.AttributeReference]) -> None:
        self.attributes = attributes

    def output(self) -> list[e.AttributeReference]:
        return self.attributes

    def node_line(self) -> str:
        return f"LocalRelation <empty>, [{', '.join(a.explain() for a in self.attributes)}]"


class Range(LeafNode):
    def __init__(self, start: int, end: int, step: int, num_slices: int) -> None:
        self.start, self.end, self.step, self.num_slices = start, end, step, num_slices
        self.attribute = e.AttributeReference("id", LongType(), nullable=False)

    def output(self) -> list[e.AttributeReference]:
        return [self.attribute]

    def node_line(self) -> str:
        return (f"Range ({self.start}, {self.end}, step={self.step}, "
                f"splits={self.num_slices})")


class UnaryNode(LogicalPlan):
    @property
    def child(self) -> LogicalPlan:
        return self.children[0]


class Project(UnaryNode):
    def __init__(self, project_list: list[e.Expression], child: LogicalPlan,
                 resolved: bool = False) -> None:
        self.project_list = project_list
        self.children = (child,)
        self.resolved = resolved

    def output(self) -> list[e.AttributeReference]:
        return [p.to_attribute() if isinstance(p, e.Alias) else p for p in self.project_list]

    def with_children(self, children: list[LogicalPlan]) -> LogicalPlan:
        return Project(self.project_list, children[0], self.resolved)

    def node_line(self) -> str:
        shown = ", ".join(p.explain() for p in self.project_list)
        return f"Project [{shown}]" if shown else "Project"


class Filter(UnaryNode):
    def __init__(self, condition: e.Expression, child: LogicalPlan,
                 resolved: bool = False) -> None:
        self.condition = condition
        self.children = (child,)
        self.resolved = resolved

    def output(self) -> list[e.AttributeReference]:
        return self.child.output()

    def with_children(self, children: list[LogicalPlan]) -> LogicalPlan:
        return Filter(self.condition, children[0], self.resolved)

    def node_line(self) -> str:
        return f"Filter {self.condition.explain()}"


class GlobalLimit(UnaryNode):
    """At most ``n`` rows of the whole child (Spark plans it over a ``LocalLimit``)."""

    def __init__(self, n: int, child: LogicalPlan) -> None:
        self.n = n
        self.children = (child,)

    def output(self) -> list[e.AttributeReference]:
        return self.child.output()

    def with_children(self, children: list[LogicalPlan]) -> LogicalPlan:
        return GlobalLimit(self.n, children[0])

    def node_line(self) -> str:
        return f"GlobalLimit {self.n}"


class SubqueryAlias(UnaryNode):
    """``df.alias("p")``: the child's columns, which ``p.name`` can now name."""

    def __init__(self, alias: str, child: LogicalPlan) -> None:
        self.alias = alias
        self.children = (child,)

    def output(self) -> list[e.AttributeReference]:
        return [a.qualified((self.alias,)) for a in self.child.output()]

    def with_children(self, children: list[LogicalPlan]) -> LogicalPlan:
        return SubqueryAlias(self.alias, children[0])

    def node_line(self) -> str:
        return f"SubqueryAlias {self.alias}"


class Aggregate(UnaryNode):
    """``GROUP BY keys`` computing ``aggregates`` (named expressions over keys and
    aggregate functions): ``groupBy().agg()``, ``distinct()``, ``dropDuplicates()``."""

    def __init__(self, keys: list[e.Expression], aggregates: list[e.Expression],
                 child: LogicalPlan, resolved: bool = False) -> None:
        self.keys = keys
        self.aggregates = aggregates
        self.children = (child,)
        self.resolved = resolved

    def output(self) -> list[e.AttributeReference]:
        return [p.to_attribute() if isinstance(p, e.Alias) else p for p in self.aggregates]

    def with_children(self, children: list[LogicalPlan]) -> LogicalPlan:
        return Aggregate(self.keys, self.aggregates, children[0], self.resolved)

    def node_line(self) -> str:
        return (f"Aggregate [{', '.join(k.explain() for k in self.keys)}], "
                f"[{', '.join(a.explain() for a in self.aggregates)}]")


class Join(LogicalPlan):
    """Two plans joined: ``how`` is Spark's join type (``Inner``, ``LeftOuter``, ...);
    ``using`` names the key columns of ``join(other, "k")``, else ``condition`` is the
    expression (or None for a cross join)."""

    def __init__(self, left: LogicalPlan, right: LogicalPlan, how: str,
                 condition: e.Expression | None, using: list[str] | None = None,
                 resolved: bool = False) -> None:
        self.children = (left, right)
        self.how = how
        self.condition = condition
        self.using = using
        self.resolved = resolved
        self.project: list[e.Expression] | None = None  # the output order of a USING join

    def output(self) -> list[e.AttributeReference]:
        if self.project is not None:
            return [p.to_attribute() if isinstance(p, e.Alias) else p for p in self.project]
        left, right = self.children[0].output(), self.children[1].output()
        if self.how in ("LeftSemi", "LeftAnti"):
            return left
        if self.how in ("RightOuter", "FullOuter"):
            left = [a.as_nullable() for a in left]
        if self.how in ("LeftOuter", "FullOuter"):
            right = [a.as_nullable() for a in right]
        return left + right

    def with_children(self, children: list[LogicalPlan]) -> LogicalPlan:
        node = Join(children[0], children[1], self.how, self.condition, self.using,
                    self.resolved)
        node.project = self.project
        return node

    def node_line(self) -> str:
        if self.using is not None and not self.resolved:  # as the parsed plan shows it
            return f"Join UsingJoin({self.how}, [{', '.join(self.using)}])"
        cond = f", {self.condition.explain()}" if self.condition is not None else ""
        return f"Join {self.how}{cond}"


class Sort(UnaryNode):
    def __init__(self, order: list[e.Expression], child: LogicalPlan,
                 resolved: bool = False) -> None:
        self.order = order
        self.children = (child,)
        self.resolved = resolved

    def output(self) -> list[e.AttributeReference]:
        return self.child.output()

    def with_children(self, children: list[LogicalPlan]) -> LogicalPlan:
        return Sort(self.order, children[0], self.resolved)

    def node_line(self) -> str:
        return f"Sort [{', '.join(o.explain() for o in self.order)}], true"


class Union(LogicalPlan):
    """The rows of every child, by position; the columns are the first child's."""

    def __init__(self, children: list[LogicalPlan]) -> None:
        self.children = tuple(children)

    def output(self) -> list[e.AttributeReference]:
        first = self.children[0].output()
        nullable = [any(c.output()[i].nullable for c in self.children)
                    for i in range(len(first))]
        return [a if not n or a.nullable else a.as_nullable() for a, n in zip(first, nullable)]

    def with_children(self, children: list[LogicalPlan]) -> LogicalPlan:
        return Union(children)

    def node_line(self) -> str:
        return "Union false, false"


class ResolvedHint(UnaryNode):
    """``functions.broadcast(df)``: plan a join with this side broadcast."""

    def __init__(self, child: LogicalPlan) -> None:
        self.children = (child,)

    def output(self) -> list[e.AttributeReference]:
        return self.child.output()

    def with_children(self, children: list[LogicalPlan]) -> LogicalPlan:
        return ResolvedHint(children[0])

    def node_line(self) -> str:
        return "ResolvedHint (strategy=broadcast)"


class ReplicateRows(UnaryNode):
    """Each row of the child ``count`` times, without the count column (``exceptAll``,
    as Spark rewrites it: an aggregation of both sides, then this generator)."""

    def __init__(self, count: e.AttributeReference, output: list[e.AttributeReference],
                 child: LogicalPlan) -> None:
        self.count = count
        self.columns = output
        self.children = (child,)

    def output(self) -> list[e.AttributeReference]:
        return self.columns

    def with_children(self, children: list[LogicalPlan]) -> LogicalPlan:
        return ReplicateRows(self.count, self.columns, children[0])

    def node_line(self) -> str:
        shown = ", ".join(a.explain() for a in [self.count, *self.columns])
        return f"Generate replicaterows({shown}), [{', '.join(a.explain() for a in self.columns)}]"


class Expand(UnaryNode):
    """Each child row once per projection (``GROUPING SETS``, ``ROLLUP``, ``CUBE``, as
    Spark's analyzer plans them below the aggregate): a projection keeps the keys of its
    grouping set, has NULL for the others, and ends with its ``spark_grouping_id``."""

    def __init__(self, projections: list[list[e.Expression]],
                 columns: list[e.AttributeReference], child: LogicalPlan) -> None:
        self.projections, self.columns = projections, columns
        self.children = (child,)

    def output(self) -> list[e.AttributeReference]:
        return self.columns

    def with_children(self, children: list[LogicalPlan]) -> LogicalPlan:
        return Expand(self.projections, self.columns, children[0])

    def node_line(self) -> str:
        return expand_arguments(self.projections, self.columns)


def expand_arguments(projections: list[list[e.Expression]],
                     columns: list[e.AttributeReference]) -> str:
    """``Expand [[a#1, k#2, 0], [a#1, null, 1]], [a#1, k#5, spark_grouping_id#4L]``."""
    rows = ", ".join("[" + ", ".join(x.explain() for x in row) + "]" for row in projections)
    return f"Expand [{rows}], [{', '.join(a.explain() for a in columns)}]"


class Generate(UnaryNode):
    """``explode(arr)`` in a select: each child row once per element of its array (or
    entry of its map), with the ``generated`` columns (``col``; ``pos``; ``key``,
    ``value``) after the child's."""

    def __init__(self, generator: e.Generator, generated: list[e.AttributeReference],
                 child: LogicalPlan) -> None:
        self.generator = generator
        self.generated = generated
        self.children = (child,)

    def output(self) -> list[e.AttributeReference]:
        return self.child.output() + self.generated

    def with_children(self, children: list[LogicalPlan]) -> LogicalPlan:
        return Generate(self.generator, self.generated, children[0])

    def node_line(self) -> str:
        shown = ", ".join(a.explain() for a in self.generated)
        return f"Generate {self.generator.explain()}, {str(self.generator.outer).lower()}, " \
               f"[{shown}]"


class Repartition(UnaryNode):
    """``repartition(n, *cols)`` (a shuffle: by hash of ``keys``, else round robin) or
    ``coalesce(n)`` (neighbouring partitions merged, no shuffle)."""

    def __init__(self, n: int, keys: list[e.Expression], shuffle: bool, child: LogicalPlan,
                 resolved: bool = False) -> None:
        self.n, self.keys, self.shuffle = n, keys, shuffle
        self.children = (child,)
        self.resolved = resolved

    def output(self) -> list[e.AttributeReference]:
        return self.child.output()

    def with_children(self, children: list[LogicalPlan]) -> LogicalPlan:
        return Repartition(self.n, self.keys, self.shuffle, children[0], self.resolved)

    def node_line(self) -> str:
        if not self.shuffle:
            return f"Repartition {self.n}, false"
        if self.keys:
            keys = ", ".join(k.explain() for k in self.keys)
            return f"RepartitionByExpression [{keys}], {self.n}"
        return f"Repartition {self.n}, true"


class Window(UnaryNode):
    """The ``window_expressions`` (named ``WindowExpression``s of one partitioning and
    order) computed beside the child's columns, as Spark's analyzer pulls them out of a
    projection."""

    def __init__(self, window_expressions: list[e.Alias], partition: list[e.Expression],
                 order: list[e.Expression], child: LogicalPlan) -> None:
        self.window_expressions = window_expressions
        self.partition, self.order = partition, order
        self.children = (child,)

    def output(self) -> list[e.AttributeReference]:
        return self.child.output() + [w.to_attribute() for w in self.window_expressions]

    def with_children(self, children: list[LogicalPlan]) -> LogicalPlan:
        return Window(self.window_expressions, self.partition, self.order, children[0])

    def node_line(self) -> str:
        return "Window " + window_arguments(self.window_expressions, self.partition,
                                           self.order, lambda x: x.explain())


def window_arguments(exprs: list[e.Expression], partition: list[e.Expression],
                     order: list[e.Expression], show) -> str:
    """``[f OVER ... AS a], [keys], [order]``, the empty lists left out as Spark prints."""
    parts = [exprs] + [p for p in (partition, order) if p]
    return ", ".join("[" + ", ".join(show(x) for x in p) + "]" for p in parts)


def same_columns(items: list[e.Expression], attrs: list[e.AttributeReference]) -> bool:
    """A projection of exactly these columns, in order and by name (one Spark's optimizer
    removes)."""
    return len(items) == len(attrs) and all(
        isinstance(i, e.AttributeReference) and i.expr_id == a.expr_id and i.name == a.name
        for i, a in zip(items, attrs))
