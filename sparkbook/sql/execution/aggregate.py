"""Hash aggregation over Arrow: ``HashAggregate`` partial before the exchange, final after
it, each one ``pyarrow`` ``Table.group_by().aggregate()`` per task (chosen over DuckDB by
measurement: ``bench/sql_aggregate.py``; on Q1's 2.5M rows a task, 1,000 groups, 22 ms
either way, single-threaded); a global aggregate's one group by the scalar kernels.

Rows are first given dense group ids (one ``group_by`` of the keys, which treats NULL as a
key as Spark does); the aggregates are then computed by group id, so every group gets a
row even where an aggregate sees no values (``count`` 0, ``sum`` NULL, ``collect_list``
empty), and a global aggregate of no rows still gives its one row.
"""

from __future__ import annotations

import decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sparkbook.errors import ArithmeticException, sql_error
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst.aggregates import AggregateFunction, input_type
from sparkbook.sql.execution.arrow import one_array, to_arrow_type
from sparkbook.sql.execution.evaluate import BatchEvaluator
from sparkbook.sql.types import DecimalType, LongType

# The buffer columns each function keeps between the partial and the final step.
# first/last also count their rows, as Spark's keep valueSet: a global aggregate's task of
# no rows still sends its one row of buffers, whose NULL is no value to merge.
BUFFERS = {"sum": ("sum",), "avg": ("sum", "count"), "count": ("count",), "min": ("min",),
           "max": ("max",), "first": ("first", "count_all"), "last": ("last", "count_all"),
           "collect_list": ("list",), "collect_set": ("set",)}
MERGE = {"sum": "sum", "count": "sum", "min": "min", "max": "max", "first": "first",
         "first_valid": "first_valid", "last_valid": "last_valid",
         "last": "last", "list": "list", "set": "set", "count_all": "sum"}


def buffers(f: AggregateFunction) -> tuple[str, ...]:
    if f.name in ("first", "last") and f.ignore_nulls:
        return (f"{f.name}_valid",)  # pyarrow's first/last skipping NULLs
    return BUFFERS[f.name]


def buffer_count(f: AggregateFunction) -> int:
    if f.distinct:
        return 1
    return len(buffers(f)) + (1 if _checked_sum(f) else 0)


def _checked_sum(f: AggregateFunction) -> bool:
    return f.name == "sum" and isinstance(f.dtype, LongType)


def group_ids(keys: list[pa.Array], num_rows: int) -> tuple[np.ndarray, list[pa.Array], int]:
    """Each row's dense group id (in order of first appearance), the keys of each group,
    and the number of groups. A key column's dictionary indices are ids already (NULL is
    one more); several keys combine their ids and are made dense again."""
    if not keys:
        return np.zeros(num_rows, np.int64), [], 1
    if len(keys) == 1:
        # One key: its dictionary indices are dense ids already; NULL is one more id.
        encoded = pc.dictionary_encode(one_array(keys[0]))
        ids = encoded.indices.to_numpy(zero_copy_only=False)
        groups = encoded.dictionary
        if encoded.null_count:
            ids = np.where(encoded.indices.is_valid().to_numpy(zero_copy_only=False), ids,
                           len(groups))
            groups = pa.concat_arrays([groups, pa.nulls(1, groups.type)])
        return ids.astype(np.int64), [groups], len(groups)
    combined = np.zeros(num_rows, np.int64)
    for k in keys:
        encoded = pc.dictionary_encode(one_array(k))
        size = len(encoded.dictionary) + 1
        ids = pc.fill_null(encoded.indices, size - 1).to_numpy(zero_copy_only=False)
        combined = combined * size + ids.astype(np.int64)
    _, first, gids = np.unique(combined, return_index=True, return_inverse=True)
    index = pa.array(first)
    return gids.astype(np.int64), [one_array(k).take(index) for k in keys], len(first)


def _with_nan_flags(specs: list[tuple[pa.Array, str]]
                    ) -> tuple[list[tuple[pa.Array, str]], list[tuple[int, int]]]:
    """Spark orders NaN above every other double, so a max over a NaN is NaN, where
    pyarrow's max skips NaN: each max of floats gets an "any NaN" aggregated beside it
    (its place, and its flag's)."""
    out, flags = list(specs), []
    for i, (values, how) in enumerate(specs):
        if how == "max" and pa.types.is_floating(values.type):
            flags.append((i, len(out)))
            out.append((pc.is_nan(values), "any"))
    return out, flags


def _nan_where_flagged(cols: list[pa.Array], flags: list[tuple[int, int]]) -> list[pa.Array]:
    for i, flag in flags:
        nan = pa.scalar(float("nan"), cols[i].type)
        cols[i] = pc.if_else(pc.fill_null(cols[flag], False), nan, cols[i])
    return cols[:len(cols) - len(flags)]


