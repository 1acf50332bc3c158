"""``DataFrame.intersectAll`` (and SQL's ``INTERSECT ALL``), ``DataFrame.summary`` and
``describe`` agreeing with it.

Expected values and printed text were recorded from PySpark 4.3.0 (local[1]); run with
SPARKBOOK_TEST_ENGINE=pyspark to check every expectation against PySpark itself.
"""

from __future__ import annotations

import pytest
from printing import printed


@pytest.fixture(scope="module")
def pair(spark):
    left = spark.createDataFrame([(1, "a"), (1, "a"), (1, "a"), (2, "b"), (None, None),
                                  (None, None)], "k int, v string")
    right = spark.createDataFrame([(1, "a"), (1, "a"), (None, None), (3, "c"), (2, "c")],
                                  "k int, v string")
    left.createOrReplaceTempView("d1")
    right.createOrReplaceTempView("d2")
    yield left, right
    spark.catalog.dropTempView("d1")
    spark.catalog.dropTempView("d2")


@pytest.fixture(scope="module")
def numbers(spark):
    return spark.createDataFrame(
        [(1, 2.5, "x", True), (5, None, "b", False), (3, -1.0, None, None),
         (None, 4.0, "aa", True), (2, 10.0, "z", False)],
        "i int, d double, s string, b boolean")


INTERSECTED = (
    "+----+----+\n"
    "|   k|   v|\n"
    "+----+----+\n"
    "|NULL|NULL|\n"
    "|   1|   a|\n"
    "|   1|   a|\n"
    "+----+----+\n\n")


def test_intersect_all_keeps_the_fewer_copies(pair):
    left, right = pair
    both = left.intersectAll(right)
    assert both.schema.simpleString() == "struct<k:int,v:string>"
    assert printed(both.orderBy("k").show) == INTERSECTED


def test_intersect_all_in_sql(spark, pair):
    both = spark.sql("SELECT * FROM d1 INTERSECT ALL SELECT * FROM d2 ORDER BY k")
    assert printed(both.show) == INTERSECTED


def test_intersect_all_is_planned_as_spark_rewrites_it(pair):
    left, right = pair
    text = printed(left.intersectAll(right).explain)
    for part in ("Generate replicaterows(min_count#", "Filter ((vcol1_count#",
                 "HashAggregate(keys=[k#", "functions=[count(vcol1#",
                 "Project [true AS vcol1#", ", null AS vcol2#"):
        assert part in text


def test_intersect_all_widens_types_and_checks_widths(spark, pair, errors):
    left, right = pair
    wide = left.select("k").intersectAll(spark.createDataFrame([(1.0,)], "x double"))
    assert wide.schema.simpleString() == "struct<k:double>"
    assert [tuple(r) for r in wide.collect()] == [(1.0,)]
    with pytest.raises(errors.AnalysisException) as info:
        left.intersectAll(right.select("k"))
    assert info.value.getCondition() == "NUM_COLUMNS_MISMATCH"
    assert "INTERSECT ALL can only be performed on inputs with the same number of columns, " \
           "but the first input has 2 columns and the second input has 1 columns." \
        in str(info.value)


def test_summary_by_default(numbers):
    assert printed(numbers.summary().show) == (
        "+-------+-----------------+-----------------+----+\n"
        "|summary|                i|                d|   s|\n"
        "+-------+-----------------+-----------------+----+\n"
        "|  count|                4|                4|   4|\n"
        "|   mean|             2.75|            3.875|NULL|\n"
        "| stddev|1.707825127659933|4.589389937671455|NULL|\n"
        "|    min|                1|             -1.0|  aa|\n"
        "|    25%|                1|             -1.0|NULL|\n"
        "|    50%|                2|              2.5|NULL|\n"
        "|    75%|                3|              4.0|NULL|\n"
        "|    max|                5|             10.0|   z|\n"
        "+-------+-----------------+-----------------+----+\n\n")


