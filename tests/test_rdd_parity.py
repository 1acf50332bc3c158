"""The rest of pyspark.RDD: zips, samples, set operations, outer joins, statistics,
histograms, approximate actions, pickle files and checkpoints.

Each method is checked against a plain-Python oracle, and where PySpark defines element
order, placement, random draws or printed numbers, against literal results recorded from
PySpark 4.3.0 (local[2]); the error types and messages are PySpark's. Run with
SPARKBOOK_TEST_ENGINE=pyspark to check every expectation against PySpark itself.
"""

from __future__ import annotations

import importlib
import math
import os
import sys
import types
import warnings
from collections import Counter
from operator import add

import pytest
from rdd_oracles import cogroup, hash_placement, histogram_counts, inner_join, outer_join

PAIRS_X = [("a", 1), ("b", 4), ("a", 5)]
PAIRS_Y = [("a", 2), ("c", 8), ("a", 3)]


def sorted_parts(rdd) -> list[list]:
    """Partitions with their elements sorted: PySpark fixes which partition an element of a
    shuffle lands in, not its position inside the partition."""
    return [sorted(part, key=repr) for part in rdd.glom().collect()]


def keys_by_partition(rdd) -> list[set]:
    return [{k for k, _ in part} for part in rdd.glom().collect()]


@pytest.fixture
def statcounter_class(engine):
    return importlib.import_module(f"{engine}.statcounter").StatCounter


# ==========================================================================
# zip and friends


class TestZip:
    def test_zip_pairs_the_elements_of_matching_partitions(self, sc):
        zipped = sc.parallelize(range(5), 2).zip(sc.parallelize("abcde", 2))
        assert zipped.getNumPartitions() == 2
        assert zipped.glom().collect() == [[(0, "a"), (1, "b")], [(2, "c"), (3, "d"), (4, "e")]]

    def test_zip_of_shuffled_rdds_pairs_them_partition_by_partition(self, sc):
        left = sc.parallelize([(k % 4, k) for k in range(40)], 3).partitionBy(2)
        right = left.mapValues(lambda v: -v)
        zipped = left.zip(right).collect()
        assert len(zipped) == 40
        assert all(a[0] == b[0] and a[1] == -b[1] for a, b in zipped)

    def test_zip_needs_the_same_number_of_partitions_at_once(self, sc):
        with pytest.raises(ValueError, match="Can only zip with RDD which has the same "
                                             "number of partitions"):
            sc.parallelize(range(4), 2).zip(sc.parallelize(range(4), 3))

    def test_zip_of_unequal_partitions_is_lazy_then_fails(self, sc):
        zipped = sc.parallelize(range(4), 2).zip(sc.parallelize(range(5), 2))
        assert zipped.getNumPartitions() == 2
        # Partition 1 has 2 elements on the left and 3 on the right.
        with pytest.raises(Exception, match=r"Can not deserialize PairRDD with different "
                                            r"number of items in batches: \(2, 3\)"):
            zipped.collect()

    def test_zip_of_long_unequal_partitions_reports_by_batches_of_100(self, sc):
        # 200 vs 195 elements: the second batch of 100 holds 100 vs 95.
        same_batches = sc.parallelize(range(400), 2).zip(sc.parallelize(range(390), 2))
        with pytest.raises(Exception, match=r"different number of items in batches: "
                                            r"\(100, 95\)"):
            same_batches.collect()
        # 200 vs 250 elements: the right side has a batch left over.
        extra_batch = sc.parallelize(range(400), 2).zip(sc.parallelize(range(500), 2))
        with pytest.raises(Exception, match="Can only zip RDDs with same number of elements "
                                            "in each partition"):
            extra_batch.collect()

    def test_zip_with_index_numbers_elements_across_partitions(self, sc):
        rdd = sc.parallelize("abcdefg", 3).zipWithIndex()
        assert rdd.glom().collect() == [
            [("a", 0), ("b", 1)], [("c", 2), ("d", 3)], [("e", 4), ("f", 5), ("g", 6)]]

    def test_zip_with_index_of_uneven_and_empty_partitions(self, sc):
        data = list(range(23))
        rdd = sc.parallelize(data, 7).filter(lambda x: x % 5 != 1)
        expected = [(x, i) for i, x in enumerate(x for x in data if x % 5 != 1)]
        assert rdd.zipWithIndex().collect() == expected
        assert sc.parallelize([1, 2], 1).zipWithIndex().collect() == [(1, 0), (2, 1)]
        assert sc.parallelize([], 3).zipWithIndex().collect() == []

    def test_zip_with_unique_id_gives_k_times_n_plus_partition(self, sc):
        rdd = sc.parallelize("abcdefg", 3).zipWithUniqueId()
        assert rdd.glom().collect() == [
            [("a", 0), ("b", 3)], [("c", 1), ("d", 4)], [("e", 2), ("f", 5), ("g", 8)]]
        ids = [i for _, i in sc.parallelize(range(50), 4).zipWithUniqueId().collect()]
        assert len(set(ids)) == 50


class TestCartesian:
    def test_cartesian_partition_i_times_n_plus_j_pairs_partitions_i_and_j(self, sc):
        rdd = sc.parallelize([1, 2, 3], 2).cartesian(sc.parallelize("ab", 2))
        assert rdd.getNumPartitions() == 4
        assert rdd.glom().collect() == [
            [(1, "a")], [(1, "b")], [(2, "a"), (3, "a")], [(2, "b"), (3, "b")]]

    def test_cartesian_has_every_pair_and_m_times_n_partitions(self, sc):
        left, right = list(range(7)), ["x", "y", "z", "w"]
        rdd = sc.parallelize(left, 3).cartesian(sc.parallelize(right, 2))
        assert rdd.getNumPartitions() == 6
        assert Counter(rdd.collect()) == Counter((a, b) for a in left for b in right)

    def test_cartesian_with_a_shuffled_rdd_and_with_itself(self, sc):
        sums = sc.parallelize([("a", 1), ("b", 2), ("a", 3)], 2).reduceByKey(add, 3)
        nums = sc.parallelize([10, 20], 2)
        assert sums.cartesian(nums).getNumPartitions() == 6
        assert sorted(sums.cartesian(nums).collect()) == [
            (("a", 4), 10), (("a", 4), 20), (("b", 2), 10), (("b", 2), 20)]
        assert sorted(nums.cartesian(nums).collect()) == [
            (10, 10), (10, 20), (20, 10), (20, 20)]


