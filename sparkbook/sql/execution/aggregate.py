"""Hash aggregation over Arrow: ``HashAggregate`` partial before the exchange, final after
it, each one ``pyarrow`` ``Table.group_by().aggregate()`` per task (chosen over DuckDB by
measurement: ``bench/sql_aggregate.py``).

Rows are first given dense group ids (one ``group_by`` of the keys, which treats NULL as a
key as Spark does); the aggregates are then computed by group id, so every group gets a
row even where an aggregate sees no values (``count`` 0, ``sum`` NULL, ``collect_list``
empty), and a global aggregate of no rows still gives its one row.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sparkbook.errors import ArithmeticException, sql_error
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst.aggregates import AggregateFunction, input_type
from sparkbook.sql.execution.arrow import to_arrow_type
from sparkbook.sql.execution.evaluate import BatchEvaluator
from sparkbook.sql.types import LongType

# The buffer columns each function keeps between the partial and the final step.
BUFFERS = {"sum": ("sum",), "avg": ("sum", "count"), "count": ("count",), "min": ("min",),
           "max": ("max",), "first": ("first",), "last": ("last",),
           "collect_list": ("list",), "collect_set": ("set",)}
MERGE = {"sum": "sum", "count": "sum", "min": "min", "max": "max", "first": "first",
         "last": "last", "list": "list", "set": "set"}


def buffer_count(f: AggregateFunction) -> int:
    if f.distinct:
        return 1
    return len(BUFFERS[f.name]) + (1 if _checked_sum(f) else 0)


def _checked_sum(f: AggregateFunction) -> bool:
    return f.name == "sum" and isinstance(f.dtype, LongType)


def group_ids(keys: list[pa.Array], num_rows: int) -> tuple[np.ndarray, list[pa.Array], int]:
    """Each row's dense group id, the keys of each group, and the number of groups."""
    if not keys:
        return np.zeros(num_rows, np.int64), [], 1
    table = pa.table({**{f"k{i}": k for i, k in enumerate(keys)},
                      "row": pa.array(np.arange(num_rows))})
    grouped = table.group_by([f"k{i}" for i in range(len(keys))], use_threads=False) \
        .aggregate([("row", "list")])
    rows = grouped.column("row_list").combine_chunks()
    gids = np.empty(num_rows, np.int64)
    gids[pc.list_flatten(rows).to_numpy()] = pc.list_parent_indices(rows).to_numpy()
    return gids, [grouped.column(f"k{i}").combine_chunks() for i in range(len(keys))], \
        grouped.num_rows


