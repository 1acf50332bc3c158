"""What the live widgets show, as plain data: one snapshot of jobs, stages and executors.

The widget's Python side is a model of these lists; the browser only draws them. Tests
assert on snapshots without a browser, and the static summary a saved notebook keeps is
rendered from the last one.
"""

from __future__ import annotations

import html
import statistics
import time
from collections import deque

from sparkbook.driver.listener import ExecutorMetricsUpdate, SparkListener
from sparkbook.driver.shufflestats import shuffle_summary
from sparkbook.driver.statustracker import AppStatusStore, StageStatus
from sparkbook.notebook.pictures import (
    dag_svg,
    shuffle_html,
    size_text,
    timeline_svg,
    warnings_html,
)
from sparkbook.notebook.timeline import TaskTimeline

HISTORY_SECONDS = 60.0  # the sparkline's window
HISTORY = 240  # at most this many samples per executor (two heartbeats a second, and slack)


class ExecutorHistory(SparkListener):
    """The last minute of each executor's CPU use, for the panel's sparklines."""

    def __init__(self) -> None:
        self.cpu: dict[str, deque] = {}

    def on_executor_metrics_update(self, event: ExecutorMetricsUpdate) -> None:
        samples = self.cpu.setdefault(event.executor_id, deque(maxlen=HISTORY))
        at = event.metrics.timestamp or time.time()
        samples.append((at, round(event.metrics.cpu_percent, 1)))
        while samples and samples[0][0] < at - HISTORY_SECONDS:
            samples.popleft()

    def last_minute(self, executor_id: str) -> list[float]:
        """CPU percentages of the samples of the last minute, oldest first."""
        return [cpu for _, cpu in list(self.cpu.get(executor_id, ()))]


SKEW_MIN_SECONDS = 0.1  # below this, task times are start-up noise, not skew


def skew(durations: list[float]) -> float | None:
    """The slowest task's duration over the median's: 1.0 is even, 5.0 a straggler."""
    if len(durations) < 2 or max(durations) < SKEW_MIN_SECONDS:
        return None
    median = statistics.median(durations)
    return round(max(durations) / median, 1) if median > 0 else None


def stage_shape(s: StageStatus) -> dict:
    """Where a stage sits in the DAG: the stages it reads, with the bytes and records it
    fetched along each shuffle edge, the steps it pipelines, and what to warn of."""
    edges = []
    for parent, shuffle_id in zip(s.parents, s.parent_shuffles):
        read_bytes, read_records = s.shuffle_reads.get(shuffle_id, (0, 0))
        edges.append({"from": parent, "shuffle_id": shuffle_id, "bytes": read_bytes,
                      "records": read_records})
    return {"parents": list(s.parents), "steps": list(s.steps), "cached": list(s.cached),
            "edges": edges, "warnings": list(s.warnings), "shuffle_id": s.shuffle_id,
            "shuffle_write_records": s.shuffle_write_records}


