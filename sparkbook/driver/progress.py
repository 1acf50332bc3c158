"""ConsoleProgressBar: Spark's one-line stage progress in a terminal.

``[Stage 1:====>                    (3 + 2) / 8]`` -- completed + running tasks out of
the stage's total, redrawn in place every 200 ms once a stage has run for 500 ms, and
erased when no stage is running. It is also a listener: at each job's end it erases its
line at once, as Spark's ``finishAll`` does, so that what the program prints next starts
on a clean line (registered synchronously, it runs before the job's caller wakes up).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from sparkbook.driver.listener import JobEnd, SparkListener
from sparkbook.driver.statustracker import AppStatusStore

WIDTH = 80
UPDATE_PERIOD = 0.2
FIRST_DELAY = 0.5


def render(stages: list[tuple[int, int, int, int]], width: int = WIDTH) -> str:
    """One bar for (stage id, completed, active, total) tuples sharing ``width`` columns."""
    each = width // max(len(stages), 1)
    bars = []
    for stage_id, completed, active, total in stages:
        header = f"[Stage {stage_id}:"
        tailer = f"({completed} + {active}) / {total}]"
        room = each - len(header) - len(tailer)
        bar = ""
        if room > 0:
            filled = room * completed // max(total, 1)
            bar = "=" * filled + (">" if filled < room else "") + " " * max(room - filled - 1, 0)
        bars.append(header + bar + tailer)
    return "".join(bars)


class ConsoleProgressBar(SparkListener):
    """Draws the active stages of ``store`` on ``out`` from its own thread."""

    def __init__(self, store: AppStatusStore, out: TextIO | None = None) -> None:
        self.store = store
        self.out = out or sys.stderr
        self._shown = False
        self._lock = threading.Lock()  # one writer of the line at a time
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sparkbook-progress",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(UPDATE_PERIOD):
            self.refresh()

    def refresh(self) -> None:
        now = time.time()
        # Read and draw under one lock, so a job's end cannot fall between the two and
        # leave a bar of finished stages on the line.
        with self._lock:
            with self.store.lock:
                stages = [(s.stage_id, s.completed, s.active, s.num_tasks)
                          for s in sorted(self.store.stages.values(), key=lambda s: s.stage_id)
                          if s.status == "ACTIVE" and s.submission_time is not None
                          and now - s.submission_time >= FIRST_DELAY][:3]
            if stages:
                self.out.write("\r" + render(stages))
                self.out.flush()
                self._shown = True
            else:
                self._clear()

    def _clear(self) -> None:
        if self._shown:
            self.out.write("\r" + " " * WIDTH + "\r")
            self.out.flush()
            self._shown = False

    def finish_all(self) -> None:
        """Erase the bar now (the job it showed has ended)."""
        with self._lock:
            self._clear()

    def on_job_end(self, event: JobEnd) -> None:
        self.finish_all()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1)
        self.finish_all()
