"""Python UDFs: ``udf(f, returnType)``, the ``@udf`` decorator, ``spark.udf.register`` for
SQL text. The function runs on the executors, batch by batch; its column is named as
PySpark names it (``f(a)``), typed as declared (string by default), and an exception inside
it reaches the driver with its type, message and traceback.

Expected results were recorded from PySpark 4.3.0; run with SPARKBOOK_TEST_ENGINE=pyspark
to check them against PySpark itself. The functions are defined inside the tests, so
cloudpickle ships them by value (a test module is not importable on an executor).
"""

from __future__ import annotations

import pytest
from printing import printed


@pytest.fixture(scope="module")
def df(spark):
    return spark.createDataFrame([("a-b-c", 3), (None, None), ("x1y22z", 1)], "s string, n int")


def test_udf_and_the_decorator_are_named_typed_and_computed(df, F, T):
    @F.udf(returnType=T.IntegerType())
    def plus1(x):
        return None if x is None else x + 1

    upper = F.udf(lambda s: s.upper() if s else s)
    frame = df.select(plus1("n"), upper("s"), plus1(F.col("n") + 1))
    assert frame.dtypes == [("plus1(n)", "int"), ("<lambda>(s)", "string"),
                            ("plus1((n + 1))", "int")]
    assert [tuple(r) for r in frame.collect()] == [(4, "A-B-C", 5), (None, None, None),
                                                   (2, "X1Y22Z", 3)]
    assert printed(frame.show) == (
        "+--------+-----------+--------------+\n"
        "|plus1(n)|<lambda>(s)|plus1((n + 1))|\n"
        "+--------+-----------+--------------+\n"
        "|       4|      A-B-C|             5|\n"
        "|    NULL|       NULL|          NULL|\n"
        "|       2|     X1Y22Z|             3|\n"
        "+--------+-----------+--------------+\n\n")


def test_the_default_type_is_string_and_arrays_are_built_as_declared(df, F, T):
    assert [r[0] for r in df.select(F.udf(lambda x: x)("n")).collect()] == ["3", None, "1"]
    twice = df.select(F.udf(lambda x: [x, x], T.ArrayType(T.IntegerType()))("n"))
    assert twice.dtypes == [("<lambda>(n)", "array<int>")]
    assert [r[0] for r in twice.collect()] == [[3, 3], [None, None], [1, 1]]


def test_a_ddl_return_type_and_several_arguments(df, F):
    joined = F.udf(lambda s, n: f"{s}:{n}", "string")
    counted = F.udf(lambda s: len(s or ""), "int")
    frame = df.select(joined("s", "n"), counted("s"))
    assert frame.dtypes == [("<lambda>(s, n)", "string"), ("<lambda>(s)", "int")]
    assert [tuple(r) for r in frame.collect()] == [("a-b-c:3", 5), ("None:None", 0),
                                                   ("x1y22z:1", 6)]


def test_an_exception_in_the_udf_reaches_the_driver_with_its_type_and_traceback(df, F,
                                                                              errors):
    def bad(x):
        raise ValueError(f"boom {x}")

    with pytest.raises(errors.PythonException) as info:
        df.filter(F.col("n") == 3).select(F.udf(bad)("n")).collect()
    text = str(info.value)
    assert "ValueError: boom 3" in text and "Traceback (most recent call last)" in text
    assert ", in bad" in text  # the UDF's own frame


def test_a_registered_udf_is_called_from_sql_text(spark, df, T):
    spark.udf.register("plus_one", lambda x: x + 1 if x is not None else None, T.LongType())
    df.createOrReplaceTempView("udf_input")
    frame = spark.sql("select plus_one(n) from udf_input")
    assert frame.dtypes == [("plus_one(n)", "bigint")]
    assert [r[0] for r in frame.collect()] == [4, None, 2]
    assert [r[0] for r in df.selectExpr("plus_one(n) * 2").collect()] == [8, None, 4]
