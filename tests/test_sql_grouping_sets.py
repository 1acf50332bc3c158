"""``GROUPING SETS``, ``ROLLUP`` and ``CUBE`` in SQL, ``DataFrame.rollup``/``cube``, and
``grouping()``/``grouping_id()``: planned as Spark plans them, an ``Expand`` below the
aggregate with the ``spark_grouping_id`` column, and printed so by ``explain()``.

Expected values and plans were recorded from PySpark 4.3.0 (local[1]); run with
SPARKBOOK_TEST_ENGINE=pyspark to check every expectation against PySpark itself.
"""

from __future__ import annotations

import re

import pytest
from printing import printed

SALES = [("A", 2020, 10), ("A", 2021, 20), ("B", 2020, 5), ("B", 2021, None), (None, 2020, 1)]
ROLLUP = [(None, None, 1), (None, None, 36), (None, 2020, 1), ("A", None, 30), ("A", 2020, 10),
          ("A", 2021, 20), ("B", None, 5), ("B", 2020, 5), ("B", 2021, None)]


@pytest.fixture(scope="module")
def sales(spark):
    df = spark.createDataFrame(SALES, "city string, year int, amount int")
    df.createOrReplaceTempView("sales")
    yield df
    spark.catalog.dropTempView("sales")


def rows(df) -> list[tuple]:
    # Rows of equal sort keys (a NULL key and the NULL of "all") come in no fixed order.
    return sorted((tuple(r) for r in df.collect()), key=repr)


def same(expected: list[tuple]) -> list[tuple]:
    return sorted(expected, key=repr)


def plan_text(df) -> str:
    text = re.sub(r"(#|plan_id=)\d+", r"\1N", printed(df.explain))
    return re.sub(r"\*\(\d\) ", "", text)  # sparkbook marks stages, Spark's AQE plan does not


def test_rollup_of_a_dataframe(sales, F):
    df = sales.rollup("city", "year").agg(F.sum("amount"))
    assert df.schema.simpleString() == "struct<city:string,year:int,sum(amount):bigint>"
    assert [f.nullable for f in df.schema.fields] == [True, True, True]
    assert rows(df) == same(ROLLUP)


def test_rollup_is_an_expand_below_the_aggregate(sales, F):
    df = sales.rollup("city", "year").agg(F.sum("amount"))
    assert plan_text(df) == (
        "== Physical Plan ==\n"
        "AdaptiveSparkPlan isFinalPlan=false\n"
        "+- HashAggregate(keys=[city#N, year#N, spark_grouping_id#NL], "
        "functions=[sum(amount#N)])\n"
        "   +- Exchange hashpartitioning(city#N, year#N, spark_grouping_id#NL, 200), "
        "ENSURE_REQUIREMENTS, [plan_id=N]\n"
        "      +- HashAggregate(keys=[city#N, year#N, spark_grouping_id#NL], "
        "functions=[partial_sum(amount#N)])\n"
        "         +- Expand [[amount#N, city#N, year#N, 0], [amount#N, city#N, null, 1], "
        "[amount#N, null, null, 3]], [amount#N, city#N, year#N, spark_grouping_id#NL]\n"
        "            +- Project [amount#N, city#N, year#N]\n"
        "               +- Scan ExistingRDD[city#N,year#N,amount#N]\n"
        "\n\n")


def test_cube_count_and_its_expand(sales):
    df = sales.cube("city", "year").count()
    assert df.schema.simpleString() == "struct<city:string,year:int,count:bigint>"
    assert rows(df) == same([
        (None, None, 1), (None, None, 5), (None, 2020, 3), (None, 2020, 1), (None, 2021, 2),
        ("A", None, 2), ("A", 2020, 1), ("A", 2021, 1), ("B", None, 2), ("B", 2020, 1),
        ("B", 2021, 1)])
    assert "Expand [[city#N, year#N, 0], [city#N, null, 1], [null, year#N, 2], " \
           "[null, null, 3]], [city#N, year#N, spark_grouping_id#NL]" in plan_text(df)


def test_grouping_tells_the_total_from_a_null_key(sales, F):
    df = sales.rollup("city").agg(F.grouping("city"), F.sum("amount"))
    assert df.schema.simpleString() == \
        "struct<city:string,grouping(city):tinyint,sum(amount):bigint>"
    assert [f.nullable for f in df.schema.fields] == [True, False, True]
    assert rows(df) == same([(None, 1, 36), (None, 0, 1), ("A", 0, 30), ("B", 0, 5)])


