"""Scalar functions of ``sparkbook.sql.functions``: strings, dates and timestamps, arrays,
maps and structs, and ``explode``. Each is checked for the name PySpark gives its column,
its type, its values with NULLs and, where ANSI mode makes bad input an error, the error;
from the DataFrame API and from SQL text alike, and ``show()`` where the type prints in a
way of its own.

Expected names, types, values and printed tables were recorded from PySpark 4.3.0; run
with SPARKBOOK_TEST_ENGINE=pyspark to check them against PySpark itself.
"""

from __future__ import annotations

import datetime

import pytest
from printing import printed

ROWS = [("a-b-c", " hi ", "2020-01-15", "2020-01-15 10:20:30", 3, [1, 2, None], {"k": 1}),
        (None, "x", "2021-12-31", "2021-12-31 23:59:59.5", None, [5], {}),
        ("x1y22z", None, None, None, 1, None, None)]
SCHEMA = "s string, t string, d string, ts string, n int, arr array<int>, m map<string,int>"


@pytest.fixture(scope="module")
def df(spark):
    frame = spark.createDataFrame(ROWS, SCHEMA)
    frame.createOrReplaceTempView("funcs")
    return frame


def check(frame, expected):
    """``expected``: (name, type, values by row) of each column of ``frame``."""
    assert frame.columns == [name for name, _, _ in expected]
    assert [t for _, t in frame.dtypes] == [t for _, t, _ in expected]
    rows = frame.collect()
    for i, (name, _, values) in enumerate(expected):
        assert [r[i] for r in rows] == values, name


