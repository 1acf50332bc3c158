"""Running one task on an executor: ShuffleMapTask or ResultTask.

A task arrives as its stage's binary (the cloudpickled RDD lineage and either the
result function or the shuffle dependency) and its own partition. The binary is
unpickled afresh for every task, as Spark does, so that each task gets its own copies of
captured state and accumulators.
"""

from __future__ import annotations

import contextlib
import cProfile
import pickle
import time
import traceback
from collections.abc import Callable, Iterator

import cloudpickle

from sparkbook import PACKAGE_DIR, accumulators, serializers
from sparkbook import messages as m
from sparkbook.errors import FetchFailedError, TaskKilledError
from sparkbook.executor.blockid import RDDBlockId, ShuffleBlockId
from sparkbook.executor.blockmanager import BlockManager
from sparkbook.executor.captured_output import CapturedOutput
from sparkbook.executor.shuffle_client import ShuffleClient
from sparkbook.executor.shuffle_writer import count_records, write_map_output
from sparkbook.metrics import TaskMetrics
from sparkbook.taskcontext import TaskContext


class ExecutorTaskContext(TaskContext):
    """TaskContext plus the executor services an RDD's compute() needs."""

    def __init__(self, desc: m.LaunchTask, executor_id: str, blocks: BlockManager,
                 shuffle_client: ShuffleClient) -> None:
        super().__init__(desc.stage_id, desc.stage_attempt, desc.partition, desc.attempt,
                         desc.task_id, desc.properties or {})
        self.app_id = desc.app_id
        self.executor_id = executor_id
        self.metrics = TaskMetrics()
        self.block_updates: list[tuple[int, int, int]] = []
        self.shuffle_reads: dict[int, list[int]] = {}  # shuffle id -> [bytes, records]
        self._blocks = blocks
        self._shuffle_client = shuffle_client
        self._locations = desc.shuffle_locations or {}
        # (shuffle id, reduce id) -> fetched ahead by prefetch_shuffle, until read
        self._prefetched: dict[tuple[int, int], tuple[list[bytes], int]] = {}

    def get_or_compute(self, rdd, split) -> Iterator:
        """A persisted RDD's partition: read it from the block store, or compute and keep it."""
        block_id = RDDBlockId(self.app_id, rdd.rdd_id, split.index)
        data = self._blocks.get(block_id)
        if data is not None:
            self.metrics.cache_hits += 1
            return iter(pickle.loads(data))
        records = list(rdd.compute(split, self))
        data = serializers.dumps(records)
        if self._blocks.put(block_id, data, rdd.getStorageLevel()):
            self.block_updates.append((rdd.rdd_id, split.index, len(data)))
        return iter(records)

    def prefetch_shuffle(self, shuffle_id: int, reduce_ids: list[int]) -> None:
        """Fetch reduce partitions this task will read, one request per executor per run
        of neighbouring ones (a coalesced read), instead of one per partition."""
        for start, end in _runs(reduce_ids):
            for reduce_id, fetched in enumerate(self._fetch_range(shuffle_id, start, end),
                                                start):
                self._prefetched[(shuffle_id, reduce_id)] = fetched

    def fetch_shuffle(self, shuffle_id: int, reduce_id: int) -> Iterator[list]:
        """Bucket ``reduce_id`` of every map output of the shuffle, one list per map task."""
        fetched = self._prefetched.pop((shuffle_id, reduce_id), None)
        if fetched is None:
            [fetched] = self._fetch_range(shuffle_id, reduce_id, reduce_id + 1)
        blobs, remote = fetched
        self.metrics.shuffle_remote_bytes += remote
        size = sum(map(len, blobs))
        self.metrics.shuffle_read_bytes += size
        read = self.shuffle_reads.setdefault(shuffle_id, [0, 0])
        read[0] += size
        return self._unpickle_counting(blobs, read)

    def _fetch_range(self, shuffle_id: int, start: int, end: int
                     ) -> list[tuple[list[bytes], int]]:
        """Per reduce partition in ``[start, end)``: its buckets in map output order, and
        how many of their bytes came from other executors."""
        started = time.perf_counter()
        locations = self._locations.get(shuffle_id, [])
        remote = iter(self._shuffle_client.fetch(
            self.app_id, shuffle_id, start, end,
            [loc for loc in locations if loc[0] != self.executor_id]))
        width = end - start
        blobs: list[list[bytes]] = [[] for _ in range(width)]
        remote_bytes = [0] * width
        for executor_id, _, map_ids in locations:
            local = executor_id == self.executor_id
            frames = ([self._local_bucket(shuffle_id, map_id, reduce_id)
                       for reduce_id in range(start, end) for map_id in map_ids]
                      if local else next(remote))
            n = len(map_ids)
            for r in range(width):
                mine = frames[r * n:(r + 1) * n]
                blobs[r].extend(mine)
                if not local:
                    remote_bytes[r] += sum(map(len, mine))
        self.metrics.shuffle_fetch_wait_time += time.perf_counter() - started
        return list(zip(blobs, remote_bytes))

    def _local_bucket(self, shuffle_id: int, map_id: int, reduce_id: int) -> bytes:
        blob = self._blocks.get_shuffle_bucket(ShuffleBlockId(self.app_id, shuffle_id, map_id),
                                               reduce_id)
        if blob is None:
            raise FetchFailedError(self.executor_id, shuffle_id, map_id,
                                   "map output missing from local block store")
        return blob

    def _unpickle_counting(self, blobs: list[bytes], read: list[int]) -> Iterator[list]:
        for blob in blobs:
            if blob:
                records = pickle.loads(blob)
                n = count_records(records)
                self.metrics.shuffle_read_records += n
                read[1] += n
                yield records


