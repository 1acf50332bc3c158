"""``DataFrame``: a logical plan and the session that runs it (the API of
``pyspark.sql.DataFrame``). Transformations return a new DataFrame over a bigger plan, which
is analyzed at once (so an unknown column fails on the line that names it); actions plan
it physically and run it as a job on the executors."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sparkbook.errors import (
    AnalysisException,
    PySparkAttributeError,
    PySparkTypeError,
    PySparkValueError,
)
from sparkbook.sql.catalyst import deduplicate
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst import logical as lp
from sparkbook.sql.catalyst.aggregates import AggregateFunction
from sparkbook.sql.catalyst.analyzer import analyze, resolve_name, unresolved_column
from sparkbook.sql.catalyst.parser import parse_expression
from sparkbook.sql.column import Column, name_expr
from sparkbook.sql.execution import physical
from sparkbook.sql.execution.arrow import batches_to_rows
from sparkbook.sql.execution.planner import settings as physical_settings
from sparkbook.sql.group import GroupedData
from sparkbook.sql.row import Row
from sparkbook.sql.show import show_string
from sparkbook.sql.types import StructField, StructType

if TYPE_CHECKING:
    from sparkbook.rdd import RDD
    from sparkbook.sql.session import SparkSession


_JOIN_TYPES = {"inner": "Inner", "cross": "Inner", "left": "LeftOuter",
               "leftouter": "LeftOuter", "right": "RightOuter", "rightouter": "RightOuter",
               "full": "FullOuter", "outer": "FullOuter", "fullouter": "FullOuter",
               "leftsemi": "LeftSemi", "semi": "LeftSemi", "leftanti": "LeftAnti",
               "anti": "LeftAnti"}


def _as_types(df: DataFrame, types: list) -> DataFrame:
    """``df`` with each column cast to ``types`` (by position) where it differs."""
    fields = df.schema.fields
    if all(f.dataType == t for f, t in zip(fields, types)):
        return df
    cols = [df[i] if f.dataType == t else df[i].cast(t).alias(f.name)
            for i, (f, t) in enumerate(zip(fields, types))]
    return df.select(*cols)


def _union_types(a: DataFrame, b: DataFrame) -> list:
    """The wider of the two types of each column, as a union's output has them."""
    from sparkbook.sql.catalyst.typecoercion import common_type

    return [common_type([x.dataType, y.dataType]) or x.dataType
            for x, y in zip(a.schema.fields, b.schema.fields)]


def _check_widths(operator: str, a: DataFrame, b: DataFrame) -> None:
    if len(a.columns) != len(b.columns):
        raise AnalysisException(
            f"[NUM_COLUMNS_MISMATCH] {operator} can only be performed on inputs with the same "
            f"number of columns, but the first input has {len(a.columns)} columns and the "
            f"second input has {len(b.columns)} columns. SQLSTATE: 42826",
            "NUM_COLUMNS_MISMATCH", {"operator": operator}, "42826")


def _executed(spark_plan: physical.SparkPlan, sc) -> RDD:
    """The plan's RDD, its scalar subqueries run first."""
    from sparkbook.sql.execution.subquery import execute_subqueries

    execute_subqueries(spark_plan, sc)
    return spark_plan.execute(sc)


