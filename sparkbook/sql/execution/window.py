"""``Window``: the window functions of one partitioning and order, computed over a task's
rows once an ``Exchange hashpartitioning(keys)`` has brought each window partition into
one task and a ``Sort`` by (keys, order) has lined its rows up, as Spark plans it.

The kernel works on the whole sorted partition with numpy, never row by row: window
partitions and peer groups (rows of equal order keys) are runs found where a key changes;
``row_number``/``rank`` come from run starts, ``lag``/``lead`` from shifted takes masked at
run edges, and each aggregate from its frame ``[lo, hi)`` per row: sums and counts as
differences of prefix sums, ``min``/``max`` by a running maximum that restarts per window
partition (or a sparse table for sliding frames), ``first``/``last`` by index."""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst import logical as lp
from sparkbook.sql.catalyst.aggregates import AggregateFunction, input_type
from sparkbook.sql.catalyst.typecoercion import cast_to
from sparkbook.sql.catalyst.windows import (
    SpecialFrameBoundary,
    WindowExpression,
    WindowFunction,
    boundary_value,
)
from sparkbook.sql.execution import aggregate as agg
from sparkbook.sql.execution import exchange as x
from sparkbook.sql.execution.arrow import to_arrow_type
from sparkbook.sql.execution.evaluate import BatchEvaluator
from sparkbook.sql.execution.operators import ShuffleExchangeExec, SortExec
from sparkbook.sql.execution.physical import SparkPlan, plan_physical
from sparkbook.sql.types import DecimalType

if TYPE_CHECKING:
    from sparkbook.driver.context import SparkContext
    from sparkbook.rdd import RDD


class WindowExec(SparkPlan):
    """``Window [f OVER ... AS a, ...], [keys], [order]``: the child's rows, each with the
    values of the window expressions added as columns."""

    pipelined = False  # Spark runs it outside generated code, and prints it unmarked

    def __init__(self, window_expressions: list[e.Alias], partition: list[e.Expression],
                 order: list[e.SortOrder], child: SparkPlan) -> None:
        self.window_expressions = window_expressions
        self.partition, self.order = partition, order
        self.children = (child,)

    def output(self) -> list[e.AttributeReference]:
        return self.children[0].output() + [w.to_attribute() for w in self.window_expressions]

    def node_line(self, ids: bool = True) -> str:
        if ids:
            show = (lambda y: y.explain())
        else:  # a stage's name: what is computed, by name
            def show(y: e.Expression) -> str:
                if isinstance(y, e.Alias):
                    return f"{y.child.function.sql()} AS {y.name}"
                return y.sql()
        return "Window " + lp.window_arguments(self.window_expressions, self.partition,
                                               self.order, show)

    def execute(self, sc: SparkContext) -> RDD:
        functions = [_prepare(w.child, w.dtype) for w in self.window_expressions]
        return self._per_partition(sc, _window, self.partition, self.order, functions)


def _prepare(w: WindowExpression, dtype) -> tuple:
    """What the kernel needs of one window expression, computed on the driver: the
    function, its argument cast as the aggregate reads it, the frame's bounds."""
    f, frame = w.function, w.spec.frame
    arg = None
    if isinstance(f, AggregateFunction) and f.children:
        arg = f.child
        cast = input_type(f)
        if cast is not None:
            arg = cast_to(arg, cast)

    def bound(b: e.Expression):
        return b.kind if isinstance(b, SpecialFrameBoundary) else boundary_value(b)

    return f, arg, frame.kind, bound(frame.lower), bound(frame.upper), dtype


# --- the kernel (runs in the tasks) ----------------------------------------------------


