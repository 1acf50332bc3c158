"""The heartbeat sidecar: a small process that heartbeats for its executor.

A task holding the GIL in one long C call (a pathological regex, a huge allocation, a C
extension) stops every thread of its interpreter, so heartbeats sent by a thread would
stop too and the manager would declare a busy executor lost. The executor therefore
forks, before it makes any socket or thread, a sidecar that owns its own DEALER to the
manager and sends ``Heartbeat`` every ``HEARTBEAT_INTERVAL``:

* CPU and RSS it measures itself (psutil, on the executor's pid); the rest (executor id,
  block store, task counts, shuffle bytes) the executor publishes into a shared page
  (``SharedCounters``) whenever its socket thread runs;
* liveness means the executor process exists and can run: the sidecar stays silent while
  the executor is stopped (SIGSTOP, a debugger) and exits when it is gone (its end of a
  socket pair reads EOF), so a SIGKILLed or SIGSTOPped executor is still declared lost
  after ``--heartbeat-timeout``. A GIL-bound executor is alive, merely busy (as a JVM
  executor in a long computation is; speculation, not liveness, is Spark's cure);
* the manager's answers (``UnknownExecutor``) go back to the executor over the socket
  pair as one line each (``lost ID`` or ``forgot ID``);
* it reports an executor far over its memory limit: ``over_memory_limit`` in the
  metrics, and one log line each time the executor crosses ``over_limit(limit)``.

Its DEALER sets ``IMMEDIATE`` and never blocks: heartbeats due while the manager is away
are dropped, not queued to arrive in a burst when a restarted manager comes up.
"""

from __future__ import annotations

import logging
import mmap
import os
import secrets
import signal
import socket
import struct
import time

import psutil
import zmq

from sparkbook import messages as m
from sparkbook import wire
from sparkbook.metrics import ExecutorMetrics

log = logging.getLogger("sparkbook.executor")

HEARTBEAT_INTERVAL = 0.5
# The ExecutorMetrics fields the executor publishes (the sidecar measures CPU and RSS).
_FIELDS = ("memory_used", "memory_limit", "disk_used", "active_tasks", "completed_tasks",
           "failed_tasks", "shuffle_read_bytes", "shuffle_write_bytes")
_LAYOUT = struct.Struct(f"<Q{len(_FIELDS)}q32p")  # sequence, fields, executor id
_QUIET = {psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP, psutil.STATUS_ZOMBIE,
          psutil.STATUS_DEAD}


