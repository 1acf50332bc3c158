"""Columns and functions: the names Spark gives them, their types (ANSI type coercion:
int / int is a double, int + float a double), their values with NULLs (three-valued
logic), and expression text parsed into the same expressions.

Expected names, types and values were recorded from PySpark 4.3.0; run with
SPARKBOOK_TEST_ENGINE=pyspark to check them against PySpark itself.
"""

from __future__ import annotations


def columns_of(people, F):
    """Column expressions with the name, type and per-row values PySpark gave them."""
    c = F.col
    return [
        (people.age + 1, "(age + 1)", "bigint", [2, 13, 301]),
        (F.upper("name"), "upper(name)", "string", ["ALICE", "BOB", None]),
        (people.age.cast("string"), "age", "string", ["1", "12", "300"]),
        (people.age / 2, "(age / 2)", "double", [0.5, 6.0, 150.0]),
        (F.lit(1), "1", "int", [1, 1, 1]),
        (F.lit("x"), "x", "string", ["x", "x", "x"]),
        (people.age * people.score, "(age * score)", "double", [3.5, None, 100.0]),
        (c("age") > 1, "(age > 1)", "boolean", [False, True, True]),
        ((c("age") > 1) & c("ok"), "((age > 1) AND ok)", "boolean", [False, False, None]),
        (~c("ok"), "(NOT ok)", "boolean", [False, True, None]),
        (c("name").isNull(), "(name IS NULL)", "boolean", [False, False, True]),
        (c("age").isNotNull(), "(age IS NOT NULL)", "boolean", [True, True, True]),
        (c("age").isin(1, 2), "(age IN (1, 2))", "boolean", [True, False, False]),
        (c("age").between(1, 20), "((age >= 1) AND (age <= 20))", "boolean",
         [True, True, False]),
        (c("name").like("A%"), "name LIKE A%", "boolean", [True, False, None]),
        (c("name").startswith("A"), "startswith(name, A)", "boolean", [True, False, None]),
        (c("name").endswith("b"), "endswith(name, b)", "boolean", [False, True, None]),
        (c("name").contains("li"), "contains(name, li)", "boolean", [True, False, None]),
        (F.when(c("age") > 10, "big").otherwise("small"),
         "CASE WHEN (age > 10) THEN big ELSE small END", "string", ["small", "big", "big"]),
        (F.when(c("age") > 10, 1), "CASE WHEN (age > 10) THEN 1 END", "int", [None, 1, 1]),
        (F.coalesce("name", F.lit("none")), "coalesce(name, none)", "string",
         ["Alice", "Bob", "none"]),
        (F.lower("name"), "lower(name)", "string", ["alice", "bob", None]),
        (F.length("name"), "length(name)", "int", [5, 3, None]),
        (F.abs(c("age") - 100), "abs((age - 100))", "bigint", [99, 88, 200]),
        (F.round("score"), "round(score, 0)", "double", [4.0, None, 0.0]),
        (F.round("score", 2), "round(score, 2)", "double", [3.5, None, 0.33]),
        (F.sqrt("age"), "SQRT(age)", "double", [1.0, 3.4641016151377544, 17.320508075688775]),
        (-c("age"), "negative(age)", "bigint", [-1, -12, -300]),
        (c("age") % 5, "(age % 5)", "bigint", [1, 2, 0]),
        (c("age") - 1, "(age - 1)", "bigint", [0, 11, 299]),
        (c("age") == 1, "(age = 1)", "boolean", [True, False, False]),
        (c("age") != 1, "(NOT (age = 1))", "boolean", [False, True, True]),
        (c("age") >= 1, "(age >= 1)", "boolean", [True, True, True]),
        (c("age") <= 1, "(age <= 1)", "boolean", [True, False, False]),
        (c("age") < 1, "(age < 1)", "boolean", [False, False, False]),
        (c("ok") | F.lit(False), "(ok OR false)", "boolean", [True, False, None]),
        (F.expr("age * 2 + 1"), "((age * 2) + 1)", "bigint", [3, 25, 601]),
        (F.expr("upper(name) AS u"), "u", "string", ["ALICE", "BOB", None]),
        (c("name").alias("n"), "n", "string", ["Alice", "Bob", None]),
        (F.lit(None), "NULL", "void", [None, None, None]),
        (F.lit(2**40), "1099511627776", "bigint", [2**40] * 3),
        (F.lit(1.5), "1.5", "double", [1.5] * 3),
        (F.lit(True), "true", "boolean", [True] * 3),
        (c("age").cast("double"), "age", "double", [1.0, 12.0, 300.0]),
        ((c("age") + 1).cast("string"), "CAST((age + 1) AS STRING)", "string",
         ["2", "13", "301"]),
        (c("AGE") + 1, "(AGE + 1)", "bigint", [2, 13, 301]),
        (F.upper("NAME"), "upper(NAME)", "string", ["ALICE", "BOB", None]),
        (F.lit(1) + F.lit(2), "(1 + 2)", "int", [3, 3, 3]),
        (c("age") + 1.5, "(age + 1.5)", "double", [2.5, 13.5, 301.5]),
    ]


