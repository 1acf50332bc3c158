"""Aggregations: ``groupBy().agg()``, the shortcuts, ``df.agg()`` and the aggregate
functions, with Spark's result types, default names and NULL handling.

Expected values and printed text were recorded from PySpark 4.3.0 (local[2]); run with
SPARKBOOK_TEST_ENGINE=pyspark to check every expectation against PySpark itself.
"""

from __future__ import annotations

import pytest
from printing import printed

SALES = [("Alice", 10), ("Bob", 5), ("Alice", 7), ("Carol", None), (None, 3)]


@pytest.fixture(scope="module")
def sales(spark):
    return spark.createDataFrame(SALES, ["Name", "Amount"])


def test_the_courses_total_per_name(sales, F):
    totals = sales.groupBy("Name").agg(F.sum("Amount").alias("TotalAmount"))
    assert totals.schema.simpleString() == "struct<Name:string,TotalAmount:bigint>"
    assert printed(totals.orderBy("Name").show) == (
        "+-----+-----------+\n"
        "| Name|TotalAmount|\n"
        "+-----+-----------+\n"
        "| NULL|          3|\n"
        "|Alice|         17|\n"
        "|  Bob|          5|\n"
        "|Carol|       NULL|\n"
        "+-----+-----------+\n"
        "\n")


def test_every_aggregate_function_by_its_spark_name_and_type(sales, F):
    a = sales.groupBy("Name").agg(
        F.sum("Amount"), F.avg("Amount"), F.count("*"), F.count("Amount"),
        F.countDistinct("Amount"), F.min("Amount"), F.max("Amount"), F.first("Amount"),
        F.last("Amount"), F.collect_list("Amount"), F.count(F.lit(1)), F.mean("Amount"))
    assert a.columns == ["Name", "sum(Amount)", "avg(Amount)", "count(1)", "count(Amount)",
                         "count(DISTINCT Amount)", "min(Amount)", "max(Amount)",
                         "first(Amount)", "last(Amount)", "collect_list(Amount)", "count(1)",
                         "avg(Amount)"]
    assert a.schema.simpleString() == (
        "struct<Name:string,sum(Amount):bigint,avg(Amount):double,count(1):bigint,"
        "count(Amount):bigint,count(DISTINCT Amount):bigint,min(Amount):bigint,"
        "max(Amount):bigint,first(Amount):bigint,last(Amount):bigint,"
        "collect_list(Amount):array<bigint>,count(1):bigint,avg(Amount):double>")
    rows = {r[0]: tuple(r[1:]) for r in a.collect()}
    assert rows == {
        None: (3, 3.0, 1, 1, 1, 3, 3, 3, 3, [3], 1, 3.0),
        "Alice": (17, 8.5, 2, 2, 2, 7, 10, 10, 7, [10, 7], 2, 8.5),
        "Bob": (5, 5.0, 1, 1, 1, 5, 5, 5, 5, [5], 1, 5.0),
        "Carol": (None, None, 1, 0, 0, None, None, None, None, [], 1, None),
    }


def test_collect_set_keeps_each_value_once_and_drops_nulls(spark, F):
    df = spark.createDataFrame([("a", 1), ("a", 1), ("a", 2), ("a", None), ("b", None)],
                               ["k", "v"])
    got = {r[0]: sorted(r[1]) for r in df.groupBy("k").agg(F.collect_set("v")).collect()}
    assert got == {"a": [1, 2], "b": []}
    assert df.groupBy("k").agg(F.collect_set("v")).columns == ["k", "collect_set(v)"]


def test_the_shortcuts_name_their_columns_as_spark(sales):
    assert sales.groupBy("Name").count().columns == ["Name", "count"]
    assert sales.groupBy("Name").sum("Amount").columns == ["Name", "sum(Amount)"]
    assert sales.groupBy("Name").avg().columns == ["Name", "avg(Amount)"]
    assert sales.groupBy().mean("Amount").columns == ["avg(Amount)"]
    counts = {r["Name"]: r["count"] for r in sales.groupBy("Name").count().collect()}
    assert counts == {"Alice": 2, "Bob": 1, "Carol": 1, None: 1}


def test_a_global_aggregate_is_one_row_even_over_no_rows(sales, F):
    assert printed(sales.agg(F.sum("Amount"), F.count("*")).show) == (
        "+-----------+--------+\n"
        "|sum(Amount)|count(1)|\n"
        "+-----------+--------+\n"
        "|         25|       5|\n"
        "+-----------+--------+\n"
        "\n")
    empty = sales.filter("Amount > 100")
    assert printed(empty.agg(F.sum("Amount"), F.count("*"), F.collect_list("Amount")).show) == (
        "+-----------+--------+--------------------+\n"
        "|sum(Amount)|count(1)|collect_list(Amount)|\n"
        "+-----------+--------+--------------------+\n"
        "|       NULL|       0|                  []|\n"
        "+-----------+--------+--------------------+\n"
        "\n")


def test_agg_of_a_dict_and_of_expressions_over_aggregates(sales, F):
    (row,) = sales.agg({"Amount": "max"}).collect()
    assert row.asDict() == {"max(Amount)": 10}
    (row,) = sales.agg((F.sum("Amount") * 2).alias("twice"), F.count("Name")).collect()
    assert tuple(row) == (50, 4)


