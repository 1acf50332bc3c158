"""``df.write``: each task writes its partition's batches as one part file per output
folder (``part-00003-<job uuid>-c000.csv``; under ``k=v/`` folders with ``partitionBy``),
then the driver marks the folder complete with ``_SUCCESS``, as Spark's file commit
protocol does. Save modes decide what happens to a folder that exists."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import uuid

import pyarrow as pa
import pyarrow.compute as pc

from sparkbook.errors import AnalysisException, PySparkValueError
from sparkbook.sql import types as T
from sparkbook.sql.execution.files import HIVE_NULL

_MODES = {"overwrite": "overwrite", "append": "append", "ignore": "ignore",
          "error": "errorifexists", "errorifexists": "errorifexists", "default":
          "errorifexists"}
_EXTENSIONS = {"csv": "csv", "json": "json", "parquet": "snappy.parquet", "text": "txt"}


def check_mode(mode: str) -> str:
    found = _MODES.get(mode.lower())
    if found is None:
        raise PySparkValueError(
            f"[UNSUPPORTED_SAVE_MODE] The save mode `{mode}` is not supported.",
            "UNSUPPORTED_SAVE_MODE")
    return found


def write(df, path: str, fmt: str, mode: str, partition_by: list[str],
          options: dict[str, str]) -> None:
    """Write ``df`` under ``path`` as ``fmt`` files."""
    from sparkbook.sql.execution import physical

    if fmt not in _EXTENSIONS:
        raise AnalysisException(f"[DATA_SOURCE_NOT_FOUND] Failed to find the data source: "
                                f"{fmt}.", "DATA_SOURCE_NOT_FOUND", {"provider": fmt}, "42K02")
    if os.path.exists(path):
        if mode == "errorifexists":
            raise AnalysisException(
                f'[PATH_ALREADY_EXISTS] Path file:{path} already exists. Set mode as '
                f'"overwrite" to overwrite the existing path. SQLSTATE: 42K04',
                "PATH_ALREADY_EXISTS", {"outputPath": f"file:{path}"}, "42K04")
        if mode == "ignore":
            return
        if mode == "overwrite":
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    schema = df.schema
    names = [f.name.lower() for f in schema.fields]
    for c in partition_by:
        if c.lower() not in names:
            raise AnalysisException(
                f"[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function "
                f"parameter with name `{c}` cannot be resolved. SQLSTATE: 42703",
                "UNRESOLVED_COLUMN.WITH_SUGGESTION", {"objectName": f"`{c}`"}, "42703")
    if fmt == "text" and len(schema.fields) - len(partition_by) != 1:
        raise AnalysisException(
            f"[_LEGACY_ERROR_TEMP_1189] Text data source supports only a single column, and "
            f"you have {len(schema.fields)} columns.", "_LEGACY_ERROR_TEMP_1189")
    os.makedirs(path, exist_ok=True)
    keys = [names.index(c.lower()) for c in partition_by]
    job = WriteJob(path, fmt, str(uuid.uuid4()), schema, keys, options)
    spark_plan = physical.plan_query(df._plan, top=False)  # a limit is cut in the tasks
    sc = df.sparkSession.sparkContext
    physical.run(spark_plan, sc, lambda r: r.mapPartitionsWithIndex(
        functools.partial(_write_partition, job)))
    written = any(name.startswith("part-") or "=" in name for name in os.listdir(path))
    if not written:  # no rows at all: one empty file, so the schema is kept
        _write_file(job, os.path.join(path, job.file_name(0, "-")), _empty(job))
    open(os.path.join(path, "_SUCCESS"), "wb").close()


class WriteJob:
    """What every task of one write needs."""

    def __init__(self, path: str, fmt: str, job_id: str, schema: T.StructType,
                 keys: list[int], options: dict[str, str]) -> None:
        self.path, self.fmt, self.job_id = path, fmt, job_id
        self.schema, self.keys, self.options = schema, keys, options

    def file_name(self, index: int, sep: str) -> str:
        return f"part-{index:05d}-{self.job_id}{sep}c000.{_EXTENSIONS[self.fmt]}"

    def data_fields(self) -> list[T.StructField]:
        return [f for i, f in enumerate(self.schema.fields) if i not in self.keys]


def _empty(job: WriteJob) -> pa.Table:
    from sparkbook.sql.execution.arrow import to_arrow_type

    return pa.table({f.name: pa.array([], to_arrow_type(f.dataType))
                     for f in job.data_fields()})


def _write_partition(job: WriteJob, index: int, batches) -> list[str]:
    """On an executor: this partition's rows as files; the files' paths."""
    batches = [b for b in batches if b.num_rows]
    if not batches:
        return []
    table = pa.Table.from_batches(batches)
    data = [i for i in range(table.num_columns) if i not in job.keys]
    named = pa.table({job.schema.fields[i].name: table.column(i) for i in data})
    if not job.keys:
        target = os.path.join(job.path, job.file_name(index, "-"))
        _write_file(job, target, named)
        return [target]
    written = []
    key_table = pa.table({str(k): table.column(k) for k in job.keys})
    groups = key_table.group_by([str(k) for k in job.keys]).aggregate([])
    for g in range(groups.num_rows):
        mask = None
        parts = []
        for k in job.keys:
            value = groups.column(str(k))[g]
            column = table.column(k)
            match = pc.is_null(column) if not value.is_valid else pc.equal(column, value)
            mask = match if mask is None else pc.and_(mask, match)
            text = HIVE_NULL if not value.is_valid else _partition_text(value.as_py())
            parts.append(f"{job.schema.fields[k].name}={text}")
        folder = os.path.join(job.path, *parts)
        os.makedirs(folder, exist_ok=True)
        target = os.path.join(folder, job.file_name(index, "."))
        _write_file(job, target, named.filter(pc.fill_null(mask, False)))
        written.append(target)
    return written


def _partition_text(value) -> str:
    from urllib.parse import quote

    text = str(value).lower() if isinstance(value, bool) else str(value)
    return quote(text, safe=" ")  # Spark escapes '/', '=', '%' and friends in folder names


def _write_file(job: WriteJob, target: str, table: pa.Table) -> None:
    if job.fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, target, compression="snappy")
    elif job.fmt == "csv":
        _write_csv(job, target, table)
    elif job.fmt == "text":
        with open(target, "w", encoding="utf-8") as fh:
            for value in table.column(0).to_pylist():
                fh.write(("" if value is None else value) + "\n")
    else:
        _write_json(target, table)


def _csv_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as Spark writes it in CSV: doubles with their ``.0``, booleans in lower
    case, timestamps as ISO text."""
    t = column.type
    if pa.types.is_floating(t):
        text = pc.cast(column, pa.string())
        whole = pc.match_substring_regex(text, r"^-?\d+$")
        return pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    if pa.types.is_timestamp(t):
        return pc.strftime(column, format="%Y-%m-%dT%H:%M:%S.000")
    if pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_date(t):
        return pc.cast(column, pa.string())
    if pa.types.is_string(t):
        return column
    return pc.cast(column, pa.string())


