"""ShuffleClient: a reduce task fetching map outputs directly from the executors that wrote
them (the cluster manager and the driver are never on this path)."""

from __future__ import annotations

import time
from collections.abc import Callable

import zmq

from sparkbook import messages as m
from sparkbook import wire
from sparkbook.errors import FetchFailedError


class ShuffleClient:
    """One DEALER per peer executor, owned by the task thread."""

    def __init__(self, zctx: zmq.Context, key: bytes, is_lost: Callable[[str], bool],
                 timeout: float) -> None:
        self._zctx = zctx
        self._key = key
        self._is_lost = is_lost
        self._timeout = timeout
        self._peers: dict[str, wire.Channel] = {}

    def fetch(self, executor_id: str, address: str, app_id: str, shuffle_id: int,
              map_ids: list[int], reduce_id: int) -> list[bytes]:
        """The bucket ``reduce_id`` of each listed map output held by one executor."""
        channel = self._channel(address)
        channel.send(m.FetchShuffleBlocks(app_id, shuffle_id, map_ids, reduce_id))
        deadline = time.monotonic() + self._timeout
        while True:
            if channel.socket.poll(100):
                envelope = channel.recv()
                reply = envelope.message if envelope is not None else None
                if not isinstance(reply, m.ShuffleBlocks):
                    continue
                if reply.shuffle_id != shuffle_id or reply.reduce_id != reduce_id:
                    continue  # a late reply to an earlier, abandoned request
                if reply.missing is not None:
                    raise FetchFailedError(executor_id, shuffle_id, reply.missing,
                                           "the executor no longer has this map output")
                return [f.bytes for f in envelope.frames]
            if self._is_lost(executor_id):
                self._drop(address)
                raise FetchFailedError(executor_id, shuffle_id, map_ids[0], "executor lost")
            if time.monotonic() > deadline:
                self._drop(address)
                raise FetchFailedError(executor_id, shuffle_id, map_ids[0],
                                       f"no answer in {self._timeout:.0f} s")

    def _channel(self, address: str) -> wire.Channel:
        channel = self._peers.get(address)
        if channel is None:
            sock = wire.make_socket(self._zctx, zmq.DEALER)
            sock.connect(address)
            channel = self._peers[address] = wire.Channel(sock, self._key, f"fetch {address}",
                                                          peer=address)
        return channel

    def _drop(self, address: str) -> None:
        channel = self._peers.pop(address, None)
        if channel is not None:
            channel.socket.close(0)

    def close(self) -> None:
        for address in list(self._peers):
            self._drop(address)
