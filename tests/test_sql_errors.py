"""Errors as PySpark 4.3 raises them, by class, error class and message: unknown columns
(naming what exists), bad expression text, type mismatches found by the analyzer, and ANSI
mode's errors raised by the tasks (overflow, division by zero, malformed casts).

Messages were recorded from PySpark 4.3.0; run with SPARKBOOK_TEST_ENGINE=pyspark to check
them against PySpark itself.
"""

from __future__ import annotations

import pytest


def raised(kind: type, action) -> Exception:
    """The error of class ``kind`` that ``action()`` raises."""
    with pytest.raises(kind) as info:
        action()
    return info.value


def assert_error(err: Exception, condition: str, message_start: str) -> None:
    """``err`` has Spark's error class ``condition`` and its message starts so."""
    assert err.getCondition() == condition
    assert str(err).startswith(message_start)


class TestUnresolvedColumns:
    def test_an_unknown_column_names_itself_and_the_columns_that_exist(self, people, errors):
        err = raised(errors.AnalysisException, lambda: people.select("nme"))
        assert_error(err, "UNRESOLVED_COLUMN.WITH_SUGGESTION",
            "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function parameter "
            "with name `nme` cannot be resolved. Did you mean one of the following? "
            "[`name`, `age`, `ok`, `score`]. SQLSTATE: 42703;\n'Project ['nme]\n"
            "+- LogicalRDD [name#")

    def test_inside_an_expression_and_in_a_filter_string(self, people, errors, F):
        with pytest.raises(errors.AnalysisException, match=r"name `nme` cannot be resolved"):
            people.select(F.col("nme") + 1)
        err = raised(errors.AnalysisException, lambda: people.filter("agee > 1"))
        assert str(err).startswith(
            "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function parameter "
            "with name `agee` cannot be resolved. Did you mean one of the following? "
            "[`age`, `name`, `ok`, `score`]. SQLSTATE: 42703")

    def test_the_error_is_raised_where_the_column_is_named_not_at_the_action(self, people,
                                                                             errors, F):
        with pytest.raises(errors.AnalysisException):
            people.withColumn("x", F.col("missing"))

    def test_names_resolve_case_insensitively(self, people):
        assert people.select("NAME", "Age").columns == ["NAME", "Age"]
        assert people.filter("AGE > 5").count() == 2

    def test_sql_utils_exposes_the_same_classes(self, engine, errors):
        import importlib

        utils = importlib.import_module(f"{engine}.sql.utils")
        assert issubclass(utils.AnalysisException, errors.AnalysisException) or (
            utils.AnalysisException is errors.AnalysisException)
        assert issubclass(errors.ParseException, errors.AnalysisException)


class TestParseErrors:
    @pytest.mark.parametrize("text", ["age +", "age >"])
    def test_bad_expression_text_raises_parse_exception(self, people, errors, F, text):
        err = raised(errors.ParseException, lambda: people.select(F.expr(text))
                     if text == "age +" else people.filter(text))
        assert err.getCondition() == "PARSE_SYNTAX_ERROR"
        assert str(err) == (
            "\n[PARSE_SYNTAX_ERROR] Syntax error at or near end of input. SQLSTATE: 42601 "
            f"(line 1, pos 5)\n\n== SQL ==\n{text}\n-----^^^\n")

    def test_an_unknown_type_name(self, people, errors, F):
        with pytest.raises(errors.ParseException, match=r'\[UNSUPPORTED_DATATYPE\] '
                                                        r'Unsupported data type "NOSUCH"\.'):
            people.select(F.col("age").cast("nosuch"))
        err = raised(errors.ParseException, lambda: people.sparkSession.createDataFrame(
            [("a", 1)], "name strin, age int"))
        assert str(err) == (
            '\n[UNSUPPORTED_DATATYPE] Unsupported data type "STRIN". SQLSTATE: 0A000 '
            "(line 1, pos 5)\n\n== SQL ==\nname strin, age int\n-----^^^\n")


class TestAnalysisErrors:
    def test_a_filter_must_be_boolean(self, people, errors, F):
        err = raised(errors.AnalysisException, lambda: people.filter(F.col("name")))
        assert_error(err, "DATATYPE_MISMATCH.FILTER_NOT_BOOLEAN",
            '[DATATYPE_MISMATCH.FILTER_NOT_BOOLEAN] Cannot resolve "name" due to data type '
            'mismatch: Filter expression "name" of type "STRING" is not a boolean. '
            "SQLSTATE: 42K09")
        with pytest.raises(errors.AnalysisException, match=r'Filter expression "\(age \+ 1\)" '
                                                           r'of type "BIGINT" is not a boolean'):
            people.filter(F.col("age") + 1)

    def test_wrong_argument_types(self, people, errors):
        with pytest.raises(errors.PySparkTypeError, match=r"\[NOT_EXPECTED_TYPE\] Argument "
                                                          r"`col` should be Column or str, "
                                                          r"got int\."):
            people.select(1)
        err = raised(errors.PySparkTypeError, lambda: people.withColumn("x", "age"))
        assert str(err) == "[NOT_EXPECTED_TYPE] Argument `col` should be Column, got str."

    def test_unknown_attributes_and_items_of_a_dataframe(self, people, errors):
        err = raised(errors.PySparkAttributeError, lambda: people.nope)
        assert str(err) == "[ATTRIBUTE_NOT_SUPPORTED] Attribute `nope` is not supported."
        err = raised(errors.AnalysisException, lambda: people["nope"])
        assert_error(err, "UNRESOLVED_COLUMN.WITH_SUGGESTION",
                     "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function "
                     "parameter with name `nope` cannot be resolved. Did you mean one of the "
                     "following? [`name`, `age`, `score`, `ok`]. SQLSTATE: 42703")

    def test_an_ambiguous_name_and_a_wrongly_typed_operand(self, people, errors, F):
        twice = people.select(F.lit(1).alias("a"), F.lit(2).alias("a"))
        assert twice.columns == ["a", "a"]
        err = raised(errors.AnalysisException, lambda: twice.select("a"))
        assert_error(err, "AMBIGUOUS_REFERENCE", "[AMBIGUOUS_REFERENCE] Reference `a` is "
                     "ambiguous, could be: [`a`, `a`]. SQLSTATE: 42704")
        err = raised(errors.AnalysisException, lambda: people.select(F.col("ok") + 1))
        assert_error(err, "DATATYPE_MISMATCH.BINARY_OP_DIFF_TYPES",
                     '[DATATYPE_MISMATCH.BINARY_OP_DIFF_TYPES] Cannot resolve "(ok + 1)" due '
                     "to data type mismatch: the left and right operands of the binary "
                     'operator have incompatible types ("BOOLEAN" and "INT"). SQLSTATE: 42K09')


