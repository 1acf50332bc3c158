"""Window functions: ``Window.partitionBy().orderBy().rowsBetween()/rangeBetween()``,
``Column.over``, the ranking, offset and aggregate functions over windows with Spark's
default frames, their names, the same window as SQL text, the plan (an exchange by the
partition keys, a sort within each partition, the Window), and the errors PySpark raises.

Expected values and printed text were recorded from PySpark 4.3.0 (local[2]); run with
SPARKBOOK_TEST_ENGINE=pyspark to check every expectation against PySpark itself.
"""

from __future__ import annotations

import importlib
import random
import re

import pytest
from printing import printed

PAYMENTS = [("Alice", "2024-01-01 10:00:00", 10), ("Alice", "2024-01-01 11:00:00", 7),
            ("Bob", "2024-01-01 09:00:00", 5), ("Alice", "2024-01-01 12:00:00", 3),
            ("Bob", "2024-01-01 09:30:00", None)]


@pytest.fixture(scope="module")
def W(engine):
    return importlib.import_module(f"{engine}.sql").Window


@pytest.fixture(scope="module")
def payments(spark):
    return spark.createDataFrame(PAYMENTS, ["name", "time", "amount"])


def plan_text(df) -> str:
    """``explain()`` without ids, sparkbook's ``*(n)`` stage marks and the blank lines."""
    text = re.sub(r"\*\(\d+\) ", "", re.sub(r"(#|plan_id=)\d+", r"\1N", printed(df.explain)))
    return text.rstrip("\n") + "\n"


def rows(df) -> list[tuple]:
    return [tuple(r) for r in df.collect()]


def raised(kind, action):
    with pytest.raises(kind) as info:
        action()
    return info.value


def test_the_course_example_previous_amount_and_running_total(payments, F, W):
    w = W.partitionBy("name").orderBy("ts")
    df = (payments.withColumn("ts", F.col("time").cast("timestamp"))
          .withColumn("prev", F.lag("amount").over(w))
          .withColumn("running", F.sum("amount").over(w)))
    assert printed(df.orderBy("name", "ts").show) == (
        "+-----+-------------------+------+-------------------+----+-------+\n"
        "| name|               time|amount|                 ts|prev|running|\n"
        "+-----+-------------------+------+-------------------+----+-------+\n"
        "|Alice|2024-01-01 10:00:00|    10|2024-01-01 10:00:00|NULL|     10|\n"
        "|Alice|2024-01-01 11:00:00|     7|2024-01-01 11:00:00|  10|     17|\n"
        "|Alice|2024-01-01 12:00:00|     3|2024-01-01 12:00:00|   7|     20|\n"
        "|  Bob|2024-01-01 09:00:00|     5|2024-01-01 09:00:00|NULL|      5|\n"
        "|  Bob|2024-01-01 09:30:00|  NULL|2024-01-01 09:30:00|   5|      5|\n"
        "+-----+-------------------+------+-------------------+----+-------+\n\n")
    # Both windows share a partitioning and an order: one exchange, one sort, one Window.
    assert plan_text(df) == (
        "== Physical Plan ==\n"
        "AdaptiveSparkPlan isFinalPlan=false\n"
        "+- Window [lag(amount#NL, -1, null) windowspecdefinition(name#N, ts#N ASC NULLS FIRST, "
        "specifiedwindowframe(RowFrame, -1, -1)) AS prev#NL, sum(amount#NL) "
        "windowspecdefinition(name#N, ts#N ASC NULLS FIRST, specifiedwindowframe(RangeFrame, "
        "unboundedpreceding$(), currentrow$())) AS running#NL], [name#N], [ts#N ASC NULLS FIRST]\n"
        "   +- Sort [name#N ASC NULLS FIRST, ts#N ASC NULLS FIRST], false, 0\n"
        "      +- Exchange hashpartitioning(name#N, 200), ENSURE_REQUIREMENTS, [plan_id=N]\n"
        "         +- Project [name#N, time#N, amount#NL, cast(time#N as timestamp) AS ts#N]\n"
        "            +- Scan ExistingRDD[name#N,time#N,amount#NL]\n")


SPEC = "PARTITION BY name ORDER BY time ASC NULLS FIRST"


