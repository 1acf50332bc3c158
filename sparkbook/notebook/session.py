"""The notebook's one Spark session: which engine and cluster the kernel drives, and its
settings."""

from __future__ import annotations

import os
from collections.abc import Callable

from sparkbook.notebook.engines import Engine, engine_for, open_engine


class NotebookSession:
    """Starts, joins, reuses and stops the engine whose ``sc`` and ``spark`` cells use."""

    def __init__(self, namer: Callable[[str], str | None] | None = None) -> None:
        self.engine: Engine | None = None
        self.settings: dict[str, str] = {}
        self.namer = namer  # names a cell's code file ("cell 4"), for Spark's call sites

    @property
    def running(self) -> Engine | None:
        """The engine, while its Spark runs."""
        return self.engine if self.engine is not None and self.engine.running else None

    @property
    def sc(self):
        return self.engine.sc if self.engine is not None else None

    @property
    def active(self):
        """The running engine's ``sc``, or None."""
        return self.running.sc if self.running is not None else None

    def start(self, executors: int = 2, memory: str | None = None):
        """A local cluster of ``executors`` one-core executor processes, or whatever engine
        already runs. ``SPARKBOOK_ENGINE=pyspark`` (or ``connect``) in the kernel's
        environment makes it Apache Spark's ``local[N]``: the same notebook, unchanged."""
        if self.running is not None:
            return self.sc
        name = engine_for("", os.environ.get("SPARKBOOK_ENGINE") or "sparkbook")
        if name == "sparkbook":
            from sparkbook.notebook.engines.native import SparkbookEngine

            self.engine = SparkbookEngine.start(self.settings, executors, memory)
        else:
            settings = {**self.settings, **({"spark.executor.memory": memory} if memory else {})}
            self.engine = open_engine(name, f"local[{executors}]", settings, self.namer)
        return self.sc

    def connect(self, master: str | None, cluster_file: str | None = None,
                engine: str | None = None, conf: dict[str, str] | None = None):
        """Join ``master`` with ``engine`` (from the master's scheme when not given):
        ``sparkbook://`` sparkbook's standalone cluster, ``sc://`` Spark Connect, any other
        master Spark accepts on classic pyspark."""
        name = engine_for(master or "", engine)
        self.stop()
        self.engine = open_engine(name, master, {**self.settings, **(conf or {})},
                                  self.namer, cluster_file)
        return self.sc

    def spark_session(self):
        """The SparkSession on the running engine (cells see it as ``spark``)."""
        return self.engine.spark

    def ensure(self):
        """The running ``sc``, starting the default local cluster if nothing runs."""
        return self.active if self.running is not None else self.start()

    def stop(self) -> None:
        if self.running is not None:
            self.engine.stop()
        self.engine = None