def test_summary_of_chosen_statistics_in_their_order(numbers):
    df = numbers.summary("count", "min", "25%", "75%", "max", "mean", "stddev", "33%",
                         "count_distinct", "approx_count_distinct")
    assert df.schema.simpleString() == "struct<summary:string,i:string,d:string,s:string>"
    assert [tuple(r) for r in df.collect()] == [
        ("count", "4", "4", "4"), ("min", "1", "-1.0", "aa"), ("25%", "1", "-1.0", None),
        ("75%", "3", "4.0", None), ("max", "5", "10.0", "z"), ("mean", "2.75", "3.875", None),
        ("stddev", "1.707825127659933", "4.589389937671455", None),
        ("33%", "2", "2.5", None), ("count_distinct", "4", "4", "4"),
        ("approx_count_distinct", "4", "4", "4")]


def test_summary_of_more_rows_and_of_none(spark, numbers):
    big = spark.range(0, 103).selectExpr("id", "cast(id * 7 % 13 as double) / 3 as x")
    assert [tuple(r) for r in big.summary().collect()] == [
        ("count", "103", "103"), ("mean", "51.0", "2.0"),
        ("stddev", "29.87752778706208", "1.2593874085761594"), ("min", "0", "0.0"),
        ("25%", "25", "1.0"), ("50%", "51", "2.0"), ("75%", "77", "3.0"),
        ("max", "102", "4.0")]
    empty = numbers.filter("i > 100").summary()
    assert [tuple(r) for r in empty.collect()] == [("count", "0", "0", "0")] + [
        (s, None, None, None) for s in ("mean", "stddev", "min", "25%", "50%", "75%", "max")]


def test_describe_is_summary_of_its_five_statistics(numbers):
    described = [tuple(r) for r in numbers.describe().collect()]
    assert described == [tuple(r) for r in numbers.summary(
        "count", "mean", "stddev", "min", "max").collect()]
    assert described[2] == ("stddev", "1.707825127659933", "4.589389937671455", None)


def test_summary_of_an_unknown_statistic(numbers, errors):
    with pytest.raises(errors.IllegalArgumentException) as info:
        numbers.summary("foo")
    assert info.value.getCondition() == "UNRECOGNIZED_STATISTIC"
    assert "The statistic 'foo' is not recognized." in str(info.value)


def test_summary_of_numeric_strings_longs_and_decimals(spark):
    import decimal

    df = spark.createDataFrame(
        [("1", 10, decimal.Decimal("1.25")), ("2.5", 20, decimal.Decimal("3.50")),
         ("x", 30, None), (None, 40, decimal.Decimal("0.10"))],
        "s string, l bigint, dec decimal(5,2)")
    # A string column's numbers are its values that read as doubles; a decimal's mean is
    # a decimal (scale + 4), its percentiles doubles.
    assert [tuple(r) for r in df.summary().collect()] == [
        ("count", "3", "4", "3"), ("mean", "1.75", "25.0", "1.616667"),
        ("stddev", "1.0606601717798212", "12.909944487358056", "1.7294025943467684"),
        ("min", "1", "10", "0.10"), ("25%", "1.0", "10", "0.1"), ("50%", "1.0", "20", "1.25"),
        ("75%", "2.5", "30", "3.5"), ("max", "x", "40", "3.50")]
    assert [tuple(r) for r in df.describe("s").collect()] == [
        ("count", "3"), ("mean", "1.75"), ("stddev", "1.0606601717798212"), ("min", "1"),
        ("max", "x")]
    assert [tuple(r) for r in df.summary("0%", "100%", "50.5%").collect()] == [
        ("0%", "1.0", "10", "0.1"), ("100%", "2.5", "40", "3.5"),
        ("50.5%", "2.5", "30", "1.25")]


def test_summary_of_one_row_and_of_no_such_columns(spark):
    one = spark.createDataFrame([(10,)], "l bigint")
    assert [tuple(r) for r in one.summary("stddev", "mean").collect()] == [
        ("stddev", None), ("mean", "10.0")]
    flags = spark.createDataFrame([(True,)], "b boolean").summary()
    assert flags.columns == ["summary"]
    assert [r[0] for r in flags.collect()] == ["count", "mean", "stddev", "min", "25%",
                                               "50%", "75%", "max"]
