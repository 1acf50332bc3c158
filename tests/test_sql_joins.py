"""Joins, orderBy and unions: every join type on names and on a condition, with the column
order and NULLs PySpark prints; sorting with Spark's NULL placement; union by position and
by name.

Expected values and printed text were recorded from PySpark 4.3.0 (local[2]); run with
SPARKBOOK_TEST_ENGINE=pyspark to check every expectation against PySpark itself.
"""

from __future__ import annotations

import pytest
from printing import printed


@pytest.fixture(scope="module")
def emps(spark):
    return spark.createDataFrame([(1, "Ann", 10), (2, "Ben", 20), (3, "Cy", None),
                                  (4, "Di", 30)], ["id", "name", "dept"])


@pytest.fixture(scope="module")
def depts(spark):
    return spark.createDataFrame([(10, "Eng"), (20, "Ops"), (40, "HR")], ["dept", "dname"])


ROWS = {
    "inner": [(10, 1, "Ann", "Eng"), (20, 2, "Ben", "Ops")],
    "left": [(10, 1, "Ann", "Eng"), (20, 2, "Ben", "Ops"), (None, 3, "Cy", None),
             (30, 4, "Di", None)],
    "right": [(40, None, None, "HR"), (10, 1, "Ann", "Eng"), (20, 2, "Ben", "Ops")],
    "full": [(40, None, None, "HR"), (10, 1, "Ann", "Eng"), (20, 2, "Ben", "Ops"),
             (None, 3, "Cy", None), (30, 4, "Di", None)],
}


@pytest.mark.parametrize("how", ["inner", "left", "right", "full"])
def test_a_join_on_a_name_keeps_the_key_once_and_first(emps, depts, how):
    joined = emps.join(depts, "dept", how)
    assert joined.columns == ["dept", "id", "name", "dname"]
    assert [tuple(r) for r in joined.orderBy("id", "dname").collect()] == ROWS[how]


def test_semi_and_anti_joins_keep_the_left_columns(emps, depts):
    semi = emps.join(depts, "dept", "left_semi")
    anti = emps.join(depts, "dept", "left_anti")
    assert semi.columns == anti.columns == ["dept", "id", "name"]
    assert sorted(r.id for r in semi.collect()) == [1, 2]
    assert sorted(r.id for r in anti.collect()) == [3, 4]


def test_a_join_on_a_condition_keeps_both_sides_columns(emps, depts):
    joined = emps.join(depts, emps.dept == depts.dept, "full")
    assert joined.columns == ["id", "name", "dept", "dept", "dname"]
    assert printed(joined.orderBy("id", "dname").show) == (
        "+----+----+----+----+-----+\n"
        "|  id|name|dept|dept|dname|\n"
        "+----+----+----+----+-----+\n"
        "|NULL|NULL|NULL|  40|   HR|\n"
        "|   1| Ann|  10|  10|  Eng|\n"
        "|   2| Ben|  20|  20|  Ops|\n"
        "|   3|  Cy|NULL|NULL| NULL|\n"
        "|   4|  Di|  30|NULL| NULL|\n"
        "+----+----+----+----+-----+\n"
        "\n")


def test_a_broadcast_hint_gives_the_same_rows(emps, depts, F):
    for how in ("inner", "left", "left_semi", "left_anti"):
        plain = sorted(map(tuple, emps.join(depts, "dept", how).collect()), key=repr)
        hinted = sorted(map(tuple, emps.join(F.broadcast(depts), "dept", how).collect()),
                        key=repr)
        assert plain == hinted


def test_a_cross_join_pairs_every_row(emps, depts):
    assert emps.crossJoin(depts).count() == 12
    assert emps.crossJoin(depts).columns == ["id", "name", "dept", "dept", "dname"]


def test_a_join_on_several_names_and_on_a_list_of_conditions(spark):
    a = spark.createDataFrame([(1, "x", 1.5), (1, "y", 2.5), (2, "x", 3.5)], ["k", "s", "v"])
    b = spark.createDataFrame([(1, "x", True), (2, "y", False)], ["k", "s", "ok"])
    assert [tuple(r) for r in a.join(b, ["k", "s"]).collect()] == [(1, "x", 1.5, True)]
    got = a.join(b, [a.k == b.k, a.v > 2.0]).select(a.s, b.s).collect()
    assert sorted(tuple(r) for r in got) == [("x", "y"), ("y", "x")]


