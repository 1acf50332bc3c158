"""The task timeline of a cell: which core of which executor ran which task, and when.

``TaskTimeline`` turns the listener's ``TaskStart`` and ``TaskEnd`` events into bars, one
per task, each on a core *lane* of its executor (the lowest lane free at launch, as a
core picks up the next task). Times are seconds since the timeline's origin (the cell's
start), so the front end draws them as they are.

Bounded: past ``MERGE_AFTER`` tasks, finished tasks that follow each other in one lane
and belong to the same stage attempt become one bar ``{"count": k, ...}`` spanning them,
so that a 5,000-partition job sends a few hundred bars, not 5,000, eight times a second.
Failed, killed and speculative tasks merge too, keeping their kind: a merged bar counts
its tasks per status in ``statuses`` (its ``status`` is theirs when they agree, else
``"MIXED"``) and its speculative ones in ``speculated``, so that a job whose thousands of
tasks each fail once stays as bounded as one that never fails.
"""

from __future__ import annotations

import threading
import time

from sparkbook.driver.listener import TaskEnd, TaskStart

MERGE_AFTER = 2000  # tasks in a cell before finished bars are merged per lane

_STATUS = {"Success": "SUCCESS", "TaskKilled": "KILLED"}


class TaskTimeline:
    """Bars of the tasks of some stages, fed with task events (no sockets, no threads)."""

    def __init__(self, origin: float | None = None, merge_after: int = MERGE_AFTER) -> None:
        self.origin = time.time() if origin is None else origin
        self.merge_after = merge_after
        self.seen = 0  # tasks started, merged or not
        self._lanes: dict[str, list[list[dict]]] = {}  # executor -> lane -> bars, by start
        self._running: dict[int, dict] = {}  # task id -> its bar
        self._lock = threading.Lock()

    def _rel(self, t: float) -> float:
        return round(t - self.origin, 3)

    def on_task_start(self, event: TaskStart) -> None:
        info = event.task_info
        with self._lock:
            lanes = self._lanes.setdefault(info.executor_id, [])
            lane = next((i for i, bars in enumerate(lanes)
                         if not bars or bars[-1]["end"] is not None), len(lanes))
            if lane == len(lanes):
                lanes.append([])
            bar = {"executor": info.executor_id, "lane": lane, "stage": event.stage_id,
                   "stage_attempt": event.stage_attempt, "index": info.index,
                   "attempt": info.attempt,  # the task's: 1 and up for a retried task
                   "start": self._rel(info.launch_time), "end": None, "status": "RUNNING",
                   "speculative": info.speculative}
            lanes[lane].append(bar)
            self._running[info.task_id] = bar
            self.seen += 1
            if self.seen == self.merge_after + 1:
                for bars in (b for ls in self._lanes.values() for b in ls):
                    bars[:] = _merged(bars)

    def on_task_end(self, event: TaskEnd) -> None:
        info = event.task_info
        with self._lock:
            bar = self._running.pop(info.task_id, None)
            if bar is None:
                return  # started before this timeline began
            bar["end"] = self._rel(info.finish_time or time.time())
            bar["status"] = _STATUS.get(event.reason, "FAILED")
            if self.seen > self.merge_after:
                bars = self._lanes[bar["executor"]][bar["lane"]]
                bars[:] = bars[:-2] + _merged(bars[-2:])

    def tasks(self) -> list[dict]:
        """Every bar (a task, or a merged group with ``count``), by executor, lane, start."""
        with self._lock:
            return [dict(bar) for _, lanes in sorted(self._lanes.items(),
                                                     key=lambda kv: _executor_order(kv[0]))
                    for bars in lanes for bar in bars]

    def clock(self) -> float:
        """Seconds since the origin: now while a task runs, else the last task's end."""
        with self._lock:
            if self._running:
                return self._rel(time.time())
            ends = [bars[-1]["end"] for lanes in self._lanes.values() for bars in lanes
                    if bars]
            return max(ends, default=0.0)


def _executor_order(executor_id: str) -> tuple:
    return (0, int(executor_id), "") if executor_id.isdigit() else (1, 0, executor_id)


def _mergeable(a: dict, b: dict) -> bool:
    return (a["end"] is not None and b["end"] is not None
            and (a["stage"], a["stage_attempt"]) == (b["stage"], b["stage_attempt"]))


def _merge(last: dict, bar: dict) -> None:
    """Fold ``bar``, the next finished bar of the lane, into ``last``."""
    statuses = dict(last.get("statuses", {last["status"]: 1}))  # shallow copies share it
    for status, n in bar.get("statuses", {bar["status"]: 1}).items():
        statuses[status] = statuses.get(status, 0) + n
    last["speculated"] = (last.get("speculated", int(last["speculative"]))
                          + bar.get("speculated", int(bar["speculative"])))
    last["count"] = last.get("count", 1) + bar.get("count", 1)
    last["statuses"] = statuses
    last["status"] = next(iter(statuses)) if len(statuses) == 1 else "MIXED"
    last["speculative"] = last["speculated"] > 0
    last["end"] = bar["end"]
    last["index"] = min(last["index"], bar["index"])


def _merged(bars: list[dict]) -> list[dict]:
    """Runs of finished tasks of one stage attempt in one lane, as one bar."""
    out: list[dict] = []
    for bar in bars:
        if out and _mergeable(out[-1], bar):
            _merge(out[-1], bar)
        else:
            out.append(bar)
    return out


def merged_per_lane(tasks: list[dict]) -> list[dict]:
    """``tasks`` (as ``TaskTimeline.tasks`` lists them) with every run of mergeable bars in
    a lane made one, whatever their number."""
    lanes: dict[tuple, list[dict]] = {}
    for bar in tasks:
        lanes.setdefault((bar["executor"], bar["lane"]), []).append(dict(bar))
    return [bar for bars in lanes.values() for bar in _merged(bars)]