def test_sum_of_bigints_overflows_as_in_ansi_mode(spark, F, errors):
    big = spark.createDataFrame([(9223372036854775807,), (1,)], ["v"])
    with pytest.raises(errors.ArithmeticException) as info:
        big.agg(F.sum("v")).collect()
    assert "[ARITHMETIC_OVERFLOW]" in str(info.value)


def test_group_by_many_keys_and_an_expression(spark, F):
    df = spark.range(0, 1000, 1, 4)
    got = df.groupBy((F.col("id") % 3).alias("m"), (F.col("id") % 2).alias("p")) \
        .agg(F.count("*").alias("n"), F.sum("id").alias("s")).orderBy("m", "p").collect()
    assert [tuple(r) for r in got] == [
        (0, 0, 167, 83166), (0, 1, 167, 83667), (1, 0, 166, 82834), (1, 1, 167, 83333),
        (2, 0, 167, 83500), (2, 1, 166, 83000)]


def test_distinct_and_drop_duplicates(sales, spark):
    dup = spark.createDataFrame([("a", 1), ("a", 1), ("a", 2), ("b", 1)], ["k", "v"])
    assert sorted(tuple(r) for r in dup.distinct().collect()) == [("a", 1), ("a", 2),
                                                                   ("b", 1)]
    assert dup.distinct().count() == 3
    kept = dup.dropDuplicates(["k"])
    assert kept.columns == ["k", "v"]
    assert sorted(r.k for r in kept.collect()) == ["a", "b"]


def test_first_and_last_may_skip_nulls(spark, F):
    rows = spark.sparkContext.parallelize([("a", None), ("a", 1), ("a", 2), ("a", None)], 1)
    df = spark.createDataFrame(rows, "k string, v bigint")
    (row,) = df.groupBy("k").agg(F.first("v", ignorenulls=True),
                                             F.last("v", ignorenulls=True)).collect()
    assert tuple(row) == ("a", 1, 2)


def test_an_overflow_in_the_map_stage_of_a_grouped_sum_is_the_sql_error(spark, F, errors):
    rows = spark.sparkContext.parallelize([("a", 9223372036854775807), ("a", 1)], 1)
    big = spark.createDataFrame(rows, "k string, v bigint")  # one task: the partial overflows
    with pytest.raises(errors.ArithmeticException) as info:
        big.groupBy("k").agg(F.sum("v")).collect()
    assert "[ARITHMETIC_OVERFLOW]" in str(info.value)


def test_a_sum_that_overflows_only_once_the_partials_are_merged_is_the_sql_error(spark, F,
                                                                               errors):
    # Neither task's rows can overflow (one value of 2**62 each); their sum does.
    rows = spark.sparkContext.parallelize([("a", 2**62), ("a", 2**62)], 2)
    big = spark.createDataFrame(rows, "k string, v bigint")
    for query in (big.groupBy("k").agg(F.sum("v")), big.agg(F.sum("v"))):
        with pytest.raises(errors.ArithmeticException) as info:
            query.collect()
        assert "[ARITHMETIC_OVERFLOW]" in str(info.value)
    (row,) = big.groupBy("k").agg(F.sum(F.col("v") - 2**62 + 5)).collect()
    assert row[1] == 10


def test_a_global_aggregate_of_every_kind_over_rows_and_over_none(spark, F):
    rows = spark.sparkContext.parallelize([(None, 1.5, "a"), (2, None, None), (3, 2.5, "c")], 1)
    df = spark.createDataFrame(rows, "a bigint, b double, s string")
    aggs = [F.count("*"), F.count("a"), F.sum("a"), F.avg("b"), F.min("s"), F.max("b"),
            F.first("a"), F.first("a", ignorenulls=True), F.last("s"),
            F.last("a", ignorenulls=True), F.collect_list("a"), F.countDistinct("s")]
    assert tuple(df.agg(*aggs).first()) == (3, 2, 5, 2.0, "a", 2.5, None, 2, "c", 3, [2, 3], 2)
    assert tuple(df.filter("a > 9").agg(*aggs).first()) == (
        0, 0, None, None, None, None, None, None, None, None, [], 0)