def test_every_function_by_its_spark_name_type_and_value(payments, F, W):
    w = W.partitionBy("name").orderBy("time")
    df = payments.select(
        "name", "time", F.row_number().over(w), F.rank().over(w), F.dense_rank().over(w),
        F.percent_rank().over(w), F.ntile(2).over(w), F.cume_dist().over(w),
        F.lag("amount").over(w), F.lag("amount", 2, 0).over(w), F.lead("amount").over(w),
        F.lead("amount", 1, -1).over(w), F.sum("amount").over(w), F.avg("amount").over(w),
        F.count("amount").over(w), F.count("*").over(w), F.min("amount").over(w),
        F.max("amount").over(w), F.first("amount").over(w), F.last("amount").over(w))
    rows_frame = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
    range_frame = "RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
    assert df.dtypes[2:] == [
        (f"row_number() OVER ({SPEC} {rows_frame})", "int"),
        (f"RANK() OVER ({SPEC} {rows_frame})", "int"),
        (f"DENSE_RANK() OVER ({SPEC} {rows_frame})", "int"),
        (f"PERCENT_RANK() OVER ({SPEC} {rows_frame})", "double"),
        (f"ntile(2) OVER ({SPEC} {rows_frame})", "int"),
        (f"cume_dist() OVER ({SPEC} {range_frame})", "double"),
        (f"lag(amount, 1, NULL) OVER ({SPEC} ROWS BETWEEN -1 FOLLOWING AND -1 FOLLOWING)",
         "bigint"),
        (f"lag(amount, 2, 0) OVER ({SPEC} ROWS BETWEEN -2 FOLLOWING AND -2 FOLLOWING)",
         "bigint"),
        (f"lead(amount, 1, NULL) OVER ({SPEC} ROWS BETWEEN 1 FOLLOWING AND 1 FOLLOWING)",
         "bigint"),
        (f"lead(amount, 1, -1) OVER ({SPEC} ROWS BETWEEN 1 FOLLOWING AND 1 FOLLOWING)",
         "bigint"),
        (f"sum(amount) OVER ({SPEC} {range_frame})", "bigint"),
        (f"avg(amount) OVER ({SPEC} {range_frame})", "double"),
        (f"count(amount) OVER ({SPEC} {range_frame})", "bigint"),
        (f"count(1) OVER ({SPEC} {range_frame})", "bigint"),
        (f"min(amount) OVER ({SPEC} {range_frame})", "bigint"),
        (f"max(amount) OVER ({SPEC} {range_frame})", "bigint"),
        (f"first(amount) OVER ({SPEC} {range_frame})", "bigint"),
        (f"last(amount) OVER ({SPEC} {range_frame})", "bigint")]
    assert [f.nullable for f in df.schema.fields[2:8]] == [False] * 6
    assert sorted(rows(df)) == [
        ("Alice", "2024-01-01 10:00:00", 1, 1, 1, 0.0, 1, 1 / 3, None, 0, 7, 7, 10, 10.0, 1, 1,
         10, 10, 10, 10),
        ("Alice", "2024-01-01 11:00:00", 2, 2, 2, 0.5, 1, 2 / 3, 10, 0, 3, 3, 17, 8.5, 2, 2, 7,
         10, 10, 7),
        ("Alice", "2024-01-01 12:00:00", 3, 3, 3, 1.0, 2, 1.0, 7, 10, None, -1, 20,
         6.666666666666667, 3, 3, 3, 10, 10, 3),
        ("Bob", "2024-01-01 09:00:00", 1, 1, 1, 0.0, 1, 0.5, None, 0, None, None, 5, 5.0, 1, 1,
         5, 5, 5, 5),
        ("Bob", "2024-01-01 09:30:00", 2, 2, 2, 1.0, 2, 1.0, 5, 0, None, -1, 5, 5.0, 1, 2, 5, 5,
         5, None)]


TIES = [("a", 1, 10), ("a", 2, 20), ("a", 2, 30), ("a", 3, 40), ("b", 1, 5)]


def test_ordered_aggregates_share_their_value_with_ties_and_ranks_skip(spark, F, W):
    df = spark.createDataFrame(TIES, ["k", "t", "v"])
    w = W.partitionBy("k").orderBy("t")
    out = df.select("k", "t", "v", F.sum("v").over(w).alias("running"),
                    F.rank().over(w).alias("rank"), F.dense_rank().over(w).alias("dense"),
                    F.sum("v").over(W.partitionBy("k")).alias("total"),
                    F.sum("v").over(w.rowsBetween(W.unboundedPreceding, W.currentRow))
                    .alias("by_rows"))
    got = {(r.k, r.t, r.v): tuple(r)[3:] for r in out.collect()}
    assert {key: value[:4] for key, value in got.items()} == {
        ("a", 1, 10): (10, 1, 1, 100), ("a", 2, 20): (60, 2, 2, 100),
        ("a", 2, 30): (60, 2, 2, 100), ("a", 3, 40): (100, 4, 3, 100), ("b", 1, 5): (5, 1, 1, 5)}
    # ROWS counts rows, not peers: the two tied rows get 30 and 60, or 40 and 60.
    assert sorted(got[("a", 2, 20)][4:] + got[("a", 2, 30)][4:]) in ([30, 60], [40, 60])
    assert (got[("a", 1, 10)][4], got[("a", 3, 40)][4]) == (10, 100)


