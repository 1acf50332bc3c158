"""What a lesson can check about what just happened: recent jobs with their stages, the
widget's last model, and the cluster's processes. Lessons assert their claims with these.

``recent_jobs``, ``jobs_run_by``, ``executors`` and ``last_cell`` read the notebook's active
engine (sparkbook's listener bus, Spark's status tracker and UI, or a Spark Connect server's
UI), so the same lesson cell runs on each; ``sql`` gives the engine's own SQL package, whose
``functions`` build Columns of ``spark``'s DataFrames. ``cluster_processes`` is sparkbook's
only: Spark's executors are JVMs it does not show as processes."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType

import psutil


def _magics():
    from IPython import get_ipython

    shell = get_ipython()
    return None if shell is None else shell.magics_manager.registry.get("SparkMagics")


def _engine(sc):
    """The notebook's engine whose ``sc`` this is, or None (no notebook, another sc)."""
    magics = _magics()
    engine = magics.session.running if magics is not None else None
    return engine if engine is not None and engine.sc is sc else None


def _recent(sc, n: int) -> dict:
    engine = _engine(sc)
    if engine is not None:
        return engine.recent_jobs(n)
    from sparkbook.notebook.engines.native import recent_snapshot

    return recent_snapshot(sc, n)


def recent_jobs(sc, n: int = 1) -> list[dict]:
    """The last ``n`` jobs, oldest first, each with its stages (as the widget shows them),
    after the engine's view of them has settled."""
    snap = _recent(sc, n)
    for job in snap["jobs"]:
        job["stages"] = [s for s in snap["stages"] if s["job_id"] == job["id"]]
    return snap["jobs"]


def jobs_run_by(sc, action: Callable[[], object], most: int = 50) -> list[dict]:
    """Run ``action`` and return the jobs it started (at most ``most``), oldest first, each
    with its stages, as ``recent_jobs`` gives them: a listener's view on any engine."""
    newest = max((job["id"] for job in recent_jobs(sc, 1)), default=-1)
    action()
    return [job for job in recent_jobs(sc, most) if job["id"] > newest]


def executors(sc) -> list[dict]:
    """The executors as the widget shows them (``id``, ``cores``, ``active``, ``completed``
    and ``failed`` tasks...), after the engine's view of the jobs so far has settled."""
    return _recent(sc, 0)["executors"]


def last_cell() -> dict:
    """What the widget of the last finished ``%%spark`` cell drew, as plain data: its jobs,
    stages (the DAG), shuffles (the matrices, hot keys), tasks (the timeline), executors."""
    magics = _magics()
    snapshot = magics.last_cell if magics is not None else None
    if snapshot is None:
        raise RuntimeError("no %%spark cell has shown its widget yet")
    return snapshot


def sql(spark) -> ModuleType:
    """The SQL package of ``spark``'s engine (``sparkbook.sql`` or ``pyspark.sql``), with
    ``functions`` and ``Window`` loaded: ``F = sql(spark).functions``."""
    name = "sparkbook.sql" if type(spark).__module__.startswith("sparkbook.") else "pyspark.sql"
    importlib.import_module(f"{name}.functions")
    return importlib.import_module(name)


def cluster_processes(sc) -> list[dict]:
    """The driver, the cluster manager and the executors: role, pid, listening ports."""
    found = [("driver", psutil.Process().pid)]
    local = sc.cluster.local_processes()
    if local is not None:
        found.append(("cluster manager", local["manager"]))
    found += [(f"executor {e.executor_id}", e.pid) for e in sc.cluster.executors()]
    rows = []
    for role, pid in found:
        proc = psutil.Process(pid)
        ports = sorted({c.laddr.port for c in proc.net_connections("tcp")
                        if c.status == psutil.CONN_LISTEN})
        rows.append({"role": role, "pid": pid, "ports": ports,
                     "command": " ".join(proc.cmdline()[1:5])})
    return rows