class DataFrame:
    """A distributed collection of rows with named, typed columns."""

    def __init__(self, plan: lp.LogicalPlan, session: SparkSession) -> None:
        self._parsed = plan  # what explain(True) prints as the parsed plan
        self._plan = analyze(plan)
        self.sparkSession = session
        self._uncached: lp.LogicalPlan | None = None  # the plan before persist()
        self._sql_text: str | None = None  # the query, for a DataFrame spark.sql made

    def _with(self, plan: lp.LogicalPlan) -> DataFrame:
        return DataFrame(plan, self.sparkSession)

    # --- the schema --------------------------------------------------------------------

    @property
    def schema(self) -> StructType:
        return StructType([StructField(a.name, a.dtype, a.nullable)
                           for a in self._plan.output()])

    @property
    def columns(self) -> list[str]:
        return [a.name for a in self._plan.output()]

    @property
    def dtypes(self) -> list[tuple[str, str]]:
        return [(a.name, a.dtype.simpleString()) for a in self._plan.output()]

    def printSchema(self, level: int | None = None) -> None:
        print(self.schema.treeString())

    def __repr__(self) -> str:
        return "DataFrame[" + ", ".join(f"{n}: {t}" for n, t in self.dtypes) + "]"

    # --- transformations ---------------------------------------------------------------

    def select(self, *cols: Column | str | list) -> DataFrame:
        if len(cols) == 1 and isinstance(cols[0], list):
            cols = tuple(cols[0])
        return self._with(lp.Project([name_expr(c) for c in cols], self._plan))

    def selectExpr(self, *expr: str | list[str]) -> DataFrame:
        if len(expr) == 1 and isinstance(expr[0], list):
            expr = tuple(expr[0])
        return self._with(lp.Project([parse_expression(x) for x in expr], self._plan))

    def filter(self, condition: Column | str) -> DataFrame:
        if isinstance(condition, str):
            condition_expr = parse_expression(condition)
        elif isinstance(condition, Column):
            condition_expr = condition._expr
        else:
            raise PySparkTypeError(
                f"[NOT_COLUMN_OR_STR] Argument `condition` should be a Column or str, got "
                f"{type(condition).__name__}.", "NOT_COLUMN_OR_STR")
        return self._with(lp.Filter(condition_expr, self._plan))

    where = filter

    def withColumn(self, colName: str, col: Column) -> DataFrame:
        """Add a column, or replace the column of that name (case-insensitively)."""
        if not isinstance(col, Column):
            raise PySparkTypeError(
                f"[NOT_EXPECTED_TYPE] Argument `col` should be Column, got "
                f"{type(col).__name__}.", "NOT_EXPECTED_TYPE",
                {"arg_name": "col", "arg_type": type(col).__name__})
        return self.withColumns({colName: col})

    def withColumns(self, *colsMap: dict[str, Column]) -> DataFrame:
        new = dict(colsMap[0]) if colsMap else {}
        out: list[e.Expression] = []
        pending = {k.lower(): (k, v) for k, v in new.items()}
        for a in self._plan.output():
            if a.name.lower() in pending:
                name, column = pending.pop(a.name.lower())
                out.append(e.Alias(column._expr, name))
            else:
                out.append(a)
        out += [e.Alias(column._expr, name) for name, column in pending.values()]
        return self._with(lp.Project(out, self._plan))

    def withColumnRenamed(self, existing: str, new: str) -> DataFrame:
        """Rename a column; a name that does not exist is no error (as in Spark)."""
        out: list[e.Expression] = [e.Alias(a, new) if a.name.lower() == existing.lower() else a
                                   for a in self._plan.output()]
        return self._with(lp.Project(out, self._plan))

    def withColumnsRenamed(self, colsMap: dict[str, str]) -> DataFrame:
        df = self
        for old, new in colsMap.items():
            df = df.withColumnRenamed(old, new)
        return df

    def drop(self, *cols: Column | str) -> DataFrame:
        """Without these columns; names that do not exist are ignored."""
        names = {c.lower() for c in cols if isinstance(c, str)}
        ids = set()
        for c in cols:
            if isinstance(c, Column):
                x = c._expr
                if isinstance(x, e.UnresolvedAttribute):
                    names.add(x.name.lower())
                elif isinstance(x, e.AttributeReference):
                    ids.add(x.expr_id)
            elif not isinstance(c, str):
                raise PySparkTypeError(
                    f"[NOT_COLUMN_OR_STR] Argument `col` should be a Column or str, got "
                    f"{type(c).__name__}.", "NOT_COLUMN_OR_STR")
        keep = [a for a in self._plan.output()
                if a.name.lower() not in names and a.expr_id not in ids]
        return self._with(lp.Project(keep, self._plan))

    def limit(self, num: int) -> DataFrame:
        return self._with(lp.GlobalLimit(int(num), self._plan))

    def alias(self, alias: str) -> DataFrame:
        return self._with(lp.SubqueryAlias(alias, self._plan))

    # --- aggregation, joins, order and sets (each plans an exchange) --------------------

    def groupBy(self, *cols: Column | str | list) -> GroupedData:
        if len(cols) == 1 and isinstance(cols[0], list):
            cols = tuple(cols[0])
        return GroupedData(self, [name_expr(c) for c in cols])

    groupby = groupBy

    def rollup(self, *cols: Column | str | list) -> GroupedData:
        """Aggregates by every prefix of ``cols`` (and over all rows), as ``GROUP BY
        ROLLUP``: the keys left out are NULL, told apart by ``grouping()``."""
        from sparkbook.sql.catalyst.grouping import rollup_sets

        keys = self.groupBy(*cols)._keys
        return GroupedData(self, keys, sets=rollup_sets(len(keys)))

    def cube(self, *cols: Column | str | list) -> GroupedData:
        """Aggregates by every subset of ``cols``, as ``GROUP BY CUBE``."""
        from sparkbook.sql.catalyst.grouping import cube_sets

        keys = self.groupBy(*cols)._keys
        return GroupedData(self, keys, sets=cube_sets(len(keys)))

    def agg(self, *exprs: Column | dict[str, str]) -> DataFrame:
        return self.groupBy().agg(*exprs)

    def join(self, other: DataFrame, on: str | list | Column | None = None,
             how: str | None = None) -> DataFrame:
        """Join with ``other`` on column names (kept once, first) or a condition."""
        kind = _JOIN_TYPES.get((how or "inner").lower().replace("_", ""))
        if kind is None:
            raise PySparkValueError(f"[UNSUPPORTED_JOIN_TYPE] Unsupported join type '{how}'.",
                                    "UNSUPPORTED_JOIN_TYPE")
        if isinstance(on, str):
            on = [on]
        if isinstance(on, list) and on and all(isinstance(c, str) for c in on):
            return self._with(lp.Join(self._plan, other._plan, kind, None, on))
        if isinstance(on, list):
            cond = None
            for c in on:
                cond = c._expr if cond is None else e.And(cond, c._expr)
            on = Column(cond) if cond is not None else None
        condition = on._expr if isinstance(on, Column) else None
        right = other._plan
        shared = deduplicate.conflicting(self._plan, right)
        if shared and condition is not None:  # a self-join, on columns of both DataFrames
            right, fresh = deduplicate.new_instances(right, shared)
            condition = deduplicate.self_join_condition(condition, shared, fresh)
        return self._with(lp.Join(self._plan, right, kind, condition))

    def crossJoin(self, other: DataFrame) -> DataFrame:
        return self._with(lp.Join(self._plan, other._plan, "Inner", None))

    def orderBy(self, *cols: Column | str | list, ascending: bool | list | None = None
                ) -> DataFrame:
        if len(cols) == 1 and isinstance(cols[0], list):
            cols = tuple(cols[0])
        order = [name_expr(c) for c in cols]
        if ascending is not None:
            flags = ascending if isinstance(ascending, list) else [ascending] * len(order)
            order = [o if isinstance(o, e.SortOrder) else e.SortOrder(o, bool(a))
                     for o, a in zip(order, flags)]
        return self._with(lp.Sort(order, self._plan))

    sort = orderBy

    def distinct(self) -> DataFrame:
        attrs = self._plan.output()
        return self._with(lp.Aggregate(list(attrs), list(attrs), self._plan, resolved=True))

    def dropDuplicates(self, subset: list[str] | None = None) -> DataFrame:
        """One row per distinct ``subset`` (the first met), every column kept."""
        if subset is None:
            return self.distinct()
        attrs = self._plan.output()
        keys = [self._attribute(c) for c in subset]
        ids = {k.expr_id for k in keys}
        out: list[e.Expression] = [a if a.expr_id in ids else
                                   e.Alias(AggregateFunction("first", [a]), a.name)
                                   for a in attrs]
        return self._with(lp.Aggregate(keys, out, self._plan))

    drop_duplicates = dropDuplicates

    def union(self, other: DataFrame) -> DataFrame:
        """The rows of both, matched by position (``UNION ALL``)."""
        _check_widths("UNION", self, other)
        types = _union_types(self, other)
        return self._with(lp.Union([_as_types(self, types)._plan,
                                    _as_types(other, types)._plan]))

    unionAll = union

    def unionByName(self, other: DataFrame, allowMissingColumns: bool = False) -> DataFrame:
        """The rows of both, matched by column name; missing ones NULL if allowed."""
        from sparkbook.sql import functions as F

        mine = {c.lower() for c in self.columns}
        theirs = {c.lower(): c for c in other.columns}
        left = self
        if allowMissingColumns:
            extra = [c for c in other.columns if c.lower() not in mine]
            left = self.withColumns({c: F.lit(None).cast(other.schema[c].dataType)
                                     for c in extra}) if extra else self
        cols = []
        for c in left.columns:
            if c.lower() in theirs:
                cols.append(other[theirs[c.lower()]])
            elif allowMissingColumns:
                cols.append(F.lit(None).cast(left.schema[c].dataType).alias(c))
            else:
                raise AnalysisException(
                    f"[NUM_COLUMNS_MISMATCH] Cannot resolve column name \"{c}\" among "
                    f"({', '.join(other.columns)}).", "NUM_COLUMNS_MISMATCH")
        return left.union(other.select(*cols))

    def repartition(self, numPartitions: int | Column | str, *cols: Column | str
                    ) -> DataFrame:
        """``numPartitions`` partitions by a shuffle: by hash of ``cols``, else dealt round
        robin (a column first: ``spark.sql.shuffle.partitions`` of them)."""
        if not isinstance(numPartitions, int):
            cols = (numPartitions, *cols)
            numPartitions = int(physical_settings()["spark.sql.shuffle.partitions"])
        return self._with(lp.Repartition(numPartitions, [name_expr(c) for c in cols], True,
                                         self._plan))

    def coalesce(self, numPartitions: int) -> DataFrame:
        """At most ``numPartitions`` partitions, merging neighbours without a shuffle."""
        return self._with(lp.Repartition(numPartitions, [], False, self._plan, True))

    def intersect(self, other: DataFrame) -> DataFrame:
        """The distinct rows in both (NULLs equal, as in SQL's INTERSECT)."""
        return self._set_operation(other, lambda a, b: (a > 0) & (b > 0))

    def subtract(self, other: DataFrame) -> DataFrame:
        """The distinct rows of this one not in ``other`` (EXCEPT DISTINCT)."""
        return self._set_operation(other, lambda a, b: (a > 0) & (b == 0))

    def exceptAll(self, other: DataFrame) -> DataFrame:
        """The rows of this one less those of ``other``, duplicates counted (EXCEPT ALL)."""
        from sparkbook.sql import functions as F

        counted = self._set_operation(other, None)
        left = counted.filter(F.col("__l") > F.col("__r")).withColumn(
            "__n", F.col("__l") - F.col("__r"))
        attrs = left._plan.output()
        return self._with(lp.ReplicateRows(attrs[-1], attrs[:len(self.columns)], left._plan))

    def intersectAll(self, other: DataFrame) -> DataFrame:
        """The rows in both, each as many times as the fewer of its copies on either side
        (INTERSECT ALL), as Spark's RewriteIntersectAll plans it: each side's rows tagged,
        one aggregation counting both tags per row, the rows of both replicated."""
        from sparkbook.sql import functions as F

        _check_widths("INTERSECT ALL", self, other)
        names = self.columns
        flag = F.lit(True)
        none = F.lit(None).cast("boolean")
        mine = self.select(flag.alias("vcol1"), none.alias("vcol2"), *[self[n] for n in names])
        theirs = other.select(none.alias("vcol1"), flag.alias("vcol2"),
                              *[other[i].alias(n) for i, n in enumerate(names)])
        both = mine.union(theirs)
        attrs = both._plan.output()
        keys = attrs[2:]
        counts = [e.Alias(AggregateFunction("count", [a]), f"{a.name}_count")
                  for a in attrs[:2]]
        counted = both._with(lp.Aggregate(keys, counts + keys, both._plan))
        left, right = F.col("vcol1_count"), F.col("vcol2_count")
        fewer = F.when(left > right, right).otherwise(left).alias("min_count")
        kept = counted.filter((left >= 1) & (right >= 1)).select(*names, fewer)
        out = kept._plan.output()
        return self._with(lp.Project(out[:len(names)], lp.ReplicateRows(
            out[-1], out[:len(names)], kept._plan)))

    # --- subqueries -------------------------------------------------------------------

    def scalar(self) -> Column:
        """This DataFrame (one column, at most one row) as a value: a scalar subquery, run
        as its own job before the query that reads it."""
        from sparkbook.sql.sqlquery import check_one_column

        check_one_column(len(self.columns))
        return Column(e.ScalarSubquery(self._plan))

    def exists(self) -> Column:
        """Whether this DataFrame has a row: an EXISTS subquery, as Spark 4 plans it, a
        scalar subquery of its first row."""
        from sparkbook.sql.sqlquery import exists

        return Column(exists(self))

    def _set_operation(self, other: DataFrame, keep) -> DataFrame:
        # As one aggregation: each row tagged with its side, grouped by every column
        # (grouping makes NULLs equal), kept by how many rows each side had.
        from sparkbook.sql import functions as F

        names = self.columns
        mine = self.select(*[self[n] for n in names], F.lit(1).alias("__l"),
                           F.lit(0).alias("__r"))
        theirs = other.select(*[other[i].alias(n) for i, n in enumerate(names)],
                               F.lit(0).alias("__l"), F.lit(1).alias("__r"))
        counted = mine.union(theirs).groupBy(*names).agg(F.sum("__l").alias("__l"),
                                                          F.sum("__r").alias("__r"))
        if keep is None:
            return counted
        return counted.filter(keep(F.col("__l"), F.col("__r"))).select(*names)

    # --- missing values, caching ------------------------------------------------------

    @property
    def na(self):
        from sparkbook.sql.na import DataFrameNaFunctions

        return DataFrameNaFunctions(self)

    def fillna(self, value: Any, subset: str | list[str] | None = None) -> DataFrame:
        return self.na.fill(value, subset)

    def dropna(self, how: str = "any", thresh: int | None = None,
               subset: str | list[str] | None = None) -> DataFrame:
        return self.na.drop(how, thresh, subset)

    def replace(self, to_replace: Any, *args: Any, **kwargs: Any) -> DataFrame:
        """``to_replace``'s values replaced by ``value``'s (or a dict's) in ``subset``."""
        return self.na.replace(to_replace, *args, **kwargs)

    def describe(self, *cols: str | list[str]) -> DataFrame:
        """count, mean, stddev, min and max of the numeric and string columns, as text."""
        from sparkbook.sql.summary import DESCRIBE, summary

        if len(cols) == 1 and isinstance(cols[0], list):
            cols = tuple(cols[0])
        return summary(self, DESCRIBE, list(cols))

    def summary(self, *statistics: str) -> DataFrame:
        """The ``statistics`` (count, mean, stddev, min, 25%, 50%, 75%, max by default;
        also ``count_distinct``, ``approx_count_distinct`` and any percentile ``p%``) of the
        numeric and string columns, as text."""
        from sparkbook.sql.summary import summary

        return summary(self, list(statistics))

    def persist(self, storageLevel: Any = None) -> DataFrame:
        """Keep the batches this DataFrame computes in the executors' block managers: the
        plan becomes a scan of the persisted RDD of its batches, so this DataFrame and
        those built from it from now on read them, computed once."""
        from sparkbook.storagelevel import StorageLevel

        if self._uncached is None:
            level = storageLevel if storageLevel is not None else StorageLevel.MEMORY_AND_DISK
            rdd = _executed(physical.plan_query(self._plan, top=False),
                            self.sparkSession.sparkContext).persist(level)
            self._uncached = self._plan
            self._plan = lp.LogicalRDD(self._plan.output(), rdd.setName("InMemoryRelation"))
        return self

    def cache(self) -> DataFrame:
        return self.persist()

    def unpersist(self, blocking: bool = False) -> DataFrame:
        if self._uncached is not None:
            self._plan.rdd.unpersist(blocking)
            self._plan, self._uncached = self._uncached, None
        return self

    @property
    def is_cached(self) -> bool:
        return self._uncached is not None

    @property
    def storageLevel(self):
        from sparkbook.storagelevel import StorageLevel

        return self._plan.rdd.getStorageLevel() if self._uncached is not None \
            else StorageLevel(False, False, False, False, 1)

    def toPandas(self):
        """The rows as a pandas DataFrame (pandas must be installed)."""
        try:
            import pandas  # noqa: F401
        except ImportError:
            from sparkbook.errors import PySparkImportError

            raise PySparkImportError(
                "[PACKAGE_NOT_INSTALLED] Pandas >= 2.2.0 must be installed; however, it was "
                "not found.", "PACKAGE_NOT_INSTALLED") from None
        import pyarrow as pa

        from sparkbook.sql.execution.arrow import arrow_schema

        table = pa.Table.from_batches(self._run(), arrow_schema(self.schema))
        frame = table.to_pandas()
        frame.columns = self.columns
        return frame

    # --- views and output ------------------------------------------------------------

    def createOrReplaceTempView(self, name: str) -> None:
        self.sparkSession.catalog.create_view(name, self._plan, replace=True)

    def createTempView(self, name: str) -> None:
        self.sparkSession.catalog.create_view(name, self._plan, replace=False)

    @property
    def write(self):
        """``df.write.mode("overwrite").partitionBy("k").parquet(path)``, ``.csv``, ``.json``."""
        from sparkbook.sql.readwriter import DataFrameWriter

        return DataFrameWriter(self)

    # --- columns by name ----------------------------------------------------------------

    def __getitem__(self, item: str | int | Column | list) -> Any:
        if isinstance(item, str):
            if item == "*":
                return Column(e.UnresolvedStar())
            return Column(self._attribute(item))
        if isinstance(item, int):
            return Column(self._plan.output()[item])
        if isinstance(item, Column):
            return self.filter(item)
        if isinstance(item, (list, tuple)):
            return self.select(*item)
        raise PySparkTypeError(f"[NOT_COLUMN_OR_INT_OR_LIST_OR_STR] Unexpected item type: "
                               f"{type(item).__name__}.", "NOT_COLUMN_OR_INT_OR_LIST_OR_STR")

    def __getattr__(self, name: str) -> Column:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self.columns:
            raise PySparkAttributeError(
                f"[ATTRIBUTE_NOT_SUPPORTED] Attribute `{name}` is not supported.",
                "ATTRIBUTE_NOT_SUPPORTED", {"attr_name": name})
        return Column(self._attribute(name))

    def _attribute(self, name: str) -> e.AttributeReference:
        attrs = self._plan.output()
        try:
            return resolve_name(e.UnresolvedAttribute(name.split(".")), attrs)
        except AnalysisException:
            raise unresolved_column([name], attrs, ties_by_name=False) from None

    # --- actions -----------------------------------------------------------------------

    def _run(self, plan: lp.LogicalPlan | None = None, count: bool = False) -> Any:
        analyzed = self._plan if plan is None else analyze(plan)
        # Counting rows happens on the executors, so a limit is cut there too.
        spark_plan = physical.plan_query(analyzed, top=not count)
        sc = self.sparkSession.sparkContext
        # The jobs of a spark.sql query are described by its text, as the widget lists them.
        described = self._sql_text is not None
        if described:
            previous = sc.getLocalProperty("spark.job.description")
            sc.setJobDescription(" ".join(self._sql_text.split()))
        try:
            if count:
                return sum(physical.run(spark_plan, sc,
                                        lambda r: r.mapPartitions(physical.count_rows)))
            batches = physical.run(spark_plan, sc)
        finally:
            if described:
                sc.setLocalProperty("spark.job.description", previous)
        if isinstance(spark_plan, physical.LimitExec):
            batches = physical.first_batches(batches, spark_plan.n)
        return batches

    def collect(self) -> list[Row]:
        return list(batches_to_rows(self._run(), self.schema))

    def toLocalIterator(self, prefetchPartitions: bool = False) -> Iterator[Row]:
        """The rows, one partition in memory at a time (a job per partition)."""
        return self.rdd.toLocalIterator(prefetchPartitions)

    def count(self) -> int:
        return self._run(count=True)

    def take(self, num: int) -> list[Row]:
        return list(batches_to_rows(self._run(lp.GlobalLimit(int(num), self._plan)),
                                    self.schema))

    def head(self, n: int | None = None) -> Row | None | list[Row]:
        if n is None:
            rows = self.take(1)
            return rows[0] if rows else None
        return self.take(n)

    def first(self) -> Row | None:
        return self.head()

    def isEmpty(self) -> bool:
        return len(self.take(1)) == 0

    @property
    def rdd(self) -> RDD:
        """An RDD of ``Row``s (converted from the batches on the executors)."""
        batches = _executed(physical.plan_query(self._plan), self.sparkSession.sparkContext)
        return batches.mapPartitions(functools.partial(batches_to_rows, schema=self.schema))

    def show(self, n: int = 20, truncate: bool | int = True, vertical: bool = False) -> None:
        """Print the first ``n`` rows as a table, as Spark prints it."""
        if not isinstance(n, int) or isinstance(n, bool):
            raise PySparkTypeError(f"[NOT_INT] Argument `n` should be an int, got "
                                   f"{type(n).__name__}.", "NOT_INT")
        if not isinstance(vertical, bool):
            raise PySparkTypeError(f"[NOT_BOOL] Argument `vertical` should be a bool, got "
                                   f"{type(vertical).__name__}.", "NOT_BOOL")
        if isinstance(truncate, bool):
            width = 20 if truncate else 0
        elif isinstance(truncate, int):
            width = truncate
        else:
            raise PySparkTypeError(f"[NOT_BOOL] Argument `truncate` should be a bool, got "
                                   f"{type(truncate).__name__}.", "NOT_BOOL")
        print(self._show_string(n, width, vertical))

    def _show_string(self, n: int = 20, truncate: int = 20, vertical: bool = False) -> str:
        rows = self.take(max(n, 0) + 1)
        schema = self.schema
        return show_string(schema.names, [f.dataType for f in schema], rows, max(n, 0),
                           truncate, vertical)

    def explain(self, extended: bool | str | None = None, mode: str | None = None) -> None:
        """Print the physical plan (``extended=True``: the logical plans too)."""
        if isinstance(extended, str):
            mode, extended = extended, None
        if extended or mode == "extended":
            text = physical.explain_extended(self._parsed, self._plan)
        elif mode in (None, "simple"):
            spark_plan = physical.plan_query(self._plan)
            text = f"== Physical Plan ==\n{physical.explain_string(spark_plan)}\n"
        else:
            raise PySparkValueError(f"[UNKNOWN_EXPLAIN_MODE] explain mode `{mode}` is not "
                                    "supported in this version of sparkbook.",
                                    "UNKNOWN_EXPLAIN_MODE")
        print(text)
