"""The scheduler backend: the driver's event-loop thread and the only owner of its sockets.

It registers the application with the cluster manager, connects to every executor it
is granted, sends tasks straight to executors and receives their StatusUpdates, and runs
the DAGScheduler and TaskSchedulerImpl on this one thread, so neither needs a lock.
Other threads (the user's program) hand it work with ``call``.
"""

from __future__ import annotations

import concurrent.futures
import getpass
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import zmq

from sparkbook import messages as m
from sparkbook import serializers, wire
from sparkbook.driver.dagscheduler import DAGScheduler
from sparkbook.driver.listener import (
    ExecutorAdded,
    ExecutorMetricsUpdate,
    ExecutorRemoved,
    LiveListenerBus,
)
from sparkbook.driver.taskscheduler import Launch, TaskSchedulerImpl
from sparkbook.metrics import ExecutorMetrics

log = logging.getLogger("sparkbook.backend")

APP_HEARTBEAT_INTERVAL = 1.0
REVIVE_INTERVAL = 0.1


@dataclass
class ExecutorEndpoint:
    """The driver's connection to one executor and what that executor already holds."""

    executor_id: str
    channel: wire.Channel
    info: m.ExecutorInfo
    binaries: set = field(default_factory=set)
    held: set = field(default_factory=set)  # (kind, name) of broadcasts and added files sent
    metrics: ExecutorMetrics | None = None

    @property
    def address(self) -> str:
        return self.info.address


