"""``--engine pyspark``: classic Apache Spark, a real ``pyspark.SparkContext`` as ``sc``.

Each ``%%spark`` cell runs under its own job group (``sc.setJobGroup``), so its widget
shows only its own jobs: their stages and task counts from ``sc.statusTracker()``, bytes,
times and skew from the Spark UI's REST API, read by the widget's refresh thread. An
interrupt cancels the cell's job group (``interrupts.py``: without breaking py4j when it
lands while the code waits on the JVM).
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable

from sparkbook.notebook.engines import CellRun, Engine
from sparkbook.notebook.engines.interrupts import HeldInterrupts
from sparkbook.notebook.engines.runtime import require_java, require_pyspark
from sparkbook.notebook.engines.sparkui import (
    FINAL_STAGE,
    SparkUI,
    cell_state,
    executor_lines,
    job_row,
    stage_row,
)

APP_NAME = "sparkbook-notebook"
SETTLE_TIMEOUT = 2.0  # seconds a cell's end waits for Spark's listener bus to catch up
CALL_SITE = re.compile(r"^(?P<what>.* at )(?P<file>.+):(?P<line>\d+)$")
_groups = itertools.count(1)


class PySparkEngine(Engine):
    """Classic PySpark on ``master``: ``local[N]``, ``spark://HOST:7077``, ``yarn``, ``k8s://``."""

    name = "pyspark"

    def __init__(self, master: str, settings: dict[str, str],
                 namer: Callable[[str], str | None] | None = None) -> None:
        require_pyspark()
        require_java()
        from pyspark import SparkConf, SparkContext
        from pyspark.sql import SparkSession

        conf = SparkConf().setMaster(master).setAppName(APP_NAME)
        conf.setAll(list(settings.items()))
        self.sc = SparkContext.getOrCreate(conf)
        self.spark = SparkSession(self.sc)
        self.namer = namer
        self.groups: list[str] = []  # every cell's job group, in order
        url = self.sc.uiWebUrl
        ui = SparkUI(url, self.sc.applicationId) if url else None
        self.ui = ui if ui is not None and ui.reachable else None

    @property
    def running(self) -> bool:
        return self.sc._jsc is not None

    def ready_line(self, joined: bool = False) -> str:
        sc = self.sc
        ui = f", Spark UI {sc.uiWebUrl}" if sc.uiWebUrl else ""
        return (f"pyspark: Apache Spark {sc.version} on {sc.master}, application "
                f"{sc.applicationId}{ui}; `sc` and `spark` are ready")

    def executors(self) -> list[dict]:
        return self.ui.executors() if self.ui is not None else []

    def status_lines(self) -> list[str]:
        sc = self.sc
        lines = [f"cluster: {sc.master} (Apache Spark {sc.version}, classic pyspark)",
                 f"application: {sc.applicationId} ({sc.appName})",
                 f"Spark UI: {sc.uiWebUrl or 'disabled'}", "executors:"]
        lines += executor_lines(self.executors())
        running = sorted(sc.statusTracker().getActiveJobsIds())
        lines.append(f"running jobs: {running or 'none'}")
        return lines

    def kill_executor(self, executor_id: str) -> str:
        master = self.sc.master
        if master.startswith("local"):
            return (f"pyspark: {master} has no separate executors to kill: one JVM (the "
                    "driver) runs every task. Use a cluster master (spark://, yarn, k8s://)")
        try:
            killed = self.sc._jsc.sc().killExecutor(executor_id)
        except Exception as exc:  # noqa: BLE001 - Py4JJavaError: the backend cannot do it
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return f"pyspark: {master} does not support killing executors ({reason})"
        if killed:
            return f"pyspark: asked {master} to kill executor {executor_id}"
        return (f"pyspark: {master} did not kill executor {executor_id} (unknown id, or the "
                "cluster manager refused)")

    def cell(self, title: str) -> CellRun:
        return PySparkCell(self, title)

    def recent_jobs(self, n: int) -> dict:
        # Jobs of every cell's group, and of code outside any %%spark cell (no group).
        tracker = self.sc.statusTracker()
        ids = sorted({j for group in (None, *self.groups)
                      for j in tracker.getJobIdsForGroup(group)})
        view = PySparkCell(self, "", jobs=ids[-n:] if n else [])
        view.settle()
        # The UI's listener lags the status tracker: wait for its stages' final figures.
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            snap = view.snapshot()
            if (all(s["status"] in FINAL_STAGE for s in snap["stages"])
                    or time.monotonic() > deadline):
                return snap
            time.sleep(0.05)

    def name_call_site(self, name: str) -> str:
        """``collect at /tmp/ipykernel_1/123.py:5`` as ``collect at cell 4, line 5``."""
        found = CALL_SITE.match(name)
        label = self.namer(found["file"]) if found and self.namer else None
        return f"{found['what']}{label}, line {found['line']}" if label else name

    def stop(self) -> None:
        if self.running:
            self.spark.stop()
            self.sc.stop()


