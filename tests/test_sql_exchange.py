"""How aggregations and joins run: exchanges of Arrow IPC blocks as shuffles between
stages named for what they do, adaptive coalescing of small shuffle partitions, and a
broadcast join whose big side has no exchange (watch the stage disappear). sparkbook's own
behaviour (the listener bus, stage names, explain's stage numbers), so not checked against
PySpark."""

from __future__ import annotations

import contextlib
import io

import pytest

pytestmark = pytest.mark.sparkbook_only

SALES = [("Alice", 10), ("Bob", 5), ("Alice", 7), ("Carol", None), (None, 3)]


@contextlib.contextmanager
def settings(spark, **conf):
    for key, value in conf.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key in conf:
            spark.conf.unset(key)


def stages_run(recorded) -> dict[int, int]:
    """Tasks per stage that ran tasks."""
    out: dict[int, int] = {}
    for t in recorded.tasks:
        out[t.stage_id] = out.get(t.stage_id, 0) + 1
    return out


def test_partial_aggregate_then_exchange_then_final_each_stage_named(spark, sc, recorded):
    from sparkbook.sql import functions as F

    sales = spark.createDataFrame(SALES, ["Name", "Amount"])
    sales.groupBy("Name").agg(F.sum("Amount").alias("TotalAmount")).collect()
    sc.waitForListeners()
    names = [s.name.rsplit(" at ", 1)[0] for s in recorded.jobs[-1].stage_infos]
    assert names == [
        "Exchange hashpartitioning(Name, 200) <- HashAggregate(keys=[Name], "
        "functions=[partial_sum(Amount)]) <- Scan ExistingRDD[Name,Amount]",
        "HashAggregate(keys=[Name], functions=[sum(Amount)]) <- "
        "Exchange hashpartitioning(Name, 200)"]
    assert recorded.jobs[-1].stage_infos[-1].name.rsplit(" at ", 1)[1].startswith(
        "test_sql_exchange.py:")


def test_adaptive_coalescing_runs_a_small_aggregation_in_few_reduce_tasks(spark, sc,
                                                                            recorded):
    from sparkbook.sql import functions as F

    df = spark.range(0, 763, 1, 2).select((F.col("id") % 50).alias("k"), "id")
    rows = df.groupBy("k").agg(F.sum("id")).collect()
    assert len(rows) == 50
    sc.waitForListeners()
    final = recorded.jobs[-1].stage_infos[-1]
    assert final.name.startswith("HashAggregate(keys=[k]")
    assert final.num_tasks == 1  # not 200: every partition is far below the target size
    assert sum(stages_run(recorded).values()) < 10


def test_without_adaptive_execution_every_shuffle_partition_is_a_task(spark, sc, recorded):
    from sparkbook.sql import functions as F

    with settings(spark, **{"spark.sql.adaptive.enabled": "false",
                            "spark.sql.shuffle.partitions": "7"}):
        df = spark.createDataFrame([(f"k{i % 40}", i) for i in range(400)], ["k", "v"])
        rows = df.groupBy("k").agg(F.count("*").alias("n")).collect()
    # A key hashes to one partition in every executor: each key comes back exactly once.
    assert sorted(r.k for r in rows) == sorted(f"k{i}" for i in range(40))
    assert {r.n for r in rows} == {10}
    sc.waitForListeners()
    assert recorded.jobs[-1].stage_infos[-1].num_tasks == 7


def test_a_broadcast_join_has_one_stage_fewer_than_a_shuffled_join(spark, sc, recorded):
    from sparkbook.sql import functions as F

    emps = spark.createDataFrame([(1, "Ann", 10), (2, "Ben", 20), (3, "Cy", 30)],
                                 ["id", "name", "dept"])
    depts = spark.createDataFrame([(10, "Eng"), (20, "Ops")], ["dept", "dname"])
    with settings(spark, **{"spark.sql.adaptive.enabled": "false"}):
        recorded.tasks.clear()
        shuffled = emps.join(depts, "dept").collect()
        sc.waitForListeners()
        shuffled_stages = len(stages_run(recorded))
        recorded.tasks.clear()
        broadcast = emps.join(F.broadcast(depts), "dept").collect()
        sc.waitForListeners()
        broadcast_stages = len(stages_run(recorded))
    assert sorted(map(tuple, shuffled)) == sorted(map(tuple, broadcast))
    assert (shuffled_stages, broadcast_stages) == (3, 2)
    tracker = sc.statusTracker()
    (job,) = [j for j in recorded.jobs[-1:]]
    names = [tracker.getStageInfo(s.stage_id).name for s in job.stage_infos]
    assert names[0].startswith("Project [dept, id, name, dname] <- BroadcastHashJoin")
    assert not any("Exchange hashpartitioning" in n for n in names)