def take_snapshot(store: AppStatusStore, job_ids: list[int],
                  history: ExecutorHistory | None = None,
                  timeline: TaskTimeline | None = None) -> dict:
    """Jobs (in submission order), their stages (in DAG order), every executor, and the
    bars of ``timeline`` (``tasks``, with ``now`` on the same clock)."""
    now = time.time()
    jobs, stages = [], []
    written: dict[int, StageStatus] = {}  # shuffle id -> the map stage that wrote it here
    readers: dict[int, list[int]] = {}  # shuffle id -> the stages here that read it
    with store.lock:
        for job_id in job_ids:
            job = store.jobs.get(job_id)
            if job is None:
                continue
            final = store.stages.get(max(job.stage_ids)) if job.stage_ids else None
            jobs.append({
                "id": job.job_id,
                "name": job.description or (final.name if final else job.call_site),
                "status": job.status,
                "duration": round((job.completion_time or now) - job.submission_time, 3),
                "stage_ids": sorted(job.stage_ids),
                "error": job.error,
            })
            for stage_id in sorted(job.stage_ids):
                s = job.stages.get(stage_id) or store.stages.get(stage_id)
                if s is None:
                    continue
                if s.shuffle_id is not None and s.status != "SKIPPED":
                    written[s.shuffle_id] = s
                for shuffle_id in s.parent_shuffles:
                    readers.setdefault(shuffle_id, []).append(s.stage_id)
                started = s.submission_time
                stages.append({
                    "id": s.stage_id, "job_id": job.job_id, "attempt": s.attempt,
                    "name": s.name, "status": s.status, "num_tasks": s.num_tasks,
                    "completed": s.completed, "active": s.active, "failed": s.failed,
                    "killed": s.killed, "earlier_failed": s.earlier_failed,
                    "duration": round((s.completion_time or now) - started, 3) if started else 0,
                    "shuffle_read": s.shuffle_read_bytes, "shuffle_write": s.shuffle_write_bytes,
                    "shuffle_read_records": s.shuffle_read_records,
                    "shuffle_write_records": s.shuffle_write_records,
                    "input": s.input_bytes, "cache_hits": s.cache_hits,
                    "skew": skew(s.task_durations),
                    "slowest": round(max(s.task_durations), 3) if s.task_durations else None,
                    **stage_shape(s),
                })
        executors = []
        for executor_id, ex in sorted(store.executors.items(), key=lambda kv: int(kv[0])):
            m = ex.get("metrics")
            executors.append({
                "id": executor_id, "host": ex.get("host", ""), "pid": ex.get("pid"),
                "alive": ex.get("alive", True), "lost_reason": ex.get("removed_reason"),
                "cores": ex.get("cores", 1),
                "cpu": round(m.cpu_percent, 1) if m else 0.0, "rss": m.rss if m else 0,
                "memory_used": m.memory_used if m else 0,
                "memory_limit": m.memory_limit if m else ex.get("memory", 0),
                "active": ex.get("active_tasks", 0), "completed": ex.get("completed_tasks", 0),
                "failed": ex.get("failed_tasks", 0),
                "cpu_history": history.last_minute(executor_id) if history else [],
                "gc_time": 0.0,  # Spark's REST API has it; a sparkbook executor has no JVM GC
            })
        shuffles = [shuffle_summary(st, sorted(set(readers.get(sid, ()))))
                    for sid, st in sorted(written.items())]
    return {"jobs": jobs, "stages": stages, "executors": executors, "shuffles": shuffles,
            "tasks": timeline.tasks() if timeline else [],
            "now": timeline.clock() if timeline else 0.0}


def summary_html(snapshot: dict, title: str = "") -> str:
    """The cell's stage DAG (with its stages' warnings), shuffle matrices (with hot keys
    and hints) and task timeline as inline SVG, and a table of its jobs and stages, for
    notebooks opened without a kernel."""
    rows, pictures = [], []
    unshown = list(snapshot.get("shuffles", []))  # each under the first job that ran its map
    for job in snapshot["jobs"]:
        rows.append(f"<tr class='sb-job'><td colspan='6'><b>Job {job['id']}</b> "
                    f"{html.escape(job['name'])} &mdash; {job['status'].lower()} in "
                    f"{job['duration']:.2f} s</td></tr>")
        stages = [st for st in snapshot["stages"] if st["job_id"] == job["id"]]
        pictures += [dag_svg(stages), warnings_html(stages)]
        ran = {s["id"] for s in stages if s["status"] != "SKIPPED"}
        pictures += [shuffle_html(sh) for sh in unshown if sh["map_stage"] in ran]
        unshown = [sh for sh in unshown if sh["map_stage"] not in ran]
        for s in stages:
            failed = f", {s['failed']} failed" if s["failed"] else ""
            if s["attempt"]:
                failed += f", retry {s['attempt']} after {s['earlier_failed']} failed tasks"
            rows.append(
                f"<tr><td>Stage {s['id']}</td><td>{html.escape(s['name'])}</td>"
                f"<td>{s['completed']}/{s['num_tasks']} tasks{failed}</td>"
                f"<td>{s['status'].lower()}</td><td>{s['duration']:.2f} s</td>"
                f"<td>shuffle read {size_text(s['shuffle_read'])}, "
                f"write {size_text(s['shuffle_write'])}</td></tr>")
    pictures.append(timeline_svg(snapshot.get("tasks", []), snapshot["executors"]))
    head = f"<b>{html.escape(title)}</b>" if title else "<b>sparkbook</b>"
    if not rows:
        rows.append("<tr><td>no Spark jobs ran in this cell</td></tr>")
    drawn = "".join(f"<div>{p}</div>" for p in pictures if p)
    return (f"<div class='sparkbook-summary'>{head}{drawn}<table>{''.join(rows)}</table>"
            "</div>")
