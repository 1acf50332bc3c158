"""The physical plan: operators that become RDDs of Arrow record batches, run as ordinary
jobs on the executors through the driver's public RDD API.

``Project`` and ``Filter`` run per batch inside the task that reads the batch (the stage's
pipeline; ``*(1)`` in ``explain()``, as Spark marks its whole-stage code). This slice has no
exchanges, so a query is one stage; its name says what it does, e.g.
``Project [name, (age + 1)] <- Scan ExistingRDD[name,age] at cell 3, line 2``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pyarrow as pa

import sparkbook.errors as errors
from sparkbook.errors import PythonException
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst import logical as lp
from sparkbook.sql.catalyst.trees import TreeNode
from sparkbook.sql.execution.arrow import range_batches
from sparkbook.sql.execution.evaluate import BatchEvaluator

if TYPE_CHECKING:
    from sparkbook.driver.context import SparkContext
    from sparkbook.rdd import RDD


class SparkPlan(TreeNode):
    pipelined = True  # runs inside the stage's per-batch pipeline

    def output(self) -> list[e.AttributeReference]:
        return self.children[0].output()

    def execute(self, sc: SparkContext) -> RDD:
        """An RDD whose partitions are this operator's record batches."""
        raise NotImplementedError

    def node_line(self, ids: bool = True) -> str:
        raise NotImplementedError

    def describe(self) -> str:
        return ("*(1) " if self.pipelined else "") + self.node_line()

    def _named(self, rdd):
        return rdd.setName(self.node_line(ids=False))

    def _per_partition(self, sc: SparkContext, func, *args) -> RDD:
        """The child's partitions through ``func(child's columns, *args, batches)``."""
        f = functools.partial(func, self.children[0].output(), *args)
        return self._named(self.children[0].execute(sc).mapPartitions(f, True))


def _attrs(attrs: list[e.AttributeReference], ids: bool, sep: str) -> str:
    return sep.join(a.explain() if ids else a.name for a in attrs)


class RDDScanExec(SparkPlan):
    def __init__(self, attributes: list[e.AttributeReference], rdd,
                 source: str | None = None, location: list[str] | None = None) -> None:
        self.attributes = attributes
        self.rdd = rdd
        self.source, self.location = source, location

    def output(self) -> list[e.AttributeReference]:
        return self.attributes

    def node_line(self, ids: bool = True) -> str:
        if self.source is None:
            return f"Scan ExistingRDD[{_attrs(self.attributes, ids, ',')}]"
        if not ids:  # a stage's name: short
            return f"FileScan {self.source} [{_attrs(self.attributes, ids, ',')}]"
        paths = self.location or []
        shown = ", ".join(f"file:{p}" for p in paths)
        schema = ",".join(f"{a.name}:{a.dtype.simpleString()}" for a in self.attributes)
        return (f"FileScan {self.source} [{_attrs(self.attributes, ids, ',')}] Batched: "
                f"{'true' if self.source == 'parquet' else 'false'}, DataFilters: [], "
                f"Format: {self.source.upper() if self.source != 'parquet' else 'Parquet'}, "
                f"Location: InMemoryFileIndex({len(paths)} paths)[{shown}], "
                f"PartitionFilters: [], PushedFilters: [], ReadSchema: struct<{schema}>")

    def execute(self, sc: SparkContext) -> RDD:
        return self.rdd


