"""Missing values (``na.fill``, ``na.drop``), ``replace``, caching a DataFrame's batches,
iterating its rows locally, and ``toPandas`` without pandas.

Expected values were recorded from PySpark 4.3.0 (local[2]); run with
SPARKBOOK_TEST_ENGINE=pyspark to check every expectation against PySpark itself.
"""

from __future__ import annotations

import importlib.util

import pytest


@pytest.fixture(scope="module")
def holes(spark):
    return spark.createDataFrame([("a", 1, 1.5, True), ("b", None, None, None),
                                  (None, 3, None, False)], "k string, n int, d double, b boolean")


def rows(df) -> list[tuple]:
    return [tuple(r) for r in df.collect()]


def test_fill_takes_values_of_each_columns_kind(holes):
    assert rows(holes.na.fill(0)) == [("a", 1, 1.5, True), ("b", 0, 0.0, None),
                                      (None, 3, 0.0, False)]
    assert rows(holes.na.fill("z")) == [("a", 1, 1.5, True), ("b", None, None, None),
                                        ("z", 3, None, False)]
    assert rows(holes.fillna({"n": 9, "b": True})) == [("a", 1, 1.5, True),
                                                       ("b", 9, None, True),
                                                       (None, 3, None, False)]
    assert holes.na.fill(0).dtypes == holes.dtypes


def test_drop_any_all_thresh_and_subset(holes):
    assert rows(holes.na.drop()) == [("a", 1, 1.5, True)]
    assert rows(holes.dropna(how="all", subset=["n", "d"])) == [("a", 1, 1.5, True),
                                                                (None, 3, None, False)]
    assert rows(holes.na.drop(thresh=3)) == [("a", 1, 1.5, True)]


def test_cache_keeps_the_rows_and_unpersist_forgets(holes):
    cached = holes.filter("n > 0").cache()
    assert cached.is_cached
    assert cached.count() == cached.count() == 2
    assert [r.n for r in cached.toLocalIterator()] == [1, 3]
    cached.unpersist()
    assert not cached.is_cached
    assert cached.count() == 2


@pytest.mark.skipif(importlib.util.find_spec("pandas") is not None, reason="pandas installed")
def test_to_pandas_without_pandas_says_what_to_install(holes, errors):
    with pytest.raises(ImportError) as info:
        holes.toPandas()
    assert "Pandas >= 2.2.0 must be installed" in str(info.value)


def test_describe_summarises_numbers_and_strings_as_text(spark):
    df = spark.createDataFrame([("a", 1, 1.5, True), ("b", None, None, None),
                                (None, 3, 2.0, False), ("c", 4, None, True)],
                               "k string, n int, d double, b boolean")
    summary = df.describe()
    assert summary.dtypes == [("summary", "string"), ("k", "string"), ("n", "string"),
                              ("d", "string")]
    got = {r.summary: tuple(r)[1:] for r in summary.collect()}
    assert got["count"] == ("3", "3", "2")
    assert got["mean"] == (None, "2.6666666666666665", "1.75")
    assert got["min"] == ("a", "1", "1.5") and got["max"] == ("c", "4", "2.0")
    # Spark's stddev is updated row by row; sparkbook's, from whole columns, may differ in
    # the last digits.
    assert got["stddev"][0] is None and got["stddev"][2] == "0.3535533905932738"
    assert float(got["stddev"][1]) == pytest.approx(1.5275252316519468, rel=1e-14)
    single = {r.summary: r.x for r in spark.range(1).selectExpr("1 AS x").describe().collect()}
    assert single == {"count": "1", "mean": "1.0", "stddev": None, "min": "1", "max": "1"}


def test_replace_swaps_values_in_the_columns_of_their_kind(spark, errors):
    df = spark.createDataFrame([("Alice", 10, 1.5, True), ("Bob", 5, None, False),
                                (None, 10, 2.0, None)], "name string, n int, x double, b boolean")

    def rows(frame):
        assert frame.dtypes == df.dtypes
        return [tuple(r) for r in frame.collect()]

    assert rows(df.replace("Alice", "Al")) == [("Al", 10, 1.5, True), ("Bob", 5, None, False),
                                               (None, 10, 2.0, None)]
    assert rows(df.replace(10, 7.9)) == [("Alice", 7, 1.5, True), ("Bob", 5, None, False),
                                         (None, 7, 2.0, None)]
    assert rows(df.replace({"Alice": "A", "Bob": None})) == [
        ("A", 10, 1.5, True), (None, 5, None, False), (None, 10, 2.0, None)]
    assert rows(df.replace([5, 10], 0, "n")) == [("Alice", 0, 1.5, True), ("Bob", 0, None, False),
                                                 (None, 0, 2.0, None)]
    assert rows(df.na.replace(True, False)) == [("Alice", 10, 1.5, False),
                                                ("Bob", 5, None, False), (None, 10, 2.0, None)]
    with pytest.raises(errors.PySparkValueError) as info:
        df.replace(["Alice", 10], ["A", 1])
    assert info.value.getCondition() == "MIXED_TYPE_REPLACEMENT"