# ==========================================================================
# sampling


class TestSampling:
    def test_sample_with_a_seed_draws_pysparks_elements(self, sc):
        rdd = sc.parallelize(range(20), 2)
        assert rdd.sample(False, 0.5, 7).collect() == [0, 1, 2, 4, 9, 10, 13, 16, 19]
        assert rdd.sample(True, 0.5, 7).collect() == [6, 11, 14, 16, 17, 18]

    def test_sample_refuses_a_negative_fraction(self, sc):
        with pytest.raises(ValueError, match=r"^Fraction must be nonnegative\.$"):
            sc.parallelize(range(4), 2).sample(False, -1.0)

    def test_random_split_with_a_seed_splits_as_pyspark(self, sc):
        halves = sc.parallelize(range(30), 3).randomSplit([2, 3], 17)
        assert [r.collect() for r in halves] == [
            [7, 9, 10, 11, 12, 17, 18, 25, 29],
            [0, 1, 2, 3, 4, 5, 6, 8, 13, 14, 15, 16, 19, 20, 21, 22, 23, 24, 26, 27, 28]]
        thirds = sc.parallelize(range(20), 2).randomSplit([0.2, 0.3, 0.5], 3)
        assert [r.glom().collect() for r in thirds] == [
            [[5], []], [[1, 3], [15]],
            [[0, 2, 4, 6, 7, 8, 9], [10, 11, 12, 13, 14, 16, 17, 18, 19]]]

    def test_random_split_puts_each_element_in_exactly_one_split(self, sc):
        data = list(range(200))
        splits = sc.parallelize(data, 4).randomSplit([1, 0, 2.5, 1])
        assert len(splits) == 4
        assert all(s.getNumPartitions() == 4 for s in splits)
        assert splits[1].collect() == []
        assert sorted(x for s in splits for x in s.collect()) == data

    @pytest.mark.parametrize(("weights", "message"), [
        ([-1, 2], "Weights must be nonnegative"),
        ([0, 0], "Sum of weights must be positive"),
    ])
    def test_random_split_refuses_bad_weights(self, sc, weights, message):
        with pytest.raises(ValueError, match=message):
            sc.parallelize(range(20), 2).randomSplit(weights, 3)

    @pytest.mark.parametrize(("data", "with_replacement", "num", "expected"), [
        (range(100), False, 10, [17, 4, 18, 90, 56, 55, 74, 32, 7, 76]),
        (range(100), True, 10, [19, 65, 67, 41, 76, 83, 53, 35, 56, 35]),
        (range(10), False, 20, [7, 3, 2, 8, 5, 6, 9, 4, 0, 1]),
        (range(10), True, 20, [8, 2, 3, 5, 8, 3, 7, 3, 7, 4, 6, 3, 8, 5, 8, 7, 9, 1, 5, 6]),
    ])
    def test_take_sample_with_a_seed_returns_pysparks_sample(self, sc, data, with_replacement,
                                                             num, expected):
        assert sc.parallelize(data, 3).takeSample(with_replacement, num, 42) == expected

    def test_take_sample_without_a_seed_has_the_right_size_and_elements(self, sc):
        rdd = sc.parallelize(range(50), 3)
        sample = rdd.takeSample(False, 12)
        assert len(sample) == 12 and len(set(sample)) == 12 and set(sample) <= set(range(50))
        assert len(rdd.takeSample(True, 80)) == 80
        assert rdd.takeSample(False, 0) == []
        assert sc.parallelize([], 3).takeSample(True, 3, 42) == []
        assert sc.emptyRDD().takeSample(False, 3) == []

    def test_take_sample_refuses_bad_sizes(self, sc):
        rdd = sc.parallelize(range(10), 3)
        with pytest.raises(ValueError, match=r"Sample size cannot be negative\."):
            rdd.takeSample(True, -1, 42)
        with pytest.raises(ValueError, match=r"Sample size cannot be greater than "
                                             r"9223372006484770808\."):
            rdd.takeSample(True, sys.maxsize, 42)

    def test_sample_by_key_uses_each_keys_fraction(self, sc):
        pairs = sc.parallelize([(i % 3, i) for i in range(30)], 2)
        assert pairs.sampleByKey(False, {0: 0.5, 1: 0.2, 2: 1.0}, 5).glom().collect() == [
            [(2, 2), (0, 3), (2, 5), (0, 6), (2, 8), (1, 10), (2, 11), (0, 12), (1, 13),
             (2, 14)],
            [(2, 17), (0, 18), (2, 20), (2, 23), (1, 25), (2, 26), (0, 27), (2, 29)]]
        assert pairs.sampleByKey(True, {0: 0.5, 1: 2.0, 2: 1.0}, 5).glom().collect() == [
            [(0, 0), (0, 3), (1, 4), (1, 4), (2, 5), (0, 6), (2, 8), (0, 9), (0, 9), (1, 10),
             (0, 12), (1, 13), (1, 13), (2, 14), (2, 14)],
            [(1, 16), (1, 16), (2, 17), (0, 18), (0, 18), (1, 19), (2, 20), (1, 22), (2, 23),
             (2, 23), (2, 23), (0, 24), (1, 25), (1, 28), (1, 28), (1, 28), (1, 28)]]

    def test_sample_by_key_with_fractions_zero_and_one(self, sc):
        pairs = [(i % 3, i) for i in range(30)]
        kept = sc.parallelize(pairs, 4).sampleByKey(False, {0: 1.0, 1: 0.0, 2: 1.0}).collect()
        assert kept == [p for p in pairs if p[0] != 1]

    def test_sample_by_key_refuses_a_negative_fraction_and_fails_on_a_missing_key(self, sc):
        pairs = sc.parallelize([(i % 3, i) for i in range(30)], 2)
        with pytest.raises(AssertionError, match="Negative fraction value: -0.5"):
            pairs.sampleByKey(True, {0: -0.5, 1: 2.0, 2: 1.0}, 5)
        with pytest.raises(Exception, match="KeyError"):
            pairs.sampleByKey(True, {0: 0.5}, 5).collect()


