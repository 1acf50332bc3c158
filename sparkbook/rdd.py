"""RDD: a resilient distributed dataset, its lineage and its transformations and actions.

An RDD is a list of partitions, a function that computes one partition from its parents,
and its dependencies on those parents. Narrow dependencies (``map``, ``filter``,
``union``, ``coalesce``) are pipelined inside one task; a ``ShuffleDependency``
(``reduceByKey``, ``groupByKey``, ``join``, ``sortByKey``, ``repartition``) ends a stage.
Transformations only build lineage; actions (``collect``, ``count``, ...) run a job
through the driver's ``SparkContext.runJob``.

The same objects run on the executors: a stage's RDDs are cloudpickled without their
``SparkContext`` and their partition lists, and each task carries the one partition it
computes (a parallelized slice, a file split, a shuffle partition, ...).
"""

from __future__ import annotations

import bisect
import copy
import functools
import heapq
import itertools
import math
import os
import pickle
import random
import sys
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from functools import reduce as _reduce
from typing import Any

from sparkbook.errors import SparkException
from sparkbook.files import (
    FileSplit,
    compute_splits,
    iter_lines,
    list_input_files,
    read_split_bytes,
)
from sparkbook.partitioner import Partitioner, portable_hash
from sparkbook.shuffle import Aggregator, ShuffleDependency
from sparkbook.storagelevel import StorageLevel

__all__ = ["RDD", "Partition", "ResultIterable"]

DRIVER_ONLY = (
    "It appears that you are attempting to broadcast an RDD or reference an RDD from an "
    "action or transformation. RDD transformations and actions can only be invoked by the "
    "driver, not inside of other transformations; for example, rdd1.map(lambda x: "
    "rdd2.values.count() * x) is invalid because the values transformation and count action "
    "cannot be performed inside of the rdd1.map transformation. For more information, see "
    "SPARK-5063."
)

# The RDDs the scheduler is shipping right now: only those may be pickled.
_shipping = threading.local()


class shipping_lineage:  # noqa: N801 - used as a context manager
    """Allow the given RDDs (a stage's lineage) to be pickled inside this block."""

    def __init__(self, rdd_ids: set[int]) -> None:
        self.rdd_ids = rdd_ids

    def __enter__(self) -> None:
        _shipping.allowed = self.rdd_ids

    def __exit__(self, *exc: object) -> None:
        _shipping.allowed = None


class Partition:
    """One slice of an RDD, named by its index."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __getstate__(self) -> int:
        return self.index

    def __setstate__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.index})"


class Dependency:
    """The lineage edge from an RDD to one parent."""

    def __init__(self, rdd: RDD) -> None:
        self.rdd = rdd


class NarrowDependency(Dependency):
    """Each child partition reads a few parent partitions; no shuffle."""

    def parents_of(self, index: int) -> list[int]:
        return [index]


class RangeDependency(NarrowDependency):
    """A union: child partitions [out_start, out_start+length) are the parent's [0, length)."""

    def __init__(self, rdd: RDD, out_start: int, length: int) -> None:
        super().__init__(rdd)
        self.out_start = out_start
        self.length = length

    def parents_of(self, index: int) -> list[int]:
        inside = self.out_start <= index < self.out_start + self.length
        return [index - self.out_start] if inside else []


class CoalesceDependency(NarrowDependency):
    def __init__(self, rdd: RDD, groups: list[list[int]]) -> None:
        super().__init__(rdd)
        self.groups = groups

    def parents_of(self, index: int) -> list[int]:
        return self.groups[index]


class ResultIterable:
    """The values of one key after ``groupByKey``: iterable, sized, picklable."""

    def __init__(self, data: list) -> None:
        self.data = data
        self.maxindex = len(data)

    def __iter__(self) -> Iterator:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"ResultIterable({self.data!r})"


def _identity(x: Any) -> Any:
    return x


