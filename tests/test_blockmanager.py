"""The executor's block store: memory first, least recently used out, spill or drop."""

from __future__ import annotations

import os

import pytest

from sparkbook.executor.blockid import BlockId, BroadcastBlockId, RDDBlockId, ShuffleBlockId
from sparkbook.executor.blockmanager import BlockManager
from sparkbook.storagelevel import StorageLevel

pytestmark = pytest.mark.sparkbook_only


@pytest.fixture
def store(tmp_path) -> BlockManager:
    return BlockManager(memory_limit=1000, local_dir=str(tmp_path / "blocks"))


def rdd_block(n: int) -> RDDBlockId:
    return RDDBlockId("app", 1, n)


def test_blocks_live_in_memory_until_the_limit(store):
    assert store.put(rdd_block(0), b"a" * 400, StorageLevel.MEMORY_ONLY)
    assert store.put(rdd_block(1), b"b" * 400, StorageLevel.MEMORY_ONLY)
    assert store.memory_used == 800 and store.disk_used == 0
    assert store.get(rdd_block(0)) == b"a" * 400


def test_memory_only_blocks_are_dropped_least_recently_used_first(store):
    store.put(rdd_block(0), b"a" * 400, StorageLevel.MEMORY_ONLY)
    store.put(rdd_block(1), b"b" * 400, StorageLevel.MEMORY_ONLY)
    store.get(rdd_block(0))  # block 1 is now the least recently used
    store.put(rdd_block(2), b"c" * 400, StorageLevel.MEMORY_ONLY)
    assert store.get(rdd_block(1)) is None
    assert store.get(rdd_block(0)) == b"a" * 400
    assert store.take_dropped("other") == []  # only the block's own driver is told
    assert store.take_dropped("app") == [rdd_block(1)]
    assert store.take_dropped("app") == []


def test_memory_and_disk_blocks_spill_to_the_local_directory(store):
    store.put(rdd_block(0), b"a" * 600, StorageLevel.MEMORY_AND_DISK)
    store.put(rdd_block(1), b"b" * 600, StorageLevel.MEMORY_AND_DISK)
    assert store.disk_used == 600 and store.bytes_spilled == 600
    assert store.get(rdd_block(0)) == b"a" * 600  # read back from disk
    assert len(os.listdir(store.local_dir)) == 1


def test_a_block_larger_than_memory_goes_straight_to_disk_or_is_not_kept(store):
    assert store.put(rdd_block(0), b"x" * 5000, StorageLevel.DISK_ONLY)
    assert store.put(rdd_block(1), b"y" * 5000, StorageLevel.MEMORY_AND_DISK)
    assert not store.put(rdd_block(2), b"z" * 5000, StorageLevel.MEMORY_ONLY)
    assert store.memory_used == 0 and store.get(rdd_block(1)) == b"y" * 5000


def test_shuffle_outputs_spill_but_are_never_dropped_and_serve_single_buckets(store):
    store.put_shuffle_output(ShuffleBlockId("app", 0, 0), [b"r0" * 200, b"", b"r2" * 200])
    store.put_shuffle_output(ShuffleBlockId("app", 0, 1), [b"s0" * 200, b"s1" * 200, b""])
    assert store.disk_used > 0
    assert store.get_shuffle_bucket(ShuffleBlockId("app", 0, 0), 2) == b"r2" * 200
    assert store.get_shuffle_bucket(ShuffleBlockId("app", 0, 0), 1) == b""
    assert store.get_shuffle_bucket(ShuffleBlockId("app", 0, 1), 1) == b"s1" * 200


def test_removing_an_application_s_blocks_frees_memory_and_disk(store):
    store.put(rdd_block(0), b"a" * 600, StorageLevel.MEMORY_AND_DISK)
    store.put(rdd_block(1), b"b" * 600, StorageLevel.MEMORY_AND_DISK)
    store.put(RDDBlockId("other", 1, 0), b"c" * 10, StorageLevel.MEMORY_ONLY)
    assert sorted(store.remove_matching(RDDBlockId, "app"), key=str) == [rdd_block(0),
                                                                        rdd_block(1)]
    assert store.memory_used == 10 and store.disk_used == 0
    assert os.listdir(store.local_dir) == []