def test_frames_of_rows_and_of_values_descending_with_nulls(spark, F, W):
    d = spark.createDataFrame([(1, 1.0), (1, 2.0), (1, 2.0), (1, None), (2, 5.0)], ["g", "v"])
    desc = W.partitionBy("g").orderBy(F.col("v").desc())
    asc = W.partitionBy("g").orderBy("v")
    out = d.select(
        "g", "v", F.sum("v").over(desc.rangeBetween(-1, 0)).alias("a"),
        F.rank().over(desc).alias("r"), F.max("v").over(desc.rowsBetween(-1, 0)).alias("m"),
        F.min("v").over(desc.rowsBetween(0, W.unboundedFollowing)).alias("mn"),
        F.first("v", True).over(asc).alias("f"),
        F.last("v", True).over(asc.rowsBetween(-1, 1)).alias("l"),
        F.count("*").over(asc.rangeBetween(-1, 1)).alias("c"))
    assert rows(out.orderBy("g", F.col("v").desc())) == [
        (1, 2.0, 4.0, 1, 2.0, 1.0, 1.0, 2.0, 3), (1, 2.0, 4.0, 1, 2.0, 1.0, 1.0, 2.0, 3),
        (1, 1.0, 5.0, 3, 2.0, 1.0, 1.0, 2.0, 3), (1, None, None, 4, 1.0, None, None, 1.0, 1),
        (2, 5.0, 5.0, 1, 5.0, 5.0, 5.0, 5.0, 1)]
    assert out.columns == ["g", "v", "a", "r", "m", "mn", "f", "l", "c"]


def test_frame_names_and_a_window_without_partition_or_order(payments, F, W):
    w = W.partitionBy("name").orderBy("time")
    by_amount = W.partitionBy("name").orderBy("amount")
    df = payments.select(
        F.sum("amount").over(W.partitionBy("name")),
        F.sum("amount").over(w.rowsBetween(-1, 1)),
        F.sum("amount").over(w.rowsBetween(W.currentRow, W.unboundedFollowing)),
        F.sum("amount").over(by_amount.rangeBetween(-5, 0)),
        F.sum("amount").over(by_amount.rangeBetween(W.unboundedPreceding,
                                                    W.unboundedFollowing)),
        F.sum("amount").over(W.orderBy(F.col("time").desc())),
        F.sum("amount").over(W.partitionBy()))
    assert df.columns == [
        "sum(amount) OVER (PARTITION BY name ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED "
        "FOLLOWING)",
        f"sum(amount) OVER ({SPEC} ROWS BETWEEN -1 FOLLOWING AND 1 FOLLOWING)",
        f"sum(amount) OVER ({SPEC} ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)",
        "sum(amount) OVER (PARTITION BY name ORDER BY amount ASC NULLS FIRST RANGE BETWEEN -5 "
        "FOLLOWING AND CURRENT ROW)",
        "sum(amount) OVER (PARTITION BY name ORDER BY amount ASC NULLS FIRST RANGE BETWEEN "
        "UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)",
        "sum(amount) OVER (ORDER BY time DESC NULLS LAST RANGE BETWEEN UNBOUNDED PRECEDING AND "
        "CURRENT ROW)",
        "sum(amount) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"]
    assert sorted(rows(df), key=str) == sorted([
        (20, 17, 20, 17, 20, 20, 25), (20, 20, 10, 10, 20, 10, 25), (20, 10, 3, 3, 20, 3, 25),
        (5, 5, 5, 5, 5, 25, 25), (5, 5, None, None, 5, 20, 25)], key=str)


def test_expressions_over_windows_and_windows_over_expressions(payments, F, W):
    w = W.partitionBy("name").orderBy("time")
    df = payments.select(
        (F.sum("amount").over(w) * 2).alias("double"), F.lag("name", 1, "none").over(w),
        F.sum("amount").over(W.partitionBy(F.upper("name")).orderBy(F.col("amount") + 1)))
    assert df.columns[1:] == [
        f"lag(name, 1, none) OVER ({SPEC} ROWS BETWEEN -1 FOLLOWING AND -1 FOLLOWING)",
        "sum(amount) OVER (PARTITION BY upper(name) ORDER BY (amount + 1) ASC NULLS FIRST "
        "RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"]
    assert sorted(rows(df), key=str) == sorted(
        [(20, "none", 20), (34, "Alice", 10), (40, "Alice", 3), (10, "none", 5),
         (10, "Bob", None)], key=str)