def aggregate_many(gids: np.ndarray, n: int, specs: list[tuple[pa.Array, str]]
                   ) -> list[pa.Array]:
    """Each ``(values, how)`` aggregated per group, the hash kinds in one ``group_by``."""
    specs, flags = _with_nan_flags(specs)
    out: list[pa.Array | None] = [None] * len(specs)
    hashed = []
    for i, (values, how) in enumerate(specs):
        if how in ("list", "set"):
            out[i] = _lists(gids, n, one_array(values), how)
        elif how == "count_all":
            out[i] = pa.array(np.bincount(gids, minlength=n).astype(np.int64) if n > 1
                              else [len(gids)] * n, pa.int64())
        else:
            hashed.append((i, values, how))
    options = {"first": pc.ScalarAggregateOptions(skip_nulls=False),  # may be NULL
               "last": pc.ScalarAggregateOptions(skip_nulls=False)}
    if hashed and n == 1:
        # One group (a global aggregate): the scalar kernels, without a hash table (whose
        # group_by took 2.6 ms over a Q2b map task's 250k rows, these 0.2).
        for i, values, how in hashed:
            out[i] = pa.repeat(getattr(pc, how.removesuffix("_valid"))(
                values, options=options.get(how)), 1)
    elif hashed:
        columns = {"g": pa.array(gids)}
        columns.update({f"v{i}": v for i, v, _ in hashed})
        grouped = pa.table(columns).group_by("g", use_threads=False).aggregate(
            [(f"v{i}", how.removesuffix("_valid"), options.get(how)) for i, _, how in hashed])
        # Groups with no rows here (a global aggregate over nothing) are NULL, counts 0.
        index = np.full(n, -1, np.int64)
        index[grouped.column("g").to_numpy()] = np.arange(grouped.num_rows)
        take = pa.array(index, mask=index < 0)
        for i, _, how in hashed:
            result = grouped.column(f"v{i}_{how.removesuffix('_valid')}").combine_chunks() \
                .take(take)
            out[i] = pc.fill_null(result, 0) if how == "count" else result
    return _nan_where_flagged(out, flags)  # type: ignore[arg-type]


def aggregate_by_keys(keys: list[pa.Array], specs: list[tuple[pa.Array, str]]
                      ) -> tuple[list[pa.Array], list[pa.Array]] | None:
    """The keys of each group and each ``(values, how)`` per group in one ``group_by`` of
    the keys themselves: one hash pass where group ids first take two (a partial step's
    every group has rows, so none needs the ids' empty groups). None when an aggregate is
    no hash kind (lists, sets) or the keys are of a type ``group_by`` cannot hash."""
    if any(how in ("list", "set") for _, how in specs):
        return None
    specs, flags = _with_nan_flags(specs)
    # Chunked columns as they are: group_by reads chunks, so combining them is a copy for
    # nothing (2.5 ms of a Q1 map task's 45).
    columns = dict(zip((f"k{i}" for i in range(len(keys))), keys))
    aggregations: list[tuple] = []
    names: list[str] = []
    for i, (values, how) in enumerate(specs):
        if how == "count_all":
            names.append("count_all")
            if ([], "count_all") not in aggregations:
                aggregations.append(([], "count_all"))
            continue
        how = how.removesuffix("_valid")
        columns[f"v{i}"] = values
        # first/last keep a group's NULL as Spark's do (the _valid kinds skip NULLs).
        skip = pc.ScalarAggregateOptions(skip_nulls=False) if specs[i][1] in (
            "first", "last") else None
        aggregations.append((f"v{i}", how, skip))
        names.append(f"v{i}_{how}")
    try:
        grouped = pa.table(columns).group_by(
            [f"k{i}" for i in range(len(keys))], use_threads=False).aggregate(aggregations)
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    return ([grouped.column(f"k{i}").combine_chunks() for i in range(len(keys))],
            _nan_where_flagged([grouped.column(name).combine_chunks() for name in names],
                               flags))


def _tuple_key(columns: list[pa.ChunkedArray]) -> pa.ChunkedArray:
    """One string per row standing for its values (``count(DISTINCT a, b)``): each value's
    text after its length, so that no two rows of different values meet; NULL where a
    value is NULL, as Spark counts only rows without one."""
    parts = []
    for c in columns:
        text = pc.cast(c, pa.string())
        parts += [pc.cast(pc.utf8_length(text), pa.string()), text]
    return pc.binary_join_element_wise(*parts, ":")


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


def _decimal_average(total: pa.Array, count: pa.Array, dtype: DecimalType) -> pa.Array:
    """A decimal mean at Spark's scale (that of the input plus 4), rounded half up, one
    value per group."""
    unit = decimal.Decimal(1).scaleb(-dtype.scale)
    means = [None if t is None or not c else
             (decimal.Decimal(t) / c).quantize(unit, decimal.ROUND_HALF_UP)
             for t, c in zip(total.to_pylist(), count.to_pylist())]
    return pa.array(means, to_arrow_type(dtype))


