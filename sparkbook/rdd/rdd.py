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

The kinds of RDD the methods build (``sparkbook.rdd.kinds``, ``.input``, ``.checkpoint``)
subclass RDD, so they are imported at the end of this module.
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
import shlex
import subprocess
import sys
import threading
import warnings
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from functools import reduce as _reduce
from typing import Any

from sparkbook.errors import PySparkRuntimeError, SparkException
from sparkbook.partitioner import Partitioner, portable_hash
from sparkbook.rdd.approx import BoundedFloat, HyperLogLog, precision_for
from sparkbook.rdd.dependency import Aggregator, Dependency, ShuffleDependency
from sparkbook.rdd.histogram import bucket_counts, even_buckets, explicit_buckets, is_comparable
from sparkbook.rdd.sampling import (
    BernoulliSampler,
    RangeSampler,
    StratifiedSampler,
    fraction_for_sample_size,
)
from sparkbook.statcounter import StatCounter
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


class _RDDClass(type):
    """What every RDD's class prints as. PySpark has one RDD class (its kinds live in the
    JVM), so ``type(sc.textFile(path))`` prints as ``RDD``; sparkbook's kinds are Python
    subclasses (``HadoopRDD``, ``MapPartitionsRDD``, ...), which keep their names for
    ``repr`` and ``toDebugString`` (Spark's names there) and for pickling, and print as
    the one class the API names."""

    def __repr__(cls) -> str:
        return "<class 'sparkbook.rdd.RDD'>"


