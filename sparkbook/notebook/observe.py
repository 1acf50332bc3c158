"""What a lesson can check about what just happened: recent jobs with their stages, and
the cluster's processes. Lessons assert their claims with these."""

from __future__ import annotations

import psutil

from sparkbook.notebook.snapshot import take_snapshot


def recent_jobs(sc, n: int = 1) -> list[dict]:
    """The last ``n`` jobs, oldest first, each with its stages (as the widget shows them)."""
    sc.waitForListeners()
    store = sc.statusStore
    with store.lock:
        ids = sorted(store.jobs)[-n:] if n else []
    snap = take_snapshot(store, ids)
    for job in snap["jobs"]:
        job["stages"] = [s for s in snap["stages"] if s["job_id"] == job["id"]]
    return snap["jobs"]


def last_cell() -> dict:
    """What the widget of the last finished ``%%spark`` cell drew, as plain data: its jobs,
    stages (the DAG), shuffles (the matrices, hot keys), tasks (the timeline), executors."""
    from IPython import get_ipython

    snapshot = get_ipython().magics_manager.registry["SparkMagics"].last_cell
    if snapshot is None:
        raise RuntimeError("no %%spark cell has shown its widget yet")
    return snapshot


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
