"""DataFrames on sparkbook's executors: building them, printing them (``show()`` compared as
text with what PySpark 4.3 prints), transforming and collecting them.

Expected values and printed text were recorded from PySpark 4.3.0 (local[2]); run with
SPARKBOOK_TEST_ENGINE=pyspark to check every expectation against PySpark itself.
"""

from __future__ import annotations

import pytest
from printing import printed

PEOPLE_COLUMNS = ["name", "age", "score", "ok"]


class TestShow:
    def test_show_prints_nulls_doubles_and_booleans_right_aligned(self, people):
        assert printed(people.show) == (
            "+-----+---+------------------+-----+\n"
            "| name|age|             score|   ok|\n"
            "+-----+---+------------------+-----+\n"
            "|Alice|  1|               3.5| true|\n"
            "|  Bob| 12|              NULL|false|\n"
            "| NULL|300|0.3333333333333333| NULL|\n"
            "+-----+---+------------------+-----+\n"
            "\n")

    def test_show_n_says_how_many_rows_it_showed(self, people):
        assert printed(lambda: people.show(2)) == (
            "+-----+---+-----+-----+\n"
            "| name|age|score|   ok|\n"
            "+-----+---+-----+-----+\n"
            "|Alice|  1|  3.5| true|\n"
            "|  Bob| 12| NULL|false|\n"
            "+-----+---+-----+-----+\n"
            "only showing top 2 rows\n")
        assert printed(lambda: people.show(1)).endswith("only showing top 1 row\n")

    def test_show_vertical_prints_one_record_per_block(self, people):
        assert printed(lambda: people.show(2, vertical=True)) == (
            "-RECORD 0------\n"
            " name  | Alice \n"
            " age   | 1     \n"
            " score | 3.5   \n"
            " ok    | true  \n"
            "-RECORD 1------\n"
            " name  | Bob   \n"
            " age   | 12    \n"
            " score | NULL  \n"
            " ok    | false \n"
            "only showing top 2 rows\n")

    def test_show_truncates_to_twenty_characters_and_writes_doubles_as_java(self, spark):
        df = spark.createDataFrame([("a" * 25, 1e7, 1e-4, 123456789.0, 1.5e300)],
                                   ["s", "a", "b", "c", "d"])
        assert printed(df.show) == (
            "+--------------------+-----+------+------------+-------+\n"
            "|                   s|    a|     b|           c|      d|\n"
            "+--------------------+-----+------+------------+-------+\n"
            "|aaaaaaaaaaaaaaaaa...|1.0E7|1.0E-4|1.23456789E8|1.5E300|\n"
            "+--------------------+-----+------+------------+-------+\n"
            "\n")
        assert printed(lambda: df.show(truncate=False)) == (
            "+-------------------------+-----+------+------------+-------+\n"
            "|s                        |a    |b     |c           |d      |\n"
            "+-------------------------+-----+------+------------+-------+\n"
            "|aaaaaaaaaaaaaaaaaaaaaaaaa|1.0E7|1.0E-4|1.23456789E8|1.5E300|\n"
            "+-------------------------+-----+------+------------+-------+\n"
            "\n")
        assert printed(lambda: df.show(truncate=5)) == (
            "+-----+-----+-----+-----+-----+\n"
            "|    s|    a|    b|    c|    d|\n"
            "+-----+-----+-----+-----+-----+\n"
            "|aa...|1.0E7|1....|1....|1....|\n"
            "+-----+-----+-----+-----+-----+\n"
            "\n")

    def test_show_truncate_below_four_cuts_without_dots(self, people):
        assert printed(lambda: people.show(truncate=3)) == (
            "+----+---+-----+---+\n"
            "|name|age|score| ok|\n"
            "+----+---+-----+---+\n"
            "| Ali|  1|  3.5|tru|\n"
            "| Bob| 12|  NUL|fal|\n"
            "| NUL|300|  0.3|NUL|\n"
            "+----+---+-----+---+\n"
            "\n")

    def test_show_special_doubles_floats_and_wide_characters(self, spark):
        df = spark.createDataFrame([(1.0e7, float("nan"), float("inf"), -0.0, 2.5)],
                                   "a double, b double, c double, e double, f float")
        assert printed(df.show) == (
            "+-----+---+--------+----+---+\n"
            "|    a|  b|       c|   e|  f|\n"
            "+-----+---+--------+----+---+\n"
            "|1.0E7|NaN|Infinity|-0.0|2.5|\n"
            "+-----+---+--------+----+---+\n"
            "\n")
        wide = spark.createDataFrame([("日本語",), ("ab",)], "s string")
        assert printed(wide.show) == (
            "+------+\n|     s|\n+------+\n|日本語|\n|    ab|\n+------+\n\n")

    def test_show_of_zero_rows_still_says_there_are_more(self, people):
        assert printed(lambda: people.show(0)) == (
            "+----+---+-----+---+\n|name|age|score| ok|\n+----+---+-----+---+\n"
            "+----+---+-----+---+\nonly showing top 0 rows\n")

    def test_show_of_no_rows_prints_the_header(self, spark):
        empty = spark.createDataFrame([], "s string, n int")
        assert printed(empty.show) == "+---+---+\n|  s|  n|\n+---+---+\n+---+---+\n\n"

    def test_show_of_dates_timestamps_decimals_and_nested_values(self, spark, sql_modules):
        import datetime
        import decimal

        row = (datetime.datetime(2020, 1, 2, 3, 4, 5), datetime.date(2020, 1, 2),
               decimal.Decimal("1.50"), [1, 2], {"k": 1}, sql_modules.Row(x=1, y="s"),
               bytearray(b"\x01\x02"), datetime.datetime(2020, 1, 2, 3, 4, 5, 120000))
        df = spark.createDataFrame([row], ["ts", "d", "dec", "arr", "m", "st", "bin", "ts2"])
        assert df.dtypes == [("ts", "timestamp"), ("d", "date"), ("dec", "decimal(38,18)"),
                             ("arr", "array<bigint>"), ("m", "map<string,bigint>"),
                             ("st", "struct<x:bigint,y:string>"), ("bin", "binary"),
                             ("ts2", "timestamp")]
        assert printed(df.show) == (
            "+-------------------+----------+--------------------+------+--------+------+"
            "-------+--------------------+\n"
            "|                 ts|         d|                 dec|   arr|       m|    st|"
            "    bin|                 ts2|\n"
            "+-------------------+----------+--------------------+------+--------+------+"
            "-------+--------------------+\n"
            "|2020-01-02 03:04:05|2020-01-02|1.500000000000000000|[1, 2]|{k -> 1}|{1, s}|"
            "[01 02]|2020-01-02 03:04:...|\n"
            "+-------------------+----------+--------------------+------+--------+------+"
            "-------+--------------------+\n"
            "\n")
        (back,) = df.collect()
        assert back.ts2 == datetime.datetime(2020, 1, 2, 3, 4, 5, 120000)
        assert back.dec == decimal.Decimal("1.500000000000000000")
        assert back.m == {"k": 1} and back.st == sql_modules.Row(x=1, y="s")
        assert back.st.y == "s" and back.bin == b"\x01\x02" and back.arr == [1, 2]


