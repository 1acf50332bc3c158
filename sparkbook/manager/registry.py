"""The cluster manager's registry, as a state machine without sockets.

Events come in (an executor registers or heartbeats, a driver registers an application,
time passes) and the registry answers with ``Send`` instructions for the server to
deliver. Executors are shared by every application: each application is granted all
live executors, is told of each new one, and is told at once when one is lost.

A restarted manager starts with an empty registry; executors and applications register
again with the ids they had, and keep them unless this registry gave them away (or
declared that executor lost).
"""

from __future__ import annotations

import dataclasses
import re
import signal
from collections.abc import Callable
from dataclasses import dataclass

from sparkbook import messages as m
from sparkbook.metrics import ExecutorMetrics


@dataclass
class Send:
    """Deliver ``message`` to the peer whose socket identity is ``to``."""

    to: bytes
    message: m.Message


@dataclass
class ExecutorEntry:
    """A registered executor: what drivers are told of it, and its liveness."""

    info: m.ExecutorInfo
    identity: bytes
    last_heartbeat: float
    metrics: ExecutorMetrics | None = None
    heartbeat_identity: bytes | None = None  # its sidecar's, which sends its heartbeats
    kill_requested: bool = False  # a driver asked for it to be killed

    @property
    def executor_id(self) -> str:
        return self.info.executor_id


@dataclass
class ApplicationInfo:
    app_id: str
    identity: bytes
    name: str
    user: str
    pid: int
    start_time: float
    last_heartbeat: float


