"""The live widgets: a %%spark cell's jobs, stages and executors, and the executor panel.

``JobsView`` is an anywidget model whose state is a snapshot (see ``snapshot.py``);
``CellFeed`` refreshes it from a background thread eight times a second while the cell
runs. Widget state updates are comm messages, which ipykernel delivers from any thread;
the cell itself is never blocked by them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import anywidget
import traitlets

from sparkbook.driver.listener import JobStart, SparkListener
from sparkbook.notebook.snapshot import ExecutorHistory, take_snapshot

WIDGETS = Path(__file__).resolve().parents[2] / "widgets"
PERIOD = 0.125


class JobsView(anywidget.AnyWidget):
    """Jobs and their stages (``mode="cell"``), or only the executor panel."""

    _esm = WIDGETS / "sparkbook.js"
    _css = WIDGETS / "sparkbook.css"
    title = traitlets.Unicode("").tag(sync=True)
    mode = traitlets.Unicode("cell").tag(sync=True)
    status = traitlets.Unicode("running").tag(sync=True)
    jobs = traitlets.List([]).tag(sync=True)
    stages = traitlets.List([]).tag(sync=True)
    executors = traitlets.List([]).tag(sync=True)
    updates = traitlets.Int(0).tag(sync=True)

    def show(self, snapshot: dict) -> None:
        with self.hold_sync():
            self.jobs = snapshot["jobs"]
            self.stages = snapshot["stages"]
            self.executors = snapshot["executors"]
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
        self._last: dict | None = None
        self._stop = threading.Event()
        if source is None:
            sc.addSparkListener(self)
        self._thread = threading.Thread(target=self._run, name="sparkbook-widget", daemon=True)
        self._thread.start()

    def on_job_start(self, event: JobStart) -> None:
        self.job_ids.append(event.job_id)

    def snapshot(self) -> dict:
        if self.source is not None:
            return self.source()
        return take_snapshot(self.sc.statusStore, list(self.job_ids), self.history)

    def push(self) -> dict:
        snap = self.snapshot()
        if snap != self._last:
            self.view.show(snap)
            self._last = snap
        return snap

    def _run(self) -> None:
        while not self._stop.wait(PERIOD):
            try:
                self.push()
            except Exception:  # a closed comm or a stopped context ends the feed
                return

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