class TestAnsiErrors:
    def test_int_overflow(self, spark, errors, F):
        df = spark.createDataFrame([(2147483647,)], "a int").select(F.col("a") + 1)
        err = raised(errors.ArithmeticException, lambda: df.collect())
        assert_error(err, "ARITHMETIC_OVERFLOW",
            "[ARITHMETIC_OVERFLOW] overflow. Use 'try_add' to tolerate overflow and return "
            'NULL instead. If necessary set "spark.sql.ansi.enabled" to "false" to bypass this '
            "error. SQLSTATE: 22003")

    def test_bigint_overflow(self, spark, errors, F):
        df = spark.range(1).select(F.lit(9223372036854775807) + F.col("id") + 1)
        with pytest.raises(errors.ArithmeticException, match=r"\[ARITHMETIC_OVERFLOW\]"):
            df.collect()

    def test_division_and_remainder_by_zero(self, spark, errors, F):
        one = spark.createDataFrame([(1,)], "a int")
        err = raised(errors.ArithmeticException, lambda: one.select(F.col("a") / 0).collect())
        assert str(err).startswith(
            "[DIVIDE_BY_ZERO] Division by zero. Use `try_divide` to tolerate divisor being 0 "
            'and return NULL instead. If necessary set "spark.sql.ansi.enabled" to "false" to '
            "bypass this error. SQLSTATE: 22012")
        with pytest.raises(errors.ArithmeticException, match=r"^\[REMAINDER_BY_ZERO\] "
                                                             r"Remainder by zero\. Use `try_mod`"):
            one.select(F.col("a") % 0).collect()

    def test_malformed_string_casts(self, spark, errors, F):
        alice = spark.createDataFrame([("Alice",)], "name string")
        err = raised(errors.NumberFormatException,
                     lambda: alice.select(F.col("name").cast("int")).collect())
        assert_error(err, "CAST_INVALID_INPUT",
            "[CAST_INVALID_INPUT] The value 'Alice' of the type \"STRING\" cannot be cast to "
            '"INT" because it is malformed. Correct the value as per the syntax, or change its '
            "target type. Use `try_cast` to tolerate malformed input and return NULL instead. "
            "SQLSTATE: 22018")
        with pytest.raises(errors.NumberFormatException, match=r"The value 'x' of the type "
                                                               r'"STRING" cannot be cast to '
                                                               r'"DOUBLE"'):
            spark.createDataFrame([("x",)], "a string").select(
                F.col("a").cast("double")).collect()
        with pytest.raises(errors.NumberFormatException, match=r"The value '1\.5' of the type"):
            spark.createDataFrame([("1.5",)], "a string").select(
                F.col("a").cast("int")).collect()

    def test_a_string_in_arithmetic_is_read_as_a_number(self, people, errors, F):
        with pytest.raises(errors.NumberFormatException,
                           match=r"The value 'Bob' of the type \"STRING\" cannot be cast to "
                                 r"\"BIGINT\""):
            people.filter(F.col("name") == "Bob").select(F.col("name") + 1).collect()
        assert [r[0] for r in people.select(F.upper(F.col("age"))).collect()] == [
            "1", "12", "300"]

    def test_numeric_cast_overflow(self, spark, errors, F):
        tiny = spark.createDataFrame([(300,)], "a int").select(F.col("a").cast("tinyint"))
        err = raised(errors.ArithmeticException, tiny.collect)
        assert str(err) == (
            '[CAST_OVERFLOW] The value 300 of the type "INT" cannot be cast to "TINYINT" due to '
            "an overflow. Use `try_cast` to tolerate overflow and return NULL instead. "
            "SQLSTATE: 22003")
        with pytest.raises(errors.ArithmeticException,
                           match=r'The value 1\.7E10D of the type "DOUBLE" cannot be cast to '
                                 r'"INT" due to an overflow'):
            spark.createDataFrame([(1.7e10,)], "a double").select(
                F.col("a").cast("int")).collect()

    def test_a_malformed_boolean(self, spark, errors, F):
        with pytest.raises(errors.SparkRuntimeException,
                           match=r"\[CAST_INVALID_INPUT\] The value 'x' of the type \"STRING\" "
                                 r"cannot be cast to \"BOOLEAN\""):
            spark.createDataFrame([("x",)], "s string").select(
                F.col("s").cast("boolean")).collect()
