"""Arrays, maps and structs over whole columns: ``array``, ``size``, ``array_contains``,
``struct``, ``element_at``, ``arr[i]``/``m[k]``/``s.f`` (Spark's ``ExtractValue``), and the
rows of ``explode``. A list column is its offsets and one flat child; each function works on
those with numpy and ``pyarrow.compute``, never element by element in Python."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sparkbook.errors import ArrayIndexOutOfBoundsException, sql_error
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.execution.arrow import to_arrow_type
from sparkbook.sql.execution.values import Kernel, Value, as_array, literal_value


class Lists:
    """A list (or map) column taken apart: per row its start in the flat child and its
    length (0 for NULL), whether it is NULL, and for each element in use its row."""

    def __init__(self, column: pa.Array) -> None:
        self.column = column
        offsets = column.offsets.to_numpy()
        self.valid = column.is_valid().to_numpy(zero_copy_only=False)
        self.starts = offsets[:-1].astype(np.int64)
        self.lengths = np.where(self.valid, np.diff(offsets), 0).astype(np.int64)
        self.rows = np.repeat(np.arange(len(column)), self.lengths)
        # The flat positions of the elements in use, row after row.
        self.positions = (np.arange(len(self.rows)) - np.repeat(
            np.cumsum(self.lengths) - self.lengths, self.lengths) + np.repeat(
            self.starts, self.lengths)).astype(np.int64)

    def child(self, part: str = "values") -> pa.Array:
        """The flat elements (``keys``/``items`` of a map)."""
        return getattr(self.column, part)

    def elements(self, part: str = "values") -> pa.Array:
        return pc.take(self.child(part), pa.array(self.positions, pa.int64()))


def _numbers(value: Value, n: int) -> tuple[np.ndarray, np.ndarray]:
    """An integer argument per row, and where it is not NULL."""
    column = as_array(value, n)
    return (pc.fill_null(column, 0).to_numpy(zero_copy_only=False).astype(np.int64),
            column.is_valid().to_numpy(zero_copy_only=False))


def _index_error(error_class: str, index: int, size: int, hint: str
                 ) -> ArrayIndexOutOfBoundsException:
    return sql_error(error_class, "22003",
                     f"The index {index} is out of bounds. The array has {size} elements. "
                     f"{hint} to tolerate accessing element at invalid index and return NULL "
                     "instead.", ArrayIndexOutOfBoundsException)


def _take_element(lists: Lists, index: np.ndarray, valid: np.ndarray, error_class: str,
                  shown: np.ndarray, hint: str) -> pa.Array:
    """Element ``index[i]`` (0-based) of row i; out of bounds is an error (ANSI mode)."""
    valid = valid & lists.valid
    bad = valid & ((index < 0) | (index >= lists.lengths))
    if bad.any():
        i = int(np.argmax(bad))
        raise _index_error(error_class, int(shown[i]), int(lists.lengths[i]), hint)
    where = np.where(valid, lists.starts + index, 0)
    return pc.take(lists.child(), pa.array(where, pa.int64(), mask=~valid))


def _map_value(column: pa.Array, key: Value, n: int) -> pa.Array:
    """The value under ``key`` in each row's map (NULL when it is not there)."""
    lists = Lists(column)
    keys = lists.elements("keys")
    wanted = key if isinstance(key, pa.Scalar) else pc.take(key, pa.array(lists.rows))
    match = pc.fill_null(pc.equal(keys, wanted), False).to_numpy(zero_copy_only=False)
    found = np.full(n, -1, dtype=np.int64)
    found[lists.rows[match]] = lists.positions[match]
    return pc.take(column.items, pa.array(np.maximum(found, 0), pa.int64(), mask=found < 0))