class RDD(metaclass=_RDDClass):
    """A resilient distributed dataset (the API of ``pyspark.RDD``)."""

    def __init__(self, ctx, deps: list[Dependency], op: str = "") -> None:
        self.ctx = ctx
        self.deps = deps
        self.rdd_id = ctx._new_rdd_id()
        self.op = op
        self.callsite = ctx._callsite()
        self.partitioner: Partitioner | None = None
        self._storage_level = StorageLevel.NONE
        self._name: str | None = None
        self._partitions: list[Partition] | None = None
        self._checkpoint_mark: str | None = None  # "reliable" or "local" once marked
        self._checkpoint_rdd: RDD | None = None  # where the partitions are read once written

    # --- shipping to executors ---------------------------------------------------------

    def _check_shipping(self) -> None:
        allowed = getattr(_shipping, "allowed", None)
        if allowed is None or self.rdd_id not in allowed:
            raise pickle.PicklingError(DRIVER_ONLY)

    def __getstate__(self) -> dict:
        self._check_shipping()
        state = self.__dict__.copy()
        state["ctx"] = None
        state["_partitions"] = None
        return state

    def __reduce_ex__(self, protocol: Any) -> Any:
        if self._checkpoint_rdd is None:
            return super().__reduce_ex__(protocol)

        # A checkpointed RDD's lineage is cut: executors get a CheckpointedRDD, which reads
        # the checkpoint under this RDD's id and storage level (so cached blocks are found).
        self._check_shipping()
        return (CheckpointedRDD, (self.rdd_id, self._storage_level, self._checkpoint_rdd))

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

    @property
    def is_cached(self) -> bool:
        """Whether computed partitions are kept in the executors' block stores."""
        return self._storage_level != StorageLevel.NONE

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
        self._storage_level = storageLevel
        self._track_persisted()
        return self

    def _track_persisted(self) -> None:
        cleaner = getattr(self.ctx, "_cleaner", None)  # the driver's ContextCleaner, if any
        if cleaner is not None:
            cleaner.register_rdd(self, self.rdd_id)

    def unpersist(self, blocking: bool = False) -> RDD:
        self._storage_level = StorageLevel.NONE
        self._driver()._remove_rdd_blocks(self.rdd_id, blocking)
        return self

    def getStorageLevel(self) -> StorageLevel:
        return self._storage_level

    # --- checkpointing ---------------------------------------------------------------

    def checkpoint(self) -> None:
        """Mark for saving to the checkpoint directory: the first action that computes this
        RDD writes it there (in a job of its own), and from then on it is read from those
        files, its lineage cut. Persist it first to save computing it twice."""
        if getattr(self._driver(), "_checkpoint_dir", None) is None:
            raise SparkException("Checkpoint directory has not been set in the SparkContext")
        if self._checkpoint_mark is None:
            self._checkpoint_mark = "reliable"
            pending_checkpoints.add(self)

    def localCheckpoint(self) -> None:
        """Mark for checkpointing in the executors' block stores: faster than checkpoint(),
        but an executor that is lost takes its partitions with it (the lineage is cut)."""

        if self._checkpoint_rdd is not None:
            return
        level = self._storage_level
        # Spark keeps local checkpoints in memory and on disk, deserialized unless the RDD
        # was persisted otherwise; it overrides the level without the usual refusal.
        self._storage_level = (
            StorageLevel.MEMORY_AND_DISK_DESER if level == StorageLevel.NONE else
            StorageLevel(True, level.useMemory, level.useOffHeap, level.deserialized,
                         level.replication))
        self._checkpoint_mark = "local"
        self._track_persisted()
        pending_checkpoints.add(self)

    def isCheckpointed(self) -> bool:
        """Whether this RDD has been checkpointed (reliably or locally) by an action."""
        return self._checkpoint_rdd is not None

    def isLocallyCheckpointed(self) -> bool:
        """Whether this RDD is marked for local checkpointing."""
        return self._checkpoint_mark == "local"

    def getCheckpointFile(self) -> str | None:
        """The directory this RDD was checkpointed to (None before, or when local)."""
        reader = self._checkpoint_rdd
        return "file:" + reader.path if isinstance(reader, ReliableCheckpointRDD) else None

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

    def explain(self) -> None:
        """Show the stages an action on this RDD (``collect``, ``count``...) would run,
        without running anything: shuffle boundaries, pipelined steps, tasks per stage,
        and the stages it would skip because their shuffle output exists (sparkbook's
        addition; drawn as a DAG in a notebook, printed elsewhere)."""
        from sparkbook.driver.planpreview import plan_of
        from sparkbook.notebook.planview import show_plan

        show_plan(plan_of(self), f"Plan of {self!r}")

    def __repr__(self) -> str:
        label = self._name + " " if self._name else ""
        return f"{label}{type(self).__name__}[{self.rdd_id}] at {self.op} at {self.callsite}"

    # --- narrow transformations ------------------------------------------------------

    def mapPartitionsWithIndex(self, f: Callable[[int, Iterable], Iterable],
                               preservesPartitioning: bool = False) -> RDD:
        return MapPartitionsRDD(self, f, preservesPartitioning, "mapPartitionsWithIndex")

    def mapPartitionsWithSplit(self, f: Callable[[int, Iterable], Iterable],
                               preservesPartitioning: bool = False) -> RDD:
        """Deprecated: mapPartitionsWithIndex."""
        warnings.warn("mapPartitionsWithSplit is deprecated; use mapPartitionsWithIndex instead",
                      FutureWarning, stacklevel=2)
        return self.mapPartitionsWithIndex(f, preservesPartitioning)

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
            raise ValueError("Fraction must be nonnegative.")
        sampler = BernoulliSampler(withReplacement, fraction, seed)
        return MapPartitionsRDD(self, sampler.func, True, "sample")

    def randomSplit(self, weights: list[float], seed: int | None = None) -> list[RDD]:
        """Split into RDDs holding about the given proportions; each element in exactly one."""
        if not all(w >= 0 for w in weights):
            raise ValueError("Weights must be nonnegative")
        total = float(sum(weights))
        if not total > 0:
            raise ValueError("Sum of weights must be positive")
        bounds = list(itertools.accumulate((w / total for w in weights), initial=0.0))
        if seed is None:
            seed = random.randint(0, 2**32 - 1)
        return [MapPartitionsRDD(self, RangeSampler(lower, upper, seed).func, True,
                                 "randomSplit")
                for lower, upper in zip(bounds, bounds[1:])]

    def sampleByKey(self, withReplacement: bool, fractions: dict, seed: int | None = None
                    ) -> RDD:
        """A sample of (key, value) pairs taking each key's own fraction (a KeyError in the
        task for a key missing from ``fractions``)."""
        for fraction in fractions.values():
            assert fraction >= 0.0, f"Negative fraction value: {fraction}"
        sampler = StratifiedSampler(withReplacement, fractions, seed)
        return MapPartitionsRDD(self, sampler.func, True, "sampleByKey")

    def zip(self, other: RDD) -> RDD:
        """Pairs (x, y) of the i-th elements of each partition of both RDDs, which must have
        the same number of partitions and of elements in each partition."""
        if self.getNumPartitions() != other.getNumPartitions():
            raise ValueError("Can only zip with RDD which has the same number of partitions")
        return ZippedPartitionsRDD(self, other)

    def zipWithIndex(self) -> RDD:
        """Pairs (x, index of x in the whole RDD); a job counts the partitions first."""
        starts = [0]
        if self.getNumPartitions() > 1:
            counts = self._run(count_iterator, op="zipWithIndex")
            starts.extend(itertools.accumulate(counts[:-1]))
        return self.mapPartitionsWithIndex(lambda i, it: zip(it, itertools.count(starts[i])))

    def zipWithUniqueId(self) -> RDD:
        """Pairs (x, id): the k-th element of partition i gets k * numPartitions + i. No job."""
        n = self.getNumPartitions()
        return self.mapPartitionsWithIndex(lambda i, it: zip(it, itertools.count(i, n)))

    def cartesian(self, other: RDD) -> RDD:
        """Every pair (x, y); partition i * other's count + j pairs partition i with j."""
        return CartesianRDD(self, other)

    def pipe(self, command: str, env: dict[str, str] | None = None,
             checkCode: bool = False) -> RDD:
        """Each partition through an external command (no shell; ``env`` is its whole
        environment): ``str(x)`` a line in, its output lines out."""
        env = env or {}
        return self.mapPartitions(lambda it: _pipe_through(command, env, checkCode, it))

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

    def foldByKey(self, zeroValue: Any, func: Callable[[Any, Any], Any],
                  numPartitions: int | None = None,
                  partitionFunc: Callable[[Any], int] = portable_hash) -> RDD:
        """Fold each key's values with ``func``, starting from a copy of ``zeroValue``."""
        return self.aggregateByKey(zeroValue, func, func, numPartitions, partitionFunc)

    def groupByKey(self, numPartitions: int | None = None,
                   partitionFunc: Callable[[Any], int] = portable_hash) -> RDD:
        """All values of each key together; nothing is combined before the shuffle."""
        grouped = self._combine_by_key(
            Aggregator(_new_list, _append, _extend), numPartitions, partitionFunc, False,
            "groupByKey")
        values = grouped.mapValues(ResultIterable)
        # Part of the groupByKey step in the stage DAG, as Spark's UI draws it.
        values.op, values._internal_step = "groupByKey", True
        return values

    def groupBy(self, f: Callable, numPartitions: int | None = None,
                partitionFunc: Callable[[Any], int] = portable_hash) -> RDD:
        """(f(x), the elements x with that key), grouped as groupByKey does."""
        return self.map(lambda x: (f(x), x)).groupByKey(numPartitions, partitionFunc)

    def distinct(self, numPartitions: int | None = None) -> RDD:
        return (self.map(_with_none, True)
                .reduceByKey(_keep_first, numPartitions)
                .map(_first_of_pair))

    def sortByKey(self, ascending: bool = True, numPartitions: int | None = None,
                  keyfunc: Callable[[Any], Any] = _identity) -> RDD:
        """Sort by key: sample the keys (two small jobs), range-partition, sort each part."""
        if numPartitions is None:
            numPartitions = self._defaultReducePartitions()
        sort_partition = _sort_by_key(keyfunc, ascending)
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

    def repartitionAndSortWithinPartitions(
            self, numPartitions: int | None = None,
            partitionFunc: Callable[[Any], int] = portable_hash, ascending: bool = True,
            keyfunc: Callable[[Any], Any] = _identity) -> RDD:
        """partitionBy, then sort each partition by key (one shuffle, no range sampling)."""
        if numPartitions is None:
            numPartitions = self._defaultReducePartitions()
        return (self.partitionBy(numPartitions, partitionFunc)
                .mapPartitions(_sort_by_key(keyfunc, ascending), True))

    def sortBy(self, keyfunc: Callable, ascending: bool = True,
               numPartitions: int | None = None) -> RDD:
        return self.keyBy(keyfunc).sortByKey(ascending, numPartitions).values()

    def cogroup(self, other: RDD, numPartitions: int | None = None) -> RDD:
        """For each key, the list of its values in this RDD and in ``other``."""
        return self._cogrouped([other], numPartitions).mapValues(_result_iterables)

    def groupWith(self, other: RDD, *others: RDD) -> RDD:
        """cogroup with any number of RDDs: (key, (values here, in other, in others...))."""
        return self._cogrouped([other, *others], None).mapValues(_result_iterables)

    def _cogroup_partitioner(self, others: list[RDD], numPartitions: int | None) -> Partitioner:
        """PySpark cogroups the union of the inputs: without ``numPartitions`` that is the
        sum of their partition counts, or the count they share when all are partitioned
        alike (their union is then partitioner-aware)."""
        if numPartitions is None:
            ctx = self._driver()
            rdds = [self, *others]
            shared = rdds[0].partitioner
            if ctx._conf.contains("spark.default.parallelism"):
                numPartitions = ctx.defaultParallelism
            elif shared is not None and all(r.partitioner == shared for r in rdds):
                numPartitions = shared.numPartitions
            else:
                numPartitions = sum(r.getNumPartitions() for r in rdds)
        return Partitioner(numPartitions, portable_hash)

    def _cogrouped(self, others: list[RDD], numPartitions: int | None) -> RDD:
        return CoGroupedRDD([self, *others], self._cogroup_partitioner(others, numPartitions))

    def join(self, other: RDD, numPartitions: int | None = None) -> RDD:
        """Pairs (k, (v, w)) for every v of k here and every w of k in ``other``."""
        return HashJoinRDD(self, other, self._cogroup_partitioner([other], numPartitions))

    def leftOuterJoin(self, other: RDD, numPartitions: int | None = None) -> RDD:
        """join, plus (k, (v, None)) for each v whose key ``other`` lacks."""
        return HashJoinRDD(self, other, self._cogroup_partitioner([other], numPartitions),
                           "leftOuterJoin")

    def rightOuterJoin(self, other: RDD, numPartitions: int | None = None) -> RDD:
        """join, plus (k, (None, w)) for each w of ``other`` whose key this RDD lacks."""
        return HashJoinRDD(self, other, self._cogroup_partitioner([other], numPartitions),
                           "rightOuterJoin")

    def fullOuterJoin(self, other: RDD, numPartitions: int | None = None) -> RDD:
        """join, plus the unmatched pairs of both sides with None for the missing value."""
        return HashJoinRDD(self, other, self._cogroup_partitioner([other], numPartitions),
                           "fullOuterJoin")

    def subtractByKey(self, other: RDD, numPartitions: int | None = None) -> RDD:
        """The pairs whose key does not occur in ``other``."""
        return (self._cogrouped([other], numPartitions)
                .flatMapValues(lambda groups: () if groups[1] else groups[0]))

    def subtract(self, other: RDD, numPartitions: int | None = None) -> RDD:
        """The elements that do not occur in ``other`` (duplicates kept)."""
        return (self.map(_with_true).subtractByKey(other.map(_with_true), numPartitions)
                .keys())

    def intersection(self, other: RDD) -> RDD:
        """The distinct elements found in both RDDs."""
        return (self.map(_with_none)._cogrouped([other.map(_with_none)], None)
                .filter(lambda kv: all(kv[1])).keys())

    # --- actions ---------------------------------------------------------------------

    def _run(self, func: Callable[[Iterator], Any], partitions: Iterable[int] | None = None,
             op: str = "") -> list:
        """Run ``func`` on each partition's iterator; one result per partition. Then write
        the checkpoints marked in the lineage, as Spark does after every job."""
        results = self._driver()._run_job(self, func, partitions, op)
        if pending_checkpoints:
            write_marked_checkpoints(self)
        return results

    def collect(self) -> list:
        return list(itertools.chain.from_iterable(self._run(list, op="collect")))

    def count(self) -> int:
        return sum(self._run(count_iterator, op="count"))

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
        """The ``num`` largest elements, largest first."""
        if self.getNumPartitions() == 0:  # PySpark reduces the partitions' tops
            raise ValueError("Can not reduce() empty RDD")
        parts = self._run(lambda it: heapq.nlargest(num, it, key=key), op="top")
        return heapq.nlargest(num, itertools.chain.from_iterable(parts), key=key)

    def takeOrdered(self, num: int, key: Callable | None = None) -> list:
        """The ``num`` smallest elements, smallest first."""
        if num < 0:
            raise ValueError("top N cannot be negative.")
        if num == 0 or self.getNumPartitions() == 0:
            return []
        parts = self._run(lambda it: heapq.nsmallest(num, it, key=key), op="takeOrdered")
        return heapq.nsmallest(num, itertools.chain.from_iterable(parts), key=key)

    def takeSample(self, withReplacement: bool, num: int, seed: int | None = None) -> list:
        """``num`` random elements (fewer only without replacement from a smaller RDD): an
        oversampled ``sample``, redrawn until large enough, shuffled and cut, as PySpark."""
        max_size = sys.maxsize - int(10.0 * math.sqrt(sys.maxsize))
        if num < 0:
            raise ValueError("Sample size cannot be negative.")
        if num > max_size:
            raise ValueError(f"Sample size cannot be greater than {max_size}.")
        if num == 0 or self.getNumPartitions() == 0:
            return []
        total = self.count()
        if total == 0:
            return []
        rng = random.Random(seed)
        if not withReplacement and num >= total:
            samples = self.collect()
            rng.shuffle(samples)
            return samples
        fraction = fraction_for_sample_size(num, total, withReplacement)
        samples = self.sample(withReplacement, fraction, seed).collect()
        while len(samples) < num:  # rare: the fraction makes a short sample unlikely
            samples = self.sample(withReplacement, fraction,
                                  rng.randint(0, sys.maxsize)).collect()
        rng.shuffle(samples)
        return samples[:num]

    def treeAggregate(self, zeroValue: Any, seqOp: Callable, combOp: Callable,
                      depth: int = 2) -> Any:
        """aggregate, with the partitions' results combined in a tree of ``depth`` levels
        (shuffles between levels) rather than all at once on the driver."""
        if depth < 1:
            raise ValueError(f"Depth cannot be smaller than 1 but got {depth}.")
        if self.getNumPartitions() == 0:
            return zeroValue

        def aggregate_partition(it: Iterable) -> list:
            return [_reduce(seqOp, it, zeroValue)]

        partial = self.mapPartitions(aggregate_partition)
        n: float = partial.getNumPartitions()
        scale = max(math.ceil(n ** (1.0 / depth)), 2)
        while n > scale + n / scale:  # another level pays off
            n /= scale
            width = int(n)
            partial = (partial.mapPartitionsWithIndex(
                functools.partial(_key_by_partition, width))
                .reduceByKey(combOp, width).values())
        return partial.reduce(combOp)

    def treeReduce(self, f: Callable[[Any, Any], Any], depth: int = 2) -> Any:
        """reduce, combined in a tree of ``depth`` levels (see treeAggregate)."""
        if depth < 1:
            raise ValueError(f"Depth cannot be smaller than 1 but got {depth}.")

        def combine(a: tuple, b: tuple) -> tuple:  # (value, is_empty)
            if a[1]:
                return b
            if b[1]:
                return a
            return f(a[0], b[0]), False

        value, empty = self.map(lambda x: (x, False)).treeAggregate((None, True), combine,
                                                                    combine, depth)
        if empty:
            raise ValueError("Cannot reduce empty RDD.")
        return value

    # --- statistics ------------------------------------------------------------------

    def _merged_stats(self, op: str) -> StatCounter:
        """A StatCounter a partition, merged in partition order."""
        return _reduce(StatCounter.mergeStats, self._run(StatCounter, op=op), StatCounter())

    def stats(self) -> StatCounter:
        """Count, mean, variance, min and max of the elements in one job."""
        if self.getNumPartitions() == 0:  # PySpark reduces the partitions' counters
            raise ValueError("Can not reduce() empty RDD")
        return self._merged_stats("stats")

    def mean(self) -> float:
        return self.stats().mean()

    def variance(self) -> float:
        return self.stats().variance()

    def stdev(self) -> float:
        return self.stats().stdev()

    def sampleVariance(self) -> float:
        return self.stats().sampleVariance()

    def sampleStdev(self) -> float:
        return self.stats().sampleStdev()

    def histogram(self, buckets: int | list | tuple) -> tuple[Any, list[int]]:
        """(bucket edges, counts): ``buckets`` equal buckets between the minimum and the
        maximum (two jobs), or the given sorted edges (one job)."""
        if isinstance(buckets, int):
            if buckets < 1:
                raise ValueError("number of buckets must be >= 1")
            comparable = self.filter(is_comparable)
            lo, hi = comparable.map(lambda x: (x, x)).reduce(_min_max)
            if lo == hi or buckets == 1:
                return [lo, hi], [comparable.count()]
            buckets, step = even_buckets(lo, hi, buckets)
        elif isinstance(buckets, (list, tuple)):
            step = explicit_buckets(buckets)
        else:
            raise TypeError("buckets should be a list or tuple or number(int or long)")
        edges = buckets
        counts = self.mapPartitions(lambda it: [bucket_counts(edges, step, it)]).reduce(
            lambda a, b: [x + y for x, y in zip(a, b)])
        return buckets, counts

    # --- approximate actions -----------------------------------------------------------

    def sumApprox(self, timeout: int, confidence: float = 0.95) -> BoundedFloat:
        """The sum, as a BoundedFloat. sparkbook waits for every partition (``timeout`` is
        not used), so the bounds are the exact sum with confidence 1.0."""
        total = self.mapPartitions(lambda it: [float(sum(it))])._merged_stats("sumApprox").sum()
        return BoundedFloat(total, 1.0, total, total)

    def meanApprox(self, timeout: int, confidence: float = 0.95) -> BoundedFloat:
        """The mean, as a BoundedFloat (exact: see sumApprox)."""
        mean = self.map(float)._merged_stats("meanApprox").mean()
        return BoundedFloat(mean, 1.0, mean, mean)

    def countApprox(self, timeout: int, confidence: float = 0.95) -> int:
        """The count (exact: see sumApprox)."""
        counts = self.mapPartitions(lambda it: [float(count_iterator(it))])
        return int(counts.sumApprox(timeout, confidence))

    def countApproxDistinct(self, relativeSD: float = 0.05) -> int:
        """About how many distinct elements: a HyperLogLog sketch of their hashes, with
        relative standard deviation ``relativeSD``."""
        if relativeSD < 0.000017:
            raise ValueError("relativeSD should be greater than 0.000017")
        p = precision_for(relativeSD)

        def sketch(it: Iterable) -> HyperLogLog:
            # PySpark's hashes: portable_hash cut to 32 bits, so 1, 1.0 and True are one.
            return HyperLogLog(p).add_all(portable_hash(x) & 0xFFFFFFFF for x in it)

        parts = self._run(sketch, op="countApproxDistinct")
        return _reduce(HyperLogLog.merge, parts, HyperLogLog(p)).cardinality()

    # --- to the driver -----------------------------------------------------------------

    def collectAsMap(self) -> dict:
        return dict(self.collect())

    def reduceByKeyLocally(self, func: Callable[[Any, Any], Any]) -> dict:
        """reduceByKey, merged into one dict on the driver instead of an RDD."""
        aggregator = Aggregator(_identity, func, func)
        return self.mapPartitions(lambda it: [aggregator.combine_values(it)]).reduce(
            lambda a, b: aggregator.combine_combiners(b.items(), a))

    def lookup(self, key: Any) -> list:
        """The values of ``key``; with a partitioner, only the key's partition is read."""
        values = self.filter(lambda kv: kv[0] == key).values()
        if self.partitioner is None:
            return values.collect()
        return values._run(list, [self._partition_of(key)], "lookup")[0]

    def _partition_of(self, key: Any) -> int:
        if os.environ.get("PYTHONHASHSEED") == "0":
            return self.partitioner(key)
        # This process may hash strings unlike the executors (PYTHONHASHSEED=0): ask one.
        return self._driver().parallelize([key], 1).map(self.partitioner).first()

    def toLocalIterator(self, prefetchPartitions: bool = False) -> Iterator:
        """The elements, one partition (one job) at a time, so the driver holds only one
        partition. ``prefetchPartitions`` is accepted; sparkbook never prefetches."""
        for index in range(self.getNumPartitions()):
            yield from self._run(list, [index], "toLocalIterator")[0]

    # --- saving ------------------------------------------------------------------------

    def _write_parts(self, directory: str, write_part: Callable[[str, Iterator], Any]) -> RDD:
        """The RDD whose job writes partition i with ``write_part(part file i, records)``."""

        def write(index: int, it: Iterator) -> Iterator:
            write_part(part_file(directory, index), it)
            return iter(())

        return self.mapPartitionsWithIndex(write)

    def _save(self, path: str, write_part: Callable[[str, Iterator], Any], op: str) -> None:
        """One part file a partition in a new directory, then ``_SUCCESS``."""
        directory = local_path(path)
        if os.path.exists(directory):
            raise FileExistsError(f"Output directory file:{directory} already exists")
        os.makedirs(directory)
        self._write_parts(directory, write_part)._run(count_iterator, op=op)
        open(os.path.join(directory, "_SUCCESS"), "w").close()

    def saveAsTextFile(self, path: str, compressionCodecClass: str | None = None) -> None:
        """One ``part-NNNNN`` file a partition, one line an element, then ``_SUCCESS``."""
        if compressionCodecClass is not None:
            raise NotImplementedError("sparkbook writes uncompressed text files only")
        self._save(path, _write_text_lines, "saveAsTextFile")

    def saveAsPickleFile(self, path: str, batchSize: int = 10) -> None:
        """Save as pickled batches of ``batchSize`` elements (0: sparkbook picks 1024), one
        ``part-NNNNN`` file a partition; ``SparkContext.pickleFile`` reads them back."""
        size = batchSize or 1024
        self._save(path, lambda f, it: write_pickle_part(f, it, size), "saveAsPickleFile")


