"""``spark.sql``: a temp view queried with SQL, the same query as SQL text and as DataFrame
calls giving one physical plan and the same rows; WHERE, GROUP BY, HAVING, ORDER BY, LIMIT,
joins, subqueries, CTEs, CASE, UNION; the catalog of temp views; and the errors PySpark
raises for bad SQL, a missing table and an unknown column.

Expected values and printed text were recorded from PySpark 4.3.0 (local[2]); run with
SPARKBOOK_TEST_ENGINE=pyspark to check every expectation against PySpark itself.
"""

from __future__ import annotations

import decimal
import re

import pytest
from printing import printed


@pytest.fixture(scope="module")
def staff(spark):
    df = spark.createDataFrame([("Alice", 34, "eng"), ("Bob", 12, "ops"), ("Cid", None, "eng"),
                                ("Dee", 51, "hr")], "name string, age int, dept string")
    df.createOrReplaceTempView("staff")
    depts = spark.createDataFrame([("eng", "Engineering"), ("ops", "Operations"),
                                   ("law", "Legal")], "dept string, title string")
    depts.createOrReplaceTempView("depts")
    yield df
    spark.catalog.dropTempView("staff")
    spark.catalog.dropTempView("depts")


def plan_text(df) -> str:
    """``explain()`` without the ids that differ from one query to the next."""
    return re.sub(r"(#|plan_id=)\d+", r"\1N", printed(df.explain))


def rows(df) -> list[tuple]:
    return [tuple(r) for r in df.collect()]


def test_the_course_example_a_temp_view_queried_with_sql(spark, staff):
    adults = spark.sql("SELECT name, age + 1 AS next FROM staff WHERE age >= 30")
    assert printed(adults.show) == (
        "+-----+----+\n"
        "| name|next|\n"
        "+-----+----+\n"
        "|Alice|  35|\n"
        "|  Dee|  52|\n"
        "+-----+----+\n\n")


class TestSameQuerySamePlan:
    def test_a_projection_and_a_filter(self, spark, staff, F):
        text = spark.sql("SELECT name, age + 1 AS next FROM staff WHERE age >= 30")
        calls = staff.where(F.col("age") >= 30).select("name", (F.col("age") + 1).alias("next"))
        assert plan_text(text) == plan_text(calls)
        assert rows(text) == rows(calls) == [("Alice", 35), ("Dee", 52)]

    def test_an_aggregation_ordered(self, spark, staff, F):
        text = spark.sql("SELECT dept, count(*) AS n, max(age) AS oldest FROM staff "
                         "GROUP BY dept ORDER BY dept")
        calls = (staff.groupBy("dept").agg(F.count("*").alias("n"), F.max("age").alias("oldest"))
                 .orderBy("dept"))
        assert plan_text(text) == plan_text(calls)
        assert rows(text) == rows(calls) == [("eng", 2, 34), ("hr", 1, 51), ("ops", 1, 12)]

    def test_a_join_on_names(self, spark, staff, F):
        depts = spark.table("depts")
        text = spark.sql("SELECT * FROM staff JOIN depts USING (dept) ORDER BY name")
        calls = staff.join(depts, "dept").orderBy("name")
        assert plan_text(text) == plan_text(calls)
        assert rows(text) == rows(calls) == [("eng", "Alice", 34, "Engineering"),
                                             ("ops", "Bob", 12, "Operations"),
                                             ("eng", "Cid", None, "Engineering")]


