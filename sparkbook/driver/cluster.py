"""ClusterView (``sc.cluster``): the executors a driver is using, and the processes behind them.

What the architecture and fault-tolerance lessons look at: each executor's id, address and
pid, the local cluster's manager process, killing an executor on purpose, and the cluster
manager's own view of its cluster (``status``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sparkbook.messages import ExecutorInfo

if TYPE_CHECKING:
    from sparkbook.driver.backend import SchedulerBackend
    from sparkbook.driver.local_cluster import LocalCluster


def _id_order(executor_id: str) -> tuple[int, str]:
    return len(executor_id), executor_id  # "2" before "10"


@dataclass
class ManagerStatus:
    """What the cluster manager knows, as its ``ClusterStatusReply`` says: every
    registered executor (``ExecutorInfo``'s fields and its last heartbeat's ``metrics``,
    an ``ExecutorMetrics`` or None), every application (``app_id``, ``name``, ``user``,
    ``pid``) and the executors it declared lost, each with the reason."""

    executors: list[dict]
    applications: list[dict]
    lost: dict[str, str]


class ClusterView:
    """The driver's view of its cluster, live: each call reads the current executors."""

    def __init__(self, backend: SchedulerBackend, local_cluster: LocalCluster | None) -> None:
        self._backend = backend
        self._local_cluster = local_cluster

    def executors(self) -> list[ExecutorInfo]:
        """The executors registered now, by id: id, address, host, hostname, cores, memory
        (of its block store, in bytes) and pid."""
        return sorted((dataclasses.replace(info) for info in self._backend.executor_infos()),
                      key=lambda info: _id_order(info.executor_id))

    def executor_pids(self) -> dict[str, int]:
        """Executor id -> process id, for the executors registered now."""
        return {e.executor_id: e.pid for e in self.executors()}

    def kill_executor(self, executor_id: str) -> int:
        """Have the cluster manager kill an executor at once, as a crash would; its pid.

        Returns once the request is sent: the driver hears of the loss as ``ExecutorRemoved``,
        and a local cluster's manager then starts a replacement. Not for listeners that run
        on the scheduler's thread (``addSparkListener(..., synchronous=True)``), which
        would wait on themselves.
        """
        pids = self.executor_pids()
        if executor_id not in pids:
            known = sorted(pids, key=_id_order)
            raise ValueError(f"no executor {executor_id!r}; executors: {known}")
        self._backend.kill_executor(executor_id).result()
        return pids[executor_id]

    def local_processes(self) -> dict | None:
        """For ``local[N]``: ``{"manager": pid, "executors": [pids]}``, the manager this
        context started and the executor processes it runs now (including any not yet
        registered). None when the context joined a standalone cluster, whose manager is
        another machine's or another program's."""
        return None if self._local_cluster is None else self._local_cluster.pids

    def status(self, timeout: float = 5.0) -> ManagerStatus:
        """Ask the cluster manager for its view of the cluster; executors by id.

        Raises TimeoutError when the manager does not answer within ``timeout`` seconds,
        and SparkException once a local cluster's manager has died. Not for listeners that
        run on the scheduler's thread, which would wait on themselves.
        """
        reply = self._backend.cluster_status(timeout)
        executors = sorted((dict(e) for e in reply.executors),
                           key=lambda e: _id_order(e["executor_id"]))
        return ManagerStatus(executors, list(reply.applications), dict(reply.lost))
