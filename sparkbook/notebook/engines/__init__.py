"""Engines: what a notebook's ``%%spark`` cells run on, behind the same magics and widget.

``sparkbook`` (the default) is sparkbook's own driver and cluster; ``pyspark`` is classic
Apache Spark (a real ``pyspark.SparkContext`` on any master Spark accepts); ``connect`` is a
Spark Connect session (DataFrames only). Each engine starts or joins its cluster, binds
``sc`` and ``spark``, reports status and executors, kills an executor where it can, and
runs cells (``CellRun``) whose snapshots have the widget's one schema (``snapshot.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ENGINES = ("sparkbook", "pyspark", "connect")
DEFAULT_MASTERS = {"pyspark": "local[*]", "connect": "sc://localhost:15002"}
# Masters only Apache Spark runs (sparkbook's own engine takes local[N] and sparkbook://).
SPARK_ONLY_SCHEMES = ("spark://", "yarn", "k8s://", "mesos://")


class CellRun:
    """One ``%%spark`` cell on an engine: what happens around the user's code."""

    def begin(self) -> None:
        """Before the cell's code runs (a job group, a tag, an output window)."""

    def feed(self, view):
        """The CellFeed that keeps the cell's widget up to date."""
        from sparkbook.notebook.jobview import CellFeed

        return CellFeed(None, view, None, source=self.snapshot)

    def console(self) -> Callable[[str], None] | None:
        """Outside a notebook: a progress display, and what stops it (None: nothing)."""
        return None

    def snapshot(self) -> dict:
        """The cell's jobs, their stages and the executors, in the widget's schema."""
        raise NotImplementedError

    def code_ended(self) -> None:
        """The cell's code returned or raised: raise KeyboardInterrupt if the engine held
        an interrupt back while the code waited on Spark."""

    def interrupt(self) -> None:
        """The kernel was interrupted: cancel what the cell started."""

    def settle(self) -> None:
        """The code has returned: wait (briefly) until Spark's view of its jobs is final."""

    def end(self) -> None:
        """After the final snapshot: undo what ``begin`` set."""


class Engine:
    """A running Spark of one kind, as the notebook's magics drive it."""

    name = ""
    sc: Any = None
    spark: Any = None

    @property
    def running(self) -> bool:
        raise NotImplementedError

    def names(self) -> dict[str, Any]:
        """What cells see: ``sc`` and ``spark``."""
        return {"sc": self.sc, "spark": self.spark}

    def ready_line(self, joined: bool = False) -> str:
        """The one line ``%spark start`` / ``%spark connect`` prints."""
        raise NotImplementedError

    def status_lines(self) -> list[str]:
        """What ``%spark status`` prints."""
        raise NotImplementedError

    def kill_executor(self, executor_id: str) -> str:
        """Kill one executor (``%spark kill-executor``); the line to print."""
        raise NotImplementedError

    def cell(self, title: str) -> CellRun:
        raise NotImplementedError

    def panel(self, view):
        """The feed of ``%spark executors``' live panel."""
        from sparkbook.notebook.jobview import CellFeed

        return CellFeed(None, view, None, all_jobs=True,
                        source=lambda: {"jobs": [], "stages": [], "executors": self.executors()})

    def executors(self) -> list[dict]:
        """The executor rows of the widget's schema."""
        raise NotImplementedError

    def recent_jobs(self, n: int) -> dict:
        """The application's last ``n`` jobs (any cell's), their stages and the executors,
        in the widget's schema, once the engine's view of them has settled."""
        raise NotImplementedError(f"the {self.name} engine does not list its recent jobs")

    def stop(self) -> None:
        raise NotImplementedError


def engine_for(master: str, engine: str | None = None) -> str:
    """Which engine a ``%spark connect`` master means when ``--engine`` does not say."""
    if engine is not None:
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}: expected one of {', '.join(ENGINES)}")
        return engine
    if master.startswith("sc://"):
        return "connect"
    if master.startswith(SPARK_ONLY_SCHEMES):
        return "pyspark"
    return "sparkbook"


def open_engine(engine: str, master: str | None, settings: dict[str, str],
                namer: Callable[[str], str | None] | None = None,
                cluster_file: str | None = None) -> Engine:
    """Start or join ``master`` with ``engine`` (one of ENGINES)."""
    if engine == "sparkbook":
        from sparkbook.notebook.engines.native import SparkbookEngine

        if master is None:
            raise ValueError("%spark connect needs a master: sparkbook://HOST:PORT")
        return SparkbookEngine.connect(master, settings, cluster_file)
    master = master or DEFAULT_MASTERS[engine]
    if engine == "pyspark":
        from sparkbook.notebook.engines.classic import PySparkEngine

        return PySparkEngine(master, settings, namer)
    from sparkbook.notebook.engines.connect import ConnectEngine

    return ConnectEngine(master, settings)
