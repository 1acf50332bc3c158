"""Exchanges: shuffles whose blocks are Arrow IPC bytes, through the RDD API.

The map side turns each task's batches into a few ``(reduce partition, IPC bytes)``
records, one per non-empty reduce partition, and ``partitionBy(n, identity)`` moves them
executor to executor like any other shuffle; the reduce side reads its IPC blocks back
into batches. Partitionings: ``hashpartitioning(keys, n)`` (a vectorised 64-bit hash of
the key columns, the same in every process, modulo ``n``), ``SinglePartition`` and
``rangepartitioning(order, n)`` (bounds from a sample of the keys, as Spark samples them).
``BroadcastExchange`` collects a small side on the driver and ``sc.broadcast``s its IPC.

Adaptive coalescing (``spark.sql.adaptive.coalescePartitions.enabled``, on by default as
in Spark 3.2+): the map stage runs first as a job of its own (``sc.submitMapStage``, as
Spark's query stages do), whose result is the bytes the map side wrote per reduce
partition (from the map output tracker); neighbouring small partitions are then read
together by one task, toward Spark's target size. The two sides of a join are submitted
together, so their map stages run at once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.execution import sortkeys
from sparkbook.sql.execution.arrow import one_array
from sparkbook.sql.execution.evaluate import BatchEvaluator

if TYPE_CHECKING:
    from sparkbook.driver.context import SparkContext
    from sparkbook.driver.jobwaiter import SimpleFutureAction
    from sparkbook.rdd import RDD

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: neighbouring keys land far apart."""
    with np.errstate(over="ignore"):
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return h ^ (h >> np.uint64(31))


def _hash_column(col: pa.Array) -> np.ndarray:
    """A 64-bit hash per value that depends only on the value (never on the process:
    Python's salted ``hash()`` would send one key to two partitions)."""
    col = one_array(col)
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if pa.types.is_string(t) or pa.types.is_binary(t) or pa.types.is_large_string(t):
        h = _hash_bytes(col)
    elif pa.types.is_floating(t):
        values = pc.fill_null(col.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        values = np.where(values == 0.0, 0.0, values)  # -0.0 equals 0.0
        h = values.view(np.uint64).copy()
    elif pa.types.is_boolean(t) or pa.types.is_integer(t):
        h = pc.fill_null(col.cast(pa.int64()), 0).to_numpy(zero_copy_only=False).view(np.uint64)
    else:  # dates, timestamps, decimals, nested: by their text, slower but the same everywhere
        h = _hash_bytes(pc.cast(col, pa.string()) if not pa.types.is_nested(t) else
                        pa.array([str(v) for v in col.to_pylist()]))
    h = _mix(h.astype(np.uint64))
    return np.where(col.is_valid().to_numpy(zero_copy_only=False), h, np.uint64(42))


def _hash_bytes(col: pa.Array) -> np.ndarray:
    """A polynomial hash of each string's bytes, computed over the whole buffer at once."""
    col = pc.fill_null(col.cast(pa.binary()), b"")
    offsets = np.frombuffer(col.buffers()[1], np.int32)[col.offset:col.offset + len(col) + 1]
    data = np.frombuffer(col.buffers()[2], np.uint8) if col.buffers()[2] else np.zeros(0, np.uint8)
    start, end = int(offsets[0]), int(offsets[-1])
    lengths = np.diff(offsets)
    out = np.zeros(len(col), np.uint64)
    if end > start:
        chunk = data[start:end].astype(np.uint64)
        pos = np.arange(end - start) - np.repeat(offsets[:-1] - start, lengths)
        with np.errstate(over="ignore"):
            powers = np.cumprod(np.full(int(lengths.max()), np.uint64(1099511628211)),
                                dtype=np.uint64)
            # A trailing zero lets empty strings at the end start a (zero) sum of their own.
            terms = np.append(chunk * powers[pos], np.uint64(0))
            sums = np.add.reduceat(terms, offsets[:-1] - start)
        out = np.where(lengths > 0, sums, 0).astype(np.uint64)
    with np.errstate(over="ignore"):
        return out + lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)


def hash_buckets(columns: list[pa.Array], n: int) -> np.ndarray:
    h = np.full(len(columns[0]) if columns else 0, np.uint64(17))
    with np.errstate(over="ignore"):
        for col in columns:
            h = _mix(h * np.uint64(31) + _hash_column(col))
    return (h % np.uint64(n)).astype(np.int64)