def test_order_by_puts_nulls_first_ascending_and_last_descending(spark, F):
    df = spark.createDataFrame([("Alice", 10), ("Bob", 5), ("Carol", None), (None, 3)],
                               ["Name", "Amount"])
    assert [r.Amount for r in df.orderBy("Amount").collect()] == [None, 3, 5, 10]
    assert [r.Amount for r in df.orderBy(F.desc("Amount")).collect()] == [10, 5, 3, None]
    assert [r.Amount for r in df.sort(F.col("Amount").asc_nulls_last()).collect()] == [
        3, 5, 10, None]
    assert [r.Name for r in df.orderBy("Name", ascending=False).collect()] == [
        "Carol", "Bob", "Alice", None]


def test_order_by_across_many_partitions_is_one_total_order(spark, F):
    df = spark.range(0, 5000, 1, 4).select(((F.col("id") * 7919) % 5000).alias("x"))
    assert [r.x for r in df.orderBy(F.desc("x")).collect()] == list(range(4999, -1, -1))
    assert [r.x for r in df.orderBy("x").limit(3).collect()] == [0, 1, 2]


def test_union_by_position_and_by_name(spark):
    x = spark.createDataFrame([(1, "a"), (2, "b")], ["n", "s"])
    y = spark.createDataFrame([("c", 3)], ["s", "n"])
    z = spark.createDataFrame([(5,)], ["n"])
    assert [tuple(r) for r in x.union(x).collect()] == [(1, "a"), (2, "b"), (1, "a"),
                                                        (2, "b")]
    assert [tuple(r) for r in x.unionByName(y).collect()] == [(1, "a"), (2, "b"), (3, "c")]
    both = x.unionByName(z, allowMissingColumns=True)
    assert both.columns == ["n", "s"]
    assert [tuple(r) for r in both.collect()] == [(1, "a"), (2, "b"), (5, None)]


def test_intersect_and_subtract_are_distinct_and_treat_nulls_as_equal(spark):
    a = spark.createDataFrame([(1, "a"), (1, "a"), (2, None), (3, "c")], ["n", "s"])
    b = spark.createDataFrame([(1, "a"), (2, None), (4, "d")], ["n", "s"])
    assert sorted(tuple(r) for r in a.intersect(b).collect()) == [(1, "a"), (2, None)]
    assert [tuple(r) for r in a.subtract(b).collect()] == [(3, "c")]
    assert a.intersect(b).columns == ["n", "s"]


def test_union_widens_each_column_to_the_wider_type(spark):
    a = spark.createDataFrame([(1,), (2,)], "x int")
    b = spark.createDataFrame([(3,)], "x bigint")
    assert a.union(b).dtypes == [("x", "bigint")]
    assert [r.x for r in a.union(b).collect()] == [1, 2, 3]


def test_except_all_counts_duplicates(spark):
    a = spark.createDataFrame([(1, "a"), (1, "a"), (1, "a"), (2, None), (3, "c")], ["n", "s"])
    b = spark.createDataFrame([(1, "a"), (2, None)], ["n", "s"])
    got = a.exceptAll(b)
    assert got.columns == ["n", "s"]
    assert sorted(tuple(r) for r in got.collect()) == [(1, "a"), (1, "a"), (3, "c")]


def test_order_by_then_limit_takes_the_top_rows_without_an_exchange(spark, F):
    df = spark.range(0, 100, 1, 4)
    text = printed(df.orderBy(F.desc("id")).limit(3).explain)
    assert text.startswith("== Physical Plan ==\nTakeOrderedAndProject(limit=3, orderBy=[id#")
    assert "DESC NULLS LAST], output=[id#" in text
    assert "Exchange" not in text
    assert [r.id for r in df.orderBy(F.desc("id")).limit(3).collect()] == [99, 98, 97]


def test_repartition_and_coalesce_explain_as_spark(spark):
    df = spark.range(0, 100, 1, 4)
    assert "+- Exchange RoundRobinPartitioning(3), REPARTITION_BY_NUM, [plan_id=" in printed(
        df.repartition(3).explain)
    assert printed(df.coalesce(1).explain) == (
        "== Physical Plan ==\nCoalesce 1\n+- *(1) Range (0, 100, step=1, splits=4)\n\n\n")


@pytest.fixture(scope="module")
def sides(spark):
    a = spark.createDataFrame([(1, 5), (1, 1), (2, 7), (None, 3), (4, 9)], "k int, x int")
    b = spark.createDataFrame([(1, 2), (1, 6), (2, 10), (None, 0), (5, 1)], "k int, y int")
    return a, b