# ==========================================================================
# grouping, set operations and joins


class TestGroupingAndSets:
    def test_group_by_groups_elements_by_a_function_of_them(self, sc):
        rdd = sc.parallelize(range(10), 3).groupBy(lambda x: x % 3)
        assert rdd.getNumPartitions() == 3
        groups = {k: sorted(v) for k, v in rdd.collect()}
        assert groups == {0: [0, 3, 6, 9], 1: [1, 4, 7], 2: [2, 5, 8]}
        assert keys_by_partition(rdd) == hash_placement(range(3), 3)
        assert len(rdd.first()[1]) == len(list(rdd.first()[1]))

    def test_group_by_with_partitions_and_a_partition_function(self, sc):
        rdd = sc.parallelize(["spark", "rdd", "driver", "dag"], 2).groupBy(
            len, 4, lambda k: k)
        assert [sorted((k, sorted(v)) for k, v in part) for part in rdd.glom().collect()] == [
            [], [(5, ["spark"])], [(6, ["driver"])], [(3, ["dag", "rdd"])]]

    def test_intersection_keeps_distinct_common_elements_placed_by_hash(self, sc):
        rdd = sc.parallelize([1, 10, 2, 3, 4, 5, 1], 2).intersection(
            sc.parallelize([1, 6, 2, 3, 7, 8, 1], 3))
        assert rdd.getNumPartitions() == 5
        assert rdd.glom().collect() == [[], [1], [2], [3], []]

    def test_intersection_of_strings_against_an_oracle(self, sc):
        a = [f"w{i % 17}" for i in range(60)]
        b = [f"w{i % 11 + 6}" for i in range(25)]
        rdd = sc.parallelize(a, 3).intersection(sc.parallelize(b, 2))
        assert sorted(rdd.collect()) == sorted(set(a) & set(b))
        assert [set(p) for p in rdd.glom().collect()] == hash_placement(sorted(set(a) & set(b)), 5)

    def test_subtract_keeps_duplicates_and_places_by_hash(self, sc):
        rdd = sc.parallelize([("a", 1), ("b", 4), ("b", 5), ("a", 3), ("a", 1)], 2).subtract(
            sc.parallelize([("a", 3), ("c", None)], 3))
        assert rdd.glom().collect() == [[], [("b", 4)], [], [("b", 5)], [("a", 1), ("a", 1)]]
        rest = sc.parallelize([1, 2, 2, 3, 3], 2).subtract(sc.parallelize([2], 1), 2)
        assert rest.getNumPartitions() == 2 and sorted(rest.collect()) == [1, 3, 3]

    def test_subtract_by_key_drops_keys_found_in_the_other(self, sc):
        rdd = sc.parallelize([("a", 1), ("b", 4), ("b", 5), ("a", 2)], 2).subtractByKey(
            sc.parallelize([("a", 3), ("c", None)], 3))
        assert rdd.getNumPartitions() == 5
        assert sorted_parts(rdd) == [[], [], [("b", 4), ("b", 5)], [], []]
        assert sc.parallelize(PAIRS_X, 2).subtractByKey(sc.parallelize([], 1), 3) \
            .getNumPartitions() == 3

    def test_fold_by_key_starts_each_key_from_a_fresh_zero(self, sc):
        rdd = sc.parallelize(PAIRS_X, 2)
        assert sorted(rdd.foldByKey(10, add).collect()) == [("a", 26), ("b", 14)]
        lists = sc.parallelize([(1, "x"), (1, "y"), (2, "z")], 1).foldByKey(
            [], lambda acc, v: acc + [v])
        assert sorted(lists.collect()) == [(1, ["x", "y"]), (2, ["z"])]
        assert rdd.foldByKey(0, add, 5).getNumPartitions() == 5

    def test_reduce_by_key_locally_returns_a_dict(self, sc):
        assert sc.parallelize(PAIRS_X, 2).reduceByKeyLocally(add) == {"a": 6, "b": 4}
        assert sc.parallelize([], 2).reduceByKeyLocally(add) == {}
        with pytest.raises(ValueError, match=r"Can not reduce\(\) empty RDD"):
            sc.emptyRDD().reduceByKeyLocally(add)

    def test_repartition_and_sort_within_partitions(self, sc):
        pairs = [(0, 5), (3, 8), (2, 6), (0, 8), (3, 8), (1, 3)]
        rdd = sc.parallelize(pairs, 3)
        by_parity = rdd.repartitionAndSortWithinPartitions(2, lambda x: x % 2, True)
        assert by_parity.glom().collect() == [[(0, 5), (0, 8), (2, 6)], [(1, 3), (3, 8), (3, 8)]]
        descending = rdd.repartitionAndSortWithinPartitions(ascending=False)
        assert descending.glom().collect() == [[(3, 8), (3, 8), (0, 5), (0, 8)], [(1, 3)],
                                               [(2, 6)]]
        by_name = sc.parallelize([("b", 1), ("A", 2), ("a", 3)], 2) \
            .repartitionAndSortWithinPartitions(1, keyfunc=str.lower)
        assert by_name.collect() == [("A", 2), ("a", 3), ("b", 1)]