class TestStrings:
    def test_string_functions_are_named_typed_and_computed_as_spark_does(self, df, F):
        c = F.col
        check(df.select(
            F.concat("s", "t"), F.concat_ws("-", "s", "t"), F.split("s", "-"),
            F.split("s", "-", 2), F.regexp_replace("s", r"\d", "X"),
            F.regexp_extract("s", r"(\d+)", 1), F.substring("s", 2, 3),
            F.substring("s", -2, 5), F.trim("t"), F.ltrim("t"), F.rtrim("t"),
            c("s").rlike("^a"), c("s").substr(2, 3), F.initcap("t"), F.lpad("s", 8, "*"),
            F.rpad("s", 3, "*")), [
            ("concat(s, t)", "string", ["a-b-c hi ", None, None]),
            ("concat_ws(-, s, t)", "string", ["a-b-c- hi ", "x", "x1y22z"]),
            ("split(s, -, -1)", "array<string>", [["a", "b", "c"], None, ["x1y22z"]]),
            ("split(s, -, 2)", "array<string>", [["a", "b-c"], None, ["x1y22z"]]),
            ("regexp_replace(s, \\d, X, 1)", "string", ["a-b-c", None, "xXyXXz"]),
            ("regexp_extract(s, (\\d+), 1)", "string", ["", None, "1"]),
            ("substring(s, 2, 3)", "string", ["-b-", None, "1y2"]),
            ("substring(s, -2, 5)", "string", ["-c", None, "2z"]),
            ("trim(t)", "string", ["hi", "x", None]),
            ("ltrim(t)", "string", ["hi ", "x", None]),
            ("rtrim(t)", "string", [" hi", "x", None]),
            ("RLIKE(s, ^a)", "boolean", [True, None, False]),
            ("substr(s, 2, 3)", "string", ["-b-", None, "1y2"]),
            ("initcap(t)", "string", [" Hi ", "X", None]),
            ("lpad(s, 8, *)", "string", ["***a-b-c", None, "**x1y22z"]),
            ("rpad(s, 3, *)", "string", ["a-b", None, "x1y"])])

    def test_numbers_are_strings_to_concat_and_an_empty_pattern_splits_characters(self, df, F):
        c = F.col
        check(df.select(F.concat(c("s"), F.lit(1)), F.concat_ws("-", c("s"), c("n")),
                        F.substring("s", 0, 2), F.regexp_extract("s", r"q(\d+)", 1),
                        F.split("s", "")), [
            ("concat(s, 1)", "string", ["a-b-c1", None, "x1y22z1"]),
            ("concat_ws(-, s, n)", "string", ["a-b-c-3", "", "x1y22z-1"]),
            ("substring(s, 0, 2)", "string", ["a-", None, "x1"]),
            ("regexp_extract(s, q(\\d+), 1)", "string", ["", None, ""]),
            ("split(s, , -1)", "array<string>",
             [["a", "-", "b", "-", "c"], None, ["x", "1", "y", "2", "2", "z"]])])

    def test_concat_ws_joins_the_strings_of_arrays(self, spark, F):
        frame = spark.createDataFrame([("a", ["x", None, "y"]), (None, []), ("b", None)],
                                      "s string, arr array<string>")
        check(frame.select(F.concat_ws(",", "s", "arr"), F.concat_ws("-", "arr")), [
            ("concat_ws(,, s, arr)", "string", ["a,x,y", "", "b"]),
            ("concat_ws(-, arr)", "string", ["x-y", "", ""])])
        grouped = spark.createDataFrame([("k", "a"), ("k", "b"), ("j", None)],
                                        "k string, v string").coalesce(1).groupBy("k").agg(
            F.concat_ws(",", F.collect_list("v")).alias("vs")).orderBy("k")
        assert [tuple(r) for r in grouped.collect()] == [("j", ""), ("k", "a,b")]

    def test_string_functions_in_sql_text(self, spark, df):
        check(spark.sql(
            "select concat(s, t), concat_ws('-', s, t), split(s, '-'), "
            "regexp_replace(s, '[0-9]', 'X'), regexp_extract(s, '([0-9]+)', 1), "
            "substring(s, 2, 3), substr(s, 2), trim(t), s rlike '^a', initcap(t), "
            "lpad(s, 8, '*') from funcs"), [
            ("concat(s, t)", "string", ["a-b-c hi ", None, None]),
            ("concat_ws(-, s, t)", "string", ["a-b-c- hi ", "x", "x1y22z"]),
            ("split(s, -, -1)", "array<string>", [["a", "b", "c"], None, ["x1y22z"]]),
            ("regexp_replace(s, [0-9], X, 1)", "string", ["a-b-c", None, "xXyXXz"]),
            ("regexp_extract(s, ([0-9]+), 1)", "string", ["", None, "1"]),
            ("substring(s, 2, 3)", "string", ["-b-", None, "1y2"]),
            ("substr(s, 2, 2147483647)", "string", ["-b-c", None, "1y22z"]),
            ("trim(t)", "string", ["hi", "x", None]),
            ("RLIKE(s, ^a)", "boolean", [True, None, False]),
            ("initcap(t)", "string", [" Hi ", "X", None]),
            ("lpad(s, 8, *)", "string", ["***a-b-c", None, "**x1y22z"])])

    def test_substring_from_for_in_expression_text(self, df):
        check(df.selectExpr("substring(s from 2 for 2)"), [
            ("substring(s, 2, 2)", "string", ["-b", None, "1y"])])


D = datetime.date
TS = datetime.datetime


