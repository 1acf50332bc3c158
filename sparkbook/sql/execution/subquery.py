"""Scalar subqueries run before the query that reads them, as Spark's ``ScalarSubquery``
executes before the outer plan: each one is a job of its own on the driver, and its value
is read by the outer query's tasks as a literal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from sparkbook.errors import SparkException
from sparkbook.sql.catalyst import expressions as e

if TYPE_CHECKING:
    from sparkbook.driver.context import SparkContext
    from sparkbook.sql.execution.physical import SparkPlan


def scalar_subqueries(plan: SparkPlan) -> Iterator[e.ScalarSubquery]:
    """Every scalar subquery the operators of ``plan`` read, each once."""
    seen: set[int] = set()

    def expressions(value) -> Iterator[e.Expression]:
        if isinstance(value, e.Expression):
            yield value
        elif isinstance(value, (list, tuple)):
            for v in value:
                yield from expressions(v)

    def walk(node: SparkPlan) -> Iterator[e.ScalarSubquery]:
        for value in vars(node).values():
            for x in expressions(value):
                for n in x.walk():
                    if isinstance(n, e.ScalarSubquery) and id(n) not in seen:
                        seen.add(id(n))
                        yield n
        for child in node.children:
            yield from walk(child)

    return walk(plan)


def execute_subqueries(plan: SparkPlan, sc: SparkContext) -> None:
    """Run each scalar subquery of ``plan`` and keep its value (NULL for no row)."""
    from sparkbook.sql.execution.physical import plan_query, run

    for sub in scalar_subqueries(plan):
        # top=False: a LIMIT in the subquery is cut in its tasks, not by a collect.
        batches = [b for b in run(plan_query(sub.plan, top=False), sc) if b.num_rows]
        rows = sum(b.num_rows for b in batches)
        if rows > 1:
            raise too_many_rows()
        sub.value = batches[0].column(0)[0].as_py() if rows else None


def too_many_rows() -> SparkException:
    # PySpark raises it as the JVM's SparkException (a Py4JJavaError), with no class of its
    # own: sparkbook's job failure, with Spark's message.
    return SparkException(
        "[SCALAR_SUBQUERY_TOO_MANY_ROWS] More than one row returned by a subquery used as "
        "an expression. SQLSTATE: 21000")
