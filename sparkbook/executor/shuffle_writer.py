"""The map side of a shuffle: a ``ShuffleMapTask`` runs ``write_map_output`` on its
partition's records. Records are combined per key first when the dependency asks for it
(``reduceByKey``, ``combineByKey``), then split into one bucket per reduce partition by the
partitioner. Each bucket is pickled once; the executor keeps the buckets in its block store
and serves them to the reducers that fetch them.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator

from sparkbook.partitioner import portable_hash
from sparkbook.rdd.dependency import ShuffleDependency


def count_records(bucket: list) -> int:
    """A bucket's records, as the shuffle metrics count them: a pair whose value knows its
    ``num_rows`` (a SQL exchange's block of Arrow rows) counts as those rows, as Spark
    counts the rows an exchange moved, not its blocks."""
    first = bucket[0] if bucket else None
    if isinstance(first, tuple) and len(first) == 2 and hasattr(first[1], "num_rows"):
        return sum(getattr(value, "num_rows", 1) for _, value in bucket)
    return len(bucket)


def write_map_output(records: Iterator, dep: ShuffleDependency) -> tuple[list[bytes], int]:
    """Bucket (and maybe combine) one map partition's records; returns pickled buckets and
    the number of records written."""
    if dep.map_side_combine:
        records = iter(dep.aggregator.combine_values(records).items())
    n = dep.partitioner.numPartitions
    if n == 1:
        bucket = list(records)
        return [pickle.dumps(bucket, 5) if bucket else b""], count_records(bucket)
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
    written = sum(map(count_records, buckets))
    return [pickle.dumps(b, 5) if b else b"" for b in buckets], written