class TestJoins:
    @pytest.fixture
    def xy(self, sc):
        return sc.parallelize(PAIRS_X, 2), sc.parallelize(PAIRS_Y, 1)

    def test_left_outer_join(self, xy):
        x, y = xy
        rdd = x.leftOuterJoin(y)
        assert rdd.getNumPartitions() == 3
        assert sorted_parts(rdd) == [
            [("b", (4, None))], [("a", (1, 2)), ("a", (1, 3)), ("a", (5, 2)), ("a", (5, 3))], []]

    def test_right_outer_join(self, xy):
        x, y = xy
        assert sorted_parts(x.rightOuterJoin(y)) == [
            [], [("a", (1, 2)), ("a", (1, 3)), ("a", (5, 2)), ("a", (5, 3)), ("c", (None, 8))],
            []]

    def test_full_outer_join(self, xy):
        x, y = xy
        assert sorted_parts(x.fullOuterJoin(y)) == [
            [("b", (4, None))],
            [("a", (1, 2)), ("a", (1, 3)), ("a", (5, 2)), ("a", (5, 3)), ("c", (None, 8))], []]

    @pytest.mark.parametrize("how", ["left", "right", "full"])
    def test_outer_joins_against_an_oracle(self, sc, how):
        left = [(k % 7 - 2, k) for k in range(30)] + [(None, "n")]
        right = [(k % 5, -k) for k in range(12)] + [(9, "only right")]
        method = {"left": "leftOuterJoin", "right": "rightOuterJoin", "full": "fullOuterJoin"}
        rdd = getattr(sc.parallelize(left, 3), method[how])(sc.parallelize(right, 2), 4)
        assert rdd.getNumPartitions() == 4
        assert Counter(rdd.collect()) == outer_join(left, right, how)
        placed = hash_placement([k for k, _ in left + right], 4)
        assert all(keys <= placed[i] for i, keys in enumerate(keys_by_partition(rdd)))

    def test_joins_of_co_partitioned_rdds_keep_their_partition_count(self, sc, xy):
        x, y = xy
        px, py = x.partitionBy(3), y.partitionBy(3)
        counts = (px.join(py).getNumPartitions(), px.leftOuterJoin(py).getNumPartitions(),
                  px.cogroup(py).getNumPartitions(), px.groupWith(py).getNumPartitions(),
                  px.subtractByKey(py).getNumPartitions(), px.join(y).getNumPartitions())
        assert counts == (3, 3, 3, 3, 3, 4)
        assert Counter(px.join(py).collect()) == inner_join(PAIRS_X, PAIRS_Y)

    def test_cogroup_and_group_with(self, xy):
        x, y = xy
        grouped = x.cogroup(y)
        assert grouped.getNumPartitions() == 3
        assert {k: tuple(sorted(v) for v in vs) for k, vs in grouped.collect()} == \
            cogroup(PAIRS_X, PAIRS_Y)
        three = x.groupWith(y, x)
        assert three.getNumPartitions() == 5
        assert {k: tuple(sorted(v) for v in vs) for k, vs in three.collect()} == \
            cogroup(PAIRS_X, PAIRS_Y, PAIRS_X)
        assert all(len(v) == len(list(v)) for _, vs in three.collect() for v in vs)


# ==========================================================================
# actions: top, trees, lookup, local iteration


class TestOrderedAndTreeActions:
    def test_top_and_take_ordered_with_a_key_keep_ties_in_order(self, sc):
        rdd = sc.parallelize([(1, "b"), (2, "a"), (3, "b"), (0, "a"), (5, "a")], 2)
        assert rdd.top(3, key=lambda x: x[1]) == [(1, "b"), (3, "b"), (2, "a")]
        assert rdd.takeOrdered(3, key=lambda x: x[1]) == [(2, "a"), (0, "a"), (5, "a")]
        assert sc.parallelize(range(20), 3).top(4) == [19, 18, 17, 16]
        assert sc.parallelize(range(20), 3).takeOrdered(2, key=lambda x: -x) == [19, 18]

    def test_top_and_take_ordered_edge_cases(self, sc):
        assert sc.parallelize([], 2).top(2) == []
        assert sc.parallelize([1, 2], 2).top(0) == []
        assert sc.parallelize([1, 2], 2).top(-1) == []
        with pytest.raises(ValueError, match=r"Can not reduce\(\) empty RDD"):
            sc.emptyRDD().top(2)
        assert sc.emptyRDD().takeOrdered(2) == []
        assert sc.parallelize([1, 2], 2).takeOrdered(0) == []
        with pytest.raises(ValueError, match=r"top N cannot be negative\."):
            sc.parallelize([1, 2], 2).takeOrdered(-1)

    @pytest.mark.parametrize(("partitions", "depth"), [(10, 2), (10, 3), (1, 2), (37, 2),
                                                       (37, 4), (5, 1)])
    def test_tree_reduce_and_tree_aggregate_equal_their_flat_versions(self, sc, partitions,
                                                                      depth):
        rdd = sc.parallelize(range(100), partitions)
        assert rdd.treeReduce(add, depth) == 4950
        assert rdd.treeAggregate(0, add, add, depth) == 4950
        pair = rdd.treeAggregate((0, 0), lambda acc, x: (acc[0] + x, acc[1] + 1),
                                 lambda a, b: (a[0] + b[0], a[1] + b[1]), depth)
        assert pair == (4950, 100)

    def test_tree_reduce_and_tree_aggregate_of_nothing(self, sc):
        for rdd in (sc.parallelize([], 3), sc.emptyRDD()):
            with pytest.raises(ValueError, match=r"^Cannot reduce empty RDD\.$"):
                rdd.treeReduce(add)
        assert sc.emptyRDD().treeAggregate(7, add, add) == 7
        assert sc.parallelize([], 4).treeAggregate(0, add, add) == 0

    def test_tree_depth_must_be_at_least_one(self, sc):
        with pytest.raises(ValueError, match=r"Depth cannot be smaller than 1 but got 0\."):
            sc.parallelize([1], 3).treeReduce(add, 0)
        with pytest.raises(ValueError, match=r"Depth cannot be smaller than 1 but got 0\."):
            sc.emptyRDD().treeAggregate(7, add, add, 0)

    def test_lookup_without_a_partitioner_scans_everything(self, sc):
        rdd = sc.parallelize([(1, "a"), (2, "b"), (1, "c"), (3, "d")], 2)
        assert rdd.lookup(1) == ["a", "c"]
        assert rdd.lookup(9) == []

    def test_lookup_with_a_partitioner_reads_only_the_keys_partition(self, sc, monkeypatch):
        monkeypatch.setenv("PYTHONHASHSEED", "0")  # PySpark's driver refuses to hash without
        seen = sc.accumulator(0)
        pairs = [(k % 6, k) for k in range(30)]
        rdd = sc.parallelize(pairs, 2).partitionBy(3)

        def counted(v):
            seen.add(1)
            return v

        values = rdd.mapValues(counted)  # keeps the partitioner
        assert sorted(values.lookup(4)) == [4, 10, 16, 22, 28]
        assert seen.value == 10  # keys 1 and 4 share partition 1
        assert values.lookup(99) == []

    @pytest.mark.sparkbook_only
    def test_lookup_of_a_string_key_from_a_driver_with_random_hashing(self, sc, monkeypatch):
        # The driver may hash strings unlike the executors; the key's partition must still
        # be the one the executors put it in.
        monkeypatch.delenv("PYTHONHASHSEED", raising=False)
        words = [f"word{i}" for i in range(40)]
        rdd = sc.parallelize([(w, i) for i, w in enumerate(words)], 3).partitionBy(4)
        assert [rdd.lookup(w) for w in ("word7", "word33", "nope")] == [[7], [33], []]

    def test_to_local_iterator_runs_one_job_per_partition_lazily(self, sc):
        seen = sc.accumulator(0)

        def counted(x):
            seen.add(1)
            return x

        it = sc.parallelize(range(9), 3).map(counted).toLocalIterator()
        assert isinstance(it, types.GeneratorType)
        assert seen.value == 0
        assert next(it) == 0
        assert seen.value == 3  # only the first partition so far
        assert list(it) == list(range(1, 9))
        assert seen.value == 9
        assert list(sc.emptyRDD().toLocalIterator()) == []
        assert list(sc.parallelize([], 3).toLocalIterator(prefetchPartitions=True)) == []

    def test_map_partitions_with_split_is_a_deprecated_alias(self, sc):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rdd = sc.parallelize(range(4), 2).mapPartitionsWithSplit(lambda i, it: [(i, sum(it))])
        assert rdd.collect() == [(0, 1), (1, 5)]
        assert [(w.category, str(w.message)) for w in caught] == [
            (FutureWarning, "mapPartitionsWithSplit is deprecated; use mapPartitionsWithIndex "
                            "instead")]

    def test_small_actions_that_existed_before(self, sc, spark_module):
        assert (sc.parallelize([], 2).isEmpty(), sc.emptyRDD().isEmpty(),
                sc.parallelize([1], 3).isEmpty()) == (True, True, False)
        assert sc.parallelize([1, 2, 1, 3], 2).countByValue() == {1: 2, 2: 1, 3: 1}
        assert sc.parallelize([(1, 2), (1, 3)], 2).collectAsMap() == {1: 3}
        rdd = sc.parallelize([1])
        assert rdd.getStorageLevel() == spark_module.StorageLevel(False, False, False, False, 1)
        assert rdd.context is sc and rdd.partitioner is None
        assert sc.parallelize([(1, 2)]).partitionBy(2).partitioner.numPartitions == 2
        assert sc.parallelize(range(6), 3).foreachPartition(lambda it: None) is None