KEYS_AND_MORE = {
    "inner": [(1, 5, 1, 2)],
    "left": [(1, 1, None, None), (1, 5, 1, 2), (2, 7, None, None), (4, 9, None, None),
             (None, 3, None, None)],
    "right": [(1, 5, 1, 2), (None, None, 1, 6), (None, None, 2, 10), (None, None, 5, 1),
              (None, None, None, 0)],
    "full": [(1, 1, None, None), (1, 5, 1, 2), (2, 7, None, None), (4, 9, None, None),
             (None, 3, None, None), (None, None, 1, 6), (None, None, 2, 10),
             (None, None, 5, 1), (None, None, None, 0)],
    "left_semi": [(1, 5)],
    "left_anti": [(1, 1), (2, 7), (4, 9), (None, 3)],
}
BOTH = [(1, 1, 1, 2), (1, 1, 1, 6), (1, 1, 2, 10), (1, 5, 1, 6), (1, 5, 2, 10), (2, 7, 2, 10),
        (4, 9, 2, 10), (None, 3, 1, 6), (None, 3, 2, 10)]
NO_KEYS = {"inner": BOTH, "left": BOTH, "right": BOTH + [(None, None, 5, 1),
                                                       (None, None, None, 0)],
           "full": BOTH + [(None, None, 5, 1), (None, None, None, 0)],
           "left_semi": [(1, 1), (1, 5), (2, 7), (4, 9), (None, 3)], "left_anti": []}


def _rows(df) -> list[tuple]:
    return sorted((tuple(r) for r in df.collect()), key=repr)


@pytest.mark.parametrize("how", list(KEYS_AND_MORE))
def test_outer_joins_on_keys_and_a_condition_keep_unmatched_rows(sides, how, F):
    a, b = sides
    condition = (a.k == b.k) & (a.x > b.y)
    assert _rows(a.join(b, condition, how)) == sorted(KEYS_AND_MORE[how], key=repr)
    if how in ("inner", "left", "left_semi", "left_anti"):
        assert _rows(a.join(F.broadcast(b), condition, how)) == sorted(KEYS_AND_MORE[how],
                                                                      key=repr)


@pytest.mark.parametrize("how", list(NO_KEYS))
def test_joins_on_a_condition_without_keys_are_nested_loops(sides, how):
    a, b = sides
    joined = a.join(b, a.x < b.y, how)
    assert _rows(joined) == sorted(NO_KEYS[how], key=repr)
    text = printed(joined.explain)
    build = "BuildLeft" if how == "right" else "BuildRight"
    assert ("CartesianProduct (x#" if how == "inner" else
            f"BroadcastNestedLoopJoin {build}, ") in text


def test_a_null_safe_condition_outer_join(sides):
    a, b = sides
    got = _rows(a.join(b, a.k.eqNullSafe(b.k) & (a.x > b.y), "full"))
    assert got == sorted([(1, 1, None, None), (1, 5, 1, 2), (2, 7, None, None),
                          (4, 9, None, None), (None, 3, None, 0), (None, None, 1, 6),
                          (None, None, 2, 10), (None, None, 5, 1)], key=repr)


@pytest.mark.sparkbook_only
def test_a_dense_unique_integer_build_side_is_looked_up_by_position_as_a_hash_join_would():
    import pyarrow as pa

    from sparkbook.sql.execution.joins import dense_matches

    def pairs_by_hash(left, right):
        lt = pa.table({"k": left, "li": pa.array(range(len(left)))})
        rt = pa.table({"k": right, "ri": pa.array(range(len(right)))})
        joined = lt.join(rt, "k", join_type="inner")
        return sorted(zip(joined.column("li").to_pylist(), joined.column("ri").to_pylist()))

    ids = list(range(-3, 1000))
    right = pa.chunked_array([ids[::2], [None], ids[1::2]])
    left = pa.chunked_array([[7, None, 1005, -3], [2, 2, -2**63, 2**63 - 1, 6]])
    li, ri = dense_matches(left, right)
    assert sorted(zip(li.tolist(), ri.tolist())) == pairs_by_hash(left, right)
    assert li.tolist() == sorted(li.tolist())  # in the left side's order
    twice, sparse = ids[:-1] + [0], [i * 10 for i in ids]
    for not_dense in (twice, sparse, [None, None]):
        assert dense_matches(left, pa.chunked_array([not_dense], pa.int64())) is None
    assert dense_matches(pa.chunked_array([["a"]]), pa.chunked_array([["a"]])) is None
    assert dense_matches(pa.chunked_array([[2**63 + 1]], pa.uint64()), right) is None


