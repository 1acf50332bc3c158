"""Peak resident memory of a process tree, sampled from a background thread."""

from __future__ import annotations

import os
import threading
from types import TracebackType

import psutil


def tree_rss(root: psutil.Process) -> int:
    """Sum of RSS in bytes of ``root`` and all its descendants alive right now.

    Shared pages (fork copy-on-write, shared libraries) are counted once per process,
    so this over-states the machine-wide footprint; it is the same measure for every
    backend, and the one ``ps``/``top`` users add up.
    """
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            # A task process may exit between listing and reading; it holds no memory now.
            pass
    return total


class PeakRSS:
    """Context manager recording the peak of :func:`tree_rss` every ``interval`` seconds."""

    def __init__(self, pid: int | None = None, interval: float = 0.05) -> None:
        self.root = psutil.Process(pid or os.getpid())
        self.interval = interval
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)

    def _sample(self) -> None:
        self.peak_bytes = max(self.peak_bytes, tree_rss(self.root))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> PeakRSS:
        self._sample()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        # One last sample so that a run shorter than the interval is still measured.
        self._sample()