# ==========================================================================
# statistics and histograms


class TestStatistics:
    DATA = [1.5, 2.25, 3.0, 10.0, -4.125, 7.7, 0.1, 1e10, 3.3]
    # PySpark's results, partitioned in 1, 2 and 4 slices: merging in a different place
    # changes the last digit, and sparkbook merges where PySpark does.
    RECORDED = {
        1: ("(count: 9, mean: 1111111113.7472224, stdev: 3142696804.341539, "
            "max: 10000000000.0, min: -4.125)",
            10000000023.725002, 9.87654320401852e+18, 1.1111111104520835e+19,
            3142696804.341539, 3333333332.344792, 8.888888883616668e+19),
        2: ("(count: 9, mean: 1111111113.7472222, stdev: 3142696804.3415384, "
            "max: 10000000000.0, min: -4.125)",
            10000000023.725, 9.876543204018518e+18, 1.1111111104520833e+19,
            3142696804.3415384, 3333333332.3447914, 8.888888883616666e+19),
    }
    RECORDED[4] = RECORDED[1]

    @pytest.mark.parametrize("partitions", [1, 2, 4])
    def test_stats_match_pyspark_to_the_last_digit(self, sc, partitions):
        rdd = sc.parallelize(self.DATA, partitions)
        text, total, variance, sample_variance, stdev, sample_stdev, m2 = \
            self.RECORDED[partitions]
        s = rdd.stats()
        assert repr(s) == text
        assert (s.count(), s.sum(), s.min(), s.max()) == (9, total, -4.125, 1e10)
        assert (s.variance(), s.sampleVariance(), s.stdev(), s.sampleStdev()) == (
            variance, sample_variance, stdev, sample_stdev)
        assert (s.n, s.m2) == (9, m2)
        assert s.asDict() == {"count": 9, "mean": s.mean(), "sum": total, "min": -4.125,
                              "max": 1e10, "stdev": sample_stdev, "variance": sample_variance}
        assert s.asDict(sample=True)["stdev"] == stdev
        assert (rdd.mean(), rdd.variance(), rdd.stdev(), rdd.sampleVariance(),
                rdd.sampleStdev()) == (s.mean(), variance, stdev, sample_variance, sample_stdev)

    def test_stats_against_an_oracle(self, sc):
        data = [float(i) ** 1.5 for i in range(1000)]
        s = sc.parallelize(data, 7).stats()
        mean = sum(data) / len(data)
        variance = sum((x - mean) ** 2 for x in data) / len(data)
        assert s.count() == 1000 and s.min() == 0.0 and s.max() == max(data)
        assert math.isclose(s.mean(), mean, rel_tol=1e-12)
        assert math.isclose(s.variance(), variance, rel_tol=1e-9)
        assert repr(s) == ("(count: 1000, mean: 12633.303179734567, stdev: 9481.555820059732, "
                           "max: 31575.35429729966, min: 0.0)")
        skewed = sc.parallelize([0.1] * 3 + [1e6 + i * 0.3 for i in range(100)], 4).stats()
        assert skewed.asDict() == {"count": 103, "mean": 970888.2067961169,
                                   "sum": 100001485.30000004, "min": 0.1, "max": 1000029.7,
                                   "stdev": 168985.06981521824, "variance": 28555953820.45419}

    def test_stats_of_ints_report_float_extremes(self, sc):
        rdd = sc.parallelize([1, 2, 3, 4], 2)
        assert repr(rdd.stats()) == "(count: 4, mean: 2.5, stdev: 1.118033988749895, " \
                                    "max: 4.0, min: 1.0)"
        assert rdd.stats().sum() == 10.0 and rdd.mean() == 2.5

    def test_stats_of_empty_and_single_element_rdds(self, sc):
        empty = sc.parallelize([], 2)
        assert repr(empty.stats()) == "(count: 0, mean: 0.0, stdev: nan, max: -inf, min: inf)"
        assert empty.mean() == 0.0 and math.isnan(empty.stdev())
        assert math.isnan(empty.stats().asDict()["variance"])
        with pytest.raises(ValueError, match=r"Can not reduce\(\) empty RDD"):
            sc.emptyRDD().stats()
        with pytest.raises(ValueError, match=r"Can not reduce\(\) empty RDD"):
            sc.emptyRDD().mean()
        one = sc.parallelize([5], 2)
        assert repr(one.stats()) == "(count: 1, mean: 5.0, stdev: 0.0, max: 5.0, min: 5.0)"
        assert math.isnan(one.sampleStdev())
        assert repr(sc.parallelize([1.0, float("nan"), 3.0], 2).stats()) == \
            "(count: 3, mean: nan, stdev: nan, max: nan, min: nan)"

    def test_stat_counter_merges_values_and_counters(self, statcounter_class):
        s = statcounter_class([1, 2, 3])
        s.mergeStats(statcounter_class([4.5, 6]))
        assert (repr(s), s.m2) == (
            "(count: 5, mean: 3.3, stdev: 1.7776388834631178, max: 6.0, min: 1.0)", 15.8)
        s = statcounter_class([1, 2, 3])
        s.mergeStats(s)
        assert (repr(s), s.m2, s.n) == (
            "(count: 6, mean: 2.0, stdev: 0.816496580927726, max: 3.0, min: 1.0)", 4.0, 6)
        s = statcounter_class([1, 2, 3]).merge(10)
        assert (repr(s), s.m2) == (
            "(count: 4, mean: 4.0, stdev: 3.5355339059327378, max: 10.0, min: 1.0)", 50.0)
        copy = statcounter_class([1, 2]).copy()
        assert repr(copy) == "(count: 2, mean: 1.5, stdev: 0.5, max: 2.0, min: 1.0)"
        with pytest.raises(TypeError, match="Can only merge StatCounter"):
            s.mergeStats([1])