class TestColumnNamesTypesAndValues:
    def test_every_column_is_named_typed_and_computed_as_spark_does(self, people, F):
        cases = columns_of(people, F)
        df = people.select(*[col for col, _, _, _ in cases])
        assert df.columns == [name for _, name, _, _ in cases]
        assert [t for _, t in df.dtypes] == [t for _, _, t, _ in cases]
        rows = df.collect()
        for i, (_, name, _, values) in enumerate(cases):
            assert [r[i] for r in rows] == values, name

    def test_expression_text_names(self, people, F):
        texts = ["age + 1", "CASE WHEN age > 1 THEN 'a' ELSE 'b' END", "cast(age as string)",
                 "age IS NULL", "name LIKE 'A%'", "age IN (1, 2)", "age BETWEEN 1 AND 2",
                 "NOT ok", "ok AND age > 1", "coalesce(name, 'x')", "abs(-age)",
                 "round(score, 1)", "length(name)", "-age", "age % 3", "age / 2", "'lit'",
                 "true", "null", "`age`", "age <> 1", "age != 1", "age == 1", "age = 1",
                 "sqrt(age)", "upper(name)", "age IS NOT NULL", "age > 1 OR ok",
                 "2147483648", "1e3"]
        df = people.select(*[F.expr(t) for t in texts])
        assert df.columns == [
            "(age + 1)", "CASE WHEN (age > 1) THEN a ELSE b END", "age", "(age IS NULL)",
            "name LIKE A%", "(age IN (1, 2))", "between(age, 1, 2)", "(NOT ok)",
            "(ok AND (age > 1))", "coalesce(name, x)", "abs((- age))", "round(score, 1)",
            "length(name)", "(- age)", "(age % 3)", "(age / 2)", "lit", "true", "NULL", "age",
            "(NOT (age = 1))", "(NOT (age = 1))", "(age = 1)", "(age = 1)", "SQRT(age)",
            "upper(name)", "(age IS NOT NULL)", "((age > 1) OR ok)", "2147483648", "1000.0"]
        first = df.collect()[0]
        assert first[6] is True and first[10] == 1 and first[13] == -1 and first[29] == 1000.0

    def test_integral_division_in_text(self, people, F):
        df = people.select(F.expr("age div 2"), F.expr("-age div 5"))
        assert df.dtypes == [("(age div 2)", "bigint"), ("((- age) div 5)", "bigint")]
        assert [tuple(r) for r in df.collect()] == [(0, 0), (6, -2), (150, -60)]

    def test_sort_orders_are_named_with_their_nulls(self, people, F):
        assert people.select(F.col("age").asc()).columns == ["age ASC NULLS FIRST"]
        assert people.select(F.col("age").desc()).columns == ["age DESC NULLS LAST"]


