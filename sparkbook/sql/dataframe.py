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
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst import logical as lp
from sparkbook.sql.catalyst.analyzer import analyze, resolve_name, unresolved_column
from sparkbook.sql.catalyst.parser import parse_expression
from sparkbook.sql.column import Column, name_expr
from sparkbook.sql.execution import physical
from sparkbook.sql.execution.arrow import batches_to_rows
from sparkbook.sql.row import Row
from sparkbook.sql.show import show_string
from sparkbook.sql.types import StructField, StructType

if TYPE_CHECKING:
    from sparkbook.rdd import RDD
    from sparkbook.sql.session import SparkSession


class DataFrame:
    """A distributed collection of rows with named, typed columns."""

    def __init__(self, plan: lp.LogicalPlan, session: SparkSession) -> None:
        self._plan = analyze(plan)
        self.sparkSession = session

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
        spark_plan = physical.plan_physical(analyzed, top=not count)
        sc = self.sparkSession.sparkContext
        if count:
            rdd = spark_plan.execute(sc).mapPartitions(physical.count_rows)
            return sum(physical.run(spark_plan, sc, rdd))
        batches = physical.run(spark_plan, sc)
        if isinstance(spark_plan, physical.LimitExec):
            batches = physical.first_batches(batches, spark_plan.n)
        return batches

    def collect(self) -> list[Row]:
        return list(batches_to_rows(self._run(), self.schema))

    def toLocalIterator(self, prefetchPartitions: bool = False) -> Iterator[Row]:
        return iter(self.collect())

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
        spark_plan = physical.plan_physical(self._plan)
        batches = spark_plan.execute(self.sparkSession.sparkContext)
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
        spark_plan = physical.plan_physical(self._plan)
        text = f"== Physical Plan ==\n{spark_plan.tree_string()}\n"
        if extended or mode == "extended":
            schema = ", ".join(f"{n}: {t}" for n, t in self.dtypes)
            text = (f"== Analyzed Logical Plan ==\n{schema}\n{self._plan.tree_string()}\n"
                    f"{text}")
        elif mode not in (None, "simple"):
            raise PySparkValueError(f"[UNKNOWN_EXPLAIN_MODE] explain mode `{mode}` is not "
                                    "supported in this version of sparkbook.",
                                    "UNKNOWN_EXPLAIN_MODE")
        print(text)