def _extract_value(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    """``arr[i]`` (0-based), ``m[k]`` or ``s.f``, by the child's type."""
    column, key = as_array(args[0], n), args[1]
    if pa.types.is_struct(column.type):
        field = pc.struct_field(column, literal_value(x.children[1]))
        # A field of a NULL struct is NULL.
        return pc.if_else(column.is_valid(), field, pa.scalar(None, field.type))
    if isinstance(column.type, pa.MapType):
        return _map_value(column, key, n)
    index, valid = _numbers(key, n)
    return _take_element(Lists(column), index, valid, "INVALID_ARRAY_INDEX", index,
                         "Use the SQL function `get()`")


def _element_at(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    column = as_array(args[0], n)
    if isinstance(column.type, pa.MapType):
        return _map_value(column, args[1], n)
    lists = Lists(column)
    shown, valid = _numbers(args[1], n)
    zero = valid & lists.valid & (shown == 0)
    if zero.any():
        raise sql_error("INVALID_INDEX_OF_ZERO", "22003",
                        "The index 0 is invalid. An index shall be either < 0 or > 0 (the "
                        "first element has index 1).", ArrayIndexOutOfBoundsException)
    # 1-based; a negative index counts from the end.
    index = np.where(shown > 0, shown - 1, lists.lengths + shown)
    return _take_element(lists, index, valid, "INVALID_ARRAY_INDEX_IN_ELEMENT_AT", shown,
                         "Use `try_element_at`")


def _array(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    k = len(args)
    element_type = to_arrow_type(x.dtype).value_type
    if k == 0:
        return pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, np.int32)),
                                        pa.array([], element_type))
    flat = pa.concat_arrays([as_array(a, n).cast(element_type) for a in args])
    # Row r's elements are column j's row r, for j in order: flat index j * n + r.
    order = (np.arange(n)[:, None] + np.arange(k)[None, :] * n).ravel()
    offsets = pa.array(np.arange(0, n * k + 1, k, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pc.take(flat, pa.array(order, pa.int64())))


def _size(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    column = as_array(args[0], n)
    if pa.types.is_null(column.type):
        return pa.nulls(n, pa.int32())
    lists = Lists(column)
    return pa.array(lists.lengths.astype(np.int32), pa.int32(), mask=~lists.valid)


def _array_contains(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    column, value = as_array(args[0], n), args[1]
    lists = Lists(column)
    elements = lists.elements()
    wanted = value if isinstance(value, pa.Scalar) else pc.take(value, pa.array(lists.rows))
    equal = pc.equal(elements, wanted)
    match = pc.fill_null(equal, False).to_numpy(zero_copy_only=False)
    unknown = equal.is_null().to_numpy(zero_copy_only=False)
    found = np.bincount(lists.rows[match], minlength=n) > 0
    has_null = np.bincount(lists.rows[unknown], minlength=n) > 0
    value_null = as_array(value, n).is_null().to_numpy(zero_copy_only=False)
    # NULL when the array or value is NULL, or nothing matched but an element is NULL.
    null = ~lists.valid | value_null | (~found & has_null)
    return pa.array(found, pa.bool_(), mask=null)


def _struct(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    fields = list(to_arrow_type(x.dtype))
    return pa.StructArray.from_arrays([as_array(a, n).cast(f.type) for a, f in
                                       zip(args, fields)], fields=fields)


def _sort_array(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    """Each array's elements in order, NULLs first ascending and last descending."""
    column = as_array(args[0], n)
    ascending = bool(literal_value(x.children[1]))
    lists = Lists(column)
    order = pc.sort_indices(
        pa.table({"row": pa.array(lists.rows, pa.int64()), "value": lists.elements()}),
        sort_keys=[("row", "ascending", "at_end"), ("value", "ascending", "at_start")
                   if ascending else ("value", "descending", "at_end")])
    offsets = np.concatenate([[0], np.cumsum(lists.lengths)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pc.take(lists.elements(), order),
                                    type=column.type, mask=pa.array(~lists.valid))


KERNELS: dict[str, Kernel] = {
    "extractvalue": _extract_value, "element_at": _element_at,
    "array": _array, "size": _size, "array_contains": _array_contains, "struct": _struct,
    "sort_array": _sort_array,
}


def explode_rows(column: pa.Array, outer: bool) -> tuple[np.ndarray, pa.Array, np.ndarray]:
    """For ``explode``: the input row of each output row, each output row's flat position
    (NULL for the one row ``explode_outer`` gives a NULL or empty list) and its position
    in its list."""
    lists = Lists(column)
    counts = np.maximum(lists.lengths, 1) if outer else lists.lengths
    rows = np.repeat(np.arange(len(column)), counts)
    pos = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    present = pos < np.repeat(lists.lengths, counts)
    flat = pa.array(np.where(present, np.repeat(lists.starts, counts) + pos, 0), pa.int64(),
                    mask=~present)
    return rows, flat, np.where(present, pos, -1)
