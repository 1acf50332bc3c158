"""CSV parse modes: PERMISSIVE (a value that does not parse is NULL; a row of too few or too
many values padded or cut; ``columnNameOfCorruptRecord`` holding a malformed row's text),
DROPMALFORMED and FAILFAST; only the columns a query reads are parsed (Spark's CSV column
pruning), so what is malformed depends on them. And a file of many blocks and splits read
a block at a time, with malformed rows in every block.

Expected values were recorded from PySpark 4.3.0 (local[1]); run with
SPARKBOOK_TEST_ENGINE=pyspark to check every expectation against PySpark itself (which
raises FAILFAST's error as a Py4JJavaError around the SparkException).
"""

from __future__ import annotations

import pytest

SCHEMA = "a int, b string"
WITH_CORRUPT = "a int, b string, _corrupt_record string"
VALUES = "a int, t date, b boolean, y byte"
# A bad int, a row of one value, a row of three.
MALFORMED = "a,b\n1,x\nbad,y\n3\n4,z,extra\n5,w\n"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("csv_modes")
    (path / "m.csv").write_text(MALFORMED)
    (path / "values.csv").write_text("a,t,b,y\n1,2020-01-01,true,1\n2,notadate,yes,1.5\n"
                                     "3,2020-13-45,TRUE,300\n99999999999,,false,2\n")
    (path / "blank.csv").write_text("a,b\n1,x\n\n   \n2,y\n")
    return path


def read(spark, path, schema=SCHEMA, **options):
    return spark.read.csv(str(path), header=True, schema=schema, **options)


def rows(df) -> list[tuple]:
    return [tuple(r) for r in df.collect()]


def failfast_message(action) -> str:
    # PySpark raises a Py4JJavaError, sparkbook the SparkException's own class.
    with pytest.raises(Exception) as info:
        action()
    return str(info.value)


class TestPermissive:
    def test_a_bad_value_is_null_and_short_or_long_rows_are_padded_or_cut(self, spark,
                                                                           folder):
        expected = [(1, "x"), (None, "y"), (3, None), (4, "z"), (5, "w")]
        assert rows(read(spark, folder / "m.csv")) == expected
        # The default, in any case; a mode Spark does not know is PERMISSIVE too.
        for mode in ("permissive", "PERMISSIVE", "nonsense"):
            assert rows(read(spark, folder / "m.csv", mode=mode)) == expected

    def test_the_corrupt_record_column_holds_a_malformed_rows_text(self, spark, folder):
        df = read(spark, folder / "m.csv", WITH_CORRUPT)
        assert rows(df) == [(1, "x", None), (None, "y", "bad,y"), (3, None, "3"),
                            (4, "z", "4,z,extra"), (5, "w", None)]
        # Reading a and _corrupt_record only, no row's width is checked.
        assert rows(df.where("_corrupt_record is not null").select("a")) == [(None,)]

    def test_the_corrupt_record_column_anywhere_and_by_another_name(self, spark, folder):
        middle = read(spark, folder / "m.csv", "a int, _corrupt_record string, b string")
        assert rows(middle) == [(1, None, "x"), (None, "bad,y", "y"), (3, "3", None),
                                (4, "4,z,extra", "z"), (5, None, "w")]
        named = read(spark, folder / "m.csv", "a int, b string, bad string",
                     columnNameOfCorruptRecord="bad")
        assert [r.bad for r in named.collect()] == [None, "bad,y", "3", "4,z,extra", None]

    def test_only_the_columns_read_are_parsed(self, spark, folder):
        df = read(spark, folder / "m.csv", WITH_CORRUPT)
        # Not every column read: a row's width is not checked, a bad b is no matter.
        assert rows(df.select("a", "_corrupt_record")) == [
            (1, None), (None, "bad,y"), (3, None), (4, None), (5, None)]
        assert rows(df.select("b", "_corrupt_record")) == [
            ("x", None), ("y", None), (None, None), ("z", None), ("w", None)]

    def test_values_of_each_type_that_do_not_parse(self, spark, folder):
        df = read(spark, folder / "values.csv", VALUES)
        assert [(r.a, r.t and r.t.isoformat(), r.b, r.y) for r in df.collect()] == [
            (1, "2020-01-01", True, 1), (2, None, None, None), (3, None, True, None),
            (None, None, False, 2)]


class TestDropMalformed:
    def test_malformed_rows_are_dropped(self, spark, folder):
        assert rows(read(spark, folder / "m.csv", mode="DROPMALFORMED")) == [
            (1, "x"), (5, "w")]
        assert rows(read(spark, folder / "m.csv", mode="dropMalformed").where("a > 2")) == [
            (5, "w")]

    def test_as_the_columns_read_say(self, spark, folder):
        df = read(spark, folder / "m.csv", WITH_CORRUPT, mode="DROPMALFORMED")
        assert rows(df) == [(1, "x", None), (5, "w", None)]
        assert rows(df.select("a")) == [(1,), (3,), (4,), (5,)]
        assert rows(df.select("b")) == [("x",), ("y",), (None,), ("z",), ("w",)]
        assert rows(df.groupBy().count()) == [(5,)]

    def test_values_of_each_type_that_do_not_parse(self, spark, folder):
        df = read(spark, folder / "values.csv", VALUES, mode="DROPMALFORMED")
        assert [r.a for r in df.collect()] == [1]