def to_ipc(batches: list[pa.RecordBatch] | pa.Table) -> bytes:
    table = batches if isinstance(batches, pa.Table) else pa.Table.from_batches(batches)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


class ArrowBlock(bytes):
    """An exchange's block: Arrow IPC bytes that know how many rows they hold, so that the
    shuffle's record counts are rows, as Spark's are."""

    num_rows: int = 0


def from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all()


class Partitioning:
    """How an exchange places rows: ``bucket`` gives each row's reduce partition."""

    num_partitions = 1

    def describe(self, ids: bool) -> str:
        return "SinglePartition"

    def buckets(self, ev: BatchEvaluator, batch: pa.RecordBatch) -> np.ndarray:
        return np.zeros(batch.num_rows, np.int64)


class HashPartitioning(Partitioning):
    def __init__(self, keys: list[e.Expression], n: int) -> None:
        self.keys, self.num_partitions = keys, n

    def describe(self, ids: bool) -> str:
        keys = ", ".join(k.explain() if ids else k.sql() for k in self.keys)
        return f"hashpartitioning({keys}, {self.num_partitions})"

    def buckets(self, ev: BatchEvaluator, batch: pa.RecordBatch) -> np.ndarray:
        return hash_buckets([ev.column(k, batch) for k in self.keys], self.num_partitions)


class RoundRobinPartitioning(Partitioning):
    """``repartition(n)``: rows dealt to the partitions in turn."""

    def __init__(self, n: int) -> None:
        self.num_partitions = n
        self.dealt = 0  # rows this task has dealt so far

    def describe(self, ids: bool) -> str:
        return f"RoundRobinPartitioning({self.num_partitions})"

    def buckets(self, ev: BatchEvaluator, batch: pa.RecordBatch) -> np.ndarray:
        out = (np.arange(batch.num_rows) + self.dealt) % self.num_partitions
        self.dealt += batch.num_rows
        return out


class RangePartitioning(Partitioning):
    """Rows before bound ``i`` (in the sort order) go to partition ``i``."""

    def __init__(self, order: list[e.SortOrder], n: int) -> None:
        self.order, self.num_partitions = order, n
        self.bounds: pa.Table | None = None  # set by sampling, before the map stage runs

    def describe(self, ids: bool) -> str:
        keys = ", ".join(o.explain() if ids else o.sql() for o in self.order)
        return f"rangepartitioning({keys}, {self.num_partitions})"

    def key_table(self, ev: BatchEvaluator, batch: pa.RecordBatch) -> pa.Table:
        return pa.table({str(i): ev.column(o.child, batch) for i, o in enumerate(self.order)})

    def buckets(self, ev: BatchEvaluator, batch: pa.RecordBatch) -> np.ndarray:
        keys = self.key_table(ev, batch)
        if self.bounds is None or self.bounds.num_rows == 0:
            return np.zeros(batch.num_rows, np.int64)
        bounds = self.bounds.cast(keys.schema)
        packed = sortkeys.pack([bounds, keys], self.order)
        if packed is not None:  # a row's partition is the number of bounds at or below it
            return np.searchsorted(packed[0], packed[1], side="right").astype(np.int64)
        both = pa.concat_tables([bounds, keys])
        nb = bounds.num_rows
        # Sort bounds and rows together (bounds first among equals, the sort is stable):
        # a row's partition is the number of bounds sorted before it.
        order = pc.sort_indices(both, sort_keys=sortkeys.arrow_sort_keys(self.order)).to_numpy()
        is_bound = order < nb
        before = np.cumsum(is_bound)
        out = np.empty(batch.num_rows, np.int64)
        rows = ~is_bound
        out[order[rows] - nb] = before[rows]
        return out