class PySparkCell(CellRun):
    """One cell's job group and the widget's view of it."""

    def __init__(self, engine: PySparkEngine, title: str,
                 jobs: list[int] | None = None) -> None:
        self.engine = engine
        self.job_ids = jobs  # None: the jobs of the cell's own group
        self.sc = engine.sc
        self.group = f"sparkbook-cell-{next(_groups)}"
        self.title = title
        self._seen: dict[int, float] = {}  # job id -> when the feed first saw it
        self._lock = threading.Lock()
        self.interrupts = HeldInterrupts(self.interrupt, self.sc._gateway._gateway_client)

    def begin(self) -> None:
        # No description: jobs keep Spark's own names ("collect at ...").
        self.sc.setJobGroup(self.group, None, interruptOnCancel=True)
        self.engine.groups.append(self.group)
        self.interrupts.install()

    def code_ended(self) -> None:
        self.interrupts.code_ended()

    def _jobs(self) -> list[int]:
        if self.job_ids is not None:
            return self.job_ids
        return sorted(self.sc.statusTracker().getJobIdsForGroup(self.group))

    def snapshot(self) -> dict:
        tracker, ui, now = self.sc.statusTracker(), self.engine.ui, time.time()
        jobs, stages = [], []
        for job_id in self._jobs():
            info = tracker.getJobInfo(job_id)
            if info is None:
                continue
            with self._lock:
                first = self._seen.setdefault(job_id, now)
            stage_ids = sorted(info.stageIds)
            rest = ui.job(job_id) if ui is not None else None
            error = None
            for stage_id in stage_ids:
                known = self._stage(tracker, stage_id)
                error = error or known.pop("error", None)
                stages.append(stage_row(stage_id, job_id, **known))
            name = (rest or {}).get("name") or next(
                (s["name"] for s in reversed(stages) if s["job_id"] == job_id), "")
            duration = ui.job_duration(rest) if rest else now - first
            jobs.append(job_row(job_id, self.engine.name_call_site(name), info.status,
                                duration, stage_ids, error if info.status == "FAILED" else None))
        return cell_state(jobs, stages, self.engine.executors())

    def _stage(self, tracker, stage_id: int) -> dict:
        known = {}
        info = tracker.getStageInfo(stage_id)
        if info is not None:
            done = info.numCompletedTasks >= info.numTasks
            known = {"attempt": info.currentAttemptId, "name": info.name,
                     "num_tasks": info.numTasks, "completed": info.numCompletedTasks,
                     "active": info.numActiveTasks, "failed": info.numFailedTasks,
                     "status": "COMPLETE" if done else "ACTIVE"}
        if self.engine.ui is not None:
            known.update(self.engine.ui.stage(stage_id))
        if "name" in known:
            known["name"] = self.engine.name_call_site(known["name"])
        return known

    def interrupt(self) -> None:
        self.sc.cancelJobGroup(self.group)

    def settle(self) -> None:
        tracker = self.sc.statusTracker()
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while time.monotonic() < deadline:
            infos = [tracker.getJobInfo(j) for j in self._jobs()]
            if all(i is None or i.status not in ("RUNNING", "UNKNOWN") for i in infos):
                return
            time.sleep(0.02)

    def end(self) -> None:
        self.interrupts.restore()
        for key in ("spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel"):
            self.sc.setLocalProperty(key, None)