def _may_overflow(values: pa.Array | pa.ChunkedArray) -> bool:
    """Whether a sum of some of these bigints could leave the bigint range: the rows times
    the largest magnitude bound every such sum."""
    bounds = pc.min_max(values)
    lo, hi = bounds["min"].as_py(), bounds["max"].as_py()
    return lo is not None and max(-lo, hi) * len(values) >= 2 ** 63


def partial(table: pa.Table, inputs: list[e.AttributeReference], keys: list[e.Expression],
            functions: list[AggregateFunction]) -> pa.Table:
    """Keys and buffers of each group of this task's rows."""
    ev = BatchEvaluator(inputs)
    batches = table.to_batches() or [pa.RecordBatch.from_pylist([], table.schema)]

    def column(x: e.Expression) -> pa.ChunkedArray:
        # batch by batch, as a Project evaluates: no copy of the table into one batch
        return pa.chunked_array([ev.column(x, b) for b in batches])

    key_cols = [column(k) for k in keys]
    specs: list[tuple[pa.Array | pa.ChunkedArray, str]] = []
    checks: list[int] = []  # where a checked bigint sum's (sum, float sum) pair starts
    exact: list[int] = []  # where a checked sum that cannot overflow here is
    for f in functions:
        if not f.children or isinstance(f.child, e.Literal):  # count(*), count(1)
            specs.append((pa.nulls(table.num_rows), "count_all"))
            continue
        values = column(f.child) if len(f.children) == 1 else \
            _tuple_key([column(c) for c in f.children])
        cast = input_type(f)
        if cast is not None:
            values = values.cast(to_arrow_type(cast))
        if f.distinct:
            specs.append((values, "set"))
            continue
        specs += [(values, how) for how in buffers(f)]
        if not _checked_sum(f):
            continue
        if _may_overflow(values):
            checks.append(len(specs) - 1)
            specs.append((pc.cast(values, pa.float64(), safe=False), "sum"))
        else:  # its float sum is its exact one's, cast (the float sum was 4 of Q1's 45 ms)
            exact.append(len(specs) - 1)
    direct = aggregate_by_keys(key_cols, specs) if keys else None
    if direct is not None:
        group_keys, cols = direct
    else:
        gids, group_keys, n = group_ids(key_cols, table.num_rows)
        if not keys and table.num_rows == 0:
            n = 1
        cols = aggregate_many(gids, n, specs)
    for i in checks:
        _overflow_check(cols[i], cols[i + 1])
    for i in reversed(exact):  # (from the last, so that the places before stay)
        cols.insert(i + 1, pc.cast(cols[i], pa.float64(), safe=False))
    return pa.table({str(i): c for i, c in enumerate(list(group_keys) + cols)})


def _rows_seen(num_keys: int, functions: list[AggregateFunction]) -> int | None:
    """The column of the first first/last's row count among the buffers, if any."""
    i = num_keys
    for f in functions:
        hows = buffers(f) if not f.distinct else ("set",)
        if "count_all" in hows:
            return i + hows.index("count_all")
        i += buffer_count(f)
    return None


def final(table: pa.Table, num_keys: int, functions: list[AggregateFunction],
          global_agg: bool) -> list[pa.Array]:
    """Merge the buffers of each group (from every map task) into the aggregates."""
    seen = _rows_seen(num_keys, functions) if global_agg else None
    if seen is not None:  # the buffers of tasks that had rows
        table = table.filter(pc.greater(table.column(seen), 0))
    cols = [c.combine_chunks() for c in table.columns]
    gids, group_keys, n = group_ids(cols[:num_keys], table.num_rows)
    if global_agg and table.num_rows == 0:
        n = 1
    specs: list[tuple[pa.Array, str]] = []
    i = num_keys
    for f in functions:
        hows = ("set",) if f.distinct else buffers(f) + (
            ("sum",) if _checked_sum(f) else ())
        specs += [(cols[i + j], MERGE.get(how, how)) for j, how in enumerate(hows)]
        i += len(hows)
    merged = aggregate_many(gids, n, specs)
    out = list(group_keys)
    i = 0
    for f in functions:
        width = buffer_count(f)
        parts = merged[i:i + width]
        i += width
        if f.distinct:
            out.append(pc.list_value_length(parts[0]).cast(pa.int64()))
        elif f.name == "count":
            out.append(pc.fill_null(parts[0], 0))
        elif f.name == "avg" and isinstance(f.dtype, DecimalType):
            out.append(_decimal_average(*parts, f.dtype))
        elif f.name == "avg":
            total, count = parts
            out.append(pc.divide(total.cast(pa.float64()),
                                 pc.if_else(pc.equal(count, 0), None, count).cast(pa.float64())))
        elif _checked_sum(f):
            _overflow_check(parts[0], parts[1])
            out.append(parts[0])
        else:
            out.append(parts[0].cast(to_arrow_type(f.dtype)))
    return out