class TestSchema:
    def test_inferred_schema_columns_and_dtypes(self, people, sql_modules):
        T = sql_modules.T
        assert people.columns == PEOPLE_COLUMNS
        assert people.dtypes == [("name", "string"), ("age", "bigint"), ("score", "double"),
                                 ("ok", "boolean")]
        assert people.schema == T.StructType([
            T.StructField("name", T.StringType(), True), T.StructField("age", T.LongType()),
            T.StructField("score", T.DoubleType()), T.StructField("ok", T.BooleanType())])
        assert people.schema.simpleString() == ("struct<name:string,age:bigint,score:double,"
                                                "ok:boolean>")

    def test_print_schema(self, people):
        assert printed(people.printSchema) == (
            "root\n"
            " |-- name: string (nullable = true)\n"
            " |-- age: long (nullable = true)\n"
            " |-- score: double (nullable = true)\n"
            " |-- ok: boolean (nullable = true)\n"
            "\n")

    def test_print_schema_of_nested_types(self, spark):
        df = spark.createDataFrame([([1], {"k": 1})], "arr array<bigint>, m map<string,bigint>")
        assert printed(df.printSchema) == (
            "root\n"
            " |-- arr: array (nullable = true)\n"
            " |    |-- element: long (containsNull = true)\n"
            " |-- m: map (nullable = true)\n"
            " |    |-- key: string\n"
            " |    |-- value: long (valueContainsNull = true)\n"
            "\n")

    def test_range_has_one_non_nullable_bigint_id(self, spark):
        df = spark.range(3)
        assert df.dtypes == [("id", "bigint")]
        assert printed(df.printSchema) == "root\n |-- id: long (nullable = false)\n\n"


