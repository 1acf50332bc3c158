"""The shuffle matrix in the widget model: bytes and records from each map executor to
each reduce partition, whose totals are the listener's shuffle write and read exactly."""

from __future__ import annotations

import random
import re
from operator import add

import pytest

from sparkbook.driver.shufflestats import skew_hint
from sparkbook.executor.shuffle_writer import SAMPLE_KEYS, sample_hot_keys
from sparkbook.notebook.snapshot import take_snapshot

pytestmark = pytest.mark.sparkbook_only


def snapshot_of(sc, recorded) -> dict:
    assert sc.waitForListeners()
    return take_snapshot(sc.statusStore, [j.job_id for j in recorded.jobs])


def tasks_of(recorded, stage_id: int) -> list:
    return [t for t in recorded.tasks if t.stage_id == stage_id and t.reason == "Success"]


def check_totals(shuffle: dict, recorded) -> None:
    """The matrix against what the listener saw each map and reduce task do."""
    maps = tasks_of(recorded, shuffle["map_stage"])
    assert sum(map(sum, shuffle["bytes"])) == sum(t.metrics.shuffle_write_bytes for t in maps)
    assert sum(map(sum, shuffle["records"])) == sum(
        t.metrics.shuffle_write_records for t in maps)
    for e, executor in enumerate(shuffle["executors"]):
        mine = [t for t in maps if t.task_info.executor_id == executor]
        assert sum(shuffle["bytes"][e]) == sum(t.metrics.shuffle_write_bytes for t in mine)
    assert sorted(shuffle["executors"]) == sorted({t.task_info.executor_id for t in maps})
    assert shuffle["partition_bytes"] == [sum(col) for col in zip(*shuffle["bytes"])]
    assert shuffle["partition_records"] == [sum(col) for col in zip(*shuffle["records"])]
    # Reduce partition p fetched exactly column p, bytes and records.
    (reducer,) = shuffle["reduce_stages"]
    for t in tasks_of(recorded, reducer):
        p = t.task_info.index
        assert t.metrics.shuffle_read_bytes == shuffle["partition_bytes"][p]
        assert t.metrics.shuffle_read_records == shuffle["partition_records"][p]


def test_a_group_by_key_moves_every_record_and_the_matrix_adds_up(sc, recorded):
    pairs = sc.parallelize([(i % 11, i) for i in range(5000)], 6)
    assert len(pairs.groupByKey(4).collect()) == 11
    snap = snapshot_of(sc, recorded)
    (shuffle,) = snap["shuffles"]
    map_stage, result_stage = snap["stages"]
    assert shuffle["map_stage"] == map_stage["id"]
    assert shuffle["reduce_stages"] == [result_stage["id"]]
    assert shuffle["partitions"] == 4 and len(shuffle["bytes"]) == len(shuffle["executors"])
    assert sum(shuffle["partition_records"]) == 5000
    assert sum(shuffle["partition_bytes"]) == map_stage["shuffle_write"]
    assert sum(shuffle["partition_bytes"]) == result_stage["shuffle_read"]
    # Keys k and k + 4, k + 8 share reduce partition k % 4 (small ints hash to themselves).
    per_key = [sum(1 for i in range(5000) if i % 11 == k) for k in range(11)]
    assert shuffle["partition_records"] == [
        sum(n for k, n in enumerate(per_key) if k % 4 == p) for p in range(4)]
    check_totals(shuffle, recorded)


def test_a_combined_shuffle_counts_the_records_left_after_combining(sc, recorded):
    words = sc.parallelize([f"w{i % 7}" for i in range(3000)], 5).map(lambda w: (w, 1))
    assert dict(words.reduceByKey(add, 3).collect())["w0"] == 429
    (shuffle,) = snapshot_of(sc, recorded)["shuffles"]
    assert sum(shuffle["partition_records"]) == 5 * 7  # one per key and map task
    check_totals(shuffle, recorded)


def test_a_job_with_two_shuffles_has_two_matrices(sc, recorded):
    left = sc.parallelize([(i % 10, i) for i in range(400)], 4)
    right = sc.parallelize([(i, -i) for i in range(10)], 2)
    assert left.join(right, 3).count() == 400
    snap = snapshot_of(sc, recorded)
    assert len(snap["shuffles"]) == 2
    assert sorted(sum(s["partition_records"]) for s in snap["shuffles"]) == [10, 400]
    final = max(snap["stages"], key=lambda s: s["id"])
    assert all(s["reduce_stages"] == [final["id"]] for s in snap["shuffles"])
    for shuffle in snap["shuffles"]:
        edge = next(e for e in final["edges"] if e["shuffle_id"] == shuffle["shuffle_id"])
        assert edge["bytes"] == sum(shuffle["partition_bytes"])
        assert edge["records"] == sum(shuffle["partition_records"])


def test_a_skipped_map_stage_is_no_shuffle_of_the_later_cell(sc, recorded):
    counts = sc.parallelize(range(100), 4).map(lambda x: (x % 3, 1)).reduceByKey(add)
    counts.count()
    assert sc.waitForListeners()
    first = [j.job_id for j in recorded.jobs]
    counts.collect()
    assert sc.waitForListeners()
    later = [j.job_id for j in recorded.jobs if j.job_id not in first]
    assert take_snapshot(sc.statusStore, later)["shuffles"] == []
    assert len(take_snapshot(sc.statusStore, first)["shuffles"]) == 1


