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
from sparkbook.sql.catalyst.expressions import printing_physical_plan
from sparkbook.sql.catalyst.trees import TreeNode, subquery_lines
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
    def __init__(self, attributes: list[e.AttributeReference], rdd) -> None:
        self.attributes = attributes
        self.rdd = rdd

    def output(self) -> list[e.AttributeReference]:
        return self.attributes

    def node_line(self, ids: bool = True) -> str:
        return f"Scan ExistingRDD[{_attrs(self.attributes, ids, ',')}]"

    def execute(self, sc: SparkContext) -> RDD:
        return self.rdd


MAX_METADATA_STRING_LENGTH = 100  # spark.sql.maxMetadataStringLength


def _abbreviated(items: list[str]) -> str:
    text = f"[{', '.join(items)}]"
    limit = MAX_METADATA_STRING_LENGTH
    return text if len(text) <= limit else text[:limit - 3] + "..."


class FileSourceScanExec(SparkPlan):
    """Spark's ``FileScan``: the files of a relation read for one query, only the columns
    ``attributes`` (those the operators above name), only the files whose ``k=v`` folders
    pass the partition filters, and, for parquet, the data filters pyarrow can apply while
    reading (skipping row groups by their statistics). The Filter above still checks every
    row, so a filter a source cannot apply costs time, never a wrong row."""

    pipelined = False  # a FileScan is no part of Spark's generated code either

    def __init__(self, leaf: lp.LogicalRDD, attributes: list[e.AttributeReference],
                 data_filters: list[e.Expression], partition_filters: list[e.Expression]
                 ) -> None:
        from sparkbook.sql.catalyst.optimizer import and_all
        from sparkbook.sql.execution import files

        self.leaf, self.attributes = leaf, attributes
        self.data_filters, self.partition_filters = data_filters, partition_filters
        relation = leaf.relation
        n_data = len(relation.spec.data_schema.fields)
        position = {a.expr_id: i for i, a in enumerate(leaf.attributes)}
        self.columns = [position[a.expr_id] for a in attributes]
        self.files = relation.files
        if partition_filters:
            self.files = files.prune_partitions(self.files, leaf.attributes[n_data:],
                                                and_all(partition_filters))
        self.pushed = [f for f in map(files.source_filter, data_filters) if f]
        self.arrow_filter = None
        if relation.spec.format == "parquet":
            names = {a.expr_id: f.name for a, f in
                     zip(leaf.attributes, relation.spec.data_schema.fields)}
            pushable = [x for x in (files.arrow_filter(c, names) for c in data_filters)
                        if x is not None]
            for x in pushable:
                self.arrow_filter = x if self.arrow_filter is None else self.arrow_filter & x
        self.read_schema = [a for a in attributes if position[a.expr_id] < n_data]

    def output(self) -> list[e.AttributeReference]:
        return self.attributes

    def node_line(self, ids: bool = True) -> str:
        source = self.leaf.source
        if not ids:  # a stage's name: short
            return f"FileScan {source} [{_attrs(self.attributes, ids, ',')}]"
        paths = self.leaf.location or []
        shown = ", ".join(f"file:{p}" for p in paths)
        schema = ",".join(f"{a.name}:{a.dtype.simpleString()}" for a in self.read_schema)
        return (f"FileScan {source} [{_attrs(self.attributes, ids, ',')}] Batched: "
                f"{'true' if source == 'parquet' else 'false'}, "
                f"DataFilters: {_abbreviated([c.explain() for c in self.data_filters])}, "
                f"Format: {source.upper() if source != 'parquet' else 'Parquet'}, "
                f"Location: InMemoryFileIndex({len(paths)} paths)[{shown}], "
                f"PartitionFilters: "
                f"{_abbreviated([c.explain() for c in self.partition_filters])}, "
                f"PushedFilters: {_abbreviated(self.pushed)}, ReadSchema: struct<{schema}>")

    def execute(self, sc: SparkContext) -> RDD:
        from sparkbook.sql.execution import files

        spec, partitions = self.leaf.relation.planned(self.columns, self.arrow_filter,
                                                      self.files)
        rdd = sc.parallelize(partitions or [[]], max(len(partitions), 1))
        return self._named(rdd.mapPartitions(functools.partial(files.read_partitions, spec)))


