"""The task timeline and the executor panel's model: plain state, asserted without a browser.

The first tests feed ``TaskTimeline`` and the status store invented listener events (as
the scheduler's own tests do); the rest run real jobs on the session's local cluster
under a ``CellFeed``, the way a ``%%spark`` cell does.
"""

from __future__ import annotations

import json
import re
import time
from operator import add

import pytest

from sparkbook.driver.listener import (
    ExecutorAdded,
    ExecutorMetricsUpdate,
    ExecutorRemoved,
    TaskEnd,
    TaskInfo,
    TaskStart,
)
from sparkbook.driver.statustracker import AppStatusStore
from sparkbook.messages import ExecutorInfo
from sparkbook.metrics import ExecutorMetrics, TaskMetrics
from sparkbook.notebook.jobview import CellFeed, JobsView
from sparkbook.notebook.snapshot import ExecutorHistory, summary_html, take_snapshot
from sparkbook.notebook.timeline import MERGE_AFTER, TaskTimeline

pytestmark = pytest.mark.sparkbook_only

T0 = 1_000.0


class Tasks:
    """Invented task events on a timeline whose origin is ``T0``."""

    def __init__(self, timeline: TaskTimeline) -> None:
        self.timeline = timeline
        self.infos: dict[int, TaskInfo] = {}

    def start(self, task_id: int, executor: str, at: float, stage: int = 0, index: int = 0,
              attempt: int = 0, speculative: bool = False) -> None:
        info = TaskInfo(task_id, index, attempt, T0 + at, executor, speculative=speculative)
        self.infos[task_id] = info
        self.timeline.on_task_start(TaskStart(stage, 0, info))

    def end(self, task_id: int, at: float, reason: str = "Success") -> None:
        info = self.infos[task_id]
        info.finish_time = T0 + at
        self.timeline.on_task_end(TaskEnd(0, 0, "ResultTask", reason, info, TaskMetrics()))


def test_each_task_takes_the_lowest_free_core_lane_of_its_executor():
    tasks = Tasks(TaskTimeline(origin=T0))
    tasks.start(1, "0", 0.0, index=0)
    tasks.start(2, "0", 0.1, index=1)
    tasks.start(3, "1", 0.1, index=2)
    tasks.end(1, 0.5)
    tasks.start(4, "0", 0.6, index=3)  # lane 0 is free again, lane 1 still busy
    tasks.end(2, 0.7, "ExceptionFailure")
    tasks.start(5, "0", 0.8, index=1, attempt=1, speculative=True)  # task 1, again
    tasks.end(3, 0.9, "TaskKilled")
    bars = tasks.timeline.tasks()
    assert [(b["executor"], b["lane"], b["index"]) for b in bars] == [
        ("0", 0, 0), ("0", 0, 3), ("0", 1, 1), ("0", 1, 1), ("1", 0, 2)]
    assert [(b["start"], b["end"], b["status"]) for b in bars] == [
        (0.0, 0.5, "SUCCESS"), (0.6, None, "RUNNING"), (0.1, 0.7, "FAILED"),
        (0.8, None, "RUNNING"), (0.1, 0.9, "KILLED")]
    assert [b["speculative"] for b in bars] == [False, False, False, True, False]
    assert [b["attempt"] for b in bars] == [0, 0, 0, 1, 0]
    assert all(set(b) == {"executor", "lane", "stage", "stage_attempt", "attempt", "index",
                          "start", "end", "status", "speculative"} for b in bars)


def test_past_the_bound_consecutive_tasks_of_a_stage_merge_per_lane_keeping_their_kind():
    tasks = Tasks(TaskTimeline(origin=T0, merge_after=10))
    for i in range(30):  # one core: stage 0 then stage 1, a failure and a kill in stage 0
        tasks.start(i, "0", i * 1.0, stage=0 if i < 20 else 1, index=i, speculative=i == 15)
        tasks.end(i, i * 1.0 + 0.5, {12: "ExceptionFailure", 15: "TaskKilled"}.get(i, "Success"))
    bars = tasks.timeline.tasks()
    assert [(b["stage"], b["count"], b["status"], b["start"], b["end"]) for b in bars] == [
        (0, 20, "MIXED", 0.0, 19.5), (1, 10, "SUCCESS", 20.0, 29.5)]
    assert [(b["statuses"], b["speculated"], b["speculative"]) for b in bars] == [
        ({"SUCCESS": 18, "FAILED": 1, "KILLED": 1}, 1, True), ({"SUCCESS": 10}, 0, False)]
    assert sum(b["count"] for b in bars) == 30 == tasks.timeline.seen


