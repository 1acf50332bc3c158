"""The live widgets: a %%spark cell's jobs, stages and executors, and the executor panel.

``JobsView`` is an anywidget model whose state is a snapshot (see ``snapshot.py``);
``CellFeed`` refreshes it from a background thread eight times a second while the cell
runs, less often when the state is large: at most ``BYTES_PER_SECOND`` of state leave
the kernel (Jupyter's server drops iopub traffic past 1 MB/s). Widget state updates are
comm messages, which ipykernel delivers from any thread; the cell itself is never
blocked by them.

The front end is several ES module files (``FRONT_END``) joined in that order into one
module: helpers first, then a file per picture, the module's ``export`` last.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import anywidget
import traitlets

from sparkbook.driver.listener import JobStart, SparkListener, TaskEnd, TaskStart
from sparkbook.notebook.snapshot import ExecutorHistory, take_snapshot
from sparkbook.notebook.timeline import TaskTimeline

WIDGETS = Path(__file__).resolve().parents[2] / "widgets"
PERIOD = 0.125
BYTES_PER_SECOND = 256 * 1024
FRONT_END = ("base.js", "dag.js", "timeline.js", "executors.js", "shuffles.js",
             "sparkbook.js")


def front_end() -> str:
    """The widget's ES module: ``FRONT_END`` joined in order."""
    return "\n".join((WIDGETS / name).read_text() for name in FRONT_END)


class JobsView(anywidget.AnyWidget):
    """Jobs and their stages (``mode="cell"``), or only the executor panel."""

    _esm = front_end()
    _css = WIDGETS / "sparkbook.css"
    title = traitlets.Unicode("").tag(sync=True)
    mode = traitlets.Unicode("cell").tag(sync=True)
    status = traitlets.Unicode("running").tag(sync=True)
    jobs = traitlets.List([]).tag(sync=True)
    stages = traitlets.List([]).tag(sync=True)
    executors = traitlets.List([]).tag(sync=True)
    shuffles = traitlets.List([]).tag(sync=True)
    tasks = traitlets.List([]).tag(sync=True)
    now = traitlets.Float(0.0).tag(sync=True)  # the tasks' clock, for bars still running
    updates = traitlets.Int(0).tag(sync=True)

    def show(self, snapshot: dict) -> None:
        with self.hold_sync():
            self.jobs = snapshot["jobs"]
            self.stages = snapshot["stages"]
            self.executors = snapshot["executors"]
            self.shuffles = snapshot.get("shuffles", [])
            self.tasks = snapshot.get("tasks", [])
            self.now = snapshot.get("now", 0.0)
            self.updates += 1


class CellFeed(SparkListener):
    """Follows the jobs a cell starts and keeps a view up to date until closed.

    sparkbook's listener bus feeds it; for an engine that polls Spark instead
    (``engines/``), ``source`` is what gives each snapshot."""

    def __init__(self, sc, view: JobsView, history: ExecutorHistory | None,
                 all_jobs: bool = False, source: Callable[[], dict] | None = None) -> None:
        self.sc = sc
        self.source = source
        self.view = view
        self.history = history
        self.job_ids: list[int] = []
        self.all_jobs = all_jobs
        # The executor panel (all_jobs) lives all session and draws no tasks.
        self.timeline = None if all_jobs else TaskTimeline()
        self._stage_ids: set[int] = set()
        self._last: dict | None = None
        self._sent = 0  # bytes of state the last push sent
        self._stop = threading.Event()
        if source is None:
            sc.addSparkListener(self)
        self._thread = threading.Thread(target=self._run, name="sparkbook-widget", daemon=True)
        self._thread.start()

    def on_job_start(self, event: JobStart) -> None:
        self.job_ids.append(event.job_id)
        self._stage_ids.update(info.stage_id for info in event.stage_infos)

    def on_task_start(self, event: TaskStart) -> None:
        if self.timeline is not None and event.stage_id in self._stage_ids:
            self.timeline.on_task_start(event)

    def on_task_end(self, event: TaskEnd) -> None:
        if self.timeline is not None:
            self.timeline.on_task_end(event)

    def snapshot(self) -> dict:
        if self.source is not None:
            return self.source()
        return take_snapshot(self.sc.statusStore, list(self.job_ids), self.history,
                             self.timeline)

    def push(self) -> dict:
        snap = self.snapshot()
        if snap != self._last:
            self.view.show(snap)
            self._last = snap
            self._sent = len(json.dumps(snap))
        return snap

    def _run(self) -> None:
        wait = PERIOD
        while not self._stop.wait(wait):
            try:
                started = time.monotonic()
                self._sent = 0
                self.push()
            except Exception:  # a closed comm or a stopped context ends the feed
                return
            # The next push waits until this one's bytes fit in the budget.
            wait = max(PERIOD, self._sent / BYTES_PER_SECOND - (time.monotonic() - started))

    def close(self, status: str) -> dict:
        """Stop refreshing; the final state matches the listener's counts exactly."""
        self._stop.set()
        self._thread.join(2)
        if self.source is None:
            self.sc.waitForListeners()
            if not self.all_jobs:
                self.sc.removeSparkListener(self)
        snap = self.push()
        self.view.status = status
        return snap
