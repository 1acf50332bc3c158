"""A limit over a sort, with a projection between them (``orderBy(...).withColumn(...)
.select(...).limit(n)``, and so ``show()`` of such a DataFrame): planned as Spark plans it,
one ``TakeOrderedAndProject`` that projects the top rows only, so one job, no exchange.

Expected values and printed text were recorded from PySpark 4.3.0 (local[2]); run with
SPARKBOOK_TEST_ENGINE=pyspark to check every expectation against PySpark itself.
"""

from __future__ import annotations

import re

import pytest
from printing import printed


@pytest.fixture(scope="module")
def numbers(spark, F):
    return spark.range(0, 100, 1, 4).withColumn("x", F.col("id") % 7)


def sorted_then_projected(numbers, F):
    return (numbers.orderBy(F.desc("x"), "id")
            .withColumn("y", F.when(F.col("x") > 3, "big").otherwise("small"))
            .select("id", "y").limit(10))


def without_ids(text: str) -> str:
    return re.sub(r"#\d+", "#_", text)


def test_a_projection_between_the_limit_and_the_sort_is_take_ordered_and_project(numbers, F):
    text = without_ids(printed(sorted_then_projected(numbers, F).explain))
    assert text == (
        "== Physical Plan ==\n"
        "TakeOrderedAndProject(limit=10, orderBy=[x#_L DESC NULLS LAST,id#_L ASC NULLS "
        "FIRST], output=[id#_L,y#_])\n"
        "+- *(1) Project [id#_L, (id#_L % 7) AS x#_L]\n"
        "   +- *(1) Range (0, 100, step=1, splits=4)\n\n\n")


def test_its_rows_are_the_top_rows_projected(numbers, F):
    rows = sorted_then_projected(numbers, F).collect()
    assert [tuple(r) for r in rows] == [(i, "big") for i in range(6, 70, 7)]
    assert sorted_then_projected(numbers, F).columns == ["id", "y"]


def test_show_of_a_projected_sorted_dataframe(numbers, F):
    assert printed(lambda: numbers.orderBy("id").select("x").show(2)) == (
        "+---+\n|  x|\n+---+\n|  0|\n|  1|\n+---+\nonly showing top 2 rows\n")


@pytest.mark.parametrize("build, output", [
    (lambda df, F: df.orderBy("id").select((F.col("id") + 1).alias("z")), "z#_L"),
    (lambda df, F: df.orderBy("id").withColumn("r", F.col("x") * 2), "id#_L,x#_L,r#_L"),
    (lambda df, F: df.orderBy("id").select("id", "x"), "id#_L,x#_L"),
])
def test_the_output_is_the_projection_s(numbers, F, build, output):
    text = without_ids(printed(build(numbers, F).limit(3).explain))
    assert text.startswith("== Physical Plan ==\nTakeOrderedAndProject(limit=3, orderBy=[id#_L "
                           f"ASC NULLS FIRST], output=[{output}])\n")
    assert "Exchange" not in text


def test_the_projection_runs_after_the_cut(numbers, F):
    got = numbers.orderBy("id").select((F.col("id") * 10).alias("t")).limit(3).collect()
    assert [r.t for r in got] == [0, 10, 20]


@pytest.mark.sparkbook_only
def test_it_runs_as_one_job(numbers, F, sc, recorded):
    sorted_then_projected(numbers, F).collect()
    sc.waitForListeners()
    assert len(recorded.jobs) == 1