class TestClauses:
    def test_having_with_an_aggregate_it_does_not_select(self, spark, staff):
        df = spark.sql("SELECT dept FROM staff GROUP BY dept HAVING count(*) > 1")
        assert df.columns == ["dept"]
        assert rows(df) == [("eng",)]

    def test_having_on_a_selected_aggregate_and_default_names(self, spark, staff):
        df = spark.sql("SELECT dept, count(*), sum(age) FROM staff GROUP BY dept "
                       "HAVING sum(age) > 20 ORDER BY dept")
        assert df.columns == ["dept", "count(1)", "sum(age)"]
        assert rows(df) == [("eng", 2, 34), ("hr", 1, 51)]

    def test_order_by_an_aggregate_nulls_and_ordinals(self, spark, staff):
        by_count = spark.sql("SELECT dept FROM staff GROUP BY dept ORDER BY count(*) DESC, 1")
        assert rows(by_count) == [("eng",), ("hr",), ("ops",)]
        nulls = spark.sql("SELECT name FROM staff ORDER BY age DESC NULLS FIRST")
        assert rows(nulls) == [("Cid",), ("Dee",), ("Alice",), ("Bob",)]
        last = spark.sql("SELECT name, age FROM staff ORDER BY age NULLS LAST LIMIT 2")
        assert rows(last) == [("Bob", 12), ("Alice", 34)]

    def test_order_by_a_column_not_selected(self, spark, staff):
        df = spark.sql("SELECT name FROM staff s ORDER BY s.age")
        assert rows(df) == [("Cid",), ("Bob",), ("Alice",), ("Dee",)]

    def test_group_by_an_ordinal_and_distinct(self, spark, staff):
        df = spark.sql("SELECT upper(dept) AS d, count(age) AS c FROM staff GROUP BY 1 "
                       "ORDER BY d")
        assert rows(df) == [("ENG", 1), ("HR", 1), ("OPS", 1)]
        distinct = spark.sql("SELECT DISTINCT dept FROM staff ORDER BY dept DESC")
        assert rows(distinct) == [("ops",), ("hr",), ("eng",)]

    def test_case_when_and_a_subquery_in_from(self, spark, staff):
        df = spark.sql("SELECT name, CASE WHEN age >= 30 THEN 'senior' WHEN age IS NULL "
                       "THEN 'unknown' ELSE 'junior' END AS band "
                       "FROM (SELECT * FROM staff WHERE dept <> 'hr') t ORDER BY t.name")
        assert rows(df) == [("Alice", "senior"), ("Bob", "junior"), ("Cid", "unknown")]

    def test_a_cte_joined_with_its_table(self, spark, staff):
        df = spark.sql("WITH oldest AS (SELECT dept, max(age) AS top FROM staff GROUP BY dept) "
                       "SELECT s.name, o.top FROM staff s JOIN oldest o ON s.dept = o.dept "
                       "AND s.age = o.top ORDER BY s.name")
        assert rows(df) == [("Alice", 34), ("Bob", 12), ("Dee", 51)]

    def test_union_all_and_union(self, spark, staff):
        both = spark.sql("SELECT dept FROM staff UNION ALL SELECT dept FROM depts")
        assert sorted(rows(both)) == [("eng",), ("eng",), ("eng",), ("hr",), ("law",),
                                      ("ops",), ("ops",)]
        distinct = spark.sql("SELECT dept FROM staff UNION SELECT dept FROM depts ORDER BY 1")
        assert rows(distinct) == [("eng",), ("hr",), ("law",), ("ops",)]

    @pytest.mark.parametrize("how, expected", [
        ("LEFT JOIN", [("Alice", "Engineering"), ("Bob", "Operations"),
                       ("Cid", "Engineering"), ("Dee", None)]),
        ("RIGHT JOIN", [(None, "Legal"), ("Alice", "Engineering"), ("Bob", "Operations"),
                        ("Cid", "Engineering")]),
        ("FULL OUTER JOIN", [(None, "Legal"), ("Alice", "Engineering"),
                             ("Bob", "Operations"), ("Cid", "Engineering"), ("Dee", None)]),
    ])
    def test_outer_joins(self, spark, staff, how, expected):
        df = spark.sql(f"SELECT s.name, d.title FROM staff s {how} depts d "
                       f"ON s.dept = d.dept ORDER BY s.name, d.title")
        assert rows(df) == expected

    def test_semi_anti_and_cross_joins(self, spark, staff):
        semi = spark.sql("SELECT * FROM staff LEFT SEMI JOIN depts ON staff.dept = depts.dept "
                         "ORDER BY name")
        assert semi.columns == ["name", "age", "dept"]
        assert [r[0] for r in rows(semi)] == ["Alice", "Bob", "Cid"]
        anti = spark.sql("SELECT name FROM staff LEFT ANTI JOIN depts USING (dept)")
        assert rows(anti) == [("Dee",)]
        cross = spark.sql("SELECT count(*) FROM staff CROSS JOIN depts")
        assert rows(cross) == [(12,)]

    def test_select_without_from_and_functions(self, spark):
        df = spark.sql("SELECT 1 AS one, upper('a') AS u, sqrt(16) AS r")
        assert rows(df) == [(1, "A", 4.0)]


