"""The course's first DataFrame program, step by step, printing what PySpark prints.

A DataFrame made from dicts with a schema, ``show()``, and ``select(...).where(col(...) >=
30)``. The course's other DataFrame examples are tested beside the features they use: a
temp view queried with SQL in test_sql_text.py, ``groupBy("Name").agg(sum("Amount")
.alias("TotalAmount"))`` in test_sql_aggregate.py, the monsters CSV read with a header,
filtered, ordered and adjusted with ``when`` in test_sql_io.py.

Expected text recorded from PySpark 4.3.0 (local[2]); SPARKBOOK_TEST_ENGINE=pyspark runs
these tests on PySpark itself.
"""

from __future__ import annotations

import pytest
from printing import printed

PEOPLE = [
    {"Name": "Alice", "Age": 34, "City": "Paris", "Salary": 5200.5},
    {"Name": "Bob", "Age": 23, "City": "Oslo", "Salary": 4100.0},
    {"Name": "Cathy", "Age": 30, "City": None, "Salary": 6000.25},
    # Keys in another order, and one missing: values are taken by the schema's names.
    {"Salary": 3900.75, "City": "Rome", "Name": "Dan", "Age": 45},
    {"Name": "Eve", "Age": None, "City": "Lima"},
]


@pytest.fixture(scope="module")
def people(spark, T):
    schema = T.StructType([
        T.StructField("Name", T.StringType(), True),
        T.StructField("Age", T.IntegerType(), True),
        T.StructField("City", T.StringType(), True),
        T.StructField("Salary", T.DoubleType(), True),
    ])
    return spark.createDataFrame(PEOPLE, schema)


def test_a_dataframe_from_dicts_with_a_schema_shows_its_rows(people):
    assert printed(people.printSchema) == (
        "root\n"
        " |-- Name: string (nullable = true)\n"
        " |-- Age: integer (nullable = true)\n"
        " |-- City: string (nullable = true)\n"
        " |-- Salary: double (nullable = true)\n"
        "\n")
    assert printed(people.show) == (
        "+-----+----+-----+-------+\n"
        "| Name| Age| City| Salary|\n"
        "+-----+----+-----+-------+\n"
        "|Alice|  34|Paris| 5200.5|\n"
        "|  Bob|  23| Oslo| 4100.0|\n"
        "|Cathy|  30| NULL|6000.25|\n"
        "|  Dan|  45| Rome|3900.75|\n"
        "|  Eve|NULL| Lima|   NULL|\n"
        "+-----+----+-----+-------+\n"
        "\n")


def test_select_where_age_at_least_30(people, F):
    older = people.select("Name", "Age", "City").where(F.col("Age") >= 30)
    assert printed(older.show) == (
        "+-----+---+-----+\n"
        "| Name|Age| City|\n"
        "+-----+---+-----+\n"
        "|Alice| 34|Paris|\n"
        "|Cathy| 30| NULL|\n"
        "|  Dan| 45| Rome|\n"
        "+-----+---+-----+\n"
        "\n")
    assert printed(lambda: older.show(2)) == (
        "+-----+---+-----+\n"
        "| Name|Age| City|\n"
        "+-----+---+-----+\n"
        "|Alice| 34|Paris|\n"
        "|Cathy| 30| NULL|\n"
        "+-----+---+-----+\n"
        "only showing top 2 rows\n")
