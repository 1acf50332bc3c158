"""Joins over Arrow: ``BroadcastHashJoin`` (the small side broadcast, the big side joined
where it lies: no exchange on it, so one stage fewer), ``ShuffledHashJoin`` (both sides
exchanged by key, partition i of each joined by one task; Spark would sort-merge here) and
``BroadcastNestedLoopJoin`` (a cross join). The hash join itself is pyarrow's
``Table.join``, where NULL keys match nothing, as in SQL."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.execution.arrow import to_arrow_type
from sparkbook.sql.execution.evaluate import BatchEvaluator
from sparkbook.sql.execution.exchange import from_ipc
from sparkbook.sql.execution.operators import (
    BroadcastExchangeExec,
    ShuffleExchangeExec,
    co_partitioned,
)
from sparkbook.sql.execution.physical import SparkPlan

if TYPE_CHECKING:
    from sparkbook.driver.context import SparkContext
    from sparkbook.rdd import RDD

# Spark's join type -> pyarrow's.
ARROW_JOIN = {"Inner": "inner", "LeftOuter": "left outer", "RightOuter": "right outer",
              "FullOuter": "full outer", "LeftSemi": "left semi", "LeftAnti": "left anti"}


class JoinSpec:
    """What every task of a join needs: both sides' columns, the key expressions of each
    side, the join type, a residual condition, and the output columns."""

    def __init__(self, how: str, left: list[e.AttributeReference],
                 right: list[e.AttributeReference], lkeys: list[e.Expression],
                 rkeys: list[e.Expression], residual: e.Expression | None,
                 output: list[e.Expression]) -> None:
        self.how, self.left, self.right = how, left, right
        self.lkeys, self.rkeys, self.residual, self.output = lkeys, rkeys, residual, output

    def side_table(self, table: pa.Table | None, attrs: list[e.AttributeReference],
                   keys: list[e.Expression], tag: str) -> pa.Table:
        if table is None:
            table = pa.schema([pa.field(str(i), to_arrow_type(a.dtype))
                               for i, a in enumerate(attrs)]).empty_table()
        batch = table.combine_chunks().to_batches()
        batch = batch[0] if batch else pa.RecordBatch.from_pylist([], table.schema)
        ev = BatchEvaluator(attrs)
        cols = {f"{tag}{i}": batch.column(i) for i in range(batch.num_columns)}
        cols.update({f"{tag}k{i}": ev.column(k, batch) for i, k in enumerate(keys)})
        return pa.table(cols) if cols else pa.table({f"{tag}_": pa.nulls(batch.num_rows)})

    def join(self, left: pa.Table | None, right: pa.Table | None) -> Iterator[pa.RecordBatch]:
        lt = self.side_table(left, self.left, self.lkeys, "l")
        rt = self.side_table(right, self.right, self.rkeys, "r")
        if self.lkeys:
            joined = lt.join(rt, [f"lk{i}" for i in range(len(self.lkeys))],
                             [f"rk{i}" for i in range(len(self.rkeys))],
                             join_type=ARROW_JOIN[self.how], use_threads=False,
                             coalesce_keys=False)
        else:  # a cross join: every left row with every right row
            li = np.repeat(np.arange(lt.num_rows), rt.num_rows)
            ri = np.tile(np.arange(rt.num_rows), lt.num_rows)
            joined = pa.Table.from_arrays(
                lt.take(pa.array(li)).columns + rt.take(pa.array(ri)).columns,
                names=lt.column_names + rt.column_names)
        sides = [(f"l{i}", a) for i, a in enumerate(self.left)]
        if self.how not in ("LeftSemi", "LeftAnti"):
            sides += [(f"r{i}", a) for i, a in enumerate(self.right)]
        attrs = [a for _, a in sides]
        batch = pa.RecordBatch.from_arrays(
            [joined.column(n).combine_chunks() for n, _ in sides],
            names=[str(i) for i in range(len(sides))]) if joined.num_rows or sides else None
        if batch is None or batch.num_rows == 0:
            return
        ev = BatchEvaluator(attrs)
        if self.residual is not None:
            batch = batch.filter(ev.column(self.residual, batch),
                                 null_selection_behavior="drop")
        cols = [ev.column(o, batch) for o in self.output]
        yield pa.RecordBatch.from_arrays(cols, names=[str(i) for i in range(len(cols))])


def _table(batches: Iterator[pa.RecordBatch]) -> pa.Table | None:
    batches = [b for b in batches if b.num_rows]
    return pa.Table.from_batches(batches) if batches else None


class HashJoinExec(SparkPlan):
    """A join of two children; ``build`` says which side is broadcast (None: shuffled)."""

    def __init__(self, spec: JoinSpec, left: SparkPlan, right: SparkPlan,
                 build: str | None, condition: e.Expression | None) -> None:
        self.spec, self.build, self.condition = spec, build, condition
        self.children = (left, right)

    def output(self) -> list[e.AttributeReference]:
        return [o.to_attribute() if isinstance(o, e.Alias) else o for o in self.spec.output]

    def node_line(self, ids: bool = True) -> str:
        s = self.spec
        cond = "" if self.condition is None else (
            self.condition.explain() if ids else self.condition.sql())
        if not s.lkeys and not self.build:
            return "CartesianProduct" + (f" {cond}" if cond else "")
        if not s.lkeys:
            cond = f", {cond}" if cond else ""
            return f"BroadcastNestedLoopJoin Build{(self.build or 'right').capitalize()}, " \
                   f"{'Cross' if s.how == 'Inner' else s.how}{cond}"
        name = "BroadcastHashJoin" if self.build else "ShuffledHashJoin"
        lk = ", ".join(k.explain() if ids else k.sql() for k in s.lkeys)
        rk = ", ".join(k.explain() if ids else k.sql() for k in s.rkeys)
        build = f"Build{(self.build or 'right').capitalize()}"
        residual = ""
        if s.residual is not None:
            residual = f", {s.residual.explain() if ids else s.residual.sql()}"
        tail = f", {build}{residual}" + (", false, false" if self.build else "")
        return f"{name} [{lk}], [{rk}], {s.how}{tail}"

    @property
    def pipelined(self) -> bool:  # type: ignore[override]
        return bool(self.build or self.spec.lkeys)  # a CartesianProduct is its own operator

    def execute(self, sc: SparkContext) -> RDD:
        left, right = self.children
        if self.build is None and not self.spec.lkeys:
            pairs = left.execute(sc).mapPartitions(_one_table).cartesian(
                right.execute(sc).mapPartitions(_one_table))
            return self._named(pairs.flatMap(functools.partial(_join_pair, self.spec)))
        if self.build is None:
            lrdd, rrdd = (co_partitioned(sc, left, right)
                          if isinstance(left, ShuffleExchangeExec) and
                          isinstance(right, ShuffleExchangeExec)
                          else (left.execute(sc), right.execute(sc)))
            # One whole table per partition on each side, so that zip pairs them up.
            pairs = lrdd.mapPartitions(_one_table).zip(rrdd.mapPartitions(_one_table))
            return self._named(pairs.flatMap(functools.partial(_join_pair, self.spec)))
        small, big = (right, left) if self.build == "right" else (left, right)
        assert isinstance(small, BroadcastExchangeExec)
        block = small.broadcast(sc)
        f = functools.partial(_join_broadcast, self.spec, self.build, block)
        return self._named(big.execute(sc).mapPartitions(f, True))


def _one_table(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.Table | None]:
    yield _table(batches)


def _join_pair(spec: JoinSpec, pair: tuple) -> Iterator[pa.RecordBatch]:
    return spec.join(pair[0], pair[1])


def _join_broadcast(spec: JoinSpec, build: str, block,
                    batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    small = from_ipc(block.value)
    small = small if small.num_rows else None
    big = _table(batches)
    if big is None:  # the preserved side of an outer join is always the big one
        return
    if build == "right":
        yield from spec.join(big, small)
    else:
        yield from spec.join(small, big)


def split_condition(condition: e.Expression | None, left: list[e.AttributeReference],
                    right: list[e.AttributeReference]
                    ) -> tuple[list[e.Expression], list[e.Expression], e.Expression | None]:
    """The equi-join keys of a condition (``l.a = r.b AND ...``) and what remains."""
    if condition is None:
        return [], [], None
    lids, rids = {a.expr_id for a in left}, {a.expr_id for a in right}

    def refs(x: e.Expression) -> set[int]:
        return {n.expr_id for n in x.walk() if isinstance(n, e.AttributeReference)}

    conjuncts, stack = [], [condition]
    while stack:
        c = stack.pop()
        if isinstance(c, e.And):
            stack.extend(reversed(c.children))
        else:
            conjuncts.append(c)
    lkeys, rkeys, rest = [], [], []
    for c in conjuncts:
        if isinstance(c, e.BinaryComparison) and c.symbol == "=":
            a, b = refs(c.left), refs(c.right)
            if a and b and a <= lids and b <= rids:
                lkeys.append(c.left), rkeys.append(c.right)
                continue
            if a and b and a <= rids and b <= lids:
                lkeys.append(c.right), rkeys.append(c.left)
                continue
        rest.append(c)
    residual = None
    for c in rest:
        residual = c if residual is None else e.And(residual, c)
    if residual is not None:
        residual.dtype = condition.dtype
    return lkeys, rkeys, residual
