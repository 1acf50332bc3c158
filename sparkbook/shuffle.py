"""Shuffle dependencies and the map side of a shuffle: bucketing and map-side combine.

A ``ShuffleMapTask`` runs ``write_map_output`` on its partition's records: records are
combined per key first when the dependency asks for it (``reduceByKey``,
``combineByKey``), then split into one bucket per reduce partition by the partitioner.
Each bucket is pickled once; the executor keeps the buckets in its block store and
serves them to the reducers that fetch them.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Iterator

from sparkbook.partitioner import Partitioner, portable_hash

_MISSING = object()


class Aggregator:
    """How values of one key become one combiner: create, merge a value, merge combiners."""

    def __init__(self, createCombiner: Callable, mergeValue: Callable,
                 mergeCombiners: Callable) -> None:
        self.createCombiner = createCombiner
        self.mergeValue = mergeValue
        self.mergeCombiners = mergeCombiners

    def combine_values(self, records: Iterable, into: dict | None = None) -> dict:
        combined = {} if into is None else into
        get, create, merge = combined.get, self.createCombiner, self.mergeValue
        for key, value in records:
            current = get(key, _MISSING)
            combined[key] = create(value) if current is _MISSING else merge(current, value)
        return combined

    def combine_combiners(self, records: Iterable, into: dict | None = None) -> dict:
        combined = {} if into is None else into
        get, merge = combined.get, self.mergeCombiners
        for key, value in records:
            current = get(key, _MISSING)
            combined[key] = value if current is _MISSING else merge(current, value)
        return combined


class ShuffleDependency:
    """A wide dependency: the parent's records are regrouped by ``partitioner`` across a
    stage boundary. Every one has a ``shuffle_id`` that names its map outputs."""

    def __init__(self, rdd, partitioner: Partitioner, aggregator: Aggregator | None = None,
                 map_side_combine: bool = False) -> None:
        self.rdd = rdd
        self.partitioner = partitioner
        self.aggregator = aggregator
        self.map_side_combine = map_side_combine and aggregator is not None
        self.shuffle_id = rdd.ctx._new_shuffle_id()

    def __repr__(self) -> str:
        return f"ShuffleDependency(shuffle {self.shuffle_id}, {self.partitioner!r})"


def write_map_output(records: Iterator, dep: ShuffleDependency) -> tuple[list[bytes], int]:
    """Bucket (and maybe combine) one map partition's records; returns pickled buckets and
    the number of records written."""
    if dep.map_side_combine:
        records = iter(dep.aggregator.combine_values(records).items())
    n = dep.partitioner.numPartitions
    if n == 1:
        bucket = list(records)
        return [pickle.dumps(bucket, 5) if bucket else b""], len(bucket)
    buckets: list[list] = [[] for _ in range(n)]
    func = dep.partitioner.partitionFunc
    appends = [b.append for b in buckets]
    if func is portable_hash:
        for record in records:
            key = record[0]
            kind = type(key)
            # ints and strs hash the same way portable_hash does; skip its call.
            h = hash(key) if kind is int or kind is str else portable_hash(key)
            appends[h % n](record)
    else:
        for record in records:
            appends[func(record[0]) % n](record)
    written = sum(map(len, buckets))
    return [pickle.dumps(b, 5) if b else b"" for b in buckets], written
