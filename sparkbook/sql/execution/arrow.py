"""Partitions as Arrow record batches: Spark types as Arrow types, Python rows into batches
(``createDataFrame``) and batches back into ``Row``s (``collect``, ``df.rdd``)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa

from sparkbook.errors import PySparkTypeError
from sparkbook.sql import types as T
from sparkbook.sql.row import Row, _create_row

_ARROW = {
    T.StringType: pa.string(), T.BinaryType: pa.binary(), T.BooleanType: pa.bool_(),
    T.DateType: pa.date32(), T.TimestampType: pa.timestamp("us"),
    T.TimestampNTZType: pa.timestamp("us"), T.DoubleType: pa.float64(),
    T.FloatType: pa.float32(), T.ByteType: pa.int8(), T.ShortType: pa.int16(),
    T.IntegerType: pa.int32(), T.LongType: pa.int64(), T.NullType: pa.null(),
}


def one_array(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A column as one array: a chunked one's chunks combined, without a copy when it has
    one chunk (``combine_chunks`` copies even then: 1 ms for 2.5M keys)."""
    if not isinstance(a, pa.ChunkedArray):
        return a
    return a.chunk(0) if a.num_chunks == 1 else a.combine_chunks()


def to_arrow_type(dt: T.DataType) -> pa.DataType:
    """The Arrow type a column of ``dt`` is held in. Timestamps are local wall-clock time,
    as PySpark hands them to Python."""
    if type(dt) in _ARROW:
        return _ARROW[type(dt)]
    if isinstance(dt, T.DecimalType):
        return pa.decimal128(dt.precision, dt.scale)
    if isinstance(dt, T.ArrayType):
        return pa.list_(to_arrow_type(dt.elementType))
    if isinstance(dt, T.MapType):
        return pa.map_(to_arrow_type(dt.keyType), to_arrow_type(dt.valueType))
    if isinstance(dt, T.StructType):
        return pa.struct([pa.field(f.name, to_arrow_type(f.dataType)) for f in dt.fields])
    raise PySparkTypeError(f"[UNSUPPORTED_DATA_TYPE] Unsupported T.DataType `{dt!r}`.",
                           "UNSUPPORTED_DATA_TYPE")


def arrow_schema(schema: T.StructType) -> pa.Schema:
    # Column names in batches are positions: two columns may share a name ("age", "age").
    return pa.schema([pa.field(str(i), to_arrow_type(f.dataType))
                      for i, f in enumerate(schema.fields)])


def _to_arrow_value(value: Any, dt: T.DataType) -> Any:
    """A Python value in the shape pyarrow takes for ``dt`` (rows of a struct, local time)."""
    if value is None:
        return None
    if isinstance(dt, T.StructType):
        if isinstance(value, dict):
            return {f.name: _to_arrow_value(value.get(f.name), f.dataType) for f in dt.fields}
        return {f.name: _to_arrow_value(v, f.dataType) for f, v in zip(dt.fields, value)}
    if isinstance(dt, T.ArrayType):
        return [_to_arrow_value(v, dt.elementType) for v in value]
    if isinstance(dt, T.MapType):
        return [(_to_arrow_value(k, dt.keyType), _to_arrow_value(v, dt.valueType))
                for k, v in value.items()]
    if isinstance(dt, T.TimestampType) and isinstance(value, datetime.datetime) and value.tzinfo:
        return value.astimezone().replace(tzinfo=None)
    return value


def _needs_shaping(dt: T.DataType) -> bool:
    return isinstance(dt, (T.StructType, T.ArrayType, T.MapType, T.TimestampType))


def rows_to_batch(rows: list[tuple], schema: T.StructType,
                  inferred: bool = False) -> pa.RecordBatch:
    """Rows (tuples in the schema's order) as one record batch; a value that does not fit
    its field raises as PySpark's schema check does. In an ``inferred`` schema, a field
    that inference made a string (from ``1`` and ``"a"``) takes the other values as text."""
    columns = []
    for i, field in enumerate(schema.fields):
        values = [r[i] for r in rows]
        if _needs_shaping(field.dataType):
            values = [_to_arrow_value(v, field.dataType) for v in values]
        elif inferred and isinstance(field.dataType, T.StringType):
            values = [_as_text(v) for v in values]
        try:
            columns.append(pa.array(values, type=to_arrow_type(field.dataType)))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            raise _unacceptable(field, values) from None
    return pa.RecordBatch.from_arrays(columns, schema=arrow_schema(schema))


