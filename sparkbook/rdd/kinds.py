"""The kinds of RDD that the RDD API builds: a parallelized collection, the narrow
transformations (map and its relatives, union, coalesce, zip, cartesian) and the reduce
sides of shuffles (ShuffledRDD, CoGroupedRDD, HashJoinRDD).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sparkbook.errors import SparkException
from sparkbook.partitioner import Partitioner
from sparkbook.rdd.dependency import (
    Aggregator,
    CartesianDependency,
    CoalesceDependency,
    Dependency,
    NarrowDependency,
    RangeDependency,
    ShuffleDependency,
)
from sparkbook.rdd.rdd import RDD, Partition


class ParallelCollectionPartition(Partition):
    __slots__ = ("data",)

    def __init__(self, index: int, data: Any) -> None:
        super().__init__(index)
        self.data = data

    def __getstate__(self) -> tuple:
        return (self.index, self.data)

    def __setstate__(self, state: tuple) -> None:
        self.index, self.data = state


class ParallelCollectionRDD(RDD):
    """A driver-side collection cut into slices; each task carries its own slice."""

    def __init__(self, ctx, slices: list) -> None:
        super().__init__(ctx, [], "parallelize")
        self._partitions = [ParallelCollectionPartition(i, s) for i, s in enumerate(slices)]

    def compute(self, split: ParallelCollectionPartition, context) -> Iterator:
        return iter(split.data)


def slice_collection(c: Iterable, num_slices: int) -> list:
    """Cut a collection into slices exactly where PySpark cuts it."""
    if isinstance(c, range):
        size = len(c)
        if size == 0:
            return [[] for _ in range(num_slices)]
        step = c[1] - c[0] if size > 1 else 1
        start0 = c[0]

        def start(split: int) -> int:
            return start0 + int(split * size / num_slices) * step

        return [range(start(i), start(i + 1), step) for i in range(num_slices)]
    data = c if isinstance(c, list) else list(c)
    # PySpark sends the data in batches and the JVM slices the list of batches.
    batch = max(1, min(len(data) // num_slices, 1024))
    n_batches = -(-len(data) // batch)
    return [data[(i * n_batches // num_slices) * batch:((i + 1) * n_batches // num_slices) * batch]
            for i in range(num_slices)]


class MapPartitionsRDD(RDD):
    """A narrow transformation: ``f(partition index, parent iterator)``."""

    def __init__(self, prev: RDD, f: Callable[[int, Iterator], Iterable],
                 preservesPartitioning: bool, op: str) -> None:
        super().__init__(prev._driver(), [NarrowDependency(prev)], op)
        self.prev = prev
        self.f = f
        if preservesPartitioning:
            self.partitioner = prev.partitioner

    def compute(self, split: Partition, context) -> Iterator:
        return iter(self.f(split.index, self.prev.iterator(split, context)))


class UnionPartition(Partition):
    __slots__ = ("rdd_index", "parent")

    def __init__(self, index: int, rdd_index: int, parent: Partition) -> None:
        super().__init__(index)
        self.rdd_index = rdd_index
        self.parent = parent

    def __getstate__(self) -> tuple:
        return (self.index, self.rdd_index, self.parent)

    def __setstate__(self, state: tuple) -> None:
        self.index, self.rdd_index, self.parent = state


class UnionRDD(RDD):
    """The partitions of several RDDs, one after the other."""

    def __init__(self, ctx, rdds: list[RDD]) -> None:
        deps, start = [], 0
        for rdd in rdds:
            deps.append(RangeDependency(rdd, start, rdd.getNumPartitions()))
            start += rdd.getNumPartitions()
        super().__init__(ctx, deps, "union")
        self.rdds = rdds

    def _get_partitions(self) -> list[Partition]:
        parts = []
        for i, rdd in enumerate(self.rdds):
            for p in rdd.partitions():
                parts.append(UnionPartition(len(parts), i, p))
        return parts

    def compute(self, split: UnionPartition, context) -> Iterator:
        return self.rdds[split.rdd_index].iterator(split.parent, context)


def union_of(ctx, rdds: list[RDD]) -> RDD:
    """RDDs partitioned alike stay partitioned (partition i of each, together); others
    are concatenated."""
    partitioner = rdds[0].partitioner
    if partitioner is not None and all(r.partitioner == partitioner for r in rdds):
        return PartitionerAwareUnionRDD(ctx, rdds)
    return UnionRDD(ctx, rdds)


class PartitionerAwareUnionRDD(RDD):
    """A union of RDDs with the same partitioner: partition i reads partition i of each."""

    def __init__(self, ctx, rdds: list[RDD]) -> None:
        super().__init__(ctx, [NarrowDependency(r) for r in rdds], "union")
        self.rdds = rdds
        self.partitioner = rdds[0].partitioner

    def _get_partitions(self) -> list[Partition]:
        return [CoalescedPartition(i, [r.partitions()[i] for r in self.rdds])
                for i in range(self.partitioner.numPartitions)]

    def compute(self, split: CoalescedPartition, context) -> Iterator:
        return itertools.chain.from_iterable(
            rdd.iterator(p, context) for rdd, p in zip(self.rdds, split.parents))


class CoalescedPartition(Partition):
    """A partition made of given partitions of the parents (coalesce, zip, cartesian)."""

    __slots__ = ("parents",)

    def __init__(self, index: int, parents: list[Partition]) -> None:
        super().__init__(index)
        self.parents = parents

    def __getstate__(self) -> tuple:
        return (self.index, self.parents)

    def __setstate__(self, state: tuple) -> None:
        self.index, self.parents = state


class CoalescedRDD(RDD):
    """Neighbouring parent partitions read one after the other by one task."""

    def __init__(self, prev: RDD, n: int, groups: list[list[int]] | None = None) -> None:
        total = prev.getNumPartitions()
        n = min(n, total) if total else n
        # Given groups: sparkbook.sql's adaptive reads of neighbouring shuffle partitions.
        groups = groups or [list(range(i * total // n, (i + 1) * total // n))
                            for i in range(n)]
        super().__init__(prev._driver(), [CoalesceDependency(prev, groups)], "coalesce")
        self.prev = prev
        self._groups = groups

    def _get_partitions(self) -> list[Partition]:
        parents = self.prev.partitions()
        return [CoalescedPartition(i, [parents[j] for j in g]) for i, g in enumerate(self._groups)]

    def compute(self, split: CoalescedPartition, context) -> Iterator:
        if isinstance(self.prev, ShuffledRDD) and not self.prev.is_cached:
            # Neighbouring reduce partitions: fetched in batches, not one by one; and
            # computed without asking iterator() for each (a SQL read of a coalesced
            # shuffle goes over 200 of them, mostly empty: 240 -> 160 us).
            context.prefetch_shuffle(self.prev.shuffle_id, [p.index for p in split.parents])
            return itertools.chain.from_iterable(
                map(self.prev.compute, split.parents, itertools.repeat(context)))
        return itertools.chain.from_iterable(self.prev.iterator(p, context) for p in split.parents)


class ZippedPartitionsRDD(RDD):
    """Partition i pairs up, element by element, partition i of two RDDs."""

    def __init__(self, left: RDD, right: RDD) -> None:
        super().__init__(left._driver(), [NarrowDependency(left), NarrowDependency(right)],
                         "zip")
        self.left = left
        self.right = right

    def _get_partitions(self) -> list[Partition]:
        return [CoalescedPartition(i, [a, b]) for i, (a, b) in
                enumerate(zip(self.left.partitions(), self.right.partitions()))]

    def compute(self, split: CoalescedPartition, context) -> Iterator:
        left = self.left.iterator(split.parents[0], context)
        right = self.right.iterator(split.parents[1], context)
        # PySpark zips batches of (by default) 100 elements, and tells unequal partitions
        # apart by where the sizes first differ: inside a pair of batches, or one side has
        # batches left over. Checking the same way gives its two messages.
        while True:
            a, b = list(itertools.islice(left, 100)), list(itertools.islice(right, 100))
            if len(a) != len(b):
                if a and b:
                    raise ValueError("Can not deserialize PairRDD with different number of "
                                     f"items in batches: ({len(a)}, {len(b)})")
                raise SparkException("Can only zip RDDs with same number of elements in "
                                     "each partition")
            if not a:
                return
            yield from zip(a, b)


class CartesianRDD(RDD):
    """Every pair (x, y): partition i * n + j pairs left partition i with right partition j
    (n right partitions), x by x, each x with every y of the right partition."""

    def __init__(self, left: RDD, right: RDD) -> None:
        n = right.getNumPartitions()
        deps = [CartesianDependency(left, n, 0), CartesianDependency(right, n, 1)]
        super().__init__(left._driver(), deps, "cartesian")
        self.left = left
        self.right = right

    def _get_partitions(self) -> list[Partition]:
        rights = self.right.partitions()
        return [CoalescedPartition(i * len(rights) + j, [a, b])
                for i, a in enumerate(self.left.partitions()) for j, b in enumerate(rights)]

    def compute(self, split: CoalescedPartition, context) -> Iterator:
        ys = list(self.right.iterator(split.parents[1], context))  # read once, not per x
        return ((x, y) for x in self.left.iterator(split.parents[0], context) for y in ys)


class ShuffledRDD(RDD):
    """The reduce side of a shuffle: partition i reads bucket i of every map output."""

    def __init__(self, prev: RDD, partitioner: Partitioner, aggregator: Aggregator | None,
                 op: str, map_side_combine: bool = False) -> None:
        dep = ShuffleDependency(prev, partitioner, aggregator, map_side_combine)
        super().__init__(prev._driver(), [dep], op)
        self.partitioner = partitioner
        self.shuffle_id = dep.shuffle_id
        self.aggregator = aggregator
        self.map_side_combine = dep.map_side_combine

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state["deps"] = []  # the map side's lineage stays on the driver
        return state

    def _get_partitions(self) -> list[Partition]:
        return [Partition(i) for i in range(self.partitioner.numPartitions)]

    def compute(self, split: Partition, context) -> Iterator:
        buckets = context.fetch_shuffle(self.shuffle_id, split.index)
        if self.aggregator is None:
            return itertools.chain.from_iterable(buckets)
        combine = (self.aggregator.combine_combiners if self.map_side_combine
                   else self.aggregator.combine_values)
        combined: dict = {}
        for bucket in buckets:
            combine(bucket, combined)
        return iter(combined.items())


class CoGroupPartition(Partition):
    __slots__ = ("narrow_parents",)

    def __init__(self, index: int, narrow_parents: dict[int, Partition]) -> None:
        super().__init__(index)
        self.narrow_parents = narrow_parents

    def __getstate__(self) -> tuple:
        return (self.index, self.narrow_parents)

    def __setstate__(self, state: tuple) -> None:
        self.index, self.narrow_parents = state


class CoGroupedRDD(RDD):
    """(key, (values in rdd 0, values in rdd 1, ...)); parents already partitioned the same
    way are read in place, the others through a shuffle."""

    def __init__(self, rdds: list[RDD], partitioner: Partitioner) -> None:
        deps: list[Dependency] = []
        for rdd in rdds:
            if rdd.partitioner == partitioner:
                deps.append(NarrowDependency(rdd))
            else:
                deps.append(ShuffleDependency(rdd, partitioner))
        super().__init__(rdds[0]._driver(), deps, "cogroup")
        self.partitioner = partitioner
        self._inputs = [(i, None if isinstance(d, ShuffleDependency) else d.rdd, getattr(
            d, "shuffle_id", None)) for i, d in enumerate(deps)]

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state["deps"] = []
        return state

    def _get_partitions(self) -> list[Partition]:
        narrow = [(i, rdd) for i, rdd, _ in self._inputs if rdd is not None]
        return [CoGroupPartition(p, {i: rdd.partitions()[p] for i, rdd in narrow})
                for p in range(self.partitioner.numPartitions)]

    def _sources(self, i: int, split: CoGroupPartition, context) -> Iterable[Iterable]:
        """Input i's records for this partition: read in place, or fetched from the shuffle."""
        _, rdd, shuffle_id = self._inputs[i]
        if rdd is not None:
            return [rdd.iterator(split.narrow_parents[i], context)]
        return context.fetch_shuffle(shuffle_id, split.index)

    def compute(self, split: CoGroupPartition, context) -> Iterator:
        width = len(self._inputs)
        groups: dict = {}
        get = groups.get
        for i in range(width):
            for records in self._sources(i, split, context):
                for k, v in records:
                    entry = get(k)
                    if entry is None:
                        entry = groups[k] = tuple([] for _ in range(width))
                    entry[i].append(v)
        return iter(groups.items())


