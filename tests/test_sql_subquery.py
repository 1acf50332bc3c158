"""Subqueries in ``spark.sql``: scalar subqueries (run as their own job first, then read
as a literal), ``IN``/``NOT IN``/``EXISTS``/``NOT EXISTS`` as left semi and anti joins
(uncorrelated ``EXISTS`` as a scalar subquery of one row), equality-correlated ``EXISTS`` and
``IN``, and the errors PySpark raises for a subquery of the wrong shape.

Expected values were recorded from PySpark 4.3.0 (local[1]); run with
SPARKBOOK_TEST_ENGINE=pyspark to check every expectation against PySpark itself.
"""

from __future__ import annotations

import re

import pytest


@pytest.fixture(scope="module")
def views(spark):
    spark.createDataFrame([(1, "x"), (2, "y"), (3, None), (None, "z"), (4, "w")],
                          "a int, s string").createOrReplaceTempView("t1")
    spark.createDataFrame([(2, "p"), (3, "q"), (3, "r"), (None, "s"), (5, "t")],
                          "b int, c string").createOrReplaceTempView("t2")
    yield
    spark.catalog.dropTempView("t1")
    spark.catalog.dropTempView("t2")


def rows(df) -> list[tuple]:
    return [tuple(r) for r in df.collect()]


@pytest.mark.parametrize("text, expected", [
    ("SELECT a, (SELECT max(b) FROM t2) AS m FROM t1 ORDER BY a",
     [(None, 5), (1, 5), (2, 5), (3, 5), (4, 5)]),
    ("SELECT a FROM t1 WHERE a < (SELECT avg(b) FROM t2) ORDER BY a", [(1,), (2,), (3,)]),
    ("SELECT a, (SELECT b FROM t2 WHERE b > 100) AS m FROM t1 WHERE a = 1", [(1, None)]),
    ("SELECT s, count(*) FROM t1 GROUP BY s HAVING count(*) >= "
     "(SELECT count(*) FROM t2 WHERE b = 2) ORDER BY s",
     [(None, 1), ("w", 1), ("x", 1), ("y", 1), ("z", 1)]),
])
def test_scalar_subqueries(spark, views, text, expected):
    assert rows(spark.sql(text)) == expected


def test_a_scalar_subquery_is_named_and_typed_as_spark_names_it(spark, views):
    df = spark.sql("SELECT a, (SELECT max(b) FROM t2), (SELECT max(b) FROM t2) + 1 FROM t1 "
                   "WHERE a = 1")
    assert df.schema.simpleString() == \
        "struct<a:int,scalarsubquery():int,(scalarsubquery() + 1):int>"
    assert [f.nullable for f in df.schema.fields] == [True, True, True]
    assert rows(df) == [(1, 5, 6)]


def test_a_scalar_subquery_of_many_rows_fails_when_it_runs(spark, views):
    df = spark.sql("SELECT a, (SELECT b FROM t2) AS m FROM t1")
    assert df.columns == ["a", "m"]
    with pytest.raises(Exception, match=r"\[SCALAR_SUBQUERY_TOO_MANY_ROWS\] More than one "
                                        r"row returned by a subquery used as an expression"):
        df.collect()


def test_a_scalar_subquery_of_two_columns_is_an_analysis_error(spark, views, errors):
    with pytest.raises(errors.AnalysisException) as info:
        spark.sql("SELECT a, (SELECT b, c FROM t2) AS m FROM t1")
    assert info.value.getCondition() == \
        "INVALID_SUBQUERY_EXPRESSION.SCALAR_SUBQUERY_RETURN_MORE_THAN_ONE_OUTPUT_COLUMN"
    assert "Scalar subquery must return only one column, but got 2." in str(info.value)


