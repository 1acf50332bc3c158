"""CSV read into a schema's types: numbers and booleans parsed by pyarrow as the file is
read, and a split with a value pyarrow does not take read again as strings and cast, so
the values are the same either way (NULLs where Spark reads NULL).

Expected values were recorded from PySpark 4.3.0 (local[2]); run with
SPARKBOOK_TEST_ENGINE=pyspark to check every expectation against PySpark itself.
"""

from __future__ import annotations

import math

import pytest

SCHEMA = "i int, l bigint, d double, b boolean, s string"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("csv_typed")
    (path / "typed.csv").write_text(
        "i,l,d,b,s\n1,10,1.5,TRUE,a\n-2,20,+2.5e1,False,b\n,30,NaN,tRuE,\n"
        '4,,-Infinity,,"x, y"\n')
    (path / "bools.csv").write_text("i,l,d,b,s\n1,10,1.5,true,a\n2,20,2.5,1,b\n3,30,3.5,yes,c\n")
    (path / "nulls.csv").write_text("i,l,d,b,s\n1,10,1.5,true,a\nNA,20,2.5,NA,NA\n")
    (path / "header.csv").write_text("i,l,d,b,s\n")
    (path / "blank.csv").write_text("\n  \n")
    return path


def rows(spark, path, **options):
    return [tuple(r) for r in spark.read.csv(str(path), schema=SCHEMA, **options).collect()]


def test_numbers_booleans_in_any_case_and_empty_fields(spark, folder):
    got = rows(spark, folder / "typed.csv", header=True)
    assert got[:2] == [(1, 10, 1.5, True, "a"), (-2, 20, 25.0, False, "b")]
    assert got[2][:2] == (None, 30) and math.isnan(got[2][2]) and got[2][3:] == (True, None)
    assert got[3] == (4, None, float("-inf"), None, "x, y")


def test_a_boolean_spark_does_not_take_is_null(spark, folder):
    # pyarrow's own booleans include "1"; Spark's are true and false only.
    assert rows(spark, folder / "bools.csv", header=True) == [
        (1, 10, 1.5, True, "a"), (2, 20, 2.5, None, "b"), (3, 30, 3.5, None, "c")]


def test_null_value_in_typed_columns(spark, folder):
    assert rows(spark, folder / "nulls.csv", header=True, nullValue="NA") == [
        (1, 10, 1.5, True, "a"), (None, 20, 2.5, None, None)]


def test_a_header_alone_or_blank_lines_read_no_rows(spark, folder):
    assert rows(spark, folder / "header.csv", header=True) == []
    assert rows(spark, folder / "blank.csv") == []
    df = spark.read.csv(str(folder / "header.csv"), schema=SCHEMA, header=True)
    assert df.dtypes == [("i", "int"), ("l", "bigint"), ("d", "double"), ("b", "boolean"),
                         ("s", "string")]


def test_a_selected_typed_column_and_a_filter(spark, folder, F):
    df = spark.read.csv(str(folder / "typed.csv"), schema=SCHEMA, header=True)
    assert [r.l for r in df.where(F.col("l") > 15).select("l").collect()] == [20, 30]
    assert df.where(F.col("b")).count() == 2
