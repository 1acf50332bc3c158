"""Property tests for the shuffle operations.

Hypothesis generates lists of (key, value) pairs - keys are all small ints or all
short strings in one example - and a partition count from 1 to 6; each property
compares a shuffle against a plain-Python oracle. Every example runs real jobs on
the cluster, so examples are few and have no deadline.
"""

from __future__ import annotations

from collections import Counter
from operator import add

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdd_oracles import group_by_key, hash_placement, inner_join, reduce_by_key

cluster_settings = settings(
    max_examples=25,
    deadline=None,
    database=None,  # keep no example database in the work tree
    suppress_health_check=[HealthCheck.too_slow],
)

int_keys = st.integers(min_value=-6, max_value=6)
str_keys = st.text(alphabet="abcxyzé", max_size=3)
values = st.integers(min_value=-1000, max_value=1000)
# One key type per list, so keys stay comparable for sorting.
pair_lists = st.one_of(
    st.lists(st.tuples(int_keys, values), max_size=40),
    st.lists(st.tuples(str_keys, values), max_size=40),
)
partition_counts = st.integers(min_value=1, max_value=6)


def keys_by_partition(rdd) -> list[set]:
    return [{k for k, _ in part} for part in rdd.glom().collect()]


@cluster_settings
@given(pairs=pair_lists, source_parts=partition_counts, target_parts=partition_counts)
def test_reduce_by_key_equals_a_dict_fold(sc, pairs, source_parts, target_parts):
    rdd = sc.parallelize(pairs, source_parts).reduceByKey(add, target_parts)
    assert rdd.getNumPartitions() == target_parts
    result = rdd.collect()
    assert len(result) == len({k for k, _ in pairs})  # one output pair per key
    assert dict(result) == reduce_by_key(pairs, add)
    assert keys_by_partition(rdd) == hash_placement([k for k, _ in pairs], target_parts)


@cluster_settings
@given(pairs=pair_lists, source_parts=partition_counts, target_parts=partition_counts)
def test_group_by_key_collects_every_value_once(sc, pairs, source_parts, target_parts):
    rdd = sc.parallelize(pairs, source_parts).groupByKey(target_parts)
    assert rdd.getNumPartitions() == target_parts
    grouped = rdd.mapValues(sorted).collect()
    assert len(grouped) == len({k for k, _ in pairs})
    assert dict(grouped) == group_by_key(pairs)


@cluster_settings
@given(pairs=pair_lists, source_parts=partition_counts, target_parts=partition_counts)
def test_aggregate_by_key_with_a_neutral_zero_equals_the_oracle(
    sc, pairs, source_parts, target_parts
):
    rdd = sc.parallelize(pairs, source_parts).aggregateByKey(
        (0, 0, None),
        lambda acc, v: (acc[0] + v, acc[1] + 1, v if acc[2] is None else max(acc[2], v)),
        lambda a, b: (
            a[0] + b[0],
            a[1] + b[1],
            a[2] if b[2] is None else b[2] if a[2] is None else max(a[2], b[2]),
        ),
        target_parts,
    )
    assert rdd.getNumPartitions() == target_parts
    expected = {k: (sum(vs), len(vs), max(vs)) for k, vs in group_by_key(pairs).items()}
    assert dict(rdd.collect()) == expected


@cluster_settings
@given(pairs=pair_lists, source_parts=partition_counts, target_parts=partition_counts)
def test_combine_by_key_into_lists_equals_group_by_key_oracle(
    sc, pairs, source_parts, target_parts
):
    rdd = sc.parallelize(pairs, source_parts).combineByKey(
        lambda v: [v],
        lambda combiner, v: combiner + [v],
        lambda left, right: left + right,
        target_parts,
    )
    assert rdd.getNumPartitions() == target_parts
    assert {k: sorted(vs) for k, vs in rdd.collect()} == group_by_key(pairs)
    assert keys_by_partition(rdd) == hash_placement([k for k, _ in pairs], target_parts)


@cluster_settings
@given(pairs=pair_lists, source_parts=partition_counts, target_parts=partition_counts)
def test_partition_by_puts_each_key_where_portable_hash_says(sc, pairs, source_parts, target_parts):
    rdd = sc.parallelize(pairs, source_parts).partitionBy(target_parts)
    assert rdd.getNumPartitions() == target_parts
    parts = rdd.glom().collect()
    assert Counter(kv for part in parts for kv in part) == Counter(pairs)
    assert [{k for k, _ in part} for part in parts] == hash_placement(
        [k for k, _ in pairs], target_parts
    )


@cluster_settings
@given(
    pairs=pair_lists,
    source_parts=partition_counts,
    target_parts=partition_counts,
    ascending=st.booleans(),
)
def test_sort_by_key_orders_keys_and_keeps_every_pair(
    sc, pairs, source_parts, target_parts, ascending
):
    rdd = sc.parallelize(pairs, source_parts).sortByKey(ascending, target_parts)
    # numPartitions=1 always coalesces to one partition; otherwise an empty RDD is
    # returned unchanged and keeps its own partition count.
    expected_parts = target_parts if pairs or target_parts == 1 else source_parts
    assert rdd.getNumPartitions() == expected_parts
    parts = rdd.glom().collect()
    flat = [kv for part in parts for kv in part]
    assert [k for k, _ in flat] == sorted((k for k, _ in pairs), reverse=not ascending)
    assert Counter(flat) == Counter(pairs)


@cluster_settings
@given(
    items=st.one_of(st.lists(int_keys, max_size=40), st.lists(str_keys, max_size=40)),
    source_parts=partition_counts,
    target_parts=partition_counts,
)
def test_distinct_leaves_each_element_once_in_its_hash_partition(
    sc, items, source_parts, target_parts
):
    rdd = sc.parallelize(items, source_parts).distinct(target_parts)
    assert rdd.getNumPartitions() == target_parts
    parts = rdd.glom().collect()
    flat = [x for part in parts for x in part]
    assert sorted(flat) == sorted(set(items))
    assert [set(part) for part in parts] == hash_placement(items, target_parts)


@cluster_settings
@given(
    data=st.one_of(
        st.tuples(
            st.lists(st.tuples(int_keys, values), max_size=25),
            st.lists(st.tuples(int_keys, values), max_size=25),
        ),
        st.tuples(
            st.lists(st.tuples(str_keys, values), max_size=25),
            st.lists(st.tuples(str_keys, values), max_size=25),
        ),
    ),
    left_parts=partition_counts,
    right_parts=partition_counts,
)
def test_join_equals_a_nested_loop_join(sc, data, left_parts, right_parts):
    left, right = data
    joined = sc.parallelize(left, left_parts).join(sc.parallelize(right, right_parts))
    assert joined.getNumPartitions() == left_parts + right_parts
    assert Counter(joined.collect()) == inner_join(left, right)