class TestCreateDataFrame:
    def test_from_tuples_without_names_gets_underscore_names(self, spark):
        df = spark.createDataFrame([(1, "a")])
        assert df.columns == ["_1", "_2"]

    def test_fewer_names_than_fields_keeps_the_rest(self, spark):
        assert spark.createDataFrame([(1, 2)], ["x"]).columns == ["x", "_2"]

    def test_from_dicts_sorts_keys_and_merges_fields(self, spark):
        df = spark.createDataFrame([{"b": 1, "a": "x"}, {"b": None, "a": "y", "c": 2.0}])
        assert df.dtypes == [("a", "string"), ("b", "bigint"), ("c", "double")]
        assert [tuple(r) for r in df.collect()] == [("x", 1, None), ("y", None, 2.0)]

    def test_from_rows_and_with_a_ddl_schema(self, spark, sql_modules):
        Row = sql_modules.Row
        assert spark.createDataFrame([Row(name="A", age=2)]).dtypes == [("name", "string"),
                                                                          ("age", "bigint")]
        df = spark.createDataFrame([Row(name="A", age=2)], "n string, a int")
        assert df.collect() == [Row(n="A", a=2)]
        assert df.dtypes == [("n", "string"), ("a", "int")]

    def test_with_a_struct_type(self, spark, sql_modules):
        T = sql_modules.T
        schema = T.StructType([T.StructField("a", T.IntegerType(), False),
                               T.StructField("b", T.StringType())])
        df = spark.createDataFrame([(1, "x")], schema)
        assert df.schema == schema
        assert df.collect() == [(1, "x")]

    def test_ddl_with_colons_and_not_null(self, spark, sql_modules):
        T = sql_modules.T
        df = spark.createDataFrame([("a", [1])], "name string not null, age array<int>")
        assert df.schema == T.StructType([
            T.StructField("name", T.StringType(), False),
            T.StructField("age", T.ArrayType(T.IntegerType(), True), True)])
        assert spark.createDataFrame([("a", 1)], "name: string, age: int").dtypes == [
            ("name", "string"), ("age", "int")]

    def test_from_an_rdd(self, spark, sc, sql_modules):
        rdd = sc.parallelize([(1, "a"), (2, "b")])
        df = spark.createDataFrame(rdd, ["x", "y"])
        assert df.dtypes == [("x", "bigint"), ("y", "string")]
        assert spark.createDataFrame(rdd).collect() == [sql_modules.Row(_1=1, _2="a"),
                                                        sql_modules.Row(_1=2, _2="b")]

    def test_a_field_inferred_as_string_takes_the_other_values_as_text(self, spark):
        df = spark.createDataFrame([(1,), ("a",)], ["x"])
        assert df.dtypes == [("x", "string")]
        assert [r.x for r in df.collect()] == ["1", "a"]

    def test_empty_with_schema_and_without(self, spark, sql_modules):
        assert spark.createDataFrame([], "x int").collect() == []
        with pytest.raises(sql_modules.errors.PySparkValueError,
                           match=r"\[CANNOT_INFER_EMPTY_SCHEMA\] Can not infer schema from an "
                                 r"empty dataset\."):
            spark.createDataFrame([])

    def test_a_column_of_only_nones_cannot_be_inferred(self, spark, sql_modules):
        with pytest.raises(sql_modules.errors.PySparkValueError,
                           match=r"\[CANNOT_DETERMINE_TYPE\] Some of types cannot be "
                                 r"determined after inferring\."):
            spark.createDataFrame([(None,)], ["x"])

    def test_long_and_double_do_not_merge(self, spark, sql_modules):
        with pytest.raises(sql_modules.errors.PySparkTypeError,
                           match=r"\[CANNOT_MERGE_TYPE\] Can not merge type `LongType` and "
                                 r"`DoubleType`\."):
            spark.createDataFrame([(1,), (2.5,)], ["x"])

    def test_a_value_that_does_not_fit_the_schema(self, spark, sql_modules):
        with pytest.raises(sql_modules.errors.PySparkTypeError,
                           match=r"\[FIELD_DATA_TYPE_UNACCEPTABLE_WITH_NAME\] field x: "
                                 r"IntegerType\(\) can not accept object 'a' in type "
                                 r"<class 'str'>\."):
            spark.createDataFrame([("a",)], "x int").collect()


