"""The core RDD API, each method checked against a plain-Python oracle.

Every expectation here holds for PySpark 4.x (run the suite with
SPARKBOOK_TEST_ENGINE=pyspark to see it); sparkbook must produce the same
results, the same partition counts and, where PySpark defines it, the same
placement of elements and keys in partitions.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from operator import add
from pathlib import Path

import pytest
from rdd_oracles import (
    coalesced,
    group_by_key,
    hash_placement,
    inner_join,
    parallelize_slices,
    range_slice_starts,
    range_slices,
    reduce_by_key,
    text_file_partitions,
)

WORDS = ["spark", "rdd", "driver", "executor", "spark", "shuffle", "rdd", "spark"]
PAIRS = [("a", 1), ("b", 2), ("a", 3), ("c", 4), ("b", 5), ("a", 6), ("d", 7)]
INT_PAIRS = [(k % 7 - 3, k) for k in range(40)]  # keys -3..3, including the odd hash(-1) == -2


def keys_by_partition(rdd) -> list[set]:
    return [{k for k, _ in part} for part in rdd.glom().collect()]


def boom_function():
    """A task function that raises ValueError("boom").

    Built inside a function so cloudpickle ships it by value: executors cannot
    import this test module by name.
    """

    def boom(x):
        raise ValueError("boom")

    return boom


# ==========================================================================
# Creating RDDs


class TestParallelize:
    @pytest.mark.parametrize(
        ("size", "num_slices"),
        [(10, 3), (10, 4), (8, 3), (14, 4), (7, 10), (0, 3), (1, 1), (3000, 2), (5000, 3)],
    )
    def test_parallelize_slices_a_list_in_pickled_batches(self, sc, size, num_slices):
        data = [f"x{i}" for i in range(size)]
        rdd = sc.parallelize(data, num_slices)
        assert rdd.getNumPartitions() == num_slices
        assert rdd.glom().collect() == parallelize_slices(data, num_slices)

    def test_parallelize_list_slicing_is_by_batches_not_by_elements(self, sc):
        # Element-wise slicing would give [[0, 1], [2, 3, 4], [5, 6], [7, 8, 9]].
        assert sc.parallelize(list(range(10)), 4).glom().collect() == [
            [0, 1],
            [2, 3],
            [4, 5],
            [6, 7, 8, 9],
        ]

    def test_parallelize_with_more_slices_than_elements_leaves_empty_partitions(self, sc):
        assert sc.parallelize([0, 1, 2], 5).glom().collect() == [[], [0], [], [1], [2]]

    def test_parallelize_defaults_to_default_parallelism_slices(self, sc):
        assert sc.parallelize(["a", "b", "c"]).getNumPartitions() == sc.defaultParallelism

    def test_parallelize_accepts_tuples_and_strings_as_sequences(self, sc):
        assert sc.parallelize((1, 2, 3), 2).glom().collect() == [[1], [2, 3]]
        assert sc.parallelize("abcd", 2).glom().collect() == [["a", "b"], ["c", "d"]]

    @pytest.mark.parametrize(
        ("r", "num_slices"),
        [
            (range(10), 3),
            (range(10), 4),
            (range(0, 20, 3), 4),
            (range(5, 0, -1), 2),
            (range(3, 4), 3),
            (range(0), 2),
            (range(100, 1000, 7), 6),
        ],
    )
    def test_parallelize_slices_a_range_with_float_positions(self, sc, r, num_slices):
        rdd = sc.parallelize(r, num_slices)
        assert rdd.getNumPartitions() == num_slices
        assert rdd.glom().collect() == range_slices(r, num_slices)

    def test_huge_range_slices_use_float_division_and_stay_lazy(self, sc):
        # int(i * size / n) rounds differently from i * size // n past 2**53,
        # and the partitions are lazy ranges: nothing materialises 10**17 ints.
        huge = range(10**17 + 1)
        starts = sc.parallelize(huge, 3).mapPartitions(lambda it: [next(iter(it), None)]).collect()
        assert starts == range_slice_starts(huge, 3) == [0, 33333333333333332, 66666666666666664]
        assert starts[1] != 10**17 // 3


class TestSparkContextRange:
    def test_range_with_one_argument_counts_from_zero(self, sc):
        rdd = sc.range(10)
        assert rdd.collect() == list(range(10))
        assert rdd.getNumPartitions() == sc.defaultParallelism
        assert rdd.glom().collect() == range_slices(range(10), sc.defaultParallelism)

    @pytest.mark.parametrize(
        ("start", "end", "step", "num_slices"),
        [(0, 10, 3, 2), (5, 50, 5, 4), (10, 0, -2, 3), (0, 7, 1, 7), (0, 0, 1, 2)],
    )
    def test_range_matches_parallelize_of_python_range(self, sc, start, end, step, num_slices):
        rdd = sc.range(start, end, step, num_slices)
        assert rdd.getNumPartitions() == num_slices
        assert rdd.glom().collect() == range_slices(range(start, end, step), num_slices)


class TestTextFile:
    LINES = [f"line {i}" for i in range(100)]  # 790 bytes: "line 0\n" .. "line 99\n"

    def test_text_file_reads_lines_without_their_newlines(self, sc, tmp_text):
        path = tmp_text("a.txt", "".join(f"{line}\n" for line in self.LINES))
        assert sc.textFile(path).collect() == self.LINES

    @pytest.mark.parametrize("min_partitions", [None, 1, 2, 3, 4, 7, 10, 50])
    def test_text_file_splits_a_file_by_hadoops_rule(self, sc, tmp_text, min_partitions):
        content = "".join(f"{line}\n" for line in self.LINES).encode()
        path = tmp_text("a.txt", content)
        rdd = sc.textFile(path) if min_partitions is None else sc.textFile(path, min_partitions)
        # minPartitions defaults to min(defaultParallelism, 2)
        expected = text_file_partitions([content], min_partitions or 2)
        assert rdd.getNumPartitions() == len(expected)
        assert rdd.glom().collect() == expected

    def test_text_file_partition_counts_follow_the_ten_percent_slop(self, sc, tmp_text):
        path = tmp_text("a.txt", "".join(f"{line}\n" for line in self.LINES))
        # goal = 790 // 3 = 263 bytes; 790 -> 263 + 263 + 264 (264/263 < 1.1 stays whole)
        assert sc.textFile(path, 3).getNumPartitions() == 3
        # goal = 15 bytes: more partitions than asked, since 790 / 15 = 52.7
        assert sc.textFile(path, 50).getNumPartitions() == 53

    def test_text_file_splits_lines_only_on_lf_cr_and_crlf(self, sc, tmp_text):
        content = "a\rb\r\nc\n\nd\x0ce\u2028f\n".encode()
        path = tmp_text("cr.txt", content)
        assert sc.textFile(path).collect() == ["a", "b", "c", "", "d\x0ce\u2028f"]
        rdd = sc.textFile(path, 3)
        assert rdd.getNumPartitions() == 4
        assert rdd.glom().collect() == text_file_partitions([content], 3)

    def test_text_file_split_offsets_count_utf8_bytes(self, sc, tmp_text):
        content = "héllo wörld\n" * 10
        path = tmp_text("u.txt", content)
        rdd = sc.textFile(path, 4)
        assert rdd.glom().collect() == text_file_partitions([content.encode()], 4)
        assert rdd.collect() == ["héllo wörld"] * 10

    def test_text_file_crlf_lines_straddling_split_boundaries(self, sc, tmp_text):
        content = b"".join(b"row %d\r\n" % i if i % 3 else b"r%d\r" % i for i in range(60))
        path = tmp_text("crlf.txt", content)
        for min_partitions in (5, 9, 23):
            rdd = sc.textFile(path, min_partitions)
            assert rdd.glom().collect() == text_file_partitions([content], min_partitions)

    def test_text_file_without_trailing_newline_keeps_the_last_line(self, sc, tmp_text):
        assert sc.textFile(tmp_text("n.txt", "x\ny")).collect() == ["x", "y"]

    def test_text_file_of_an_empty_file_has_no_partitions(self, sc, tmp_text):
        rdd = sc.textFile(tmp_text("empty.txt", ""))
        assert rdd.getNumPartitions() == 0
        assert rdd.collect() == []

    @pytest.fixture
    def text_dir(self, tmp_path):
        folder = tmp_path / "dir"
        folder.mkdir()
        files = {
            "p1.txt": "x\n" * 30,
            "p2.txt": "y\n" * 5,
            "p3.log": "".join(f"z{i}\n" for i in range(10)),
            "empty.txt": "",
            "_hidden": "hidden by underscore\n",
            ".dot": "hidden by dot\n",
        }
        for name, text in files.items():
            (folder / name).write_text(text)
        return folder

    @pytest.mark.parametrize("min_partitions", [None, 1, 3, 6])
    def test_text_file_of_a_directory_splits_each_visible_file(self, sc, text_dir, min_partitions):
        path = str(text_dir)
        rdd = sc.textFile(path) if min_partitions is None else sc.textFile(path, min_partitions)
        visible = [(text_dir / n).read_bytes() for n in ("p1.txt", "p2.txt", "p3.log", "empty.txt")]
        expected = text_file_partitions(visible, min_partitions or 2)
        assert rdd.getNumPartitions() == len(expected)
        # Hadoop lists a directory in file-system order, so compare partitions as a multiset.
        assert sorted(rdd.glom().collect()) == sorted(expected)

    def test_text_file_of_a_directory_skips_underscore_and_dot_files(self, sc, text_dir):
        lines = sc.textFile(str(text_dir)).collect()
        assert Counter(lines) == Counter(["x"] * 30 + ["y"] * 5 + [f"z{i}" for i in range(10)])

    @pytest.mark.parametrize("min_partitions", [None, 4])
    def test_text_file_of_a_glob_reads_only_matching_files(self, sc, text_dir, min_partitions):
        pattern = str(text_dir / "*.txt")
        rdd = (
            sc.textFile(pattern) if min_partitions is None else sc.textFile(pattern, min_partitions)
        )
        matching = [(text_dir / n).read_bytes() for n in ("p1.txt", "p2.txt", "empty.txt")]
        expected = text_file_partitions(matching, min_partitions or 2)
        assert rdd.getNumPartitions() == len(expected)
        assert sorted(rdd.glom().collect()) == sorted(expected)
        assert Counter(rdd.collect()) == Counter(["x"] * 30 + ["y"] * 5)

    def test_text_file_of_a_missing_path_fails_when_partitions_are_computed(self, sc, tmp_path):
        rdd = sc.textFile(str(tmp_path / "missing.txt"))  # lazy: no error yet
        with pytest.raises(Exception, match="Input path does not exist"):
            rdd.collect()


class TestContextHelpers:
    def test_union_of_a_list_concatenates_partitions_in_order(self, sc):
        a = sc.parallelize([1, 2, 3], 2)
        b = sc.parallelize([4, 5], 1)
        c = sc.parallelize(["x", "y", "z", "w"], 3)
        u = sc.union([a, b, c])
        assert u.getNumPartitions() == 6
        assert u.glom().collect() == a.glom().collect() + b.glom().collect() + c.glom().collect()
        assert u.collect() == [1, 2, 3, 4, 5, "x", "y", "z", "w"]

    def test_empty_rdd_has_no_partitions_and_no_elements(self, sc):
        rdd = sc.emptyRDD()
        assert rdd.getNumPartitions() == 0
        assert rdd.collect() == []
        assert rdd.count() == 0

    def test_broadcast_value_is_readable_on_driver_and_in_tasks(self, sc):
        table = {"a": 10, "b": 20, "c": 30}
        bc = sc.broadcast(table)
        assert bc.value == table
        result = sc.parallelize(["a", "b", "c", "a"], 2).map(lambda k: bc.value[k]).collect()
        assert result == [10, 20, 30, 10]

    def test_accumulator_sums_what_tasks_add_in_foreach(self, sc):
        acc = sc.accumulator(0)
        sc.parallelize(range(10), 3).foreach(lambda x: acc.add(x))
        assert acc.value == 45

    def test_accumulator_value_cannot_be_read_inside_a_task(self, sc):
        acc = sc.accumulator(0)
        with pytest.raises(Exception, match="cannot be accessed inside tasks"):
            sc.parallelize([1]).map(lambda _: acc.value).collect()

    def test_default_parallelism_is_the_local_thread_count(self, sc):
        assert sc.defaultParallelism == 2

    def test_set_job_description_is_accepted(self, sc):
        assert sc.setJobDescription("counting things for a test") is None
        assert sc.parallelize([1, 2, 3]).count() == 3


class TestStatusTracker:
    def test_status_tracker_reports_jobs_of_a_group_and_their_stages(self, sc, eventually):
        tracker = sc.statusTracker()
        group = "status-tracker-lesson"
        sc.setJobGroup(group, "a count and a shuffle")
        assert sc.parallelize(range(10), 3).count() == 10
        sums = sc.parallelize(range(10), 3).map(lambda x: (x % 2, x)).reduceByKey(add, 2)
        assert sorted(sums.collect()) == [(0, 20), (1, 25)]

        job_ids = tracker.getJobIdsForGroup(group)
        assert len(job_ids) == 2 and all(isinstance(j, int) for j in job_ids)
        count_job, shuffle_job = sorted(job_ids)

        def finished_info(job_id):
            return eventually(
                lambda: tracker.getJobInfo(job_id),
                lambda info: info is not None and info.status == "SUCCEEDED",
            )

        count_info = finished_info(count_job)
        assert count_info.jobId == count_job and count_info.status == "SUCCEEDED"
        (count_stage,) = list(count_info.stageIds)
        stage = eventually(
            lambda: tracker.getStageInfo(count_stage),
            lambda s: s is not None and s.numCompletedTasks == 3,
        )
        assert (stage.stageId, stage.numTasks, stage.numCompletedTasks) == (count_stage, 3, 3)
        assert stage.numFailedTasks == 0 and stage.numActiveTasks == 0

        # reduceByKey makes a two-stage job: 3 map tasks, then 2 reduce tasks.
        shuffle_info = finished_info(shuffle_job)
        stage_ids = sorted(shuffle_info.stageIds)
        assert len(stage_ids) == 2
        stages = [
            eventually(
                lambda s=s: tracker.getStageInfo(s),
                lambda i: i is not None and i.numCompletedTasks == i.numTasks,
            )
            for s in stage_ids
        ]
        assert [(s.numTasks, s.numCompletedTasks) for s in stages] == [(3, 3), (2, 2)]

    def test_status_tracker_knows_nothing_of_unknown_groups_jobs_and_stages(self, sc):
        tracker = sc.statusTracker()
        assert tracker.getJobIdsForGroup("no-such-group") == []
        assert tracker.getJobInfo(10**6) is None
        assert tracker.getStageInfo(10**6) is None

    def test_status_tracker_marks_a_failed_job(self, sc, eventually):
        tracker = sc.statusTracker()
        sc.setJobGroup("status-tracker-failure", "a job that fails")
        with pytest.raises(Exception, match="boom"):
            sc.parallelize([1, 2], 2).map(boom_function()).collect()
        (job_id,) = tracker.getJobIdsForGroup("status-tracker-failure")
        info = eventually(
            lambda: tracker.getJobInfo(job_id), lambda i: i is not None and i.status == "FAILED"
        )
        assert info.status == "FAILED"


# ==========================================================================
# Narrow transformations: no data moves between partitions


class TestNarrowTransformations:
    def test_map_applies_the_function_to_every_element_in_place(self, sc):
        rdd = sc.parallelize(list(range(10)), 3)
        mapped = rdd.map(lambda x: x * x)
        assert mapped.collect() == [x * x for x in range(10)]
        assert mapped.glom().collect() == [
            [x * x for x in p] for p in parallelize_slices(list(range(10)), 3)
        ]

    def test_flat_map_flattens_the_returned_iterables(self, sc):
        lines = ["to be or", "not to be", ""]
        result = sc.parallelize(lines, 2).flatMap(str.split).collect()
        assert result == [w for line in lines for w in line.split()]

    def test_filter_keeps_elements_where_predicate_holds(self, sc):
        rdd = sc.parallelize(list(range(20)), 4).filter(lambda x: x % 3 == 0)
        assert rdd.collect() == [x for x in range(20) if x % 3 == 0]
        assert rdd.getNumPartitions() == 4

    def test_map_partitions_sees_each_partition_once(self, sc):
        data = list(range(1, 11))
        result = sc.parallelize(data, 3).mapPartitions(lambda it: [sum(it)]).collect()
        assert result == [sum(p) for p in parallelize_slices(data, 3)]

    def test_map_partitions_with_index_passes_the_partition_number(self, sc):
        data = list("abcdefg")
        result = (
            sc.parallelize(data, 3)
            .mapPartitionsWithIndex(lambda i, it: [(i, "".join(it))])
            .collect()
        )
        assert result == [(i, "".join(p)) for i, p in enumerate(parallelize_slices(data, 3))]

    def test_glom_turns_each_partition_into_a_list(self, sc):
        parts = sc.parallelize([1, 2, 3, 4], 2).glom().collect()
        assert parts == [[1, 2], [3, 4]]
        assert all(type(p) is list for p in parts)

    def test_map_values_keeps_keys(self, sc):
        assert sc.parallelize(PAIRS, 2).mapValues(lambda v: v * 10).collect() == [
            (k, v * 10) for k, v in PAIRS
        ]

    def test_flat_map_values_pairs_each_output_with_its_key(self, sc):
        pairs = [("a", "x y"), ("b", ""), ("c", "z")]
        result = sc.parallelize(pairs, 2).flatMapValues(str.split).collect()
        assert result == [("a", "x"), ("a", "y"), ("c", "z")]

    def test_key_by_makes_pairs_from_a_key_function(self, sc):
        assert sc.parallelize(WORDS, 2).keyBy(len).collect() == [(len(w), w) for w in WORDS]

    def test_keys_and_values_project_pairs(self, sc):
        rdd = sc.parallelize(PAIRS, 3)
        assert rdd.keys().collect() == [k for k, _ in PAIRS]
        assert rdd.values().collect() == [v for _, v in PAIRS]

    @pytest.mark.parametrize(
        ("num_parents", "num_target"), [(5, 2), (5, 3), (6, 4), (7, 3), (4, 1), (3, 3)]
    )
    def test_coalesce_merges_contiguous_parent_partitions(self, sc, num_parents, num_target):
        data = list(range(10))
        rdd = sc.parallelize(data, num_parents)
        merged = rdd.coalesce(num_target)
        assert merged.getNumPartitions() == num_target
        assert merged.glom().collect() == coalesced(
            parallelize_slices(data, num_parents), num_target
        )

    def test_coalesce_cannot_add_partitions_without_a_shuffle(self, sc):
        rdd = sc.parallelize(list(range(10)), 3)
        assert rdd.coalesce(10).getNumPartitions() == 3
        assert rdd.coalesce(10).glom().collect() == rdd.glom().collect()

    def test_coalesce_with_shuffle_redistributes_all_elements(self, sc):
        data = list(range(50))
        rdd = sc.parallelize(data, 2).coalesce(5, shuffle=True)
        assert rdd.getNumPartitions() == 5
        assert sorted(rdd.collect()) == data

    def test_union_appends_the_other_rdds_partitions(self, sc):
        a = sc.parallelize([1, 2, 3], 3)
        b = sc.parallelize([3, 4], 2)
        u = a.union(b)
        assert u.getNumPartitions() == 5
        assert u.glom().collect() == [[1], [2], [3], [3], [4]]
        assert u.collect() == [1, 2, 3, 3, 4]  # union keeps duplicates

    def test_union_of_identically_hash_partitioned_rdds_keeps_their_partitioning(self, sc):
        a = sc.parallelize([(i, "a") for i in range(10)], 3).partitionBy(3)
        b = sc.parallelize([(i, "b") for i in range(5, 15)], 2).partitionBy(3)
        u = a.union(b)
        assert u.getNumPartitions() == 3  # partitioner-aware union, not 3 + 3
        assert keys_by_partition(u) == hash_placement(range(15), 3)


# ==========================================================================
# Wide transformations: a shuffle moves data between partitions


class TestReduceByKey:
    def test_reduce_by_key_combines_per_key_across_partitions(self, sc):
        result = sc.parallelize(PAIRS, 3).reduceByKey(add).collect()
        assert len(result) == len({k for k, _ in PAIRS})
        assert dict(result) == reduce_by_key(PAIRS, add)

    def test_reduce_by_key_keeps_the_parent_partition_count_by_default(self, sc):
        assert sc.parallelize(PAIRS, 3).reduceByKey(add).getNumPartitions() == 3
        assert sc.parallelize(PAIRS, 3).reduceByKey(add, 5).getNumPartitions() == 5

    def test_reduce_by_key_places_keys_by_portable_hash(self, sc):
        rdd = sc.parallelize(INT_PAIRS, 2).reduceByKey(add, 4)
        assert keys_by_partition(rdd) == hash_placement([k for k, _ in INT_PAIRS], 4)
        assert dict(rdd.collect()) == reduce_by_key(INT_PAIRS, add)

    def test_word_count(self, sc):
        counts = sc.parallelize(WORDS, 3).map(lambda w: (w, 1)).reduceByKey(add).collect()
        assert dict(counts) == Counter(WORDS)


class TestGroupByKey:
    def test_group_by_key_gathers_every_value_of_a_key(self, sc):
        grouped = sc.parallelize(PAIRS, 3).groupByKey().collect()
        assert {k: sorted(vs) for k, vs in grouped} == group_by_key(PAIRS)

    def test_group_by_key_values_are_iterables_with_a_length(self, sc):
        ((key, values),) = sc.parallelize([("k", 1), ("k", 2)], 2).groupByKey().collect()
        assert key == "k" and len(values) == 2 and sorted(values) == [1, 2]
        assert sorted(iter(values)) == [1, 2]

    def test_group_by_key_partitions_by_portable_hash(self, sc):
        rdd = sc.parallelize(INT_PAIRS, 3).groupByKey(2)
        assert rdd.getNumPartitions() == 2
        assert keys_by_partition(rdd) == hash_placement([k for k, _ in INT_PAIRS], 2)


class TestAggregateAndCombineByKey:
    def test_aggregate_by_key_computes_sum_and_count_per_key(self, sc):
        result = sc.parallelize(PAIRS, 3).aggregateByKey(
            (0, 0),
            lambda acc, v: (acc[0] + v, acc[1] + 1),
            lambda a, b: (a[0] + b[0], a[1] + b[1]),
        )
        expected = {k: (sum(vs), len(vs)) for k, vs in group_by_key(PAIRS).items()}
        assert dict(result.collect()) == expected
        assert result.getNumPartitions() == 3

    def test_aggregate_by_key_applies_zero_once_per_partition_holding_the_key(self, sc):
        # 2 slices: [("a", 1), ("a", 2)] and [("a", 3), ("b", 4)]; "a" lives in both.
        pairs = [("a", 1), ("a", 2), ("a", 3), ("b", 4)]
        result = sc.parallelize(pairs, 2).aggregateByKey(10, add, add).collect()
        assert dict(result) == {"a": 10 + 1 + 2 + 10 + 3, "b": 10 + 4}

    def test_aggregate_by_key_copies_a_mutable_zero_for_each_key(self, sc):
        def append(acc, v):
            acc.append(v)
            return acc

        result = sc.parallelize(PAIRS, 2).aggregateByKey([], append, lambda a, b: a + b)
        assert {k: sorted(vs) for k, vs in result.collect()} == group_by_key(PAIRS)

    def test_combine_by_key_builds_combiners_then_merges_them(self, sc):
        result = sc.parallelize(PAIRS, 3).combineByKey(
            lambda v: [v], lambda c, v: c + [v], lambda a, b: a + b, 2
        )
        assert result.getNumPartitions() == 2
        assert {k: sorted(vs) for k, vs in result.collect()} == group_by_key(PAIRS)
        assert keys_by_partition(result) == hash_placement([k for k, _ in PAIRS], 2)


class TestPartitionBy:
    def test_partition_by_places_int_keys_at_hash_mod_n(self, sc):
        keys = [0, 1, 2, 3, 4, 5, -1, -2, -7, 10**20]
        rdd = sc.parallelize([(k, str(k)) for k in keys], 2).partitionBy(3)
        assert rdd.getNumPartitions() == 3
        # Python's % is never negative, and hash(-1) == -2.
        assert keys_by_partition(rdd) == [{k for k in keys if hash(k) % 3 == i} for i in range(3)]

    def test_partition_by_places_keys_of_every_type_by_portable_hash(self, sc):
        keys = ["a", "b", "hello", "", "é", "zz", None, (1, "a"), (None,), 3, -1, -2, 2**64, 1.5]
        rdd = sc.parallelize([(k, i) for i, k in enumerate(keys)], 2).partitionBy(4)
        assert keys_by_partition(rdd) == hash_placement(keys, 4)

    def test_partition_by_places_string_keys_as_recorded_from_pyspark(self, sc):
        # Recorded from PySpark 4.3 (workers run with PYTHONHASHSEED=0).
        if os.environ.get("PYTHONHASHSEED", "0") != "0":
            pytest.skip("the recorded placement assumes PYTHONHASHSEED=0 in the workers")
        keys = ["a", "b", "hello", "", "é", "zz", None, (1, "a"), (None,), 3, -1, -2, 2**64, 1.5]
        rdd = sc.parallelize([(k, i) for i, k in enumerate(keys)], 2).partitionBy(4)
        assert keys_by_partition(rdd) == [
            {"", None, 2**64},
            {"zz", (None,), 1.5},
            {"b", "hello", (1, "a"), -1, -2},
            {"a", "é", 3},
        ]

    def test_partition_by_moves_pairs_without_changing_them(self, sc):
        rdd = sc.parallelize(PAIRS, 3).partitionBy(2)
        assert Counter(rdd.collect()) == Counter(PAIRS)

    def test_reduce_by_key_after_partition_by_does_not_shuffle_again(self, sc):
        parted = sc.parallelize(INT_PAIRS, 3).partitionBy(3)
        assert parted.reduceByKey(add).toDebugString().count(b"+-") == 1
        assert parted.mapValues(abs).reduceByKey(add).toDebugString().count(b"+-") == 1
        # map may change keys, so it forgets the partitioning; so does a new partition count.
        assert parted.map(lambda kv: kv).reduceByKey(add).toDebugString().count(b"+-") == 2
        assert parted.reduceByKey(add, 4).toDebugString().count(b"+-") == 2
        assert dict(parted.reduceByKey(add).collect()) == reduce_by_key(INT_PAIRS, add)


class TestSorting:
    DATA = [(3, "c"), (1, "a"), (2, "b"), (10, "j"), (-4, "m"), (7, "g")]

    def test_sort_by_key_sorts_ascending_by_default(self, sc):
        assert sc.parallelize(self.DATA, 3).sortByKey().collect() == sorted(self.DATA)

    def test_sort_by_key_descending(self, sc):
        result = sc.parallelize(self.DATA, 3).sortByKey(ascending=False).collect()
        assert result == sorted(self.DATA, reverse=True)

    @pytest.mark.parametrize("num_partitions", [1, 2, 4])
    def test_sort_by_key_range_partitions_into_ordered_partitions(self, sc, num_partitions):
        rdd = sc.parallelize(self.DATA, 3).sortByKey(True, num_partitions)
        assert rdd.getNumPartitions() == num_partitions
        parts = rdd.glom().collect()
        assert [kv for p in parts for kv in p] == sorted(self.DATA)

    def test_sort_by_key_keeps_the_parent_partition_count_by_default(self, sc):
        assert sc.parallelize(self.DATA, 3).sortByKey().getNumPartitions() == 3

    def test_sort_by_key_of_an_empty_rdd_returns_it_unchanged(self, sc):
        rdd = sc.parallelize([], 2).sortByKey(numPartitions=5)
        assert rdd.getNumPartitions() == 2
        assert rdd.collect() == []

    def test_sort_by_key_into_one_partition_coalesces_even_when_empty(self, sc):
        assert sc.parallelize([], 3).sortByKey(numPartitions=1).getNumPartitions() == 1
        one = sc.parallelize(self.DATA, 3).sortByKey(numPartitions=1)
        assert one.glom().collect() == [sorted(self.DATA)]

    def test_sort_by_key_with_keyfunc_compares_transformed_keys(self, sc):
        data = [("B", 1), ("a", 2), ("C", 3), ("d", 4)]
        result = sc.parallelize(data, 2).sortByKey(keyfunc=str.lower).collect()
        assert result == sorted(data, key=lambda kv: kv[0].lower())

    def test_sort_by_key_samples_keys_eagerly(self, sc):
        # Unlike most transformations, sortByKey runs jobs when called (a count and a
        # sample) to choose the range boundaries.
        seen = sc.accumulator(0)

        def touch(kv):
            seen.add(1)
            return kv

        sorted_rdd = sc.parallelize(self.DATA, 3).map(touch).sortByKey(numPartitions=2)
        assert seen.value > 0
        assert sorted_rdd.collect() == sorted(self.DATA)

    def test_sort_by_sorts_elements_by_a_key_function(self, sc):
        data = [5, 3, 1, 4, 2, 9]
        assert sc.parallelize(data, 2).sortBy(lambda x: -x).collect() == sorted(data, reverse=True)
        by_name = sc.parallelize(WORDS, 3).sortBy(lambda w: (len(w), w), False, 2)
        assert by_name.getNumPartitions() == 2
        assert by_name.collect() == sorted(WORDS, key=lambda w: (len(w), w), reverse=True)


class TestDistinct:
    def test_distinct_removes_duplicates(self, sc):
        result = sc.parallelize(WORDS, 3).distinct().collect()
        assert sorted(result) == sorted(set(WORDS))

    def test_distinct_places_elements_by_portable_hash(self, sc):
        data = [5, 1, 2, 2, 9, -1, 7, 7, 13]
        rdd = sc.parallelize(data, 3).distinct()
        assert rdd.getNumPartitions() == 3
        assert [set(p) for p in rdd.glom().collect()] == hash_placement(data, 3)
        assert sc.parallelize(data, 3).distinct(2).getNumPartitions() == 2


class TestJoin:
    LEFT = [(1, "a"), (2, "b"), (2, "bb"), (3, "c"), (5, "e")]
    RIGHT = [(2, "x"), (2, "y"), (3, "z"), (4, "w")]

    def test_join_pairs_every_left_value_with_every_right_value_of_a_key(self, sc):
        joined = sc.parallelize(self.LEFT, 2).join(sc.parallelize(self.RIGHT, 3))
        assert Counter(joined.collect()) == inner_join(self.LEFT, self.RIGHT)

    def test_join_without_num_partitions_sums_both_sides_partitions(self, sc):
        joined = sc.parallelize(self.LEFT, 2).join(sc.parallelize(self.RIGHT, 3))
        assert joined.getNumPartitions() == 5
        assert (
            sc.parallelize(self.LEFT, 2).join(sc.parallelize(self.RIGHT), 4).getNumPartitions() == 4
        )

    def test_join_places_keys_by_portable_hash(self, sc):
        left = [(i, "l") for i in range(12)]
        right = [(i, "r") for i in range(6, 20)]
        joined = sc.parallelize(left, 2).join(sc.parallelize(right, 3))
        assert keys_by_partition(joined) == hash_placement(range(6, 12), 5)

    def test_join_with_no_common_keys_is_empty(self, sc):
        assert sc.parallelize([(1, 1)]).join(sc.parallelize([(2, 1)])).collect() == []


class TestRepartition:
    @pytest.mark.parametrize(("before", "after"), [(4, 3), (2, 6), (3, 1)])
    def test_repartition_shuffles_into_the_requested_count(self, sc, before, after):
        data = list(range(40))
        rdd = sc.parallelize(data, before).repartition(after)
        assert rdd.getNumPartitions() == after
        assert rdd.count() == len(data)
        assert Counter(rdd.collect()) == Counter(data)


# ==========================================================================
# Actions


class TestActions:
    def test_collect_returns_elements_in_partition_order(self, sc):
        assert sc.parallelize(WORDS, 3).collect() == WORDS

    def test_count(self, sc):
        assert sc.parallelize(range(1000), 7).count() == 1000
        assert sc.parallelize([], 3).count() == 0

    def test_first_returns_the_first_element(self, sc):
        assert sc.parallelize([7, 8, 9], 3).first() == 7
        assert sc.parallelize([None, 1], 2).first() is None

    def test_first_of_an_empty_rdd_raises_value_error(self, sc):
        with pytest.raises(ValueError, match="RDD is empty"):
            sc.parallelize([], 2).first()
        with pytest.raises(ValueError, match="RDD is empty"):
            sc.emptyRDD().first()

    def test_take_returns_the_first_n_in_partition_order(self, sc):
        rdd = sc.parallelize(list(range(10)), 5)
        assert rdd.take(3) == [0, 1, 2]
        assert rdd.take(7) == [0, 1, 2, 3, 4, 5, 6]

    def test_take_more_than_the_size_returns_everything(self, sc):
        assert sc.parallelize([1, 2, 3], 2).take(10) == [1, 2, 3]

    def test_take_zero_returns_an_empty_list(self, sc):
        assert sc.parallelize([1, 2, 3], 2).take(0) == []

    def test_reduce_folds_with_a_commutative_function(self, sc):
        assert sc.parallelize(range(1, 11), 3).reduce(add) == 55
        assert sc.parallelize(WORDS, 3).reduce(max) == max(WORDS)

    def test_reduce_of_an_empty_rdd_raises_value_error(self, sc):
        with pytest.raises(ValueError, match=r"Can not reduce\(\) empty RDD"):
            sc.parallelize([], 2).reduce(add)

    def test_fold_applies_zero_once_per_partition_and_once_more_on_the_driver(self, sc):
        assert sc.parallelize([1, 2, 3, 4], 2).fold(0, add) == 10
        assert sc.parallelize([1, 2, 3, 4], 2).fold(1, add) == 10 + 2 + 1
        assert sc.parallelize([1, 2], 4).fold(1, add) == 3 + 4 + 1  # empty partitions too

    def test_sum_adds_numbers_and_is_zero_when_empty(self, sc):
        assert sc.parallelize(range(101), 4).sum() == 5050
        assert sc.parallelize([1.5, 2], 2).sum() == 3.5
        assert sc.parallelize([], 2).sum() == 0

    def test_count_by_key_returns_a_dict_of_counts(self, sc):
        counts = sc.parallelize(PAIRS, 3).countByKey()
        assert isinstance(counts, dict)
        assert counts == Counter(k for k, _ in PAIRS)

    def test_foreach_runs_for_effect_and_returns_none(self, sc):
        seen = sc.accumulator(0)
        assert sc.parallelize(range(5), 2).foreach(lambda _: seen.add(1)) is None
        assert seen.value == 5


class TestSaveAsTextFile:
    def test_save_as_text_file_writes_one_part_file_per_partition(self, sc, tmp_path):
        out = tmp_path / "out"
        sc.parallelize(["a", "b", "c", "d", "é"], 3).saveAsTextFile(str(out))
        parts = sorted(p.name for p in out.glob("part-*"))
        assert parts == ["part-00000", "part-00001", "part-00002"]
        assert [(out / p).read_bytes() for p in parts] == [b"a\n", b"b\nc\n", "d\né\n".encode()]
        assert (out / "_SUCCESS").exists()

    def test_save_as_text_file_writes_str_of_each_element(self, sc, tmp_path):
        out = tmp_path / "out"
        sc.parallelize([1, (2, 3), None, "s"], 2).saveAsTextFile(str(out))
        assert (out / "part-00000").read_text() == "1\n(2, 3)\n"
        assert (out / "part-00001").read_text() == "None\ns\n"

    def test_save_as_text_file_writes_empty_parts_for_empty_partitions(self, sc, tmp_path):
        out = tmp_path / "out"
        sc.parallelize([], 3).saveAsTextFile(str(out))
        parts = sorted(out.glob("part-*"))
        assert [p.name for p in parts] == ["part-00000", "part-00001", "part-00002"]
        assert all(p.read_bytes() == b"" for p in parts)

    def test_save_then_text_file_round_trips_the_lines(self, sc, tmp_path):
        out = str(tmp_path / "out")
        lines = [f"row {i}" for i in range(25)]
        sc.parallelize(lines, 4).saveAsTextFile(out)
        assert sorted(sc.textFile(out).collect()) == sorted(lines)

    def test_save_as_text_file_refuses_an_existing_directory(self, sc, tmp_path):
        out = str(tmp_path / "out")
        sc.parallelize(["first"], 1).saveAsTextFile(out)
        with pytest.raises(Exception, match="already exists"):
            sc.parallelize(["second"], 1).saveAsTextFile(out)
        assert Path(out, "part-00000").read_text() == "first\n"


# ==========================================================================
# Persistence and identity



def counting_identity(sc):
    """An accumulator and an identity function that adds 1 to it per element it sees."""
    calls = sc.accumulator(0)

    def touch(x):
        calls.add(1)
        return x

    return calls, touch


class TestPersistence:
    def test_cache_marks_the_rdd_and_returns_it(self, sc, spark_module):
        rdd = sc.parallelize([1, 2, 3], 2)
        assert rdd.is_cached is False
        assert rdd.cache() is rdd
        assert rdd.is_cached is True
        assert rdd.getStorageLevel() == spark_module.StorageLevel.MEMORY_ONLY
        assert rdd.unpersist() is rdd
        assert rdd.is_cached is False

    def test_cached_partitions_are_computed_only_once(self, sc):
        calls, touch = counting_identity(sc)
        rdd = sc.parallelize(range(10), 2).map(touch)
        assert calls.value == 0  # nothing has run yet
        rdd.cache()
        assert rdd.count() == 10 and rdd.count() == 10
        assert calls.value == 10  # second count read the cache
        rdd.unpersist()
        rdd.count()
        assert calls.value == 20  # recomputed after unpersist

    def test_uncached_rdds_are_recomputed_by_every_action(self, sc):
        calls, touch = counting_identity(sc)
        rdd = sc.parallelize(range(10), 2).map(touch)
        rdd.count()
        rdd.count()
        assert calls.value == 20

    def test_persist_memory_and_disk(self, sc, spark_module):
        level = spark_module.StorageLevel.MEMORY_AND_DISK
        rdd = sc.parallelize(range(6), 2).map(lambda x: x + 1)
        assert rdd.persist(level) is rdd
        assert rdd.is_cached is True
        assert rdd.getStorageLevel() == level
        assert rdd.collect() == [1, 2, 3, 4, 5, 6]
        rdd.unpersist()
        assert rdd.is_cached is False

    def test_persist_cannot_change_an_assigned_storage_level(self, sc, spark_module):
        levels = spark_module.StorageLevel
        rdd = sc.parallelize([1]).persist(levels.MEMORY_ONLY)
        with pytest.raises(Exception, match="Cannot change storage level"):
            rdd.persist(levels.DISK_ONLY)


class TestIdentity:
    def test_get_num_partitions(self, sc):
        assert sc.parallelize(range(10), 4).getNumPartitions() == 4
        assert sc.parallelize(range(10), 4).map(str).getNumPartitions() == 4

    def test_every_rdd_has_a_distinct_integer_id(self, sc):
        base = sc.parallelize([1, 2])
        rdds = [base, sc.parallelize([1, 2]), base.map(str), base.filter(bool)]
        ids = [r.id() for r in rdds]
        assert all(isinstance(i, int) for i in ids)
        assert len(set(ids)) == len(ids)
        assert base.id() == base.id()

    def test_name_is_none_until_set_name(self, sc):
        rdd = sc.parallelize([1])
        assert rdd.name() is None
        assert rdd.setName("numbers") is rdd
        assert rdd.name() == "numbers"

    def test_to_debug_string_is_bytes_headed_by_the_partition_count(self, sc):
        debug = sc.parallelize([1, 2, 3], 2).map(str).toDebugString()
        assert isinstance(debug, bytes)
        assert debug.startswith(b"(2) ")
        assert b"+-" not in debug  # narrow lineage: no shuffle boundary

    def test_to_debug_string_marks_the_shuffle_boundary(self, sc):
        debug = sc.parallelize(PAIRS, 3).reduceByKey(add, 2).toDebugString()
        assert debug.startswith(b"(2) ")
        assert debug.count(b"+-") == 1
        assert b"+-(3) " in debug  # the map side of the shuffle has 3 partitions
        # Whatever lineage lies before the shuffle is indented under the "+-" line.
        lines = debug.decode().splitlines()
        after = lines[next(i for i, line in enumerate(lines) if "+-" in line) + 1 :]
        assert all(line.startswith("    |  ") for line in after)


# ==========================================================================
# Laziness and errors


class TestLazinessAndErrors:
    def test_transformations_are_lazy_until_an_action(self, sc):
        rdd = sc.parallelize([1, 2, 3], 2).map(boom_function()).filter(bool)
        with pytest.raises(Exception, match="boom"):
            rdd.collect()

    def test_task_errors_reach_the_driver_with_type_and_message(self, sc):
        with pytest.raises(Exception) as failure:
            sc.parallelize(range(4), 2).map(boom_function()).count()
        text = str(failure.value)
        assert "ValueError" in text and "boom" in text

    def test_the_context_stays_usable_after_a_failed_job(self, sc):
        with pytest.raises(Exception, match="boom"):
            sc.parallelize([1], 1).foreach(boom_function())
        assert sc.parallelize([1, 2, 3], 2).sum() == 6

    def test_referencing_the_context_in_a_task_fails_at_the_action(self, sc):
        rdd = sc.parallelize([1, 2]).map(lambda x: sc.parallelize([x]).count())
        with pytest.raises(Exception) as failure:
            rdd.collect()
        assert "SparkContext can only be used on the driver" in str(failure.value)

    def test_an_unpicklable_closure_fails_at_the_action_naming_the_type(self, sc):
        lock = threading.Lock()
        rdd = sc.parallelize([1, 2]).map(lambda x: (id(lock), x))  # lazy: not pickled yet
        with pytest.raises(Exception) as failure:
            rdd.collect()
        assert "_thread.lock" in str(failure.value)


@pytest.mark.sparkbook_only
def test_sparkbook_runs_jobs_without_importing_pyspark():
    # In a fresh interpreter: other tests in this process use pyspark as the oracle.
    program = ("import sys\nfrom sparkbook import SparkContext\n"
               "sc = SparkContext('local[2]')\n"
               "assert sc.parallelize(range(5), 2).map(lambda x: x * 2).sum() == 20\n"
               "sc.stop()\nprint(sorted(m for m in sys.modules if m.startswith('pyspark')))\n")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=90)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