def count_iterator(it: Iterable) -> int:
    """How many elements ``it`` yields (it is consumed)."""
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


def _with_true(x: Any) -> tuple:
    return (x, True)


def _result_iterables(groups: tuple) -> tuple:
    return tuple(ResultIterable(g) for g in groups)


def _min_max(a: tuple, b: tuple) -> tuple:
    return min(a[0], b[0]), max(a[1], b[1])


def _key_by_partition(width: int, index: int, it: Iterable) -> Iterator:
    return ((index % width, x) for x in it)


def _sort_by_key(keyfunc: Callable, ascending: bool) -> Callable[[Iterable], Iterator]:
    """A partition function that sorts (key, value) pairs by ``keyfunc(key)``, stably."""
    def sort_partition(it: Iterable) -> Iterator:
        return iter(sorted(it, key=lambda kv: keyfunc(kv[0]), reverse=not ascending))

    return sort_partition


def _write_text_lines(path: str, records: Iterable) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for x in records:
            f.write(x.decode("utf-8") if isinstance(x, bytes) else str(x))
            f.write("\n")


def _pipe_through(command: str, env: dict[str, str], check_code: bool,
                  records: Iterable) -> Iterator[str]:
    """``records`` through ``command``: written by this (the task's) thread, so upstream
    code keeps its TaskContext and accumulators; the output is drained by a helper thread
    so that neither side blocks on a full pipe."""
    proc = subprocess.Popen(shlex.split(command), env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True,
                              name="pipe-output")
    reader.start()
    try:
        with proc.stdin:
            for x in records:
                proc.stdin.write((str(x).rstrip("\n") + "\n").encode("utf-8"))
    except BrokenPipeError:
        pass  # the command stopped reading: its output and exit code tell the rest
    except BaseException:
        proc.kill()
        raise
    finally:
        reader.join()
        proc.wait()
    if check_code and proc.returncode:
        raise PySparkRuntimeError(f"[PIPE_FUNCTION_EXITED] Pipe function `{command}` exited "
                                  f"with error code {proc.returncode}.")
    return (line.rstrip(b"\n").decode("utf-8") for line in lines)


# The kinds of RDD subclass RDD, so they are imported once it exists (the package imports
# this module first, whichever of its modules is asked for).
from sparkbook.rdd.checkpoint import (  # noqa: E402
    CheckpointedRDD,
    ReliableCheckpointRDD,
    pending_checkpoints,
    write_marked_checkpoints,
)
from sparkbook.rdd.input import local_path, part_file, write_pickle_part  # noqa: E402
from sparkbook.rdd.kinds import (  # noqa: E402
    CartesianRDD,
    CoalescedRDD,
    CoGroupedRDD,
    HashJoinRDD,
    MapPartitionsRDD,
    ShuffledRDD,
    ZippedPartitionsRDD,
    union_of,
)