class TestFailFast:
    def test_a_malformed_row_fails_the_query_with_sparks_error(self, spark, folder,
                                                               engine):
        df = read(spark, folder / "m.csv", mode="FAILFAST")
        message = failfast_message(df.collect)
        assert "[FAILED_READ_FILE.NO_HINT] Encountered error while reading file " \
               f"file://{folder / 'm.csv'}.  SQLSTATE: KD001" in message
        assert "[MALFORMED_RECORD_IN_PARSING.WITHOUT_SUGGESTION] Malformed records are " \
               "detected in record parsing: [null,y]." in message
        if engine == "sparkbook":
            assert message.endswith(
                "Parse Mode: FAILFAST. To process malformed records as null result, try "
                "setting the option 'mode' as 'PERMISSIVE'.  SQLSTATE: 22023")

    def test_a_row_of_another_width(self, spark, folder, tmp_path):
        (tmp_path / "few.csv").write_text("a,b\n1,x\n3\n")
        message = failfast_message(read(spark, tmp_path / "few.csv", mode="FAILFAST").collect)
        assert "Malformed records are detected in record parsing: [3,null]." in message

    def test_the_record_shows_the_corrupt_record_columns_text(self, spark, folder):
        df = read(spark, folder / "m.csv", WITH_CORRUPT, mode="FAILFAST")
        message = failfast_message(df.select("a", "_corrupt_record").collect)
        assert "detected in record parsing: [null,bad,y]." in message

    def test_columns_not_read_are_not_parsed(self, spark, folder):
        df = read(spark, folder / "m.csv", mode="FAILFAST")
        assert rows(df.select("b")) == [("x",), ("y",), (None,), ("z",), ("w",)]
        assert rows(df.groupBy().count()) == [(5,)]

    def test_blank_lines_are_no_rows(self, spark, folder):
        assert rows(read(spark, folder / "blank.csv", mode="FAILFAST")) == [(1, "x"), (2, "y")]

    def test_values_of_each_type_that_do_not_parse(self, spark, folder):
        message = failfast_message(
            read(spark, folder / "values.csv", VALUES, mode="FAILFAST").collect)
        assert "MALFORMED_RECORD_IN_PARSING" in message


class TestTheCorruptRecordColumn:
    def test_must_be_a_string(self, spark, folder, errors):
        df = read(spark, folder / "m.csv", "a int, b string, _corrupt_record int")
        with pytest.raises(errors.AnalysisException) as info:
            df.collect()
        assert str(info.value).startswith(
            "[INVALID_CORRUPT_RECORD_TYPE] The column `_corrupt_record` for corrupt records "
            'must have the nullable STRING type, but got "INT". SQLSTATE: 42804')

    def test_may_not_be_read_alone(self, spark, folder, errors):
        df = read(spark, folder / "m.csv", WITH_CORRUPT)
        with pytest.raises(errors.AnalysisException) as info:
            df.select("_corrupt_record").collect()
        assert str(info.value).startswith(
            "[UNSUPPORTED_FEATURE.QUERY_ONLY_CORRUPT_RECORD_COLUMN] The feature is not "
            "supported: Queries from raw JSON/CSV/XML files are disallowed when the\n"
            "referenced columns only include the internal corrupt record column\n")


class TestASchemaOfAnotherWidth:
    """A schema narrower or wider than the file: every row is of another width."""

    @pytest.fixture(scope="class")
    def path(self, tmp_path_factory):
        path = tmp_path_factory.mktemp("csv_width") / "wide.csv"
        path.write_text("a,b,c,d\n1,x,p,q\n2,y\n3,z,r,s,t\nbad,w,u,v\n")
        return path

    def test_narrower(self, spark, path):
        assert rows(read(spark, path)) == [(1, "x"), (2, "y"), (3, "z"), (None, "w")]
        assert rows(read(spark, path, WITH_CORRUPT)) == [
            (1, "x", "1,x,p,q"), (2, "y", None), (3, "z", "3,z,r,s,t"), (None, "w", "bad,w,u,v")]
        assert rows(read(spark, path, mode="DROPMALFORMED")) == [(2, "y")]
        assert rows(read(spark, path, mode="DROPMALFORMED").select("a")) == [(1,), (2,), (3,)]

    def test_wider(self, spark, path):
        wide = "a int, b string, c string, d string, e string, f int"
        assert rows(read(spark, path, wide)) == [
            (1, "x", "p", "q", None, None), (2, "y", None, None, None, None),
            (3, "z", "r", "s", "t", None), (None, "w", "u", "v", None, None)]
        assert rows(read(spark, path, wide, mode="DROPMALFORMED")) == []
        assert rows(read(spark, path, wide, mode="DROPMALFORMED").select("f", "b")) == [
            (None, "x"), (None, "y"), (None, "z"), (None, "w")]


