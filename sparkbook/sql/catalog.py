"""``spark.catalog``: the session's temporary views (the API of ``pyspark.sql.Catalog``).
There is no metastore: every table is a temporary view of a DataFrame's plan."""

from __future__ import annotations

from typing import NamedTuple

from sparkbook.errors import AnalysisException
from sparkbook.sql.catalyst import logical as lp


class Table(NamedTuple):
    name: str
    catalog: str | None
    namespace: list[str] | None
    description: str | None
    tableType: str
    isTemporary: bool


def table_not_found(name: str, position: int | None = None,
                    dropping: bool = False) -> AnalysisException:
    """Spark's error for a table or view that does not exist (``DROP VIEW`` looks for it
    in the default database only, and says so)."""
    where = f"; line 1 pos {position}" if position is not None else ""
    shown = f"`spark_catalog`.`default`.`{name}`" if dropping else f"`{name}`"
    path = ("`spark_catalog`.`default`" if dropping else
            "`system`.`builtin`, `system`.`session`, `spark_catalog`.`default`")
    plan = "" if dropping else f";\n'UnresolvedRelation [{name}], [], false\n"
    message = (
        f"[TABLE_OR_VIEW_NOT_FOUND] The table or view {shown} cannot be found. Verify the "
        f"spelling and correctness of the schema and catalog.\nSearch path: [{path}].\nIf "
        f"you did not qualify the name with a schema, verify the current_schema() output, or "
        f"qualify the name with the correct schema and catalog.\nTo tolerate the error on "
        f"drop use DROP VIEW IF EXISTS or DROP TABLE IF EXISTS. SQLSTATE: 42P01{where}{plan}")
    return AnalysisException(message, "TABLE_OR_VIEW_NOT_FOUND", {"relationName": shown},
                             "42P01")


class Catalog:
    """Temporary views by name (case-insensitive, as Spark's are)."""

    def __init__(self) -> None:
        self._views: dict[str, tuple[str, lp.LogicalPlan]] = {}

    def create_view(self, name: str, plan: lp.LogicalPlan, replace: bool) -> None:
        if not replace and name.lower() in self._views:
            raise AnalysisException(
                f"[TEMP_TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create the temporary view "
                f"`{name}` because it already exists.\nChoose a different name, drop or "
                f"replace the existing view. SQLSTATE: 42P07",
                "TEMP_TABLE_OR_VIEW_ALREADY_EXISTS", {"relationName": f"`{name}`"}, "42P07")
        self._views[name.lower()] = (name, plan)

    def lookup(self, name: str, position: int | None = None) -> lp.LogicalPlan:
        """The view's plan under ``SubqueryAlias name``, as Spark's analyzer puts it."""
        found = self._views.get(name.lower())
        if found is None:
            raise table_not_found(name, position)
        return lp.SubqueryAlias(name.split(".")[-1], found[1])

    def listTables(self, dbName: str | None = None, pattern: str | None = None
                   ) -> list[Table]:
        import fnmatch

        names = sorted(n for n, _ in self._views.values())
        if pattern is not None:
            names = [n for n in names if fnmatch.fnmatch(n.lower(), pattern.lower())]
        return [Table(n, None, [], None, "TEMPORARY", True) for n in names]

    def tableExists(self, tableName: str, dbName: str | None = None) -> bool:
        return tableName.lower() in self._views

    def dropTempView(self, viewName: str) -> bool:
        return self._views.pop(viewName.lower(), None) is not None

    def dropGlobalTempView(self, viewName: str) -> bool:
        return self.dropTempView(viewName)
