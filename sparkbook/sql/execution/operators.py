"""The operators of the second slice that cut a plan into stages: ``Exchange`` (hash,
single, range), ``BroadcastExchange``, ``HashAggregate`` (partial and final), ``Sort``
and ``Union``. Each turns its child's RDD of record batches into its own through the
public RDD API; an exchange's map side ends a stage named for what that stage does."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst.aggregates import AggregateFunction
from sparkbook.sql.execution import aggregate as agg
from sparkbook.sql.execution import exchange as x
from sparkbook.sql.execution import sortkeys
from sparkbook.sql.execution.arrow import to_arrow_type
from sparkbook.sql.execution.evaluate import BatchEvaluator
from sparkbook.sql.execution.physical import (
    FileSourceScanExec,
    SparkPlan,
    _attrs,
    _project,
    project_output,
    stage_name,
)
from sparkbook.sql.execution.scanaggregate import fused_partial

if TYPE_CHECKING:
    from sparkbook.driver.context import SparkContext
    from sparkbook.rdd import RDD

_plan_ids = itertools.count(1)


class ShuffleExchangeExec(SparkPlan):
    """``Exchange``: a shuffle of Arrow IPC blocks by ``partitioning``; after adaptive
    coalescing, its reduce side reads ``groups`` of neighbouring partitions."""

    pipelined = False
    exchange = True

    def __init__(self, partitioning: x.Partitioning, child: SparkPlan,
                 settings: dict[str, str], user_asked: bool = False) -> None:
        self.partitioning = partitioning
        self.settings = settings  # the session's spark.sql.adaptive.* at planning
        # repartition(n): the user's number of partitions, which Spark does not coalesce.
        self.user_asked = user_asked
        self.children = (child,)
        self.plan_id = next(_plan_ids)
        self.groups: list[list[int]] | None = None

    def node_line(self, ids: bool = True) -> str:
        text = f"Exchange {self.partitioning.describe(ids)}"
        origin = "REPARTITION_BY_NUM" if self.user_asked else "ENSURE_REQUIREMENTS"
        return f"{text}, {origin}, [plan_id={self.plan_id}]" if ids else text

    def map_side(self, sc: SparkContext) -> x.MapStage:
        """The shuffle, its map stage submitted when adaptive (not waited for)."""
        child = self.children[0]
        rdd = child.execute(sc)
        name = f"{self.node_line(ids=False)} <- {stage_name(child)}"
        if isinstance(self.partitioning, x.RangePartitioning):
            x.sample_bounds(sc, rdd, child.output(), self.partitioning, name)
        return x.shuffle(sc, rdd, child.output(), self.partitioning, name,
                         x.adaptive_enabled(self.settings) and not self.user_asked)

    def execute(self, sc: SparkContext) -> RDD:
        stage = self.map_side(sc)
        sizes = stage.sizes()
        if sizes is not None:
            self.groups = x.coalesce_groups(sizes, x.target_size(sc, sizes, self.settings))
        return x.read_coalesced(sc, stage.shuffled, self.groups)


def co_partitioned(sc: SparkContext, left: ShuffleExchangeExec,
                   right: ShuffleExchangeExec) -> tuple[RDD, RDD]:
    """Both sides of a shuffled join, coalesced alike (partition i of each holds the same
    keys), as Spark coalesces the shuffles of one join together. Both map stages are
    submitted before either is waited for: they run at once."""
    lstage = left.map_side(sc)
    rstage: x.MapStage | None = None
    try:
        rstage = right.map_side(sc)
        lsizes, rsizes = lstage.sizes(), rstage.sizes()
    except BaseException:
        # The query fails: its other map stage need not run on (as Spark's adaptive
        # execution cancels the running stages of a query that failed).
        for stage in (lstage, rstage):
            if stage is not None:
                stage.cancel("because another stage of its query failed")
        raise
    groups = None
    if lsizes is not None and rsizes is not None:
        sizes = [a + b for a, b in zip(lsizes, rsizes)]
        groups = x.coalesce_groups(sizes, x.target_size(sc, sizes, left.settings))
    left.groups = right.groups = groups
    return (x.read_coalesced(sc, lstage.shuffled, groups),
            x.read_coalesced(sc, rstage.shuffled, groups))


class BroadcastExchangeExec(SparkPlan):
    """``BroadcastExchange``: the child collected on the driver and broadcast as IPC."""

    pipelined = False
    exchange = True

    def __init__(self, child: SparkPlan, keys: list[e.Expression] | None = None) -> None:
        self.children = (child,)
        self.plan_id = next(_plan_ids)
        self.keys = keys or []
        self.block = None  # the broadcast, until the query's job is over

    def node_line(self, ids: bool = True) -> str:
        if not ids:
            return "BroadcastExchange"
        ordinals = {a.expr_id: i for i, a in enumerate(self.children[0].output())}
        bound = ", ".join(
            f"input[{ordinals.get(getattr(k, 'expr_id', -1), 0)}, {k.dtype.simpleString()}, "
            f"{str(k.nullable).lower()}]" for k in self.keys)
        mode = f"HashedRelationBroadcastMode(List({bound}),false)" if self.keys \
            else "IdentityBroadcastMode"
        return f"BroadcastExchange {mode}, [plan_id={self.plan_id}]"

    def broadcast(self, sc: SparkContext):
        child = self.children[0]
        schema = pa.schema([pa.field(str(i), to_arrow_type(a.dtype))
                            for i, a in enumerate(child.output())])
        name = f"{self.node_line(ids=False)} <- {stage_name(child)}"
        self.block = x.broadcast_ipc(sc, child.execute(sc), name, schema)
        return self.block


def _concat(batches: Iterator[pa.RecordBatch]) -> pa.Table | None:
    batches = [b for b in batches if b.num_rows]
    return pa.Table.from_batches(batches) if batches else None


class HashAggregateExec(SparkPlan):
    """``HashAggregate(keys=[...], functions=[...])``: ``partial`` before the exchange
    (keys and buffers per group of one task's rows), final after it (the aggregates,
    then ``results``: the named expressions over keys and aggregates)."""

    def __init__(self, keys: list[e.Expression], functions: list[AggregateFunction],
                 child: SparkPlan, partial: bool, key_attrs: list[e.AttributeReference],
                 results: list[e.Expression] | None = None,
                 func_attrs: list[e.AttributeReference] | None = None) -> None:
        self.keys, self.functions, self.is_partial = keys, functions, partial
        self.children = (child,)
        self.key_attrs, self.results, self.func_attrs = key_attrs, results, func_attrs

    def output(self) -> list[e.AttributeReference]:
        if self.is_partial:
            buffers = [e.AttributeReference(f"buf{i}", None) for i, f in
                       enumerate(self.functions) for _ in range(agg.buffer_count(f))]
            return self.key_attrs + buffers
        return [r.to_attribute() if isinstance(r, e.Alias) else r for r in self.results]

    def node_line(self, ids: bool = True) -> str:
        keys = self.key_attrs if not self.is_partial else self.keys
        shown_keys = ", ".join(k.explain() if ids else k.sql() for k in keys)
        funcs = ", ".join(_function_text(f, ids, self.is_partial) for f in self.functions)
        return f"HashAggregate(keys=[{shown_keys}], functions=[{funcs}])"

    def execute(self, sc: SparkContext) -> RDD:
        child = self.children[0]
        if self.is_partial:
            f = functools.partial(_partial, child.output(), self.keys, self.functions)
            fused = fused_partial(sc, child, self.keys, self.functions, f) if isinstance(
                child, FileSourceScanExec) else None
            if fused is not None:
                return self._named(fused)
        else:
            f = functools.partial(_final, len(self.key_attrs), self.functions,
                                  self.key_attrs + self.func_attrs, self.results,
                                  not self.keys)
        return self._named(child.execute(sc).mapPartitions(f, True))


def _function_text(f: AggregateFunction, ids: bool, partial: bool) -> str:
    text = f.explain() if ids else f.sql()
    if f.distinct:
        text = text.replace("(DISTINCT ", "(distinct ")
    if f.name in ("first", "last"):
        text = text[:-1] + f", {str(f.ignore_nulls).lower()})"  # Spark prints ignoreNulls
    if not f.children:
        text = text.replace("()", "(1)")
    return ("partial_" if partial else "") + text


def _partial(inputs: list[e.AttributeReference], keys: list[e.Expression],
             functions: list[AggregateFunction],
             batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    table = _concat(batches)
    if table is None:
        if keys:
            return
        table = pa.schema([pa.field(str(i), to_arrow_type(a.dtype))
                           for i, a in enumerate(inputs)]).empty_table()
    yield from agg.partial(table, inputs, keys, functions).to_batches()


def _final(num_keys: int, functions: list[AggregateFunction],
           attrs: list[e.AttributeReference], results: list[e.Expression],
           global_agg: bool, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    table = _concat(batches)
    if table is None:
        return  # a global aggregate's one partial row always arrives (SinglePartition)
    cols = agg.final(table, num_keys, functions, global_agg)
    batch = pa.RecordBatch.from_arrays(cols, names=[str(i) for i in range(len(cols))])
    ev = BatchEvaluator(attrs)
    out = [ev.column(r, batch) for r in results]
    yield pa.RecordBatch.from_arrays(out, names=[str(i) for i in range(len(out))])


class SortExec(SparkPlan):
    """``Sort``: each partition sorted (after a range exchange, the whole result is)."""

    def __init__(self, order: list[e.SortOrder], child: SparkPlan,
                 global_sort: bool = True) -> None:
        self.order = order
        self.children = (child,)
        self.global_sort = global_sort  # false: within each partition only (a Window's)

    def node_line(self, ids: bool = True) -> str:
        shown = ", ".join(o.explain() if ids else o.sql() for o in self.order)
        return f"Sort [{shown}], {str(self.global_sort).lower()}, 0"

    def execute(self, sc: SparkContext) -> RDD:
        return self._per_partition(sc, _sort, self.order)


def _sort(inputs: list[e.AttributeReference], order: list[e.SortOrder],
          batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    table = _concat(batches)
    if table is None:
        return
    ev = BatchEvaluator(inputs)
    batch = table.combine_chunks().to_batches()[0]
    keys = pa.table({str(i): ev.column(o.child, batch) for i, o in enumerate(order)})
    yield from table.take(sortkeys.sort_indices(keys, order)).to_batches()


class ReplicateRowsExec(SparkPlan):
    """Each row repeated as many times as its count column says (one ``take``)."""

    def __init__(self, count: e.AttributeReference, columns: list[e.AttributeReference],
                 child: SparkPlan) -> None:
        self.count, self.columns = count, columns
        self.children = (child,)

    def output(self) -> list[e.AttributeReference]:
        return self.columns

    def node_line(self, ids: bool = True) -> str:
        shown = ", ".join(a.explain() if ids else a.name for a in [self.count, *self.columns])
        return f"Generate replicaterows({shown})"

    def execute(self, sc: SparkContext) -> RDD:
        return self._per_partition(sc, _replicate, self.count, self.columns)


def _replicate(inputs: list[e.AttributeReference], count: e.AttributeReference,
               columns: list[e.AttributeReference],
               batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    import numpy as np

    ev = BatchEvaluator(inputs)
    for batch in batches:
        times = pc.fill_null(ev.column(count, batch), 0).to_numpy(zero_copy_only=False)
        index = pa.array(np.repeat(np.arange(batch.num_rows), np.maximum(times, 0)))
        cols = [ev.column(c, batch).take(index) for c in columns]
        yield pa.RecordBatch.from_arrays(cols, names=[str(i) for i in range(len(cols))])


class TakeOrderedAndProjectExec(SparkPlan):
    """``orderBy(...).limit(n)``, or a projection between them: the first ``n`` of each
    partition in order, gathered into one partition (no exchange), cut to the first ``n``
    again, then projected (so the projection runs on ``n`` rows only)."""

    pipelined = False

    def __init__(self, n: int, order: list[e.SortOrder], child: SparkPlan,
                 project_list: list[e.Expression] | None = None) -> None:
        self.n, self.order, self.project_list = n, order, project_list
        self.children = (child,)

    def output(self) -> list[e.AttributeReference]:
        if self.project_list is None:
            return self.children[0].output()
        return project_output(self.project_list)

    def node_line(self, ids: bool = True) -> str:
        order = ",".join(o.explain() if ids else o.sql() for o in self.order)
        output = ",".join(a.explain() if ids else a.name for a in self.output())
        return f"TakeOrderedAndProject(limit={self.n}, orderBy=[{order}], output=[{output}])"

    def execute(self, sc: SparkContext) -> RDD:
        inputs = self.children[0].output()
        f = functools.partial(_top, inputs, self.order, self.n)
        rdd = self.children[0].execute(sc).mapPartitions(f, True).coalesce(1)
        rdd = rdd.mapPartitions(f, True)
        if self.project_list is not None:
            rdd = rdd.mapPartitions(functools.partial(_project, inputs, self.project_list), True)
        return self._named(rdd)


def _top(inputs: list[e.AttributeReference], order: list[e.SortOrder], n: int,
         batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    left = n
    for batch in _sort(inputs, order, batches):
        if left <= 0:
            return
        yield batch.slice(0, left)
        left -= min(left, batch.num_rows)


class CoalesceExec(SparkPlan):
    """``coalesce(n)``: neighbouring partitions read by one task, no shuffle."""

    pipelined = False  # Spark prints it outside the stage's generated code

    def __init__(self, n: int, child: SparkPlan) -> None:
        self.n = n
        self.children = (child,)

    def node_line(self, ids: bool = True) -> str:
        return f"Coalesce {self.n}"

    def execute(self, sc: SparkContext) -> RDD:
        return self._named(self.children[0].execute(sc).coalesce(self.n))


class UnionExec(SparkPlan):
    def __init__(self, children: list[SparkPlan], output: list[e.AttributeReference]) -> None:
        self.children = tuple(children)
        self._output = output

    def output(self) -> list[e.AttributeReference]:
        return self._output

    def node_line(self, ids: bool = True) -> str:
        return "Union"

    def execute(self, sc: SparkContext) -> RDD:
        types = [to_arrow_type(a.dtype) for a in self._output]
        f = functools.partial(_conform, types)
        rdds = [c.execute(sc).mapPartitions(f, True) for c in self.children]
        return self._named(sc.union(rdds))


def _conform(types: list[pa.DataType],
             batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Union's children may differ in type (int beside bigint): as the output's types."""
    for b in batches:
        cols = [c if c.type == t else c.cast(t) for c, t in zip(b.columns, types)]
        yield pa.RecordBatch.from_arrays(cols, names=[str(i) for i in range(len(cols))])


__all__ = ["ShuffleExchangeExec", "BroadcastExchangeExec", "HashAggregateExec", "SortExec",
           "UnionExec", "ReplicateRowsExec", "CoalesceExec", "TakeOrderedAndProjectExec",
           "co_partitioned", "_attrs"]