class TestDatesAndTimestamps:
    def test_date_functions_are_named_typed_and_computed_as_spark_does(self, df, F):
        check(df.select(
            F.to_date("d"), F.to_date("ts"), F.to_timestamp("ts"),
            F.to_date("d", "yyyy-MM-dd"), F.year("d"), F.month("d"), F.dayofmonth("d"),
            F.dayofweek("d"), F.hour("ts"), F.minute("ts"), F.second("ts"),
            F.date_add("d", 3), F.date_sub("d", 3), F.datediff("d", F.lit("2020-01-01")),
            F.date_format("ts", "yyyy/MM/dd HH:mm"), F.date_format("d", "dd.MM.yy E")), [
            ("to_date(d)", "date", [D(2020, 1, 15), D(2021, 12, 31), None]),
            ("to_date(ts)", "date", [D(2020, 1, 15), D(2021, 12, 31), None]),
            ("to_timestamp(ts)", "timestamp",
             [TS(2020, 1, 15, 10, 20, 30), TS(2021, 12, 31, 23, 59, 59, 500000), None]),
            ("to_date(d, yyyy-MM-dd)", "date", [D(2020, 1, 15), D(2021, 12, 31), None]),
            ("year(d)", "int", [2020, 2021, None]), ("month(d)", "int", [1, 12, None]),
            ("dayofmonth(d)", "int", [15, 31, None]), ("dayofweek(d)", "int", [4, 6, None]),
            ("hour(ts)", "int", [10, 23, None]), ("minute(ts)", "int", [20, 59, None]),
            ("second(ts)", "int", [30, 59, None]),
            ("date_add(d, 3)", "date", [D(2020, 1, 18), D(2022, 1, 3), None]),
            ("date_sub(d, 3)", "date", [D(2020, 1, 12), D(2021, 12, 28), None]),
            ("datediff(d, 2020-01-01)", "int", [14, 730, None]),
            ("date_format(ts, yyyy/MM/dd HH:mm)", "string",
             ["2020/01/15 10:20", "2021/12/31 23:59", None]),
            ("date_format(d, dd.MM.yy E)", "string", ["15.01.20 Wed", "31.12.21 Fri", None])])

    def test_date_functions_in_sql_text(self, spark, df):
        check(spark.sql(
            "select to_date(d), to_timestamp(ts), year(d), month(d), day(d), dayofmonth(d), "
            "dayofweek(d), hour(ts), date_add(d, 1), date_sub(d, 1), "
            "datediff(d, '2020-01-01'), date_format(ts, 'yyyy-MM') from funcs"), [
            ("to_date(d)", "date", [D(2020, 1, 15), D(2021, 12, 31), None]),
            ("to_timestamp(ts)", "timestamp",
             [TS(2020, 1, 15, 10, 20, 30), TS(2021, 12, 31, 23, 59, 59, 500000), None]),
            ("year(d)", "int", [2020, 2021, None]), ("month(d)", "int", [1, 12, None]),
            ("day(d)", "int", [15, 31, None]), ("dayofmonth(d)", "int", [15, 31, None]),
            ("dayofweek(d)", "int", [4, 6, None]), ("hour(ts)", "int", [10, 23, None]),
            ("date_add(d, 1)", "date", [D(2020, 1, 16), D(2022, 1, 1), None]),
            ("date_sub(d, 1)", "date", [D(2020, 1, 14), D(2021, 12, 30), None]),
            ("datediff(d, 2020-01-01)", "int", [14, 730, None]),
            ("date_format(ts, yyyy-MM)", "string", ["2020-01", "2021-12", None])])

    def test_patterns_in_expression_text(self, df):
        check(df.selectExpr("to_date(d, 'yyyy-MM-dd')", "date_format(d, 'MMM d, yyyy')",
                            "current_date() is not null"), [
            ("to_date(d, yyyy-MM-dd)", "date", [D(2020, 1, 15), D(2021, 12, 31), None]),
            ("date_format(d, MMM d, yyyy)", "string", ["Jan 15, 2020", "Dec 31, 2021", None]),
            ("(current_date() IS NOT NULL)", "boolean", [True, True, True])])

    def test_a_pattern_reads_other_orders(self, spark, F):
        check(spark.createDataFrame([("01/02/2020",)], "s string").select(
            F.to_date("s", "MM/dd/yyyy"), F.to_timestamp("s", "MM/dd/yyyy")), [
            ("to_date(s, MM/dd/yyyy)", "date", [D(2020, 1, 2)]),
            ("to_timestamp(s, MM/dd/yyyy)", "timestamp", [TS(2020, 1, 2)])])

    def test_current_date_and_timestamp(self, df, F):
        now = df.select(F.current_date(), F.current_timestamp())
        assert now.dtypes == [("current_date()", "date"), ("current_timestamp()", "timestamp")]
        today, stamp = now.first()
        assert today == D.today() and abs((TS.now() - stamp).total_seconds()) < 60

    def test_cast_of_strings_to_timestamps_and_dates(self, df, F):
        c = F.col
        frame = df.select(c("ts").cast("timestamp"), c("d").cast("date"), c("ts").cast("date"))
        check(frame, [
            ("ts", "timestamp",
             [TS(2020, 1, 15, 10, 20, 30), TS(2021, 12, 31, 23, 59, 59, 500000), None]),
            ("d", "date", [D(2020, 1, 15), D(2021, 12, 31), None]),
            ("ts", "date", [D(2020, 1, 15), D(2021, 12, 31), None])])
        assert printed(lambda: frame.show(truncate=False)) == (
            "+---------------------+----------+----------+\n"
            "|ts                   |d         |ts        |\n"
            "+---------------------+----------+----------+\n"
            "|2020-01-15 10:20:30  |2020-01-15|2020-01-15|\n"
            "|2021-12-31 23:59:59.5|2021-12-31|2021-12-31|\n"
            "|NULL                 |NULL      |NULL      |\n"
            "+---------------------+----------+----------+\n\n")

    def test_the_course_casts_a_time_column_to_a_timestamp(self, spark, F):
        frame = spark.createDataFrame([("Alice", "2023-01-01 10:00:00"), ("Alice", "2023-1-2")],
                                      "name string, time string")
        frame = frame.withColumn("t", F.col("time").cast("timestamp"))
        assert [r.t for r in frame.collect()] == [TS(2023, 1, 1, 10), TS(2023, 1, 2)]
        assert frame.dtypes[-1] == ("t", "timestamp")


