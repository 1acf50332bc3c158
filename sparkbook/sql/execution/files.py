"""File sources (csv, json, text, parquet): which files a path names, how they are cut into
partitions (as Spark's FilePartition packs them), and what each task runs over its split
with pyarrow, column-wise: reading record batches, and inferring the CSV or JSON types of
its rows for the driver to merge."""

from __future__ import annotations

import glob
import io
import itertools
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sparkbook.rdd.input import FileSplit, SplitStream, iter_lines, local_path, read_split_bytes
from sparkbook.sql import types as T
from sparkbook.sql.execution import csvsource
from sparkbook.sql.execution.arrow import arrow_schema, to_arrow_type

MAX_PARTITION_BYTES = 128 * 1024 * 1024  # spark.sql.files.maxPartitionBytes
OPEN_COST_IN_BYTES = 4 * 1024 * 1024  # spark.sql.files.openCostInBytes
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


@dataclass(frozen=True)
class SourceFile:
    """A file to read and the Hive-style partition values its folders name (``k=v``)."""

    path: str
    size: int
    partition: tuple[tuple[str, str | None], ...] = ()


@dataclass
class ReadSpec:
    """What every task of one scan needs: the format, its options and the schema; once
    planned, the columns the query reads (positions in data then partition columns, None:
    all) and, for parquet, the filter pyarrow applies while reading (row groups whose
    statistics rule it out are skipped)."""

    format: str
    options: dict[str, str]
    data_schema: T.StructType  # the columns in the files
    partition_schema: T.StructType = field(default_factory=lambda: T.StructType([]))
    columns: list[int] | None = None
    arrow_filter: Any = None  # a pyarrow.compute.Expression

    @property
    def splittable(self) -> bool:
        """Whether a file may be cut into splits: not parquet's, nor a CSV whose quoted
        values may span lines (``multiLine``)."""
        if self.format == "csv":
            return not csvsource.truthy(self.options.get("multiLine"))
        return self.format != "parquet"


@dataclass
class FileRelation:
    """What ``spark.read`` found: the files, the spec to read them with, and the
    parallelism their splits were planned for (Spark's HadoopFsRelation)."""

    spec: ReadSpec
    files: list[SourceFile]
    parallelism: int

    @property
    def size_in_bytes(self) -> int:
        """Spark's estimate of a file relation: the files' total size."""
        return sum(f.size for f in self.files)

    def planned(self, columns: list[int], arrow_filter: Any,
                files: list[SourceFile]) -> tuple[ReadSpec, list]:
        """The spec reading ``columns`` (and the partitions of ``files``, those left after
        pruning), for one query's scan."""
        spec = ReadSpec(self.spec.format, self.spec.options, self.spec.data_schema,
                        self.spec.partition_schema, columns, arrow_filter)
        if spec.format == "csv":
            csvsource.check_corrupt_record_column(spec, columns)
        return spec, plan_splits(files, self.parallelism, spec.splittable)


def path_not_found(path: str) -> Exception:
    from sparkbook.errors import AnalysisException

    return AnalysisException(
        f"[PATH_NOT_FOUND] Path does not exist: file:{path}. SQLSTATE: 42K03",
        "PATH_NOT_FOUND", {"path": f"file:{path}"}, "42K03")


def list_files(paths: list[str]) -> list[SourceFile]:
    """Every data file under the paths (files, folders, globs), folders read recursively;
    names starting with ``_`` or ``.`` are skipped, as Spark skips them."""
    found: list[SourceFile] = []
    for path in paths:
        full = local_path(path)
        matches = sorted(glob.glob(full)) if glob.has_magic(full) else [full]
        if not matches or not all(os.path.exists(m) for m in matches):
            raise path_not_found(full)
        for match in matches:
            if os.path.isdir(match):
                found.extend(_walk(match, ()))
            else:
                found.append(SourceFile(match, os.path.getsize(match)))
    return found