def _csv_quoted(text: pa.ChunkedArray | pa.Array, sep: str) -> pa.ChunkedArray:
    """Values holding the separator, a quote or a line break in quotes, inner quotes
    escaped with a backslash (Spark's default ``escape``); other values as they are."""
    special = pc.match_substring_regex(text, f"[{re.escape(sep)}\"\\r\\n]|^$")
    escaped = pc.replace_substring(text, '"', '\\"')
    quoted = pc.binary_join_element_wise('"', escaped, '"', "")
    return pc.if_else(pc.fill_null(special, False), quoted, text)


def _write_csv(job: WriteJob, target: str, table: pa.Table) -> None:
    # Lines are joined column-wise with compute functions: pyarrow's CSV writer quotes
    # every string, where Spark quotes only the values that need it.
    sep = job.options.get("sep", job.options.get("delimiter", ","))
    header = job.options.get("header", "false").lower() == "true"
    null = job.options.get("nullValue", "")
    columns = [pc.fill_null(_csv_quoted(_csv_text(table.column(n)), sep), null)
               for n in table.column_names]
    with open(target, "w", encoding="utf-8") as fh:
        if header:
            names = pa.array(table.column_names, pa.string())
            fh.write(sep.join(_csv_quoted(names, sep).to_pylist()) + "\n")
        if table.num_rows and columns:
            lines = pc.binary_join_element_wise(*columns, sep)
            fh.write("\n".join(lines.to_pylist()) + "\n")


def _write_json(target: str, table: pa.Table) -> None:
    # pyarrow has no JSON writer: lines are built from Python values, NULLs left out as
    # Spark leaves them out.
    with open(target, "w", encoding="utf-8") as fh:
        for row in table.to_pylist():
            fh.write(json.dumps(_json_ready(row), ensure_ascii=False,
                                separators=(",", ":")) + "\n")


def _json_ready(value):
    import datetime
    import decimal

    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value