def test_below_the_bound_every_task_keeps_its_own_bar():
    tasks = Tasks(TaskTimeline(origin=T0, merge_after=10))
    for i in range(10):
        tasks.start(i, "0", i * 1.0, index=i)
        tasks.end(i, i * 1.0 + 0.5, "ExceptionFailure" if i % 2 else "Success")
    bars = tasks.timeline.tasks()
    assert [b["status"] for b in bars] == ["SUCCESS", "FAILED"] * 5
    assert not any("count" in b or "statuses" in b for b in bars)


def test_a_lost_executor_stays_in_the_panel_with_why_and_the_sparkline_keeps_a_minute():
    store, history = AppStatusStore(), ExecutorHistory()
    for executor_id in ("0", "1"):
        store.on_executor_added(ExecutorAdded(executor_id, T0, ExecutorInfo(
            executor_id, "tcp://127.0.0.1:1", "127.0.0.1", cores=2, memory=1 << 30, pid=7)))
    for i in range(180):  # 90 s of heartbeats, two a second
        metrics = ExecutorMetrics(cpu_percent=float(i % 100), rss=5 << 20,
                                  memory_used=1 << 20, memory_limit=1 << 30,
                                  timestamp=T0 + i * 0.5)
        for event in (ExecutorMetricsUpdate("0", metrics), ExecutorMetricsUpdate("1", metrics)):
            store.on_executor_metrics_update(event)
            history.on_executor_metrics_update(event)
    store.on_executor_removed(ExecutorRemoved("1", T0 + 90, "executor 1 killed by signal 9"))
    lost, alive = take_snapshot(store, [], history)["executors"][::-1]
    assert alive["alive"] and alive["lost_reason"] is None and alive["cores"] == 2
    assert not lost["alive"] and lost["lost_reason"] == "executor 1 killed by signal 9"
    assert (lost["rss"], lost["memory_used"], lost["memory_limit"]) == (5 << 20, 1 << 20, 1 << 30)
    # The last minute: samples from 29.5 s to 89.5 s, i.e. 121 of them, the oldest first.
    assert len(alive["cpu_history"]) == 121
    assert alive["cpu_history"][0] == float(59 % 100) and alive["cpu_history"][-1] == 79.0


def run_under_a_feed(sc, action):
    """Run ``action`` as a cell would: under a CellFeed; the final snapshot and the view."""
    history = ExecutorHistory()
    sc.addSparkListener(history)
    view = JobsView(title="test")
    sizes: list[int] = []
    view.observe(lambda change: sizes.append(len(json.dumps(
        {k: getattr(view, k) for k in ("jobs", "stages", "executors", "tasks")}))), "updates")
    feed = CellFeed(sc, view, history)
    try:
        result = action()
    finally:
        snap = feed.close("done")
        sc.removeSparkListener(history)
    return result, snap, view, sizes


def test_a_shuffle_job_draws_a_bar_per_task_on_a_core_lane_of_its_executor(sc):
    def action():
        pairs = sc.parallelize(range(600), 6).map(lambda x: (x % 10, x))
        return sorted(pairs.reduceByKey(add).mapValues(lambda v: v % 7).collect())

    result, snap, view, _ = run_under_a_feed(sc, action)
    assert result == [(k, sum(range(k, 600, 10)) % 7) for k in range(10)]
    assert view.tasks == snap["tasks"] and view.now == snap["now"]
    stages = {s["id"]: s for s in snap["stages"]}
    assert len(stages) == 2
    bars = snap["tasks"]
    assert len(bars) == sum(s["num_tasks"] for s in stages.values()) == 12
    cores = {e["id"]: e["cores"] for e in snap["executors"]}
    for bar in bars:
        assert bar["executor"] in cores and 0 <= bar["lane"] < cores[bar["executor"]]
        assert bar["stage"] in stages and bar["status"] == "SUCCESS"
        assert 0 <= bar["start"] <= bar["end"] <= snap["now"]
    # Within a lane, a core runs one task at a time.
    for executor_id in cores:
        mine = sorted((b["start"], b["end"]) for b in bars if b["executor"] == executor_id)
        assert all(a[1] <= b[0] for a, b in zip(mine, mine[1:]))
    assert sorted(b["index"] for b in bars if b["stage"] == min(stages)) == list(range(6))