def _window(inputs: list[e.AttributeReference], partition: list[e.Expression],
            order: list[e.SortOrder], functions: list[tuple],
            batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    batches = [b for b in batches if b.num_rows]
    if not batches:
        return
    batch = pa.Table.from_batches(batches).combine_chunks().to_batches()[0]
    ev = BatchEvaluator(inputs)
    runs = _Runs(ev, batch, partition, order)
    cols = list(batch.columns)
    for f, arg, kind, lower, upper, dtype in functions:
        col = _compute(ev, batch, runs, f, arg, kind, lower, upper)
        target = to_arrow_type(dtype)
        cols.append(col if col.type == target else col.cast(target))
    yield pa.RecordBatch.from_arrays(cols, names=[str(i) for i in range(len(cols))])


def _changes(col: pa.Array) -> np.ndarray:
    """True where a value differs from the one before (NULL equals NULL, NaN NaN)."""
    n = len(col)
    out = np.ones(n, bool)
    if n < 2:
        return out
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    a, b = col.slice(1), col.slice(0, n - 1)
    differ = pc.fill_null(pc.not_equal(a, b), False)
    if pa.types.is_floating(col.type):
        differ = pc.and_(differ, pc.invert(pc.fill_null(
            pc.and_(pc.is_nan(a), pc.is_nan(b)), False)))
    differ = pc.or_(differ, pc.xor(a.is_valid(), b.is_valid()))
    out[1:] = differ.to_numpy(zero_copy_only=False)
    return out


class _Runs:
    """The window partitions and peer groups of a sorted batch, per row: where its run
    starts and ends (``seg_*`` for partitions, ``peer_*`` for equal order keys)."""

    def __init__(self, ev: BatchEvaluator, batch: pa.RecordBatch,
                 partition: list[e.Expression], order: list[e.SortOrder]) -> None:
        n = batch.num_rows
        self.n = n
        self.index = np.arange(n)
        starts = np.zeros(n, bool)
        starts[0] = True
        for k in partition:
            starts |= _changes(ev.column(k, batch))
        peers = starts.copy()
        for o in order:
            peers |= _changes(ev.column(o.child, batch))
        self.seg_id, self.seg_start, self.seg_end = _run_bounds(starts)
        self.peer_id, self.peer_start, self.peer_end = _run_bounds(peers)
        self.order_key = (ev.column(order[0].child, batch), order[0]) if order else None

    @property
    def size(self) -> np.ndarray:
        return self.seg_end - self.seg_start

    def frame(self, kind: str, lower, upper) -> tuple[np.ndarray, np.ndarray]:
        """Each row's frame as ``[lo, hi)`` row positions."""
        i = self.index
        if lower == "unboundedpreceding":
            lo = self.seg_start
        elif kind == "RangeFrame" and lower == "currentrow":
            lo = self.peer_start
        elif kind == "RowFrame":
            lo = np.clip(i + (0 if lower == "currentrow" else lower), self.seg_start,
                         self.seg_end)
        else:
            lo = self._range_search(lower, "left")
        if upper == "unboundedfollowing":
            hi = self.seg_end
        elif kind == "RangeFrame" and upper == "currentrow":
            hi = self.peer_end
        elif kind == "RowFrame":
            hi = np.clip(i + (0 if upper == "currentrow" else upper) + 1, self.seg_start,
                         self.seg_end)
        else:
            hi = self._range_search(upper, "right")
        return lo, hi

    def _range_search(self, offset, side: str) -> np.ndarray:
        """A value boundary: the first row (``left``) or past the last (``right``) whose
        order key is within ``offset`` of the row's, in the sort's direction. Rows are
        sorted by (partition, key), so one ``searchsorted`` over a key made increasing
        across partitions finds every row's bound; NULL keys sit outside every reach and
        frame their own peers."""
        col, o = self.order_key
        valid = col.is_valid().to_numpy(zero_copy_only=False)
        floating = pa.types.is_floating(col.type) or pa.types.is_decimal(col.type)
        dtype = np.float64 if floating else np.int64
        v = pc.fill_null(col.cast(pa.float64() if floating else pa.int64()), 0) \
            .to_numpy(zero_copy_only=False).astype(dtype)
        w = v if o.ascending else -v
        reach = abs(offset) + 1
        low = w[valid].min() if valid.any() else 0
        high = w[valid].max() if valid.any() else 0
        null_key = 0 if o.nulls_first else (high - low) + 2 * reach
        span = (high - low) + 3 * reach
        key = np.where(valid, (w - low) + reach, null_key) + self.seg_id.astype(dtype) * span
        found = np.searchsorted(key, key + offset, side=side)
        return np.where(valid, found, self.peer_start if side == "left" else self.peer_end)


def _run_bounds(starts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    run_id = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    ends = np.append(first[1:], len(starts))
    return run_id, first[run_id], ends[run_id]


def _compute(ev: BatchEvaluator, batch: pa.RecordBatch, runs: _Runs, f: e.Expression,
             arg: e.Expression | None, kind: str, lower, upper) -> pa.Array:
    if isinstance(f, WindowFunction):
        return _window_function(ev, batch, runs, f)
    lo, hi = runs.frame(kind, lower, upper)
    hi = np.maximum(hi, lo)
    if arg is None:  # count(*) has no argument to read
        return pa.array(hi - lo, pa.int64())
    values = ev.column(arg, batch)
    return _AGGREGATES[f.name](values, lo, hi, f, runs)


def _window_function(ev: BatchEvaluator, batch: pa.RecordBatch, runs: _Runs,
                     f: WindowFunction) -> pa.Array:
    i, start = runs.index, runs.seg_start
    name = f.name
    if name == "row_number":
        return pa.array((i - start + 1).astype(np.int32))
    rank = runs.peer_start - start + 1
    if name == "rank":
        return pa.array(rank.astype(np.int32))
    if name == "dense_rank":
        return pa.array((runs.peer_id - runs.peer_id[start] + 1).astype(np.int32))
    size = runs.size
    if name == "percent_rank":
        return pa.array(np.where(size > 1, (rank - 1) / np.maximum(size - 1, 1), 0.0))
    if name == "cume_dist":
        return pa.array((runs.peer_end - start) / size)
    if name == "ntile":
        k = f.children[0].value
        pos, q, r = i - start, size // k, size % k
        big = r * (q + 1)
        bucket = np.where(pos < big, pos // (q + 1), r + (pos - big) // np.maximum(q, 1))
        return pa.array((bucket + 1).astype(np.int32))
    # lag / lead: the value offset rows away within the window partition, else the default
    j = i + f.offset
    inside = (j >= start) & (j < runs.seg_end)
    values = ev.column(f.children[0], batch)
    taken = values.take(pa.array(np.clip(j, 0, runs.n - 1)))
    default = ev.column(f.children[2], batch)
    if default.type != values.type:
        default = default.cast(values.type)
    return pc.if_else(pa.array(inside), taken, default)


def _prefix(a: np.ndarray) -> np.ndarray:
    return np.concatenate([np.zeros(1, a.dtype), np.cumsum(a)])


def _counts(values: pa.Array, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    valid = _prefix(values.is_valid().to_numpy(zero_copy_only=False).astype(np.int64))
    return valid[hi] - valid[lo]


def _count(values: pa.Array, lo, hi, f, runs) -> pa.Array:
    return pa.array(_counts(values, lo, hi), pa.int64())


def _sums(values: pa.Array, lo, hi) -> tuple[np.ndarray | list, np.ndarray]:
    """The frame sums (object Decimals for decimals) and the counts of values summed."""
    counts = _counts(values, lo, hi)
    if pa.types.is_decimal(values.type):
        zero = decimal.Decimal(0)
        v = np.array([zero if d is None else d for d in values.to_pylist()] or [zero],
                     dtype=object)[:len(values)]
        sums = _prefix(v) if len(v) else np.zeros(1, object)
        return sums[hi] - sums[lo], counts
    v = pc.fill_null(values, 0).to_numpy(zero_copy_only=False)
    sums = _prefix(v)
    total = sums[hi] - sums[lo]  # exact for bigints, even where a prefix wrapped
    if np.issubdtype(v.dtype, np.integer):
        approx = _prefix(v.astype(np.float64))
        agg._overflow_check(pa.array(total), pa.array(approx[hi] - approx[lo]))
    return total, counts


def _sum(values: pa.Array, lo, hi, f, runs) -> pa.Array:
    total, counts = _sums(values, lo, hi)
    return pa.array(list(total) if isinstance(total, np.ndarray) and total.dtype == object
                    else total, mask=counts == 0)


def _avg(values: pa.Array, lo, hi, f, runs) -> pa.Array:
    total, counts = _sums(values, lo, hi)
    empty = counts == 0
    if isinstance(f.dtype, DecimalType):
        quantum = decimal.Decimal(1).scaleb(-f.dtype.scale)
        out = [None if z else (t / c).quantize(quantum, decimal.ROUND_HALF_UP)
               for t, c, z in zip(total, counts, empty)]
        return pa.array(out, to_arrow_type(f.dtype))
    return pa.array(total / np.maximum(counts, 1), pa.float64(), mask=empty)


def _codes(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Each value's dense rank 1..k in sort order (0 for NULL), and a row holding each."""
    ranks = pc.rank(values, sort_keys="ascending", tiebreaker="dense")
    ranks = ranks.to_numpy(zero_copy_only=False).astype(np.int64)
    codes = np.where(values.is_valid().to_numpy(zero_copy_only=False), ranks, 0)
    holder = np.zeros(int(codes.max()) + 1 if len(codes) else 1, np.int64)
    holder[codes] = np.arange(len(codes))
    return codes, holder


def _running_max(c: np.ndarray, lo: np.ndarray, hi: np.ndarray, runs: _Runs,
                 prefix: bool) -> np.ndarray:
    """The largest code (non-negative) over frames that start (``prefix``) or end at their
    partition's edge: a running maximum lifted per partition, so that it restarts there."""
    n, seg_id = len(c), runs.seg_id
    span = int(c.max()) + 1
    if prefix:
        acc = np.maximum.accumulate(c + seg_id * span) - seg_id * span
        return acc[np.maximum(hi - 1, 0)]
    rev_seg = seg_id[-1] - seg_id[::-1]
    acc = (np.maximum.accumulate(c[::-1] + rev_seg * span) - rev_seg * span)[::-1]
    return acc[np.minimum(lo, n - 1)]


def _sliding(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, op, fill) -> np.ndarray:
    """``op`` (np.maximum or np.minimum) over ``x[lo:hi]`` for each row, from a sparse table
    (``op`` over runs of 2^j rows; two overlapping runs cover a frame)."""
    n = len(x)
    lengths = np.maximum(hi - lo, 1)
    levels = [x]
    while (1 << len(levels)) <= lengths.max():
        prev, step = levels[-1], 1 << (len(levels) - 1)
        levels.append(op(prev, np.append(prev[step:], np.full(step, fill, x.dtype))))
    j = np.floor(np.log2(lengths)).astype(np.int64)
    out = np.empty(n, x.dtype)
    first = np.minimum(lo, n - 1)
    for level in np.unique(j):  # a few lengths: frames of one rows frame are alike
        rows = j == level
        table = levels[level]
        out[rows] = op(table[first[rows]], table[np.clip(hi[rows] - (1 << level), 0, n - 1)])
    return out


def _min_max(values: pa.Array, lo, hi, f, runs: _Runs) -> pa.Array:
    found = _counts(values, lo, hi) > 0
    prefix, suffix = np.all(lo == runs.seg_start), np.all(hi == runs.seg_end)
    is_max = f.name == "max"
    t = values.type
    numeric = pa.types.is_integer(t) or (pa.types.is_floating(t) and not pc.any(
        pc.is_nan(values)).as_py())
    if numeric and not (prefix or suffix):
        # Sliding frames of numbers: the sparse table over the values themselves.
        as_type = pa.int64() if pa.types.is_integer(t) else pa.float64()
        info = np.iinfo(np.int64) if pa.types.is_integer(t) else None
        fill = (info.min if is_max else info.max) if info else (-np.inf if is_max else np.inf)
        x = pc.fill_null(values.cast(as_type), fill).to_numpy(zero_copy_only=False)
        best = _sliding(x, lo, hi, np.maximum if is_max else np.minimum, fill)
        return pa.array(best, as_type, mask=~found).cast(t)
    codes, holder = _codes(values)
    k = int(codes.max()) if len(codes) else 0
    # min is the max of the reversed codes; NULLs count as nothing (0) either way.
    c = codes if is_max else np.where(codes > 0, k + 1 - codes, 0)
    if prefix or suffix:
        best = _running_max(c, lo, hi, runs, prefix)
    else:
        best = _sliding(c, lo, hi, np.maximum, -1)
    code = best if is_max else k + 1 - best
    rows = holder[np.where(found, code, 0)]
    return values.take(pa.array(rows, mask=~found))


def _first_last(values: pa.Array, lo, hi, f, runs) -> pa.Array:
    n = len(values)
    i = np.arange(n)
    empty = hi <= lo
    if f.name == "first":
        pos = np.minimum(lo, n - 1)
        if f.ignore_nulls:
            valid = values.is_valid().to_numpy(zero_copy_only=False)
            after = np.minimum.accumulate(np.where(valid, i, n)[::-1])[::-1]
            pos = after[pos]
            empty |= pos >= hi
    else:
        pos = np.maximum(hi - 1, 0)
        if f.ignore_nulls:
            valid = values.is_valid().to_numpy(zero_copy_only=False)
            before = np.maximum.accumulate(np.where(valid, i, -1))
            pos = before[pos]
            empty |= pos < lo
    return values.take(pa.array(np.clip(pos, 0, max(n - 1, 0)), mask=empty))


def _collect(values: pa.Array, lo, hi, f, runs) -> pa.Array:
    """collect_list / collect_set: each row's frame of values, gathered by one take."""
    lengths = hi - lo
    rows = np.repeat(np.arange(len(lo)), lengths)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    index = np.repeat(lo, lengths) + np.arange(int(lengths.sum())) - starts
    return agg._lists(rows, len(lo), values.take(pa.array(index, pa.int64())),
                      f.name.removeprefix("collect_"))


_AGGREGATES = {"count": _count, "sum": _sum, "avg": _avg, "min": _min_max, "max": _min_max,
               "first": _first_last, "last": _first_last, "collect_list": _collect,
               "collect_set": _collect}


# --- planning (on the driver) ----------------------------------------------------------


def _below_projections(plan: lp.LogicalPlan) -> lp.LogicalPlan:
    """The plan under projections that keep every column as it is (which Spark's
    optimizer removes, and which would hide a Window beneath)."""
    while isinstance(plan, lp.Project) and lp.same_columns(plan.project_list,
                                                           plan.child.output()):
        plan = plan.child
    return plan


def plan_window(plan: lp.Window, conf: dict[str, str], n: int) -> SparkPlan:
    """Spark's plan: an exchange by the partition keys (one partition without keys), a
    sort within each partition by keys and order, then the Window. Adjacent windows of
    one partitioning and order run as one (Spark's CollapseWindow); a window over another
    of the same keys needs no exchange of its own."""
    exprs = list(plan.window_expressions)
    child = _below_projections(plan.child)
    key = _spec_key(plan.partition, plan.order)
    while isinstance(child, lp.Window) and _spec_key(child.partition, child.order) == key \
            and not _reads(exprs, child.window_expressions):
        exprs = list(child.window_expressions) + exprs
        child = _below_projections(child.child)
    physical_child = plan_physical(child, False)
    order = [o for o in plan.order if isinstance(o, e.SortOrder)]
    required = [e.SortOrder(p) for p in plan.partition] + order
    below = physical_child if isinstance(physical_child, WindowExec) else None
    # One partition (a window without keys below) holds every key's rows already.
    if below is None or below.partition and [k.explain() for k in below.partition] != \
            [k.explain() for k in plan.partition]:
        part = x.HashPartitioning(plan.partition, n) if plan.partition else x.Partitioning()
        physical_child = ShuffleExchangeExec(part, physical_child, conf)
        physical_child = SortExec(required, physical_child, global_sort=False) \
            if required else physical_child
    elif not _sorted_by(below, required):
        physical_child = SortExec(required, physical_child, global_sort=False)
    return WindowExec(exprs, plan.partition, order, physical_child)


def _spec_key(partition: list[e.Expression], order: list[e.Expression]) -> str:
    return "|".join(y.explain() for y in partition) + "||" + "|".join(
        y.explain() for y in order)


def _reads(exprs: list[e.Alias], below: list[e.Alias]) -> bool:
    ids = {w.expr_id for w in below}
    return any(isinstance(n, e.AttributeReference) and n.expr_id in ids
               for w in exprs for n in w.walk())


def _sorted_by(below: WindowExec, required: list[e.SortOrder]) -> bool:
    have = [e.SortOrder(p) for p in below.partition] + list(below.order)
    return [o.explain() for o in have[:len(required)]] == [o.explain() for o in required]