class TestManyBlocks:
    """A file of two splits (of 4 MiB at least) of many blocks each, with a short row every
    1009 rows and, after the first blocks (so pyarrow's typed read gives way to the text
    path in mid-split), a bad value every 997: the rows, in order, as the modes say."""

    N = 360_000

    @pytest.fixture(scope="class")
    def big(self, tmp_path_factory):
        path = tmp_path_factory.mktemp("csv_blocks") / "big.csv"
        lines = ["id,v,s"]
        for i in range(self.N):
            if i % 1009 == 500:
                lines.append(f"{i}")
            else:
                lines.append(f"{i},{'x' if self.bad_value(i) else i % 100},name{i % 7}")
        path.write_text("\n".join(lines) + "\n")
        assert path.stat().st_size > 5 * 1024 * 1024
        return path

    def bad_value(self, i: int) -> bool:
        return i % 997 == 3 and i > 150_000

    def bad(self, i: int) -> bool:
        return self.bad_value(i) or i % 1009 == 500

    def test_permissive(self, spark, big, F):
        df = read(spark, big, "id int, v int, s string, _corrupt_record string")
        got = df.agg(F.count("*"), F.sum("id"), F.count("v"), F.sum("v"),
                     F.count("_corrupt_record"), F.count("s")).collect()[0]
        ids = range(self.N)
        assert tuple(got) == (
            self.N, sum(ids), sum(1 for i in ids if not self.bad(i)),
            sum(i % 100 for i in ids if not self.bad(i)), sum(1 for i in ids if self.bad(i)),
            sum(1 for i in ids if i % 1009 != 500))

    def test_dropmalformed_keeps_the_order(self, spark, big):
        df = read(spark, big, "id int, v int, s string", mode="DROPMALFORMED")
        assert df.rdd.getNumPartitions() == 2
        assert df.toPandas()["id"].tolist() == [i for i in range(self.N) if not self.bad(i)]
        # Reading only id and v, a short row is no malformed one.
        assert df.select("id", "v").toPandas()["id"].tolist() == [
            i for i in range(self.N) if not self.bad_value(i) or i % 1009 == 500]
        assert df.groupBy().count().collect()[0][0] == self.N  # a count parses nothing

    def test_failfast_names_the_first_bad_row_of_a_split(self, spark, big):
        message = failfast_message(read(spark, big, "id int, v int, s string",
                                        mode="FAILFAST").collect)
        assert "MALFORMED_RECORD_IN_PARSING" in message


class TestMultiLine:
    """``multiLine``: quoted values may span lines, so a file is one split, and a malformed
    record's text is all its lines."""

    TEXT = 'a,b\n1,"x\ny"\nbad,"p\nq"\n4\n5,w\n'

    @pytest.fixture(scope="class")
    def path(self, tmp_path_factory):
        path = tmp_path_factory.mktemp("csv_multiline") / "ml.csv"
        path.write_text(self.TEXT)
        return path

    def test_values_spanning_lines(self, spark, path):
        df = read(spark, path, multiLine=True)
        assert rows(df) == [(1, "x\ny"), (None, "p\nq"), (4, None), (5, "w")]
        assert df.rdd.getNumPartitions() == 1
        assert rows(df.groupBy().count()) == [(4,)]
        inferred = spark.read.csv(str(path), header=True, inferSchema=True, multiLine="true")
        assert inferred.dtypes == [("a", "string"), ("b", "string")]

    def test_modes_and_the_corrupt_record(self, spark, path):
        assert rows(read(spark, path, WITH_CORRUPT, multiLine=True)) == [
            (1, "x\ny", None), (None, "p\nq", 'bad,"p\nq"'), (4, None, "4"), (5, "w", None)]
        assert rows(read(spark, path, multiLine=True, mode="DROPMALFORMED")) == [
            (1, "x\ny"), (5, "w")]


@pytest.mark.sparkbook_only
def test_a_long_blank_run_before_the_first_row_reads_in_linear_time(spark, tmp_path):
    # A split's width comes from its first non-blank line; finding it must not try the
    # blanks again from each of their positions (60,000 spaces: ~20 s if it does).
    import time

    path = tmp_path / "spaces.csv"
    path.write_text(" " * 60_000 + "\n1,2\n3,4\n")
    started = time.perf_counter()
    assert rows(spark.read.csv(str(path), schema="a int, b int")) == [(1, 2), (3, 4)]
    assert time.perf_counter() - started < 5