def test_a_grouped_aggregate_straight_over_parquet_files(spark, F, errors, tmp_path):
    # Integer keys and values straight from the files: sparkbook's scan and partial
    # aggregate in one (by DuckDB); NULL keys are a group, NULL values are skipped.
    rows = [(i % 3 if i % 5 else None, i if i % 4 else None, i % 7) for i in range(40)]
    out = str(tmp_path / "pq")
    spark.createDataFrame(rows, "k bigint, v bigint, s int").repartition(3).write.parquet(out)
    got = spark.read.parquet(out).groupBy("k").agg(
        F.sum("v"), F.count("*"), F.count("v"), F.min("v"), F.max("s"), F.sum("s")).collect()
    want = []
    for k in (None, 0, 1, 2):
        group = [(v, s) for key, v, s in rows if key == k]
        vs = [v for v, _ in group if v is not None]
        want.append((k, sum(vs), len(group), len(vs), min(vs), max(s for _, s in group),
                     sum(s for _, s in group)))
    assert sorted(map(tuple, got), key=str) == sorted(want, key=str)
    # The same files read as another type (int as bigint): cast as they are read.
    wide = spark.read.schema("k bigint, v bigint, s bigint").parquet(out)
    assert sorted(map(tuple, wide.groupBy("k").agg(F.max("s")).collect()), key=str) == \
        sorted([(k, m) for k, *_, m, _ in want], key=str)
    # Files in k=v folders, whose partition column is not read.
    folders = str(tmp_path / "folders")
    spark.createDataFrame(rows, "k bigint, v bigint, s int").write.partitionBy("s") \
        .parquet(folders)
    assert sorted(map(tuple, spark.read.parquet(folders).groupBy("k").agg(F.sum("v"))
                      .collect()), key=str) == sorted([w[:2] for w in want], key=str)
    big = str(tmp_path / "big")
    spark.createDataFrame([(1, 2**62), (1, 2**62)], "k bigint, v bigint").coalesce(1) \
        .write.parquet(big)
    with pytest.raises(errors.ArithmeticException) as info:
        spark.read.parquet(big).groupBy("k").agg(F.sum("v")).collect()
    assert "[ARITHMETIC_OVERFLOW]" in str(info.value)


@pytest.mark.sparkbook_only
def test_the_one_pass_partial_kernel_agrees_with_the_group_id_kernel():
    import datetime

    import pyarrow as pa

    from sparkbook.sql.execution import aggregate as agg

    n = 60
    keys = [pa.array([None if i % 7 == 0 else i % 5 for i in range(n)]),
            pa.array([None if i % 11 == 0 else f"s{i % 3}" for i in range(n)]),
            pa.array([[0.0, -0.0, float("nan"), None, 2.5][i % 5] for i in range(n)]),
            pa.array([i % 2 == 0 for i in range(n)]),
            pa.array([datetime.date(2026, 1, 1 + i % 4) for i in range(n)])]
    values = pa.array([None if i % 4 == 0 else i for i in range(n)])
    specs = [(values, how) for how in ("sum", "count", "min", "max", "first", "last",
                                       "first_valid", "last_valid")]
    specs += [(pa.nulls(n), "count_all"), (pa.nulls(n), "count_all")]
    for chosen in ([0], [1], [2], [3], [4], [0, 1], [1, 3, 4]):
        cols = [keys[i] for i in chosen]
        group_keys, direct = agg.aggregate_by_keys(cols, specs)
        gids, by_id_keys, groups = agg.group_ids(cols, n)
        by_id = agg.aggregate_many(gids, groups, specs)

        def rows(ks, vs):
            return sorted((tuple(map(repr, r[:len(ks)])), r[len(ks):])
                          for r in zip(*[c.to_pylist() for c in ks + vs]))

        assert rows(group_keys, direct) == rows(by_id_keys, by_id), chosen
    assert agg.aggregate_by_keys(keys[:1], [(values, "list")]) is None


def test_a_global_first_and_last_skip_the_partitions_that_had_no_rows(spark, F):
    df = spark.createDataFrame([(1, "a"), (2, "b")], "i int, s string")
    for n in (3, 5, 8):
        row = df.repartition(n).agg(F.first("s").isNull(), F.last("s").isNull(),
                                    F.count("*")).collect()[0]
        assert tuple(row) == (False, False, 2), n
    empty = df.filter("i > 9").repartition(3).agg(F.count("*"), F.sum("i"), F.first("s"),
                                                  F.last("s"), F.max("i"))
    assert [tuple(r) for r in empty.collect()] == [(0, None, None, None, None)]


def test_nan_is_the_largest_double_for_max(spark, F):
    df = spark.createDataFrame([(1, 1.0), (1, float("nan")), (2, 2.0), (2, 3.0), (3, None)],
                               "g int, x double")
    grouped = sorted(tuple(r) for r in df.groupBy("g").agg(F.max("x"), F.min("x")).collect())
    assert str(grouped) == "[(1, nan, 1.0), (2, 3.0, 2.0), (3, None, None)]"
    assert str(df.repartition(3).agg(F.max("x")).collect()[0][0]) == "nan"


def test_count_distinct_of_several_columns_counts_rows_without_a_null(spark, F):
    df = spark.createDataFrame([(1, "a"), (1, "a"), (2, None), (2, "b"), (3, "b"), (None, "b")],
                               "g int, k string")
    row = df.agg(F.countDistinct("g", "k"), F.count_distinct("k")).collect()[0]
    assert df.agg(F.countDistinct("g", "k")).columns == ["count(DISTINCT g, k)"]
    assert tuple(row) == (3, 2)
    df.createOrReplaceTempView("pairs")
    try:
        text = "SELECT k, count(DISTINCT g, k) AS n FROM pairs GROUP BY k ORDER BY k"
        assert [tuple(r) for r in spark.sql(text).collect()] == [
            (None, 0), ("a", 1), ("b", 2)]
    finally:
        spark.catalog.dropTempView("pairs")