@pytest.mark.parametrize("text, expected", [
    ("SELECT a, s FROM t1 WHERE a IN (SELECT b FROM t2) ORDER BY a", [(2, "y"), (3, None)]),
    ("SELECT a FROM t1 WHERE a > 2 AND a IN (SELECT b FROM t2)", [(3,)]),
    ("SELECT a FROM t1 WHERE a NOT IN (SELECT b FROM t2)", []),  # t2 holds a NULL
    ("SELECT a FROM t1 WHERE a NOT IN (SELECT b FROM t2 WHERE b IS NOT NULL) ORDER BY a",
     [(1,), (4,)]),
    ("SELECT a FROM t1 WHERE NOT a IN (SELECT b FROM t2 WHERE b IS NOT NULL) ORDER BY a",
     [(1,), (4,)]),
    ("SELECT a FROM t1 WHERE EXISTS (SELECT 1 FROM t2 WHERE b > 4) ORDER BY a",
     [(None,), (1,), (2,), (3,), (4,)]),
    ("SELECT a FROM t1 WHERE EXISTS (SELECT 1 FROM t2 WHERE b > 40)", []),
    ("SELECT a FROM t1 WHERE NOT EXISTS (SELECT 1 FROM t2 WHERE b > 40) ORDER BY a",
     [(None,), (1,), (2,), (3,), (4,)]),
])
def test_in_and_exists_subqueries(spark, views, text, expected):
    assert rows(spark.sql(text)) == expected


@pytest.mark.parametrize("text, expected", [
    ("SELECT a FROM t1 WHERE EXISTS (SELECT 1 FROM t2 WHERE t2.b = t1.a) ORDER BY a",
     [(2,), (3,)]),
    ("SELECT a FROM t1 WHERE NOT EXISTS (SELECT * FROM t2 WHERE t2.b = t1.a) ORDER BY a",
     [(None,), (1,), (4,)]),
    ("SELECT a FROM t1 WHERE EXISTS (SELECT 1 FROM t2 WHERE b = a AND c > 'p') ORDER BY a",
     [(3,)]),
    ("SELECT a FROM t1 WHERE a IN (SELECT b FROM t2 WHERE t2.c < t1.s) ORDER BY a", [(2,)]),
    ("SELECT a FROM t1 x WHERE a IN (SELECT b FROM t2 WHERE t2.b = x.a) ORDER BY a",
     [(2,), (3,)]),
])
def test_correlated_exists_and_in(spark, views, text, expected):
    assert rows(spark.sql(text)) == expected


def test_in_a_subquery_of_the_same_table(spark, views):
    text = "SELECT a FROM t1 WHERE a IN (SELECT a + 1 AS a FROM t1) ORDER BY a"
    assert rows(spark.sql(text)) == [(2,), (3,), (4,)]


@pytest.mark.sparkbook_only
def test_in_and_exists_plan_as_semi_and_anti_joins(spark, views):
    semi = spark.sql("SELECT a FROM t1 WHERE EXISTS (SELECT 1 FROM t2 WHERE t2.b = t1.a)")
    assert "LeftSemi" in semi._plan.tree_string()
    anti = spark.sql("SELECT a FROM t1 WHERE a NOT IN (SELECT b FROM t2)")
    assert "Join LeftAnti, ((a#" in anti._plan.tree_string()


def test_in_with_two_columns_is_an_analysis_error(spark, views, errors):
    with pytest.raises(errors.AnalysisException) as info:
        spark.sql("SELECT a FROM t1 WHERE a IN (SELECT b, c FROM t2)")
    assert info.value.getCondition() == "DATATYPE_MISMATCH.IN_SUBQUERY_LENGTH_MISMATCH"
    assert 'Left hand side columns(length: 1): ["a"], right hand side columns(length: 2): ' \
           '["b", "c"].' in str(info.value)


def test_in_a_string_against_numbers_casts_as_spark_does(spark, views, errors):
    with pytest.raises(errors.NumberFormatException, match="CAST_INVALID_INPUT"):
        spark.sql("SELECT a FROM t1 WHERE s IN (SELECT b FROM t2) ORDER BY a").collect()


