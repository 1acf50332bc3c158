"""``SparkSession``: the entry point to DataFrames, sitting on a ``SparkContext`` (the API of
``pyspark.sql.SparkSession``)."""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

from sparkbook.conf import SparkConf
from sparkbook.errors import PySparkTypeError, PySparkValueError, SparkNoSuchElementException
from sparkbook.sql.catalog import Catalog
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst import logical as lp
from sparkbook.sql.dataframe import DataFrame
from sparkbook.sql.execution.arrow import align_row, rows_to_batch, rows_to_batches
from sparkbook.sql.row import Row
from sparkbook.sql.types import (
    DataType,
    StructField,
    StructType,
    cannot_determine_type,
    has_null_type,
    infer_type,
    merge_types,
    parse_ddl,
)
from sparkbook.sql.udf import UDFRegistration

if TYPE_CHECKING:
    from sparkbook.driver.context import SparkContext

# The SQL settings this slice knows, with Spark's defaults (ANSI mode is on, as in 4.x).
SQL_DEFAULTS = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.caseSensitive": "false",
    "spark.sql.shuffle.partitions": "200",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.autoBroadcastJoinThreshold": "10485760b",
}


class RuntimeConfig:
    """``spark.conf``: the session's SQL settings, over the SparkContext's."""

    def __init__(self, sc_conf: SparkConf, settings: dict[str, str]) -> None:
        self._sc_conf = sc_conf
        self._settings = settings

    _MISSING = object()

    def get(self, key: str, default: Any = _MISSING) -> str | None:
        if key in self._settings:
            return self._settings[key]
        value = self._sc_conf.get(key)
        if value is not None:
            return value
        if key in SQL_DEFAULTS:
            return SQL_DEFAULTS[key] if default is RuntimeConfig._MISSING else default
        if default is not RuntimeConfig._MISSING:
            return default
        raise SparkNoSuchElementException(
            f'[SQL_CONF_NOT_FOUND] The SQL config "{key}" cannot be found. Please verify that '
            f"the config exists. SQLSTATE: 42K0I", "SQL_CONF_NOT_FOUND", {"sqlConf": key},
            "42K0I")

    def set(self, key: str, value: Any) -> None:
        self._settings[key] = _conf_str(value)

    def unset(self, key: str) -> None:
        self._settings.pop(key, None)

    def getAll(self) -> dict[str, str]:
        return {**dict(self._sc_conf.getAll()), **self._settings}

    def isModifiable(self, key: str) -> bool:
        return key.startswith("spark.sql.")


