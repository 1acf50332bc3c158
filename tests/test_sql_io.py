"""``spark.read`` and ``df.write``: CSV with a header and Spark's type inference, JSON lines,
text and parquet; files, folders and globs; the course's monsters CSV filtered, ordered and
adjusted with ``when``; writing part files, ``_SUCCESS``, ``partitionBy`` folders and the
save modes, read back equal.

Expected values and printed text were recorded from PySpark 4.3.0 (local[2]); run with
SPARKBOOK_TEST_ENGINE=pyspark to check every expectation against PySpark itself.
"""

from __future__ import annotations

import os
import pathlib

import pytest
from printing import printed

MONSTERS = str(pathlib.Path(__file__).parent.parent / "notebooks" / "data" / "monsters.csv")

MIXED_CSV = ('a,b,c,d,e,f\n1,2.5,x,true,2020-01-02,2020-01-02 03:04:05\n,3,"y,z",false,,\n'
             '3000000000,NA,NA,NA,2021-02-03,\n')
MIXED_JSON = ('{"a":1,"b":"x","c":1.5,"d":true}\n{"a":null,"b":"y","e":[1,2]}\n'
              '{"a":3000000000,"f":{"g":1}}\n')


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> pathlib.Path:
    folder = tmp_path_factory.mktemp("io")
    (folder / "mixed.csv").write_text(MIXED_CSV)
    (folder / "mixed.json").write_text(MIXED_JSON)
    return folder


def schema_text(df) -> str:
    return printed(df.printSchema)


def test_the_course_example_monsters_filtered_ordered_and_adjusted(spark, F):
    monsters = spark.read.csv(MONSTERS, header=True, inferSchema=True)
    assert monsters.dtypes == [("name", "string"), ("type", "string"), ("size", "string"),
                               ("challenge_rating", "double"), ("speeds", "string"),
                               ("str", "int"), ("dex", "int"), ("con", "int"), ("int", "int"),
                               ("wis", "int"), ("cha", "int")]
    strong = (monsters.filter(F.col("challenge_rating") >= 20)
              .orderBy(F.desc("challenge_rating"), "name")
              .withColumn("str", F.when(F.col("size") == "Huge", F.col("str") + 2)
                          .otherwise(F.col("str")))
              .select("name", "type", "size", "challenge_rating", "str"))
    assert printed(lambda: strong.show(10)) == (
        "+--------------+-----------+----------+----------------+---+\n"
        "|          name|       type|      size|challenge_rating|str|\n"
        "+--------------+-----------+----------+----------------+---+\n"
        "|    Belix 1952|  elemental|Gargantuan|            30.0| 17|\n"
        "|   Belquo 1289|     undead|    Medium|            30.0|  6|\n"
        "|    Drafen 274|      beast|     Large|            30.0|  6|\n"
        "|  Draixur 1969|     dragon|Gargantuan|            30.0|  8|\n"
        "|     Draka 853|monstrosity|     Large|            30.0|  6|\n"
        "|   Dralim 1189|  construct|     Small|            30.0| 12|\n"
        "|    Draost 503|     dragon|     Large|            30.0| 23|\n"
        "|Drathragor 375|  construct|    Medium|            30.0| 20|\n"
        "|   Draurix 164|       ooze|     Large|            30.0| 13|\n"
        "| Fenithix 1954|  elemental|      Tiny|            30.0| 16|\n"
        "+--------------+-----------+----------+----------------+---+\n"
        "only showing top 10 rows\n")
    assert strong.count() == 672


def test_a_header_alone_reads_every_column_as_a_string(spark):
    monsters = spark.read.csv(MONSTERS, header=True)
    assert {t for _, t in monsters.dtypes} == {"string"}
    assert monsters.count() == 2000


