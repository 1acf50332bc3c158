"""SparkEnv: the executor's services that code outside ``executor/`` reaches, as Spark's.

An executor process makes one at start and installs it with ``SparkEnv.set``;
``SparkEnv.get()`` returns it there and ``None`` on the driver, whose services hang off
its SparkContext instead. Modules that run on both sides (``broadcast``, ``sparkfiles``)
import this module inside the function that needs it, so that a driver never loads
executor code.
"""

from __future__ import annotations

import os
import shutil
from typing import Any, ClassVar

from sparkbook import serializers
from sparkbook.executor.blockid import BlockId, BroadcastBlockId
from sparkbook.executor.blockmanager import BlockManager


class SparkEnv:
    """One executor's block store, its broadcast values and its SparkFiles folders."""

    _current: ClassVar[SparkEnv | None] = None

    def __init__(self, blocks: BlockManager) -> None:
        self.blocks = blocks
        # Unpickled once per executor, then shared by every later task (read on the task
        # thread, forgotten on the socket thread: single dict operations, atomic).
        self._broadcast_values: dict[str, Any] = {}
        self.shuffle_requests_served = 0  # FetchShuffleBlocks answered (socket thread)

    @classmethod
    def get(cls) -> SparkEnv | None:
        """This executor's environment; None on the driver."""
        return cls._current

    @classmethod
    def set(cls, env: SparkEnv | None) -> None:
        cls._current = env

    def broadcast_value(self, bid: str) -> Any:
        """The value of broadcast ``bid``; KeyError when this executor does not hold it."""
        try:
            return self._broadcast_values[bid]
        except KeyError:
            pass
        blob = self.blocks.get(BroadcastBlockId(bid))
        if blob is None:
            raise KeyError(bid)
        value = self._broadcast_values[bid] = serializers.loads(blob)
        return value

    def forget_broadcast(self, bid: str) -> None:
        """Drop broadcast ``bid``'s block and value (``RemoveBroadcast``)."""
        self.blocks.remove(BroadcastBlockId(bid))
        self._broadcast_values.pop(bid, None)

    def forget_application(self, app_id: str) -> None:
        """Drop the application's blocks, broadcast values and SparkFiles folder."""
        self.blocks.remove_matching(BlockId, app_id)
        shutil.rmtree(self.files_root(app_id), ignore_errors=True)
        for bid in list(self._broadcast_values):  # a copy: the task thread may add one
            if BroadcastBlockId(bid).app_id == app_id:
                self._broadcast_values.pop(bid, None)

    def clear(self) -> None:
        """Forget everything held (the manager had declared this executor lost)."""
        self.blocks.clear()
        self._broadcast_values.clear()

    def files_root(self, app_id: str) -> str:
        """The application's SparkFiles folder (Spark's ``SparkEnv.sparkFilesDir``)."""
        return os.path.join(self.blocks.local_dir, f"userFiles-{app_id}")
