"""ExecutorState: an executor's bookkeeping as a state machine without sockets.

The socket side (``Executor``) turns each message into a call here and does what the
answer says: queue a task, send a reply, interrupt the task thread. What is kept, per
application: the stage binaries, the added files not yet written, the ``pyfile``
packages; and for the executor: which tasks are queued, running or killed, which peers
are lost, and the task counts and shuffle bytes the heartbeat reports. Blocks and
broadcast values live in the ``SparkEnv``.

Two threads call in: the socket thread (every event) and the task thread
(``start_task``, ``enter_application``, ``finish_task``); the lock guards what both touch.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sparkbook import messages as m
from sparkbook import sparkfiles
from sparkbook.executor.blockid import BroadcastBlockId, RDDBlockId, ShuffleBlockId
from sparkbook.executor.env import SparkEnv
from sparkbook.metrics import ExecutorMetrics


@dataclass
class QueuedTask:
    """A task for the task thread; ``binary`` is None when its stage's never came."""

    identity: bytes  # the driver's socket identity, to send the result to
    desc: m.LaunchTask
    binary: bytes | None
    split: bytes


class ExecutorState:
    """What one executor knows and holds (see the module docstring)."""

    def __init__(self, env: SparkEnv, interrupt: Callable[[], None]) -> None:
        """``interrupt`` stops the running task (the socket side raises TaskKilledError in
        the task thread); it is called with the lock held, so the task cannot end first."""
        self.env = env
        self.blocks = env.blocks
        self._interrupt = interrupt
        self.executor_id: str | None = None
        self.binaries: dict[tuple[str, object], bytes] = {}
        # Added files received and not yet written, per application: the socket thread
        # queues them, the task thread writes them before the application's next task.
        self.incoming_files: dict[str, collections.deque] = {}
        self.python_includes: dict[str, list[str]] = {}  # .zip/.egg files, for sys.path
        self.lost_peers: set[str] = set()
        self.queued: set[int] = set()
        self.running: int | None = None
        self.killed: set[int] = set()  # queued tasks that must not start
        self.interrupted: int | None = None  # the task whose thread was sent a kill
        self.counts = {"active": 0, "completed": 0, "failed": 0}
        self.shuffle_bytes = {"read": 0, "write": 0}
        self._lock = threading.Lock()

    # --- the manager's messages ---------------------------------------------------------

    def registered(self, executor_id: str) -> None:
        self.executor_id = executor_id

    def reset(self) -> None:
        """``UnknownExecutor``: the manager had declared us lost and drivers have forgotten
        what we held; drop it all before registering again under a new id."""
        self.executor_id = None
        self.env.clear()
        self.binaries.clear()
        self.incoming_files.clear()
        self.python_includes.clear()

    def application_removed(self, app_id: str) -> None:
        """``ApplicationRemoved``: drop everything the application left here."""
        self.env.forget_application(app_id)
        for key in [k for k in self.binaries if k[0] == app_id]:
            del self.binaries[key]
        self.incoming_files.pop(app_id, None)
        self.python_includes.pop(app_id, None)

    # --- the drivers' messages ----------------------------------------------------------

    def launch(self, desc: m.LaunchTask, frames: list, identity: bytes) -> QueuedTask:
        """``LaunchTask``: keep what came with it (``frames``: the partition, the binary if
        ``has_binary``, the shipments), count the task active and queue it."""
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
        self.counts["active"] += 1
        with self._lock:
            self.queued.add(desc.task_id)
        return QueuedTask(identity, desc, self.binaries.get(key), frames[0].bytes)

    def kill_task(self, task_id: int) -> None:
        """``KillTask``: a queued task will not start; a running one is interrupted. A
        kill for a task that has ended (or never came) is ignored."""
        with self._lock:
            if task_id == self.running:
                if self.interrupted != task_id:
                    self.interrupted = task_id
                    self._interrupt()
            elif task_id in self.queued:
                self.killed.add(task_id)

    def executor_lost(self, executor_id: str) -> None:
        """``ExecutorLost``: fetches from that peer fail at once from now on."""
        self.lost_peers.add(executor_id)

    def is_lost(self, executor_id: str) -> bool:
        return executor_id in self.lost_peers

    def remove_rdd(self, app_id: str, rdd_id: int) -> None:
        self.blocks.remove_matching(RDDBlockId, app_id, rdd_id=rdd_id)

    def remove_shuffle(self, app_id: str, shuffle_id: int) -> None:
        self.blocks.remove_matching(ShuffleBlockId, app_id, shuffle_id=shuffle_id)

    def remove_broadcast(self, bid: str) -> None:
        self.env.forget_broadcast(bid)

    def remove_binary(self, app_id: str, binary_id: object) -> None:
        self.binaries.pop((app_id, binary_id), None)

    def shuffle_blocks(self, msg: m.FetchShuffleBlocks) -> tuple[m.ShuffleBlocks, list]:
        """``FetchShuffleBlocks`` from a peer: the reply and its frames, one per map id
        with its buckets of the reduce range joined (a frame each would cost more to send
        than the bytes); none, and the first missing map id, when one is not here."""
        self.env.shuffle_requests_served += 1
        sizes, frames = [], []
        for map_id in msg.map_ids:
            block_id = ShuffleBlockId(msg.app_id, msg.shuffle_id, map_id)
            buckets = [self.blocks.get_shuffle_bucket(block_id, reduce_id)
                       for reduce_id in range(msg.reduce_start, msg.reduce_end)]
            if None in buckets:
                return m.ShuffleBlocks(msg.shuffle_id, msg.reduce_start, map_id), []
            sizes.extend(map(len, buckets))
            frames.append(b"".join(buckets))
        return m.ShuffleBlocks(msg.shuffle_id, msg.reduce_start, None, sizes), frames

    # --- the task thread ----------------------------------------------------------------

    def start_task(self, task_id: int) -> bool:
        """The task thread takes the task: False when it was killed while queued."""
        with self._lock:
            self.queued.discard(task_id)
            if task_id in self.killed:
                return False
            self.running = task_id
            return True

    def enter_application(self, app_id: str) -> None:
        """Before a task: write the files its application added since its last task, and
        make SparkFiles and sys.path show them."""
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

    def finish_task(self, task_id: int) -> bool:
        """The task thread is done with the task: whether its thread was sent a kill (which
        may still be on its way)."""
        with self._lock:
            self.running = None
            self.queued.discard(task_id)
            self.killed.discard(task_id)
            interrupted, self.interrupted = self.interrupted == task_id, None
        return interrupted

    # --- back on the socket thread ------------------------------------------------------

    def task_finished(self, app_id: str, update: m.StatusUpdate) -> m.StatusUpdate:
        """Count the ended task and complete its StatusUpdate for the driver."""
        self.counts["active"] -= 1
        self.counts["completed" if update.state == "FINISHED" else "failed"] += 1
        self.shuffle_bytes["read"] += update.metrics.shuffle_read_bytes
        self.shuffle_bytes["write"] += update.metrics.shuffle_write_bytes
        update.executor_id = self.executor_id
        update.dropped_blocks = [(b.rdd_id, b.split_index)
                                 for b in self.blocks.take_dropped(app_id)]
        return update

    def metrics(self, cpu_percent: float, rss: int, now: float) -> ExecutorMetrics:
        """The heartbeat's snapshot, given the process's CPU and memory."""
        blocks = self.blocks
        return ExecutorMetrics(
            cpu_percent=cpu_percent, rss=rss, memory_used=blocks.memory_used,
            memory_limit=blocks.memory_limit, disk_used=blocks.disk_used,
            active_tasks=self.counts["active"], completed_tasks=self.counts["completed"],
            failed_tasks=self.counts["failed"], shuffle_read_bytes=self.shuffle_bytes["read"],
            shuffle_write_bytes=self.shuffle_bytes["write"], timestamp=now)