class TestAnsiDatetimeErrors:
    @pytest.mark.parametrize("call, function, target", [
        ("to_date", "to_date", "DATE"), ("to_timestamp", "to_timestamp", "TIMESTAMP"),
        ("cast", None, "DATE"), ("cast", None, "TIMESTAMP")])
    def test_a_malformed_string_without_a_pattern(self, spark, F, errors, call, function,
                                                  target):
        bad = spark.createDataFrame([("bad",)], "s string")
        column = (getattr(F, function)("s") if function
                  else F.col("s").cast(target.lower()))
        with pytest.raises(errors.DateTimeException,
                           match=r"\[CAST_INVALID_INPUT\] The value 'bad' of the type "
                                 rf"\"STRING\" cannot be cast to \"{target}\" because it is "
                                 r"malformed\. .*SQLSTATE: 22018"):
            bad.select(column).collect()

    def test_a_string_that_does_not_match_the_pattern(self, spark, F, errors):
        bad = spark.createDataFrame([("bad",)], "s string")
        with pytest.raises(errors.DateTimeException,
                           match=r"\[CANNOT_PARSE_TIMESTAMP\] Text 'bad' could not be parsed "
                                 r"at index 0\. Use `try_to_date` to tolerate invalid input "
                                 r"string and return NULL instead\. SQLSTATE: 22007"):
            bad.select(F.to_date("s", "yyyy-MM-dd")).collect()

    @pytest.mark.parametrize("text, detail", [
        ("2020-02-30", r": Invalid date 'FEBRUARY 30'"), ("2020-1-5", r" at index 5")])
    def test_no_such_day_and_a_field_too_short(self, spark, F, errors, text, detail):
        bad = spark.createDataFrame([(text,)], "s string")
        with pytest.raises(errors.DateTimeException,
                           match=rf"\[CANNOT_PARSE_TIMESTAMP\] Text '{text}' could not be "
                                 rf"parsed{detail}\. Use `try_to_date`"):
            bad.select(F.to_date("s", "yyyy-MM-dd")).collect()

    def test_text_left_after_the_pattern(self, df, F, errors):
        with pytest.raises(errors.DateTimeException,
                           match=r"\[CANNOT_PARSE_TIMESTAMP\] Text '2021-12-31 23:59:59\.5' "
                                 r"could not be parsed, unparsed text found at index 19\. Use "
                                 r"`try_to_timestamp`"):
            df.select(F.to_timestamp("ts", "yyyy-MM-dd HH:mm:ss")).collect()


