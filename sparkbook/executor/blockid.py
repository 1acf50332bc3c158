"""Block ids: the names of what an executor's BlockManager holds, as Spark's ``BlockId``.

One executor serves many applications, so every id names its application (a broadcast's
id already does: ``app-...:3``). Ids are small frozen dataclasses: hashable dict keys that
a query matches by type and field (``BlockManager.remove_matching``), never by position.
"""

from __future__ import annotations

from dataclasses import dataclass


class BlockId:
    """Any block; ``app_id`` is the application it belongs to."""

    app_id: str


@dataclass(frozen=True)
class RDDBlockId(BlockId):
    """A cached partition: partition ``split_index`` of RDD ``rdd_id``."""

    app_id: str
    rdd_id: int
    split_index: int


@dataclass(frozen=True)
class ShuffleBlockId(BlockId):
    """The output of map task ``map_id`` of a shuffle: one bucket per reduce partition,
    stored together (Spark's shuffle data file); a reduce task reads one bucket of it."""

    app_id: str
    shuffle_id: int
    map_id: int


@dataclass(frozen=True)
class BroadcastBlockId(BlockId):
    """A broadcast's pickled value; ``broadcast_id`` is ``<app id>:<number>``."""

    broadcast_id: str

    @property
    def app_id(self) -> str:
        return self.broadcast_id.rpartition(":")[0]