class TestCsv:
    def test_types_inferred_as_spark_infers_them(self, spark, data):
        df = spark.read.csv(str(data / "mixed.csv"), header=True, inferSchema=True)
        assert df.dtypes == [("a", "bigint"), ("b", "string"), ("c", "string"),
                             ("d", "string"), ("e", "date"), ("f", "timestamp")]
        assert printed(df.show) == (
            "+----------+---+---+-----+----------+-------------------+\n"
            "|         a|  b|  c|    d|         e|                  f|\n"
            "+----------+---+---+-----+----------+-------------------+\n"
            "|         1|2.5|  x| true|2020-01-02|2020-01-02 03:04:05|\n"
            "|      NULL|  3|y,z|false|      NULL|               NULL|\n"
            "|3000000000| NA| NA|   NA|2021-02-03|               NULL|\n"
            "+----------+---+---+-----+----------+-------------------+\n\n")

    def test_null_value_turns_text_into_nulls_before_inference(self, spark, data):
        df = spark.read.csv(str(data / "mixed.csv"), header=True, inferSchema=True,
                            nullValue="NA")
        assert df.dtypes == [("a", "bigint"), ("b", "double"), ("c", "string"),
                             ("d", "boolean"), ("e", "date"), ("f", "timestamp")]
        assert [tuple(r)[:4] for r in df.collect()] == [
            (1, 2.5, "x", True), (None, 3.0, "y,z", False), (3000000000, None, None, None)]

    def test_without_a_header_columns_are_c0_c1(self, spark, data):
        df = spark.read.csv(str(data / "mixed.csv"))
        assert df.columns == ["_c0", "_c1", "_c2", "_c3", "_c4", "_c5"]
        assert df.count() == 4

    def test_header_names_are_the_text_as_it_is(self, spark, tmp_path):
        # Spark's makeSafeHeader: a value is a name as written (no number or boolean read
        # into it); an empty one, or the nullValue, is _c<i>; a UTF-8 BOM is no part of it.
        path = tmp_path / "names.csv"
        path.write_bytes('\ufeff1.50,true,,"a,b",NA,x\r\n1,2,3,4,5,6\r\n'.encode())
        assert spark.read.csv(str(path), header=True).columns == [
            "1.50", "true", "_c2", "a,b", "NA", "x"]
        assert spark.read.csv(str(path), header=True, nullValue="NA").columns == [
            "1.50", "true", "_c2", "a,b", "_c4", "x"]
        assert spark.read.csv(str(path), header=True, inferSchema=True).dtypes[0] == (
            "1.50", "int")
        long_name = tmp_path / "long.csv"
        long_name.write_text("x" * 200_000 + ",b\n1,2\n")  # past the csv module's limit
        assert [len(c) for c in spark.read.csv(str(long_name), header=True).columns] == [
            200_000, 1]

    def test_a_schema_as_ddl_or_struct_and_a_separator(self, spark, data, T, tmp_path):
        (tmp_path / "semi.csv").write_text("x;y\n1;'a;b'\n2;\n")
        df = spark.read.csv(str(tmp_path / "semi.csv"), schema="x int, y string", sep=";",
                            quote="'", header=True)
        assert [tuple(r) for r in df.collect()] == [(1, "a;b"), (2, None)]
        struct = T.StructType([T.StructField("x", T.LongType()),
                               T.StructField("y", T.StringType())])
        df = (spark.read.format("csv").schema(struct).option("delimiter", ";")
              .options(header=True, quote="'").load(str(tmp_path / "semi.csv")))
        assert df.dtypes == [("x", "bigint"), ("y", "string")]

    def test_a_folder_and_a_glob_read_every_file(self, spark, tmp_path):
        for i in range(3):
            (tmp_path / f"part{i}.csv").write_text(f"n\n{i}\n{i + 10}\n")
        (tmp_path / "_ignored.csv").write_text("n\n99\n")
        folder = spark.read.csv(str(tmp_path), header=True, inferSchema=True)
        assert sorted(r.n for r in folder.collect()) == [0, 1, 2, 10, 11, 12]
        glob = spark.read.csv(str(tmp_path / "part[01].csv"), header=True)
        assert glob.count() == 4

    def test_a_missing_path(self, spark, errors, tmp_path):
        missing = str(tmp_path / "nothere.csv")
        with pytest.raises(errors.AnalysisException) as info:
            spark.read.csv(missing)
        assert str(info.value) == (f"[PATH_NOT_FOUND] Path does not exist: file:{missing}. "
                                   f"SQLSTATE: 42K03")


def test_json_lines_inferred_with_nested_types(spark, data):
    df = spark.read.json(str(data / "mixed.json"))
    assert schema_text(df) == (
        "root\n"
        " |-- a: long (nullable = true)\n"
        " |-- b: string (nullable = true)\n"
        " |-- c: double (nullable = true)\n"
        " |-- d: boolean (nullable = true)\n"
        " |-- e: array (nullable = true)\n"
        " |    |-- element: long (containsNull = true)\n"
        " |-- f: struct (nullable = true)\n"
        " |    |-- g: long (nullable = true)\n\n")
    assert printed(df.show) == (
        "+----------+----+----+----+------+----+\n"
        "|         a|   b|   c|   d|     e|   f|\n"
        "+----------+----+----+----+------+----+\n"
        "|         1|   x| 1.5|true|  NULL|NULL|\n"
        "|      NULL|   y|NULL|NULL|[1, 2]|NULL|\n"
        "|3000000000|NULL|NULL|NULL|  NULL| {1}|\n"
        "+----------+----+----+----+------+----+\n\n")