def _walk(folder: str, partition: tuple) -> list[SourceFile]:
    out: list[SourceFile] = []
    for name in sorted(os.listdir(folder)):
        if name.startswith(("_", ".")):
            continue
        full = os.path.join(folder, name)
        if os.path.isdir(full):
            key, eq, value = name.partition("=")
            extra = ((key, None if value == HIVE_NULL else value),) if eq else ()
            out.extend(_walk(full, partition + extra))
        else:
            out.append(SourceFile(full, os.path.getsize(full), partition))
    return out


def plan_splits(files: list[SourceFile], parallelism: int, splittable: bool
                ) -> list[list[tuple[SourceFile, FileSplit]]]:
    """Spark's FilePartition.getFilePartitions: files cut into pieces of at most
    ``min(maxPartitionBytes, max(openCost, total / parallelism))`` bytes, largest first,
    packed into partitions of about that size, each file costing ``openCost`` more."""
    total = sum(f.size + OPEN_COST_IN_BYTES for f in files)
    max_split = min(MAX_PARTITION_BYTES, max(OPEN_COST_IN_BYTES, total // max(parallelism, 1)))
    pieces = []
    for f in files:
        if f.size == 0:
            continue
        step = max_split if splittable else f.size
        pieces += [(f, FileSplit(f.path, start, min(step, f.size - start)))
                   for start in range(0, f.size, step)]
    pieces.sort(key=lambda p: -p[1].length)
    partitions: list[list[tuple[SourceFile, FileSplit]]] = []
    current: list[tuple[SourceFile, FileSplit]] = []
    size = 0
    for piece in pieces:
        if current and size + piece[1].length > max_split:
            partitions.append(current)
            current, size = [], 0
        current.append(piece)
        size += piece[1].length + OPEN_COST_IN_BYTES
    if current:
        partitions.append(current)
    return partitions


_NON_SPACE = re.compile(rb"\S")


def _blank(data: bytes | memoryview) -> bool:
    """Only whitespace (``not data.strip()``, without copying the split)."""
    return _NON_SPACE.search(data) is None


# --- JSON lines, text, parquet -----------------------------------------------------


def _read_json_table(split: FileSplit, schema: pa.Schema | None = None) -> pa.Table:
    import pyarrow.json as pjson

    data = read_split_bytes(split)
    if _blank(data):
        return pa.table({f.name: pa.array([], f.type) for f in schema}) if schema else None
    parse = pjson.ParseOptions(explicit_schema=schema,
                               unexpected_field_behavior="ignore" if schema else "infer")
    return pjson.read_json(io.BytesIO(data), parse_options=parse)


def spark_type_of(at: pa.DataType, json: bool = False) -> T.DataType:
    """The Spark type of an Arrow type (of a parquet file, or inferred from JSON, where
    Spark reads integers as bigints and leaves dates and times as strings)."""
    if pa.types.is_struct(at):
        fields = [T.StructField(at.field(i).name, spark_type_of(at.field(i).type, json))
                  for i in range(at.num_fields)]
        return T.StructType(sorted(fields, key=lambda f: f.name) if json else fields)
    if pa.types.is_list(at) or pa.types.is_large_list(at):
        return T.ArrayType(spark_type_of(at.value_type, json))
    if pa.types.is_map(at):
        return T.MapType(spark_type_of(at.key_type, json), spark_type_of(at.item_type, json))
    if json:
        if pa.types.is_integer(at):
            return T.LongType()
        if pa.types.is_floating(at):
            return T.DoubleType()
        if pa.types.is_boolean(at):
            return T.BooleanType()
        return T.NullType() if pa.types.is_null(at) else T.StringType()
    simple = {pa.int8(): T.ByteType(), pa.int16(): T.ShortType(), pa.int32(): T.IntegerType(),
              pa.int64(): T.LongType(), pa.float32(): T.FloatType(),
              pa.float64(): T.DoubleType(), pa.bool_(): T.BooleanType(),
              pa.string(): T.StringType(), pa.large_string(): T.StringType(),
              pa.binary(): T.BinaryType(), pa.date32(): T.DateType()}
    if at in simple:
        return simple[at]
    if pa.types.is_timestamp(at):
        return T.TimestampType()
    if pa.types.is_decimal(at):
        return T.DecimalType(at.precision, at.scale)
    return T.StringType()


def infer_json_split(spec: ReadSpec, pieces: list) -> list[T.StructType]:
    """On an executor: the JSON schema of this partition's lines."""
    out = []
    for _file, split in pieces:
        table = _read_json_table(split)
        if table is not None:
            out.append(T.StructType([T.StructField(f.name, spark_type_of(f.type, True))
                                     for f in table.schema]))
    return out


def merge_json_types(a: T.DataType, b: T.DataType) -> T.DataType:
    """Spark's JSON schema merge: structs by field (sorted), bigint and double to double,
    NULL giving way, any other conflict a string."""
    if isinstance(a, T.NullType):
        return b
    if isinstance(b, T.NullType) or a == b:
        return a
    if isinstance(a, T.StructType) and isinstance(b, T.StructType):
        fields = {f.name: f.dataType for f in a.fields}
        for f in b.fields:
            fields[f.name] = merge_json_types(fields[f.name], f.dataType) \
                if f.name in fields else f.dataType
        return T.StructType([T.StructField(k, v) for k, v in sorted(fields.items())])
    if isinstance(a, T.ArrayType) and isinstance(b, T.ArrayType):
        return T.ArrayType(merge_json_types(a.elementType, b.elementType))
    if {type(a), type(b)} == {T.LongType, T.DoubleType}:
        return T.DoubleType()
    return T.StringType()


def json_nulls_as_strings(dt: T.DataType) -> T.DataType:
    """A field that was NULL on every line is a string, as Spark infers it."""
    if isinstance(dt, T.NullType):
        return T.StringType()
    if isinstance(dt, T.StructType):
        return T.StructType([T.StructField(f.name, json_nulls_as_strings(f.dataType))
                             for f in dt.fields])
    if isinstance(dt, T.ArrayType):
        return T.ArrayType(json_nulls_as_strings(dt.elementType))
    return dt


def _read_json(spec: ReadSpec, split: FileSplit, wanted: list[int]) -> pa.Table:
    # Only the wanted fields are converted; pyarrow skips the others.
    fields = [spec.data_schema.fields[i] for i in wanted]
    schema = pa.schema([pa.field(f.name, to_arrow_type(f.dataType)) for f in fields])
    table = _read_json_table(split, schema)
    return pa.table({str(i): table.column(f.name) for i, f in zip(wanted, fields)})


TEXT_BATCH_ROWS = 65536


def _read_text(spec: ReadSpec, split: FileSplit, wanted: list[int]) -> Iterator[pa.Table]:
    # A split's lines a batch at a time, never the split whole.
    with SplitStream(split) as stream:
        lines = iter_lines(stream)
        while batch := list(itertools.islice(lines, TEXT_BATCH_ROWS)):
            yield pa.table({"0": pa.array(batch, pa.string())})


def _read_parquet(spec: ReadSpec, split: FileSplit, wanted: list[int]) -> pa.Table:
    """The file's columns ``wanted``; a pushed filter only chooses the row groups (by their
    statistics), since the Filter above checks every row anyway: pyarrow's filtering of
    the rows as well cost a tenth of a read (4 files of 625k rows, 3 bigint columns: 57
    ms through ``read_table(filters=)``, 50 ms so)."""
    import pyarrow.parquet as pq

    fields = spec.data_schema.fields
    names = [fields[i].name for i in wanted]
    file = pq.ParquetFile(split.path)
    if spec.arrow_filter is None:
        table = file.read(columns=names)
    else:
        import pyarrow.dataset as ds
        from pyarrow.fs import LocalFileSystem

        fragment = ds.ParquetFileFormat().make_fragment(split.path, LocalFileSystem())
        groups = [g.id for g in fragment.subset(spec.arrow_filter).row_groups]
        table = file.read_row_groups(groups, columns=names)
    # A column this file lacks is NULL in its rows, as in Spark.
    return pa.table({str(i): table.column(fields[i].name).cast(to_arrow_type(
        fields[i].dataType)) if fields[i].name in table.column_names else pa.nulls(
        table.num_rows, to_arrow_type(fields[i].dataType)) for i in wanted})


_READERS = {"csv": csvsource.read_csv, "json": _read_json, "text": _read_text,
            "parquet": _read_parquet}


def read_partition(spec: ReadSpec, pieces: list) -> Iterator[pa.RecordBatch]:
    """On an executor: the record batches of one partition's splits, with the columns the
    query reads (``spec.columns``), partition columns made from the folder names; a CSV
    split a block at a time."""
    every = spec.data_schema.fields + spec.partition_schema.fields
    columns = list(range(len(every))) if spec.columns is None else spec.columns
    offset = len(spec.data_schema.fields)
    data = [i for i in columns if i < offset]
    # A scan that needs no data column (count()) still reads one, for the rows.
    wanted = data or [0][:offset]
    schema = arrow_schema(T.StructType([every[i] for i in columns]))
    for file, split in pieces:
        read = _READERS[spec.format](spec, split, wanted)
        values = dict(file.partition)
        for table in [read] if isinstance(read, pa.Table) else read:
            for i in columns[len(data):]:
                f = every[i]
                raw = pa.array([values.get(f.name)] * table.num_rows, pa.string())
                table = table.append_column(str(i), csvsource.cast_strings(raw, f.dataType))
            table = table.select([str(i) for i in columns])
            if columns:  # (a cast to no columns would lose the count of rows)
                table = table.rename_columns([str(i) for i in range(len(columns))]).cast(schema)
            yield from table.to_batches()


def infer_partition_schema(files: list[SourceFile]) -> T.StructType:
    """The partition columns of ``k=v`` folders, typed as Spark infers them."""
    keys: list[str] = []
    for f in files:
        keys += [k for k, _ in f.partition if k not in keys]
    fields = []
    for key in keys:
        values = pa.array([dict(f.partition).get(key) for f in files], pa.string())
        name = csvsource.column_type(values)
        dt = {"int": T.IntegerType(), "bigint": T.LongType(), "double": T.DoubleType()}.get(
            name or "string", T.StringType())
        fields.append(T.StructField(key, dt))
    return T.StructType(fields)


# --- what a scan is told of the query's filters --------------------------------------

_SOURCE_NAMES = {"=": "EqualTo", "<=>": "EqualNullSafe", ">": "GreaterThan",
                 ">=": "GreaterThanOrEqual", "<": "LessThan", "<=": "LessThanOrEqual"}
_FLIPPED = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "=": "=", "<=>": "<=>"}
_STRING_FILTERS = {"startswith": "StringStartsWith", "endswith": "StringEndsWith",
                   "contains": "StringContains"}


def _column_and_value(x) -> tuple[Any, Any, str] | None:
    """``(attribute, literal, symbol)`` of ``a < 1`` or ``1 > a`` (flipped), else None."""
    from sparkbook.sql.catalyst import expressions as e

    if not isinstance(x, e.BinaryComparison):
        return None
    if isinstance(x.left, e.AttributeReference) and isinstance(x.right, e.Literal):
        return x.left, x.right, x.symbol
    if isinstance(x.right, e.AttributeReference) and isinstance(x.left, e.Literal):
        return x.right, x.left, _FLIPPED[x.symbol]
    return None


def source_filter(x) -> str | None:
    """The data source filter Spark pushes to a scan for a condition, as its explain
    prints it (``GreaterThan(age,20)``), or None when it has none."""
    from sparkbook.sql.catalyst import expressions as e

    pair = _column_and_value(x)
    if pair is not None:
        a, v, symbol = pair
        return f"{_SOURCE_NAMES[symbol]}({a.name},{v.sql()})" if v.value is not None else None
    if isinstance(x, e.IsNull) and isinstance(x.child, e.AttributeReference):
        return f"{'IsNotNull' if isinstance(x, e.IsNotNull) else 'IsNull'}({x.child.name})"
    if isinstance(x, (e.And, e.Or)):
        a, b = source_filter(x.left), source_filter(x.right)
        return f"{type(x).__name__}({a},{b})" if a and b else None
    if isinstance(x, e.Not):
        inner = source_filter(x.child)
        return f"Not({inner})" if inner else None
    if isinstance(x, e.In) and isinstance(x.children[0], e.AttributeReference) and all(
            isinstance(c, e.Literal) and c.value is not None for c in x.children[1:]):
        values = sorted(x.children[1:], key=lambda c: c.value)
        return f"In({x.children[0].name}, [{','.join(c.sql() for c in values)}])"
    if isinstance(x, e.ScalarFunction) and x.name in _STRING_FILTERS and isinstance(
            x.children[0], e.AttributeReference) and isinstance(x.children[1], e.Literal):
        return f"{_STRING_FILTERS[x.name]}({x.children[0].name},{x.children[1].sql()})"
    return None


def _arrow_comparable(dt: T.DataType) -> bool:
    # Not floats: Spark orders NaN above every number (and NaN = NaN), pyarrow does not.
    return isinstance(dt, (T.IntegralType, T.StringType, T.BooleanType, T.DateType))


def arrow_filter(x, names: dict[int, str]):
    """The pyarrow expression a parquet read applies for a condition over the file columns
    ``names`` (by expression id), or None where pyarrow would not filter as Spark does."""
    from sparkbook.sql.catalyst import expressions as e

    def col(a) -> Any:
        if isinstance(a, e.AttributeReference) and a.expr_id in names and \
                _arrow_comparable(a.dtype):
            return pc.field(names[a.expr_id])
        return None

    pair = _column_and_value(x)
    if pair is not None:
        a, v, symbol = pair
        field, value = col(a), v.value
        if field is None or value is None or symbol == "<=>" or isinstance(value, float):
            return None
        ops = {"=": field.__eq__, ">": field.__gt__, ">=": field.__ge__, "<": field.__lt__,
               "<=": field.__le__}
        return ops[symbol](value)
    if isinstance(x, e.IsNull) and col(x.child) is not None:
        return col(x.child).is_valid() if isinstance(x, e.IsNotNull) else \
            col(x.child).is_null()
    if isinstance(x, (e.And, e.Or)):
        a, b = arrow_filter(x.left, names), arrow_filter(x.right, names)
        if a is None or b is None:
            return None
        return (a & b) if isinstance(x, e.And) else (a | b)
    if isinstance(x, e.Not):
        inner = arrow_filter(x.child, names)
        return None if inner is None else ~inner
    return None


def prune_partitions(files: list[SourceFile], attrs: list, condition) -> list[SourceFile]:
    """The files whose ``k=v`` folders satisfy ``condition`` over the partition columns
    ``attrs`` (evaluated on the driver, a row per file), as Spark prunes partitions."""
    from sparkbook.sql.execution.evaluate import BatchEvaluator

    if not files:
        return files
    columns = [csvsource.cast_strings(pa.array([dict(f.partition).get(a.name) for f in files],
                                      pa.string()), a.dtype) for a in attrs]
    batch = pa.RecordBatch.from_arrays(columns, names=[str(i) for i in range(len(attrs))])
    keep = pc.fill_null(BatchEvaluator(attrs).column(condition, batch), False)
    return [f for f, k in zip(files, keep.to_pylist()) if k]


def read_partitions(spec: ReadSpec, partitions: Iterable) -> Iterator[pa.RecordBatch]:
    """On an executor: the batches of one RDD partition's file partitions, as they are
    read."""
    for pieces in partitions:
        yield from read_partition(spec, pieces)