class TestArraysMapsAndStructs:
    def test_collection_functions(self, df, F):
        c = F.col
        check(df.select(F.array("n", F.lit(5)), F.size("arr"), F.array_contains("arr", 2),
                        F.struct("s", "n"), c("m").getItem("k"), c("m")["k"],
                        F.element_at("arr", 1), F.element_at("arr", -1),
                        F.element_at("m", F.lit("k"))), [
            ("array(n, 5)", "array<int>", [[3, 5], [None, 5], [1, 5]]),
            ("size(arr)", "int", [3, 1, None]),
            ("array_contains(arr, 2)", "boolean", [True, False, None]),
            ("struct(s, n)", "struct<s:string,n:int>",
             [("a-b-c", 3), (None, None), ("x1y22z", 1)]),
            ("m[k]", "int", [1, None, None]), ("m[k]", "int", [1, None, None]),
            ("element_at(arr, 1)", "int", [1, 5, None]),
            ("element_at(arr, -1)", "int", [None, 5, None]),
            ("element_at(m, k)", "int", [1, None, None])])

    def test_array_contains_is_null_when_a_null_element_could_match(self, spark, F):
        frame = spark.createDataFrame([([1, None],), ([1, 3],)], "a array<int>")
        assert [r[0] for r in frame.select(F.array_contains("a", 3)).collect()] == [None, True]

    def test_items_and_fields_in_sql_text(self, spark, df):
        check(spark.sql("select array(n, 1), size(arr), array_contains(arr, 2), struct(s, n), "
                        "arr[0], m['k'], element_at(arr, 1) from funcs"), [
            ("array(n, 1)", "array<int>", [[3, 1], [None, 1], [1, 1]]),
            ("size(arr)", "int", [3, 1, None]),
            ("array_contains(arr, 2)", "boolean", [True, False, None]),
            ("struct(s, n)", "struct<s:string,n:int>",
             [("a-b-c", 3), (None, None), ("x1y22z", 1)]),
            ("arr[0]", "int", [1, 5, None]), ("m[k]", "int", [1, None, None]),
            ("element_at(arr, 1)", "int", [1, 5, None])])

    def test_struct_fields_by_get_field_dotted_names_and_attributes(self, df, F):
        c = F.col
        nested = df.select(F.struct("s", "n").alias("st"))
        check(nested.select(c("st.s"), c("st").getField("n"), c("st")["n"], nested.st.s), [
            ("s", "string", ["a-b-c", None, "x1y22z"]), ("st.n", "int", [3, None, 1]),
            ("st.n", "int", [3, None, 1]), ("st.s", "string", ["a-b-c", None, "x1y22z"])])
        check(nested.selectExpr("st.s", "st.n + 1"), [
            ("s", "string", ["a-b-c", None, "x1y22z"]), ("(st.n + 1)", "int", [4, None, 2])])

    def test_arrays_and_structs_print_as_spark_prints_them(self, df, F):
        frame = df.select(F.array("n", F.lit(5)), F.struct("s", "n"), F.split("s", "-"))
        assert printed(frame.show) == (
            "+-----------+------------+---------------+\n"
            "|array(n, 5)|struct(s, n)|split(s, -, -1)|\n"
            "+-----------+------------+---------------+\n"
            "|     [3, 5]|  {a-b-c, 3}|      [a, b, c]|\n"
            "|  [NULL, 5]|{NULL, NULL}|           NULL|\n"
            "|     [1, 5]| {x1y22z, 1}|       [x1y22z]|\n"
            "+-----------+------------+---------------+\n\n")

    def test_an_index_out_of_bounds_is_an_error(self, spark, F, errors):
        df = spark.createDataFrame([([1, 2, None],)], "arr array<int>")
        with pytest.raises(errors.ArrayIndexOutOfBoundsException,
                           match=r"\[INVALID_ARRAY_INDEX\] The index 5 is out of bounds\. The "
                                 r"array has 3 elements\. Use the SQL function `get\(\)` to "
                                 r"tolerate accessing element at invalid index and return NULL "
                                 r"instead\. SQLSTATE: 22003"):
            df.select(F.col("arr")[5]).collect()
        with pytest.raises(errors.ArrayIndexOutOfBoundsException,
                           match=r"\[INVALID_ARRAY_INDEX_IN_ELEMENT_AT\] The index 5 is out of "
                                 r"bounds\. The array has 3 elements\. Use `try_element_at`"):
            df.select(F.element_at("arr", 5)).collect()

    def test_an_item_of_a_number_is_an_analysis_error(self, df, F, errors):
        with pytest.raises(errors.AnalysisException, match="INVALID_EXTRACT_BASE_FIELD_TYPE"):
            df.select(F.col("n")[0])