@pytest.mark.parametrize("text, expected", [
    ("SELECT a, (SELECT max(c) FROM t2 WHERE t2.b = t1.a) AS m FROM t1 ORDER BY a",
     [(None, None), (1, None), (2, "p"), (3, "r"), (4, None)]),
    ("SELECT a FROM t1 WHERE s > (SELECT min(c) FROM t2 WHERE t2.b = t1.a) ORDER BY a",
     [(2,)]),
    # No matching row is an aggregate over no rows: count 0, not NULL.
    ("SELECT a, (SELECT count(*) FROM t2 WHERE t2.b = t1.a) AS n FROM t1 ORDER BY a",
     [(None, 0), (1, 0), (2, 1), (3, 2), (4, 0)]),
    ("SELECT a, (SELECT count(*) + 1 FROM t2 WHERE t2.b = t1.a) AS n FROM t1 ORDER BY a",
     [(None, 1), (1, 1), (2, 2), (3, 3), (4, 1)]),
    ("SELECT a, (SELECT count(c) * 2 + 1 FROM t2 WHERE t2.b = t1.a) AS n, "
     "(SELECT sum(b) FROM t2 WHERE t2.b = t1.a) AS m FROM t1 ORDER BY a",
     [(None, 1, None), (1, 1, None), (2, 3, 2), (3, 5, 6), (4, 1, None)]),
    ("SELECT a FROM t1 WHERE (SELECT count(*) FROM t2 WHERE t2.b = t1.a) = 0 ORDER BY a",
     [(None,), (1,), (4,)]),
])
def test_correlated_scalar_subqueries(spark, views, text, expected):
    assert rows(spark.sql(text)) == expected


def test_a_correlated_scalar_subquery_is_named_for_its_outer_columns(spark, views):
    df = spark.sql("SELECT a, (SELECT max(c) FROM t2 WHERE t2.b = t1.a) FROM t1 ORDER BY a")
    assert df.schema.simpleString() == "struct<a:int,scalarsubquery(a):string>"
    count = spark.sql("SELECT (SELECT count(*) FROM t2 WHERE t2.b = t1.a) AS n FROM t1")
    assert count.schema.fields[0].nullable


@pytest.mark.parametrize("text, expected", [
    ("SELECT a, EXISTS (SELECT 1 FROM t2 WHERE b > 4) AS e FROM t1 ORDER BY a",
     [(None, True), (1, True), (2, True), (3, True), (4, True)]),
    ("SELECT a FROM t1 WHERE a = 1 OR EXISTS (SELECT 1 FROM t2 WHERE b > 40) ORDER BY a",
     [(1,)]),
    ("SELECT a FROM t1 WHERE a IN (SELECT b FROM t2) OR s = 'w' ORDER BY a",
     [(2,), (3,), (4,)]),
    ("SELECT a, a IN (SELECT b FROM t2) AS i FROM t1 ORDER BY a",
     [(None, False), (1, False), (2, True), (3, True), (4, False)]),
])
def test_exists_and_in_as_values(spark, views, text, expected):
    assert rows(spark.sql(text)) == expected


@pytest.mark.parametrize("text, expected", [
    ("SELECT a, EXISTS (SELECT 1 FROM t2 WHERE t2.b = t1.a) AS e FROM t1 ORDER BY a",
     [(None, False), (1, False), (2, True), (3, True), (4, False)]),
    ("SELECT a FROM t1 WHERE s = 'w' OR EXISTS (SELECT 1 FROM t2 WHERE t2.b = t1.a) "
     "ORDER BY a", [(2,), (3,), (4,)]),
    # Under NOT, IN is null-aware: t2 holds a NULL, so no value is known to be absent.
    ("SELECT a FROM t1 WHERE NOT (a IN (SELECT b FROM t2) OR s = 'w') ORDER BY a", []),
    ("SELECT a FROM t1 WHERE NOT (a IN (SELECT b FROM t2 WHERE b IS NOT NULL) OR s = 'w') "
     "ORDER BY a", [(1,)]),
])
def test_correlated_exists_and_null_aware_in_as_values(spark, views, text, expected):
    assert rows(spark.sql(text)) == expected