def over_limit(memory_limit: int) -> int:
    """The RSS above which an executor is far over its ``--memory``: half as much again,
    and at least 128 MiB more (an interpreter's own baseline is tens of MiB)."""
    return memory_limit + max(memory_limit // 2, 128 << 20)


class SharedCounters:
    """A page shared by the executor (which writes) and its forked sidecar (which reads).

    A sequence number, odd while a write is under way, lets the reader retry instead of
    reading half of one snapshot and half of the next (a seqlock)."""

    def __init__(self) -> None:
        self._page = mmap.mmap(-1, mmap.PAGESIZE)  # anonymous and shared across fork
        self._seq = 0

    def write(self, executor_id: str | None, metrics: ExecutorMetrics) -> None:
        values = [int(getattr(metrics, f)) for f in _FIELDS]
        self._seq += 1
        struct.pack_into("<Q", self._page, 0, self._seq)
        _LAYOUT.pack_into(self._page, 0, self._seq, *values, (executor_id or "").encode())
        self._seq += 1
        struct.pack_into("<Q", self._page, 0, self._seq)

    def read(self) -> tuple[str | None, ExecutorMetrics]:
        while True:
            seq, *values, executor_id = _LAYOUT.unpack_from(self._page, 0)
            if seq % 2 == 0 and struct.unpack_from("<Q", self._page, 0)[0] == seq:
                break
            time.sleep(0.0001)
        return executor_id.decode() or None, ExecutorMetrics(**dict(zip(_FIELDS, values)))


class HeartbeatSidecar:
    """The executor's handle on its sidecar: the shared counters, the sidecar's socket
    identity (for ``RegisterExecutor``) and ``conn``, where its notices arrive."""

    def __init__(self, manager_address: str, key: bytes, manager_name: str | None = None,
                 interval: float = HEARTBEAT_INTERVAL) -> None:
        """Fork the sidecar; call before this process makes a ZeroMQ context or a
        thread (a fork copies neither safely)."""
        self.counters = SharedCounters()
        self.identity = b"H" + secrets.token_bytes(15)
        self.conn, theirs = socket.socketpair()
        executor_pid = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:  # the sidecar
            self.conn.close()
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # it goes when its executor goes
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            code = 1
            try:
                _serve(theirs, self.counters, self.identity, executor_pid, manager_address,
                       manager_name or manager_address, key, interval)
                code = 0
            except BaseException:  # noqa: BLE001 - said before the process ends
                log.exception("the heartbeat sidecar failed")
            finally:
                os._exit(code)
        theirs.close()
        self._buffer = b""

    def publish(self, executor_id: str | None, metrics: ExecutorMetrics) -> None:
        self.counters.write(executor_id, metrics)

    def notices(self) -> list[tuple[str, bool]] | None:
        """What the sidecar sent: (executor id, declared lost) for each ``UnknownExecutor``
        the manager answered; None once the sidecar is gone."""
        try:
            data = self.conn.recv(4096)
        except OSError:
            data = b""
        if not data:
            return None
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        found = []
        for line in lines:
            kind, _, executor_id = line.decode().partition(" ")
            found.append((executor_id, kind == "lost"))
        return found

    def alive(self) -> bool:
        try:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return False
        return pid == 0


def _serve(conn: socket.socket, counters: SharedCounters, identity: bytes, executor_pid: int,
           manager_address: str, manager_name: str, key: bytes, interval: float) -> None:
    """The sidecar's loop: heartbeat while the executor can run, relay the manager's
    answers, and return when the executor is gone."""
    zctx = zmq.Context()
    sock = wire.make_socket(zctx, zmq.DEALER, identity)
    sock.setsockopt(zmq.IMMEDIATE, 1)  # no queue for a manager that is not there
    sock.setsockopt(zmq.SNDTIMEO, 0)  # and a send that cannot go now is dropped
    sock.connect(manager_address)
    channel = wire.Channel(sock, key, "manager (heartbeats)", peer=manager_name)
    executor = psutil.Process(executor_pid)
    executor.cpu_percent()
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    poller.register(conn.fileno(), zmq.POLLIN)
    over = False
    next_beat = time.monotonic()
    while True:
        for ready, _ in poller.poll(max(0.0, next_beat - time.monotonic()) * 1000):
            if ready is sock:
                try:
                    envelope = channel.recv()
                except wire.AuthenticationError:
                    continue  # the executor's own socket hears of it and exits
                if envelope is not None and isinstance(envelope.message, m.UnknownExecutor):
                    msg = envelope.message
                    kind = "lost" if msg.declared_lost else "forgot"
                    try:
                        conn.sendall(f"{kind} {msg.executor_id}\n".encode())
                    except OSError:
                        break  # the executor is gone: the read below says so
            elif not _still_open(conn):
                zctx.destroy()
                return  # the executor exited, however it went
        if time.monotonic() < next_beat:
            continue
        next_beat = time.monotonic() + interval
        try:
            if executor.status() in _QUIET:
                continue  # stopped: silence, so that the manager declares it lost
            cpu, rss = executor.cpu_percent(), executor.memory_info().rss
        except psutil.Error:
            zctx.destroy()
            return
        executor_id, metrics = counters.read()
        if executor_id is None:
            continue  # not registered (yet, or again)
        metrics.cpu_percent, metrics.rss, metrics.timestamp = cpu, rss, time.time()
        metrics.over_memory_limit = bool(metrics.memory_limit) and rss > over_limit(
            metrics.memory_limit)
        if metrics.over_memory_limit and not over:
            log.warning("executor %s uses %.0f MB, far over its memory limit of %.0f MB; "
                        "a machine short of memory may kill it", executor_id, rss / 2**20,
                        metrics.memory_limit / 2**20)
        over = metrics.over_memory_limit
        try:
            channel.send(m.Heartbeat(executor_id, metrics))
        except zmq.Again:
            pass  # the manager is away: this heartbeat is dropped, not queued


def _still_open(conn: socket.socket) -> bool:
    try:
        return bool(conn.recv(4096))
    except OSError:
        return False