class RangeExec(SparkPlan):
    def __init__(self, plan: lp.Range) -> None:
        self.plan = plan

    def output(self) -> list[e.AttributeReference]:
        return self.plan.output()

    def node_line(self, ids: bool = True) -> str:
        return self.plan.node_line()

    def execute(self, sc: SparkContext) -> RDD:
        r = self.plan
        count = max(0, -(-(r.end - r.start) // r.step))
        # Spark's split: slice i holds elements [i * n / slices, (i + 1) * n / slices).
        bounds = [(r.start + (i * count // r.num_slices) * r.step,
                   r.start + ((i + 1) * count // r.num_slices) * r.step)
                  for i in range(r.num_slices)]
        step = r.step
        rdd = sc.parallelize(bounds, r.num_slices).mapPartitions(
            functools.partial(_range_partition, step), preservesPartitioning=True)
        return self._named(rdd)


def _range_partition(step: int, bounds: Iterator[tuple[int, int]]) -> Iterator[pa.RecordBatch]:
    for lo, hi in bounds:
        yield from range_batches(lo, hi, step)


class ProjectExec(SparkPlan):
    def __init__(self, project_list: list[e.Expression], child: SparkPlan) -> None:
        self.project_list = project_list
        self.children = (child,)

    def output(self) -> list[e.AttributeReference]:
        return [p.to_attribute() if isinstance(p, e.Alias) else p for p in self.project_list]

    def node_line(self, ids: bool = True) -> str:
        shown = (p.explain() if ids else e.output_name(p) for p in self.project_list)
        return f"Project [{', '.join(shown)}]"

    def execute(self, sc: SparkContext) -> RDD:
        return self._per_partition(sc, _project, self.project_list)


def _project(inputs: list[e.AttributeReference], project_list: list[e.Expression],
             batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    ev = BatchEvaluator(inputs)
    names = [str(i) for i in range(len(project_list))]
    for batch in batches:
        columns = [ev.column(p, batch) for p in project_list]
        yield (pa.RecordBatch.from_arrays(columns, names=names) if columns
               else _empty_columns(batch.num_rows))


def _empty_columns(num_rows: int) -> pa.RecordBatch:
    # A batch of no columns still has rows (select() of nothing, then count()).
    return pa.RecordBatch.from_struct_array(pa.array([{}] * num_rows, pa.struct([])))


class FilterExec(SparkPlan):
    def __init__(self, condition: e.Expression, child: SparkPlan) -> None:
        self.condition = condition
        self.children = (child,)

    def node_line(self, ids: bool = True) -> str:
        return f"Filter {self.condition.explain() if ids else self.condition.sql()}"

    def execute(self, sc: SparkContext) -> RDD:
        return self._per_partition(sc, _filter, self.condition)


def _filter(inputs: list[e.AttributeReference], condition: e.Expression,
            batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    ev = BatchEvaluator(inputs)
    for batch in batches:
        # NULL is not true: a row whose condition is NULL is dropped.
        yield batch.filter(ev.column(condition, batch), null_selection_behavior="drop")


class LimitExec(SparkPlan):
    """At most ``n`` rows: each task stops after ``n``; the rest is gathered into one
    partition (a narrow coalesce, keeping partition order) and cut to ``n`` again. As the
    last operator (``CollectLimit``), the driver makes the final cut."""

    pipelined = False

    def __init__(self, n: int, child: SparkPlan, collect: bool) -> None:
        self.n = n
        self.children = (child,)
        self.collect = collect

    def node_line(self, ids: bool = True) -> str:
        return f"CollectLimit {self.n}" if self.collect else f"GlobalLimit {self.n}"

    def execute(self, sc: SparkContext) -> RDD:
        f = functools.partial(_local_limit, self.n)
        rdd = self.children[0].execute(sc).mapPartitions(f, True)
        if not self.collect:
            rdd = rdd.coalesce(1).mapPartitions(f, True)
        return self._named(rdd)


def _local_limit(n: int, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    left = n
    for batch in batches:
        if left <= 0:
            return
        batch = batch.slice(0, left)
        left -= batch.num_rows
        yield batch


def plan_physical(plan: lp.LogicalPlan, top: bool = True) -> SparkPlan:
    """The physical operators for an analyzed logical plan."""
    if isinstance(plan, lp.LogicalRDD):
        return RDDScanExec(plan.attributes, plan.rdd, plan.source, plan.location)
    if isinstance(plan, lp.Range):
        return RangeExec(plan)
    if isinstance(plan, lp.SubqueryAlias):
        return plan_physical(plan.child, top)
    if isinstance(plan, lp.Project) and isinstance(plan.child, lp.Window) and \
            lp.same_columns(plan.project_list, plan.child.output()):
        return plan_physical(plan.child, top)  # every column as it is: Spark drops it
    if isinstance(plan, lp.Project):
        return ProjectExec(plan.project_list, plan_physical(plan.child, False))
    if isinstance(plan, lp.Filter):
        return FilterExec(plan.condition, plan_physical(plan.child, False))
    if isinstance(plan, lp.GlobalLimit) and not isinstance(plan.child, lp.Sort):
        return LimitExec(plan.n, plan_physical(plan.child, False), collect=top)
    from sparkbook.sql.execution.planner import plan_more  # exchanges, joins, aggregates

    planned = plan_more(plan, top)
    if planned is not None:
        return planned
    raise errors.AnalysisException(f"[INTERNAL_ERROR] Cannot plan {type(plan).__name__}.",
                                   "INTERNAL_ERROR")


def explain_string(plan: SparkPlan) -> str:
    """The plan as ``explain()`` prints it: each operator marked ``*(n)`` with the stage it
    runs in (numbered in the order stages run, as Spark's codegen ids roughly are), the
    exchanges between them unmarked; with exchanges, under ``AdaptiveSparkPlan``."""
    ids: dict[int, int] = {}
    counter = iter(range(1, 1 << 30))

    def number(node: SparkPlan) -> int:
        stages = [number(c) for c in node.children]
        inside = [sid for c, sid in zip(node.children, stages)
                  if not getattr(c, "exchange", False)]
        sid = inside[0] if inside else next(counter)
        ids[id(node)] = sid
        return sid

    number(plan)
    lines: list[str] = []
    has_exchange = False

    def walk(node: SparkPlan, first: str, rest: str) -> None:
        nonlocal has_exchange
        has_exchange = has_exchange or getattr(node, "exchange", False)
        if not node.pipelined:
            lines.append(first + node.node_line())
        else:
            lines.append(f"{first}*({ids[id(node)]}) {node.node_line()}")
        for i, child in enumerate(node.children):
            last = i == len(node.children) - 1
            walk(child, rest + ("+- " if last else ":- "), rest + ("   " if last else ":  "))

    walk(plan, "", "")
    if has_exchange:
        lines = ["AdaptiveSparkPlan isFinalPlan=false"] + [
            ("+- " if i == 0 else "   ") + line for i, line in enumerate(lines)]
    return "\n".join(lines) + "\n"


def stage_name(plan: SparkPlan) -> str:
    """What the stage does: its operators from the last to the first, down to the exchange
    it reads (whose map side is the stage before)."""
    parts = []
    node: SparkPlan | None = plan
    while node is not None:
        parts.append(node.node_line(ids=False))
        if getattr(node, "exchange", False) and node is not plan:
            break
        inside = [c for c in node.children if not getattr(c, "exchange", False)]
        node = (inside or list(node.children) or [None])[0]
        if node is not None and getattr(node, "exchange", False):
            parts.append(node.node_line(ids=False))
            break
    return " <- ".join(parts)


def run(plan: SparkPlan, sc: SparkContext, then: Callable[[RDD], RDD] | None = None) -> list:
    """Collect the plan's batches (or ``then`` of them) as one job named for the plan; an
    error a task raised, in this job or in a job an exchange ran first, comes back as the
    error class it was (ArithmeticException, ...)."""
    from sparkbook.driver.callsite import user_callsite  # the driver's side only

    site = f"{stage_name(plan)} at {user_callsite()}"
    previous = sc.getLocalProperty("callSite.short")
    try:
        rdd = plan.execute(sc)
        rdd = then(rdd) if then is not None else rdd
        sc.setLocalProperty("callSite.short", site)
        return rdd.collect()
    except PythonException as err:
        raise task_error(err) from None
    finally:
        sc.setLocalProperty("callSite.short", previous)
        release(plan)


def release(plan: SparkPlan) -> None:
    """Drop what the query broadcast, once its job is over (executors keep no copies)."""
    for child in plan.children:
        release(child)
    block = getattr(plan, "block", None)
    if block is not None:
        block.unpersist()
        plan.block = None


_CLASS = re.compile(r"^\[([A-Z_.]+)\]")
_STATE = re.compile(r"SQLSTATE: (\w+)")


def task_error(err: PythonException) -> Exception:
    """The SQL error a task raised, rebuilt on the driver, or the job failure as it was."""
    module, _, name = (err.remote_type or "").rpartition(".")
    kind = getattr(errors, name, None) if module == "sparkbook.errors" else None
    if not (isinstance(kind, type) and issubclass(kind, errors.PySparkException)):
        return err
    message = err.remote_message
    error_class = _CLASS.match(message)
    state = _STATE.search(message)
    return kind(message, error_class.group(1) if error_class else None, {},
                state.group(1) if state else None)


def count_rows(batches: Iterator[pa.RecordBatch]) -> list[int]:
    return [sum(b.num_rows for b in batches)]


def first_batches(batches: list[pa.RecordBatch], n: int) -> list[pa.RecordBatch]:
    """The first ``n`` rows of collected batches (CollectLimit's cut on the driver)."""
    out, left = [], n
    for batch in batches:
        if left <= 0:
            break
        out.append(batch.slice(0, left))
        left -= out[-1].num_rows
    return out
