"""``%spark connect sc://HOST:15002``: a Spark Connect session as ``spark`` (DataFrames only).

Spark Connect has no RDD API, so ``sc`` is a stand-in that says so. The widget follows
each query's stages through the session's progress handler (``registerProgressHandler``,
reported every ``spark.connect.progress.reportInterval``, which sparkbook sets to 100 ms)
and the executors through the Spark UI's REST API when the notebook can reach it. An
interrupt cancels the operations tagged with the cell's tag.
"""

from __future__ import annotations

import itertools
import threading
import time
from urllib.parse import urlparse

from sparkbook.notebook.engines import CellRun, Engine
from sparkbook.notebook.engines.runtime import require_java, require_pyspark
from sparkbook.notebook.engines.sparkui import (
    SparkUI,
    cell_state,
    executor_lines,
    job_row,
    stage_row,
)

SETTLE_TIMEOUT = 2.0  # seconds recent_jobs waits for the UI's listener to catch up
REPORT_INTERVAL = "100ms"  # Spark's default, 2s, is too slow for a live widget
UI_PORT = "4040"
NO_RDD = ("Spark Connect has no RDD API (no SparkContext on the client): use DataFrames "
          "through `spark`, or classic Spark for RDDs: %spark connect --engine pyspark MASTER")
_tags = itertools.count(1)


class NoSparkContext:
    """``sc`` on Spark Connect: every use says that there is none and what to do instead."""

    def __getattr__(self, name: str):
        from pyspark.errors import PySparkAttributeError

        error = PySparkAttributeError(errorClass="JVM_ATTRIBUTE_NOT_SUPPORTED",
                                      messageParameters={"attr_name": f"sc.{name}"})
        if hasattr(error, "add_note"):
            error.add_note(NO_RDD)
        raise error

    def __repr__(self) -> str:
        return f"<no SparkContext: {NO_RDD}>"


class ConnectEngine(Engine):
    """A Spark Connect session on ``sc://HOST:PORT`` (or ``local[N]``: a server in-process)."""

    name = "connect"

    def __init__(self, url: str, settings: dict[str, str]) -> None:
        require_pyspark()
        if not url.startswith("sc://"):
            require_java()  # a local master starts the server's JVM in this process
        from pyspark.sql import SparkSession

        builder = SparkSession.builder.remote(url)
        for key, value in settings.items():
            builder = builder.config(key, value)
        self.url = url
        self.spark = builder.getOrCreate()
        self.spark.conf.set("spark.connect.progress.reportInterval", REPORT_INTERVAL)
        self.sc = NoSparkContext()
        self.app_id = self.spark.conf.get("spark.app.id", None)
        self.ui = self._find_ui()

    def _find_ui(self) -> SparkUI | None:
        if self.url.startswith("sc://"):
            host = urlparse("http://" + self.url[len("sc://"):]).hostname or "localhost"
            port = self.spark.conf.get("spark.ui.port", None) or UI_PORT
            ui_url = f"http://{host}:{port}"
        else:
            from pyspark import SparkContext

            active = SparkContext._active_spark_context  # the local server's own context
            ui_url = active.uiWebUrl if active is not None else None
        if not ui_url or not self.app_id:
            return None
        ui = SparkUI(ui_url, self.app_id)
        return ui if ui.reachable else None

    @property
    def running(self) -> bool:
        return not self.spark.is_stopped

    def ready_line(self, joined: bool = False) -> str:
        ui = f", Spark UI {self.ui.url}" if self.ui else ""
        return (f"connect: Spark Connect {self.spark.version} at {self.url}, application "
                f"{self.app_id}{ui}; `spark` is ready (DataFrames only: no `sc`)")

    def executors(self) -> list[dict]:
        return self.ui.executors() if self.ui is not None else []

    def status_lines(self) -> list[str]:
        lines = [f"cluster: {self.url} (Spark Connect {self.spark.version})",
                 f"application: {self.app_id}",
                 f"Spark UI: {self.ui.url if self.ui else 'not reachable'}",
                 "executors:"]
        lines += executor_lines(self.executors())
        return lines

    def kill_executor(self, executor_id: str) -> str:
        return ("connect: a Spark Connect client cannot kill executors (the server's "
                "SparkContext is not reachable from here); use classic Spark: "
                "%spark connect --engine pyspark MASTER")

    def cell(self, title: str) -> CellRun:
        return ConnectCell(self)

    def recent_jobs(self, n: int) -> dict:
        # A Connect client has no status tracker: the server's Spark UI lists its jobs.
        if self.ui is None:
            raise RuntimeError("connect: the Spark UI of the Spark Connect server is not "
                               "reachable from here, so its recent jobs are unknown (set "
                               "spark.ui.port, or open the UI's port to this machine)")
        return self.ui.recent_jobs(n, SETTLE_TIMEOUT)

    def stop(self) -> None:
        if self.running:
            self.spark.stop()