def _runs(ids: list[int]) -> Iterator[tuple[int, int]]:
    """``[start, end)`` of each run of consecutive ids."""
    start = prev = None
    for i in ids:
        if prev is not None and i != prev + 1:
            yield start, prev + 1
            start = None
        if start is None:
            start = i
        prev = i
    if start is not None:
        yield start, prev + 1


def run_task(desc: m.LaunchTask, binary: bytes, split_blob: bytes, executor_id: str,
             blocks: BlockManager, shuffle_client: ShuffleClient,
             prepare: Callable[[], None] = lambda: None) -> tuple[m.StatusUpdate, list]:
    """Run one task to completion: its StatusUpdate and result frames. ``prepare`` readies
    the process for the task's application before its closures are unpickled."""
    started, cpu_started = time.perf_counter(), time.thread_time()
    context = ExecutorTaskContext(desc, executor_id, blocks, shuffle_client)
    metrics = context.metrics
    TaskContext._set(context)
    accumulators.start_task_registry()
    update = m.StatusUpdate(desc.task_id, executor_id, m.Success(), metrics)
    frames: list = []
    # spark.python.profile: the task's profile goes back like an accumulator update.
    profiler = cProfile.Profile() if desc.profile else None
    # What the task prints goes back to the driver (only this thread writes while it runs).
    printed = CapturedOutput()
    redirect = contextlib.ExitStack()
    redirect.enter_context(contextlib.redirect_stdout(printed))
    redirect.enter_context(contextlib.redirect_stderr(printed))
    try:
        prepare()
        if profiler is not None:
            profiler.enable()
        rdd, action = cloudpickle.loads(binary)
        split = pickle.loads(split_blob)
        metrics.executor_deserialize_time = time.perf_counter() - started
        records = rdd.iterator(split, context)
        if desc.kind == "result":
            frames = serializers.dumps_batches(action(records))
            metrics.result_size = sum(map(len, frames))
        else:
            written = write_map_output(records, action, split.index)
            blocks.put_shuffle_output(ShuffleBlockId(context.app_id, action.shuffle_id,
                                                     split.index), written.buckets)
            sizes = [len(b) for b in written.buckets]
            metrics.shuffle_write_bytes = sum(sizes)
            metrics.shuffle_write_records = sum(written.records)
            update.sizes, update.records = sizes, written.records
            update.hot_keys = written.hot_keys
    except FetchFailedError as exc:
        update.reason = m.FetchFailed(exc.executor_id, exc.shuffle_id, exc.map_id, str(exc))
    except TaskKilledError:
        update.reason = m.TaskKilled("killed by driver")
    except BaseException as exc:  # noqa: BLE001 - every user error goes back to the driver
        update.reason = describe_exception(exc)
    finally:
        redirect.close()
        if profiler is not None:
            profiler.disable()
        updates = accumulators.finish_task_registry()
        TaskContext._set(None)
    succeeded = isinstance(update.reason, m.Success)
    if profiler is not None and succeeded:
        profiler.create_stats()
        updates[(accumulators.PROFILE, rdd.rdd_id)] = profiler.stats
    metrics.executor_run_time = time.perf_counter() - started
    metrics.executor_cpu_time = time.thread_time() - cpu_started
    update.block_updates = context.block_updates
    update.shuffle_reads = [(sid, b, r) for sid, (b, r) in context.shuffle_reads.items()]
    update.output, update.output_dropped = printed.finish()
    if succeeded and updates:
        update.accumulators = serializers.dumps(updates)
    return update, frames if succeeded else []


def describe_exception(exc: BaseException) -> m.ExceptionFailure:
    """The remote exception's type, message and a traceback of the user's frames."""
    frames = traceback.extract_tb(exc.__traceback__)
    # Show the user's frames; sparkbook's own only when the error arose inside them.
    frames = [f for f in frames if not f.filename.startswith(PACKAGE_DIR)] or frames
    text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames))
    text += "".join(traceback.format_exception_only(type(exc), exc))
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else (
        f"{kind.__module__}.{kind.__qualname__}")
    return m.ExceptionFailure(name, str(exc), text)