def test_a_sql_exchange_has_its_matrix_in_arrow_blocks(spark, sc, recorded):
    df = spark.createDataFrame([(i % 5, i) for i in range(1000)], ["k", "v"])
    assert len(df.groupBy("k").count().collect()) == 5
    snap = snapshot_of(sc, recorded)
    assert snap["shuffles"]
    for shuffle in snap["shuffles"]:
        maps = tasks_of(recorded, shuffle["map_stage"])
        assert sum(shuffle["partition_bytes"]) == sum(
            t.metrics.shuffle_write_bytes for t in maps) > 0
        # An exchange's records are its Arrow IPC blocks: at most one per map task and
        # reduce partition.
        assert 0 < sum(shuffle["partition_records"]) <= len(maps) * shuffle["partitions"]


def skewed_clients(n: int = 40_000, hot_share: float = 0.4, seed: int = 12) -> list:
    """Seeded: ``hot_share`` of the records go to 'client-7', the rest to 200 others."""
    rng = random.Random(seed)
    return [("client-7" if rng.random() < hot_share else f"client-{rng.randrange(8, 208)}", i)
            for i in range(n)]


def test_the_hottest_key_of_a_skewed_group_by_key_is_found_with_its_count(sc, recorded):
    data = skewed_clients()
    true_count = sum(1 for k, _ in data if k == "client-7")
    sizes = dict(sc.parallelize(data, 4).groupByKey(8).mapValues(len).collect())
    assert sizes["client-7"] == true_count
    (shuffle,) = snapshot_of(sc, recorded)["shuffles"]
    key, estimate, share = shuffle["hot_keys"][0]
    assert key == "'client-7'"
    # The documented error (shuffle_writer.sample_hot_keys): SAMPLE_KEYS picks per map
    # task of 10,000 records, spread by bucket size; the key is a share q of its bucket,
    # which holds L records over the 4 tasks: variance ~ L * 10,000 * q (1 - q) / picks.
    bucket = max(shuffle["partition_records"])
    q = true_count / bucket
    sigma = (bucket * 10_000 * q * (1 - q) / SAMPLE_KEYS) ** 0.5
    assert abs(estimate - true_count) <= 4 * sigma, (estimate, true_count, sigma)
    assert abs(share - true_count / len(data)) <= 4 * sigma / len(data)
    assert re.fullmatch(r"key 'client-7' holds (39|40|41) % of the records: salt it, or "
                        r"combine before the shuffle with reduceByKey", shuffle["hint"])
    assert [k for k, _, _ in shuffle["hot_keys"][1:]] and all(
        n < estimate / 10 for _, n, _ in shuffle["hot_keys"][1:])


def test_a_combined_shuffle_of_the_same_keys_is_even_and_gives_no_hint(sc, recorded):
    pairs = sc.parallelize(skewed_clients(), 4).mapValues(lambda _: 1)
    assert pairs.reduceByKey(add, 8).lookup("client-7")[0] > 15_000
    shuffles = snapshot_of(sc, recorded)["shuffles"]
    (shuffle,) = [s for s in shuffles if s["partitions"] == 8]
    assert shuffle["hint"] is None
    assert shuffle["hot_keys"] == []  # combined: one record per key and map task


def test_small_and_even_shuffles_give_no_hint():
    assert skew_hint([10, 300, 12, 9], [["'a'", 290, 0.88]], "reduce-side") is None  # small
    assert skew_hint([1000, 1100, 950, 1020], [["'a'", 90, 0.02]], "reduce-side") is None


def test_skew_without_one_hot_key_points_at_the_partition():
    hint = skew_hint([500, 9000, 480, 510], [["3", 40, 0.004]], "")
    assert hint == ("reduce partition 1 holds 18× the median partition's records (9,000 of "
                    "10,490): use more partitions, or a partitioner that spreads the keys")
    joined = skew_hint([500, 9000, 480, 510], [["'k'", 8000, 0.76]], "")
    assert joined == "key 'k' holds 76 % of the records: salt it, or, in a join, broadcast " \
                     "the smaller side"


def test_the_key_sample_counts_small_buckets_exactly_and_is_not_fooled_by_periodic_keys():
    small = [[("a", 1), ("b", 2), ("a", 3)], [], [("c", 4)]]
    assert sample_hot_keys(small, seed=0) == [("'a'", 2), ("'b'", 1), ("'c'", 1)]
    periodic = [[(i % 3, i) for i in range(300_000)]]  # a stride sample would see one key
    estimates = dict(sample_hot_keys(periodic, seed=5))
    sigma = (300_000 ** 2 * (1 / 3) * (2 / 3) / SAMPLE_KEYS) ** 0.5
    assert sorted(estimates) == ["0", "1", "2"]
    assert all(abs(n - 100_000) <= 4 * sigma for n in estimates.values()), estimates
    assert sum(estimates.values()) in range(299_998, 300_003)  # scaled: they sum to the size


def test_a_shuffle_of_many_partitions_bins_them_and_keeps_the_totals(sc, recorded):
    pairs = sc.parallelize([(i, i) for i in range(3000)], 4)
    assert pairs.partitionBy(300).count() == 3000
    (shuffle,) = snapshot_of(sc, recorded)["shuffles"]
    assert shuffle["partitions"] == 300
    assert len(shuffle["columns"]) == 100 and shuffle["columns"][:2] == [[0, 3], [3, 6]]
    assert shuffle["columns"][-1] == [297, 300]
    assert all(len(row) == 100 for row in shuffle["bytes"] + shuffle["records"])
    assert shuffle["partition_records"] == [30] * 100  # ints hash to themselves
    maps = tasks_of(recorded, shuffle["map_stage"])
    assert sum(shuffle["partition_bytes"]) == sum(t.metrics.shuffle_write_bytes for t in maps)
