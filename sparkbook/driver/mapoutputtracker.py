"""MapOutputTracker: where each map task's shuffle output lives, and how big each bucket is."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class MapStatus:
    executor_id: str
    sizes: list[int]  # bytes per reduce partition
    records: list[int] | None = None  # records per reduce partition


@dataclass(frozen=True)
class MapOutputStatistics:
    """What a shuffle's map stage wrote: bytes (and records) per reduce partition, summed
    over its map outputs (Spark's MapOutputStatistics, which adaptive execution reads)."""

    shuffle_id: int
    bytes_by_partition_id: list[int]
    records_by_partition_id: list[int]


class MapOutputTracker:
    """Shuffle id -> one MapStatus (or None while missing) per map partition."""

    def __init__(self) -> None:
        self._outputs: dict[int, list[MapStatus | None]] = {}

    def register_shuffle(self, shuffle_id: int, num_maps: int) -> None:
        self._outputs.setdefault(shuffle_id, [None] * num_maps)

    def register_map_output(self, shuffle_id: int, map_id: int, status: MapStatus) -> None:
        self._outputs[shuffle_id][map_id] = status

    def unregister_map_output(self, shuffle_id: int, map_id: int, executor_id: str) -> None:
        outputs = self._outputs.get(shuffle_id)
        if outputs and outputs[map_id] is not None and outputs[map_id].executor_id == executor_id:
            outputs[map_id] = None

    def remove_outputs_on_executor(self, executor_id: str) -> list[int]:
        """Forget every output an executor held; the shuffle ids that lost something."""
        touched = []
        for shuffle_id, outputs in self._outputs.items():
            for map_id, status in enumerate(outputs):
                if status is not None and status.executor_id == executor_id:
                    outputs[map_id] = None
                    if not touched or touched[-1] != shuffle_id:
                        touched.append(shuffle_id)
        return touched

    def missing(self, shuffle_id: int) -> list[int]:
        return [i for i, s in enumerate(self._outputs.get(shuffle_id, [])) if s is None]

    def is_available(self, shuffle_id: int) -> bool:
        outputs = self._outputs.get(shuffle_id)
        return outputs is not None and all(s is not None for s in outputs)

    def locations(self, shuffle_id: int,
                  reduce_id: int | None) -> list[tuple[str, list[int]]] | None:
        """(executor, map ids) to fetch from; with ``reduce_id``, only non-empty buckets.
        None when some output is missing (the reader must not run on partial data)."""
        by_executor: dict[str, list[int]] = {}
        for map_id, status in enumerate(self._outputs.get(shuffle_id, [])):
            if status is None:
                return None
            if reduce_id is None or status.sizes[reduce_id]:
                by_executor.setdefault(status.executor_id, []).append(map_id)
        return list(by_executor.items())

    def statistics(self, shuffle_id: int, num_reducers: int) -> MapOutputStatistics:
        """The sizes of the registered map outputs of the shuffle, per reduce partition."""
        sizes, records = [0] * num_reducers, [0] * num_reducers
        for status in self._outputs.get(shuffle_id, []):
            if status is None:
                continue
            sizes = [a + b for a, b in zip(sizes, status.sizes)]
            if status.records is not None:
                records = [a + b for a, b in zip(records, status.records)]
        return MapOutputStatistics(shuffle_id, sizes, records)

    def written(self, shuffle_id: int) -> tuple[int, int]:
        """The bytes and records the registered map outputs of the shuffle hold."""
        outputs = [s for s in self._outputs.get(shuffle_id, []) if s is not None]
        return (sum(sum(s.sizes) for s in outputs),
                sum(sum(s.records or ()) for s in outputs))

    def shuffle_ids(self) -> list[int]:
        return list(self._outputs)

    def unregister_shuffle(self, shuffle_id: int) -> bool:
        """Forget the shuffle; whether it was known (then executors may hold its outputs)."""
        return self._outputs.pop(shuffle_id, None) is not None