class TestActions:
    def test_collect_gives_rows(self, people, sql_modules):
        Row = sql_modules.Row
        assert people.collect() == [Row(name="Alice", age=1, score=3.5, ok=True),
                                    Row(name="Bob", age=12, score=None, ok=False),
                                    Row(name=None, age=300, score=1 / 3, ok=None)]
        assert repr(people.first()) == "Row(name='Alice', age=1, score=3.5, ok=True)"

    def test_count_first_head_take(self, people):
        assert people.count() == 3
        assert people.first().name == "Alice"
        assert people.head() == people.first()
        assert [r.name for r in people.head(2)] == ["Alice", "Bob"]
        assert [r.age for r in people.take(1)] == [1]

    def test_limit_and_is_empty(self, people):
        assert people.limit(2).count() == 2
        assert [r.age for r in people.limit(2).collect()] == [1, 12]
        assert people.isEmpty() is False
        assert people.limit(0).isEmpty() is True
        assert people.filter("age > 1000").first() is None

    def test_rdd_is_an_rdd_of_rows_with_the_dataframes_partitions(self, people, sql_modules,
                                                                 spark_module):
        rdd = people.rdd
        assert isinstance(rdd, spark_module.RDD)
        assert rdd.getNumPartitions() == 2
        assert rdd.collect()[:1] == [sql_modules.Row(name="Alice", age=1, score=3.5, ok=True)]
        assert rdd.map(lambda r: r.age).sum() == 313

    def test_range_splits_as_spark_does(self, spark, sql_modules):
        Row = sql_modules.Row
        assert spark.range(0, 10, 3, 2).rdd.glom().collect() == [[Row(id=0), Row(id=3)],
                                                                  [Row(id=6), Row(id=9)]]
        assert spark.range(10).rdd.getNumPartitions() == 2
        assert printed(spark.range(5).show) == (
            "+---+\n| id|\n+---+\n|  0|\n|  1|\n|  2|\n|  3|\n|  4|\n+---+\n\n")
        assert spark.range(1_000_000).filter("id % 7 = 3").count() == 142857


class TestTransformations:
    def test_filter_with_sql_text_and_where_with_a_column(self, people):
        assert printed(people.filter("age > 5").show) == (
            "+----+---+------------------+-----+\n"
            "|name|age|             score|   ok|\n"
            "+----+---+------------------+-----+\n"
            "| Bob| 12|              NULL|false|\n"
            "|NULL|300|0.3333333333333333| NULL|\n"
            "+----+---+------------------+-----+\n"
            "\n")
        assert printed(people.where(people.age > 5).select("name").show) == (
            "+----+\n|name|\n+----+\n| Bob|\n|NULL|\n+----+\n\n")

    def test_a_filter_may_name_a_column_the_select_before_it_dropped(self, people, F):
        df = people.select("name", (F.col("age") / 3).alias("third")).where("age >= 30")
        assert df.columns == ["name", "third"]
        assert [tuple(r) for r in df.collect()] == [(None, 100.0)]
        assert [r.name for r in people.select("name").filter(people.ok).collect()] == ["Alice"]

    def test_with_column_renamed_and_drop(self, people, sql_modules):
        F = sql_modules.F
        df = (people.withColumn("age2", F.col("age") * 2).withColumnRenamed("name", "who")
              .drop("score"))
        assert printed(df.show) == (
            "+-----+---+-----+----+\n"
            "|  who|age|   ok|age2|\n"
            "+-----+---+-----+----+\n"
            "|Alice|  1| true|   2|\n"
            "|  Bob| 12|false|  24|\n"
            "| NULL|300| NULL| 600|\n"
            "+-----+---+-----+----+\n"
            "\n")

    def test_with_column_replaces_a_column_in_place(self, people, sql_modules):
        F = sql_modules.F
        assert people.withColumn("age", F.col("age") * 2).columns == PEOPLE_COLUMNS
        assert people.withColumn("AGE", F.lit(1)).columns == ["name", "AGE", "score", "ok"]
        assert [r.age for r in people.withColumn("age", F.col("age") * 2).collect()] == [
            2, 24, 600]

    def test_drop_ignores_unknown_names_and_takes_columns(self, people):
        assert people.drop("nope").columns == PEOPLE_COLUMNS
        assert people.drop("name", "age").columns == ["score", "ok"]
        assert people.drop(people.name).columns == ["age", "score", "ok"]
        assert people.withColumnRenamed("nope", "x").columns == PEOPLE_COLUMNS

    def test_select_star_names_and_columns(self, people, sql_modules):
        F = sql_modules.F
        assert people.select("*", F.lit(1)).columns == PEOPLE_COLUMNS + ["1"]
        assert people.select(people["*"]).columns == PEOPLE_COLUMNS
        assert people.select(["name", "age"]).columns == ["name", "age"]
        assert people.select(F.col("AGE")).columns == ["AGE"]

    def test_select_expr(self, people):
        df = people.selectExpr("age + 1 as x", "name", "upper(name)")
        assert df.columns == ["x", "name", "upper(name)"]
        assert [tuple(r) for r in df.collect()] == [(2, "Alice", "ALICE"), (13, "Bob", "BOB"),
                                                    (301, None, None)]

    def test_alias_qualifies_names(self, people, sql_modules):
        assert people.alias("p").select("p.name").columns == ["name"]
        with pytest.raises(sql_modules.errors.AnalysisException,
                           match=r"name `p`\.`name` cannot be resolved"):
            people.select("p.name")