def aggregate(gids: np.ndarray, n: int, values: pa.Array, how: str) -> pa.Array:
    """``how`` (sum, count, min, max, first, last, list, set) of ``values`` per group."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if how in ("list", "set"):
        return _lists(gids, n, values, how)
    if how == "count_all":
        return pa.array(np.bincount(gids, minlength=n).astype(np.int64))
    table = pa.table({"g": pa.array(gids), "v": values})
    options = None
    if how in ("first", "last"):
        options = pc.ScalarAggregateOptions(skip_nulls=False)  # first(x) may be NULL
    out = table.group_by("g", use_threads=False).aggregate([("v", how, options)])
    result = out.column(f"v_{how}").combine_chunks()
    if how == "count":
        full = np.zeros(n, np.int64)
        full[out.column("g").to_numpy()] = result.to_numpy()
        return pa.array(full)
    # Groups with no rows here are NULL (a global aggregate over nothing).
    index = np.full(n, -1, np.int64)
    index[out.column("g").to_numpy()] = np.arange(out.num_rows)
    return result.take(pa.array(index, mask=index < 0))


def _lists(gids: np.ndarray, n: int, values: pa.Array, how: str) -> pa.Array:
    """collect_list / collect_set: the non-null values of each group, in arrival order;
    list-typed input (a partial buffer) is flattened first."""
    if pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
        gids = gids[pc.list_parent_indices(values).to_numpy()]
        values = pc.list_flatten(values)
    valid = values.is_valid().to_numpy(zero_copy_only=False)
    gids, values = gids[valid], values.filter(pa.array(valid))
    if how == "set" and len(values):
        pairs = pa.table({"g": pa.array(gids), "v": values}).group_by(
            ["g", "v"], use_threads=False).aggregate([])
        gids, values = pairs.column("g").to_numpy(), pairs.column("v").combine_chunks()
    order = np.argsort(gids, kind="stable")
    offsets = np.concatenate([[0], np.cumsum(np.bincount(gids, minlength=n))]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), values.take(pa.array(order)))


def _overflow_check(total: pa.Array, approx: pa.Array) -> None:
    """ANSI mode: a bigint sum that left the bigint range raises (the wrapped int64 sum and
    a float64 sum of the same values then disagree in sign or size)."""
    a = approx.to_numpy(zero_copy_only=False)
    if np.any(np.abs(np.nan_to_num(a.astype(float))) >= 2.0 ** 63):
        raise sql_error("ARITHMETIC_OVERFLOW", "22003",
                        "overflow. Use 'try_add' to tolerate overflow and return NULL "
                        'instead. If necessary set "spark.sql.ansi.enabled" to "false" to '
                        "bypass this error.", ArithmeticException)


def partial(table: pa.Table, inputs: list[e.AttributeReference], keys: list[e.Expression],
            functions: list[AggregateFunction]) -> pa.Table:
    """Keys and buffers of each group of this task's rows."""
    ev = BatchEvaluator(inputs)
    batch = table.combine_chunks().to_batches()
    batch = batch[0] if batch else pa.RecordBatch.from_pylist([], table.schema)
    key_cols = [ev.column(k, batch) for k in keys]
    gids, group_keys, n = group_ids(key_cols, batch.num_rows)
    if not keys and batch.num_rows == 0:
        n = 1
    cols = list(group_keys)
    for f in functions:
        if not f.children or isinstance(f.child, e.Literal):  # count(*), count(1)
            cols.append(aggregate(gids, n, pa.nulls(batch.num_rows), "count_all"))
            continue
        values = ev.column(f.child, batch)
        cast = input_type(f)
        if cast is not None:
            values = values.cast(to_arrow_type(cast))
        if f.distinct:
            cols.append(_lists(gids, n, values, "set"))
            continue
        for how in BUFFERS[f.name]:
            cols.append(aggregate(gids, n, values, how))
        if _checked_sum(f):
            approx = aggregate(gids, n, pc.cast(values, pa.float64(), safe=False), "sum")
            _overflow_check(cols[-1], approx)
            cols.append(approx)
    return pa.table({str(i): c for i, c in enumerate(cols)})


def final(table: pa.Table, num_keys: int, functions: list[AggregateFunction],
          global_agg: bool) -> list[pa.Array]:
    """Merge the buffers of each group (from every map task) into the aggregates."""
    cols = [c.combine_chunks() for c in table.columns]
    num_rows = table.num_rows
    gids, group_keys, n = group_ids(cols[:num_keys], num_rows)
    if global_agg and num_rows == 0:
        n = 1
    out = list(group_keys)
    i = num_keys
    for f in functions:
        if f.distinct:
            merged = _lists(gids, n, cols[i], "set")
            out.append(pc.list_value_length(merged).cast(pa.int64()))
            i += 1
            continue
        buffers = []
        for how in BUFFERS[f.name] + (("sum",) if _checked_sum(f) else ()):
            buffers.append(aggregate(gids, n, cols[i], MERGE.get(how, how)))
            i += 1
        if f.name == "count" or (not f.children or isinstance(f.child, e.Literal)):
            out.append(pc.fill_null(buffers[0], 0))
        elif f.name == "avg":
            total, count = buffers
            out.append(pc.divide(total.cast(pa.float64()),
                                 pc.if_else(pc.equal(count, 0), None, count).cast(pa.float64())))
        elif _checked_sum(f):
            _overflow_check(buffers[0], buffers[1])
            out.append(buffers[0])
        else:
            out.append(buffers[0].cast(to_arrow_type(f.dtype)))
    return out