def test_queries_match_block_ids_by_type_and_field(store):
    store.put(RDDBlockId("app", 1, 0), b"a", StorageLevel.MEMORY_ONLY)
    store.put(RDDBlockId("app", 2, 0), b"b", StorageLevel.MEMORY_ONLY)
    store.put_shuffle_output(ShuffleBlockId("app", 1, 0), [b"s"])
    store.put_broadcast(BroadcastBlockId("app:1"), b"v")
    store.put_broadcast(BroadcastBlockId("app2:1"), b"w")  # another application's
    assert store.remove_matching(RDDBlockId, "app", rdd_id=1) == [RDDBlockId("app", 1, 0)]
    assert store.remove_matching(ShuffleBlockId, "app", shuffle_id=2) == []
    assert store.contains(ShuffleBlockId("app", 1, 0))  # shuffle 1 is not RDD 1
    assert sorted(map(str, store.remove_matching(BlockId, "app"))) == sorted(map(str, [
        RDDBlockId("app", 2, 0), ShuffleBlockId("app", 1, 0), BroadcastBlockId("app:1")]))
    assert store.contains(BroadcastBlockId("app2:1"))
    with pytest.raises(TypeError, match="no field"):
        store.remove_matching(RDDBlockId, "app", shuffle_id=1)


def test_block_ids_are_values_that_name_their_application():
    assert RDDBlockId("app", 1, 2) == RDDBlockId("app", 1, 2)
    assert len({RDDBlockId("app", 1, 2), RDDBlockId("app", 1, 2)}) == 1
    assert RDDBlockId("app", 1, 2) != ShuffleBlockId("app", 1, 2)
    assert BroadcastBlockId("app-17-0001:3").app_id == "app-17-0001"
    with pytest.raises(AttributeError):
        RDDBlockId("app", 1, 2).rdd_id = 3  # frozen: safe as a dict key


def test_removing_a_dropped_block_s_rdd_leaves_no_news_for_the_driver(store):
    store.put(rdd_block(0), b"a" * 600, StorageLevel.MEMORY_ONLY)
    store.put(rdd_block(1), b"b" * 600, StorageLevel.MEMORY_ONLY)  # drops block 0
    store.remove_matching(RDDBlockId, "app", rdd_id=1)
    assert store.take_dropped("app") == []


class FakeRSS:
    """The process's resident memory, as the test sets it."""

    def __init__(self, value: int = 0) -> None:
        self.value = value

    def __call__(self) -> int:
        return self.value


def test_rss_over_the_limit_spills_the_oldest_blocks_by_the_excess(tmp_path):
    rss = FakeRSS(500)
    store = BlockManager(1000, str(tmp_path / "blocks"), rss=rss)
    for n in range(3):
        store.put(rdd_block(n), bytes(300), StorageLevel.MEMORY_AND_DISK)
    assert (store.memory_used, store.disk_used) == (900, 0)
    rss.value = 1400  # the tasks' own memory pushed the process 400 bytes over the limit
    assert store.relieve_pressure()
    # 400 over: the two oldest blocks went to disk; the newest stays in memory.
    assert (store.memory_used, store.disk_used) == (300, 600)
    assert store.get(rdd_block(0)) == bytes(300)
    rss.value = 1000  # spilling freed the memory: no longer over, nothing more moves
    assert not store.relieve_pressure()
    assert store.memory_used == 300


def test_under_pressure_a_new_block_goes_to_disk_or_is_not_cached(tmp_path):
    rss = FakeRSS(5000)  # far over the limit: nothing may stay in memory
    store = BlockManager(1000, str(tmp_path / "blocks"), rss=rss)
    assert store.put(rdd_block(0), bytes(100), StorageLevel.MEMORY_AND_DISK)
    assert (store.memory_used, store.disk_used) == (0, 100)
    assert not store.put(rdd_block(1), bytes(100), StorageLevel.MEMORY_ONLY)
    store.put_shuffle_output(ShuffleBlockId("app", 0, 0), [bytes(10), bytes(20)])
    assert store.memory_used == 0
    assert store.get_shuffle_bucket(ShuffleBlockId("app", 0, 0), 1) == bytes(20)


def test_rss_under_the_limit_changes_nothing(tmp_path):
    store = BlockManager(1000, str(tmp_path / "blocks"), rss=FakeRSS(999))
    store.put(rdd_block(0), bytes(900), StorageLevel.MEMORY_ONLY)
    assert not store.relieve_pressure()
    assert store.memory_used == 900
