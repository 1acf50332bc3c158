"""One notebook, several engines: run lessons cell by cell in a real Jupyter kernel on
each engine and count the cells that run unchanged and print what they print on sparkbook.

A kernel started with ``SPARKBOOK_ENGINE=pyspark`` (or ``connect``) makes a lesson's own
``%spark start -e N`` start Apache Spark's ``local[N]`` (classic, or a Spark Connect server
in the kernel); cells tagged ``sparkbook-only`` (processes and pids, killing executors,
``sc.cluster``) are skipped there, and cells tagged ``needs-sparkcontext`` (RDDs, listeners on
``sc``) are skipped on Spark Connect, which has no SparkContext on the client.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SPARKBOOK_ONLY = "sparkbook-only"
NEEDS_SPARKCONTEXT = "needs-sparkcontext"

# Each lesson starts from an empty namespace, as in a fresh kernel. ``%reset`` also deletes
# ``__spec__`` from ``__main__`` (the kernel's namespace is its dict), which pyspark's
# Connect client reads when it starts: put it back.
FRESH_NAMESPACE = """def _fresh(shell=get_ipython()):
    import sys
    main = sys.modules["__main__"]
    spec = getattr(main, "__spec__", None)
    shell.run_line_magic("reset", "-f")
    main.__spec__ = spec
_fresh()"""


def skipped_tags(engine: str) -> set[str]:
    """The tags of the cells a lesson does not run on ``engine``."""
    if engine == "sparkbook":
        return set()
    return {SPARKBOOK_ONLY} | ({NEEDS_SPARKCONTEXT} if engine == "connect" else set())


@dataclass
class CellResult:
    stdout: str = ""
    result: str | None = None  # the last expression's text/plain
    error: tuple[str, str] | None = None  # (ename, evalue)
    html: list[str] = field(default_factory=list)
    widgets: list[str] = field(default_factory=list)  # model ids, in display order
    updates: list[float] = field(default_factory=list)  # when each widget state message came
    seconds: float = 0.0

    @property
    def printed(self) -> str:
        """What a reader sees as text: the cell's stdout and its value."""
        return self.stdout + (self.result + "\n" if self.result is not None else "")


class Kernel:
    """A kernel (python3 by default), its cells' results and its widgets' states."""

    def __init__(self, kernel_name: str = "python3", timeout: float = 300,
                 env: dict[str, str] | None = None, cwd: str | None = None) -> None:
        from jupyter_client.manager import start_new_kernel

        self.km, self.kc = start_new_kernel(kernel_name=kernel_name, startup_timeout=120,
                                            env={**os.environ, **(env or {})}, cwd=cwd)
        self.timeout = timeout
        self.states: dict[str, dict] = {}  # comm id -> the widget's state so far

    def run(self, code: str, interrupt_after: float | None = None) -> CellResult:
        msg_id = self.kc.execute(code)
        if interrupt_after is not None:
            threading.Timer(interrupt_after, self.km.interrupt_kernel).start()
        out = CellResult()
        started = time.monotonic()
        deadline = started + self.timeout
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"cell did not finish: {code[:80]!r}") from None
            content, kind = msg["content"], msg["msg_type"]
            if kind == "comm_open" or (kind == "comm_msg"
                                       and content["data"].get("method") == "update"):
                self.states.setdefault(content["comm_id"], {}).update(
                    content["data"].get("state", {}))
                if kind == "comm_msg":
                    out.updates.append(time.monotonic())
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if kind == "stream" and content["name"] == "stdout":
                out.stdout += content["text"]
            elif kind == "execute_result":
                out.result = content["data"].get("text/plain")
            elif kind == "error":
                out.error = (content["ename"], content["evalue"])
            elif kind in ("display_data", "update_display_data"):
                data = content["data"]
                if "text/html" in data:
                    out.html.append(data["text/html"])
                model = data.get(WIDGET_VIEW, {}).get("model_id")
                if model and model not in out.widgets:
                    out.widgets.append(model)
            elif kind == "status" and content["execution_state"] == "idle":
                out.seconds = time.monotonic() - started
                if out.error is None:  # a UsageError (unknown magic) goes to stderr only
                    out.error = self._reply_error(msg_id)
                return out

    def _reply_error(self, msg_id: str) -> tuple[str, str] | None:
        """The error the cell's execute_reply reports, if any."""
        while True:
            reply = self.kc.get_shell_msg(timeout=self.timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                content = reply["content"]
                if content.get("status") != "error":
                    return None
                return content.get("ename", "error"), content.get("evalue", "")

    def widget(self, cell: CellResult, index: int = 0) -> dict:
        """The final state of a widget the cell displayed."""
        return self.states[cell.widgets[index]]

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@dataclass
class LessonRun:
    """One lesson on one engine: each code cell's result, None where it was skipped."""

    path: Path
    cells: list[CellResult | None]
    seconds: float


def code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(Path(path).read_text())["cells"] if c["cell_type"] == "code"]


def run_lessons(paths: list[Path], engine: str = "sparkbook",
                timeout: float = 300) -> list[LessonRun]:
    """Every lesson in one kernel for ``engine``, from the lessons' folder, in order."""
    skip = skipped_tags(engine)
    folder = str(Path(paths[0]).parent)
    kernel = Kernel(timeout=timeout, env={"SPARKBOOK_ENGINE": engine}, cwd=folder)
    runs = []
    try:
        for path in paths:
            kernel.run(FRESH_NAMESPACE)
            started = time.perf_counter()
            results = []
            for cell in code_cells(path):
                tags = cell.get("metadata", {}).get("tags", [])
                if skip & set(tags):
                    results.append(None)
                    continue
                results.append(kernel.run("".join(cell["source"])))
            kernel.run("%spark stop")
            runs.append(LessonRun(Path(path), results, time.perf_counter() - started))
    finally:
        kernel.close()
    return runs


def compare(base: LessonRun, other: LessonRun) -> dict:
    """How many of a lesson's code cells ran unchanged on the other engine (no error, not
    skipped), and how many of those printed what they printed on sparkbook."""
    ran = [i for i, r in enumerate(other.cells) if r is not None and r.error is None]
    same = [i for i in ran if base.cells[i] is not None
            and base.cells[i].printed == other.cells[i].printed]
    failed = {i: other.cells[i].error for i, r in enumerate(other.cells)
              if r is not None and r.error is not None}
    return {"lesson": other.path.name, "cells": len(other.cells), "ran": len(ran),
            "same_output": len(same), "failed": failed,
            "skipped": sum(r is None for r in other.cells)}