def plan_file_scan(plan: lp.LogicalPlan) -> SparkPlan | None:
    """Spark's FileSourceStrategy: a projection and a filter over a file relation become a
    scan of the columns they name, with the filters pushed into it (those over partition
    columns only choose the files, and leave the Filter), then the Filter and the Project
    that remain."""
    from sparkbook.sql.catalyst.optimizer import and_all, conjuncts, references

    project = plan if isinstance(plan, lp.Project) else None
    node = plan.child if project is not None else plan
    filt = node if isinstance(node, lp.Filter) else None
    leaf = filt.child if filt is not None else node
    if not isinstance(leaf, lp.LogicalRDD) or leaf.relation is None:
        return None
    parts = conjuncts(filt.condition) if filt is not None else []
    if project is not None:
        needed = set().union(*(references(x) for x in project.project_list + parts))
        attributes = [a for a in leaf.attributes if a.expr_id in needed]
    else:
        attributes = list(leaf.attributes)
    n_data = len(leaf.relation.spec.data_schema.fields)
    partition_ids = {a.expr_id for a in leaf.attributes[n_data:]}
    on_partitions = [c for c in parts if references(c) and references(c) <= partition_ids]
    data_filters = [c for c in parts if c not in on_partitions]
    out: SparkPlan = FileSourceScanExec(leaf, attributes, data_filters, on_partitions)
    if data_filters:
        out = FilterExec(and_all(data_filters), out)
    if project is not None and not (
            all(isinstance(p, e.AttributeReference) for p in project.project_list) and
            [(p.expr_id, p.name) for p in project.project_list] ==
            [(a.expr_id, a.name) for a in out.output()]):
        out = ProjectExec(project.project_list, out)
    return out


class LocalTableScanExec(SparkPlan):
    """No rows (an empty ``LocalRelation``): one partition of one empty batch."""

    pipelined = False

    def __init__(self, attributes: list[e.AttributeReference]) -> None:
        self.attributes = attributes

    def output(self) -> list[e.AttributeReference]:
        return self.attributes

    def node_line(self, ids: bool = True) -> str:
        return f"LocalTableScan <empty>, [{_attrs(self.attributes, ids, ', ')}]"

    def execute(self, sc: SparkContext) -> RDD:
        from sparkbook.sql.execution.arrow import to_arrow_type

        schema = pa.schema([pa.field(str(i), to_arrow_type(a.dtype))
                            for i, a in enumerate(self.attributes)])
        return self._named(sc.parallelize([pa.RecordBatch.from_pylist([], schema)], 1))


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
        return project_output(self.project_list)

    def node_line(self, ids: bool = True) -> str:
        shown = ", ".join(p.explain() if ids else e.output_name(p) for p in self.project_list)
        return f"Project [{shown}]" if shown else "Project"

    def execute(self, sc: SparkContext) -> RDD:
        return self._per_partition(sc, _project, self.project_list)


def project_output(project_list: list[e.Expression]) -> list[e.AttributeReference]:
    """The columns a projection makes: each alias as its attribute."""
    return [p.to_attribute() if isinstance(p, e.Alias) else p for p in project_list]


