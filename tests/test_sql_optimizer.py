"""The optimizer, as a learner sees it in ``explain``: constants folded once, filters that
are always true dropped and never true ones leaving no scan at all, filters moved below
projections and joins down to the scan, file scans reading only the columns and the
partition folders a query needs; ``explain(True)`` with Spark's four plans; and joins
broadcast by their estimated size.

Expected values and printed text were recorded from PySpark 4.3.0 (local[2]); run with
SPARKBOOK_TEST_ENGINE=pyspark to check every expectation against PySpark itself.
"""

from __future__ import annotations

import pathlib
import re

import pytest
from printing import printed

PEOPLE_CSV = "name,age,city\nAnn,30,Oslo\nBen,12,Rome\nCy,,Oslo\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory, spark) -> pathlib.Path:
    folder = tmp_path_factory.mktemp("optimizer")
    (folder / "p.csv").write_text(PEOPLE_CSV)
    people = spark.read.csv(str(folder / "p.csv"), header=True, inferSchema=True)
    people.write.partitionBy("city").parquet(str(folder / "part"))
    people.write.parquet(str(folder / "pq"))
    return folder


@pytest.fixture(scope="module")
def people(files, spark):
    return spark.read.csv(str(files / "p.csv"), header=True, inferSchema=True)


def plan_lines(df, *args) -> list[str]:
    return printed(lambda: df.explain(*args)).split("\n")


def test_constants_are_folded_once_in_projections_and_filters(people, F):
    df = people.where(F.col("age") > F.lit(1) + 2).select((F.lit(2) * 3).alias("six"), "name")
    lines = plan_lines(df)
    assert lines[1].startswith("*(1) Project [6 AS six#")
    assert re.match(r"\+- \*\(1\) Filter \(isnotnull\(age#\d+\) AND \(age#\d+ > 3\)\)$",
                    lines[2])
    assert [tuple(r) for r in df.collect()] == [(6, "Ann"), (6, "Ben")]


def test_explain_extended_prints_the_four_plans_in_order(people, F):
    text = printed(lambda: people.where(F.col("age") > 20).select("name").explain(True))
    headings = [line for line in text.split("\n") if line.startswith("== ")]
    assert headings == ["== Parsed Logical Plan ==", "== Analyzed Logical Plan ==",
                        "== Optimized Logical Plan ==", "== Physical Plan =="]
    assert "\n'Project ['name]\n+- Filter (age#" in text
    assert "== Analyzed Logical Plan ==\nname: string\nProject [name#" in text
    assert "Relation [name#" in text and ",city#" in text and "] csv\n" in text
    assert text.endswith("ReadSchema: struct<name:string,age:int>\n\n")  # one blank line
    assert printed(lambda: people.explain("extended")).startswith("== Parsed Logical Plan ==")
    joined = printed(lambda: people.join(people.select("name"), "name", "left").explain(True))
    assert joined.startswith("== Parsed Logical Plan ==\n'Join UsingJoin(LeftOuter, [name])\n")


def test_a_filter_always_true_goes_and_one_never_true_reads_nothing(people, F):
    always = plan_lines(people.where(F.lit(True)), True)
    optimized = always[always.index("== Optimized Logical Plan ==") + 1]
    assert optimized.startswith("Relation [name#")
    never = people.where(F.lit(False)).select("name")
    text = printed(never.explain)
    assert text.startswith("== Physical Plan ==\nLocalTableScan <empty>, [name#")
    assert never.collect() == [] and never.count() == 0
    assert people.where("1 + 1 = 3").count() == 0 and people.where("1 + 1 = 2").count() == 3


def test_a_csv_scan_reads_only_the_columns_used_and_is_told_the_filters(people, F):
    scan = plan_lines(people.where(F.col("age") > 20).select("name"))[3]
    assert scan.startswith("   +- FileScan csv [name#")
    assert "ReadSchema: struct<name:string,age:int>" in scan
    assert "PartitionFilters: [], PushedFilters: [IsNotNull(age), GreaterThan(age,20)], " \
        "ReadSchema" in scan
    assert re.search(r"DataFilters: \[isnotnull\(age#\d+\), \(age#\d+ > 20\)\]", scan)
    only = plan_lines(people.select("name"))[1]
    assert only.startswith("FileScan csv [name#") and only.endswith(
        "PushedFilters: [], ReadSchema: struct<name:string>")


