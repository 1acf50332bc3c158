"""Checkpointing: an action writes the partitions of the RDDs marked in its lineage, and
from then on they are read back from there, their lineage cut (Spark's RDDCheckpointData).
A reliable checkpoint is a pickle file in the checkpoint directory; a local one is the
cached blocks in the executors' block stores.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable, Iterator

from sparkbook.errors import SparkException
from sparkbook.rdd.dependency import NarrowDependency
from sparkbook.rdd.input import PickleFileRDD, local_path, write_pickle_part
from sparkbook.rdd.rdd import RDD, Partition, count_iterator
from sparkbook.storagelevel import StorageLevel

# RDDs marked for checkpointing and not yet written: while there are none, an action
# need not look through its lineage for them.
pending_checkpoints: weakref.WeakSet = weakref.WeakSet()


def write_marked_checkpoints(last: RDD) -> None:
    """After a job on ``last``: write the checkpoints its lineage marked, not looking past
    a marked or checkpointed RDD (Spark's doCheckpoint)."""
    stack, seen = [last], set()
    while stack:
        rdd = stack.pop()
        if rdd.rdd_id in seen or rdd._checkpoint_rdd is not None:
            continue
        seen.add(rdd.rdd_id)
        if rdd._checkpoint_mark is None:
            stack.extend(dep.rdd for dep in rdd.deps)
        else:
            _write_checkpoint(rdd)


def _write_checkpoint(rdd: RDD) -> None:
    ctx = rdd._driver()
    n = rdd.getNumPartitions()
    reader: RDD
    if rdd._checkpoint_mark == "local":
        if ctx._cached_partition_count(rdd.rdd_id) < n:
            # The job did not compute every partition (take, lookup): cache the rest.
            ctx._run_job(rdd, count_iterator, None, "localCheckpoint")
        reader = LocalCheckpointRDD(ctx, rdd.rdd_id, n)
    else:
        directory = os.path.join(local_path(ctx._checkpoint_dir), f"rdd-{rdd.rdd_id}")
        os.makedirs(directory, exist_ok=True)
        # Run the job directly, not through RDD._run: it must not look for checkpoints.
        ctx._run_job(rdd._write_parts(directory, _write_pickle_batches), count_iterator,
                     None, "checkpoint")
        reader = ReliableCheckpointRDD(ctx, directory)
    rdd._partitions = reader.partitions()
    rdd._checkpoint_rdd = reader
    rdd.deps = [NarrowDependency(reader)]
    pending_checkpoints.discard(rdd)


def _write_pickle_batches(path: str, records: Iterable) -> None:
    write_pickle_part(path, records, 1024)


class ReliableCheckpointRDD(PickleFileRDD):
    """A checkpointed RDD's partitions, read back from the files its checkpoint wrote."""

    def __init__(self, ctx, path: str) -> None:
        super().__init__(ctx, path, "checkpoint")


class LocalCheckpointRDD(RDD):
    """A locally checkpointed RDD's partitions live only in the block stores: reaching
    compute means a block was lost, and there is no lineage left to rebuild it."""

    def __init__(self, ctx, checkpointed_id: int, num_partitions: int) -> None:
        super().__init__(ctx, [], "localCheckpoint")
        self.checkpointed_id = checkpointed_id
        self._partitions = [Partition(i) for i in range(num_partitions)]

    def compute(self, split: Partition, context) -> Iterator:
        raise SparkException(
            f"[CHECKPOINT_RDD_BLOCK_ID_NOT_FOUND] Checkpoint block "
            f"rdd_{self.checkpointed_id}_{split.index} not found!\n"
            "Either the executor that originally checkpointed this partition is no longer "
            "alive, or the original RDD is unpersisted.\n"
            "If this problem persists, you may consider using `rdd.checkpoint()` instead, "
            "which is slower than local checkpointing but more fault-tolerant.")


class CheckpointedRDD(RDD):
    """What a checkpointed RDD is on an executor: the same id and storage level, so its
    cached blocks are still found, with partitions read from its checkpoint."""

    op, callsite, _name, partitioner = "checkpoint", "", None, None  # for repr() only

    def __init__(self, rdd_id: int, storage_level: StorageLevel, reader: RDD) -> None:
        # Built on the executor, where only what computing a partition reads is needed.
        self.ctx = None
        self.deps = []
        self.rdd_id = rdd_id
        self._storage_level = storage_level
        self.reader = reader

    def compute(self, split: Partition, context) -> Iterator:
        return self.reader.iterator(split, context)