class TestExplain:
    def test_explain_prints_the_physical_plan_of_a_range(self, spark):
        assert printed(spark.range(1, 10, 3, 2).explain) == (
            "== Physical Plan ==\n*(1) Range (1, 10, step=3, splits=2)\n\n\n")

    def test_explain_of_a_limit_and_of_casts_negation_and_not(self, people, F):
        limit = printed(people.limit(2).explain)
        assert limit.startswith("== Physical Plan ==\nCollectLimit 2\n+- *(1) Scan "
                                "ExistingRDD[name#")
        text = printed(people.select(F.col("age").cast("string"), -F.col("age"),
                                     ~F.col("ok")).explain)
        project = text.split("\n")[1]
        assert project.startswith("*(1) Project [cast(age#")
        assert " as string) AS age#" in project
        assert " AS negative(age)#" in project and ", -age#" in project
        assert ", NOT ok#" in project and " AS (NOT ok)#" in project

    def test_explain_extended_adds_the_analyzed_plan_with_its_schema(self, people):
        text = printed(lambda: people.filter("age > 0").select("name").explain(True))
        analyzed = text.split("== Analyzed Logical Plan ==\n", 1)[1]
        assert analyzed.startswith("name: string\nProject [name#")
        assert "\n+- Filter (age#" in analyzed and "LogicalRDD [name#" in analyzed
        assert "\n== Physical Plan ==\n*(1) Project [name#" in text

    def test_explain_of_project_and_filter(self, people, sql_modules):
        F = sql_modules.F
        text = printed(people.filter(F.col("age") > 1).select("name", people.age + 1).explain)
        lines = text.split("\n")
        assert lines[0] == "== Physical Plan =="
        assert lines[1].startswith("*(1) Project [name#")
        assert " AS (age + 1)#" in lines[1]
        assert lines[2].startswith("+- *(1) Filter ")
        assert lines[3].startswith("   +- *(1) Scan ExistingRDD[name#")
        assert text.endswith("\n\n\n")


class TestRepartition:
    def test_repartition_and_coalesce_set_the_number_of_partitions(self, spark):
        df = spark.range(0, 100, 1, 4)
        assert df.repartition(3).rdd.getNumPartitions() == 3
        assert df.repartition(5, "id").rdd.getNumPartitions() == 5
        assert df.coalesce(1).rdd.getNumPartitions() == 1
        assert sorted(r.id for r in df.repartition(3).collect()) == list(range(100))
        by_key = df.repartition(4, "id").rdd.glom().collect()
        assert sum(len(p) for p in by_key) == 100