class Registry:
    """Executors and applications, heartbeats and liveness."""

    def __init__(self, heartbeat_timeout: float = 3.0, hash_probe: int | None = None,
                 app_timeout: float = 30.0, start_time: float = 0.0) -> None:
        self.heartbeat_timeout = heartbeat_timeout
        self.app_timeout = app_timeout
        self.hash_probe = hash_probe
        self.executors: dict[str, ExecutorEntry] = {}
        self.apps: dict[str, ApplicationInfo] = {}
        self.lost: dict[str, str] = {}
        self._next_executor_id = 0
        self._next_app_id = 0
        self._start = start_time

    def handlers(self) -> dict[type[m.Message], Callable[[m.Message, bytes, float], list[Send]]]:
        """The manager's dispatch table: message type -> handler(message, sender's socket
        identity, now) -> what to send."""
        return {
            m.RegisterExecutor: self.register_executor, m.Heartbeat: self.heartbeat,
            m.RegisterApplication: self.register_app, m.AppHeartbeat: self.app_heartbeat,
            m.UnregisterApplication: self.unregister_app, m.KillExecutor: self.kill_executor,
            m.ClusterStatus: self.cluster_status,
        }

    # --- executors ----------------------------------------------------------------------

    def register_executor(self, msg: m.RegisterExecutor, identity: bytes,
                          now: float) -> list[Send]:
        if self.hash_probe is not None and msg.hash_probe != self.hash_probe:
            return [Send(identity, m.RegisterExecutorFailed(
                "this executor hashes strings differently from the cluster; start it with "
                f"the same PYTHONHASHSEED as the manager (sparkbook sets {m.HASH_SEED})"))]
        for ex in self.executors.values():
            if ex.identity == identity:  # a registration sent again: the same answer
                return [Send(identity, m.RegisteredExecutor(ex.executor_id))]
        executor_id = msg.executor_id
        if executor_id is None or executor_id in self.executors or executor_id in self.lost:
            executor_id = str(self._next_executor_id)
        if executor_id.isdigit():
            self._next_executor_id = max(self._next_executor_id, int(executor_id) + 1)
        info = m.ExecutorInfo(executor_id, msg.address, msg.host, msg.hostname, msg.cores,
                              msg.memory, msg.pid)
        self.executors[executor_id] = ExecutorEntry(info, identity, now,
                                                    heartbeat_identity=msg.heartbeat_identity)
        return [Send(identity, m.RegisteredExecutor(executor_id)),
                *self._to_apps(m.ExecutorAdded(info))]

    def heartbeat(self, msg: m.Heartbeat, identity: bytes, now: float) -> list[Send]:
        ex = self.executors.get(msg.executor_id)
        if ex is None or identity not in (ex.identity, ex.heartbeat_identity):
            # Declared lost: its drivers forgot its blocks. Else this registry never knew
            # it (a restarted manager) or gave its id to another: it keeps its blocks.
            return [Send(identity, m.UnknownExecutor(msg.executor_id,
                                                     msg.executor_id in self.lost))]
        ex.last_heartbeat = now
        ex.metrics = msg.metrics
        return self._to_apps(m.ExecutorMetricsUpdate(msg.executor_id, msg.metrics))

    def remove_executor(self, executor_id: str, reason: str, exit_code: int | None = None,
                        exit_signal: int | None = None,
                        caused_by_app: bool = False) -> list[Send]:
        if self.executors.pop(executor_id, None) is None:
            return []
        self.lost[executor_id] = reason
        return self._to_apps(m.ExecutorRemoved(executor_id, reason, exit_code, exit_signal,
                                               caused_by_app))

    def executor_process_exited(self, pid: int, returncode: int | None = None) -> list[Send]:
        """A local executor's process exited (``returncode`` as ``Popen``'s: -N for signal
        N): it is lost now, not at the heartbeat timeout. Unless a driver asked for it to
        be killed, the application caused it (a task's ``os._exit``, a segfault, the
        OOM killer), as Spark's ``ExecutorExited(exitCausedByApp=true)``."""
        sends: list[Send] = []
        for ex in [ex for ex in self.executors.values() if ex.info.pid == pid]:
            code, sig = _exit_status(returncode)
            reason = _exit_reason(ex, code, sig)
            sends += self.remove_executor(ex.executor_id, reason, code, sig,
                                          caused_by_app=not ex.kill_requested)
        return sends

    def shutdown(self) -> list[Send]:
        """The manager stops: every executor is told to exit."""
        return [Send(ex.identity, m.Shutdown()) for ex in self.executors.values()]

    def kill_executor(self, msg: m.KillExecutor, identity: bytes, now: float) -> list[Send]:
        ex = self.executors.get(msg.executor_id)
        if ex is None:
            return []
        ex.kill_requested = True
        return [Send(ex.identity, m.KillExecutor())]

    def _to_apps(self, message: m.Message) -> list[Send]:
        return [Send(app.identity, message) for app in self.apps.values()]

    # --- applications -------------------------------------------------------------------

    def register_app(self, msg: m.RegisterApplication, identity: bytes,
                     now: float) -> list[Send]:
        for app in self.apps.values():
            if app.identity == identity:  # a registration sent again: the same answer
                return [Send(identity, m.RegisteredApplication(
                    app.app_id, [ex.info for ex in self.executors.values()]))]
        app_id = msg.app_id
        if app_id is None or app_id in self.apps:
            app_id = f"app-{self._start:.0f}-{self._next_app_id:04d}"
        ours = re.fullmatch(rf"app-{self._start:.0f}-(\d+)", app_id)
        if ours:
            self._next_app_id = max(self._next_app_id, int(ours[1]) + 1)
        self.apps[app_id] = ApplicationInfo(app_id, identity, msg.name, msg.user, msg.pid,
                                            now, now)
        executors = [ex.info for ex in self.executors.values()]
        return [Send(identity, m.RegisteredApplication(app_id, executors))]

    def app_heartbeat(self, msg: m.AppHeartbeat, identity: bytes, now: float) -> list[Send]:
        app = self.apps.get(msg.app_id)
        if app is None or app.identity != identity:
            return [Send(identity, m.UnknownApplication(msg.app_id))]
        app.last_heartbeat = now
        return []

    def unregister_app(self, msg: m.UnregisterApplication, identity: bytes,
                       now: float) -> list[Send]:
        return self.remove_app(msg.app_id)

    def cluster_status(self, msg: m.ClusterStatus, identity: bytes, now: float) -> list[Send]:
        return [Send(identity, self.status())]

    def remove_app(self, app_id: str) -> list[Send]:
        if self.apps.pop(app_id, None) is None:
            return []
        return [Send(ex.identity, m.ApplicationRemoved(app_id))
                for ex in self.executors.values()]

    # --- time ---------------------------------------------------------------------------

    def check_timeouts(self, now: float) -> list[Send]:
        """Declare silent executors lost and silent applications finished."""
        sends: list[Send] = []
        for ex in list(self.executors.values()):
            silent = now - ex.last_heartbeat
            if silent > self.heartbeat_timeout:
                sends += self.remove_executor(
                    ex.executor_id, f"no heartbeat for {silent:.1f} s (executor lost)")
        for app in list(self.apps.values()):
            if now - app.last_heartbeat > self.app_timeout:
                sends += self.remove_app(app.app_id)
        return sends

    def status(self) -> m.ClusterStatusReply:
        executors = [dict(dataclasses.asdict(ex.info), metrics=ex.metrics)
                     for ex in self.executors.values()]
        apps = [{"app_id": a.app_id, "name": a.name, "user": a.user, "pid": a.pid}
                for a in self.apps.values()]
        return m.ClusterStatusReply(executors, apps, dict(self.lost))


def _exit_status(returncode: int | None) -> tuple[int | None, int | None]:
    """(exit code, signal) from a ``Popen.returncode``."""
    if returncode is None:
        return None, None
    return (None, -returncode) if returncode < 0 else (returncode, None)


def _exit_reason(ex: ExecutorEntry, code: int | None, sig: int | None) -> str:
    """Why the process went, in words: "executor 3 exited with code 1", "executor 3
    killed by signal 9 (SIGKILL)", and memory named as the likely cause when its last
    heartbeat said it was far over its limit."""
    who = f"executor {ex.executor_id}"
    if sig is not None:
        try:
            name = f" ({signal.Signals(sig).name})"
        except ValueError:
            name = ""
        text = f"{who} killed by signal {sig}{name}"
    elif code is not None:
        text = f"{who} exited with code {code}"
    else:
        text = f"{who} process exited"
    if ex.kill_requested:
        return text + ", as a driver asked"
    metrics = ex.metrics
    if metrics is not None and metrics.over_memory_limit:
        text += (f"; it was using {metrics.rss / 2**20:.0f} MB, far over its memory limit of "
                 f"{metrics.memory_limit / 2**20:.0f} MB: likely killed for exceeding "
                 "memory limits (raise --memory, or use more, smaller partitions)")
    return text
