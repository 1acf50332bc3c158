"""The cluster manager's registry, as a state machine without sockets.

Events come in (an executor registers or heartbeats, a driver registers an application,
time passes) and the registry answers with ``Send`` instructions for the server to
deliver. Executors are shared by every application: each application is granted all
live executors, is told of each new one, and is told at once when one is lost.
"""

from __future__ import annotations

import dataclasses
import itertools
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
        self._executor_ids = itertools.count()
        self._app_ids = itertools.count()
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
        executor_id = str(next(self._executor_ids))
        info = m.ExecutorInfo(executor_id, msg.address, msg.host, msg.hostname, msg.cores,
                              msg.memory, msg.pid)
        self.executors[executor_id] = ExecutorEntry(info, identity, now)
        return [Send(identity, m.RegisteredExecutor(executor_id)),
                *self._to_apps(m.ExecutorAdded(info))]

    def heartbeat(self, msg: m.Heartbeat, identity: bytes, now: float) -> list[Send]:
        ex = self.executors.get(msg.executor_id)
        if ex is None or ex.identity != identity:
            return [Send(identity, m.UnknownExecutor(msg.executor_id))]
        ex.last_heartbeat = now
        ex.metrics = msg.metrics
        return self._to_apps(m.ExecutorMetricsUpdate(msg.executor_id, msg.metrics))

    def remove_executor(self, executor_id: str, reason: str) -> list[Send]:
        if self.executors.pop(executor_id, None) is None:
            return []
        self.lost[executor_id] = reason
        return self._to_apps(m.ExecutorRemoved(executor_id, reason))

    def executor_process_exited(self, pid: int) -> list[Send]:
        """A local executor's process exited: it is lost now, not at the heartbeat timeout."""
        sends: list[Send] = []
        for ex in [ex for ex in self.executors.values() if ex.info.pid == pid]:
            sends += self.remove_executor(ex.executor_id,
                                          "executor process exited (executor lost)")
        return sends

    def shutdown(self) -> list[Send]:
        """The manager stops: every executor is told to exit."""
        return [Send(ex.identity, m.Shutdown()) for ex in self.executors.values()]

    def kill_executor(self, msg: m.KillExecutor, identity: bytes, now: float) -> list[Send]:
        ex = self.executors.get(msg.executor_id)
        return [] if ex is None else [Send(ex.identity, m.KillExecutor())]

    def _to_apps(self, message: m.Message) -> list[Send]:
        return [Send(app.identity, message) for app in self.apps.values()]

    # --- applications -------------------------------------------------------------------

    def register_app(self, msg: m.RegisterApplication, identity: bytes,
                     now: float) -> list[Send]:
        app_id = f"app-{self._start:.0f}-{next(self._app_ids):04d}"
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