class TestHistogram:
    @pytest.mark.parametrize(("data", "buckets", "expected"), [
        (range(51), 2, ([0, 25, 50], [25, 26])),
        (range(51), 3, ([0.0, 16.666666666666668, 33.333333333333336, 50], [17, 17, 17])),
        ([1, 2, 3, 10, 11.5, 0.5], 7,
         ([0.5, 2.071428571428571, 3.642857142857143, 5.214285714285714, 6.785714285714286,
           8.357142857142858, 9.928571428571429, 11.5], [3, 1, 0, 0, 0, 0, 2])),
        ([3, 3, 3], 4, ([3, 3], [3])),
        ([1, 5, 3], 1, ([1, 5], [3])),
        ([1, None, float("nan"), 5, 3], 2, ([1, 3, 5], [1, 2])),
        ([-3, -1.5, 2], 4, ([-3.0, -1.75, -0.5, 0.75, 2], [1, 1, 0, 1])),
        ([0, 0.1, 0.3, 1.0], 3, ([0.0, 0.3333333333333333, 0.6666666666666666, 1.0], [3, 0, 1])),
        ([1, 2], True, ([1, 2], [2])),
    ])
    def test_histogram_with_a_bucket_count(self, sc, data, buckets, expected):
        assert sc.parallelize(data, 3).histogram(buckets) == expected

    @pytest.mark.parametrize(("buckets", "expected"), [
        ([0, 5, 10, 20], [4, 0, 4]),
        ([0, 5, 11, 20], [4, 1, 3]),
        ((0, 5, 10), [4, 1]),
    ])
    def test_histogram_with_given_buckets(self, sc, buckets, expected):
        data = [1, 2, 3, 10, 11.5, 0.5, -1, 50, 20, 20.0]
        assert sc.parallelize(data, 3).histogram(buckets) == (buckets, expected)
        assert expected == histogram_counts(data, buckets)

    def test_histogram_of_strings_and_of_evenly_spaced_floats(self, sc):
        words = sc.parallelize(["ab", "ac", "b", "bd", "ef", "a", "z"], 2)
        assert words.histogram(["a", "b", "c"]) == (["a", "b", "c"], [3, 2])
        tenths = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
        # Evenly spaced edges place by arithmetic: int(0.3 / 0.1) is 2, not 3.
        assert sc.parallelize([i / 10 for i in range(11)], 2).histogram(tenths) == (
            tenths, [1, 1, 2, 0, 1, 2, 1, 0, 1, 2])
        assert sc.parallelize([], 2).histogram([0, 1]) == ([0, 1], [0])

    @pytest.mark.parametrize(("data", "buckets", "error", "message"), [
        ([1, 5], 0, ValueError, "number of buckets must be >= 1"),
        ([], 3, ValueError, r"Can not reduce\(\) empty RDD"),
        ([None, float("nan")], 2, ValueError, r"Can not reduce\(\) empty RDD"),
        ([1, float("inf")], 2, ValueError, "Can not generate buckets with infinite value"),
        (["a", "c", "b"], 2, TypeError, "Can not generate buckets with non-number in RDD"),
        ([1], [1], ValueError, "buckets should have more than one value"),
        ([1], [1, None], ValueError, "can not have None or NaN in buckets"),
        ([1], [1, float("nan")], ValueError, "can not have None or NaN in buckets"),
        ([1], [2, 1], ValueError, "buckets should be sorted"),
        ([1], [1, 1, 2], ValueError, "buckets should not contain duplicated values"),
        ([1], "abc", TypeError, r"buckets should be a list or tuple or number\(int or long\)"),
        ([1], 2.0, TypeError, r"buckets should be a list or tuple or number\(int or long\)"),
    ])
    def test_histogram_errors(self, sc, data, buckets, error, message):
        with pytest.raises(error, match=message):
            sc.parallelize(data, 2).histogram(buckets)


# ==========================================================================
# approximate actions


