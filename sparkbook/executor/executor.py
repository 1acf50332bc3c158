"""The executor process: registers with the cluster manager, runs tasks, serves blocks.

This module owns the sockets and threads; what the executor knows and holds is kept by
``ExecutorState`` (``state.py``), which each message becomes a call to. Two threads and
a sidecar process, so that task code can never silence the executor:

* the main thread owns every socket: it registers with the manager, takes tasks from
  drivers, answers peers' shuffle fetches from the block store, forwards task results,
  and publishes its counters for the heartbeats;
* the task thread runs one task at a time (``cores`` of 1: Python's GIL makes a process
  the unit of parallelism, so ``sparkbook executor --cores N`` starts N of these);
* the heartbeat sidecar (``heartbeater.py``), a forked process, sends the heartbeats, so
  that a task holding the GIL cannot stop them; should it die, the main thread sends them.

A manager that restarts answers a heartbeat with ``UnknownExecutor``: the executor
registers again, once, asking for the id it had, and keeps its blocks unless the manager
had declared it lost or gives it another id.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import logging
import os
import queue
import shutil
import signal
import socket
import sys
import threading
import time

import psutil
import zmq

from sparkbook import messages as m
from sparkbook import wire
from sparkbook.errors import TaskKilledError
from sparkbook.executor.blockmanager import BlockManager
from sparkbook.executor.env import SparkEnv
from sparkbook.executor.heartbeater import HEARTBEAT_INTERVAL, HeartbeatSidecar
from sparkbook.executor.memory import (
    GROWTH_BEFORE_RELEASE,
    IDLE_BEFORE_RELEASE,
    LONG_TASK,
    release_free_memory,
)
from sparkbook.executor.shuffle_client import ShuffleClient
from sparkbook.executor.state import ExecutorState
from sparkbook.executor.task_runner import run_task

log = logging.getLogger("sparkbook.executor")

# A registration unanswered for this long is sent again (the manager may have died
# before it answered); meanwhile further UnknownExecutor answers are ignored.
REGISTER_RETRY = 2.0


class Executor:
    """One executor process (see the module docstring)."""

    def __init__(self, manager_address: str, key: bytes, memory: int, local_dir: str,
                 host: str = "127.0.0.1", watch_stdin: bool = False,
                 fetch_timeout: float = 30.0, manager_name: str | None = None,
                 sidecar: HeartbeatSidecar | None = None) -> None:
        self.manager_address = manager_address
        self.key = key
        self.host = host
        self.watch_stdin = watch_stdin
        self.process = psutil.Process()
        self._released_rss = self.process.memory_info().rss  # the task thread's to update
        self.env = SparkEnv(BlockManager(memory, local_dir,
                                         rss=lambda: self.process.memory_info().rss))
        self.blocks = self.env.blocks
        self.zctx = zmq.Context.instance()
        # Routes name the manager by the address in the cluster file, which may differ
        # from the one this executor was told to connect to (another host name for it).
        self.manager = wire.Channel(wire.make_socket(self.zctx, zmq.DEALER), key, "manager",
                                    peer=manager_name or manager_address)
        # Nothing queues for a manager that is away: a registration that cannot go now
        # is retried, a heartbeat dropped (a restarted manager must not get a burst).
        self.manager.socket.setsockopt(zmq.IMMEDIATE, 1)
        self.manager.socket.setsockopt(zmq.SNDTIMEO, 0)
        self.manager.socket.connect(manager_address)
        self.sidecar = sidecar
        self._register_due: float | None = 0.0  # when to send RegisterExecutor (again)
        self._register_wait = 0.0
        self._keep_id: str | None = None  # the id we ask the manager to give back
        sock = wire.make_socket(self.zctx, zmq.ROUTER)
        port = sock.bind_to_random_port(f"tcp://{host}")
        self.address = f"tcp://{host}:{port}"
        self.router = wire.Channel(sock, key, "executor", local=self.address)
        # The task thread hands each StatusUpdate over in a queue and wakes this thread
        # through an inproc socket.
        self.results = self.zctx.socket(zmq.PULL)
        self.results.bind(f"inproc://results-{id(self)}")
        self.finished: queue.SimpleQueue = queue.SimpleQueue()
        self.tasks: queue.SimpleQueue = queue.SimpleQueue()
        self.fetch_timeout = fetch_timeout
        self.process.cpu_percent()
        self._task_thread = threading.Thread(target=self._task_loop, name="task-runner",
                                             daemon=True)
        self.state = ExecutorState(self.env, self._interrupt_task)
        SparkEnv.set(self.env)
        state = self.state
        self.manager_dispatch = m.Dispatcher("executor (from the manager)", {
            m.RegisteredExecutor: self._registered,
            m.RegisterExecutorFailed: self._registration_refused,
            m.UnknownExecutor: lambda msg, _: self._unknown(msg.executor_id, msg.declared_lost),
            m.ApplicationRemoved: lambda msg, _: state.application_removed(msg.app_id),
            m.KillExecutor: lambda msg, _: os.kill(os.getpid(), signal.SIGKILL),
            m.Shutdown: lambda msg, _: self._exit(0),
        })
        self.router_dispatch = m.Dispatcher("executor", {
            m.LaunchTask: self._accept_task,
            m.FetchShuffleBlocks: self._serve_fetch,
            m.KillTask: lambda msg, _: state.kill_task(msg.task_id),
            m.ExecutorLost: lambda msg, _: state.executor_lost(msg.executor_id),
            m.RemoveRdd: lambda msg, _: state.remove_rdd(msg.app_id, msg.rdd_id),
            m.RemoveShuffle: lambda msg, _: state.remove_shuffle(msg.app_id, msg.shuffle_id),
            m.RemoveBroadcast: lambda msg, _: state.remove_broadcast(msg.bid),
            m.RemoveBinary: lambda msg, _: state.remove_binary(msg.app_id, msg.binary_id),
        })

    # --- the main (socket) thread ------------------------------------------------------

    def run(self) -> None:
        """Register, then serve until told to stop or orphaned."""
        self._task_thread.start()
        poller = zmq.Poller()
        poller.register(self.manager.socket, zmq.POLLIN)
        poller.register(self.router.socket, zmq.POLLIN)
        poller.register(self.results, zmq.POLLIN)
        if self.sidecar is not None:
            poller.register(self.sidecar.conn.fileno(), zmq.POLLIN)
        if self.watch_stdin:
            poller.register(sys.stdin.fileno(), zmq.POLLIN)
        next_heartbeat = time.monotonic()
        while True:
            due = next_heartbeat if self._register_due is None else min(
                next_heartbeat, self._register_due)
            for sock, _ in poller.poll(max(0.0, due - time.monotonic()) * 1000):
                if sock is self.router.socket:
                    self._on_router()
                elif sock is self.results:
                    self._on_result()
                elif sock is self.manager.socket:
                    self._on_manager()
                elif self.sidecar is not None and sock == self.sidecar.conn.fileno():
                    self._on_sidecar(poller)
                elif not os.read(sys.stdin.fileno(), 1024):
                    log.info("parent process went away; exiting")
                    self._exit(0)
            now = time.monotonic()
            if self._register_due is not None and now >= self._register_due:
                self._register()
            if now >= next_heartbeat:
                self._heartbeat()
                next_heartbeat = time.monotonic() + HEARTBEAT_INTERVAL

    def _register(self) -> None:
        try:
            self.manager.send(m.RegisterExecutor(
                address=self.address, host=self.host, cores=1, memory=self.blocks.memory_limit,
                pid=os.getpid(), hostname=socket.gethostname(), hash_probe=hash(m.HASH_PROBE),
                python=sys.version.split()[0], executor_id=self._keep_id,
                heartbeat_identity=self.sidecar.identity if self.sidecar else None))
        except zmq.Again:  # not connected (yet, or any more): try again soon
            self._register_wait = min(0.5, max(0.005, 2 * self._register_wait))
        else:
            self._register_wait = REGISTER_RETRY
        self._register_due = time.monotonic() + self._register_wait

    def _heartbeat(self) -> None:
        """Publish the counters for the sidecar's heartbeat, or heartbeat ourselves."""
        state = self.state
        self.blocks.relieve_pressure()
        if self.sidecar is not None:
            self.sidecar.publish(state.executor_id, state.metrics(0.0, 0, 0.0))
        elif state.executor_id is not None:
            metrics = state.metrics(self.process.cpu_percent(), self.process.memory_info().rss,
                                    time.time())
            try:
                self.manager.send(m.Heartbeat(state.executor_id, metrics))
            except zmq.Again:
                pass  # the manager is away; a queued heartbeat would only pile up

    def _on_sidecar(self, poller: zmq.Poller) -> None:
        notices = self.sidecar.notices()
        if notices is None:
            log.warning("the heartbeat sidecar exited; heartbeating from the socket thread")
            poller.unregister(self.sidecar.conn.fileno())
            self.sidecar = None
            return
        for executor_id, declared_lost in notices:
            self._unknown(executor_id, declared_lost)

    def _on_manager(self) -> None:
        try:
            msg = self.manager.recv()
        except wire.AuthenticationError as exc:
            print(f"sparkbook executor: {exc}", file=sys.stderr, flush=True)
            self._exit(2)
        if msg is not None:
            self.manager_dispatch(msg.message, msg)

    def _registered(self, msg: m.RegisteredExecutor, envelope: wire.Envelope) -> None:
        if self._register_due is None:
            return  # the answer to a registration sent again: we have it already
        if self._keep_id is not None and msg.executor_id != self._keep_id:
            # Our id went to another executor: no driver can find our blocks by it.
            self.state.reset()
        self.state.registered(msg.executor_id)
        self._register_due = self._keep_id = None
        self._register_wait = 0.0
        log.info("registered as executor %s at %s", msg.executor_id, self.address)
        self._heartbeat()

    def _registration_refused(self, msg: m.RegisterExecutorFailed,
                              envelope: wire.Envelope) -> None:
        print(f"sparkbook executor: registration refused: {msg.reason}", file=sys.stderr,
              flush=True)
        self._exit(3)

    def _unknown(self, executor_id: str, declared_lost: bool) -> None:
        """``UnknownExecutor``: register again, once. Declared lost, we were silent too
        long and drivers forgot what we held: start afresh under a new id. Merely
        forgotten (a restarted manager), we ask for our id back and keep our blocks."""
        if executor_id != self.state.executor_id or self._register_due is not None:
            return  # about an id we no longer have, or a registration is under way
        if declared_lost:
            self.state.reset()
        self._keep_id = self.state.executor_id
        self._register_wait = 0.0
        self._register()

    def _on_router(self) -> None:
        msg = self.router.recv()
        if msg is not None:
            self.router_dispatch(msg.message, msg)

    def _accept_task(self, desc: m.LaunchTask, envelope: wire.Envelope) -> None:
        self.tasks.put(self.state.launch(desc, envelope.frames, envelope.identity))

    def _serve_fetch(self, msg: m.FetchShuffleBlocks, envelope: wire.Envelope) -> None:
        self._send(envelope.identity, *self.state.shuffle_blocks(msg))

    def _interrupt_task(self) -> None:
        # Raise TaskKilledError inside the task's thread at its next bytecode.
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(self._task_thread.ident), ctypes.py_object(TaskKilledError))

    def _on_result(self) -> None:
        self.results.recv()
        task, update, frames = self.finished.get()
        update = self.state.task_finished(task.desc.app_id, update)
        self._send(task.identity, update, frames)

    def _send(self, identity: bytes, message: m.Message, frames: list) -> None:
        try:
            self.router.send(message, frames, to=identity)
        except zmq.ZMQError as exc:  # the driver or peer has gone; nothing to deliver to
            log.info("could not deliver %s to %r: %s", type(message).__name__, identity, exc)

    def _exit(self, code: int) -> None:
        # Memory goes with the process; only the spill folder needs removing. No locks:
        # this may run as a signal handler while the main thread holds the store's lock.
        shutil.rmtree(self.blocks.local_dir, ignore_errors=True)
        os._exit(code)

    # --- the task thread ----------------------------------------------------------------

    def _task_loop(self) -> None:
        push = self.zctx.socket(zmq.PUSH)
        push.connect(f"inproc://results-{id(self)}")
        state = self.state
        client = ShuffleClient(self.zctx, self.key, state.is_lost, self.fetch_timeout)
        while True:
            task = self._next_task()
            desc = task.desc
            update = m.StatusUpdate(desc.task_id, "", m.TaskKilled("killed"))
            frames: list = []
            started = time.monotonic()
            try:
                if task.binary is None:
                    update.reason = m.ExceptionFailure(
                        "RuntimeError", "executor has no binary for this stage", "")
                elif state.start_task(desc.task_id):
                    update, frames = run_task(desc, task.binary, task.split, state.executor_id,
                                              self.blocks, client,
                                              functools.partial(state.enter_application,
                                                                desc.app_id))
            except TaskKilledError:
                pass  # a kill that landed just after the task's own handlers
            try:
                self._task_done(desc.task_id)
            except TaskKilledError:
                self._task_done(desc.task_id)
            self.finished.put((task, update, frames))
            push.send(b"")
            del update, frames, task  # the result's bytes are the main thread's now
            if time.monotonic() - started >= LONG_TASK and \
                    self.process.memory_info().rss > self._released_rss + GROWTH_BEFORE_RELEASE:
                self._release()  # a task that grew the heap (a sort): before the next one

    def _next_task(self):
        """The next task; once none has come for ``IDLE_BEFORE_RELEASE`` s, the memory the
        finished tasks freed goes back to the OS first. Not between every two tasks: the
        next task would fault its pages in again (about 10 ms of a 70 ms task)."""
        try:
            return self.tasks.get(timeout=IDLE_BEFORE_RELEASE)
        except queue.Empty:
            self._release()
            return self.tasks.get()

    def _release(self) -> None:
        release_free_memory()
        self._released_rss = self.process.memory_info().rss

    def _task_done(self, task_id: int) -> None:
        if self.state.finish_task(task_id):
            # A kill requested as the task ended may not have fired yet: let it fire here,
            # where it is harmless (a loop's backward jump checks for it). Withdrawing it with
            # PyThreadState_SetAsyncExc(NULL) instead leaves the interpreter's eval breaker
            # set for good (CPython 3.11), which slows every later task and makes a thread
            # running under cProfile spin forever.
            try:
                for _ in range(2):
                    pass
            except TaskKilledError:
                pass