def test_two_windows_stack_two_exchanges(payments, F, W):
    df = payments.select("name", F.row_number().over(W.partitionBy("name").orderBy("time"))
                         .alias("rn"), F.sum("amount").over(W.partitionBy("time")).alias("s"))
    assert plan_text(df) == (
        "== Physical Plan ==\n"
        "AdaptiveSparkPlan isFinalPlan=false\n"
        "+- Project [name#N, rn#N, s#NL]\n"
        "   +- Window [sum(amount#NL) windowspecdefinition(time#N, specifiedwindowframe(RowFrame, "
        "unboundedpreceding$(), unboundedfollowing$())) AS s#NL], [time#N]\n"
        "      +- Sort [time#N ASC NULLS FIRST], false, 0\n"
        "         +- Exchange hashpartitioning(time#N, 200), ENSURE_REQUIREMENTS, [plan_id=N]\n"
        "            +- Window [row_number() windowspecdefinition(name#N, time#N ASC NULLS "
        "FIRST, specifiedwindowframe(RowFrame, unboundedpreceding$(), currentrow$())) AS rn#N], "
        "[name#N], [time#N ASC NULLS FIRST]\n"
        "               +- Sort [name#N ASC NULLS FIRST, time#N ASC NULLS FIRST], false, 0\n"
        "                  +- Exchange hashpartitioning(name#N, 200), ENSURE_REQUIREMENTS, "
        "[plan_id=N]\n"
        "                     +- Scan ExistingRDD[name#N,time#N,amount#NL]\n")
    assert sorted(rows(df), key=str) == sorted(
        [("Alice", 1, 10), ("Alice", 2, 7), ("Alice", 3, 3), ("Bob", 1, 5), ("Bob", 2, None)],
        key=str)


def test_a_window_over_a_window_of_the_same_keys_needs_no_second_exchange(payments, F, W):
    w = W.partitionBy("name").orderBy("time")
    df = (payments.withColumn("before", F.lag("amount").over(w))
          .withColumn("two_before", F.lag("before").over(w)))
    plan = plan_text(df)
    assert plan.count("Window [lag(") == 2 and plan.count("Exchange") == 1
    assert plan.count("Sort [") == 1
    assert sorted(rows(df.select("name", "amount", "before", "two_before")), key=str) == sorted(
        [("Alice", 10, None, None), ("Alice", 7, 10, None), ("Alice", 3, 7, 10),
         ("Bob", 5, None, None), ("Bob", None, 5, None)], key=str)


def test_keys_and_arguments_that_are_expressions_are_computed_below_the_exchange(payments,
                                                                                  F, W):
    df = payments.select(F.sum(F.col("amount") * 2).over(
        W.partitionBy(F.upper("name")).orderBy("time")).alias("s"))
    plan = plan_text(df)
    assert "Exchange hashpartitioning(_w1#N, 200)" in plan
    assert "Project [(amount#NL * 2) AS _w0#NL, upper(name#N) AS _w1#N, time#N]" in plan
    assert sorted(r.s for r in df.collect()) == [10, 10, 20, 34, 40]


def test_a_window_without_keys_runs_in_one_partition(payments, F, W):
    ordered = payments.select(F.sum("amount").over(W.orderBy("time")).alias("s"))
    assert plan_text(ordered) == (
        "== Physical Plan ==\n"
        "AdaptiveSparkPlan isFinalPlan=false\n"
        "+- Project [s#NL]\n"
        "   +- Window [sum(amount#NL) windowspecdefinition(time#N ASC NULLS FIRST, "
        "specifiedwindowframe(RangeFrame, unboundedpreceding$(), currentrow$())) AS s#NL], "
        "[time#N ASC NULLS FIRST]\n"
        "      +- Sort [time#N ASC NULLS FIRST], false, 0\n"
        "         +- Exchange SinglePartition, ENSURE_REQUIREMENTS, [plan_id=N]\n"
        "            +- Project [amount#NL, time#N]\n"
        "               +- Scan ExistingRDD[name#N,time#N,amount#NL]\n")
    assert sorted(r.s for r in ordered.collect()) == [5, 5, 15, 22, 25]
    whole = payments.select(F.sum("amount").over(W.partitionBy()).alias("s"))
    assert "+- Exchange SinglePartition" in plan_text(whole)
    assert "Sort" not in plan_text(whole)
    assert [r.s for r in whole.collect()] == [25] * 5