def test_exists_and_in_values_are_named_and_typed_as_spark_does(spark, views):
    df = spark.sql("SELECT EXISTS (SELECT 1 FROM t2 WHERE t2.b = t1.a) AS e, "
                   "a IN (SELECT b FROM t2) FROM t1")
    assert df.columns == ["e", "(a IN (listquery()))"]
    assert [f.nullable for f in df.schema.fields] == [False, True]


@pytest.fixture(scope="module")
def frames(spark):
    t1 = spark.createDataFrame([(1, "x"), (2, "y"), (3, None), (None, "z"), (4, "w")],
                               "a int, s string")
    t2 = spark.createDataFrame([(2, "p"), (3, "q"), (3, "r"), (None, "s"), (5, "t")],
                               "b int, c string")
    return t1, t2


def test_a_select_of_aggregates_aggregates_all_rows(frames, F):
    _, t2 = frames
    assert rows(t2.select(F.avg("b"), F.count("*"))) == [(3.25, 5)]


def test_dataframe_scalar_subqueries(frames, F):
    t1, t2 = frames
    below = t1.where(F.col("a") < t2.select(F.avg("b")).scalar()).orderBy("a")
    assert rows(below) == [(1, "x"), (2, "y"), (3, None)]
    df = t1.select("a", t2.select(F.max("b")).scalar(),
                   (t2.select(F.max("b")).scalar() + 1).alias("m")).orderBy("a")
    assert df.schema.simpleString() == "struct<a:int,scalarsubquery():int,m:int>"
    assert rows(df) == [(None, 5, 6), (1, 5, 6), (2, 5, 6), (3, 5, 6), (4, 5, 6)]


def test_dataframe_exists(frames):
    t1, t2 = frames
    assert len(rows(t1.where(t2.where("b > 4").exists()))) == 5
    assert len(rows(t1.where(~t2.where("b > 40").exists()))) == 5
    flags = t1.select("a", t2.where("b > 40").exists())
    assert flags.schema.simpleString() == "struct<a:int,exists():boolean>"
    assert [f.nullable for f in flags.schema.fields] == [True, False]
    assert {r[1] for r in flags.collect()} == {False}


def test_dataframe_scalar_errors(frames, errors):
    t1, t2 = frames
    with pytest.raises(errors.AnalysisException) as info:
        t1.select(t2.scalar())
    assert info.value.getCondition() == \
        "INVALID_SUBQUERY_EXPRESSION.SCALAR_SUBQUERY_RETURN_MORE_THAN_ONE_OUTPUT_COLUMN"
    many = t1.select(t2.select("b").scalar())
    with pytest.raises(Exception, match="SCALAR_SUBQUERY_TOO_MANY_ROWS"):
        many.collect()


def plan_text(df) -> str:
    from printing import printed

    text = re.sub(r"(#|plan_id=)\d+", r"\1N", printed(df.explain))
    return re.sub(r"\*\(\d\) ", "", text)  # sparkbook marks stages, Spark's AQE plan does not


def test_explain_prints_a_scalar_subquerys_plan_below_its_operator(spark, views):
    df = spark.sql("SELECT a, (SELECT max(b) FROM t2) AS m FROM t1 ORDER BY a")
    assert plan_text(df) == (
        "== Physical Plan ==\n"
        "AdaptiveSparkPlan isFinalPlan=false\n"
        "+- Sort [a#N ASC NULLS FIRST], true, 0\n"
        "   +- Exchange rangepartitioning(a#N ASC NULLS FIRST, 200), ENSURE_REQUIREMENTS, "
        "[plan_id=N]\n"
        "      +- Project [a#N, Subquery subquery#N, [id=#N] AS m#N]\n"
        "         :  +- Subquery subquery#N, [id=#N]\n"
        "         :     +- AdaptiveSparkPlan isFinalPlan=false\n"
        "         :        +- HashAggregate(keys=[], functions=[max(b#N)])\n"
        "         :           +- Exchange SinglePartition, ENSURE_REQUIREMENTS, [plan_id=N]\n"
        "         :              +- HashAggregate(keys=[], functions=[partial_max(b#N)])\n"
        "         :                 +- Project [b#N]\n"
        "         :                    +- Scan ExistingRDD[b#N,c#N]\n"
        "         +- Scan ExistingRDD[a#N,s#N]\n"
        "\n\n")