class TestExplode:
    def test_explode_gives_a_row_per_element_named_col(self, df, F):
        check(df.select("n", F.explode("arr")), [
            ("n", "int", [3, 3, 3, None]), ("col", "int", [1, 2, None, 5])])

    def test_explode_outer_keeps_null_and_empty_arrays(self, spark, F):
        frame = spark.createDataFrame([(3, [1, 2]), (None, []), (1, None)],
                                      "n int, arr array<int>")
        check(frame.select("n", F.explode_outer("arr")), [
            ("n", "int", [3, 3, None, 1]), ("col", "int", [1, 2, None, None])])
        check(frame.select("n", F.explode("arr")), [
            ("n", "int", [3, 3]), ("col", "int", [1, 2])])

    def test_posexplode_and_maps_and_aliases(self, df, F):
        check(df.select("n", F.posexplode("arr")), [
            ("n", "int", [3, 3, 3, None]), ("pos", "int", [0, 1, 2, 0]),
            ("col", "int", [1, 2, None, 5])])
        check(df.select(F.explode("m")), [("key", "string", ["k"]), ("value", "int", [1])])
        check(df.select(F.explode("arr").alias("x")), [("x", "int", [1, 2, None, 5])])

    def test_two_generators_in_one_select_give_every_pair(self, spark, F):
        frame = spark.createDataFrame([([1, 2],)], "arr array<int>")
        check(frame.select(F.explode("arr"), F.explode("arr")), [
            ("col", "int", [1, 1, 2, 2]), ("col", "int", [1, 2, 1, 2])])

    def test_explode_in_sql_text(self, spark, df):
        check(spark.sql("select n, explode(arr) from funcs"), [
            ("n", "int", [3, 3, 3, None]), ("col", "int", [1, 2, None, 5])])
        check(spark.sql("select posexplode(arr) from funcs"), [
            ("pos", "int", [0, 1, 2, 0]), ("col", "int", [1, 2, None, 5])])

    def test_explode_of_a_number_is_a_type_mismatch(self, df, F, errors):
        with pytest.raises(errors.AnalysisException,
                           match=r"\[DATATYPE_MISMATCH\.UNEXPECTED_INPUT_TYPE\] Cannot resolve "
                                 r"\"explode\(n\)\" due to data type mismatch: The first "
                                 r"parameter requires the \(\"ARRAY\" or \"MAP\"\) type, however "
                                 r"\"n\" has the type \"INT\"\."):
            df.select(F.explode("n"))

    @pytest.mark.sparkbook_only
    def test_explode_is_a_generate_in_the_stage(self, df, F):
        text = printed(df.select("n", F.explode("arr")).explain)
        assert "Generate explode(arr#" in text and text.startswith(
            "== Physical Plan ==\n*(1) Project [n#")