class TestSqlText:
    @pytest.fixture(scope="class")
    def view(self, spark, payments):
        payments.createOrReplaceTempView("payments")
        yield
        spark.catalog.dropTempView("payments")

    def test_over_gives_the_plan_of_the_dataframe_calls(self, spark, view, payments, F, W):
        text = spark.sql("SELECT name, amount, sum(amount) OVER (PARTITION BY name ORDER BY "
                         "time) AS running, lag(amount) OVER (PARTITION BY name ORDER BY time) "
                         "AS prev FROM payments")
        w = W.partitionBy("name").orderBy("time")
        calls = payments.select("name", "amount", F.sum("amount").over(w).alias("running"),
                                F.lag("amount").over(w).alias("prev"))
        assert plan_text(text) == plan_text(calls)
        assert sorted(rows(text), key=str) == sorted(rows(calls), key=str) == sorted(
            [("Alice", 10, 10, None), ("Alice", 7, 17, 10), ("Alice", 3, 20, 7),
             ("Bob", 5, 5, None), ("Bob", None, 5, 5)], key=str)

    def test_frames_in_text_are_named_as_spark_names_them(self, spark, view):
        df = spark.sql("SELECT name, sum(amount) OVER (PARTITION BY name ORDER BY time ROWS "
                       "BETWEEN 1 PRECEDING AND 1 FOLLOWING), avg(amount) OVER (ORDER BY "
                       "amount RANGE BETWEEN 2 PRECEDING AND CURRENT ROW), rank() OVER (ORDER "
                       "BY amount DESC) FROM payments")
        assert df.columns == [
            "name", f"sum(amount) OVER ({SPEC} ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING)",
            "avg(amount) OVER (ORDER BY amount ASC NULLS FIRST RANGE BETWEEN (- 2) FOLLOWING "
            "AND CURRENT ROW)",
            "RANK() OVER (ORDER BY amount DESC NULLS LAST ROWS BETWEEN UNBOUNDED PRECEDING AND "
            "CURRENT ROW)"]
        assert sorted(rows(df), key=str) == sorted(
            [("Alice", 17, 10.0, 1), ("Alice", 20, 6.0, 2), ("Alice", 10, 3.0, 4),
             ("Bob", 5, 4.0, 3), ("Bob", 5, None, 5)], key=str)

    def test_a_named_window_and_the_other_functions(self, spark, view):
        df = spark.sql("SELECT name, rank() OVER (PARTITION BY name ORDER BY amount DESC) AS r, "
                       "sum(amount) OVER w2 AS s, count(*) OVER w2 AS c, lead(amount, 2) OVER "
                       "(ORDER BY time) AS l FROM payments WINDOW w2 AS (PARTITION BY name)")
        assert df.columns == ["name", "r", "s", "c", "l"]
        assert sorted(rows(df), key=str) == sorted(
            [("Alice", 1, 20, 3, 3), ("Alice", 2, 20, 3, None), ("Alice", 3, 20, 3, None),
             ("Bob", 1, 5, 2, 10), ("Bob", 2, 5, 2, 7)], key=str)


    def test_windows_over_the_rows_of_an_aggregate(self, spark, view):
        df = spark.sql("SELECT name, sum(amount) AS total, rank() OVER (ORDER BY sum(amount) "
                       "DESC) AS r, sum(sum(amount)) OVER () AS everything, count(*) FROM "
                       "payments GROUP BY name HAVING count(*) > 1 ORDER BY r, name")
        assert df.columns == ["name", "total", "r", "everything", "count(1)"]
        assert rows(df) == [("Alice", 20, 1, 25, 3), ("Bob", 5, 2, 25, 2)]


