"""The scheduler backend: the driver's event-loop thread and the only owner of its sockets.

It registers the application with the cluster manager, connects to every executor it
is granted, and feeds the scheduling core (``DAGScheduler.handle``) on this one thread,
so the core needs no lock: executors' StatusUpdates, executors added and lost, the
user's calls and a clock tick become events, and the backend carries out the
instructions that come back (frames and sends a LaunchTask, a KillTask, ..., posts
listener events, hands results to the job's waiter). It makes no scheduling decision.

The user's side, for SparkContext and nothing else (thread-safe; each posts an event or
a read to the scheduler thread): ``submit_job``, ``submit_map_stage``, ``cancel_job``,
``cancel_jobs``, ``unpersist_rdd``, ``remove_broadcast``, ``clean`` (the ContextCleaner's),
``add_file``, ``kill_executor``, ``cluster_status``, ``cached_partition_count``, ``shuffle_ids``,
``executor_infos``, plus ``start``, ``wait_for_executors`` and ``stop``.
"""

from __future__ import annotations

import concurrent.futures
import getpass
import itertools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import zmq

from sparkbook import messages as m
from sparkbook import wire
from sparkbook.driver import scheduler_events as ev
from sparkbook.driver.dagscheduler import DAGScheduler
from sparkbook.driver.jobwaiter import JobWaiter
from sparkbook.driver.listener import ExecutorMetricsUpdate, LiveListenerBus
from sparkbook.driver.liveness import ManagerLiveness
from sparkbook.driver.planpreview import preview_stages
from sparkbook.driver.tasksetmanager import Speculation
from sparkbook.errors import SparkException
from sparkbook.metrics import ExecutorMetrics

log = logging.getLogger("sparkbook.backend")

APP_HEARTBEAT_INTERVAL = 1.0
REGISTER_RETRY = 2.0  # an unanswered RegisterApplication is sent again after this
REVIVE_INTERVAL = 0.1  # how often the core hears a Tick


@dataclass
class ExecutorEndpoint:
    """The driver's connection to one executor."""

    executor_id: str
    channel: wire.Channel
    info: m.ExecutorInfo
    metrics: ExecutorMetrics | None = None


