"""The map side of a shuffle: a ``ShuffleMapTask`` runs ``write_map_output`` on its
partition's records. Records are combined per key first when the dependency asks for it
(``reduceByKey``, ``combineByKey``), then split into one bucket per reduce partition by the
partitioner. Each bucket is pickled once; the executor keeps the buckets in its block store
and serves them to the reducers that fetch them.

The task also reports its hottest keys, estimated from a sample (see ``sample_hot_keys``),
for the widget's skew picture.
"""

from __future__ import annotations

import heapq
import math
import operator
import pickle
import random
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain, repeat

from sparkbook.partitioner import portable_hash
from sparkbook.rdd.dependency import ShuffleDependency

SAMPLE_KEYS = 256  # keys sampled per map task, spread over its buckets by their sizes
TOP_KEYS = 10  # keys reported per map task
KEY_REPR_CHARS = 80
_first = operator.itemgetter(0)


@dataclass
class MapOutput:
    """A map task's pickled buckets, the records in each, and its hottest keys as
    ``(repr(key), estimated records)``, largest first."""

    buckets: list[bytes]
    records: list[int]
    hot_keys: list[tuple[str, int]]


def write_map_output(records: Iterator, dep: ShuffleDependency, seed: int = 0) -> MapOutput:
    """Bucket (and maybe combine) one map partition's records and pickle each bucket.
    Combined records are one per key: no key is hotter than another, none is sampled."""
    buckets = bucket_records(records, dep)
    hot_keys = [] if dep.map_side_combine else sample_hot_keys(buckets, seed)
    return MapOutput([pickle.dumps(b, 5) if b else b"" for b in buckets],
                     [len(b) for b in buckets], hot_keys)


def sample_hot_keys(buckets: list[list], seed: int, budget: int = SAMPLE_KEYS,
                    top: int = TOP_KEYS) -> list[tuple[str, int]]:
    """The ``top`` keys by estimated records: a bucket of L records gets k = ceil(budget *
    L / total) random picks (at least 2, with replacement, seeded) and each key's count
    among them is scaled by L / k; a bucket no larger than k is counted exactly. A key
    lives in one bucket, so its estimate's relative standard error is sqrt((1 - q) / (q *
    k)) for a key that is a share q of its bucket (a key at 40 % of a bucket sampled
    256 times: 7.7 %); summed over map tasks it shrinks further. The cost is about
    ``budget`` picks per task, whatever its size, each made in C (bench/key_sample.py)."""
    total = sum(map(len, buckets))
    if not total:
        return []
    if total <= budget:  # every key counted, in one pass in C
        counted = Counter(map(_first, chain.from_iterable(buckets))).most_common(top)
        return [(repr(key)[:KEY_REPR_CHARS], n) for key, n in counted]
    rng: random.Random | None = None
    candidates: list[tuple] = []  # a key lives in one bucket: each bucket's top will do
    for bucket in buckets:
        size = len(bucket)
        picks = max(2, math.ceil(budget * size / total))
        if size <= picks:
            counted, scale = Counter(map(_first, bucket)), 1.0
        else:
            rng = rng or random.Random(seed)
            indices = map(operator.mod, array("I", rng.randbytes(4 * picks)),
                          repeat(size, picks))
            counted = Counter(map(_first, operator.itemgetter(*indices)(bucket)))
            scale = size / picks
        candidates += [(key, n * scale) for key, n in counted.most_common(top)]
    hottest = heapq.nlargest(top, candidates, key=operator.itemgetter(1))
    return [(repr(key)[:KEY_REPR_CHARS], round(n)) for key, n in hottest]


def bucket_records(records: Iterator, dep: ShuffleDependency) -> list[list]:
    """The (maybe combined) records, one list per reduce partition."""
    if dep.map_side_combine:
        records = iter(dep.aggregator.combine_values(records).items())
    n = dep.partitioner.numPartitions
    if n == 1:
        return [list(records)]
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
    return buckets