def _first_of_pair(kv: tuple) -> Any:
    return kv[0]


def _second_of_pair(kv: tuple) -> Any:
    return kv[1]


class RDD:
    """A resilient distributed dataset (the API of ``pyspark.RDD``)."""

    def __init__(self, ctx, deps: list[Dependency], op: str = "") -> None:
        self.ctx = ctx
        self.deps = deps
        self.rdd_id = ctx._new_rdd_id()
        self.op = op
        self.callsite = ctx._callsite()
        self.partitioner: Partitioner | None = None
        self.is_cached = False
        self._storage_level = StorageLevel.NONE
        self._name: str | None = None
        self._partitions: list[Partition] | None = None

    # --- shipping to executors ---------------------------------------------------------

    def __getstate__(self) -> dict:
        allowed = getattr(_shipping, "allowed", None)
        if allowed is None or self.rdd_id not in allowed:
            raise pickle.PicklingError(DRIVER_ONLY)
        state = self.__dict__.copy()
        state["ctx"] = None
        state["_partitions"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    # --- what every RDD kind defines -------------------------------------------------

    def _get_partitions(self) -> list[Partition]:
        return self.deps[0].rdd.partitions()

    def compute(self, split: Partition, context) -> Iterator:
        raise NotImplementedError

    def partitions(self) -> list[Partition]:
        if self._partitions is None:
            self._partitions = self._get_partitions()
        return self._partitions

    def iterator(self, split: Partition, context) -> Iterator:
        """The partition's records: from the block store when persisted, else computed."""
        if self.is_cached:
            return context.get_or_compute(self, split)
        return self.compute(split, context)

    @property
    def context(self):
        """The SparkContext this RDD was created on."""
        return self._driver()

    def _driver(self):
        if self.ctx is None:
            raise RuntimeError(DRIVER_ONLY)
        return self.ctx

    # --- identity and persistence ----------------------------------------------------

    def id(self) -> int:
        """A unique id for this RDD within its SparkContext."""
        return self.rdd_id

    def getNumPartitions(self) -> int:
        return len(self.partitions())

    def name(self) -> str | None:
        return self._name

    def setName(self, name: str) -> RDD:
        self._name = name
        return self

    def cache(self) -> RDD:
        """Keep this RDD's partitions in executor memory once computed (MEMORY_ONLY)."""
        return self.persist(StorageLevel.MEMORY_ONLY)

    def persist(self, storageLevel: StorageLevel = StorageLevel.MEMORY_ONLY) -> RDD:
        if self.is_cached and storageLevel != self._storage_level:
            raise SparkException("Cannot change storage level of an RDD after it was already "
                                 "assigned a level")
        self.is_cached = True
        self._storage_level = storageLevel
        return self

    def unpersist(self, blocking: bool = False) -> RDD:
        self.is_cached = False
        self._storage_level = StorageLevel.NONE
        self._driver()._remove_rdd_blocks(self.rdd_id, blocking)
        return self

    def getStorageLevel(self) -> StorageLevel:
        return self._storage_level

    def toDebugString(self) -> bytes:
        """The lineage, one RDD a line, with ``+-`` where a shuffle starts a new stage."""
        lines: list[str] = []

        def describe(rdd: RDD) -> str:
            storage = ""
            if rdd._storage_level != StorageLevel.NONE:
                cached = self._driver()._cached_partition_count(rdd.rdd_id)
                storage = str(rdd._storage_level)
                if cached:
                    storage = f"CachedPartitions: {cached}; {storage}"
            return f"{rdd!r} [{storage}]"

        def visit(rdd: RDD, indent: str) -> None:
            for dep in rdd.deps:
                parent = dep.rdd
                if isinstance(dep, ShuffleDependency):
                    lines.append(f"{indent} +-({parent.getNumPartitions()}) {describe(parent)}")
                    visit(parent, indent + "   ")
                else:
                    lines.append(f"{indent} |  {describe(parent)}")
                    visit(parent, indent)

        lines.append(f"({self.getNumPartitions()}) {describe(self)}")
        visit(self, "")
        return "\n".join(lines).encode("utf-8")

    def __repr__(self) -> str:
        label = self._name + " " if self._name else ""
        return f"{label}{type(self).__name__}[{self.rdd_id}] at {self.op} at {self.callsite}"

    # --- narrow transformations ------------------------------------------------------

    def mapPartitionsWithIndex(self, f: Callable[[int, Iterable], Iterable],
                               preservesPartitioning: bool = False) -> RDD:
        return MapPartitionsRDD(self, f, preservesPartitioning, "mapPartitionsWithIndex")

    def mapPartitions(self, f: Callable[[Iterable], Iterable],
                      preservesPartitioning: bool = False) -> RDD:
        return MapPartitionsRDD(self, lambda _, it: f(it), preservesPartitioning,
                                "mapPartitions")

    def map(self, f: Callable, preservesPartitioning: bool = False) -> RDD:
        return MapPartitionsRDD(self, lambda _, it: map(f, it), preservesPartitioning, "map")

    def flatMap(self, f: Callable, preservesPartitioning: bool = False) -> RDD:
        return MapPartitionsRDD(self, lambda _, it: itertools.chain.from_iterable(map(f, it)),
                                preservesPartitioning, "flatMap")

    def filter(self, f: Callable) -> RDD:
        return MapPartitionsRDD(self, lambda _, it: filter(f, it), True, "filter")

    def glom(self) -> RDD:
        return MapPartitionsRDD(self, lambda _, it: iter([list(it)]), False, "glom")

    def mapValues(self, f: Callable) -> RDD:
        return MapPartitionsRDD(self, lambda _, it: ((k, f(v)) for k, v in it), True,
                                "mapValues")

    def flatMapValues(self, f: Callable) -> RDD:
        return MapPartitionsRDD(self, lambda _, it: ((k, x) for k, v in it for x in f(v)),
                                True, "flatMapValues")

    def keyBy(self, f: Callable) -> RDD:
        return MapPartitionsRDD(self, lambda _, it: ((f(x), x) for x in it), False, "keyBy")

    def keys(self) -> RDD:
        return MapPartitionsRDD(self, lambda _, it: map(_first_of_pair, it), False, "keys")

    def values(self) -> RDD:
        return MapPartitionsRDD(self, lambda _, it: map(_second_of_pair, it), False, "values")

    def union(self, other: RDD) -> RDD:
        return union_of(self._driver(), [self, other])

    def __add__(self, other: RDD) -> RDD:
        if not isinstance(other, RDD):
            raise TypeError
        return self.union(other)

    def coalesce(self, numPartitions: int, shuffle: bool = False) -> RDD:
        """Fewer partitions: without ``shuffle`` neighbouring partitions are merged in place."""
        if not numPartitions > 0:
            raise ValueError("Number of partitions must be positive.")
        if shuffle:
            return self._round_robin_shuffle(numPartitions)
        return CoalescedRDD(self, numPartitions)

    def repartition(self, numPartitions: int) -> RDD:
        """Exactly ``numPartitions`` partitions, by a full shuffle that evens them out."""
        return self.coalesce(numPartitions, shuffle=True)

    def _round_robin_shuffle(self, n: int) -> RDD:
        def distribute(index: int, it: Iterable) -> Iterator:
            start = random.Random(index).randrange(n)
            for position, x in enumerate(it, start):
                yield position % n, x

        keyed = MapPartitionsRDD(self, distribute, False, "repartition")
        shuffled = ShuffledRDD(keyed, Partitioner(n, _identity), None, "repartition")
        return MapPartitionsRDD(shuffled, lambda _, it: map(_second_of_pair, it), False,
                                "repartition")

    def sample(self, withReplacement: bool, fraction: float, seed: int | None = None) -> RDD:
        """A random sample; a given seed gives the same sample as PySpark's."""
        if not fraction >= 0.0:
            raise ValueError(f"Fraction must be nonnegative, got {fraction}")
        sampler = BernoulliSampler(withReplacement, fraction, seed)
        return MapPartitionsRDD(self, sampler.func, True, "sample")

    # --- wide transformations ---------------------------------------------------------

    def _defaultReducePartitions(self) -> int:
        ctx = self._driver()
        if ctx._conf.contains("spark.default.parallelism"):
            return ctx.defaultParallelism
        return self.getNumPartitions()

    def partitionBy(self, numPartitions: int | None,
                    partitionFunc: Callable[[Any], int] = portable_hash) -> RDD:
        """Place each (key, value) in partition ``partitionFunc(key) % numPartitions``."""
        if numPartitions is None:
            numPartitions = self._defaultReducePartitions()
        partitioner = Partitioner(numPartitions, partitionFunc)
        if self.partitioner == partitioner:
            return self
        return ShuffledRDD(self, partitioner, None, "partitionBy")

    def combineByKey(self, createCombiner: Callable, mergeValue: Callable,
                     mergeCombiners: Callable, numPartitions: int | None = None,
                     partitionFunc: Callable[[Any], int] = portable_hash) -> RDD:
        """The general per-key aggregation, combined on the map side before the shuffle."""
        return self._combine_by_key(Aggregator(createCombiner, mergeValue, mergeCombiners),
                                    numPartitions, partitionFunc, True, "combineByKey")

    def _combine_by_key(self, aggregator: Aggregator, numPartitions: int | None,
                        partitionFunc: Callable, map_side_combine: bool, op: str) -> RDD:
        if numPartitions is None:
            numPartitions = self._defaultReducePartitions()
        partitioner = Partitioner(numPartitions, partitionFunc)
        if self.partitioner == partitioner:
            # Already partitioned by key: combining is narrow, no shuffle needed.
            return MapPartitionsRDD(
                self, lambda _, it: iter(aggregator.combine_values(it).items()), True, op)
        return ShuffledRDD(self, partitioner, aggregator, op, map_side_combine)

    def reduceByKey(self, func: Callable, numPartitions: int | None = None,
                    partitionFunc: Callable[[Any], int] = portable_hash) -> RDD:
        return self._combine_by_key(Aggregator(_identity, func, func), numPartitions,
                                    partitionFunc, True, "reduceByKey")

    def aggregateByKey(self, zeroValue: Any, seqFunc: Callable, combFunc: Callable,
                       numPartitions: int | None = None,
                       partitionFunc: Callable[[Any], int] = portable_hash) -> RDD:
        def create(v: Any) -> Any:
            return seqFunc(copy.deepcopy(zeroValue), v)

        return self._combine_by_key(Aggregator(create, seqFunc, combFunc), numPartitions,
                                    partitionFunc, True, "aggregateByKey")

    def groupByKey(self, numPartitions: int | None = None,
                   partitionFunc: Callable[[Any], int] = portable_hash) -> RDD:
        """All values of each key together; nothing is combined before the shuffle."""
        grouped = self._combine_by_key(
            Aggregator(_new_list, _append, _extend), numPartitions, partitionFunc, False,
            "groupByKey")
        return grouped.mapValues(ResultIterable)

    def distinct(self, numPartitions: int | None = None) -> RDD:
        return (self.map(_with_none, True)
                .reduceByKey(_keep_first, numPartitions)
                .map(_first_of_pair))

    def sortByKey(self, ascending: bool = True, numPartitions: int | None = None,
                  keyfunc: Callable[[Any], Any] = _identity) -> RDD:
        """Sort by key: sample the keys (two small jobs), range-partition, sort each part."""
        if numPartitions is None:
            numPartitions = self._defaultReducePartitions()

        def sort_partition(it: Iterable) -> Iterator:
            return iter(sorted(it, key=lambda kv: keyfunc(kv[0]), reverse=not ascending))

        if numPartitions == 1:
            rdd = self.coalesce(1) if self.getNumPartitions() > 1 else self
            return rdd.mapPartitions(sort_partition, True)
        size = self.count()
        if not size:
            return self
        fraction = min(numPartitions * 20.0 / max(size, 1), 1.0)
        samples = sorted(self.sample(False, fraction, 1).map(_first_of_pair).collect(),
                         key=keyfunc)
        bounds = [samples[int(len(samples) * (i + 1) / numPartitions)]
                  for i in range(numPartitions - 1)]

        def range_partition(k: Any) -> int:
            p = bisect.bisect_left(bounds, keyfunc(k))
            return p if ascending else numPartitions - 1 - p

        return self.partitionBy(numPartitions, range_partition).mapPartitions(sort_partition,
                                                                               True)

    def sortBy(self, keyfunc: Callable, ascending: bool = True,
               numPartitions: int | None = None) -> RDD:
        return self.keyBy(keyfunc).sortByKey(ascending, numPartitions).values()

    def cogroup(self, other: RDD, numPartitions: int | None = None) -> RDD:
        """For each key, the list of its values in this RDD and in ``other``."""
        return self._cogrouped([other], numPartitions).mapValues(
            lambda groups: tuple(ResultIterable(g) for g in groups))

    def _cogroup_partitioner(self, others: list[RDD], numPartitions: int | None) -> Partitioner:
        if numPartitions is None:
            ctx = self._driver()
            numPartitions = (ctx.defaultParallelism
                             if ctx._conf.contains("spark.default.parallelism")
                             else sum(r.getNumPartitions() for r in [self, *others]))
        return Partitioner(numPartitions, portable_hash)

    def _cogrouped(self, others: list[RDD], numPartitions: int | None) -> RDD:
        return CoGroupedRDD([self, *others], self._cogroup_partitioner(others, numPartitions))

    def join(self, other: RDD, numPartitions: int | None = None) -> RDD:
        """Pairs (k, (v, w)) for every v of k here and every w of k in ``other``."""
        return HashJoinRDD(self, other, self._cogroup_partitioner([other], numPartitions))

    # --- actions ---------------------------------------------------------------------

    def _run(self, func: Callable[[Iterator], Any], partitions: Iterable[int] | None = None,
             op: str = "") -> list:
        """Run ``func`` on each partition's iterator; one result per partition."""
        return self._driver()._run_job(self, func, partitions, op)

    def collect(self) -> list:
        return list(itertools.chain.from_iterable(self._run(list, op="collect")))

    def count(self) -> int:
        return sum(self._run(_count_iterator, op="count"))

    def foreach(self, f: Callable[[Any], None]) -> None:
        def run(it: Iterable) -> None:
            for x in it:
                f(x)

        self._run(run, op="foreach")

    def foreachPartition(self, f: Callable[[Iterable], None]) -> None:
        self._run(lambda it: f(it) and None, op="foreachPartition")

    def reduce(self, f: Callable[[Any, Any], Any]) -> Any:
        """Combine all elements with a commutative, associative ``f``."""
        def partial(it: Iterator) -> list:
            sentinel = object()
            first = next(it, sentinel)
            return [] if first is sentinel else [_reduce(f, it, first)]

        values = list(itertools.chain.from_iterable(self._run(partial, op="reduce")))
        if values:
            return _reduce(f, values)
        raise ValueError("Can not reduce() empty RDD")

    def fold(self, zeroValue: Any, op: Callable[[Any, Any], Any]) -> Any:
        def partial(it: Iterator) -> Any:
            acc = zeroValue
            for x in it:
                acc = op(acc, x)
            return acc

        return _reduce(op, self._run(partial, op="fold"), zeroValue)

    def aggregate(self, zeroValue: Any, seqOp: Callable, combOp: Callable) -> Any:
        def partial(it: Iterator) -> Any:
            acc = copy.deepcopy(zeroValue)
            for x in it:
                acc = seqOp(acc, x)
            return acc

        return _reduce(combOp, self._run(partial, op="aggregate"), copy.deepcopy(zeroValue))

    def sum(self) -> Any:
        return sum(self._run(sum, op="sum"))

    def countByValue(self) -> dict:
        def count_values(it: Iterable) -> dict:
            counts: dict = defaultdict(int)
            for x in it:
                counts[x] += 1
            return counts

        total: dict = defaultdict(int)
        for part in self._run(count_values, op="countByValue"):
            for k, v in part.items():
                total[k] += v
        return total

    def countByKey(self) -> dict:
        return self.map(_first_of_pair).countByValue()

    def take(self, num: int) -> list:
        """The first ``num`` elements, scanning one partition, then more as needed."""
        items: list = []
        total = self.getNumPartitions()
        scanned = 0
        scale_up = int(self._driver()._conf.get("spark.rdd.limit.scaleUpFactor", "4"))
        while len(items) < num and scanned < total:
            to_try = 1
            if scanned > 0:
                if not items:
                    to_try = scanned * scale_up
                else:
                    to_try = int(1.5 * num * scanned / len(items)) - scanned
                    to_try = min(max(to_try, 1), scanned * scale_up)
            left = num - len(items)
            parts = range(scanned, min(scanned + to_try, total))
            take_left = functools.partial(_take_up_to, left)
            for chunk in self._run(take_left, parts, "take"):
                items.extend(chunk)
            scanned += to_try
        return items[:num]

    def first(self) -> Any:
        rs = self.take(1)
        if rs:
            return rs[0]
        raise ValueError("RDD is empty")

    def isEmpty(self) -> bool:
        return self.getNumPartitions() == 0 or len(self.take(1)) == 0

    def max(self, key: Callable | None = None) -> Any:
        return self.reduce(max if key is None else lambda a, b: max(a, b, key=key))

    def min(self, key: Callable | None = None) -> Any:
        return self.reduce(min if key is None else lambda a, b: min(a, b, key=key))

    def top(self, num: int, key: Callable | None = None) -> list:
        parts = self._run(lambda it: heapq.nlargest(num, it, key=key), op="top")
        return heapq.nlargest(num, itertools.chain.from_iterable(parts), key=key)

    def takeOrdered(self, num: int, key: Callable | None = None) -> list:
        parts = self._run(lambda it: heapq.nsmallest(num, it, key=key), op="takeOrdered")
        return heapq.nsmallest(num, itertools.chain.from_iterable(parts), key=key)

    def collectAsMap(self) -> dict:
        return dict(self.collect())

    def saveAsTextFile(self, path: str, compressionCodecClass: str | None = None) -> None:
        """One ``part-NNNNN`` file a partition, one line an element, then ``_SUCCESS``."""
        if compressionCodecClass is not None:
            raise NotImplementedError("sparkbook writes uncompressed text files only")
        path = os.path.abspath(path.removeprefix("file://"))
        if os.path.exists(path):
            raise FileExistsError(f"Output directory file:{path} already exists")
        os.makedirs(path)

        def write(index: int, it: Iterable) -> Iterator:
            with open(os.path.join(path, f"part-{index:05d}"), "w", encoding="utf-8") as f:
                for x in it:
                    f.write(x.decode("utf-8") if isinstance(x, bytes) else str(x))
                    f.write("\n")
            return iter(())

        self.mapPartitionsWithIndex(write)._run(_count_iterator, op="saveAsTextFile")
        open(os.path.join(path, "_SUCCESS"), "w").close()


def _count_iterator(it: Iterable) -> int:
    # deque(maxlen=1) drains in C; the last enumerate index is the count.
    last = deque(enumerate(it, 1), maxlen=1)
    return last[0][0] if last else 0


def _take_up_to(n: int, it: Iterable) -> list:
    return list(itertools.islice(it, n))


def _new_list(v: Any) -> list:
    return [v]


def _append(acc: list, v: Any) -> list:
    acc.append(v)
    return acc


def _extend(a: list, b: list) -> list:
    a.extend(b)
    return a


def _with_none(x: Any) -> tuple:
    return (x, None)


def _keep_first(a: Any, _: Any) -> Any:
    return a


# --- the RDD kinds ----------------------------------------------------------------------


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

    def __init__(self, prev: RDD, n: int) -> None:
        total = prev.getNumPartitions()
        n = min(n, total) if total else n
        groups = [list(range(i * total // n, (i + 1) * total // n)) for i in range(n)]
        super().__init__(prev._driver(), [CoalesceDependency(prev, groups)], "coalesce")
        self.prev = prev
        self._groups = groups

    def _get_partitions(self) -> list[Partition]:
        parents = self.prev.partitions()
        return [CoalescedPartition(i, [parents[j] for j in g]) for i, g in enumerate(self._groups)]

    def compute(self, split: CoalescedPartition, context) -> Iterator:
        return itertools.chain.from_iterable(self.prev.iterator(p, context) for p in split.parents)


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
    right side's partition, probed by the left side's records as they stream past."""

    def __init__(self, left: RDD, right: RDD, partitioner: Partitioner) -> None:
        super().__init__([left, right], partitioner)
        self.op = "join"

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
        return ((k, (v, w)) for records in self._sources(0, split, context)
                for k, v in records for w in get(k, ()))


class TextFilePartition(Partition):
    __slots__ = ("split",)

    def __init__(self, index: int, split: FileSplit) -> None:
        super().__init__(index)
        self.split = split

    def __getstate__(self) -> tuple:
        return (self.index, self.split)

    def __setstate__(self, state: tuple) -> None:
        self.index, self.split = state


class HadoopRDD(RDD):
    """Lines of text files, split into byte ranges the way Hadoop's TextInputFormat does."""

    def __init__(self, ctx, path: str, min_partitions: int, use_unicode: bool = True) -> None:
        super().__init__(ctx, [], "textFile")
        self.path = path
        self.use_unicode = use_unicode
        self.min_partitions = min_partitions

    def _get_partitions(self) -> list[Partition]:
        splits = compute_splits(list_input_files(self.path), self.min_partitions)
        return [TextFilePartition(i, s) for i, s in enumerate(splits)]

    def compute(self, split: TextFilePartition, context) -> Iterator:
        data = read_split_bytes(split.split)
        context.metrics.input_bytes += len(data)
        return iter_lines(data, self.use_unicode)

    def __repr__(self) -> str:
        return f"{self.path} {super().__repr__()}"


class BernoulliSampler:
    """Per-partition sampling with ``random.Random(seed ^ partition)``, PySpark's streams."""

    def __init__(self, with_replacement: bool, fraction: float, seed: int | None) -> None:
        self.with_replacement = with_replacement
        self.fraction = fraction
        self.seed = seed if seed is not None else random.randint(0, sys.maxsize)

    def func(self, split: int, it: Iterable) -> Iterator:
        rng = random.Random(self.seed ^ split)
        for _ in range(10):  # the seeds of neighbouring partitions are close: mix first
            rng.randint(0, 1)
        if not self.with_replacement:
            fraction, uniform = self.fraction, rng.random
            return (x for x in it if uniform() < fraction)
        return (x for x in it for _ in range(_poisson(rng, self.fraction)))


def _poisson(rng: random.Random, mean: float) -> int:
    k = 0
    if mean < 20.0:
        limit, p = math.exp(-mean), rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
    else:
        p = rng.expovariate(mean)
        while p < 1.0:
            k += 1
            p += rng.expovariate(mean)
    return k