def split_batches(inputs: list[e.AttributeReference], partitioning: Partitioning,
                  batches: Iterator[pa.RecordBatch]) -> Iterator[tuple[int, bytes]]:
    """The map side: each row to its reduce partition, one IPC block per partition."""
    ev = BatchEvaluator(inputs)
    n = partitioning.num_partitions
    parts: dict[int, list[pa.RecordBatch]] = {}
    schemas: list[pa.Schema] = []
    for batch in batches:
        if batch.num_rows == 0:
            continue
        if not schemas or batch.schema != schemas[0]:
            schemas.append(batch.schema)
        if n == 1:
            parts.setdefault(0, []).append(batch)
            continue
        buckets = partitioning.buckets(ev, batch)
        # numpy's stable sort of integers of 16 bits or less is a radix sort: linear, and
        # ten times faster than sorting the int64 bucket numbers (2.5M rows: 20 vs 200 ms).
        order = np.argsort(buckets.astype(np.int16) if n <= np.iinfo(np.int16).max
                           else buckets, kind="stable")
        counts = np.bincount(buckets, minlength=n)
        ordered = batch.take(pa.array(order))
        start = 0
        for b in np.nonzero(counts)[0]:
            parts.setdefault(int(b), []).append(ordered.slice(start, int(counts[b])))
            start += int(counts[b])
    # One schema, without dictionaries (whose values are messages of their own): each
    # block is that schema's message, serialized once, then its batches' messages; 200
    # stream writers took 2 of a Q1 map task's 40 ms.
    head = schemas[0].serialize().to_pybytes() if len(schemas) == 1 and not any(
        pa.types.is_dictionary(f.type) for f in schemas[0]) else None
    for b, chunks in parts.items():
        block = ArrowBlock(to_ipc(chunks) if head is None else b"".join(
            [head, *(c.serialize() for c in chunks), _EOS]))
        block.num_rows = sum(c.num_rows for c in chunks)
        yield b, block


_EOS = b"\xff\xff\xff\xff\x00\x00\x00\x00"  # an IPC stream's end
SMALL_BLOCK = 1 << 16  # bytes


def read_blocks(records: Iterator[tuple[int, bytes]]) -> Iterator[pa.RecordBatch]:
    """The reduce side: the IPC blocks this task fetched, as batches. Neighbouring small
    blocks of one schema are read as one stream (their schema messages but the first, and
    their ends but the last, cut out): opening Q1's 400 tiny streams one by one took 4.4
    of its reduce task's 7 ms. A large block is read on its own, without a copy."""
    head, bodies = b"", []
    for _, block in records:
        n = _schema_length(block) if len(block) <= SMALL_BLOCK else 0
        if bodies and (not n or block[:n] != head):
            yield from _read_stream(head, bodies)
            head, bodies = b"", []
        if not n:
            yield from from_ipc(block).to_batches()
        elif not bodies and any(pa.types.is_dictionary(f.type) for f in
                                pa.ipc.read_schema(pa.py_buffer(block[:n]))):
            yield from from_ipc(block).to_batches()  # (its dictionaries are messages too)
        else:
            head = block[:n]
            bodies.append(memoryview(block)[n:len(block) - len(_EOS)])
    if bodies:
        yield from _read_stream(head, bodies)


def _schema_length(block: bytes) -> int:
    """The bytes of a stream's first message, its schema (a continuation marker, then the
    metadata's padded length, then the metadata; no body); 0 if the stream is not one of
    one schema message then batches."""
    if not block.startswith(b"\xff\xff\xff\xff") or not block.endswith(_EOS):
        return 0
    return 8 + int.from_bytes(block[4:8], "little")


def _read_stream(head: bytes, bodies: list[memoryview]) -> Iterator[pa.RecordBatch]:
    yield from pa.ipc.open_stream(b"".join([head, *bodies, _EOS]))


def _identity(key: int) -> int:
    return key


def coalesce_groups(sizes: list[int], target: int) -> list[list[int]]:
    """Neighbouring reduce partitions, grouped while a group stays within ``target``
    bytes (Spark's ShufflePartitionsUtil, without its merging of a small last group)."""
    groups: list[list[int]] = []
    current: list[int] = []
    total = 0
    for i, size in enumerate(sizes):
        if current and total + size > target:
            groups.append(current)
            current, total = [], 0
        current.append(i)
        total += size
    if current:
        groups.append(current)
    return groups