class TestArithmeticTypes:
    def test_ansi_types_of_arithmetic(self, spark, F):
        i = spark.createDataFrame([(1, 2, 3.0, 2.5)], "a int, b int, d double, f float")
        df = i.select(i.a + i.b, i.a / i.b, i.a * 2, i.a + 2**40, i.a % i.b, i.a - i.d,
                      i.a + i.f, i.f * 2, F.abs(i.a), F.round(i.a), F.round(i.f, 1),
                      F.sqrt(i.a), F.lit(7) / F.lit(2), -i.a,
                      F.when(i.a > 0, i.a).otherwise(i.d), F.coalesce(i.a, F.lit(2**40)))
        assert df.dtypes == [
            ("(a + b)", "int"), ("(a / b)", "double"), ("(a * 2)", "int"),
            ("(a + 1099511627776)", "bigint"), ("(a % b)", "int"), ("(a - d)", "double"),
            ("(a + f)", "double"), ("(f * 2)", "double"), ("abs(a)", "int"),
            ("round(a, 0)", "int"), ("round(f, 1)", "float"), ("SQRT(a)", "double"),
            ("(7 / 2)", "double"), ("negative(a)", "int"),
            ("CASE WHEN (a > 0) THEN a ELSE d END", "double"),
            ("coalesce(a, 1099511627776)", "bigint")]

    def test_division_remainder_and_rounding_values(self, spark, F):
        i = spark.createDataFrame([(1, 2, 3.0, 2.5)], "a int, b int, d double, f float")
        (row,) = i.select(i.a + i.b, i.a / i.b, i.a % i.b, i.a - i.d, i.a + i.f, i.f * 2,
                          F.round(i.f, 1), F.lit(7) / F.lit(2), F.lit(-7) % F.lit(3),
                          F.lit(7.5) % F.lit(-2), F.round(F.lit(2.5)), F.round(F.lit(-2.5)),
                          F.round(F.lit(0.125), 2), F.round(F.lit(15), -1),
                          F.lit(-7) / F.lit(2)).collect()
        assert list(row) == [3, 0.5, 1, -2.0, 3.5, 5.0, 2.5, 3.5, -1, 1.5, 3.0, -3.0, 0.13,
                             20, -3.5]

    def test_round_rounds_the_decimal_text_of_a_double_half_up(self, spark, F):
        df = spark.createDataFrame([(2.675,), (-2.675,), (1.005,), (1e300,), (float("nan"),),
                                    (None,)], "x double")
        assert [r[0] for r in df.select(F.round("x", 2)).collect()][:4] == [
            2.68, -2.68, 1.01, 1e300]
        rows = df.select(F.round("x", 2), F.round("x", -1)).collect()
        assert rows[4][0] != rows[4][0] and rows[5][0] is None
        assert [r[1] for r in rows[:3]] == [0.0, -0.0, 0.0]

    def test_cast_values(self, spark, F):
        (row,) = spark.createDataFrame([(1.7,)], "a double").select(
            F.col("a").cast("int"), F.col("a").cast("string")).collect()
        assert tuple(row) == (1, "1.7")
        df = spark.createDataFrame([(" 12 ",)], "a string").select(F.col("a").cast("int"))
        assert [tuple(r) for r in df.collect()] == [(12,)]
        doubles = spark.createDataFrame(
            [(1.0e7, 0.001, 1.0, float("nan"), float("inf"), -0.0, 12345678.9, 123.0)],
            "a double, b double, c double, e double, f double, g double, i double, j double")
        (text,) = doubles.select(*[F.col(n).cast("string") for n in "abcefgij"]).collect()
        assert tuple(text) == ("1.0E7", "0.001", "1.0", "NaN", "Infinity", "-0.0",
                               "1.23456789E7", "123.0")

    def test_casts_to_timestamps_dates_and_booleans(self, spark, F):
        import datetime

        s = spark.createDataFrame([("2020-01-02 03:04:05",)], "s string")
        (row,) = s.select(F.col("s").cast("timestamp"), F.col("s").cast("date")).collect()
        assert tuple(row) == (datetime.datetime(2020, 1, 2, 3, 4, 5), datetime.date(2020, 1, 2))
        (secs,) = spark.createDataFrame([(15,)], "s int").select(
            F.col("s").cast("timestamp")).collect()
        assert secs[0] == datetime.datetime.fromtimestamp(15)
        flags = spark.createDataFrame([("true",), ("no",), (None,)], "s string")
        assert [r[0] for r in flags.select(F.col("s").cast("boolean")).collect()] == [
            True, False, None]

    def test_cast_takes_data_types_and_ddl_names(self, people, F, sql_modules):
        T = sql_modules.T
        df = people.select(F.col("age").cast(T.IntegerType()), F.col("age").cast("bigint"),
                           F.col("age").cast(T.StringType()))
        assert df.dtypes == [("age", "int"), ("age", "bigint"), ("age", "string")]


class TestThreeValuedLogic:
    def test_and_or_not_with_nulls(self, spark, F):
        df = spark.createDataFrame([(True, None), (False, None), (None, None)],
                                   "a boolean, b boolean")
        rows = df.select(F.col("a") & F.col("b"), F.col("a") | F.col("b"),
                         ~F.col("b")).collect()
        assert [tuple(r) for r in rows] == [(None, True, None), (False, None, None),
                                            (None, None, None)]

    def test_filter_drops_rows_whose_condition_is_null(self, people, F):
        assert [r.name for r in people.filter(F.col("ok")).collect()] == ["Alice"]
        assert [r.name for r in people.filter(~F.col("ok")).collect()] == ["Bob"]
        assert [r.age for r in people.where(F.col("score") > 0).collect()] == [1, 300]
        assert people.filter(F.col("name") == F.lit(None)).count() == 0

    def test_in_with_a_null_in_the_list(self, spark, F):
        df = spark.createDataFrame([(1,), (3,), (None,)], "x int")
        assert [r[0] for r in df.select(F.col("x").isin(1, None)).collect()] == [
            True, None, None]