class TestDecimalLiterals:
    def test_a_number_with_a_point_is_a_decimal_of_its_digits(self, spark):
        import decimal

        dec = decimal.Decimal
        check(spark.sql("select 1.5 + 1, 1.5, 1e3, 0.1 * 3, 2.50, 1.5 * 2.25, 10 / 4.0, "
                        "cast(1.5 as double) + 1, 1 / 3.0, 2.5 - 0.75"), [
            ("(1.5 + 1)", "decimal(3,1)", [dec("2.5")]), ("1.5", "decimal(2,1)", [dec("1.5")]),
            ("1000.0", "double", [1000.0]), ("(0.1 * 3)", "decimal(3,1)", [dec("0.3")]),
            ("2.50", "decimal(3,2)", [dec("2.50")]),
            ("(1.5 * 2.25)", "decimal(6,3)", [dec("3.375")]),
            ("(10 / 4.0)", "decimal(9,6)", [dec("2.500000")]),
            ("(CAST(1.5 AS DOUBLE) + 1)", "double", [2.5]),
            ("(1 / 3.0)", "decimal(8,6)", [dec("0.333333")]),
            ("(2.5 - 0.75)", "decimal(4,2)", [dec("1.75")])])
        assert printed(spark.sql("select 1.5 + 1").printSchema) == (
            "root\n |-- (1.5 + 1): decimal(3,1) (nullable = true)\n\n")

    def test_decimal_literals_with_integer_columns(self, spark):
        import decimal

        dec = decimal.Decimal
        frame = spark.createDataFrame([(1, 300), (2, 1)], "a int, b bigint")
        check(frame.selectExpr("a + 1.5", "a * 0.5", "b / 2.0"), [
            ("(a + 1.5)", "decimal(12,1)", [dec("2.5"), dec("3.5")]),
            ("(a * 0.5)", "decimal(12,1)", [dec("0.5"), dec("1.0")]),
            ("(b / 2.0)", "decimal(27,6)", [dec("150.000000"), dec("0.500000")])])
        # A bigint compared with 1.5 meets it in a wider decimal, not in the literal's.
        assert [r.b for r in frame.filter("b > 1.5").collect()] == [300]


class TestMoreOfThem:
    def test_more_pattern_letters(self, spark, F):
        frame = spark.createDataFrame([("2020-01-02 13:04:05.123", "2020-01-02 01:04 PM",
                                        "15 Jan 2020")], "a string, b string, c string")
        check(frame.select(
            F.date_format(F.col("a").cast("timestamp"), "h:mm a, EEEE MMMM D, SSS"),
            F.to_timestamp("b", "yyyy-MM-dd hh:mm a"), F.to_date("c", "dd MMM yyyy")), [
            ("date_format(CAST(a AS TIMESTAMP), h:mm a, EEEE MMMM D, SSS)", "string",
             ["1:04 PM, Thursday January 2, 123"]),
            ("to_timestamp(b, yyyy-MM-dd hh:mm a)", "timestamp", [TS(2020, 1, 2, 13, 4)]),
            ("to_date(c, dd MMM yyyy)", "date", [D(2020, 1, 15)])])

    def test_posexplode_takes_a_name_for_each_column(self, df, F):
        check(df.select(F.posexplode("arr").alias("p", "v")), [
            ("p", "int", [0, 1, 2, 0]), ("v", "int", [1, 2, None, 5])])

    def test_a_generator_inside_an_expression_is_an_analysis_error(self, df, F, errors):
        with pytest.raises(errors.AnalysisException,
                           match=r"\[UNSUPPORTED_GENERATOR\.NESTED_IN_EXPRESSIONS\] The "
                                 r"generator is not supported: nested in expressions "
                                 r"\"\(explode\(arr\) \+ 1\)\"\. SQLSTATE: 42K0E"):
            df.select(F.explode("arr") + 1)

    def test_a_missing_struct_field(self, df, F, errors):
        nested = df.select(F.struct("s", "n").alias("st"))
        for column in (F.col("st.zz"), F.col("st").getField("zz")):
            with pytest.raises(errors.AnalysisException,
                               match=r"\[FIELD_NOT_FOUND\] No such struct field `zz` in `s`, "
                                     r"`n`\. SQLSTATE: 42704"):
                nested.select(column)

    @pytest.mark.sparkbook_only
    def test_a_pattern_from_a_column_is_a_clear_analysis_error(self, df, F, errors):
        # Spark reads a pattern per row; sparkbook's kernels take it as a literal.
        with pytest.raises(errors.AnalysisException,
                           match=r"\[DATATYPE_MISMATCH\.NON_FOLDABLE_INPUT\] Cannot resolve "
                                 r"\"split\(s, t, -1\)\" due to data type mismatch: the input "
                                 r"\"t\" should be a foldable \"STRING\" expression"):
            df.select(F.split("s", F.col("t")))

    def test_schemas_of_collections(self, df, F):
        frame = df.select(F.split("s", "-"), F.array("n", F.lit(5)), F.struct("s", "n"),
                          F.size("arr"), F.explode("m"))
        assert printed(frame.printSchema) == (
            "root\n"
            " |-- split(s, -, -1): array (nullable = true)\n"
            " |    |-- element: string (containsNull = false)\n"
            " |-- array(n, 5): array (nullable = false)\n"
            " |    |-- element: integer (containsNull = true)\n"
            " |-- struct(s, n): struct (nullable = false)\n"
            " |    |-- s: string (nullable = true)\n"
            " |    |-- n: integer (nullable = true)\n"
            " |-- size(arr): integer (nullable = true)\n"
            " |-- key: string (nullable = false)\n"
            " |-- value: integer (nullable = true)\n\n")

    def test_lateral_view_in_sql_text(self, spark, df):
        check(spark.sql("select n, x from funcs lateral view explode(arr) e as x"), [
            ("n", "int", [3, 3, 3, None]), ("x", "int", [1, 2, None, 5])])
        check(spark.sql("select n, p, v from funcs lateral view outer posexplode(arr) e "
                        "as p, v"), [
            ("n", "int", [3, 3, 3, None, 1]), ("p", "int", [0, 1, 2, 0, None]),
            ("v", "int", [1, 2, None, 5, None])])

    def test_trim_of_other_characters_is_named_as_spark_names_it(self, spark, F):
        frame = spark.createDataFrame([("xxhixx",)], "t string")
        expected = [("TRIM(BOTH x FROM t)", "string", ["hi"]),
                    ("TRIM(LEADING x FROM t)", "string", ["hixx"]),
                    ("TRIM(TRAILING x FROM t)", "string", ["xxhi"])]
        check(frame.select(F.trim("t", F.lit("x")), F.ltrim("t", F.lit("x")),
                           F.rtrim("t", F.lit("x"))), expected)
        check(frame.selectExpr("trim(both 'x' from t)", "trim(leading 'x' from t)",
                               "rtrim('x', t)"), expected)


