"""``spark.read`` and ``df.write`` (the API of ``pyspark.sql.DataFrameReader`` and
``DataFrameWriter``): csv, json (lines), text and parquet. The driver lists the files, cuts
them into partitions and settles the schema (inferring it, when asked, in a job of its
own); the tasks read and write their splits with pyarrow on the executors."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from sparkbook.errors import PySparkTypeError
from sparkbook.sql import types as T
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst import logical as lp
from sparkbook.sql.execution import csvsource, files

if TYPE_CHECKING:
    from sparkbook.sql.dataframe import DataFrame
    from sparkbook.sql.session import SparkSession

_CSV_TYPES = {"int": T.IntegerType(), "bigint": T.LongType(), "double": T.DoubleType(),
              "boolean": T.BooleanType(), "date": T.DateType(),
              "timestamp": T.TimestampType(), "string": T.StringType(), None: T.StringType()}


def _option_str(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class OptionUtils:
    """``option``/``options`` shared by the reader and the writer."""

    _options: dict[str, str]

    def option(self, key: str, value: Any):
        self._options[key] = _option_str(value)
        return self

    def options(self, **options: Any):
        for k, v in options.items():
            if v is not None:
                self.option(k, v)
        return self


class DataFrameReader(OptionUtils):
    def __init__(self, spark: SparkSession) -> None:
        self._spark = spark
        self._format = "parquet"  # spark.sql.sources.default
        self._options: dict[str, str] = {}
        self._schema: T.StructType | None = None

    def format(self, source: str) -> DataFrameReader:
        self._format = source.lower()
        return self

    def schema(self, schema: T.StructType | str) -> DataFrameReader:
        parsed = T.parse_ddl(schema) if isinstance(schema, str) else schema
        if not isinstance(parsed, T.StructType):
            raise PySparkTypeError(
                f"[NOT_STR_OR_STRUCT] Argument `schema` should be a str or StructType, got "
                f"{type(schema).__name__}.", "NOT_STR_OR_STRUCT")
        self._schema = parsed
        return self

    def load(self, path: str | list[str] | None = None, format: str | None = None,
             schema: T.StructType | str | None = None, **options: Any) -> DataFrame:
        if format is not None:
            self.format(format)
        if schema is not None:
            self.schema(schema)
        self.options(**options)
        paths = [path] if isinstance(path, str) else list(path or [])
        return _scan(self._spark, self._format, paths, dict(self._options), self._schema)

    def csv(self, path: str | list[str], schema: T.StructType | str | None = None,
            sep: str | None = None, header: Any = None, inferSchema: Any = None,
            nullValue: str | None = None, quote: str | None = None,
            escape: str | None = None, **options: Any) -> DataFrame:
        return self.load(path, "csv", schema, sep=sep, header=header, inferSchema=inferSchema,
                         nullValue=nullValue, quote=quote, escape=escape, **options)

    def json(self, path: str | list[str], schema: T.StructType | str | None = None,
             **options: Any) -> DataFrame:
        return self.load(path, "json", schema, **options)

    def text(self, paths: str | list[str], **options: Any) -> DataFrame:
        return self.load(paths, "text", None, **options)

    def parquet(self, *paths: str, **options: Any) -> DataFrame:
        return self.load(list(paths), "parquet", None, **options)

    def table(self, tableName: str) -> DataFrame:
        return self._spark.table(tableName)


def _scan(spark: SparkSession, fmt: str, paths: list[str], options: dict[str, str],
          schema: T.StructType | None) -> DataFrame:
    from sparkbook.sql.dataframe import DataFrame

    if fmt not in ("csv", "json", "text", "parquet"):
        from sparkbook.errors import AnalysisException

        raise AnalysisException(
            f"[DATA_SOURCE_NOT_FOUND] Failed to find the data source: {fmt}. Make sure the "
            f"provider name is correct and the package is properly registered and compatible "
            f"with your Spark version. SQLSTATE: 42K02", "DATA_SOURCE_NOT_FOUND",
            {"provider": fmt}, "42K02")
    sc = spark.sparkContext
    found = files.list_files(paths)
    spec = files.ReadSpec(fmt, options, T.StructType([]), files.infer_partition_schema(found))
    partitions = files.plan_splits(found, sc.defaultParallelism, spec.splittable)
    if fmt == "text":
        spec.data_schema = T.StructType([T.StructField("value", T.StringType())])
    elif schema is not None:
        names = {n.lower() for n in schema.names}
        spec.partition_schema = T.StructType([f for f in spec.partition_schema.fields
                                              if f.name.lower() not in names])
        spec.data_schema = T.StructType([f for f in schema.fields
                                         if f not in spec.partition_schema.fields])
    else:
        spec.data_schema = _infer(sc, fmt, found, partitions, spec)
    # The scan's RDD is made when a query is planned, reading only what the query needs.
    relation = files.FileRelation(spec, found, sc.defaultParallelism)
    fields = spec.data_schema.fields + spec.partition_schema.fields
    attrs = [e.AttributeReference(f.name, f.dataType, True) for f in fields]
    return DataFrame(lp.LogicalRDD(attrs, None, fmt, [files.local_path(p) for p in paths],
                                   relation), spark)


def _infer(sc, fmt: str, found: list, partitions: list, spec: files.ReadSpec) -> T.StructType:
    """The schema of the files: read from parquet's footer; from a CSV's header (strings,
    or with ``inferSchema`` the types every value parses as); from every JSON line."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        first = next((f for f in found if f.size > 0), None)
        if first is None:
            return T.StructType([])
        arrow = pq.read_schema(first.path)
        return T.StructType([T.StructField(f.name, files.spark_type_of(f.type))
                             for f in arrow])
    if fmt == "csv":
        names = csvsource.csv_header(found, spec.options)
        spec.data_schema = T.StructType([T.StructField(n, T.StringType()) for n in names])
        if not csvsource.truthy(spec.options.get("inferSchema")):
            return spec.data_schema
        merged: list[str | None] = [None] * len(names)
        for result in _per_partition(sc, partitions, csvsource.infer_csv_split, spec):
            merged = [csvsource.merge_type_names(a, b) for a, b in zip(merged, result)]
        return T.StructType([T.StructField(n, _CSV_TYPES[t]) for n, t in zip(names, merged)])
    inferred: T.DataType = T.NullType()
    for result in _per_partition(sc, partitions, files.infer_json_split, spec):
        inferred = files.merge_json_types(inferred, result)
    return files.json_nulls_as_strings(inferred) if isinstance(inferred, T.StructType) \
        else T.StructType([])