def executor_main(manager_address: str, key: bytes, memory: int, local_dir: str,
                  host: str, watch_stdin: bool, manager_name: str | None = None) -> None:
    """Entry point of ``sparkbook executor`` (one process)."""
    logging.basicConfig(level=os.environ.get("SPARKBOOK_LOG_LEVEL", "WARNING"),
                        format="%(asctime)s executor %(levelname)s %(message)s")
    # Tasks allocate records by the million; with the default thresholds the cyclic
    # collector rescans them every few hundred allocations and halves the throughput.
    gc.freeze()
    gc.set_threshold(100_000, 20, 20)
    # Forked first: before any ZeroMQ context or thread exists, and while the process is
    # small (the sidecar shares its pages).
    sidecar = HeartbeatSidecar(manager_address, key, manager_name)
    executor = Executor(manager_address, key, memory, local_dir, host, watch_stdin,
                        manager_name=manager_name, sidecar=sidecar)
    signal.signal(signal.SIGTERM, lambda *_: executor._exit(0))
    # An executor with a parent (a manager, an `executor --cores N`) is stopped by it;
    # a Ctrl-C meant for that parent's terminal must not kill it first.
    signal.signal(signal.SIGINT, signal.SIG_IGN if watch_stdin else lambda *_: executor._exit(0))
    executor.run()