def test_a_column_not_read_cannot_fail_the_read(files, spark):
    # 'city' is no int: read, it could not be cast; pruned, it is never parsed.
    df = spark.read.csv(str(files / "p.csv"), header=True, schema="name string, age int, "
                                                                  "city int")
    assert sorted(r.name for r in df.select("name").collect()) == ["Ann", "Ben", "Cy"]


def test_filters_on_partition_columns_choose_the_folders(files, spark):
    part = spark.read.parquet(str(files / "part"))
    df = part.where("city = 'Oslo' and age > 1").select("name", "city")
    scan = next(line for line in plan_lines(df) if "FileScan parquet" in line)
    assert re.search(r"PartitionFilters: \[isnotnull\(city#(\d+)\), \(city#\1 = Oslo\)\], "
                     r"PushedFilters: \[IsNotNull\(age\), GreaterThan\(age,1\)\]", scan)
    assert "ReadSchema: struct<name:string,age:int>" in scan
    assert [tuple(r) for r in df.collect()] == [("Ann", "Oslo")]
    # The folder the filter rules out is not read at all: break its file.
    for broken in (files / "part" / "city=Rome").iterdir():
        if broken.name.endswith(".parquet"):
            broken.write_bytes(b"not parquet")
    again = spark.read.parquet(str(files / "part")).where("city = 'Oslo'")
    assert sorted(r.name for r in again.collect()) == ["Ann", "Cy"]


def test_parquet_reads_apply_the_pushed_filters(files, spark):
    pq = spark.read.parquet(str(files / "pq"))
    df = pq.where("age > 20 and city = 'Oslo'").select("name")
    scan = next(line for line in plan_lines(df) if "FileScan parquet" in line)
    assert "PushedFilters: [IsNotNull(age), IsNotNull(city), GreaterThan(age,20), " \
        "EqualTo(city,Oslo)]" in scan
    assert [r.name for r in df.collect()] == ["Ann"]
    assert pq.where("age < 20 or age is null").count() == 2


def test_filters_move_below_projections_and_join_sides(spark, F):
    a = spark.createDataFrame([(1, 2), (2, 9)], "k int, x int")
    b = spark.createDataFrame([(1, 3), (2, 1)], "k int, y int")
    df = a.join(b, "k").where((a.x > 1) & (b.y < 5) & (a.x < b.y))
    lines = plan_lines(df, True)
    optimized = lines[lines.index("== Optimized Logical Plan =="):
                      lines.index("== Physical Plan ==")]
    join = next(i for i, line in enumerate(optimized) if "Join Inner, " in line)
    assert "(x#" in optimized[join] and "< y#" in optimized[join]
    filters = [line for line in optimized[join:] if "Filter" in line]
    assert len(filters) == 2
    assert re.search(r"Filter \(\(isnotnull\(x#\d+\) AND \(x#\d+ > 1\)\) AND "
                     r"isnotnull\(k#\d+\)\)$", filters[0])
    assert re.search(r"Filter \(\(isnotnull\(y#\d+\) AND \(y#\d+ < 5\)\) AND "
                     r"isnotnull\(k#\d+\)\)$", filters[1])
    assert [tuple(r) for r in df.collect()] == [(1, 2, 3)]
    projected = a.select("k", (F.col("x") + 1).alias("x1")).where("x1 > 5")
    lines = plan_lines(projected, True)
    optimized = lines[lines.index("== Optimized Logical Plan ==") + 1:]
    assert optimized[0].startswith("Project [k#")
    assert re.search(r"Filter \(isnotnull\(x#\d+\) AND \(\(x#\d+ \+ 1\) > 5\)\)$", optimized[1])
    assert [tuple(r) for r in projected.collect()] == [(2, 10)]


OUTER_FILTERED = {
    "left": [(4, 9, None, None), (None, 3, None, None)],
    "right": [],
    "full": [(4, 9, None, None), (None, 3, None, None)],
}