class TestApproximate:
    def test_count_sum_and_mean_approx_are_exact_once_every_task_is_done(self, sc):
        rdd = sc.parallelize(range(1000), 10)
        assert rdd.countApprox(1000, 1.0) == 1000
        assert type(rdd.countApprox(1000)) is int
        for value, expected in ((rdd.sumApprox(1000), 499500.0), (rdd.meanApprox(1000), 499.5),
                                (sc.parallelize([1.5, 2.5], 2).sumApprox(5000, 0.5), 4.0),
                                (sc.parallelize([], 2).meanApprox(5000), 0.0),
                                (sc.parallelize([], 2).sumApprox(5000), 0.0)):
            assert isinstance(value, float) and type(value).__name__ == "BoundedFloat"
            assert (float(value), value.confidence, value.low, value.high) == (
                expected, 1.0, expected, expected)

    @pytest.mark.parametrize(("data", "relative_sd"), [
        (range(1000), 0.05),  # PySpark: 1006
        ([str(i) for i in range(1000)], 0.05),  # PySpark: 962
        ([i % 20 for i in range(1000)], 0.05),  # PySpark: 19
        (range(100000), 0.01),  # PySpark: 99571
        (range(100000), 0.2),  # PySpark: 104408
        ([(i % 50, None) for i in range(1000)], 0.05),  # PySpark: 52
        ([1, 1.0, True, 2], 0.05),  # equal hashes are one value
        ([], 0.05),
    ])
    def test_count_approx_distinct_is_within_its_error_bound(self, sc, data, relative_sd):
        exact = len(set(data))
        estimate = sc.parallelize(data, 4).countApproxDistinct(relative_sd)
        assert isinstance(estimate, int)
        assert abs(estimate - exact) <= max(3 * relative_sd * exact, 1)

    def test_count_approx_distinct_refuses_a_tiny_relative_sd(self, sc):
        with pytest.raises(ValueError, match=r"relativeSD should be greater than 0\.000017"):
            sc.parallelize(range(10), 4).countApproxDistinct(0.00001)


# ==========================================================================
# pipe


class TestPipe:
    def test_pipe_writes_str_lines_and_reads_the_output_lines(self, sc):
        rdd = sc.parallelize(["a", "b\n", 3, "c\nd"], 2).pipe("cat")
        assert rdd.glom().collect() == [["a", "b"], ["3", "c", "d"]]
        assert sc.parallelize(["1", "2", "", "3"], 2).pipe("grep -c .").collect() == ["2", "1"]

    def test_pipe_env_is_the_whole_environment_of_the_command(self, sc):
        assert sc.parallelize(["1"], 1).pipe("sh -c 'echo $FOO'", env={"FOO": "bar"}) \
            .collect() == ["bar"]
        assert sc.parallelize(["1"], 1).pipe("sh -c 'echo [$HOME]'").collect() == ["[]"]

    def test_pipe_reports_a_failed_command_only_when_asked(self, sc):
        rdd = sc.parallelize(["1", "2"], 1)
        assert rdd.pipe("false").collect() == []
        with pytest.raises(Exception, match=r"\[PIPE_FUNCTION_EXITED\] Pipe function `false` "
                                            r"exited with error code 1\."):
            rdd.pipe("false", checkCode=True).collect()

    def test_pipe_streams_more_than_a_pipe_buffer_both_ways(self, sc):
        lines = [f"line {i} " + "x" * 100 for i in range(5000)]
        assert sc.parallelize(lines, 2).pipe("cat").collect() == lines


# ==========================================================================
# pickle files


class TestPickleFiles:
    def test_save_as_pickle_file_writes_a_part_file_per_partition(self, sc, tmp_path):
        out = tmp_path / "out"
        assert sc.parallelize(range(25), 3).saveAsPickleFile(str(out), 4) is None
        names = sorted(n for n in os.listdir(out) if not n.startswith("."))
        assert names == ["_SUCCESS", "part-00000", "part-00001", "part-00002"]
        sc.parallelize([], 2).saveAsPickleFile(str(tmp_path / "empty"))
        assert sorted(n for n in os.listdir(tmp_path / "empty") if not n.startswith(".")) == \
            ["_SUCCESS", "part-00000", "part-00001"]

    def test_save_as_pickle_file_refuses_an_existing_directory(self, sc, tmp_path):
        with pytest.raises(Exception, match="already exists"):
            sc.parallelize([1]).saveAsPickleFile(str(tmp_path))

    def test_pickle_file_round_trip(self, sc, tmp_path):
        if not hasattr(sc, "pickleFile"):
            pytest.skip("SparkContext.pickleFile is not in this tree yet")
        data = [("k", i, {"v": [i, None]}) for i in range(25)]
        out = str(tmp_path / "out")
        sc.parallelize(data, 3).saveAsPickleFile(out, 4)
        back = sc.pickleFile(out)
        assert back.getNumPartitions() == 3
        # Hadoop lists the part files in file-system order: compare partitions as a multiset.
        assert sorted(back.glom().collect()) == sorted(sc.parallelize(data, 3).glom().collect())
        assert sorted(sc.pickleFile(str(tmp_path / "out")).collect()) == sorted(data)

    @pytest.mark.sparkbook_only
    def test_load_pickle_file_reads_what_save_as_pickle_file_wrote(self, sc, tmp_path):
        from sparkbook.rdd.input import load_pickle_file

        data = [("k", i, {"v": [i, None]}) for i in range(25)]
        for batch_size in (1, 4, 0):
            out = str(tmp_path / f"out{batch_size}")
            sc.parallelize(data, 3).saveAsPickleFile(out, batch_size)
            assert list(load_pickle_file(out)) == data


# ==========================================================================
# checkpoints


@pytest.fixture
def checkpoint_dir(sc, tmp_path):
    """A checkpoint directory set for this test (PySpark makes a UUID folder inside)."""
    path = str(tmp_path / "checkpoints")
    sc.setCheckpointDir(path)
    return path


@pytest.fixture
def no_checkpoint_dir(sc, engine):
    """The session's context with its checkpoint directory unset for this test.

    Neither engine can unset a checkpoint directory through its API (setCheckpointDir only
    sets one), so this reaches each one's private field and puts it back afterwards."""
    if engine == "pyspark":
        jsc = sc._jsc.sc()
        setter = getattr(jsc, "checkpointDir_$eq")
        previous = jsc.checkpointDir()
        setter(sc._jvm.scala.Option.apply(None))
        yield
        setter(previous)
    else:
        previous = getattr(sc, "_checkpoint_dir", None)
        sc._checkpoint_dir = None
        yield
        sc._checkpoint_dir = previous


