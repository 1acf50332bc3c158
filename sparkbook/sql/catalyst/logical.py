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
    """An RDD of Arrow record batches whose columns are ``attributes``."""

    def __init__(self, attributes: list[e.AttributeReference], rdd) -> None:
        self.attributes = attributes
        self.rdd = rdd

    def output(self) -> list[e.AttributeReference]:
        return self.attributes

    def node_line(self) -> str:
        return f"LogicalRDD [{', '.join(a.explain() for a in self.attributes)}], false"


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
        return f"Project [{', '.join(p.explain() for p in self.project_list)}]"


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
