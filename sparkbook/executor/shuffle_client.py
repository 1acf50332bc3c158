"""ShuffleClient: a reduce task fetching map outputs directly from the executors that wrote
them (the cluster manager and the driver are never on this path)."""

from __future__ import annotations

import time
from collections.abc import Callable

import zmq

from sparkbook import messages as m
from sparkbook import wire
from sparkbook.errors import FetchFailedError

# Requests awaiting replies at once in one fetch: a reduce task reads from every executor
# holding map outputs in parallel, without flooding a large cluster.
MAX_REQS_IN_FLIGHT = 8


class ShuffleClient:
    """One DEALER per peer executor, owned by the task thread."""

    def __init__(self, zctx: zmq.Context, key: bytes, is_lost: Callable[[str], bool],
                 timeout: float) -> None:
        self._zctx = zctx
        self._key = key
        self._is_lost = is_lost
        self._timeout = timeout
        self._peers: dict[str, wire.Channel] = {}

    def fetch(self, app_id: str, shuffle_id: int, reduce_start: int, reduce_end: int,
              peers: list[tuple[str, str, list[int]]]) -> list[list[bytes]]:
        """Buckets ``[reduce_start, reduce_end)`` of the listed map outputs of each peer
        ``(executor id, address, map ids)``: per peer, its buckets in (reduce, map) order.
        One request per peer, at most ``MAX_REQS_IN_FLIGHT`` of them awaiting replies at
        once (Spark's ``spark.reducer.maxReqsInFlight``)."""
        results: list[list[bytes]] = [[] for _ in peers]
        pending = iter(range(len(peers)))
        in_flight: dict[zmq.Socket, tuple[int, wire.Channel, float]] = {}
        poller = zmq.Poller()

        def send_next() -> None:
            i = next(pending, None)
            if i is None:
                return
            _, address, map_ids = peers[i]
            channel = self._channel(address)
            channel.send(m.FetchShuffleBlocks(app_id, shuffle_id, map_ids, reduce_start,
                                              reduce_end))
            in_flight[channel.socket] = (i, channel, time.monotonic() + self._timeout)
            poller.register(channel.socket, zmq.POLLIN)

        for _ in range(MAX_REQS_IN_FLIGHT):
            send_next()
        try:
            while in_flight:
                for sock, _ in poller.poll(100):
                    i, channel, _ = in_flight[sock]
                    frames = self._reply(channel, peers[i][0], shuffle_id, reduce_start,
                                         reduce_end - reduce_start)
                    if frames is not None:
                        results[i] = frames
                        poller.unregister(sock)
                        del in_flight[sock]
                        send_next()
                now = time.monotonic()
                for i, _, deadline in in_flight.values():
                    executor_id, _, map_ids = peers[i]
                    if self._is_lost(executor_id):
                        raise FetchFailedError(executor_id, shuffle_id, map_ids[0],
                                               "executor lost")
                    if now > deadline:
                        raise FetchFailedError(executor_id, shuffle_id, map_ids[0],
                                               f"no answer in {self._timeout:.0f} s")
        except FetchFailedError:
            # The task gives up on every request still out: none of their late replies
            # may reach a later fetch.
            for i, _, _ in in_flight.values():
                self._drop(peers[i][1])
            raise
        return results

    @staticmethod
    def _reply(channel: wire.Channel, executor_id: str, shuffle_id: int, reduce_start: int,
               width: int) -> list[bytes] | None:
        """The buckets of the awaited reply, in (reduce, map) order; None for anything else
        on the socket."""
        envelope = channel.recv()
        reply = envelope.message if envelope is not None else None
        if not isinstance(reply, m.ShuffleBlocks):
            return None
        if reply.shuffle_id != shuffle_id or reply.reduce_start != reduce_start:
            return None  # a late reply to an earlier, abandoned request
        if reply.missing is not None:
            raise FetchFailedError(executor_id, shuffle_id, reply.missing,
                                   "the executor no longer has this map output")
        per_map = []
        for i, frame in enumerate(envelope.frames):
            joined, offset, buckets = frame.bytes, 0, []
            for size in reply.sizes[i * width:(i + 1) * width]:
                buckets.append(joined[offset:offset + size])
                offset += size
            per_map.append(buckets)
        return [buckets[r] for r in range(width) for buckets in per_map]

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