class TestCheckpoint:
    def test_checkpoint_needs_a_checkpoint_directory(self, sc, no_checkpoint_dir):
        rdd = sc.parallelize(range(5), 2)
        with pytest.raises(Exception, match="Checkpoint directory has not been set in the "
                                            "SparkContext"):
            rdd.checkpoint()
        assert (rdd.isCheckpointed(), rdd.getCheckpointFile(), rdd.isLocallyCheckpointed()) \
            == (False, None, False)

    def test_the_first_action_writes_the_checkpoint_and_cuts_the_lineage(self, sc,
                                                                         checkpoint_dir):
        rdd = sc.parallelize(range(5), 2).map(lambda x: x * 2)
        rdd.checkpoint()
        assert (rdd.isCheckpointed(), rdd.getCheckpointFile()) == (False, None)
        assert rdd.toDebugString().count(b"\n") == 1
        assert rdd.count() == 5
        assert rdd.isCheckpointed() and not rdd.isLocallyCheckpointed()
        path = rdd.getCheckpointFile()
        assert path.startswith("file:" + checkpoint_dir + "/")
        assert path.endswith(f"/rdd-{rdd.id()}")
        parts = sorted(n for n in os.listdir(path.removeprefix("file:")) if n.startswith("part-"))
        assert parts == ["part-00000", "part-00001"]
        lines = rdd.toDebugString().decode().splitlines()
        assert len(lines) == 2 and "ReliableCheckpointRDD" in lines[1]
        assert rdd.glom().collect() == [[0, 2], [4, 6, 8]]
        assert rdd.map(lambda x: x + 1).collect() == [1, 3, 5, 7, 9]
        rdd.checkpoint()  # again: nothing changes
        assert rdd.getCheckpointFile() == path

    def test_a_checkpointed_rdd_no_longer_needs_its_input(self, sc, checkpoint_dir, tmp_text):
        path = tmp_text("in.txt", "".join(f"{i}\n" for i in range(30)))
        sums = sc.textFile(path, 3).map(lambda s: (int(s) % 4, int(s))).reduceByKey(add, 2)
        sums.checkpoint()
        expected = sorted(sums.collect())
        os.remove(path)
        assert sorted(sums.collect()) == expected
        assert sorted(sums.mapValues(lambda v: -v).collect()) == [(k, -v) for k, v in expected]

    def test_a_marked_parent_is_checkpointed_by_its_childs_action(self, sc, checkpoint_dir):
        parent = sc.parallelize(range(5), 2).map(lambda x: x * 2)
        parent.checkpoint()
        child = parent.map(lambda x: x)
        assert child.count() == 5
        assert (parent.isCheckpointed(), child.isCheckpointed()) == (True, False)

    def test_checkpoint_after_an_action_waits_for_the_next_one(self, sc, checkpoint_dir):
        rdd = sc.parallelize(range(5), 2).map(lambda x: x * 2)
        rdd.count()
        rdd.checkpoint()
        assert not rdd.isCheckpointed()
        rdd.count()
        assert rdd.isCheckpointed() and rdd.getCheckpointFile() is not None

    def test_local_checkpoint_keeps_partitions_on_disk_and_in_memory(self, sc, spark_module):
        rdd = sc.parallelize(range(5), 2).map(lambda x: x * 3)
        rdd.localCheckpoint()
        assert (rdd.isCheckpointed(), rdd.getCheckpointFile(), rdd.isLocallyCheckpointed()) \
            == (False, None, True)
        assert str(rdd.getStorageLevel()) == "Disk Memory Deserialized 1x Replicated"
        assert rdd.collect() == [0, 3, 6, 9, 12]
        assert (rdd.isCheckpointed(), rdd.getCheckpointFile()) == (True, None)
        assert "LocalCheckpointRDD" in rdd.toDebugString().decode()
        persisted = sc.parallelize([1]).persist(spark_module.StorageLevel.MEMORY_ONLY)
        persisted.localCheckpoint()
        assert str(persisted.getStorageLevel()) == "Disk Memory Serialized 1x Replicated"

    def test_a_local_checkpoint_cannot_be_rebuilt_once_unpersisted(self, sc):
        rdd = sc.parallelize(range(5), 2).map(lambda x: x * 3)
        rdd.localCheckpoint()
        assert rdd.collect() == [0, 3, 6, 9, 12]
        rdd.unpersist()
        with pytest.raises(Exception, match=rf"Checkpoint block rdd_{rdd.id()}_\d not found"):
            rdd.collect()

    @pytest.mark.sparkbook_only
    def test_a_partial_job_locally_checkpoints_every_partition(self, sc):
        # PySpark's take() pipelines a locally checkpointed map into a new JVM RDD and never
        # checkpoints it; sparkbook checkpoints after any job, caching what it skipped.
        rdd = sc.parallelize(range(5), 2).map(lambda x: x * 3)
        rdd.localCheckpoint()
        assert rdd.take(1) == [0]
        assert rdd.isCheckpointed()
        assert rdd.collect() == [0, 3, 6, 9, 12]
        rdd.unpersist()
        with pytest.raises(Exception, match=rf"Checkpoint block rdd_{rdd.id()}_\d not found"):
            rdd.glom().collect()

    def test_local_and_reliable_marks(self, sc, checkpoint_dir):
        local_first = sc.parallelize(range(5), 2).map(lambda x: x)
        local_first.localCheckpoint()
        local_first.checkpoint()
        assert (local_first.isCheckpointed(), local_first.isLocallyCheckpointed()) == (
            False, True)
        reliable_first = sc.parallelize(range(5), 2).map(lambda x: x)
        reliable_first.checkpoint()
        reliable_first.localCheckpoint()  # the local mark wins
        reliable_first.count()
        assert (reliable_first.isCheckpointed(), reliable_first.isLocallyCheckpointed(),
                reliable_first.getCheckpointFile()) == (True, True, None)
