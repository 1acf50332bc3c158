"""SQL statements that are no query, run when ``spark.sql`` reads them (Spark's commands):
``CREATE [OR REPLACE] TEMPORARY VIEW ... AS``, ``DROP VIEW [IF EXISTS]``, ``SHOW TABLES``
and ``DESCRIBE [TABLE]``. Each returns the DataFrame Spark's returns: no columns, or the
rows that describe."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlglot import exp

from sparkbook.errors import AnalysisException
from sparkbook.sql.catalog import table_not_found
from sparkbook.sql.types import BooleanType, StringType, StructField, StructType

if TYPE_CHECKING:
    from sparkbook.sql.dataframe import DataFrame
    from sparkbook.sql.session import SparkSession

SHOW_TABLES = StructType([StructField("namespace", StringType(), False),
                          StructField("tableName", StringType(), False),
                          StructField("isTemporary", BooleanType(), False)])
DESCRIBE = StructType([StructField("col_name", StringType(), False),
                       StructField("data_type", StringType(), False),
                       StructField("comment", StringType(), True)])


def command(tree: exp.Expression) -> bool:
    """Whether ``tree`` is a statement this module runs."""
    return (isinstance(tree, (exp.Create, exp.Drop)) and tree.args.get("kind") == "VIEW"
            or isinstance(tree, exp.Describe) or _is_show_tables(tree))


def run(session: SparkSession, tree: exp.Expression, text: str,
        query: Callable[[exp.Expression], DataFrame]) -> DataFrame:
    """Run the statement (``query`` turns a query's tree into its DataFrame)."""
    if isinstance(tree, exp.Create):
        return _create_view(session, tree, query)
    if isinstance(tree, exp.Drop):
        return _drop_view(session, tree)
    if isinstance(tree, exp.Describe):
        name = tree.this.sql("spark")
        schema = session.table(name, text.lower().find(name.lower())).schema
        return session.createDataFrame(
            [(f.name, f.dataType.simpleString(), None) for f in schema.fields], DESCRIBE)
    rows = [("", t.name, True) for t in session.catalog.listTables()]
    return session.createDataFrame(rows, SHOW_TABLES)


def _is_show_tables(tree: exp.Expression) -> bool:
    return (isinstance(tree, exp.Command) and tree.this.upper() == "SHOW"
            and tree.expression.name.strip().upper() == "TABLES")


def _no_rows(session: SparkSession) -> DataFrame:
    return session.range(0, numPartitions=1).select()


def _create_view(session: SparkSession, tree: exp.Create,
                 query: Callable[[exp.Expression], DataFrame]) -> DataFrame:
    properties = tree.args.get("properties")
    temporary = properties is not None and any(
        isinstance(p, exp.TemporaryProperty) for p in properties.expressions)
    if not temporary:
        raise AnalysisException(
            "[UNSUPPORTED_FEATURE] The feature is not supported: views that are not "
            "temporary (sparkbook has no metastore); use CREATE TEMPORARY VIEW. "
            "SQLSTATE: 0A000", "UNSUPPORTED_FEATURE", {}, "0A000")
    df = query(tree.expression)
    session.catalog.create_view(tree.this.name, df._plan, bool(tree.args.get("replace")))
    return _no_rows(session)


def _drop_view(session: SparkSession, tree: exp.Drop) -> DataFrame:
    for table in tree.args.get("tables") or []:
        if not session.catalog.dropTempView(table.name) and not tree.args.get("exists"):
            raise table_not_found(table.name, dropping=True)
    return _no_rows(session)
