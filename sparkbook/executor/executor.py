"""The executor process: registers with the cluster manager, runs tasks, serves blocks.

Two threads, so that task code can never silence the executor:

* the main thread owns every socket: it registers and heartbeats to the manager (with
  CPU, memory and task counts), takes tasks from drivers, answers peers' shuffle fetches
  from the block store, and forwards task results;
* the task thread runs one task at a time (``cores`` of 1: Python's GIL makes a process
  the unit of parallelism, so ``sparkbook executor --cores N`` starts N of these).
"""

from __future__ import annotations

import collections
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
from sparkbook import sparkfiles, wire
from sparkbook.errors import TaskKilledError
from sparkbook.executor.blockid import BroadcastBlockId, RDDBlockId, ShuffleBlockId
from sparkbook.executor.blockmanager import BlockManager
from sparkbook.executor.env import SparkEnv
from sparkbook.executor.shuffle_client import ShuffleClient
from sparkbook.executor.task_runner import run_task
from sparkbook.metrics import ExecutorMetrics

log = logging.getLogger("sparkbook.executor")

HEARTBEAT_INTERVAL = 0.5


class Executor:
    """One executor process (see the module docstring)."""

    def __init__(self, manager_address: str, key: bytes, memory: int, local_dir: str,
                 host: str = "127.0.0.1", watch_stdin: bool = False,
                 fetch_timeout: float = 30.0) -> None:
        self.manager_address = manager_address
        self.key = key
        self.host = host
        self.watch_stdin = watch_stdin
        self.executor_id: str | None = None
        self.env = SparkEnv(BlockManager(memory, local_dir))
        self.blocks = self.env.blocks
        self.zctx = zmq.Context.instance()
        self.manager = wire.Channel(wire.make_socket(self.zctx, zmq.DEALER), key, "manager")
        self.manager.socket.connect(manager_address)
        self.router = wire.Channel(wire.make_socket(self.zctx, zmq.ROUTER), key, "executor")
        port = self.router.socket.bind_to_random_port(f"tcp://{host}")
        self.address = f"tcp://{host}:{port}"
        # The task thread hands each StatusUpdate over in a queue and wakes this thread
        # through an inproc socket.
        self.results = self.zctx.socket(zmq.PULL)
        self.results.bind(f"inproc://results-{id(self)}")
        self.finished: queue.SimpleQueue = queue.SimpleQueue()
        self.tasks: queue.SimpleQueue = queue.SimpleQueue()
        self.binaries: dict[tuple[str, object], bytes] = {}
        # Per application: added files received and not yet written (the socket thread
        # queues them; the task thread writes them before the application's next task, so
        # that disk writes never hold up heartbeats), and its .zip/.egg files for sys.path.
        self.incoming_files: dict[str, collections.deque] = {}
        self.python_includes: dict[str, list[str]] = {}
        self.lost_peers: set[str] = set()
        self.killed: set[int] = set()
        self.running: int | None = None
        self._running_lock = threading.Lock()
        self.fetch_timeout = fetch_timeout
        self.counts = {"active": 0, "completed": 0, "failed": 0}
        self.shuffle_bytes = {"read": 0, "write": 0}
        self.process = psutil.Process()
        self.process.cpu_percent()
        self._task_thread = threading.Thread(target=self._task_loop, name="task-runner",
                                             daemon=True)
        SparkEnv.set(self.env)
        self.manager_dispatch = m.Dispatcher("executor (from the manager)", {
            m.RegisteredExecutor: self._registered,
            m.RegisterExecutorFailed: self._registration_refused,
            m.UnknownExecutor: self._reset,
            m.ApplicationRemoved: lambda msg, env: self._forget_application(msg.app_id),
            m.KillExecutor: lambda msg, env: os.kill(os.getpid(), signal.SIGKILL),
            m.Shutdown: lambda msg, env: self._exit(0),
        })
        self.router_dispatch = m.Dispatcher("executor", {
            m.LaunchTask: self._accept_task,
            m.FetchShuffleBlocks: self._serve_fetch,
            m.KillTask: lambda msg, env: self._kill_task(msg.task_id),
            m.ExecutorLost: lambda msg, env: self.lost_peers.add(msg.executor_id),
            m.RemoveRdd: lambda msg, env: self.blocks.remove_matching(
                RDDBlockId, msg.app_id, rdd_id=msg.rdd_id),
            m.RemoveShuffle: lambda msg, env: self.blocks.remove_matching(
                ShuffleBlockId, msg.app_id, shuffle_id=msg.shuffle_id),
            m.RemoveBroadcast: lambda msg, env: self.env.forget_broadcast(msg.bid),
            m.RemoveBinary: lambda msg, env: self.binaries.pop((msg.app_id, msg.binary_id),
                                                               None),
        })

    # --- the main (socket) thread ------------------------------------------------------

    def run(self) -> None:
        """Register, then serve until told to stop or orphaned."""
        self._task_thread.start()
        self._register()
        poller = zmq.Poller()
        poller.register(self.manager.socket, zmq.POLLIN)
        poller.register(self.router.socket, zmq.POLLIN)
        poller.register(self.results, zmq.POLLIN)
        if self.watch_stdin:
            poller.register(sys.stdin.fileno(), zmq.POLLIN)
        next_heartbeat = time.monotonic()
        while True:
            timeout = max(0.0, next_heartbeat - time.monotonic())
            for sock, _ in poller.poll(timeout * 1000):
                if sock is self.router.socket:
                    self._on_router()
                elif sock is self.results:
                    self._on_result()
                elif sock is self.manager.socket:
                    self._on_manager()
                elif not os.read(sys.stdin.fileno(), 1024):
                    log.info("parent process went away; exiting")
                    self._exit(0)
            if time.monotonic() >= next_heartbeat:
                self._heartbeat()
                next_heartbeat = time.monotonic() + HEARTBEAT_INTERVAL

    def _register(self) -> None:
        self.manager.send(m.RegisterExecutor(
            address=self.address, host=self.host, cores=1, memory=self.blocks.memory_limit,
            pid=os.getpid(), hostname=socket.gethostname(), hash_probe=hash(m.HASH_PROBE),
            python=sys.version.split()[0]))

    def _heartbeat(self) -> None:
        if self.executor_id is None:
            return
        mem = self.process.memory_info()
        metrics = ExecutorMetrics(
            cpu_percent=self.process.cpu_percent(), rss=mem.rss,
            memory_used=self.blocks.memory_used, memory_limit=self.blocks.memory_limit,
            disk_used=self.blocks.disk_used, active_tasks=self.counts["active"],
            completed_tasks=self.counts["completed"], failed_tasks=self.counts["failed"],
            shuffle_read_bytes=self.shuffle_bytes["read"],
            shuffle_write_bytes=self.shuffle_bytes["write"], timestamp=time.time())
        self.manager.send(m.Heartbeat(self.executor_id, metrics))

    def _on_manager(self) -> None:
        try:
            msg = self.manager.recv()
        except wire.AuthenticationError as exc:
            print(f"sparkbook executor: {exc}", file=sys.stderr, flush=True)
            self._exit(2)
        if msg is not None:
            self.manager_dispatch(msg.message, msg)

    def _registered(self, msg: m.RegisteredExecutor, envelope: wire.Envelope) -> None:
        self.executor_id = msg.executor_id
        log.info("registered as executor %s at %s", self.executor_id, self.address)
        self._heartbeat()

    def _registration_refused(self, msg: m.RegisterExecutorFailed,
                              envelope: wire.Envelope) -> None:
        print(f"sparkbook executor: registration refused: {msg.reason}", file=sys.stderr,
              flush=True)
        self._exit(3)

    def _reset(self, msg: m.UnknownExecutor, envelope: wire.Envelope) -> None:
        """The manager declared us lost (we were silent too long): start afresh."""
        self.executor_id = None
        self.env.clear()
        self.binaries.clear()
        self.incoming_files.clear()
        self.python_includes.clear()
        self._register()

    def _on_router(self) -> None:
        msg = self.router.recv()
        if msg is not None:
            self.router_dispatch(msg.message, msg)

    def _accept_task(self, desc: m.LaunchTask, envelope: wire.Envelope) -> None:
        frames = envelope.frames
        split_blob = frames[0].bytes
        key = (desc.app_id, desc.binary_id)
        i = 1
        if desc.has_binary:
            self.binaries[key] = frames[1].bytes
            i = 2
        for (kind, name), frame in zip(desc.shipments, frames[i:]):
            if kind == "broadcast":
                self.blocks.put_broadcast(BroadcastBlockId(name), frame.bytes)
            else:
                self.incoming_files.setdefault(desc.app_id, collections.deque()).append(
                    (kind, name, frame.bytes))
        binary = self.binaries.get(key)
        self.counts["active"] += 1
        self.tasks.put((envelope.identity, desc, binary, split_blob))

    def _serve_fetch(self, msg: m.FetchShuffleBlocks, envelope: wire.Envelope) -> None:
        app, shuffle_id, reduce_id = msg.app_id, msg.shuffle_id, msg.reduce_id
        frames, missing = [], None
        for map_id in msg.map_ids:
            blob = self.blocks.get_shuffle_bucket(ShuffleBlockId(app, shuffle_id, map_id),
                                                  reduce_id)
            if blob is None:
                missing = map_id
                break
            frames.append(blob)
        reply = m.ShuffleBlocks(shuffle_id, reduce_id, missing)
        self._send(envelope.identity, reply, [] if missing is not None else frames)

    def _kill_task(self, task_id: int) -> None:
        self.killed.add(task_id)
        with self._running_lock:
            if self.running == task_id:
                # Raise TaskKilledError inside the task's thread at its next bytecode.
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(self._task_thread.ident), ctypes.py_object(TaskKilledError))

    def _on_result(self) -> None:
        self.results.recv()
        identity, app_id, update, frames = self.finished.get()
        self.counts["active"] -= 1
        self.counts["completed" if update.state == "FINISHED" else "failed"] += 1
        self.shuffle_bytes["read"] += update.metrics.shuffle_read_bytes
        self.shuffle_bytes["write"] += update.metrics.shuffle_write_bytes
        update.executor_id = self.executor_id
        update.dropped_blocks = [(b.rdd_id, b.split_index)
                                 for b in self.blocks.take_dropped(app_id)]
        self._send(identity, update, frames)

    def _send(self, identity: bytes, message: m.Message, frames: list) -> None:
        try:
            self.router.send(message, frames, to=identity)
        except zmq.ZMQError as exc:  # the driver or peer has gone; nothing to deliver to
            log.info("could not deliver %s to %r: %s", type(message).__name__, identity, exc)

    def _forget_application(self, app_id: str) -> None:
        self.env.forget_application(app_id)
        for key in [k for k in self.binaries if k[0] == app_id]:
            del self.binaries[key]
        self.incoming_files.pop(app_id, None)
        self.python_includes.pop(app_id, None)

    def _exit(self, code: int) -> None:
        # Memory goes with the process; only the spill folder needs removing. No locks:
        # this may run as a signal handler while the main thread holds the store's lock.
        shutil.rmtree(self.blocks.local_dir, ignore_errors=True)
        os._exit(code)

    # --- the task thread ----------------------------------------------------------------

    def _task_loop(self) -> None:
        push = self.zctx.socket(zmq.PUSH)
        push.connect(f"inproc://results-{id(self)}")
        client = ShuffleClient(self.zctx, self.key, self.lost_peers.__contains__,
                               self.fetch_timeout)
        while True:
            identity, desc, binary, split_blob = self.tasks.get()
            task_id = desc.task_id
            update = m.StatusUpdate(task_id, "", m.TaskKilled("killed"))
            frames: list = []
            try:
                if binary is None:
                    update.reason = m.ExceptionFailure(
                        "RuntimeError", "executor has no binary for this stage", "")
                elif task_id not in self.killed:
                    with self._running_lock:
                        self.running = task_id
                    update, frames = run_task(desc, binary, split_blob, self.executor_id,
                                              self.blocks, client,
                                              functools.partial(self._enter_application,
                                                                desc.app_id))
            except TaskKilledError:
                pass  # a kill that landed just after the task's own handlers
            try:
                self._task_done(task_id)
            except TaskKilledError:
                self._task_done(task_id)
            self.finished.put((identity, desc.app_id, update, frames))
            push.send(b"")

    def _enter_application(self, app_id: str) -> None:
        """Before a task (on the task thread): write the files its application added since
        its last task, and make SparkFiles and sys.path show them."""
        root = self.env.files_root(app_id)
        incoming = self.incoming_files.get(app_id) or collections.deque()
        includes = self.python_includes.setdefault(app_id, [])
        fresh = bool(incoming)
        while incoming:
            kind, name, blob = incoming.popleft()
            sparkfiles.install(root, kind, name, blob)
            if kind == "pyfile" and name not in includes:
                includes.append(name)
        sparkfiles.activate(root, includes, fresh)

    def _task_done(self, task_id: int) -> None:
        with self._running_lock:
            self.running = None
            kill_sent = task_id in self.killed
            self.killed.discard(task_id)
        if kill_sent:
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
                  host: str, watch_stdin: bool) -> None:
    """Entry point of ``sparkbook executor`` (one process)."""
    logging.basicConfig(level=os.environ.get("SPARKBOOK_LOG_LEVEL", "WARNING"),
                        format="%(asctime)s executor %(levelname)s %(message)s")
    # Tasks allocate records by the million; with the default thresholds the cyclic
    # collector rescans them every few hundred allocations and halves the throughput.
    gc.freeze()
    gc.set_threshold(100_000, 20, 20)
    executor = Executor(manager_address, key, memory, local_dir, host, watch_stdin)
    signal.signal(signal.SIGTERM, lambda *_: executor._exit(0))
    # An executor with a parent (a manager, an `executor --cores N`) is stopped by it;
    # a Ctrl-C meant for that parent's terminal must not kill it first.
    signal.signal(signal.SIGINT, signal.SIG_IGN if watch_stdin else lambda *_: executor._exit(0))
    executor.run()
