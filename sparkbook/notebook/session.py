"""The notebook's one Spark session: which cluster the kernel drives, and its settings."""

from __future__ import annotations

from sparkbook.conf import SparkConf


class NotebookSession:
    """Starts, joins, reuses and stops the SparkContext that cells use as ``sc``."""

    def __init__(self) -> None:
        self.sc = None
        self.settings: dict[str, str] = {}

    @property
    def active(self):
        return self.sc if self.sc is not None and not self.sc.isStopped else None

    def _conf(self) -> SparkConf:
        conf = SparkConf()
        for key, value in self.settings.items():
            conf.set(key, value)
        return conf

    def start(self, executors: int = 2, memory: str | None = None):
        """A local cluster of ``executors`` one-core executor processes (or the running one)."""
        if self.active is not None:
            return self.sc
        from sparkbook.driver.context import SparkContext

        conf = self._conf()
        if memory:
            conf.set("spark.executor.memory", memory)
        self.sc = SparkContext.getOrCreate(conf.setMaster(f"local[{executors}]").setAppName(
            conf.get("spark.app.name") or "sparkbook-notebook"))
        return self.sc

    def connect(self, master_url: str, cluster_file: str | None = None):
        """Join a standalone cluster started with ``sparkbook local`` or ``sparkbook manager``."""
        self.stop()
        from sparkbook.driver.context import SparkContext

        conf = self._conf().setMaster(master_url)
        if cluster_file:
            conf.set("spark.sparkbook.clusterFile", cluster_file)
        self.sc = SparkContext.getOrCreate(conf.setAppName(
            conf.get("spark.app.name") or "sparkbook-notebook"))
        return self.sc

    def spark_session(self):
        """The SparkSession on the running context (cells see it as ``spark``)."""
        from sparkbook.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None and active.sparkContext is self.sc:
            return active
        return SparkSession(self.sc)

    def ensure(self):
        """The running context, starting the default local cluster if there is none."""
        return self.active or self.start()

    def stop(self) -> None:
        if self.active is not None:
            self.sc.stop()
        self.sc = None
