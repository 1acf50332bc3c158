"""TaskOutputPrinter: prints on the driver what tasks printed on the executors."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from sparkbook.driver.listener import JobEnd, JobStart, SparkListener, TaskEnd

WINDOW_LINE_LIMIT = 1000


class TaskOutputPrinter(SparkListener):
    """Each line as ``[executor 1] text``; at most ``limit`` lines a job, or a cell while a
    notebook cell holds the window open; the rest are counted, not shown."""

    def __init__(self, limit: int = WINDOW_LINE_LIMIT, out: TextIO | None = None) -> None:
        self.limit = limit
        self.out = out
        self.shown = 0
        self.dropped = 0
        self.held = False
        self._lock = threading.Lock()

    def begin_window(self, held: bool = False) -> None:
        """Start counting afresh; a held window outlasts the jobs started inside it."""
        with self._lock:
            self.shown = self.dropped = 0
            self.held = held

    def end_window(self) -> int:
        """Close the window; how many lines it did not show."""
        with self._lock:
            dropped, self.held = self.dropped, False
            self.shown = self.dropped = 0
        return dropped

    def on_job_start(self, event: JobStart) -> None:
        if not self.held:
            self.begin_window()

    def on_job_end(self, event: JobEnd) -> None:
        if not self.held and self.dropped:
            (self.out or sys.stdout).write(
                f"[sparkbook] {self.end_window()} more lines printed by tasks of job "
                f"{event.job_id} were not shown\n")

    def on_task_end(self, event: TaskEnd) -> None:
        if not event.output and not event.output_dropped:
            return
        out = self.out or sys.stdout
        with self._lock:
            room = max(self.limit - self.shown, 0)
            prefix = f"[executor {event.task_info.executor_id}] "
            shown = event.output[:room]
            if shown:
                out.write("".join(prefix + line + "\n" for line in shown))
                out.flush()
            self.shown += len(shown)
            self.dropped += len(event.output) - len(shown) + event.output_dropped