def test_text_reads_one_value_column_of_lines(spark, data):
    df = spark.read.text(str(data / "mixed.csv"))
    assert df.dtypes == [("value", "string")]
    assert printed(df.show) == (
        "+--------------------+\n"
        "|               value|\n"
        "+--------------------+\n"
        "|         a,b,c,d,e,f|\n"
        "|1,2.5,x,true,2020...|\n"
        "|    ,3,\"y,z\",false,,|\n"
        "|3000000000,NA,NA,...|\n"
        "+--------------------+\n\n")


@pytest.fixture(scope="module")
def frame(spark):
    return spark.createDataFrame([("a", 1, 1.5, True), ("b", None, None, None),
                                  ("a", 3, 3.0, False)], "k string, n int, d double, b boolean")


def part_files(folder) -> list[str]:
    return sorted(f for f in os.listdir(folder) if f.startswith("part-"))


class TestWrite:
    def test_one_part_file_per_partition_and_success(self, spark, tmp_path):
        out = str(tmp_path / "nums")
        spark.range(10).repartition(3).write.mode("overwrite").json(out)
        names = sorted(f for f in os.listdir(out) if not f.startswith("."))
        assert names[0] == "_SUCCESS" and len(names) == 4
        assert all(n.startswith(f"part-0000{i}-") and n.endswith("-c000.json")
                   for i, n in enumerate(names[1:]))
        assert sorted(r.id for r in spark.read.json(out).collect()) == list(range(10))

    def test_partition_by_writes_hive_folders_read_back_as_columns(self, spark, frame,
                                                                   tmp_path):
        out = str(tmp_path / "pq")
        frame.write.partitionBy("k").parquet(out)
        assert sorted(f for f in os.listdir(out) if not f.startswith(".")) == [
            "_SUCCESS", "k=a", "k=b"]
        back = spark.read.parquet(out)
        assert back.dtypes == [("n", "int"), ("d", "double"), ("b", "boolean"), ("k", "string")]
        assert sorted((r.k, r.n) for r in back.collect() if r.n is not None) == [
            ("a", 1), ("a", 3)]

    def test_a_parquet_file_without_a_column_reads_it_as_null(self, spark, tmp_path):
        out = str(tmp_path / "pq")
        spark.createDataFrame([(1, 10)], "a bigint, b bigint").write.parquet(out)
        spark.createDataFrame([(2,)], "a bigint").write.mode("append").parquet(out)
        back = spark.read.schema("a bigint, b bigint").parquet(out)
        assert sorted(map(tuple, back.collect())) == [(1, 10), (2, None)]
        # (a pushed filter, which chooses row groups by their statistics, too)
        assert sorted(map(tuple, back.filter("a > 1").collect())) == [(2, None)]

    def test_csv_with_a_header_round_trips(self, spark, frame, tmp_path):
        out = str(tmp_path / "csv")
        frame.coalesce(1).write.option("header", True).csv(out)
        [name] = part_files(out)
        text = open(os.path.join(out, name)).read()
        assert text == "k,n,d,b\na,1,1.5,true\nb,,,\na,3,3.0,false\n"
        back = spark.read.csv(out, header=True, inferSchema=True)
        assert back.dtypes == frame.dtypes
        assert sorted(map(tuple, back.collect()), key=str) == sorted(
            map(tuple, frame.collect()), key=str)

    def test_save_modes(self, spark, frame, errors, tmp_path):
        out = str(tmp_path / "modes")
        frame.write.parquet(out)
        with pytest.raises(errors.AnalysisException) as info:
            frame.write.parquet(out)
        assert str(info.value) == (
            f'[PATH_ALREADY_EXISTS] Path file:{out} already exists. Set mode as "overwrite" '
            f'to overwrite the existing path. SQLSTATE: 42K04')
        frame.write.mode("append").parquet(out)
        assert spark.read.parquet(out).count() == 6
        frame.write.mode("ignore").parquet(out)
        assert spark.read.parquet(out).count() == 6
        frame.limit(1).write.mode("overwrite").format("parquet").save(out)
        assert spark.read.parquet(out).count() == 1