def _as_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return T.java_number_str(value) if isinstance(value, float) else str(value)


def _unacceptable(field: T.StructField, values: list) -> PySparkTypeError:
    arrow_type = to_arrow_type(field.dataType)
    for v in values:  # the error path only: find the value to name
        try:
            pa.array([v], type=arrow_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            return PySparkTypeError(
                f"[FIELD_DATA_TYPE_UNACCEPTABLE_WITH_NAME] field {field.name}: "
                f"{field.dataType!r} can not accept object {v!r} in type {type(v)}.",
                "FIELD_DATA_TYPE_UNACCEPTABLE_WITH_NAME")
    return PySparkTypeError(f"[FIELD_DATA_TYPE_UNACCEPTABLE_WITH_NAME] field {field.name}.",
                            "FIELD_DATA_TYPE_UNACCEPTABLE_WITH_NAME")


def align_row(row: Any, names: list[str], by_name: bool) -> tuple:
    """A row of any accepted shape (tuple, list, Row, dict, or a lone value) as a tuple in
    the schema's order."""
    if isinstance(row, dict):
        return tuple(row.get(n) for n in names)
    if by_name and isinstance(row, Row) and hasattr(row, "__fields__"):
        values = dict(zip(row.__fields__, row))
        return tuple(values.get(n) for n in names)
    if isinstance(row, (tuple, list)):
        return tuple(row)
    return (row,)


def rows_to_batches(rows: Iterable, schema: T.StructType, by_name: bool,
                    batch_size: int = 10_000) -> Iterator[pa.RecordBatch]:
    """A partition of Python rows as record batches of up to ``batch_size`` rows."""
    names = schema.names
    chunk: list[tuple] = []
    for row in rows:
        chunk.append(align_row(row, names, by_name))
        if len(chunk) >= batch_size:
            yield rows_to_batch(chunk, schema)
            chunk = []
    if chunk:
        yield rows_to_batch(chunk, schema)


def _from_arrow_value(value: Any, dt: T.DataType) -> Any:
    if value is None:
        return None
    if isinstance(dt, T.StructType):
        return _create_row(dt.names, [_from_arrow_value(value.get(f.name), f.dataType)
                                      for f in dt.fields])
    if isinstance(dt, T.ArrayType):
        return [_from_arrow_value(v, dt.elementType) for v in value]
    if isinstance(dt, T.MapType):
        return {_from_arrow_value(k, dt.keyType): _from_arrow_value(v, dt.valueType)
                for k, v in value}
    return value


def batches_to_rows(batches: Iterable[pa.RecordBatch], schema: T.StructType) -> Iterator[Row]:
    """The rows of record batches, as ``Row``s with the schema's field names."""
    names = schema.names
    for batch in batches:
        columns = []
        for i, field in enumerate(schema.fields):
            values = batch.column(i).to_pylist()
            if isinstance(field.dataType, (T.StructType, T.ArrayType, T.MapType)):
                values = [_from_arrow_value(v, field.dataType) for v in values]
            columns.append(values)
        for values in zip(*columns) if columns else ([()] * batch.num_rows):
            yield _create_row(names, values)


def range_batches(start: int, end: int, step: int, batch_rows: int = 1 << 20
                  ) -> Iterator[pa.RecordBatch]:
    """``range(start, end, step)`` as batches of one bigint column, made by Arrow."""
    schema = pa.schema([pa.field("0", pa.int64(), nullable=False)])
    count = max(0, -(-(end - start) // step))
    for first in range(0, count, batch_rows):
        n = min(batch_rows, count - first)
        lo = start + first * step
        yield pa.RecordBatch.from_arrays([_arange(lo, n, step)], schema=schema)


def _arange(lo: int, n: int, step: int) -> pa.Array:
    try:
        import numpy  # four times faster than Arrow building from a range, when present
    except ImportError:
        return pa.array(range(lo, lo + n * step, step), pa.int64())
    return pa.array(numpy.arange(lo, lo + n * step, step, dtype=numpy.int64))
