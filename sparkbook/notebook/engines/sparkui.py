"""What Apache Spark's own engines tell the widget: the Spark UI's REST API (``/api/v1``),
turned into rows of the widget's schema (``snapshot.py``).

Spark's status tracker knows task counts but no bytes or times; the UI's REST API has
shuffle read/write, durations, task-time quantiles and executors. A stage or job that has
ended is fetched once more and then kept, so a poll asks only about what still moves.
Where the UI cannot be reached (``spark.ui.enabled=false``, a firewalled remote), each
figure it would give keeps its neutral value.
"""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import datetime, timezone

from sparkbook.notebook.snapshot import SKEW_MIN_SECONDS

TIMEOUT = 2.0  # seconds per REST request, from the widget's refresh thread
FIRST_TIMEOUT = 20.0  # the UI's first answer (its REST servlets start on first use)
FINAL_STAGE = ("COMPLETE", "FAILED", "SKIPPED")


def job_row(job_id: int, name: str, status: str, duration: float, stage_ids: list[int],
            error: str | None = None) -> dict:
    """A job as ``take_snapshot`` gives it."""
    return {"id": job_id, "name": name, "status": status, "duration": round(duration, 3),
            "stage_ids": stage_ids, "error": error}


def cell_state(jobs: list[dict], stages: list[dict], executors: list[dict]) -> dict:
    """A cell's whole state as ``take_snapshot`` gives it: no task timeline or shuffle
    matrix, which only sparkbook's own listener events carry."""
    return {"jobs": jobs, "stages": stages, "executors": executors, "shuffles": [],
            "tasks": [], "now": 0.0}


def stage_row(stage_id: int, job_id: int, **known) -> dict:
    """A stage as ``take_snapshot`` gives it; what the engine does not know stays neutral."""
    row = {"id": stage_id, "job_id": job_id, "attempt": 0, "name": "", "status": "PENDING",
           "num_tasks": 0, "completed": 0, "active": 0, "failed": 0, "killed": 0,
           "earlier_failed": 0, "duration": 0.0, "shuffle_read": 0, "shuffle_write": 0,
           "input": 0, "cache_hits": 0, "skew": None, "slowest": None,
           "shuffle_read_records": 0, "shuffle_write_records": 0,
           # The pictures' fields (issue 12): sparkbook's DAG scheduler knows them; Spark's
           # status API does not say them, so the DAG draws boxes without steps or arrows.
           "parents": [], "steps": [], "cached": [], "edges": [], "warnings": [],
           "shuffle_id": None}
    row.update(known)
    return row


def spark_time(text: str | None) -> float | None:
    """The UI's ``2026-12-02T01:10:28.502GMT`` as seconds since the epoch."""
    if not text:
        return None
    stamp = datetime.strptime(text.replace("GMT", ""), "%Y-%m-%dT%H:%M:%S.%f")
    return stamp.replace(tzinfo=timezone.utc).timestamp()


def _elapsed(start: str | None, end: str | None) -> float:
    began = spark_time(start)
    if began is None:
        return 0.0
    return round((spark_time(end) or time.time()) - began, 3)


