"""Interrupting a classic-Spark cell while it waits on the JVM, without breaking py4j.

A KeyboardInterrupt raised inside py4j's wait for the JVM's answer leaves that thread's
connection mid-call: py4j keeps it as the thread's connection, so the next call on it (the
cancel itself, or the next cell's first call) reads the stale answer or none ("Answer from
Java side is empty"). So while a cell's code runs, an interrupt that lands inside py4j only
asks Spark to cancel the cell's job group, from another thread (its own connection); the
JVM call then returns (the job failed: cancelled) and the interrupt is raised when the
cell's code ends. An interrupt that lands in Python code is raised at once, as PySpark's
own handler does. A second interrupt while one is held is raised at once even inside py4j,
after closing the connection it waits on so that the next call opens a fresh one.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType

PY4J = f"{os.sep}py4j{os.sep}"


def in_py4j(frame: FrameType | None) -> bool:
    """Whether the interrupted code is inside py4j (a call to the JVM, or its answer)."""
    while frame is not None:
        if PY4J in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


class HeldInterrupts:
    """SIGINT for one cell: ``install()`` when the cell begins, ``code_ended()`` when its
    code returns or raises (raises the held interrupt), ``restore()`` at the cell's end."""

    def __init__(self, cancel: Callable[[], None], gateway_client=None) -> None:
        self.cancel = cancel  # cancels the cell's jobs; called from its own thread
        self.gateway_client = gateway_client
        self.held = False  # an interrupt came inside py4j and waits for the code to end
        self.code_running = False
        self._previous = None

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach the main thread only: nothing to guard
        if self._previous is None:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        self.code_running = True

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if not self.code_running:
            return  # the cell is ending: its jobs are done or already cancelled
        if not in_py4j(frame):
            raise KeyboardInterrupt
        if self.held:  # the user insists: give up on the JVM call
            self._drop_connection()
            raise KeyboardInterrupt
        self.held = True
        threading.Thread(target=self.cancel, name="sparkbook-cancel", daemon=True).start()

    def _drop_connection(self) -> None:
        # py4j's pinned-thread client keeps the interrupted call's connection as this
        # thread's; closed, it is replaced by a fresh one at the next call.
        get = getattr(self.gateway_client, "get_thread_connection", None)
        connection = get() if get is not None else None
        if connection is not None:
            connection.close()

    def code_ended(self) -> None:
        """The cell's code returned or raised: raise the interrupt held back, if any."""
        self.code_running = False
        if self.held:
            self.held = False
            raise KeyboardInterrupt from None  # not the cancelled job's Java traceback

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        self.code_running = False
