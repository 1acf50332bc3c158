"""BlockManager: an executor's store of cached partitions, shuffle outputs and broadcasts.

Blocks live in memory first, in least-recently-used order. When a new block would push
memory use past the limit, the oldest blocks make room: shuffle outputs, broadcasts and
``MEMORY_AND_DISK`` partitions spill to the executor's local directory; ``MEMORY_ONLY``
partitions are dropped (the driver is told, and recomputes them from lineage when next
needed). The block server thread and the task thread share the store, so every public
method holds the lock.

The limit is the process's too: given ``rss`` (the process's resident memory), the store
treats RSS above the limit as memory pressure and makes as much room again, so that
tasks' own memory and the interpreter's push blocks out of memory instead of pushing the
process past its limit (``relieve_pressure`` does so between puts).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import os
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sparkbook.executor.blockid import BlockId, BroadcastBlockId, RDDBlockId, ShuffleBlockId
from sparkbook.storagelevel import StorageLevel


@dataclass
class _Block:
    parts: list  # one bytes object, or one per reduce partition for a shuffle output
    size: int
    can_spill: bool
    path: str | None = None  # set once the block lives on disk


class BlockManager:
    """Memory-first block store with spill to local disk."""

    def __init__(self, memory_limit: int, local_dir: str,
                 rss: Callable[[], int] | None = None) -> None:
        self.memory_limit = memory_limit
        self._rss = rss
        self.local_dir = local_dir
        os.makedirs(local_dir, exist_ok=True)
        self.memory_used = 0
        self.disk_used = 0
        self.bytes_spilled = 0
        self._memory: OrderedDict[BlockId, _Block] = OrderedDict()
        self._disk: dict[BlockId, _Block] = {}
        self._dropped: list[RDDBlockId] = []
        self._lock = threading.Lock()
        self._serial = 0

    # --- writing -------------------------------------------------------------------

    def put(self, block_id: BlockId, data: bytes, level: StorageLevel) -> bool:
        """Store one serialized block at ``level``; False when it could not be kept."""
        return self._put(block_id, [data], level.useMemory, level.useDisk)

    def put_shuffle_output(self, block_id: ShuffleBlockId, buckets: list[bytes]) -> None:
        """A map task's buckets; these are never dropped, only spilled."""
        self._put(block_id, buckets, True, True)

    def put_broadcast(self, block_id: BroadcastBlockId, data: bytes) -> None:
        self._put(block_id, [data], True, True)

    def _put(self, block_id: BlockId, parts: list, use_memory: bool, use_disk: bool) -> bool:
        size = sum(len(p) for p in parts)
        with self._lock:
            self._remove_locked(block_id)
            block = _Block(parts, size, use_disk)
            if use_memory and size <= self.memory_limit:
                budget = self._make_room(size)
                if self.memory_used + size <= budget:
                    self._memory[block_id] = block
                    self.memory_used += size
                    return True
            if use_disk:
                self._write_to_disk(block_id, block)
                return True
            return False

    def _budget(self) -> int:
        """What blocks may hold in memory now: the limit, or, when the process's RSS is
        over it, what they hold less the excess."""
        over = self._rss() - self.memory_limit if self._rss is not None else 0
        return self.memory_limit if over <= 0 else max(0, self.memory_used - over)

    def _make_room(self, size: int) -> int:
        """Spill or drop the least recently used blocks until ``size`` more bytes fit in
        the budget (or memory is empty); the budget."""
        budget = self._budget()
        while self._memory and self.memory_used + size > budget:
            victim_id, victim = self._memory.popitem(last=False)
            self.memory_used -= victim.size
            if victim.can_spill:
                self.bytes_spilled += victim.size
                self._write_to_disk(victim_id, victim)
            elif isinstance(victim_id, RDDBlockId):
                self._dropped.append(victim_id)
        return budget

    def relieve_pressure(self) -> bool:
        """Between puts: when RSS is over the limit, spill or drop blocks as for a put,
        and hand freed memory back to the system; whether anything left memory."""
        if self._rss is None:
            return False
        with self._lock:
            held = self.memory_used
            self._make_room(0)
            relieved = self.memory_used < held
        if relieved:
            _trim_heap()
        return relieved

    def _write_to_disk(self, block_id: BlockId, block: _Block) -> None:
        self._serial += 1
        path = os.path.join(self.local_dir, f"block-{self._serial}")
        with open(path, "wb") as f:
            for part in block.parts:
                f.write(part)
        lengths = [len(p) for p in block.parts]
        block.parts = lengths
        block.path = path
        self._disk[block_id] = block
        self.disk_used += block.size

    # --- reading -------------------------------------------------------------------

    def get(self, block_id: BlockId) -> bytes | None:
        parts = self._get_parts(block_id, None)
        return None if parts is None else parts[0]

    def get_shuffle_bucket(self, block_id: ShuffleBlockId, reduce_id: int) -> bytes | None:
        parts = self._get_parts(block_id, reduce_id)
        return None if parts is None else parts[0]

    def _get_parts(self, block_id: BlockId, index: int | None) -> list | None:
        with self._lock:
            block = self._memory.get(block_id)
            if block is not None:
                self._memory.move_to_end(block_id)
                return [block.parts[0 if index is None else index]]
            block = self._disk.get(block_id)
            if block is None:
                return None
            lengths = block.parts
            start = sum(lengths[:index]) if index is not None else 0
            length = lengths[index] if index is not None else block.size
        with open(block.path, "rb") as f:
            f.seek(start)
            return [f.read(length)]

    def contains(self, block_id: BlockId) -> bool:
        with self._lock:
            return block_id in self._memory or block_id in self._disk

    # --- removing ------------------------------------------------------------------

    def remove(self, block_id: BlockId) -> None:
        with self._lock:
            self._remove_locked(block_id)

    def remove_matching(self, kind: type[BlockId], app_id: str,
                        **fields: object) -> list[BlockId]:
        """Remove the application's blocks of type ``kind`` (``BlockId``: of every type)
        whose fields equal ``fields``, e.g. ``(RDDBlockId, app, rdd_id=3)``; their ids."""
        known = {f.name for f in dataclasses.fields(kind)} if kind is not BlockId else set()
        if not fields.keys() <= known:
            raise TypeError(f"{kind.__name__} has no field {sorted(fields.keys() - known)}")
        wanted = tuple(fields.items())

        def matches(b: BlockId) -> bool:
            return isinstance(b, kind) and b.app_id == app_id and all(
                getattr(b, name) == value for name, value in wanted)

        with self._lock:
            victims = [b for b in [*self._memory, *self._disk] if matches(b)]
            for block_id in victims:
                self._remove_locked(block_id)
            # A dropped block that is gone for good is no news to its driver.
            self._dropped = [b for b in self._dropped if not matches(b)]
        return victims

    def _remove_locked(self, block_id: BlockId) -> None:
        block = self._memory.pop(block_id, None)
        if block is not None:
            self.memory_used -= block.size
        block = self._disk.pop(block_id, None)
        if block is not None:
            self.disk_used -= block.size
            try:
                os.unlink(block.path)
            except OSError:
                pass

    def take_dropped(self, app_id: str) -> list[RDDBlockId]:
        """The application's cached partitions dropped from memory since the last call (to
        tell its driver, which alone can use the news)."""
        with self._lock:
            dropped = [b for b in self._dropped if b.app_id == app_id]
            if dropped:
                self._dropped = [b for b in self._dropped if b.app_id != app_id]
        return dropped

    def clear(self) -> None:
        with self._lock:
            self._memory.clear()
            self._disk.clear()
            self._dropped.clear()
            self.memory_used = self.disk_used = 0
        shutil.rmtree(self.local_dir, ignore_errors=True)
        os.makedirs(self.local_dir, exist_ok=True)


_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or None)


def _trim_heap() -> None:
    """Return the C heap's free pages to the system (glibc keeps them otherwise, and
    they still count in RSS)."""
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)
