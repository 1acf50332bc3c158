"""Partitioners: which reduce partition a key goes to, placed exactly as PySpark places it."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Hashable


def portable_hash(x: Hashable) -> int:
    """A hash that every process of a cluster agrees on (PySpark's placement rule).

    ``None`` hashes to 0 and tuples are hashed element by element, so placement
    does not depend on a process's ``id()``-based hashes; strings and bytes need the
    same ``PYTHONHASHSEED`` everywhere, which sparkbook's executors are started with.
    """
    if x is None:
        return 0
    if isinstance(x, tuple):
        h = 0x345678
        for item in x:
            h ^= portable_hash(item)
            h *= 1000003
            h &= sys.maxsize
        h ^= len(x)
        return -2 if h == -1 else int(h)
    return hash(x)


def check_hash_seed() -> None:
    """Refuse to place string keys in a process whose string hashing is randomized."""
    if os.environ.get("PYTHONHASHSEED") in (None, "random"):
        raise RuntimeError(
            "Randomness of hash of string should be disabled via PYTHONHASHSEED: "
            "sparkbook starts its executors with PYTHONHASHSEED=0"
        )


class Partitioner:
    """``partitionFunc(key) % numPartitions``; equal partitioners mean co-partitioned data."""

    def __init__(self, numPartitions: int, partitionFunc: Callable[[object], int]) -> None:
        self.numPartitions = numPartitions
        self.partitionFunc = partitionFunc

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Partitioner) and self.numPartitions == other.numPartitions
                and self.partitionFunc == other.partitionFunc)

    def __hash__(self) -> int:
        return hash((self.numPartitions, id(self.partitionFunc)))

    def __call__(self, key: object) -> int:
        return self.partitionFunc(key) % self.numPartitions

    def __repr__(self) -> str:
        return f"Partitioner({self.numPartitions}, {getattr(self.partitionFunc, '__name__', '?')})"


def HashPartitioner(numPartitions: int) -> Partitioner:  # noqa: N802 - Spark's name
    """The default partitioner: ``portable_hash(key) % numPartitions``."""
    return Partitioner(numPartitions, portable_hash)