class TestErrors:
    def _condition(self, errors, action) -> str:
        return raised(errors.AnalysisException, action).getCondition()

    def test_ranking_and_offset_functions_need_an_order(self, payments, F, W, errors):
        unordered = W.partitionBy("name")
        err = raised(errors.AnalysisException,
                     lambda: payments.select(F.row_number().over(unordered)))
        assert err.getCondition() == "WINDOW_FUNCTION_FRAME_NOT_ORDERED"
        assert str(err).startswith(
            "[WINDOW_FUNCTION_FRAME_NOT_ORDERED] Window function row_number requires the window "
            "to be ordered. You need to add an ORDER BY clause. For example: SELECT row_number() "
            "OVER (PARTITION BY window_partition ORDER BY window_ordering) FROM table. "
            "SQLSTATE: 42601")
        for f in (F.rank(), F.lag("amount"), F.ntile(2)):
            assert self._condition(errors, lambda f=f: payments.select(f.over(unordered))) == \
                "WINDOW_FUNCTION_FRAME_NOT_ORDERED"

    def test_a_ranking_function_keeps_its_own_frame(self, payments, F, W, errors):
        w = W.partitionBy("name").orderBy("time").rowsBetween(-1, 1)
        err = raised(errors.AnalysisException, lambda: payments.select(F.row_number().over(w)))
        assert err.getCondition() == "_LEGACY_ERROR_TEMP_1036"
        assert str(err).startswith(
            "Window Frame specifiedwindowframe(RowFrame, -1, 1) must match the required frame "
            "specifiedwindowframe(RowFrame, unboundedpreceding$(), currentrow$()).")

    def test_frames_spark_rejects(self, payments, F, W, errors):
        w = W.partitionBy("name").orderBy("time")
        two_keys = W.partitionBy("name").orderBy("time", "amount").rangeBetween(-1, 1)
        assert self._condition(errors, lambda: payments.select(
            F.sum("amount").over(two_keys))) == "DATATYPE_MISMATCH.RANGE_FRAME_MULTI_ORDER"
        assert self._condition(errors, lambda: payments.select(
            F.sum("amount").over(w.rangeBetween(-1, 1)))) == \
            "DATATYPE_MISMATCH.SPECIFIED_WINDOW_FRAME_UNACCEPTED_TYPE"
        err = raised(errors.AnalysisException, lambda: payments.select(
            F.sum("amount").over(w.rowsBetween(1, -1))))
        assert err.getCondition() == "DATATYPE_MISMATCH.SPECIFIED_WINDOW_FRAME_WRONG_COMPARISON"
        assert str(err).startswith(
            '[DATATYPE_MISMATCH.SPECIFIED_WINDOW_FRAME_WRONG_COMPARISON] Cannot resolve "ROWS '
            'BETWEEN 1 FOLLOWING AND -1 FOLLOWING" due to data type mismatch: The lower bound of '
            "a window frame must be less than or equal to the upper bound. SQLSTATE: 42K09")
        assert self._condition(errors, lambda: payments.select(F.ntile(0).over(w))) == \
            "DATATYPE_MISMATCH.VALUE_OUT_OF_RANGE"
        err = raised(errors.AnalysisException, lambda: payments.select(
            F.sum("amount").over(W.partitionBy("name").rangeBetween(-1, 1))))
        assert str(err).startswith(
            '[DATATYPE_MISMATCH.RANGE_FRAME_WITHOUT_ORDER] Cannot resolve "(PARTITION BY name '
            'RANGE BETWEEN -1 FOLLOWING AND 1 FOLLOWING)" due to data type mismatch: A range '
            "window frame cannot be used in an unordered window specification. SQLSTATE: 42K09")

    def test_windows_where_they_cannot_be(self, payments, F, W, errors):
        w = W.partitionBy("name").orderBy("time")
        err = raised(errors.AnalysisException,
                     lambda: payments.where(F.row_number().over(w) > 1))
        assert str(err) == ("[WINDOW_FUNCTION_NOT_ALLOWED_IN_CLAUSE] It is not allowed to use "
                            "window functions inside WHERE clause. SQLSTATE: 42601")
        err = raised(errors.AnalysisException, lambda: payments.select(F.row_number()))
        assert err.getCondition() == "WINDOW_FUNCTION_WITHOUT_OVER_CLAUSE"
        assert str(err).startswith('[WINDOW_FUNCTION_WITHOUT_OVER_CLAUSE] Window function '
                                   '"row_number()" requires an OVER clause. SQLSTATE: 42601')
        err = raised(errors.AnalysisException,
                     lambda: payments.select(F.upper("name").over(w)).collect())
        assert err.getCondition() == "UNSUPPORTED_EXPR_FOR_WINDOW"
        assert str(err).startswith('[UNSUPPORTED_EXPR_FOR_WINDOW] Expression "upper(name)" not '
                                   "supported within a window function. SQLSTATE: 42P20")


def test_collected_frames_and_no_distinct_over_a_window(payments, F, W, errors):
    w = W.partitionBy("name").orderBy("time")
    df = payments.select("name", "time", F.collect_list("amount").over(w).alias("so_far"),
                         F.collect_set("amount").over(W.partitionBy("name")).alias("all"))
    assert df.dtypes[2:] == [("so_far", "array<bigint>"), ("all", "array<bigint>")]
    got = {(r.name, r.time): (r.so_far, sorted(r.all)) for r in df.collect()}
    assert got == {("Alice", "2024-01-01 10:00:00"): ([10], [3, 7, 10]),
                   ("Alice", "2024-01-01 11:00:00"): ([10, 7], [3, 7, 10]),
                   ("Alice", "2024-01-01 12:00:00"): ([10, 7, 3], [3, 7, 10]),
                   ("Bob", "2024-01-01 09:00:00"): ([5], [5]),
                   ("Bob", "2024-01-01 09:30:00"): ([5], [5])}
    err = raised(errors.AnalysisException, lambda: payments.select(
        F.countDistinct("amount").over(W.partitionBy("name"))))
    assert str(err).startswith(
        '[DISTINCT_WINDOW_FUNCTION_UNSUPPORTED] Distinct window functions are not supported: '
        '"count(DISTINCT amount) OVER (PARTITION BY name ROWS BETWEEN UNBOUNDED PRECEDING AND '
        'UNBOUNDED FOLLOWING)". SQLSTATE: 0A000')


def test_over_takes_a_window_spec(payments, F, errors):
    err = raised(errors.PySparkTypeError, lambda: F.sum("amount").over("by name"))
    assert err.getCondition() == "NOT_EXPECTED_TYPE"
    assert str(err) == "[NOT_EXPECTED_TYPE] Argument `window` should be WindowSpec, got str."