def test_a_5000_partition_job_keeps_the_widget_state_small(sc):
    """The bound on what the kernel sends: at most MERGE_AFTER bars, each state message
    under 512 KiB, and the final state a few KiB (measured: see bench/widget_feed.py)."""
    n, snap, view, sizes = run_under_a_feed(
        sc, lambda: sc.parallelize(range(5000), 5000).map(lambda x: x * 2).count())
    assert n == 5000
    bars = snap["tasks"]
    assert len(bars) <= MERGE_AFTER
    assert sum(b.get("count", 1) for b in bars) == 5000
    assert all(b["status"] == "SUCCESS" for b in bars)
    final = len(json.dumps(snap))
    assert final < 16 * 1024, final
    assert sizes and max(sizes) < 512 * 1024, max(sizes)


def test_a_3000_task_job_whose_tasks_each_fail_once_stays_bounded_and_counts_exactly(sc):
    from sparkbook.taskcontext import TaskContext

    def fail_first_attempt(x):
        if TaskContext.get().attemptNumber() == 0:
            raise ValueError(f"first attempt of task {x}")
        return x

    n, snap, _, sizes = run_under_a_feed(
        sc, lambda: sc.parallelize(range(3000), 3000).map(fail_first_attempt).count())
    assert n == 3000
    bars = snap["tasks"]
    assert len(bars) <= MERGE_AFTER
    counts: dict[str, int] = {}
    for bar in bars:
        for status, k in bar.get("statuses", {bar["status"]: 1}).items():
            counts[status] = counts.get(status, 0) + k
    assert counts == {"FAILED": 3000, "SUCCESS": 3000}
    assert sum(b.get("count", 1) for b in bars) == 6000
    assert len(json.dumps(snap)) < 64 * 1024
    assert max(sizes) < 512 * 1024, max(sizes)
    # The summary names each merged bar's kinds and stripes its failed share in red.
    page = summary_html(snap)
    for bar in bars:
        assert (f"{bar['count']} tasks, {bar['statuses']['FAILED']} failed, "
                f"{bar['statuses']['SUCCESS']} success") in page or bar["status"] != "MIXED"
    assert page.count("fill='#d32f2f'/>") == sum(b["status"] == "MIXED" for b in bars) > 0


def test_the_saved_summary_draws_the_dag_and_the_timeline_as_inline_svg(sc):
    def action():
        words = sc.parallelize(["a b", "b c", "c a b"], 3).flatMap(str.split)
        return sorted(words.map(lambda w: (w, 1)).reduceByKey(add).collect())

    result, snap, _, _ = run_under_a_feed(sc, action)
    assert result == [("a", 2), ("b", 3), ("c", 2)]
    page = summary_html(snap, "words")
    assert "<script" not in page
    assert page.count("<svg") == 3  # the DAG, the shuffle's heat map, the timeline
    assert page.count("class='sb-dag-box'") == len(snap["stages"]) == 2
    assert page.count("class='sb-task'") == len(snap["tasks"]) == 6
    assert len(page) < 12 * 1024
    for stage in snap["stages"]:
        assert re.search(fr"Stage {stage['id']}</td>.*?<td>3/3 tasks", page)


def test_a_timeline_that_starts_mid_job_ignores_tasks_it_never_saw_start():
    timeline = TaskTimeline(origin=time.time())
    info = TaskInfo(99, 0, 0, time.time(), "0", finish_time=time.time())
    timeline.on_task_end(TaskEnd(0, 0, "ResultTask", "Success", info, TaskMetrics()))
    assert timeline.tasks() == [] and timeline.clock() == 0.0