def _per_partition(sc, partitions: list, func, spec: files.ReadSpec) -> list:
    """``func(spec, pieces)`` for every split, run as one job on the executors."""
    if not partitions:
        return []
    rdd = sc.parallelize(partitions, len(partitions)).setName("infer schema")
    return rdd.flatMap(functools.partial(_call, func, spec)).collect()


def _call(func, spec, pieces) -> list:
    return func(spec, pieces)


class DataFrameWriter(OptionUtils):
    def __init__(self, df: DataFrame) -> None:
        self._df = df
        self._mode = "errorifexists"
        self._format = "parquet"
        self._options: dict[str, str] = {}
        self._partition_by: list[str] = []

    def mode(self, saveMode: str | None) -> DataFrameWriter:
        from sparkbook.sql.execution.writers import check_mode

        self._mode = check_mode(saveMode or "errorifexists")
        return self

    def format(self, source: str) -> DataFrameWriter:
        self._format = source.lower()
        return self

    def partitionBy(self, *cols: str | list[str]) -> DataFrameWriter:
        if len(cols) == 1 and isinstance(cols[0], (list, tuple)):
            cols = tuple(cols[0])
        self._partition_by = [str(c) for c in cols]
        return self

    def save(self, path: str, format: str | None = None, mode: str | None = None,
             partitionBy: str | list[str] | None = None, **options: Any) -> None:
        from sparkbook.sql.execution.writers import write

        if format is not None:
            self.format(format)
        if mode is not None:
            self.mode(mode)
        if partitionBy is not None:
            self.partitionBy(partitionBy)
        self.options(**options)
        write(self._df, files.local_path(path), self._format, self._mode,
              self._partition_by, dict(self._options))

    def csv(self, path: str, mode: str | None = None, compression: str | None = None,
            sep: str | None = None, header: Any = None, nullValue: str | None = None,
            **options: Any) -> None:
        self.save(path, "csv", mode, sep=sep, header=header, nullValue=nullValue, **options)

    def json(self, path: str, mode: str | None = None, **options: Any) -> None:
        self.save(path, "json", mode, **options)

    def parquet(self, path: str, mode: str | None = None,
                partitionBy: str | list[str] | None = None, **options: Any) -> None:
        self.save(path, "parquet", mode, partitionBy, **options)

    def text(self, path: str, **options: Any) -> None:
        self.save(path, "text", None, **options)