def test_rollup_of_expressions_and_without_keys(sales, F):
    df = sales.rollup(F.col("year") + 1, F.upper("city")).agg(F.max("amount"))
    assert df.columns == ["(year + 1)", "upper(city)", "max(amount)"]
    assert rows(df) == same([
        (None, None, 20), (2021, None, 1), (2021, None, 10), (2021, "A", 10), (2021, "B", 5),
        (2022, None, 20), (2022, "A", 20), (2022, "B", None)])
    assert rows(sales.rollup().count()) == [(5,)]


def test_the_shortcuts_over_rollup_and_cube(sales):
    assert rows(sales.rollup("city").agg({"amount": "max"})) == \
        same([(None, 20), (None, 1), ("A", 20), ("B", 5)])
    assert rows(sales.cube("city").sum("amount")) == \
        same([(None, 36), (None, 1), ("A", 30), ("B", 5)])


def test_grouping_errors(sales, F, errors):
    with pytest.raises(errors.AnalysisException) as info:
        sales.groupBy("city").agg(F.grouping("city"))
    assert info.value.getCondition() == "UNSUPPORTED_GROUPING_EXPRESSION"
    assert "grouping()/grouping_id() can only be used with GroupingSets/Cube/Rollup." \
        in str(info.value)
    with pytest.raises(errors.AnalysisException) as info:
        sales.rollup("city").agg(F.grouping("year"))
    assert info.value.getCondition() == "GROUPING_COLUMN_MISMATCH"
    with pytest.raises(errors.AnalysisException) as info:
        sales.cube("city", "year").agg(F.grouping_id("year", "city"))
    assert info.value.getCondition() == "GROUPING_ID_COLUMN_MISMATCH"


@pytest.mark.parametrize("group_by", [
    "ROLLUP(city, year)", "city, year WITH ROLLUP"])
def test_sql_rollup(spark, sales, group_by):
    df = spark.sql(f"SELECT city, year, sum(amount) FROM sales GROUP BY {group_by}")
    assert rows(df) == same(ROLLUP)


def test_sql_cube_with_grouping_and_grouping_id(spark, sales):
    df = spark.sql("SELECT city, year, sum(amount) AS s, grouping(city) g, grouping_id() gid "
                   "FROM sales GROUP BY CUBE(city, year)")
    assert df.schema.simpleString() == \
        "struct<city:string,year:int,s:bigint,g:tinyint,gid:bigint>"
    assert [f.nullable for f in df.schema.fields] == [True, True, True, False, False]
    assert rows(df) == same([
        (None, None, 1, 0, 1), (None, None, 36, 1, 3), (None, 2020, 16, 1, 2),
        (None, 2020, 1, 0, 0), (None, 2021, 20, 1, 2), ("A", None, 30, 0, 1),
        ("A", 2020, 10, 0, 0), ("A", 2021, 20, 0, 0), ("B", None, 5, 0, 1),
        ("B", 2020, 5, 0, 0), ("B", 2021, None, 0, 0)])


def test_sql_grouping_sets(spark, sales):
    df = spark.sql("SELECT city, year, count(*) FROM sales "
                   "GROUP BY GROUPING SETS ((city), (year), ())")
    assert rows(df) == same([(None, None, 1), (None, None, 5), (None, 2020, 3),
                             (None, 2021, 2), ("A", None, 2), ("B", None, 2)])
    assert "Expand [[city#N, null, 1], [null, year#N, 2], [null, null, 3]]" in plan_text(df)


@pytest.mark.parametrize("group_by", [
    "city, year GROUPING SETS ((city, year), (city))", "city, ROLLUP(year)"])
def test_sql_keys_crossed_with_sets(spark, sales, group_by):
    df = spark.sql(f"SELECT city, year, sum(amount) FROM sales GROUP BY {group_by}")
    assert rows(df) == same([(None, None, 1), (None, 2020, 1), ("A", None, 30),
                             ("A", 2020, 10), ("A", 2021, 20), ("B", None, 5), ("B", 2020, 5),
                             ("B", 2021, None)])