@pytest.mark.sparkbook_only
def test_frame_bounds_are_ints(W, errors):
    # PySpark hands a float to the JVM and fails there; sparkbook says what is wrong.
    err = raised(errors.PySparkTypeError, lambda: W.orderBy("t").rowsBetween(-1.5, 0))
    assert str(err) == "[NOT_EXPECTED_TYPE] Argument `start` should be int, got float."


def _frame_reference(values, lo, hi, fn):
    frame = [v for v in values[lo:hi] if v is not None]
    if fn == "count":
        return len(frame)
    if fn == "collect_list":
        return frame
    if not frame:
        return None
    return {"sum": sum, "min": min, "max": max}[fn](frame)


@pytest.mark.sparkbook_only
def test_frames_agree_with_a_row_by_row_reference_over_many_partitions(spark, F, W):
    rng = random.Random(7)
    data = [(rng.randrange(12), rng.randrange(8), rng.choice([None] + list(range(-50, 50))))
            for _ in range(600)]
    df = spark.createDataFrame(data, "k int, t int, v int").repartition(3)
    w = W.partitionBy("k").orderBy("t", "v")
    frames = {"rows": (-2, 3), "prefix": (W.unboundedPreceding, -1),
              "suffix": (1, W.unboundedFollowing)}
    cols = [F.row_number().over(w).alias("rn")]
    for name, (lo, hi) in frames.items():
        for fn in ("sum", "min", "max", "count", "collect_list"):
            cols.append(getattr(F, fn)("v").over(w.rowsBetween(lo, hi)).alias(f"{fn}_{name}"))
    got = df.select("k", "t", "v", *cols).collect()
    by_key: dict[int, list] = {}
    for k, t, v in data:
        by_key.setdefault(k, []).append((t, v))
    for part in by_key.values():
        # Spark's NULLS FIRST order of (t, v), so rows are identified by their position.
        part.sort(key=lambda p: (p[0], p[1] is not None, p[1] if p[1] is not None else 0))
    for r in got:
        part = [v for _, v in by_key[r.k]]
        i = r.rn - 1
        for name, (lo, hi) in frames.items():
            start = 0 if lo == W.unboundedPreceding else max(0, i + lo)
            end = len(part) if hi == W.unboundedFollowing else max(0, min(len(part), i + hi + 1))
            for fn in ("sum", "min", "max", "count", "collect_list"):
                assert r[f"{fn}_{name}"] == _frame_reference(part, start, end, fn), (r, fn, name)


@pytest.mark.sparkbook_only
def test_range_frames_agree_with_a_row_by_row_reference(spark, F, W):
    rng = random.Random(11)
    data = [(rng.randrange(6), rng.choice([None] + list(range(30))),
             rng.choice([None] + [x / 4 for x in range(-40, 40)])) for _ in range(500)]
    df = spark.createDataFrame(data, "k int, t int, v double").repartition(4)
    for ascending in (True, False):
        order = F.col("t").asc() if ascending else F.col("t").desc()
        w = W.partitionBy("k").orderBy(order)
        cols = [f(F.col("v")).over(w.rangeBetween(-2, 1)).alias(f.__name__)
                for f in (F.sum, F.count, F.min, F.max)]
        cols += [F.sum("v").over(w).alias("running"),
                 F.first("v", True).over(w.rangeBetween(-3, 0)).alias("first"),
                 F.last("v", True).over(w.rangeBetween(0, 3)).alias("last")]
        got = df.select("k", "t", *cols).collect()
        sign = 1 if ascending else -1
        for r in got:
            peers = [(t, v) for k, t, v in data if k == r.k]
            if r.t is None:  # a NULL key's frame is its NULL peers
                near = ahead = behind = [v for t, v in peers if t is None]
                upto = near if ascending else [v for t, v in peers]
            else:
                near = [v for t, v in peers
                        if t is not None and -2 <= sign * (t - r.t) <= 1]
                upto = [v for t, v in peers if (t is None and ascending) or
                        (t is not None and sign * (t - r.t) <= 0)]
                behind = sorted(((sign * t, v) for t, v in peers if t is not None
                                 and -3 <= sign * (t - r.t) <= 0), key=lambda p: p[0])
                ahead = sorted(((sign * t, v) for t, v in peers if t is not None
                                and 0 <= sign * (t - r.t) <= 3), key=lambda p: p[0])
                behind, ahead = [v for _, v in behind], [v for _, v in ahead]
            values = [v for v in near if v is not None]
            assert r["count"] == len(values)
            assert (r["sum"], r["min"], r["max"]) == (
                (sum(values), min(values), max(values)) if values else (None, None, None))
            running = [v for v in upto if v is not None]
            assert r.running == (sum(running) if running else None)
            # With ties at the frame's edge any of the tied values may be first, as in Spark.
            for name, frame in (("first", behind), ("last", ahead)):
                present = [v for v in frame if v is not None]
                assert (r[name] is None) == (not present) and r[name] in present + [None]