def target_size(sc: SparkContext, sizes: list[int], settings: dict[str, str]) -> int:
    """Spark's target: the advisory size, but with ``parallelismFirst`` (the default) no
    bigger than an even share per core, and never below the minimum partition size."""
    advisory = _bytes(settings.get("spark.sql.adaptive.advisoryPartitionSizeInBytes", "64m"))
    minimum = _bytes(settings.get("spark.sql.adaptive.coalescePartitions.minPartitionSize",
                                  "1m"))
    share = -(-sum(sizes) // max(1, sc.defaultParallelism))
    return max(min(share, advisory), minimum)


def _bytes(text: str) -> int:
    text = str(text).strip().lower().rstrip("b")
    scale = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(text[-1:], 1)
    return int(float(text.rstrip("kmg")) * scale)


def shuffle(sc: SparkContext, rdd: RDD, inputs: list[e.AttributeReference],
            partitioning: Partitioning, name: str, adaptive: bool) -> MapStage:
    """The shuffled RDD of ``(partition, IPC block)`` records; with adaptive execution,
    its map stage submitted as a job of its own (``MapStage.sizes`` waits for it)."""
    keyed = rdd.mapPartitions(functools.partial(split_batches, inputs, partitioning))
    keyed.op = name  # the map stage is named for what it does
    shuffled = keyed.partitionBy(partitioning.num_partitions, _identity)
    if not (adaptive and partitioning.num_partitions > 1):
        return MapStage(shuffled, None)
    return MapStage(shuffled, sc.submitMapStage(shuffled.deps[0]))


class MapStage:
    """A shuffle and, when adaptive execution submitted its map stage, that job."""

    def __init__(self, shuffled: RDD, job: SimpleFutureAction | None) -> None:
        self.shuffled, self.job = shuffled, job

    def sizes(self) -> list[int] | None:
        """Bytes per reduce partition, once the map stage has run (None: not adaptive)."""
        return None if self.job is None else self.job.get().bytes_by_partition_id

    def cancel(self, reason: str) -> None:
        """Cancel the map stage's job, if it still runs."""
        if self.job is not None:
            self.job.cancel(reason)


def adaptive_enabled(settings: dict[str, str]) -> bool:
    return (settings.get("spark.sql.adaptive.enabled", "true").lower() == "true" and
            settings.get("spark.sql.adaptive.coalescePartitions.enabled", "true").lower()
            == "true")


def read_coalesced(sc: SparkContext, shuffled: RDD, groups: list[list[int]] | None) -> RDD:
    from sparkbook.rdd.kinds import CoalescedRDD

    if groups is not None:
        shuffled = CoalescedRDD(shuffled, len(groups), groups)
    return shuffled.mapPartitions(read_blocks)


class job_name:
    """Name the jobs started inside (``callSite.short``: "what at where")."""

    def __init__(self, sc: SparkContext, what: str) -> None:
        from sparkbook.driver.callsite import user_callsite

        self.sc, self.site = sc, f"{what} at {user_callsite()}"

    def __enter__(self) -> None:
        self.previous = self.sc.getLocalProperty("callSite.short")
        self.sc.setLocalProperty("callSite.short", self.site)

    def __exit__(self, *exc: object) -> None:
        self.sc.setLocalProperty("callSite.short", self.previous)


def sample_bounds(sc: SparkContext, rdd: RDD, inputs: list[e.AttributeReference],
                  part: RangePartitioning, name: str) -> None:
    """Spark's RangePartitioner: about 20 keys per reduce partition sampled from every map
    partition (up to 1M in all), sorted on the driver and cut into even bounds."""
    n = part.num_partitions
    per_partition = int(np.ceil(3.0 * min(20 * n, 1_000_000) / max(1, rdd.getNumPartitions())))
    f = functools.partial(_sample, inputs, part, per_partition)
    with job_name(sc, name):
        blocks = rdd.mapPartitions(f).collect()
    tables = [from_ipc(b) for b in blocks]
    if not tables:
        part.bounds = None
        return
    keys = pa.concat_tables(tables)
    ordered = keys.take(pc.sort_indices(keys, sort_keys=sortkeys.arrow_sort_keys(part.order)))
    step = ordered.num_rows / n
    picks = sorted({min(ordered.num_rows - 1, int(step * (i + 1))) for i in range(n - 1)})
    part.bounds = ordered.take(pa.array(picks, pa.int64())) if ordered.num_rows else None


def _sample(inputs: list[e.AttributeReference], part: RangePartitioning, k: int,
            batches: Iterator[pa.RecordBatch]) -> Iterator[bytes]:
    ev = BatchEvaluator(inputs)
    tables = [part.key_table(ev, b) for b in batches if b.num_rows]
    if not tables:
        return
    keys = pa.concat_tables(tables)
    if keys.num_rows > k:
        rng = np.random.default_rng(keys.num_rows)
        keys = keys.take(pa.array(np.sort(rng.choice(keys.num_rows, k, replace=False))))
    yield to_ipc(keys)


def broadcast_ipc(sc: SparkContext, rdd: RDD, name: str, schema: pa.Schema):
    """Collect a small side on the driver and broadcast it as one IPC block."""
    with job_name(sc, name):
        batches = rdd.collect()
    table = pa.Table.from_batches(batches, schema) if batches else schema.empty_table()
    return sc.broadcast(to_ipc(table))
