"""Rows, data types and DDL strings, and the session's settings, as PySpark 4.3 has them.

Expected values were recorded from PySpark 4.3.0; run with SPARKBOOK_TEST_ENGINE=pyspark to
check them against PySpark itself.
"""

from __future__ import annotations

import pytest


class TestRow:
    def test_fields_by_name_attribute_and_index(self, Row):
        row = Row(name="Alice", age=1)
        assert repr(row) == "Row(name='Alice', age=1)"
        assert (row["age"], row[0], row.name) == (1, "Alice", "Alice")
        assert row == ("Alice", 1)
        assert row.asDict() == {"name": "Alice", "age": 1}
        assert "name" in row and "Alice" not in row

    def test_positional_rows_and_row_classes(self, Row):
        assert repr(Row(1, 2)) == "<Row(1, 2)>"
        Person = Row("name", "age")
        assert repr(Person("x", 2)) == "Row(name='x', age=2)"
        assert Person("x", 2).age == 2

    def test_missing_fields(self, Row, sql_modules):
        errors = sql_modules.errors
        with pytest.raises(errors.PySparkValueError):
            Row(name="A")["nope"]
        with pytest.raises(errors.PySparkAttributeError,
                           match=r"\[ATTRIBUTE_NOT_SUPPORTED\] Attribute `nope` is not "
                                 r"supported\."):
            _ = Row(name="A").nope

    def test_as_dict_recursive_and_pickling(self, Row):
        import pickle

        assert Row(a=Row(b=1)).asDict(recursive=True) == {"a": {"b": 1}}
        row = pickle.loads(pickle.dumps(Row(name="A", age=3)))
        assert row.age == 3 and repr(row) == "Row(name='A', age=3)"


class TestDataTypes:
    def test_names_of_the_atomic_types(self, T):
        cases = [(T.StringType(), "string", "string"), (T.IntegerType(), "int", "integer"),
                 (T.LongType(), "bigint", "long"), (T.DoubleType(), "double", "double"),
                 (T.FloatType(), "float", "float"), (T.BooleanType(), "boolean", "boolean"),
                 (T.DateType(), "date", "date"), (T.TimestampType(), "timestamp", "timestamp"),
                 (T.DecimalType(), "decimal(10,0)", "decimal"),
                 (T.ShortType(), "smallint", "short"), (T.ByteType(), "tinyint", "byte"),
                 (T.BinaryType(), "binary", "binary"), (T.NullType(), "void", "void"),
                 (T.TimestampNTZType(), "timestamp_ntz", "timestamp_ntz")]
        for dt, simple, name in cases:
            assert (dt.simpleString(), dt.typeName()) == (simple, name)
        assert T.LongType().json() == '"long"'
        assert repr(T.DecimalType()) == "DecimalType(10,0)"
        assert T.DecimalType().json() == '"decimal(10,0)"'

    def test_a_struct_of_nested_types(self, T):
        st = T.StructType([T.StructField("a", T.IntegerType(), False),
                           T.StructField("b", T.ArrayType(T.StringType())),
                           T.StructField("c", T.MapType(T.StringType(), T.LongType(), False)),
                           T.StructField("d", T.DecimalType(10, 2))])
        assert st.simpleString() == "struct<a:int,b:array<string>,c:map<string,bigint>," \
                                    "d:decimal(10,2)>"
        assert repr(st) == (
            "StructType([StructField('a', IntegerType(), False), StructField('b', "
            "ArrayType(StringType(), True), True), StructField('c', MapType(StringType(), "
            "LongType(), False), True), StructField('d', DecimalType(10,2), True)])")
        assert st.fieldNames() == ["a", "b", "c", "d"] and st.names == ["a", "b", "c", "d"]
        assert st.json() == (
            '{"fields":[{"metadata":{},"name":"a","nullable":false,"type":"integer"},'
            '{"metadata":{},"name":"b","nullable":true,"type":{"containsNull":true,'
            '"elementType":"string","type":"array"}},{"metadata":{},"name":"c","nullable":true,'
            '"type":{"keyType":"string","type":"map","valueContainsNull":false,'
            '"valueType":"long"}},{"metadata":{},"name":"d","nullable":true,'
            '"type":"decimal(10,2)"}],"type":"struct"}')
        assert st["b"].dataType == T.ArrayType(T.StringType(), True)

    def test_from_ddl(self, T):
        expected = T.StructType([T.StructField("name", T.StringType(), True),
                                 T.StructField("age", T.IntegerType(), True)])
        assert T.StructType.fromDDL("name string, age int") == expected
        assert T.DataType.fromDDL("name string, age int") == expected
        assert T.DataType.fromDDL("int") == T.IntegerType()


class TestSession:
    def test_builder_returns_the_running_session(self, spark, engine):
        import importlib

        SparkSession = importlib.import_module(f"{engine}.sql").SparkSession
        assert SparkSession.builder.config("spark.sbtest.key", "v").getOrCreate() is spark
        assert spark.conf.get("spark.sbtest.key") == "v"
        assert spark.sparkContext.master == "local[2]"
        assert isinstance(spark.version, str) and spark.version

    def test_conf_get_set_and_defaults(self, spark, sql_modules):
        assert spark.conf.get("spark.sql.ansi.enabled") == "true"
        assert spark.conf.get("spark.app.name") == "tests"
        assert spark.conf.get("spark.nope.x", "dflt") == "dflt"
        previous = spark.conf.get("spark.sql.shuffle.partitions")
        assert previous == "200"
        spark.conf.set("spark.sql.shuffle.partitions", 4)
        try:
            assert spark.conf.get("spark.sql.shuffle.partitions") == "4"
        finally:
            spark.conf.set("spark.sql.shuffle.partitions", previous)
        with pytest.raises(sql_modules.errors.SparkNoSuchElementException,
                           match=r'\[SQL_CONF_NOT_FOUND\] The SQL config "spark.nope.x" cannot '
                                 r"be found\. Please verify that the config exists\."):
            spark.conf.get("spark.nope.x")