def test_an_inner_join_on_dense_ids_with_nulls_and_misses(spark, F):
    ids = F.when(F.col("id") % 9 == 0, None).otherwise(F.col("id"))
    left = spark.range(300_000).select(ids.alias("id"), F.col("id").alias("v"))
    right = spark.range(20, 200_020).select("id", (F.col("id") * 10).alias("w"))
    rows = left.join(right, "id").agg(F.count("*"), F.sum("v"), F.sum("w")).collect()
    matched = [i for i in range(20, 200_020) if i % 9]
    assert [tuple(r) for r in rows] == [(len(matched), sum(matched), 10 * sum(matched))]


@pytest.fixture(scope="module")
def staff(spark):
    return spark.createDataFrame([(1, "a", None), (2, "b", 1), (3, "c", 1)],
                                 "id int, name string, boss int")


def test_a_self_join_of_aliased_dataframes_tells_its_sides_apart(staff, F):
    e, m = staff.alias("e"), staff.alias("m")
    bosses = e.join(m, F.col("e.boss") == F.col("m.id")).select("e.name", "m.name")
    assert [tuple(r) for r in bosses.orderBy("e.name").collect()] == [("b", "a"), ("c", "a")]
    everyone = e.join(m, F.expr("e.boss = m.id"), "left").select(
        "e.name", F.col("m.name").alias("boss"))
    assert [tuple(r) for r in everyone.orderBy("e.name").collect()] == [
        ("a", None), ("b", "a"), ("c", "a")]


def test_a_self_join_in_sql_tells_its_sides_apart(spark, staff):
    staff.createOrReplaceTempView("staff")
    try:
        rows = spark.sql("SELECT e.name, m.name AS boss FROM staff e JOIN staff m "
                         "ON e.boss = m.id ORDER BY e.name").collect()
    finally:
        spark.catalog.dropTempView("staff")
    assert [tuple(r) for r in rows] == [("b", "a"), ("c", "a")]


def test_a_self_join_on_the_same_column_of_both_dataframes_joins_the_two_sides(staff):
    later = staff.filter("id > 1")
    joined = staff.join(later, staff.id == later.id)
    assert sorted(tuple(r) for r in joined.collect()) == [(2, "b", 1, 2, "b", 1),
                                                        (3, "c", 1, 3, "c", 1)]
    assert staff.join(staff.select("id"), staff.id == staff.id).count() == 3


def test_a_self_join_on_columns_both_sides_share_is_ambiguous(staff, errors):
    later = staff.filter("id > 1")
    with pytest.raises(errors.AnalysisException) as info:
        staff.join(later, staff.id == later.boss)
    assert info.value.getCondition() == "_LEGACY_ERROR_TEMP_1182"
    message = str(info.value)
    assert message.startswith("Column id#") and ", boss#" in message
    assert " are ambiguous. It's probably because you joined several Datasets together" in \
        message
    with pytest.raises(errors.AnalysisException, match=r"^Column boss#\d+ are ambiguous"):
        staff.join(later, (staff.id == later.id) & (later.boss == 1))


@pytest.mark.parametrize("how", ["inner", "left", "right", "semi", "anti"])
def test_a_broadcast_join_over_a_side_read_in_several_batches_per_task(spark, F, tmp_path,
                                                                       how):
    # Four files, so that a task reads several batches; the dim's ids are dense, and some
    # of the facts' ids (NULL ones, and those below 10) match nothing, as do dims 50-59.
    out = str(tmp_path / "facts")
    spark.range(0, 400, 1, 4).select(
        F.when(F.col("id") % 7 == 0, None).otherwise(F.col("id") % 50).alias("id"),
        F.col("id").alias("v")).write.parquet(out)
    facts = spark.read.parquet(out)
    dim = spark.range(10, 60).select("id", (F.col("id") * 10).alias("w"))
    joined = (F.broadcast(facts).join(dim, "id", "right") if how == "right"
              else facts.join(F.broadcast(dim), "id", how))
    rows = [(v % 50 if v % 7 else None, v) for v in range(400)]
    hit = [(i, v, i * 10) for i, v in rows if i is not None and i >= 10]
    miss = [(i, v) for i, v in rows if i is None or i < 10]
    want = {"inner": hit, "left": hit + [(i, v, None) for i, v in miss],
            "right": hit + [(i, None, i * 10) for i in range(50, 60)],
            "semi": [(i, v) for i, v, _ in hit], "anti": miss}[how]
    got = joined.select("id", "v", "w") if how in ("inner", "left", "right") else joined
    assert sorted(map(tuple, got.collect()), key=str) == sorted(want, key=str)