class TestCatalog:
    def test_list_tables_and_drop_a_temp_view(self, spark, staff):
        spark.range(3).createOrReplaceTempView("numbers")
        names = [t.name for t in spark.catalog.listTables()]
        assert {"staff", "depts", "numbers"} <= set(names)
        table = next(t for t in spark.catalog.listTables() if t.name == "numbers")
        assert repr(table) == ("Table(name='numbers', catalog=None, namespace=[], "
                               "description=None, tableType='TEMPORARY', isTemporary=True)")
        assert spark.table("numbers").count() == 3
        assert spark.catalog.dropTempView("numbers") is True
        assert spark.catalog.dropTempView("numbers") is False

    def test_create_temp_view_refuses_a_name_in_use(self, spark, staff, errors):
        with pytest.raises(errors.AnalysisException) as info:
            staff.createTempView("staff")
        assert str(info.value) == (
            "[TEMP_TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create the temporary view `staff` "
            "because it already exists.\nChoose a different name, drop or replace the "
            "existing view. SQLSTATE: 42P07")


class TestErrors:
    def test_a_missing_table_is_named(self, spark, errors):
        with pytest.raises(errors.AnalysisException) as info:
            spark.sql("SELECT * FROM nope")
        assert info.value.getCondition() == "TABLE_OR_VIEW_NOT_FOUND"
        assert str(info.value).startswith(
            "[TABLE_OR_VIEW_NOT_FOUND] The table or view `nope` cannot be found. Verify the "
            "spelling and correctness of the schema and catalog.\n")
        assert "SQLSTATE: 42P01; line 1 pos 14;\n" in str(info.value)
        with pytest.raises(errors.AnalysisException, match="TABLE_OR_VIEW_NOT_FOUND"):
            spark.table("nope")

    def test_bad_sql_is_a_parse_exception_with_its_position(self, spark, errors):
        with pytest.raises(errors.ParseException) as info:
            spark.sql("SELEC x")
        assert info.value.getCondition() == "PARSE_SYNTAX_ERROR"
        assert str(info.value).strip() == (
            "[PARSE_SYNTAX_ERROR] Syntax error at or near 'SELEC'. SQLSTATE: 42601 "
            "(line 1, pos 0)\n\n== SQL ==\nSELEC x\n^^^")

    def test_an_unknown_column_as_the_dataframe_api_raises_it(self, spark, staff, errors):
        with pytest.raises(errors.AnalysisException) as info:
            spark.sql("SELECT nam FROM staff")
        assert info.value.getCondition() == "UNRESOLVED_COLUMN.WITH_SUGGESTION"
        assert str(info.value).startswith(
            "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function parameter "
            "with name `nam` cannot be resolved. Did you mean one of the following? "
            "[`name`, `age`, `dept`]. SQLSTATE: 42703")


