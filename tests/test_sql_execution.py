"""How a DataFrame runs: as an ordinary job on the executors, one stage named for what it
does, over partitions of Arrow record batches. sparkbook's own behaviour (the listener bus
and stage names), so not checked against PySpark."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.sparkbook_only


def test_a_query_is_one_stage_named_for_its_operators_and_the_users_line(spark, sc, recorded):
    from sparkbook.sql import functions as F

    people = spark.createDataFrame([("Alice", 1), ("Bob", 12)], ["name", "age"])
    rows = people.select("name", people.age + 1).filter(F.col("name") != "Bob").collect()
    line = test_a_query_is_one_stage_named_for_its_operators_and_the_users_line.__code__
    assert [tuple(r) for r in rows] == [("Alice", 2)]
    sc.waitForListeners()
    (job,) = recorded.jobs
    (stage,) = job.stage_infos
    # The optimizer ran the filter first (PushDownPredicates) and added what it implies
    # (InferFiltersFromConstraints), as Spark plans it.
    assert stage.name.startswith("Project [name, (age + 1)] <- Filter ((name IS NOT NULL) "
                                 "AND (NOT (name = Bob))) <- Scan ExistingRDD[name,age] at "
                                 "test_sql_execution.py:")
    assert int(stage.name.rsplit(":", 1)[1]) == line.co_firstlineno + 4
    assert job.call_site.startswith("test_sql_execution.py:")
    assert stage.num_tasks == 2


def test_the_tasks_run_on_the_executors_not_the_driver(spark, sc, recorded):
    pids = spark.range(0, 1000, 1, 2).rdd.mapPartitions(lambda _: [os.getpid()]).collect()
    assert os.getpid() not in pids
    assert len(set(pids)) >= 1


def test_partitions_are_arrow_record_batches(spark):
    import pyarrow as pa

    from sparkbook.sql.execution.physical import plan_physical

    df = spark.range(0, 10, 1, 2).selectExpr("id * 2 AS twice").filter("twice > 4")
    batches = plan_physical(df._plan).execute(spark.sparkContext).collect()
    assert all(isinstance(b, pa.RecordBatch) for b in batches)
    assert sum(b.num_rows for b in batches) == 7
    assert batches[0].schema.field(0).type == pa.int64()


def test_a_failed_task_reaches_the_driver_as_the_sql_error_it_was(spark):
    from sparkbook.errors import ArithmeticException
    from sparkbook.sql import functions as F

    with pytest.raises(ArithmeticException) as info:
        spark.range(1).select(F.lit(2**62) * 4).collect()
    assert info.value.getCondition() == "ARITHMETIC_OVERFLOW"
    assert info.value.getSqlState() == "22003"
    assert "try_multiply" in str(info.value)
