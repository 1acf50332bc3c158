"""Joins over Arrow: ``BroadcastHashJoin`` (the small side broadcast, the big side joined
where it lies: no exchange on it, so one stage fewer), ``ShuffledHashJoin`` (both sides
exchanged by key, partition i of each joined by one task; Spark would sort-merge here) and
``BroadcastNestedLoopJoin`` (a cross join). The hash join itself is pyarrow's
``Table.join``, where NULL keys match nothing, as in SQL."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.execution.arrow import one_array, to_arrow_type
from sparkbook.sql.execution.evaluate import BatchEvaluator
from sparkbook.sql.execution.exchange import from_ipc
from sparkbook.sql.execution.operators import (
    BroadcastExchangeExec,
    ShuffleExchangeExec,
    co_partitioned,
)
from sparkbook.sql.execution.physical import SparkPlan, empty_columns

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
        batches = table.to_batches()
        if len(batches) != 1:  # (combine_chunks would copy even a table of one batch)
            batches = table.combine_chunks().to_batches() or [
                pa.RecordBatch.from_pylist([], table.schema)]
        batch = batches[0]
        ev = BatchEvaluator(attrs)
        cols = {f"{tag}{i}": batch.column(i) for i in range(batch.num_columns)}
        cols.update({f"{tag}k{i}": ev.column(k, batch) for i, k in enumerate(keys)})
        return pa.table(cols) if cols else pa.table({f"{tag}_": pa.nulls(batch.num_rows)})

    def join(self, left: pa.Table | None, right: pa.Table | None) -> Iterator[pa.RecordBatch]:
        lt = self.side_table(left, self.left, self.lkeys, "l")
        rt = self.side_table(right, self.right, self.rkeys, "r")
        dense = dense_matches(lt.column("lk0"), rt.column("rk0")) if (
            self.how == "Inner" and len(self.lkeys) == 1 and self.residual is None) else None
        if dense is not None:
            li, ri = (pa.array(ids) for ids in dense)
            rows = len(li)
            # (a side table's columns are one chunk: taken from it, no chunks to combine)
            lcols = [lt.column(f"l{i}").chunk(0).take(li) for i in range(len(self.left))]
            rcols = [rt.column(f"r{i}").chunk(0).take(ri) for i in range(len(self.right))]
        elif self.lkeys and self.residual is None:
            joined = lt.join(rt, [f"lk{i}" for i in range(len(self.lkeys))],
                             [f"rk{i}" for i in range(len(self.rkeys))],
                             join_type=ARROW_JOIN[self.how], use_threads=False,
                             coalesce_keys=False)
            rows = joined.num_rows
            lcols = [joined.column(f"l{i}") for i in range(len(self.left))]
            rcols = [] if self.how in ("LeftSemi", "LeftAnti") else \
                [joined.column(f"r{i}") for i in range(len(self.right))]
        else:
            li, ri = self._with_unmatched(*self._matches(lt, rt), lt.num_rows, rt.num_rows)
            rows = len(li)
            lcols = [lt.column(f"l{i}").take(li) for i in range(len(self.left))]
            rcols = [rt.column(f"r{i}").take(ri) for i in range(len(self.right))] \
                if ri is not None else []
        if rows:
            yield self._output(lcols, rcols, rows)

    def _matches(self, lt: pa.Table, rt: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        """The (left row, right row) pairs whose keys are equal (every pair when there are
        no keys) and for which the residual condition is true."""
        if self.lkeys:
            lk = lt.select([f"lk{i}" for i in range(len(self.lkeys))]).append_column(
                "li", pa.array(np.arange(lt.num_rows)))
            rk = rt.select([f"rk{i}" for i in range(len(self.rkeys))]).append_column(
                "ri", pa.array(np.arange(rt.num_rows)))
            pairs = lk.join(rk, [f"lk{i}" for i in range(len(self.lkeys))],
                            [f"rk{i}" for i in range(len(self.rkeys))], join_type="inner",
                            use_threads=False)
            li = pairs.column("li").to_numpy()
            ri = pairs.column("ri").to_numpy()
        else:  # a nested loop: every left row with every right row
            li = np.repeat(np.arange(lt.num_rows), rt.num_rows)
            ri = np.tile(np.arange(rt.num_rows), lt.num_rows)
        if self.residual is None or not len(li):
            return li, ri
        columns = [lt.column(f"l{i}").take(li).combine_chunks() for i in range(len(self.left))]
        columns += [rt.column(f"r{i}").take(ri).combine_chunks()
                    for i in range(len(self.right))]
        batch = pa.RecordBatch.from_arrays(columns, names=[str(i) for i in range(len(columns))])
        ok = BatchEvaluator(self.left + self.right).column(self.residual, batch)
        mask = pc.fill_null(ok, False).to_numpy(zero_copy_only=False)
        return li[mask], ri[mask]

    def _with_unmatched(self, li: np.ndarray, ri: np.ndarray, n_left: int, n_right: int
                        ) -> tuple[pa.Array, pa.Array | None]:
        """The rows to take from each side (NULL: a row of NULLs): the matched pairs, and
        the rows of the preserved side(s) that matched nothing; a semi or anti join takes
        left rows only."""
        if self.how in ("LeftSemi", "LeftAnti"):
            matched = np.unique(li)
            rows = matched if self.how == "LeftSemi" else np.setdiff1d(np.arange(n_left),
                                                                       matched)
            return pa.array(rows, pa.int64()), None
        lonely_l = np.setdiff1d(np.arange(n_left), li) \
            if self.how in ("LeftOuter", "FullOuter") else np.array([], np.int64)
        lonely_r = np.setdiff1d(np.arange(n_right), ri) \
            if self.how in ("RightOuter", "FullOuter") else np.array([], np.int64)
        none_l, none_r = np.zeros(len(lonely_l), np.int64), np.zeros(len(lonely_r), np.int64)
        left = pa.array(np.concatenate([li, lonely_l, none_r]).astype(np.int64),
                        mask=np.concatenate([np.zeros(len(li) + len(lonely_l), bool),
                                             np.ones(len(lonely_r), bool)]))
        right = pa.array(np.concatenate([ri, none_l, lonely_r]).astype(np.int64),
                         mask=np.concatenate([np.zeros(len(ri), bool),
                                              np.ones(len(lonely_l), bool),
                                              np.zeros(len(lonely_r), bool)]))
        return left, right

    def _output(self, lcols: list, rcols: list, rows: int) -> pa.RecordBatch:
        """The output expressions over the joined columns (left's, then right's)."""
        attrs = self.left + (self.right if rcols else [])
        columns = [one_array(c) for c in lcols + rcols]
        batch = pa.RecordBatch.from_arrays(columns, names=[str(i) for i in range(len(columns))]) \
            if columns else empty_columns(rows)
        ev = BatchEvaluator(attrs)
        cols = [ev.column(o, batch) for o in self.output]
        return pa.RecordBatch.from_arrays(cols, names=[str(i) for i in range(len(cols))]) \
            if cols else empty_columns(rows)


# A build side's integer keys spanning at most this many slots per row are looked up in a
# table indexed by key (one numpy gather) rather than hashed: a dimension's surrogate ids.
# Whatever the build side's size: a task's 2.5M left rows against 1k, 10k, 100k right
# rows took 4.5, 5.6, 16 ms looked up and 8.7, 14.6, 27 ms through pyarrow's hash join.
DENSE_SLOTS_PER_ROW = 4


def dense_matches(left: pa.ChunkedArray, right: pa.ChunkedArray
                  ) -> tuple[np.ndarray, np.ndarray] | None:
    """The (left row, right row) pairs of an inner equi-join on one integer key whose
    right side's keys are unique and dense (their range at most ``DENSE_SLOTS_PER_ROW``
    times the rows): each left key is looked up by position in a table of right rows, in
    left order, about twice as fast as a hash join. None when the keys are not so."""
    if not all(pa.types.is_integer(t) and t != pa.uint64() for t in (left.type, right.type)):
        return None
    left, right = one_array(left), one_array(right)
    rk = pc.drop_null(right).to_numpy().astype(np.int64, copy=False)
    if len(rk) == 0:
        return None
    lo, hi = int(rk.min()), int(rk.max())
    if hi - lo >= DENSE_SLOTS_PER_ROW * len(rk):
        return None
    rows = np.flatnonzero(right.is_valid().to_numpy(zero_copy_only=False)).astype(np.int32)
    slot = np.full(hi - lo + 1, -1, np.int32)
    slot[rk - lo] = rows
    if not np.array_equal(slot[rk - lo], rows):  # a key twice: not a unique build side
        return None
    # (fill_null copies even a column without NULLs: 4 of a Q2b map task's 16 ms here)
    lk = (pc.fill_null(left, lo) if left.null_count else left).to_numpy()
    # A key's place in the slot table, and whether it lies inside it, in one subtraction
    # and one unsigned comparison (a key below lo wraps to beyond hi - lo): 2 ms where
    # comparing with lo and with hi took 12 (2.5M keys).
    pos = (lk.astype(np.int64, copy=False) - np.int64(lo)).view(np.uint64)
    inside = pos <= np.uint64(hi - lo)
    if left.null_count:
        inside &= left.is_valid().to_numpy(zero_copy_only=False)
    li = np.flatnonzero(inside)
    found = slot[pos[li]]
    hit = found >= 0
    return li[hit], found[hit]


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
        # A CartesianProduct, and a full outer nested loop join, are operators of their own.
        return bool(self.build or self.spec.lkeys) and self.spec.how != "FullOuter"

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
        rows = big.execute(sc)
        if self.spec.how == "FullOuter":  # the build side's unmatched rows: one task sees all
            rows = rows.coalesce(1)
        return self._named(rows.mapPartitions(f, True))


def _one_table(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.Table | None]:
    yield _table(batches)


def _join_pair(spec: JoinSpec, pair: tuple) -> Iterator[pa.RecordBatch]:
    return spec.join(pair[0], pair[1])


# The broadcast joins each of whose output rows needs one row of the big side and the
# whole small side (by the side built): the big side is joined a batch at a time.
STREAMED = {"right": ("Inner", "LeftOuter", "LeftSemi", "LeftAnti"),
            "left": ("Inner", "RightOuter")}


def _join_broadcast(spec: JoinSpec, build: str, block,
                    batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    small = from_ipc(block.value).combine_chunks()
    small = small if small.num_rows else None
    if spec.how in STREAMED[build]:
        # No copy of the task's rows into one table, and each batch's temporaries reuse
        # the last one's memory: on an executor, whose allocators hand their free pages
        # back to the OS between tasks, Q2b's map task touched 60 MB of new pages fewer.
        bigs: Iterable[pa.Table | None] = (
            pa.Table.from_batches([b]) for b in batches if b.num_rows)
    else:
        bigs = [_table(batches)]
        if bigs[0] is None and spec.how != "FullOuter":  # else the big side is preserved
            return
    for big in bigs:
        yield from spec.join(big, small) if build == "right" else spec.join(small, big)


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