def test_sql_with_cube_having_grouping_and_expressions(spark, sales):
    assert rows(spark.sql("SELECT city, sum(amount) FROM sales GROUP BY city WITH CUBE")) == \
        same([(None, 36), (None, 1), ("A", 30), ("B", 5)])
    having = spark.sql("SELECT city, sum(amount) FROM sales GROUP BY ROLLUP(city) "
                       "HAVING grouping(city) = 0 ORDER BY city")
    assert [tuple(r) for r in having.collect()] == [(None, 1), ("A", 30), ("B", 5)]
    by_expr = spark.sql("SELECT year + 1 AS y, sum(amount) FROM sales "
                        "GROUP BY ROLLUP(year + 1) ORDER BY y")
    assert [tuple(r) for r in by_expr.collect()] == [(None, 36), (2021, 16), (2022, 20)]


def test_sql_a_grouping_set_twice_gives_its_rows_twice(spark, sales):
    df = spark.sql("SELECT city, count(*) FROM sales GROUP BY GROUPING SETS ((city), (city))")
    assert rows(df) == same([(None, 1), (None, 1), ("A", 2), ("A", 2), ("B", 2), ("B", 2)])


def test_sql_grouping_without_grouping_sets(spark, sales, errors):
    with pytest.raises(errors.AnalysisException, match="UNSUPPORTED_GROUPING_EXPRESSION"):
        spark.sql("SELECT city, grouping(city) FROM sales GROUP BY city")


def test_cube_of_three_keys_numbers_its_sets_as_spark_does(spark, F):
    df = spark.createDataFrame([("A", 2020, "x"), ("A", 2021, "y"), ("B", 2020, "x"),
                                ("B", 2021, "x"), (None, 2020, "y")],
                               "city string, year int, k string")
    ids = df.cube("city", "year", "k").agg(F.grouping_id().alias("g"), F.count("*"))
    assert ids.schema.simpleString() == \
        "struct<city:string,year:int,k:string,g:bigint,count(1):bigint>"
    assert sorted((tuple(r) for r in ids.collect()), key=lambda r: (r[3], repr(r))) == sorted([
        (None, 2020, "y", 0, 1), ("A", 2020, "x", 0, 1), ("A", 2021, "y", 0, 1),
        ("B", 2020, "x", 0, 1), ("B", 2021, "x", 0, 1), (None, 2020, None, 1, 1),
        ("A", 2020, None, 1, 1), ("A", 2021, None, 1, 1), ("B", 2020, None, 1, 1),
        ("B", 2021, None, 1, 1), (None, None, "y", 2, 1), ("A", None, "x", 2, 1),
        ("A", None, "y", 2, 1), ("B", None, "x", 2, 2), (None, None, None, 3, 1),
        ("A", None, None, 3, 2), ("B", None, None, 3, 2), (None, 2020, "x", 4, 2),
        (None, 2020, "y", 4, 1), (None, 2021, "x", 4, 1), (None, 2021, "y", 4, 1),
        (None, 2020, None, 5, 3), (None, 2021, None, 5, 2), (None, None, "x", 6, 3),
        (None, None, "y", 6, 2), (None, None, None, 7, 5)], key=lambda r: (r[3], repr(r)))


def test_rollup_with_a_distinct_count_and_a_filter_after(sales, F):
    df = sales.rollup("city").agg(F.countDistinct("year"), F.sum("amount"))
    assert df.columns == ["city", "count(DISTINCT year)", "sum(amount)"]
    assert rows(df) == same([(None, 2, 36), (None, 1, 1), ("A", 2, 30), ("B", 2, 5)])
    after = sales.rollup("city", "year").agg(F.sum("amount").alias("t")).where("city = 'A'")
    assert rows(after) == same([("A", None, 30), ("A", 2020, 10), ("A", 2021, 20)])


def test_sql_order_by_grouping_and_a_window_over_a_rollup(spark, sales):
    ordered = spark.sql("SELECT city, sum(amount) FROM sales GROUP BY ROLLUP(city) "
                        "ORDER BY grouping(city), city")
    assert [tuple(r) for r in ordered.collect()] == [(None, 1), ("A", 30), ("B", 5),
                                                     (None, 36)]
    ranked = spark.sql("SELECT city, sum(amount) s, rank() OVER (ORDER BY sum(amount) DESC) r "
                       "FROM sales GROUP BY ROLLUP(city) ORDER BY r")
    assert [tuple(r) for r in ranked.collect()] == [(None, 36, 1), ("A", 30, 2), ("B", 5, 3),
                                                    (None, 1, 4)]


def test_grouping_in_a_projection_is_an_analysis_error(sales, F, errors):
    with pytest.raises(errors.AnalysisException, match="UNSUPPORTED_GROUPING_EXPRESSION"):
        sales.select(F.grouping("city"))
