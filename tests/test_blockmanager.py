"""The executor's block store: memory first, least recently used out, spill or drop."""

from __future__ import annotations

import os

import pytest

from sparkbook.executor.blockmanager import BlockManager
from sparkbook.storagelevel import StorageLevel

pytestmark = pytest.mark.sparkbook_only


@pytest.fixture
def store(tmp_path) -> BlockManager:
    return BlockManager(memory_limit=1000, local_dir=str(tmp_path / "blocks"))


def rdd_block(n: int) -> tuple:
    return ("rdd", "app", 1, n)


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
    assert store.take_dropped() == [rdd_block(1)]  # the driver will be told


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
    store.put_shuffle_output(("shuffle", "app", 0, 0), [b"r0" * 200, b"", b"r2" * 200])
    store.put_shuffle_output(("shuffle", "app", 0, 1), [b"s0" * 200, b"s1" * 200, b""])
    assert store.disk_used > 0
    assert store.get_shuffle_bucket(("shuffle", "app", 0, 0), 2) == b"r2" * 200
    assert store.get_shuffle_bucket(("shuffle", "app", 0, 0), 1) == b""
    assert store.get_shuffle_bucket(("shuffle", "app", 0, 1), 1) == b"s1" * 200


def test_removing_an_application_s_blocks_frees_memory_and_disk(store):
    store.put(rdd_block(0), b"a" * 600, StorageLevel.MEMORY_AND_DISK)
    store.put(rdd_block(1), b"b" * 600, StorageLevel.MEMORY_AND_DISK)
    store.put(("rdd", "other", 1, 0), b"c" * 10, StorageLevel.MEMORY_ONLY)
    assert store.remove_matching("rdd", "app") == 2
    assert store.memory_used == 10 and store.disk_used == 0
    assert os.listdir(store.local_dir) == []