@pytest.mark.sparkbook_only
def test_the_jobs_of_a_query_are_described_by_its_text(spark, sc, staff, recorded):
    before = sc.getLocalProperty("spark.job.description")  # an earlier test's, if any
    spark.sql("SELECT dept, count(*) AS n\n  FROM staff GROUP BY dept").collect()
    staff.groupBy("dept").count().collect()
    sc.waitForListeners()
    descriptions = [sc.statusStore.jobs[j.job_id].description for j in recorded.jobs]
    by_sql = descriptions[:len(descriptions) // 2]
    assert by_sql and all(d == "SELECT dept, count(*) AS n FROM staff GROUP BY dept"
                          for d in by_sql)
    # DataFrame calls keep the thread's own description; the query's text was put back.
    assert descriptions[len(by_sql):] == [before] * len(by_sql)


@pytest.mark.parametrize("text, schema, nullable, expected", [
    ("SELECT * FROM VALUES (1, 'a'), (2, 'b') AS t(x, y)", "struct<x:int,y:string>",
     [False, False], [(1, "a"), (2, "b")]),
    ("SELECT * FROM (VALUES (1), (2.5), (NULL)) AS t(a)", "struct<a:decimal(11,1)>", [True],
     [(decimal.Decimal("1.0"),), (decimal.Decimal("2.5"),), (None,)]),
    ("VALUES (1, 2), (3, 4)", "struct<col1:int,col2:int>", [False, False], [(1, 2), (3, 4)]),
    ("SELECT col1 + 1 AS z FROM VALUES 1, 2", "struct<z:int>", [False], [(2,), (3,)]),
    ("SELECT t.* FROM VALUES (1, 2) t", "struct<col1:int,col2:int>", [False, False], [(1, 2)]),
    ("SELECT a, b FROM VALUES (CAST(1 AS bigint), 1 + 1), (2, -3) AS t(a, b) ORDER BY a DESC",
     "struct<a:bigint,b:int>", [False, False], [(2, -3), (1, 2)]),
])
def test_inline_tables_are_typed_as_spark_types_them(spark, text, schema, nullable, expected):
    df = spark.sql(text)
    assert df.schema.simpleString() == schema
    assert [f.nullable for f in df.schema.fields] == nullable
    assert [tuple(r) for r in df.collect()] == expected


@pytest.mark.parametrize("text, detail", [
    ("SELECT * FROM VALUES (1, 2), (3) AS t(a, b)", "expected 2 columns but found 1 columns in "
                                                    "row 1"),
    ("SELECT * FROM VALUES (1, 2) AS t(a)", "expected 1 columns but found 2 columns in row 0"),
])
def test_an_inline_table_of_uneven_rows_is_a_parse_error(spark, errors, text, detail):
    with pytest.raises(errors.ParseException) as info:
        spark.sql(text)
    assert info.value.getCondition() == "INVALID_INLINE_TABLE.NUM_COLUMNS_MISMATCH"
    assert f"[INVALID_INLINE_TABLE.NUM_COLUMNS_MISMATCH] Invalid inline table. Inline table " \
           f"{detail}. SQLSTATE: 42000" in str(info.value)


def test_views_made_shown_described_and_dropped_with_sql(spark, errors):
    spark.createDataFrame([(1, "a")], "id int, name string").createOrReplaceTempView("emp")
    try:
        made = spark.sql("CREATE OR REPLACE TEMP VIEW doubled AS SELECT id * 2 AS d FROM emp")
        assert made.columns == [] and made.collect() == []
        assert [tuple(r) for r in spark.sql("SELECT * FROM doubled").collect()] == [(2,)]
        with pytest.raises(errors.AnalysisException) as info:
            spark.sql("CREATE TEMPORARY VIEW doubled AS SELECT 1")
        assert info.value.getCondition() == "TEMP_TABLE_OR_VIEW_ALREADY_EXISTS"
        shown = spark.sql("SHOW TABLES")
        assert shown.schema.simpleString() == \
            "struct<namespace:string,tableName:string,isTemporary:boolean>"
        assert ("", "doubled", True) in [tuple(r) for r in shown.collect()]
        described = spark.sql("DESCRIBE emp")
        assert described.columns == ["col_name", "data_type", "comment"]
        assert [tuple(r) for r in described.collect()] == [("id", "int", None),
                                                           ("name", "string", None)]
        assert spark.sql("DROP VIEW doubled").collect() == []
        with pytest.raises(errors.AnalysisException) as info:
            spark.sql("DROP VIEW doubled")
        assert str(info.value).startswith(
            "[TABLE_OR_VIEW_NOT_FOUND] The table or view `spark_catalog`.`default`.`doubled` "
            "cannot be found.")
        assert spark.sql("DROP VIEW IF EXISTS doubled").collect() == []
        with pytest.raises(errors.AnalysisException, match=r"TABLE_OR_VIEW_NOT_FOUND.*`nope`"):
            spark.sql("DESCRIBE nope")
    finally:
        spark.catalog.dropTempView("emp")
        spark.catalog.dropTempView("doubled")