@pytest.mark.parametrize("how", ["left", "right", "full"])
def test_a_filter_that_drops_null_padded_rows_makes_an_outer_join_inner(spark, F, how):
    a = spark.createDataFrame([(1, 5), (1, 1), (2, 7), (None, 3), (4, 9)], "k int, x int")
    b = spark.createDataFrame([(1, 2), (1, 6), (2, 10), (None, 0), (5, 1)], "k int, y int")
    both = a.join(b, a.k == b.k, how).where((a.x > 1) & (b.y < 5))
    lines = plan_lines(both, True)
    optimized = lines[lines.index("== Optimized Logical Plan ==") + 1:]
    assert next(line for line in optimized if "Join" in line).startswith("Join Inner, ")
    assert [tuple(r) for r in both.collect()] == [(1, 5, 1, 2)]
    # A filter that keeps NULLs (isNull) leaves the outer join as it is.
    padded = a.join(b, a.k == b.k, how).where(b.y.isNull() & (F.coalesce(a.x, F.lit(0)) > 0))
    assert sorted((tuple(r) for r in padded.collect()), key=repr) == OUTER_FILTERED[how]


def test_a_filter_over_a_union_filters_each_child(spark):
    x = spark.createDataFrame([(1, "a"), (2, "b")], ["n", "s"])
    y = spark.createDataFrame([("c", 3), ("d", 0)], ["s", "n"])
    both = x.unionByName(y).where("n > 1")
    lines = plan_lines(both, True)
    optimized = lines[lines.index("== Optimized Logical Plan ==") + 1:
                      lines.index("== Physical Plan ==")]
    assert optimized[0] == "Union false, false"
    assert sum("Filter (isnotnull(n#" in line for line in optimized) == 2
    assert [tuple(r) for r in both.collect()] == [(2, "b"), (3, "c")]


def test_small_sides_are_broadcast_by_their_estimated_size(spark, people, files):
    ranges = printed(spark.range(10).join(spark.range(5), "id").explain)
    assert "BroadcastHashJoin [id#" in ranges and "Exchange hashpartitioning" not in ranges
    other = spark.read.csv(str(files / "p.csv"), header=True, inferSchema=True)
    files = printed(people.join(other, "name").explain)
    assert "BroadcastHashJoin [name#" in files
    # An RDD's size is unknown, as in Spark: two local DataFrames are shuffled.
    a = spark.createDataFrame([(1, 2)], "k int, x int")
    b = spark.createDataFrame([(1, 3)], "k int, y int")
    local = printed(a.join(b, "k").explain)
    assert "Exchange hashpartitioning(k#" in local and "BroadcastHashJoin" not in local


@pytest.mark.sparkbook_only
def test_an_exchange_reports_the_rows_it_moved_as_its_records(spark, sc, recorded):
    # Each map task sends one IPC block per reduce partition; the metrics count rows.
    assert spark.range(0, 1000, 1, 2).repartition(3).count() == 1000
    sc.waitForListeners()
    stage_ids = {t.stage_id for t in recorded.tasks}
    written = sum(t.metrics.shuffle_write_records for t in recorded.tasks)
    read = sum(t.metrics.shuffle_read_records for t in recorded.tasks)
    assert written == read == 1000
    stages = [sc._status.stages[i] for i in stage_ids if i in sc._status.stages]
    assert sum(s.shuffle_write_records for s in stages) == 1000
    assert sum(s.shuffle_read_records for s in stages) == 1000
    assert sum(s.shuffle_write_bytes for s in stages) > 8000
    from sparkbook.notebook.snapshot import take_snapshot

    shown = take_snapshot(sc._status, [j.job_id for j in recorded.jobs])["stages"]
    assert sum(s["shuffle_write_records"] for s in shown) == 1000


@pytest.mark.sparkbook_only
def test_a_pass_of_rules_that_changes_nothing_gives_back_the_very_plan(people, F):
    # The optimizer's fixed point stops on this identity, without printing plan trees.
    from sparkbook.sql.catalyst.optimizer import _operator_rules, optimize, transform_plan

    df = people.filter((F.col("age") > 1 + 2) & F.lit(True)).select("name", "age").orderBy("age")
    optimized = optimize(df._plan)
    assert transform_plan(optimized, _operator_rules) is optimized
    # ... and what it settled on is what explain prints.
    assert "Filter (isnotnull(age" in printed(lambda: df.explain(True))
    assert "(age#" in optimized.tree_string() and " > 3)" in optimized.tree_string()