def test_try_cast_is_null_where_cast_would_fail(spark, df, F):
    frame = spark.createDataFrame([("1",), (" 2",), ("3.0",), (None,), ("x",)], "s string")
    check(frame.select(F.col("s").try_cast("int"), F.expr("try_cast(s AS double)"),
                       F.expr("try_cast(s AS date)"), F.expr("try_cast('9999999999' AS int)")), [
        ("s", "int", [1, 2, None, None, None]),
        ("s", "double", [1.0, 2.0, 3.0, None, None]),
        ("s", "date", [None] * 5),
        ("TRY_CAST(9999999999 AS INT)", "int", [None] * 5)])
    rows = spark.sql("SELECT try_cast(s AS int) AS n, CAST(n AS string) AS t FROM funcs").collect()
    assert [(r.n, r.t) for r in rows] == [(None, "3"), (None, None), (None, "1")]


def test_sort_array_puts_nulls_first_ascending_and_last_descending(df, F, spark):
    check(df.select(F.sort_array("arr"), F.sort_array("arr", asc=False)), [
        ("sort_array(arr, true)", "array<int>", [[None, 1, 2], [5], None]),
        ("sort_array(arr, false)", "array<int>", [[2, 1, None], [5], None])])
    rows = spark.sql("SELECT sort_array(arr) AS a FROM funcs").collect()
    assert [r.a for r in rows] == [[None, 1, 2], [5], None]


def test_a_timestamp_cast_to_a_number_is_seconds_since_the_epoch(spark, F):
    frame = spark.createDataFrame([("2024-01-01 10:00:00.75",), ("1969-12-31 23:59:59.5",),
                                   (None,)], "s string").select(F.col("s").cast("timestamp"))
    rows = frame.select(F.col("s").cast("long"), F.col("s").cast("int"),
                        F.col("s").cast("double")).collect()
    assert [tuple(r) for r in rows] == [(1704103200, 1704103200, 1704103200.75),
                                        (-1, -1, -0.5), (None, None, None)]