def test_a_small_range_is_broadcast_without_a_hint(spark):
    big, small = spark.range(100000), spark.range(100).withColumnRenamed("id", "k")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        big.join(small, big.id == small.k).explain()
    assert "BroadcastHashJoin [id#" in out.getvalue()
    assert big.join(small, big.id == small.k).count() == 100


def test_explain_shows_the_exchanges_and_the_stage_of_each_operator(spark):
    from sparkbook.sql import functions as F

    sales = spark.createDataFrame(SALES, ["Name", "Amount"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        sales.groupBy("Name").agg(F.sum("Amount")).explain()
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["== Physical Plan ==", "AdaptiveSparkPlan isFinalPlan=false"]
    assert lines[2].startswith("+- *(2) HashAggregate(keys=[Name#")
    assert lines[2].endswith("functions=[sum(Amount#" + lines[2].split("sum(Amount#")[1])
    assert lines[3].startswith("   +- Exchange hashpartitioning(Name#")
    assert ", 200), ENSURE_REQUIREMENTS, [plan_id=" in lines[3]
    assert lines[4].startswith("      +- *(1) HashAggregate(keys=[Name#")
    assert "functions=[partial_sum(Amount#" in lines[4]
    assert lines[5].startswith("         +- *(1) Scan ExistingRDD[Name#")


def test_the_map_side_moves_few_big_arrow_ipc_blocks(spark):
    import pyarrow as pa

    from sparkbook.sql.execution import exchange as x

    batch = pa.record_batch({"0": pa.array(["a", "b", "a", None]), "1": pa.array([1, 2, 3, 4])})
    from sparkbook.sql.catalyst import expressions as e
    from sparkbook.sql.types import LongType, StringType

    attrs = [e.AttributeReference("k", StringType()), e.AttributeReference("v", LongType())]
    part = x.HashPartitioning([attrs[0]], 4)
    records = list(x.split_batches(attrs, part, iter([batch, batch])))
    assert len(records) <= 3  # one block per non-empty partition, not one per row
    back = pa.concat_tables(x.from_ipc(block) for _, block in records)
    assert back.num_rows == 8
    assert sorted(back.column("1").to_pylist()) == [1, 1, 2, 2, 3, 3, 4, 4]


def test_the_reduce_side_reads_small_blocks_of_one_schema_as_one_stream_and_others_alone():
    import pyarrow as pa

    from sparkbook.sql.execution import exchange as x

    batch = pa.record_batch({"0": pa.array([1, 2, 3]), "1": pa.array([[1], None, []])})
    big = pa.record_batch({"0": pa.array(range(x.SMALL_BLOCK)), "1": pa.array(
        [[i] for i in range(x.SMALL_BLOCK)])})
    words = pa.record_batch({"0": pa.array(["a", "b", "a"]).dictionary_encode()})
    other = pa.record_batch({"0": pa.array([1.5])})
    blocks = [batch, batch.slice(1), big, batch, words, words, other, batch]
    records = [(i, x.to_ipc([b])) for i, b in enumerate(blocks)]
    read = list(x.read_blocks(iter(records)))
    assert [b.num_rows for b in read] == [b.num_rows for b in blocks]
    assert all(a.equals(b) for a, b in zip(read, blocks))


def test_a_join_whose_other_side_fails_cancels_its_map_stage_and_the_session_goes_on(
        spark, sc, errors):
    # A shuffled join submits both sides' map stages before it waits for either. The left
    # side fails (an invalid cast) while the right side's one slow task may still run: that
    # job is cancelled, and its shuffle, which nothing reads any more, is dropped with the
    # query; the next query runs.
    import gc
    import time

    from sparkbook.sql import functions as F

    @F.udf("long")
    def slow(v):
        time.sleep(0.1)
        return v

    left = spark.createDataFrame([("x",), ("1",)], "s string").select(
        F.col("s").cast("int").alias("k"))
    right = spark.range(0, 30, 1, 1).select(slow("id").alias("k"))
    with settings(spark, **{"spark.sql.autoBroadcastJoinThreshold": "-1"}):
        joined = left.join(right, "k")
        plan = io.StringIO()
        with contextlib.redirect_stdout(plan):
            joined.explain()
        assert "ShuffledHashJoin" in plan.getvalue() and "Broadcast" not in plan.getvalue()
        with pytest.raises(errors.NumberFormatException, match="CAST_INVALID_INPUT"):
            joined.collect()
    failed_at = time.monotonic()
    del joined, right
    gc.collect()
    while sc.statusTracker().getActiveJobsIds() and time.monotonic() < failed_at + 1:
        time.sleep(0.02)
    assert sc.statusTracker().getActiveJobsIds() == []  # not the 3 s the slow side takes
    assert spark.range(10).groupBy((F.col("id") % 3).alias("m")).count().count() == 3