class SparkUI:
    """One application's REST API on its Spark UI (``http://HOST:4040``)."""

    def __init__(self, ui_url: str, app_id: str) -> None:
        self.url = ui_url.rstrip("/")
        self.base = f"{self.url}/api/v1/applications/{app_id}"
        self._final_stages: dict[int, dict] = {}
        self._final_jobs: dict[int, dict] = {}

    def get(self, path: str, timeout: float = TIMEOUT):
        """The decoded answer, or None when the UI does not answer or knows nothing."""
        try:
            with urllib.request.urlopen(self.base + path, timeout=timeout) as answer:
                return json.load(answer)
        except (OSError, ValueError):  # URLError, HTTPError (404), timeouts, bad JSON
            return None

    @property
    def reachable(self) -> bool:
        return self.get("", FIRST_TIMEOUT) is not None

    def job(self, job_id: int) -> dict | None:
        """The job's record (name, times, status), kept once it has ended."""
        if job_id in self._final_jobs:
            return self._final_jobs[job_id]
        record = self.get(f"/jobs/{job_id}")
        if record and record.get("status") not in (None, "RUNNING", "UNKNOWN"):
            self._final_jobs[job_id] = record
        return record

    def job_duration(self, record: dict) -> float:
        return _elapsed(record.get("submissionTime"), record.get("completionTime"))

    def stage(self, stage_id: int) -> dict:
        """What the UI adds to a stage's row (status, times, bytes, skew); {} if nothing."""
        if stage_id in self._final_stages:
            return self._final_stages[stage_id]
        attempts = self.get(f"/stages/{stage_id}?details=false")
        if not attempts:
            return {}
        s = max(attempts, key=lambda a: a.get("attemptId", 0))
        fields = {
            "attempt": s.get("attemptId", 0), "name": s.get("name", ""),
            "status": s.get("status", "PENDING"), "num_tasks": s.get("numTasks", 0),
            "completed": s.get("numCompleteTasks", 0), "active": s.get("numActiveTasks", 0),
            "failed": s.get("numFailedTasks", 0), "killed": s.get("numKilledTasks", 0),
            "earlier_failed": sum(a.get("numFailedTasks", 0) for a in attempts if a is not s),
            "duration": _elapsed(s.get("submissionTime"), s.get("completionTime")),
            "shuffle_read": s.get("shuffleReadBytes", 0),
            "shuffle_write": s.get("shuffleWriteBytes", 0), "input": s.get("inputBytes", 0),
            "shuffle_read_records": s.get("shuffleReadRecords", 0),
            "shuffle_write_records": s.get("shuffleWriteRecords", 0),
        }
        if s.get("failureReason"):
            fields["error"] = s["failureReason"].strip().splitlines()[0]
        if fields["status"] in FINAL_STAGE:
            fields.update(self._task_times(stage_id, fields["attempt"]))
            self._final_stages[stage_id] = fields
        return fields

    def _task_times(self, stage_id: int, attempt: int) -> dict:
        """Skew (slowest task over the median) from the stage's task-time quantiles."""
        summary = self.get(f"/stages/{stage_id}/{attempt}/taskSummary?quantiles=0.5,1.0")
        durations = (summary or {}).get("duration") or []
        if len(durations) != 2:
            return {}
        median, slowest = (d / 1000 for d in durations)
        skew = (round(slowest / median, 1)
                if slowest >= SKEW_MIN_SECONDS and median > 0 else None)
        return {"skew": skew, "slowest": round(slowest, 3)}

    def recent_jobs(self, n: int, settle: float) -> dict:
        """The application's last ``n`` jobs (any client's) with their stages, in the
        widget's schema, once the UI's listener has them final or ``settle`` s have passed."""
        deadline = time.monotonic() + settle
        while True:
            records = sorted(self.get("/jobs") or [], key=lambda j: j["jobId"])
            jobs, stages = [], []
            for record in records[-n:] if n else []:
                stage_ids = sorted(record.get("stageIds", []))
                for stage_id in stage_ids:
                    known = {k: v for k, v in self.stage(stage_id).items() if k != "error"}
                    stages.append(stage_row(stage_id, record["jobId"], **known))
                jobs.append(job_row(record["jobId"], record.get("name", ""),
                                    record.get("status", "UNKNOWN"),
                                    self.job_duration(record), stage_ids))
            final = (all(j["status"] not in ("RUNNING", "UNKNOWN") for j in jobs)
                     and all(s["status"] in FINAL_STAGE for s in stages))
            if final or time.monotonic() > deadline:
                return cell_state(jobs, stages, self.executors())
            time.sleep(0.05)

    def executors(self) -> list[dict]:
        """Every executor the application had (the driver too in local mode), as rows."""
        rows = []
        for ex in self.get("/allexecutors") or []:
            memory = ex.get("memoryMetrics") or {}
            peak = ex.get("peakMemoryMetrics") or {}
            rows.append({
                "id": ex.get("id", ""), "host": ex.get("hostPort", "").rsplit(":", 1)[0],
                "pid": None, "alive": ex.get("isActive", True),
                "cpu": 0.0, "rss": peak.get("ProcessTreeJVMRSSMemory", 0),
                "memory_used": ex.get("memoryUsed", 0),
                "memory_limit": memory.get("totalOnHeapStorageMemory", ex.get("maxMemory", 0)),
                "active": ex.get("activeTasks", 0), "completed": ex.get("completedTasks", 0),
                "failed": ex.get("failedTasks", 0), "cpu_history": [], "lost_reason":
                ex.get("removeReason"),
                "cores": ex.get("totalCores", 0),
                "gc_time": round(ex.get("totalGCTime", 0) / 1000, 3),
            })
        return rows


def executor_lines(rows: list[dict]) -> list[str]:
    """The executors part of ``%spark status`` for Spark's engines."""
    if not rows:
        return ["  (the Spark UI is not reachable: no executor details)"]
    return [f"  {ex['id']:>6}  {ex['host'] if ex['alive'] else 'lost':<12} cores "
            f"{ex['cores']}  tasks {ex['active']} active / {ex['completed']} done / "
            f"{ex['failed']} failed  GC {ex['gc_time']:.1f} s" for ex in rows]