@pytest.mark.sparkbook_only
def test_the_window_runs_after_the_exchange_in_a_stage_named_for_it(payments, F, W, sc,
                                                                   recorded):
    w = W.partitionBy("name").orderBy("time")
    payments.select("name", F.rank().over(w).alias("r")).collect()
    sc.waitForListeners()
    names = [s.name.rsplit(" at ", 1)[0] for s in recorded.jobs[-1].stage_infos]
    assert names[-1] == (
        "Project [name, r] <- Window [RANK() AS r], [name], [time ASC NULLS FIRST] <- "
        "Sort [name ASC NULLS FIRST, time ASC NULLS FIRST], false, 0 <- "
        "Exchange hashpartitioning(name, 200)")
    assert recorded.jobs[-1].stage_infos[-1].num_tasks == 1  # adaptively coalesced


SALES = [("2023", "Alice", 10), ("2023", "Bob", 5), ("2024", "Alice", 7), ("2024", "Carol", 2),
         ("2023", "Alice", 1), (None, "Bob", 1)]


class TestPivot:
    @pytest.fixture(scope="class")
    def sales(self, spark):
        return spark.createDataFrame(SALES, ["year", "name", "amount"])

    def test_one_column_per_distinct_value_sorted_nulls_first(self, sales):
        p = sales.groupBy("name").pivot("year").sum("amount")
        assert p.schema.simpleString() == "struct<name:string,null:bigint,2023:bigint,2024:bigint>"
        assert printed(p.orderBy("name").show) == (
            "+-----+----+----+----+\n"
            "| name|null|2023|2024|\n"
            "+-----+----+----+----+\n"
            "|Alice|NULL|  11|   7|\n"
            "|  Bob|   1|   5|NULL|\n"
            "|Carol|NULL|NULL|   2|\n"
            "+-----+----+----+----+\n\n")

    def test_given_values_in_their_order_and_several_aggregates(self, sales, F):
        p = sales.groupBy("name").pivot("year", ["2024", "2023"]).agg(F.sum("amount"),
                                                                      F.max("amount"))
        assert p.columns == ["name", "2024_sum(amount)", "2024_max(amount)",
                             "2023_sum(amount)", "2023_max(amount)"]
        assert rows(p.orderBy("name")) == [("Alice", 7, 7, 11, 10), ("Bob", None, None, 5, 5),
                                           ("Carol", 2, 2, None, None)]
        named = sales.groupBy("name").pivot("year").agg(F.sum("amount").alias("s"),
                                                        F.count("amount"))
        assert named.columns == ["name", "null_s", "null_count(amount)", "2023_s",
                                 "2023_count(amount)", "2024_s", "2024_count(amount)"]

    def test_counts_of_missing_pairs_are_null_and_values_of_other_types(self, sales):
        counts = sales.groupBy("name").pivot("year").count()
        assert rows(counts.orderBy("name")) == [("Alice", None, 2, 1), ("Bob", 1, 1, None),
                                                ("Carol", None, None, 1)]
        by_amount = sales.groupBy("name").pivot("amount", [10, 1]).count()
        assert by_amount.columns == ["name", "10", "1"]
        assert rows(by_amount.orderBy("name")) == [("Alice", 1, 1), ("Bob", None, 1),
                                                   ("Carol", None, None)]
        assert sales.groupBy("year").pivot("amount").count().columns == [
            "year", "1", "2", "5", "7", "10"]
        assert sales.groupBy("name").pivot("year").avg("amount").dtypes[1:] == [
            ("null", "double"), ("2023", "double"), ("2024", "double")]

    def test_without_grouping_keys_one_row(self, sales):
        p = sales.groupBy().pivot("name").sum("amount")
        assert rows(p) == [(18, 6, 2)] and p.columns == ["Alice", "Bob", "Carol"]

    def test_errors(self, sales, F, errors):
        err = raised(errors.AnalysisException, lambda: sales.groupBy("name").pivot("nope"))
        assert err.getCondition() == "UNRESOLVED_COLUMN.WITH_SUGGESTION"
        err = raised(errors.AnalysisException,
                     lambda: sales.groupBy("name").pivot("year").agg(F.col("amount")))
        assert str(err).startswith("Aggregate expression required for pivot, but 'amount' did "
                                   "not appear in any aggregate function.")
        err = raised(errors.UnsupportedOperationException,
                     lambda: sales.groupBy("name").pivot("year").pivot("name"))
        assert err.getCondition() == "REPEATED_CLAUSE"