class ConnectCell(CellRun):
    """One cell's tag and the progress its operations report; one job per operation."""

    def __init__(self, engine: ConnectEngine) -> None:
        self.engine = engine
        self.spark = engine.spark
        self.tag = f"sparkbook-cell-{next(_tags)}"
        self._lock = threading.Lock()
        self._ops: dict[str, dict] = {}  # operation id -> its progress, in arrival order
        self.over = False  # the cell's code returned: an unfinished operation failed

    def begin(self) -> None:
        self.spark.addTag(self.tag)
        self.spark.registerProgressHandler(self._progress)

    def _progress(self, stages, inflight_tasks: int, operation_id: str | None,
                  done: bool) -> None:
        now = time.time()
        with self._lock:
            op = self._ops.setdefault(operation_id or "", {"start": now, "end": None,
                                                           "stages": {}})
            op["inflight"] = inflight_tasks
            for s in stages:
                rec = op["stages"].setdefault(s.stage_id, {"start": now, "end": None})
                rec.update(num_tasks=s.num_tasks, completed=s.num_completed_tasks,
                           input=s.num_bytes_read, done=s.done)
                if s.done and rec["end"] is None:
                    rec["end"] = now
            if done and op["end"] is None:
                op["end"] = now

    def snapshot(self) -> dict:
        now, ui = time.time(), self.engine.ui
        jobs, stages = [], []
        with self._lock:
            ops = [(k, dict(v, stages=dict(v["stages"]))) for k, v in self._ops.items()]
        for job_id, (_op_id, op) in enumerate(ops):
            finished = op["end"] is not None
            status = "SUCCEEDED" if finished else "FAILED" if self.over else "RUNNING"
            open_stages = [i for i, r in op["stages"].items() if not r["done"]]
            for stage_id, rec in sorted(op["stages"].items()):
                active = op["inflight"] if open_stages == [stage_id] else 0
                known = {"name": f"stage {stage_id}", "num_tasks": rec["num_tasks"],
                         "completed": rec["completed"], "active": active,
                         "input": rec["input"],
                         "status": "COMPLETE" if rec["done"] else "ACTIVE",
                         "duration": round((rec["end"] or now) - rec["start"], 3)}
                if ui is not None:
                    known.update(ui.stage(stage_id))
                    known.pop("error", None)
                stages.append(stage_row(stage_id, job_id, **known))
            jobs.append(job_row(job_id, f"query {job_id + 1} of the cell", status,
                                (op["end"] or now) - op["start"], sorted(op["stages"])))
        return cell_state(jobs, stages, self.engine.executors())

    def interrupt(self) -> None:
        self.spark.interruptTag(self.tag)

    def settle(self) -> None:
        self.over = True

    def end(self) -> None:
        self.spark.removeProgressHandler(self._progress)
        self.spark.removeTag(self.tag)
