"""The lineage edges between RDDs: narrow dependencies, read inside one task, and the
``ShuffleDependency`` that ends a stage, with the ``Aggregator`` that combines a key's values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from sparkbook.partitioner import Partitioner

if TYPE_CHECKING:
    from sparkbook.rdd.rdd import RDD

_MISSING = object()


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


class CartesianDependency(NarrowDependency):
    """Cartesian partition i reads the left parent's i // n and the right's i % n."""

    def __init__(self, rdd: RDD, right_count: int, side: int) -> None:
        super().__init__(rdd)
        self.right_count = right_count
        self.side = side

    def parents_of(self, index: int) -> list[int]:
        return [divmod(index, self.right_count)[self.side]]


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

    def __init__(self, rdd: RDD, partitioner: Partitioner, aggregator: Aggregator | None = None,
                 map_side_combine: bool = False) -> None:
        self.rdd = rdd
        self.partitioner = partitioner
        self.aggregator = aggregator
        self.map_side_combine = map_side_combine and aggregator is not None
        self.shuffle_id = rdd.ctx._new_shuffle_id()
        cleaner = getattr(rdd.ctx, "_cleaner", None)  # the driver's ContextCleaner, if any
        if cleaner is not None:  # (copies unpickled on executors are not made here)
            cleaner.register_shuffle(self, self.shuffle_id)

    def __repr__(self) -> str:
        return f"ShuffleDependency(shuffle {self.shuffle_id}, {self.partitioner!r})"