class SchedulerBackend:
    """See the module docstring."""

    def __init__(self, master_address: str, manager_name: str, key: bytes, app_name: str,
                 bus: LiveListenerBus, apply_accumulators: Callable[[bytes], None],
                 payload: Callable[[str, str], bytes], max_failures: int,
                 locality_wait: float, profile: bool = False) -> None:
        self.key = key
        self.app_name = app_name
        self.bus = bus
        self.payload = payload
        self.profile = profile
        # Added files every executor gets, as (kind, name); see ``_launch``.
        self.app_files: set[tuple[str, str]] = set()
        self.zctx = zmq.Context()
        # Routes name the manager by its cluster file's address (see wire.Channel).
        self.manager = wire.Channel(wire.make_socket(self.zctx, zmq.DEALER), key, "manager",
                                    peer=manager_name)
        self.manager.socket.connect(master_address)
        self.task_scheduler = TaskSchedulerImpl(bus, max_failures, locality_wait)
        self.dag = DAGScheduler(self.task_scheduler, bus, apply_accumulators)
        self.task_scheduler.dag = self.dag
        self.executors: dict[str, ExecutorEndpoint] = {}
        self._by_socket: dict[zmq.Socket, ExecutorEndpoint] = {}
        self.app_id: str | None = None
        self.registered = threading.Event()
        self.error: BaseException | None = None
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._poller = zmq.Poller()
        self._stopping = False
        self.manager_dispatch = m.Dispatcher("driver (from the manager)", {
            m.ExecutorMetricsUpdate: self._executor_metrics,
            m.RegisteredApplication: self._registered,
            m.ExecutorAdded: lambda msg: self._add_executor(msg.executor),
            m.ExecutorRemoved: lambda msg: self._remove_executor(msg.executor_id, msg.reason),
            m.UnknownApplication: lambda msg: self._register(),
        })
        self._thread = threading.Thread(target=self._run, name="sparkbook-scheduler",
                                        daemon=True)

    # --- the user's side -----------------------------------------------------------------

    def start(self, timeout: float) -> None:
        self._thread.start()
        if not self.registered.wait(timeout):
            self.stop()
            raise TimeoutError(f"no answer from the cluster manager in {timeout:.0f} s: "
                               "is it running at that address?")
        if self.error is not None:
            error, self.error = self.error, None
            self.stop()
            raise error

    def call(self, fn: Callable, *args: object) -> concurrent.futures.Future:
        """Run ``fn(*args)`` on the scheduler thread; its result arrives in the Future."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._commands.put((future, fn, args))
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        return future

    def wait_for_executors(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.task_scheduler.free_cores) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.task_scheduler.free_cores)} of {count} "
                                   f"executors registered in {timeout:.0f} s")
            time.sleep(0.005)

    def stop(self) -> None:
        if self._thread.is_alive():
            self.call(self._shutdown)
            self._thread.join(5)
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self.zctx.destroy(0)

    # --- the scheduler thread ------------------------------------------------------------

    def _run(self) -> None:
        self._poller.register(self.manager.socket, zmq.POLLIN)
        self._poller.register(self._wake_r, zmq.POLLIN)
        self._register()
        next_heartbeat = time.monotonic() + APP_HEARTBEAT_INTERVAL
        while not self._stopping:
            events = self._poller.poll(REVIVE_INTERVAL * 1000)
            for sock, _ in events:
                if sock is self.manager.socket:
                    self._on_manager()
                elif sock == self._wake_r:
                    self._run_commands()
                else:
                    self._on_executor(sock)
            now = time.monotonic()
            if now >= next_heartbeat and self.app_id is not None:
                self.manager.send(m.AppHeartbeat(self.app_id))
                next_heartbeat = now + APP_HEARTBEAT_INTERVAL
            if not events and self.task_scheduler.has_pending():
                self._launch(self.task_scheduler.resource_offers())
            self._flush_requests()

    def _run_commands(self) -> None:
        try:
            os.read(self._wake_r, 4096)
        except BlockingIOError:
            pass
        while True:
            try:
                future, fn, args = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                future.set_exception(exc)
            self._launch(self.task_scheduler.resource_offers())

    def _shutdown(self) -> None:
        self._stopping = True
        if self.app_id is not None:
            self.manager.send(m.UnregisterApplication(self.app_id))

    def _on_manager(self) -> None:
        try:
            msg = self.manager.recv()
        except wire.AuthenticationError as exc:
            self.error = exc
            self.registered.set()
            self._stopping = True
            return
        if msg is not None:
            self.manager_dispatch(msg.message)
        self._launch(self.task_scheduler.resource_offers())

    def _register(self) -> None:
        self.manager.send(m.RegisterApplication(self.app_name, getpass.getuser(), os.getpid()))

    def _registered(self, msg: m.RegisteredApplication) -> None:
        self.app_id = msg.app_id
        for info in msg.executors:
            self._add_executor(info)
        self.registered.set()

    def _executor_metrics(self, msg: m.ExecutorMetricsUpdate) -> None:
        endpoint = self.executors.get(msg.executor_id)
        if endpoint is not None:
            endpoint.metrics = msg.metrics
            self.bus.post(ExecutorMetricsUpdate(msg.executor_id, msg.metrics))

    def _add_executor(self, info: m.ExecutorInfo) -> None:
        executor_id = info.executor_id
        if executor_id in self.executors:
            return
        sock = wire.make_socket(self.zctx, zmq.DEALER, identity=self.app_id.encode())
        sock.connect(info.address)
        channel = wire.Channel(sock, self.key, f"executor {executor_id}", peer=info.address)
        endpoint = ExecutorEndpoint(executor_id, channel, info)
        self.executors[executor_id] = self._by_socket[sock] = endpoint
        self._poller.register(sock, zmq.POLLIN)
        self.task_scheduler.executor_added(executor_id, info.cores, info.host)
        self.bus.post(ExecutorAdded(executor_id, time.time(), info))

    def _remove_executor(self, executor_id: str, reason: str) -> None:
        endpoint = self.executors.pop(executor_id, None)
        if endpoint is None:
            return
        self._poller.unregister(endpoint.channel.socket)
        self._by_socket.pop(endpoint.channel.socket, None)
        endpoint.channel.socket.close(0)
        for other in self.executors.values():
            other.channel.send(m.ExecutorLost(executor_id))
        self.bus.post(ExecutorRemoved(executor_id, time.time(), reason))
        self.task_scheduler.executor_lost(executor_id, reason)

    def _on_executor(self, sock: zmq.Socket) -> None:
        endpoint = self._by_socket.get(sock)
        while endpoint is not None and endpoint.executor_id in self.executors:
            try:
                msg = endpoint.channel.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            if msg is None or not isinstance(msg.message, m.StatusUpdate):
                continue
            freed = self.task_scheduler.status_update(msg.message,
                                                      [f.bytes for f in msg.frames])
            if freed is not None:
                self._launch(self.task_scheduler.resource_offers([freed]))

    def _launch(self, launches: list[Launch]) -> None:
        for launch in launches:
            task = launch.task
            locations = self.dag.shuffle_locations(task.stage_id, task.partition)
            if locations is None:
                self.task_scheduler.fail_unlaunchable(launch,
                                                      *self.dag.missing_map_output(task.stage_id))
                continue
            endpoint = self.executors[launch.executor_id]
            stage = self.dag.stages[task.stage_id]
            if task.split_blob is None:
                task.split_blob = serializers.dumps(task.split)
            frames = [task.split_blob]
            binary_id = (stage.id, stage.latest_attempt)
            has_binary = binary_id not in endpoint.binaries
            if has_binary:
                frames.append(stage.binary)
                endpoint.binaries.add(binary_id)
            # Broadcasts the stage reads and files the application added, sent to each
            # executor once, with the first task that needs them.
            wanted = {("broadcast", bid) for bid in stage.broadcast_ids} | self.app_files
            shipments = sorted(wanted - endpoint.held)
            frames.extend(self.payload(kind, name) for kind, name in shipments)
            endpoint.held.update(shipments)
            shuffle_locations = {
                shuffle_id: [(ex, self.executors[ex].address, maps) for ex, maps in locs]
                for shuffle_id, locs in locations.items()}
            endpoint.channel.send(m.LaunchTask(
                self.app_id, launch.task_id, task.stage_id, task.stage_attempt, task.partition,
                launch.attempt, task.kind, binary_id, has_binary, shipments, shuffle_locations,
                launch.properties, self.profile), frames)

    def _flush_requests(self) -> None:
        ts = self.task_scheduler
        while ts.kill_requests:
            task_id, executor_id = ts.kill_requests.pop()
            endpoint = self.executors.get(executor_id)
            if endpoint is not None:
                endpoint.channel.send(m.KillTask(task_id))
        while ts.finished_stages:
            stage_id = ts.finished_stages.pop()
            for endpoint in self.executors.values():
                for binary_id in [b for b in endpoint.binaries if b[0] == stage_id]:
                    endpoint.binaries.discard(binary_id)
                    endpoint.channel.send(m.RemoveBinary(self.app_id, binary_id))

    # --- commands (run on this thread through ``call``) ------------------------------------

    def send_to_all_executors(self, message: m.Message) -> None:
        for endpoint in self.executors.values():
            endpoint.channel.send(message)

    def remove_rdd(self, rdd_id: int) -> None:
        self.send_to_all_executors(m.RemoveRdd(self.app_id, rdd_id))

    def forget_broadcast(self, bid: str) -> None:
        self.send_to_all_executors(m.RemoveBroadcast(self.app_id, bid))
        for endpoint in self.executors.values():
            endpoint.held.discard(("broadcast", bid))

    def add_app_file(self, shipment: tuple[str, str]) -> None:
        """An added file: every executor gets it with its next task."""
        self.app_files.add(shipment)

    def kill_executor(self, executor_id: str) -> None:
        self.manager.send(m.KillExecutor(executor_id))