def _conf_str(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class SparkSession:
    """DataFrames on a SparkContext: ``SparkSession.builder.appName("x").getOrCreate()``."""

    _active: SparkSession | None = None
    _lock = threading.RLock()

    class Builder:
        def __init__(self) -> None:
            self._options: dict[str, str] = {}

        def config(self, key: str | None = None, value: Any = None,
                   conf: SparkConf | None = None, map: dict | None = None
                   ) -> SparkSession.Builder:
            if conf is not None:
                self._options.update(dict(conf.getAll()))
            if map is not None:
                self._options.update({k: _conf_str(v) for k, v in map.items()})
            if key is not None:
                self._options[key] = _conf_str(value)
            return self

        def master(self, master: str) -> SparkSession.Builder:
            return self.config("spark.master", master)

        def appName(self, name: str) -> SparkSession.Builder:
            return self.config("spark.app.name", name)

        def enableHiveSupport(self) -> SparkSession.Builder:
            return self  # there is no Hive; tables come in a later slice

        def getOrCreate(self) -> SparkSession:
            """The running session (taking these settings), or a new one on the running
            SparkContext, or on a new one started by the same rules as ``SparkContext()``."""
            from sparkbook.driver.context import SparkContext

            with SparkSession._lock:
                session = SparkSession._active
                if session is not None and not session._sc.isStopped:
                    for k, v in self._options.items():
                        session.conf.set(k, v)  # as PySpark does, even spark.app.name
                    return session
                conf = SparkConf()
                for k, v in self._options.items():
                    conf.set(k, v)
                sc = SparkContext.getOrCreate(conf)
                return SparkSession(sc, self._options)

    class _BuilderProperty:
        def __get__(self, obj: Any, owner: type) -> SparkSession.Builder:
            return SparkSession.Builder()

    builder = _BuilderProperty()

    def __init__(self, sparkContext: SparkContext, options: dict[str, str] | None = None
                 ) -> None:
        self._sc = sparkContext
        sql_options = {k: v for k, v in (options or {}).items() if k.startswith("spark.sql.")}
        self._conf = RuntimeConfig(sparkContext.getConf(), sql_options)
        self._catalog = Catalog()
        self._udf = UDFRegistration()
        with SparkSession._lock:
            SparkSession._active = self

    @classmethod
    def getActiveSession(cls) -> SparkSession | None:
        return cls._active

    @classmethod
    def active(cls) -> SparkSession:
        return cls._active if cls._active is not None else cls.builder.getOrCreate()

    @property
    def sparkContext(self) -> SparkContext:
        return self._sc

    @property
    def conf(self) -> RuntimeConfig:
        return self._conf

    @property
    def version(self) -> str:
        return self._sc.version

    def newSession(self) -> SparkSession:
        return SparkSession(self._sc)

    def stop(self) -> None:
        """Stop the SparkContext underneath (as PySpark does)."""
        self._sc.stop()
        with SparkSession._lock:
            if SparkSession._active is self:
                SparkSession._active = None

    def __enter__(self) -> SparkSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    @property
    def udf(self) -> UDFRegistration:
        """``spark.udf.register(name, f, returnType)``: Python functions for SQL text."""
        return self._udf

    def sql(self, sqlQuery: str) -> DataFrame:
        """The DataFrame of a query in Spark SQL, over the session's temporary views."""
        from sparkbook.sql.sqlquery import sql

        df = sql(self, sqlQuery)
        df._sql_text = sqlQuery
        return df

    def table(self, tableName: str, position: int | None = None) -> DataFrame:
        """The temporary view of that name."""
        return DataFrame(self._catalog.lookup(tableName, position), self)

    @property
    def read(self):
        """``spark.read.csv(path)``, ``.json``, ``.text``, ``.parquet``, ``.format().load()``."""
        from sparkbook.sql.readwriter import DataFrameReader

        return DataFrameReader(self)

    # --- DataFrames --------------------------------------------------------------------

    def range(self, start: int, end: int | None = None, step: int = 1,
              numPartitions: int | None = None) -> DataFrame:
        """A DataFrame of one bigint column ``id``: ``start`` to ``end`` (exclusive)."""
        if end is None:
            start, end = 0, start
        slices = numPartitions if numPartitions is not None else self._sc.defaultParallelism
        return DataFrame(lp.Range(int(start), int(end), int(step), int(slices)), self)

    def createDataFrame(self, data: Any, schema: StructType | DataType | str | list | None = None,
                        samplingRatio: float | None = None,
                        verifySchema: bool = True) -> DataFrame:
        """A DataFrame from a list (or RDD) of tuples, dicts, ``Row``s or values, with column
        names, a ``StructType`` or a DDL string; the schema is inferred when not given."""
        from sparkbook.rdd import RDD

        names: list[str] | None = None
        if isinstance(schema, (list, tuple)):
            names, schema = [str(n) for n in schema], None
        if isinstance(schema, str):
            schema = parse_ddl(schema)
        if isinstance(schema, DataType) and not isinstance(schema, StructType):
            schema = StructType([StructField("value", schema)])
        if isinstance(data, DataFrame):
            raise PySparkTypeError("[INVALID_TYPE] Argument `data` should not be a DataFrame.",
                                   "INVALID_TYPE")
        if isinstance(data, RDD):
            return self._from_rdd(data, schema, names)
        rows = list(data)
        if schema is None:
            if not rows:
                raise PySparkValueError("[CANNOT_INFER_EMPTY_SCHEMA] Can not infer schema "
                                        "from an empty dataset.", "CANNOT_INFER_EMPTY_SCHEMA")
            schema = infer_schema(rows)
            rows = [align_row(r, schema.names, True) for r in rows]
            schema, inferred = _renamed(schema, names), True
        else:
            rows = [align_row(r, schema.names, False) for r in rows]
            inferred = False
        n = self._sc.defaultParallelism
        batches = [rows_to_batch(rows[i * len(rows) // n:(i + 1) * len(rows) // n], schema,
                                 inferred) for i in range(n)]
        return self._logical_rdd(self._sc.parallelize(batches, n), schema)

    def _from_rdd(self, rdd, schema: StructType | None, names: list[str] | None) -> DataFrame:
        by_name = schema is None
        if schema is None:
            sample = rdd.take(100)
            if not sample:
                raise PySparkValueError("[CANNOT_INFER_EMPTY_SCHEMA] Can not infer schema "
                                        "from an empty dataset.", "CANNOT_INFER_EMPTY_SCHEMA")
            inferred = infer_schema(sample[:1])
            if has_null_type(inferred):
                inferred = infer_schema(sample)
            schema = inferred
        converted = rdd.mapPartitions(functools.partial(rows_to_batches, schema=schema,
                                                        by_name=by_name))
        return self._logical_rdd(converted, _renamed(schema, names))

    def _logical_rdd(self, rdd, schema: StructType) -> DataFrame:
        attributes = [e.AttributeReference(f.name, f.dataType, f.nullable) for f in schema]
        return DataFrame(lp.LogicalRDD(attributes, rdd.setName("LogicalRDD")), self)


def _row_type(row: Any) -> StructType:
    if isinstance(row, dict):
        return StructType([StructField(str(k), infer_type(v)) for k, v in sorted(row.items())])
    if isinstance(row, Row) and hasattr(row, "__fields__"):
        return StructType([StructField(k, infer_type(v)) for k, v in zip(row.__fields__, row)])
    if isinstance(row, (tuple, list)):
        return StructType([StructField(f"_{i + 1}", infer_type(v)) for i, v in enumerate(row)])
    raise PySparkTypeError(
        f"[CANNOT_INFER_SCHEMA_FOR_TYPE] Can not infer schema for type: "
        f"`{type(row).__name__}`.", "CANNOT_INFER_SCHEMA_FOR_TYPE")


def infer_schema(rows: list) -> StructType:
    """The schema PySpark infers from all the rows: fields merged, None giving way."""
    schema: DataType = StructType([])
    for row in rows:
        schema = merge_types(schema, _row_type(row)) if schema.fields else _row_type(row)
    if has_null_type(schema):
        raise cannot_determine_type()
    return schema


def _renamed(schema: StructType, names: list[str] | None) -> StructType:
    if not names:
        return schema
    fields = [StructField(names[i] if i < len(names) else f.name, f.dataType, f.nullable)
              for i, f in enumerate(schema.fields)]
    return StructType(fields)