class SchedulerBackend:
    """See the module docstring."""

    def __init__(self, master_address: str, manager_name: str, key: bytes, app_name: str,
                 bus: LiveListenerBus, apply_accumulators: Callable[[bytes], None],
                 payload: Callable[[str, str], bytes], max_failures: int,
                 locality_wait: float, profile: bool = False,
                 manager_exit: Callable[[], str | None] | None = None,
                 manager_timeout: float = 5.0,
                 speculation: Speculation | None = None,
                 executor_wait: float = 60.0) -> None:
        self.key = key
        self.app_name = app_name
        self.bus = bus
        self.apply_accumulators = apply_accumulators
        self.payload = payload
        self.profile = profile
        # For local[N]: how the manager's process ended, or None while it runs.
        self._manager_exit = manager_exit
        self.manager_lost: str | None = None  # why jobs cannot run any more
        self._liveness = ManagerLiveness(manager_timeout, time.monotonic())
        self.zctx = zmq.Context()
        # Routes name the manager by its cluster file's address (see wire.Channel).
        self.manager = wire.Channel(wire.make_socket(self.zctx, zmq.DEALER), key, "manager",
                                    peer=manager_name)
        # Nothing queues for a manager that is away (see _to_manager).
        self.manager.socket.setsockopt(zmq.IMMEDIATE, 1)
        self.manager.socket.setsockopt(zmq.SNDTIMEO, 0)
        self.manager.socket.connect(master_address)
        self._register_due: float | None = None  # when to send RegisterApplication again
        # On the scheduler thread only.
        self._dag = DAGScheduler(max_failures, locality_wait, speculation=speculation,
                                 executor_wait=executor_wait)
        self.executors: dict[str, ExecutorEndpoint] = {}
        self._by_socket: dict[zmq.Socket, ExecutorEndpoint] = {}
        self._waiters: dict[int, JobWaiter] = {}
        self._job_ids = itertools.count()
        self.app_id: str | None = None
        self.registered = threading.Event()
        self.error: BaseException | None = None
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        # A full pipe wakes the loop already; a finalizer that posts on the scheduler
        # thread itself (the ContextCleaner's) must never wait for that thread to read.
        os.set_blocking(self._wake_w, False)
        self._poller = zmq.Poller()
        self._stopping = False
        self.manager_dispatch = m.Dispatcher("driver (from the manager)", {
            m.ExecutorMetricsUpdate: self._executor_metrics,
            m.RegisteredApplication: self._registered,
            m.ExecutorAdded: lambda msg: self._add_executor(msg.executor),
            m.ExecutorRemoved: lambda msg: self._remove_executor(
                msg.executor_id, msg.reason, msg.exit_caused_by_app),
            m.UnknownApplication: self._unknown_application,
            m.ClusterStatusReply: self._status_reply,
        })
        self._status_waiters: list[concurrent.futures.Future] = []  # scheduler thread only
        self._instruction_handlers: dict[type, Callable] = {
            ev.LaunchTask: self._send_launch,
            ev.KillTask: lambda i: self._send_to(i.executor_id, m.KillTask(i.task_id)),
            ev.RemoveBinary: lambda i: self._send_to(
                i.executor_id, m.RemoveBinary(self.app_id, i.binary_id)),
            ev.RddUnpersisted: lambda i: self._send_to_all(m.RemoveRdd(self.app_id, i.rdd_id)),
            ev.BroadcastRemoved: lambda i: self._send_to_all(
                m.RemoveBroadcast(self.app_id, i.bid)),
            ev.RemoveShuffle: lambda i: self._send_to_all(
                m.RemoveShuffle(self.app_id, i.shuffle_id)),
            ev.UpdateAccumulators: lambda i: self.apply_accumulators(i.blob),
            ev.TaskResult: lambda i: self._waiters[i.job_id].task_succeeded(i.index,
                                                                            i.result),
            ev.MapStageResult: lambda i: self._waiters[i.job_id].set_result(0, i.statistics),
            ev.JobEnded: self._job_ended,
        }
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

    def submit_job(self, rdd: object, func: Callable, partitions: list[int],
                   properties: dict, op: str, callsite: str) -> JobWaiter:
        """Start a job (as Spark's ``DAGScheduler.submitJob``); its results arrive in the
        waiter returned, whose ``job_id`` cancels it."""
        waiter = JobWaiter(next(self._job_ids), len(partitions))
        self._waiters[waiter.job_id] = waiter
        self._post(ev.JobSubmitted(waiter.job_id, rdd, func, partitions, properties, op,
                                   callsite))
        return waiter

    def submit_map_stage(self, dependency: object, properties: dict,
                         callsite: str) -> JobWaiter:
        """Run a shuffle's map stage as a job (Spark's ``DAGScheduler.submitMapStage``); its
        one result, in the waiter returned, is the shuffle's MapOutputStatistics."""
        waiter = JobWaiter(next(self._job_ids), 1)
        self._waiters[waiter.job_id] = waiter
        self._post(ev.MapStageSubmitted(waiter.job_id, dependency, properties, callsite))
        return waiter

    def cancel_job(self, job_id: int, reason: str) -> concurrent.futures.Future:
        return self._post(ev.CancelJob(job_id, reason))

    def cancel_jobs(self, predicate: Callable[[dict], bool],
                    reason: str) -> concurrent.futures.Future:
        """Cancel the active jobs whose local properties satisfy ``predicate``."""
        return self._post(ev.CancelJobs(predicate, reason))

    def unpersist_rdd(self, rdd_id: int) -> concurrent.futures.Future:
        return self._post(ev.RddUnpersisted(rdd_id))

    def remove_broadcast(self, bid: str) -> concurrent.futures.Future:
        return self._post(ev.BroadcastRemoved(bid))

    def clean(self, event: ev.ShuffleCleaned | ev.RddUnpersisted | ev.BroadcastRemoved
              ) -> concurrent.futures.Future:
        """A ContextCleaner's event; safe from a finalizer on any thread (never blocks)."""
        return self._post(event)

    def add_file(self, shipment: tuple[str, str]) -> concurrent.futures.Future:
        """An added file: every executor gets it with its next task."""
        return self._post(ev.FileAdded(shipment))

    def kill_executor(self, executor_id: str) -> concurrent.futures.Future:
        return self._post(lambda: self._to_manager(m.KillExecutor(executor_id)))

    def cached_partition_count(self, rdd_id: int) -> int:
        """How many partitions of the RDD some executor holds in its block store."""
        return self._read(lambda: self._dag.cached_partition_count(rdd_id))

    def plan(self, rdd: object, op: str, callsite: str) -> list[dict]:
        """The stages a job of ``op`` on ``rdd`` would run (``planpreview``), unsubmitted."""
        return self._read(lambda: preview_stages(self._dag, rdd, op, callsite))

    def cluster_status(self, timeout: float) -> m.ClusterStatusReply:
        """Ask the cluster manager for its view (``ClusterStatus``) and wait for the reply.
        Not from the scheduler's thread (a synchronous listener), which would answer it."""
        if self.manager_lost is not None:
            raise SparkException(self.manager_lost)
        reply: concurrent.futures.Future = concurrent.futures.Future()
        self._post(lambda: self._ask_status(reply))
        try:
            return reply.result(timeout)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"the cluster manager did not answer ClusterStatus in "
                               f"{timeout:g} s") from None

    def shuffle_ids(self) -> list[int]:
        """The shuffles the scheduling core still keeps (the ContextCleaner drops them)."""
        return self._read(self._dag.shuffle_ids)

    def executor_infos(self) -> list[m.ExecutorInfo]:
        """The executors granted now (a snapshot: the scheduler thread edits the table)."""
        return [e.info for e in list(self.executors.values())]

    def _read(self, read: Callable[[], object]) -> object:
        """``read()`` of the core's state, on the scheduler thread (which edits it)."""
        if threading.current_thread() is self._thread:  # e.g. a synchronous listener
            return read()
        return self._post(read).result()

    def wait_for_executors(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.executors) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.executors)} of {count} "
                                   f"executors registered in {timeout:.0f} s")
            time.sleep(0.005)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._post(self._shutdown)
            self._thread.join(5)
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self.zctx.destroy(0)

    def _post(self, command: ev.Event | Callable[[], object]) -> concurrent.futures.Future:
        """Hand an event (or a read of the scheduler's state) to the scheduler thread; the
        Future completes once it has been handled and its instructions carried out."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._commands.put((future, command))
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        return future

    # --- the scheduler thread ------------------------------------------------------------

    def _run(self) -> None:
        self._poller.register(self.manager.socket, zmq.POLLIN)
        self._poller.register(self._wake_r, zmq.POLLIN)
        self._register()
        next_heartbeat = time.monotonic() + APP_HEARTBEAT_INTERVAL
        next_tick = time.monotonic() + REVIVE_INTERVAL
        while not self._stopping:
            try:
                self._serve_once()
            except Exception as exc:  # noqa: BLE001 - the jobs fail; the thread serves on
                self._scheduler_failed(exc)
            now = time.monotonic()
            try:
                if self._register_due is not None and now >= self._register_due:
                    self._register()
                if now >= next_tick:
                    next_tick = now + REVIVE_INTERVAL
                    self._handle((ev.Tick(),))
                    self._check_manager()
                if now >= next_heartbeat and self.app_id is not None and not self.manager_lost:
                    next_heartbeat = now + APP_HEARTBEAT_INTERVAL
                    self._to_manager(m.AppHeartbeat(self.app_id))
            except Exception as exc:  # noqa: BLE001
                self._scheduler_failed(exc)

    def _serve_once(self) -> None:
        """Handle what the executors, the manager and the user sent since the last poll."""
        updates: list[ev.StatusUpdate] = []
        for sock, _ in self._poller.poll(REVIVE_INTERVAL * 1000):
            if sock in self._by_socket:
                self._receive_updates(self._by_socket[sock], updates)
                continue
            if updates:  # in arrival order with what the manager and the user say
                self._handle(updates)
                updates = []
            if sock is self.manager.socket:
                self._on_manager()
            elif sock == self._wake_r:
                self._run_commands()
        if updates:  # all that arrived together: one round of offers for them all
            self._handle(updates)

    def _scheduler_failed(self, exc: Exception) -> None:
        """A defect in the scheduler: every job fails with it (a thread that died would
        leave their callers waiting forever), and the next jobs may still run."""
        log.error("the scheduler failed", exc_info=exc)
        reason = (f"because the driver's scheduler failed: {type(exc).__name__}: {exc} "
                  "(the driver's log has the traceback)")
        active = list(self._dag.jobs)
        try:
            self._handle((ev.CancelJobs(lambda _: True, reason),))
        except Exception:  # noqa: BLE001 - their callers hear below
            log.exception("cancelling the jobs after the scheduler failed")
        for job_id in active:  # any the cancelling did not end
            waiter = self._waiters.pop(job_id, None)
            if waiter is not None:
                waiter.job_failed(SparkException(f"Job {job_id} aborted {reason}"))

    def _handle(self, events: list | tuple) -> None:
        for instruction in self._dag.handle_all(events):
            handler = self._instruction_handlers.get(type(instruction))
            if handler is None:
                self.bus.post(instruction)  # a listener event
            else:
                handler(instruction)

    def _run_commands(self) -> None:
        try:
            os.read(self._wake_r, 4096)
        except BlockingIOError:
            pass
        while True:
            try:
                future, command = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                if callable(command):
                    future.set_result(command())
                else:
                    self._handle((command,))
                    future.set_result(None)
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                log.exception("the scheduler failed on %r", command)
                future.set_exception(exc)
                if (isinstance(command, (ev.JobSubmitted, ev.MapStageSubmitted))
                        and command.job_id in self._waiters):
                    self._waiters.pop(command.job_id).job_failed(exc)  # the caller hears

    def _check_manager(self) -> None:
        """A local cluster's executors exit with its manager, and nobody would tell the
        driver they did: fail this and every later job instead of waiting forever. A
        silent manager otherwise is asked, then warned of; jobs go on meanwhile."""
        if self.manager_lost is not None or self.app_id is None:
            return
        reason = self._manager_exit() if self._manager_exit is not None else None
        if reason is None:
            now, liveness = time.monotonic(), self._liveness
            if liveness.should_probe(now):
                self._to_manager(m.ClusterStatus())
            if liveness.went_silent(now):
                log.warning("the cluster manager has not answered for %.0f s: jobs go on "
                            "with the %d executors this driver has, and no executor can "
                            "join until it is back", now - liveness.last_heard,
                            len(self.executors))
            return
        self.manager_lost = (f"Cluster manager died: {reason}, and its executors exited "
                             "with it. No job can run on this SparkContext any more: stop "
                             "it and create a new one.")
        log.error("%s", self.manager_lost)
        self._handle((ev.ClusterManagerLost(self.manager_lost),))
        for endpoint in self.executors.values():
            self._poller.unregister(endpoint.channel.socket)
            endpoint.channel.socket.close(0)
        self.executors.clear()
        self._by_socket.clear()

    def _ask_status(self, reply: concurrent.futures.Future) -> None:
        self._status_waiters.append(reply)  # the next reply answers every waiter
        self._to_manager(m.ClusterStatus())

    def _status_reply(self, msg: m.ClusterStatusReply) -> None:
        waiters, self._status_waiters = self._status_waiters, []
        for reply in waiters:
            if not reply.done():
                reply.set_result(msg)

    def _shutdown(self) -> None:
        self._stopping = True
        if self.app_id is not None and self.manager_lost is None:
            self._to_manager(m.UnregisterApplication(self.app_id))

    def _on_manager(self) -> None:
        try:
            msg = self.manager.recv()
        except wire.AuthenticationError as exc:
            self.error = exc
            self.registered.set()
            self._stopping = True
            return
        if msg is not None:
            if self._liveness.heard(time.monotonic()):
                log.warning("the cluster manager answers again")
            self.manager_dispatch(msg.message)

    def _to_manager(self, message: m.Message) -> bool:
        """Send to the manager unless it is away (nothing queues for it: a restarted
        manager must not get a burst of stale heartbeats and registrations)."""
        try:
            self.manager.send(message)
        except zmq.Again:
            return False
        return True

    def _register(self) -> None:
        """Register (again, under the same application id once it has one), and try
        again if no answer comes."""
        sent = self._to_manager(m.RegisterApplication(self.app_name, getpass.getuser(),
                                                      os.getpid(), self.app_id))
        self._register_due = time.monotonic() + (REGISTER_RETRY if sent else 0.05)

    def _unknown_application(self, msg: m.UnknownApplication) -> None:
        """A manager that forgot this application (it restarted): register once."""
        if self._register_due is None:
            log.warning("the cluster manager does not know application %s any more (it "
                        "restarted?): registering again", self.app_id)
            self._register()

    def _registered(self, msg: m.RegisteredApplication) -> None:
        self._register_due = None
        if self.app_id is not None and msg.app_id != self.app_id:
            log.error("the cluster manager gave this application a new id %s (it was %s): "
                      "executors keep its blocks under the old one", msg.app_id, self.app_id)
        self.app_id = self.app_id or msg.app_id
        for info in msg.executors:  # those it knows already stay as they are
            self._add_executor(info)
        self.registered.set()

    def _executor_metrics(self, msg: m.ExecutorMetricsUpdate) -> None:
        endpoint = self.executors.get(msg.executor_id)
        if endpoint is not None:
            endpoint.metrics = msg.metrics
            self.bus.post(ExecutorMetricsUpdate(msg.executor_id, msg.metrics))

    def _add_executor(self, info: m.ExecutorInfo) -> None:
        executor_id = info.executor_id
        known = self.executors.get(executor_id)
        if known is not None and known.info.address == info.address:
            return  # the same executor, told again (e.g. by a restarted manager)
        if known is not None:
            self._remove_executor(executor_id, "re-registered at another address")
        sock = wire.make_socket(self.zctx, zmq.DEALER, identity=self.app_id.encode())
        sock.connect(info.address)
        channel = wire.Channel(sock, self.key, f"executor {executor_id}", peer=info.address)
        endpoint = ExecutorEndpoint(executor_id, channel, info)
        self.executors[executor_id] = self._by_socket[sock] = endpoint
        self._poller.register(sock, zmq.POLLIN)
        self._handle((ev.ExecutorAdded(info),))

    def _remove_executor(self, executor_id: str, reason: str,
                         exit_caused_by_app: bool = False) -> None:
        endpoint = self.executors.pop(executor_id, None)
        if endpoint is None:
            return
        self._poller.unregister(endpoint.channel.socket)
        self._by_socket.pop(endpoint.channel.socket, None)
        endpoint.channel.socket.close(0)
        self._send_to_all(m.ExecutorLost(executor_id))  # its peers' fetches fail at once
        self._handle((ev.ExecutorLost(executor_id, reason, exit_caused_by_app),))

    def _receive_updates(self, endpoint: ExecutorEndpoint, into: list) -> None:
        sock = endpoint.channel.socket
        # Asking for EVENTS, not recv until zmq.Again: an exception per drain costs more
        # than the rest of receiving a small StatusUpdate.
        while sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:
            msg = endpoint.channel.recv(zmq.NOBLOCK)
            if msg is not None and isinstance(msg.message, m.StatusUpdate):
                into.append(ev.StatusUpdate(msg.message, [f.bytes for f in msg.frames]))

    # --- carrying out instructions ---------------------------------------------------------

    def _send_launch(self, launch: ev.LaunchTask) -> None:
        frames = [launch.split]
        if launch.binary is not None:
            frames.append(launch.binary)
        frames.extend(self.payload(kind, name) for kind, name in launch.shipments)
        self.executors[launch.executor_id].channel.send(m.LaunchTask(
            self.app_id, launch.task_id, launch.stage_id, launch.stage_attempt,
            launch.partition, launch.attempt, launch.kind, launch.binary_id,
            launch.binary is not None, launch.shipments, launch.shuffle_locations,
            launch.properties, self.profile), frames)

    def _job_ended(self, ended: ev.JobEnded) -> None:
        waiter = self._waiters.pop(ended.job_id)
        if ended.error is None:
            waiter.job_succeeded()
        else:
            waiter.job_failed(ended.error)

    def _send_to(self, executor_id: str, message: m.Message) -> None:
        endpoint = self.executors.get(executor_id)
        if endpoint is not None:
            endpoint.channel.send(message)

    def _send_to_all(self, message: m.Message) -> None:
        for endpoint in self.executors.values():
            endpoint.channel.send(message)