def test_explain_of_an_uncorrelated_exists(spark, views):
    df = spark.sql("SELECT a FROM t1 WHERE EXISTS (SELECT 1 FROM t2 WHERE b > 4) ORDER BY a")
    assert (
        "      +- Project [a#N]\n"
        "         +- Filter isnotnull(Subquery subquery#N, [id=#N])\n"
        "            :  +- Subquery subquery#N, [id=#N]\n"
        "            :     +- AdaptiveSparkPlan isFinalPlan=false\n"
        "            :        +- CollectLimit 1\n"
        "            :           +- Project [1 AS col#N]\n"
        "            :              +- Filter (isnotnull(b#N) AND (b#N > 4))\n"
        "            :                 +- Scan ExistingRDD[b#N,c#N]\n"
        "            +- Scan ExistingRDD[a#N,s#N]\n") in plan_text(df)


def test_a_column_outside_the_aggregate_is_an_analysis_error(spark, frames, views, F, errors):
    _, t2 = frames
    with pytest.raises(errors.AnalysisException) as info:
        t2.select("c", F.max("b"))
    assert info.value.getCondition() == "MISSING_GROUP_BY"
    assert "The query does not include a GROUP BY clause." in str(info.value)
    with pytest.raises(errors.AnalysisException, match="MISSING_GROUP_BY"):
        spark.sql("SELECT c, max(b) FROM t2")
    with pytest.raises(errors.AnalysisException) as info:
        spark.sql("SELECT c, max(b) FROM t2 GROUP BY b")
    assert info.value.getCondition() == "MISSING_AGGREGATION"
    assert 'The non-aggregating expression "c" is based on columns which are not ' \
           'participating in the GROUP BY clause.' in str(info.value)


@pytest.mark.parametrize("text, expected", [
    ("SELECT s, count(*) FROM t1 GROUP BY s HAVING s IN (SELECT c FROM t2) OR s = 'w' "
     "ORDER BY s", [("w", 1)]),
    ("SELECT b, count(*) FROM t2 GROUP BY b HAVING b IN (SELECT a FROM t1) ORDER BY b",
     [(2, 1), (3, 2)]),
    ("SELECT b, count(*) AS n FROM t2 GROUP BY b HAVING count(*) IN "
     "(SELECT a FROM t1 WHERE a > 1) ORDER BY b", [(3, 2)]),
    ("SELECT b, count(*) AS n FROM t2 GROUP BY b HAVING NOT EXISTS "
     "(SELECT 1 FROM t1 WHERE t1.a = t2.b) ORDER BY b", [(None, 1), (5, 1)]),
])
def test_subqueries_in_having(spark, views, text, expected):
    assert rows(spark.sql(text)) == expected


@pytest.mark.parametrize("text, expected", [
    ("SELECT id FROM staff WHERE id NOT IN (SELECT boss FROM staff WHERE boss IS NOT NULL) "
     "ORDER BY id", [(2,), (3,)]),
    ("SELECT id FROM staff e WHERE EXISTS (SELECT 1 FROM staff m WHERE m.boss = e.id)",
     [(1,)]),
    ("SELECT name, (SELECT count(*) FROM staff m WHERE m.boss = e.id) AS n FROM staff e "
     "ORDER BY name", [("a", 2), ("b", 0), ("c", 0)]),
])
def test_subqueries_over_the_outer_querys_own_table(spark, text, expected):
    spark.createDataFrame([(1, "a", None), (2, "b", 1), (3, "c", 1)],
                          "id int, name string, boss int").createOrReplaceTempView("staff")
    try:
        assert rows(spark.sql(text)) == expected
    finally:
        spark.catalog.dropTempView("staff")