class HashJoinRDD(CoGroupedRDD):
    """(k, (v, w)) for each v of k on the left and w of k on the right: a hash table of the
    right side's partition, probed by the left side's records as they stream past.

    The outer joins add (k, (v, None)) for a left record no right value matches, and
    (k, (None, w)) for the right values no left record asked for, after the left side.
    """

    def __init__(self, left: RDD, right: RDD, partitioner: Partitioner,
                 how: str = "join") -> None:
        super().__init__([left, right], partitioner)
        self.op = how
        self.keep_left = how in ("leftOuterJoin", "fullOuterJoin")
        self.keep_right = how in ("rightOuterJoin", "fullOuterJoin")

    def compute(self, split: CoGroupPartition, context) -> Iterator:
        table: dict = {}
        get = table.get
        for records in self._sources(1, split, context):
            for k, w in records:
                found = get(k)
                if found is None:
                    table[k] = [w]
                else:
                    found.append(w)
        left = (kv for records in self._sources(0, split, context) for kv in records)
        if not (self.keep_left or self.keep_right):
            return ((k, (v, w)) for k, v in left for w in get(k, ()))
        return self._outer(left, table)

    def _outer(self, left: Iterator, table: dict) -> Iterator:
        matched = set()
        for k, v in left:
            ws = table.get(k)
            if ws is None:
                if self.keep_left:
                    yield k, (v, None)
                continue
            matched.add(k)
            for w in ws:
                yield k, (v, w)
        if self.keep_right:
            for k, ws in table.items():
                if k not in matched:
                    for w in ws:
                        yield k, (None, w)