def _project(inputs: list[e.AttributeReference], project_list: list[e.Expression],
             batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    ev = BatchEvaluator(inputs)
    names = [str(i) for i in range(len(project_list))]
    for batch in batches:
        columns = [ev.column(p, batch) for p in project_list]
        yield (pa.RecordBatch.from_arrays(columns, names=names) if columns
               else empty_columns(batch.num_rows))


def empty_columns(num_rows: int) -> pa.RecordBatch:
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
        keep = ev.column(condition, batch)
        if pa.types.is_boolean(keep.type) and keep.true_count == batch.num_rows:
            # Every row kept (a join key's IS NOT NULL where there is no NULL): the batch
            # as it is, not a copy of it (6 of a Q2b map task's 100 ms).
            yield batch
            continue
        # NULL is not true: a row whose condition is NULL is dropped.
        yield batch.filter(keep, null_selection_behavior="drop")


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


def ordered_limit(plan: lp.GlobalLimit) -> tuple[lp.Project | None, lp.Sort] | None:
    """The Project (if any) and the Sort under a limit that Spark's SpecialLimits plans
    as ``TakeOrderedAndProject``: ``Limit(Sort)`` or ``Limit(Project(Sort))``."""
    project = plan.child if isinstance(plan.child, lp.Project) else None
    sort = project.child if project is not None else plan.child
    return (project, sort) if isinstance(sort, lp.Sort) else None


def plan_query(plan: lp.LogicalPlan, top: bool = True) -> SparkPlan:
    """The physical plan of an analyzed logical plan, optimized first."""
    from sparkbook.sql.catalyst.optimizer import optimize

    return plan_physical(optimize(plan), top)


def plan_physical(plan: lp.LogicalPlan, top: bool = True) -> SparkPlan:
    """The physical operators for an analyzed logical plan."""
    scan = plan_file_scan(plan)
    if scan is not None:
        return scan
    if isinstance(plan, lp.LogicalRDD):
        return RDDScanExec(plan.attributes, plan.rdd)
    if isinstance(plan, lp.LocalRelation):
        return LocalTableScanExec(plan.attributes)
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
    if isinstance(plan, lp.GlobalLimit) and ordered_limit(plan) is None:
        return LimitExec(plan.n, plan_physical(plan.child, False), collect=top)
    from sparkbook.sql.execution.planner import plan_more  # exchanges, joins, aggregates

    planned = plan_more(plan, top)
    if planned is not None:
        return planned
    raise errors.AnalysisException(f"[INTERNAL_ERROR] Cannot plan {type(plan).__name__}.",
                                   "INTERNAL_ERROR")


def stage_numbers(plan: SparkPlan) -> dict[int, int]:
    """The stage each operator runs in, by ``id(operator)``: numbered from 1 in the order
    stages run (as Spark's codegen ids roughly are); an exchange is numbered with its map
    side, and the operator that reads it starts the next stage."""
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
    return ids


def explain_string(plan: SparkPlan) -> str:
    """The plan as ``explain()`` prints it: each operator marked ``*(n)`` with the stage it
    runs in (``stage_numbers``), the exchanges between them unmarked; with exchanges, under
    ``AdaptiveSparkPlan``."""
    ids = stage_numbers(plan)
    lines: list[str] = []
    has_exchange = False

    def walk(node: SparkPlan, first: str, rest: str) -> None:
        nonlocal has_exchange
        has_exchange = has_exchange or getattr(node, "exchange", False)
        if not node.pipelined:
            lines.append(first + node.node_line())
        else:
            lines.append(f"{first}*({ids[id(node)]}) {node.node_line()}")
        below = subquery_lines(node, rest, _subquery_plan)
        has_exchange = has_exchange or bool(below)  # a query with subqueries is adaptive
        lines.extend(below)
        for i, child in enumerate(node.children):
            last = i == len(node.children) - 1
            walk(child, rest + ("+- " if last else ":- "), rest + ("   " if last else ":  "))

    with printing_physical_plan():
        walk(plan, "", "")
    if has_exchange:
        lines = ["AdaptiveSparkPlan isFinalPlan=false"] + [
            ("+- " if i == 0 else "   ") + line for i, line in enumerate(lines)]
    return "\n".join(lines) + "\n"


def _subquery_plan(sub: e.ScalarSubquery) -> str:
    text = explain_string(plan_query(sub.plan))
    if text.startswith("AdaptiveSparkPlan"):
        return text
    return "AdaptiveSparkPlan isFinalPlan=false\n" + "".join(
        ("+- " if i == 0 else "   ") + line + "\n" for i, line in enumerate(text.splitlines()))


def explain_extended(parsed: lp.LogicalPlan, analyzed: lp.LogicalPlan) -> str:
    """``explain(True)``: the parsed, analyzed and optimized logical plans, then the
    physical plan, as Spark prints them."""
    from sparkbook.sql.catalyst.optimizer import optimize

    optimized = optimize(analyzed)
    schema = ", ".join(f"{a.name}: {a.dtype.simpleString()}" for a in analyzed.output())
    return (f"== Parsed Logical Plan ==\n{parsed.tree_string()}\n"
            f"== Analyzed Logical Plan ==\n{schema}\n{analyzed.tree_string()}\n"
            f"== Optimized Logical Plan ==\n{optimized.tree_string()}\n"
            f"== Physical Plan ==\n{explain_string(plan_physical(optimized))}")


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
    from sparkbook.sql.execution.subquery import execute_subqueries

    site = f"{stage_name(plan)} at {user_callsite()}"
    previous = sc.getLocalProperty("callSite.short")
    try:
        execute_subqueries(plan, sc)
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
