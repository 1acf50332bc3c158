"""The cluster manager's registry, as a state machine without sockets.

Events come in (an executor registers or heartbeats, a driver registers an application,
time passes) and the registry answers with ``Send`` instructions for the server to
deliver. Executors are shared by every application: each application is granted all
live executors, is told of each new one, and is told at once when one is lost.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field


@dataclass
class Send:
    """Deliver ``type``/``body`` to the peer whose socket identity is ``to``."""

    to: bytes
    type: bytes
    body: dict


@dataclass
class ExecutorInfo:
    executor_id: str
    identity: bytes
    address: str
    host: str
    hostname: str
    cores: int
    memory: int
    pid: int
    last_heartbeat: float
    metrics: dict = field(default_factory=dict)

    def public(self) -> dict:
        return {"executor_id": self.executor_id, "address": self.address, "host": self.host,
                "hostname": self.hostname, "cores": self.cores, "memory": self.memory,
                "pid": self.pid}


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
        self.executors: dict[str, ExecutorInfo] = {}
        self.apps: dict[str, ApplicationInfo] = {}
        self.lost: dict[str, str] = {}
        self._executor_ids = itertools.count()
        self._app_ids = itertools.count()
        self._start = start_time

    # --- executors ----------------------------------------------------------------------

    def register_executor(self, identity: bytes, info: dict, now: float) -> list[Send]:
        if self.hash_probe is not None and info.get("hash_probe") != self.hash_probe:
            return [Send(identity, b"RegisterExecutorFailed", {"reason": (
                "this executor hashes strings differently from the cluster; start it with "
                "the same PYTHONHASHSEED as the manager (sparkbook sets 0)")})]
        executor_id = str(next(self._executor_ids))
        ex = ExecutorInfo(executor_id, identity, info["address"], info.get("host", ""),
                          info.get("hostname", ""), int(info.get("cores", 1)),
                          int(info.get("memory", 0)), int(info.get("pid", 0)), now)
        self.executors[executor_id] = ex
        sends = [Send(identity, b"RegisteredExecutor", {"executor_id": executor_id})]
        sends += [Send(app.identity, b"ExecutorAdded", ex.public()) for app in self.apps.values()]
        return sends

    def heartbeat(self, identity: bytes, executor_id: str, metrics: dict,
                  now: float) -> list[Send]:
        ex = self.executors.get(executor_id)
        if ex is None or ex.identity != identity:
            return [Send(identity, b"UnknownExecutor", {"executor_id": executor_id})]
        ex.last_heartbeat = now
        ex.metrics = metrics
        body = {"executor_id": executor_id, "metrics": metrics}
        return [Send(app.identity, b"ExecutorMetrics", body) for app in self.apps.values()]

    def remove_executor(self, executor_id: str, reason: str) -> list[Send]:
        ex = self.executors.pop(executor_id, None)
        if ex is None:
            return []
        self.lost[executor_id] = reason
        body = {"executor_id": executor_id, "reason": reason}
        return [Send(app.identity, b"ExecutorRemoved", body) for app in self.apps.values()]

    def kill_executor(self, executor_id: str) -> list[Send]:
        ex = self.executors.get(executor_id)
        return [] if ex is None else [Send(ex.identity, b"KillExecutor", {})]

    # --- applications -------------------------------------------------------------------

    def register_app(self, identity: bytes, info: dict, now: float) -> list[Send]:
        app_id = f"app-{self._start:.0f}-{next(self._app_ids):04d}"
        self.apps[app_id] = ApplicationInfo(app_id, identity, info.get("name", ""),
                                            info.get("user", ""), int(info.get("pid", 0)),
                                            now, now)
        executors = [ex.public() for ex in self.executors.values()]
        return [Send(identity, b"RegisteredApplication",
                     {"app_id": app_id, "executors": executors})]

    def app_heartbeat(self, identity: bytes, app_id: str, now: float) -> list[Send]:
        app = self.apps.get(app_id)
        if app is None or app.identity != identity:
            return [Send(identity, b"UnknownApplication", {"app_id": app_id})]
        app.last_heartbeat = now
        return []

    def remove_app(self, app_id: str) -> list[Send]:
        if self.apps.pop(app_id, None) is None:
            return []
        return [Send(ex.identity, b"ApplicationRemoved", {"app_id": app_id})
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

    def status(self) -> dict:
        return {
            "executors": [dict(ex.public(), metrics=ex.metrics) for ex in self.executors.values()],
            "applications": [{"app_id": a.app_id, "name": a.name, "user": a.user, "pid": a.pid}
                             for a in self.apps.values()],
            "lost": dict(self.lost),
        }
