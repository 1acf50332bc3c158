"""Sort keys packed into one integer per row (as DuckDB and Spark's UnsafeExternalSorter
normalise keys into prefixes): when every key is an integer, date or timestamp column and
their ranges fit in 63 bits together, row order by the keys is the order of one int64,
which sorts as a radix sort (2.5M rows by three bigint keys: 0.3 s against 0.6 s for
pyarrow's multi-key ``sort_indices``), and a range partitioner places rows among its
bounds with one ``searchsorted`` (0.13 s against 0.7 s for sorting rows and bounds
together). Other keys use pyarrow's sort."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.execution.arrow import one_array

_BITS = 63


def arrow_sort_keys(order: list[e.SortOrder]) -> list[tuple[str, str, str]]:
    """pyarrow's sort keys for a table whose columns are ``"0"``, ``"1"``, ... in order."""
    return [(str(i), "ascending" if o.ascending else "descending",
             "at_start" if o.nulls_first else "at_end") for i, o in enumerate(order)]


def pack(tables: list[pa.Table], order: list[e.SortOrder]) -> list[np.ndarray] | None:
    """For each table of keys, one int64 per row, ascending in the rows' order by ``order``
    (NULLs first or last as each key asks) and comparable across the tables; or None when
    a key is not integral or the keys' ranges need over 63 bits."""
    columns = [[_integral(c) for c in t.columns] for t in tables]
    if any(c is None for row in columns for c in row):
        return None
    ranges = []
    for j in range(len(order)):
        bounds = [v.as_py() for row in columns for v in pc.min_max(row[j]).values()
                  if v.is_valid]
        ranges.append((min(bounds), max(bounds)) if bounds else (0, 0))
    bits = [(high - low + 1).bit_length() for low, high in ranges]  # codes 0..width+1
    if sum(bits) > _BITS:
        return None
    return [_packed(row, ranges, bits, order) for row in columns]


def _integral(column: pa.Array | pa.ChunkedArray) -> pa.Array | None:
    column = one_array(column)
    if pa.types.is_boolean(column.type):
        return column.cast(pa.int8())
    if pa.types.is_date32(column.type):
        return column.cast(pa.int32())
    if pa.types.is_timestamp(column.type):
        return column.cast(pa.int64())
    return column if pa.types.is_integer(column.type) else None


def _packed(columns: list[pa.Array], ranges: list[tuple[int, int]], bits: list[int],
            order: list[e.SortOrder]) -> np.ndarray:
    packed = np.zeros(len(columns[0]) if columns else 0, np.int64)
    shift = 0
    for column, (low, high), width, o in reversed(list(zip(columns, ranges, bits, order))):
        values = pc.fill_null(column, low).to_numpy(zero_copy_only=False).astype(np.int64)
        code = (values - low) if o.ascending else (high - values)  # 0..high-low
        if column.null_count:
            null = ~column.is_valid().to_numpy(zero_copy_only=False)
            code = np.where(null, 0, code + 1) if o.nulls_first else \
                np.where(null, high - low + 1, code)
        packed |= code << shift
        shift += width
    return packed


def sort_indices(keys: pa.Table, order: list[e.SortOrder]) -> pa.Array | np.ndarray:
    """The row order by ``order`` (stable: equal keys keep their order)."""
    packed = pack([keys], order)
    if packed is None:
        return pc.sort_indices(keys, sort_keys=arrow_sort_keys(order))
    return radix_argsort(packed[0])


def radix_argsort(values: np.ndarray) -> np.ndarray:
    """A stable argsort of non-negative int64s, 16 bits at a time from the lowest: numpy's
    stable sort of 16-bit integers is a radix sort, so each pass is linear (2.5M keys of 40
    bits: three passes take 0.32 s where one stable sort of the int64s takes 0.55 s)."""
    bits = int(values.max()).bit_length() if len(values) else 0
    order: np.ndarray | None = None
    for shift in range(0, max(bits, 1), 16):
        digit = ((values if order is None else values[order]) >> shift).astype(np.uint16)
        step = np.argsort(digit, kind="stable")
        order = step if order is None else order[step]
    return order
