"""What ``type()`` of an RDD prints: PySpark's RDDs are one class, and the course prints
``type(lines)`` after ``sc.textFile``; sparkbook's kinds of RDD print as that one class,
and are still instances of it. Runs against PySpark too (SPARKBOOK_TEST_ENGINE=pyspark)."""

from __future__ import annotations

import importlib

import pytest


def test_every_rdd_prints_as_the_rdd_class(sc, engine, tmp_text):
    rdd_class = importlib.import_module(engine).RDD
    expected = str(rdd_class)
    lines = sc.textFile(tmp_text("lines.txt", "a\nb\n"))
    numbers = sc.parallelize([1, 2, 3], 2)
    for rdd in (lines, numbers, numbers.map(str), numbers.union(numbers),
                numbers.map(lambda x: (x, x)).reduceByKey(max)):
        assert str(type(rdd)) == expected
        assert isinstance(rdd, rdd_class)
    assert lines.collect() == ["a", "b"]
    assert "ParallelCollectionRDD[" in repr(numbers)


@pytest.mark.sparkbook_only
def test_the_rdd_class_of_sparkbook_is_named_as_the_api_names_it(sc):
    numbers = sc.parallelize([1, 2], 1).map(str)
    assert str(type(numbers)) == "<class 'sparkbook.rdd.RDD'>"
    # Its kind keeps its own name, for toDebugString and for the lineage shipped to the
    # executors (classes travel by their module and name).
    assert type(numbers).__name__ == "MapPartitionsRDD"
    assert b"MapPartitionsRDD[" in numbers.toDebugString()
    assert numbers.collect() == ["1", "2"]
