"""sparkbook's own engine: its driver, its cluster manager and its executor processes.

The listener bus feeds the widget; ``sc.cluster`` answers for the processes.
"""

from __future__ import annotations

from collections.abc import Callable

from sparkbook.conf import SparkConf
from sparkbook.notebook.engines import CellRun, Engine
from sparkbook.notebook.snapshot import ExecutorHistory, take_snapshot

MANAGER_STATUS_TIMEOUT = 5.0  # seconds %spark status waits for the manager's answer
APP_NAME = "sparkbook-notebook"


def _conf(settings: dict[str, str]) -> SparkConf:
    conf = SparkConf()
    for key, value in settings.items():
        conf.set(key, value)
    return conf.setAppName(conf.get("spark.app.name") or APP_NAME)


def _manager_lines(sc) -> list[str]:
    """What the cluster manager itself says (``sc.cluster.status()``), for %spark status."""
    try:
        status = sc.cluster.status(timeout=MANAGER_STATUS_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - a dead or silent manager is worth a line
        return [f"cluster manager: no answer ({exc})"]
    lines = [f"cluster manager's view: executors {len(status.executors)}, "
             f"applications {len(status.applications)}", "  applications:"]
    for app in status.applications:
        mine = "  (this one)" if app["app_id"] == sc.applicationId else ""
        lines.append(f"    {app['app_id']}  {app['name']}  user {app['user']}, "
                     f"pid {app['pid']}{mine}")
    lines.append("  lost executors:" + ("" if status.lost else " none"))
    lines += [f"    {eid:>3}  {reason}" for eid, reason in status.lost.items()]
    return lines


def recent_snapshot(sc, n: int) -> dict:
    """The last ``n`` jobs of a sparkbook ``sc``, once its listener bus has delivered
    every event so far."""
    sc.waitForListeners()
    store = sc.statusStore
    with store.lock:
        ids = sorted(store.jobs)[-n:] if n else []
    return take_snapshot(store, ids)


class SparkbookEngine(Engine):
    """A sparkbook ``SparkContext``: a local cluster, or a standalone one joined."""

    name = "sparkbook"

    def __init__(self, sc) -> None:
        self.sc = sc
        self.history = ExecutorHistory()  # the executors' CPU sparklines
        sc.addSparkListener(self.history)

    @classmethod
    def start(cls, settings: dict[str, str], executors: int = 2,
              memory: str | None = None) -> SparkbookEngine:
        """A local cluster of ``executors`` one-core executor processes."""
        from sparkbook.driver.context import SparkContext

        conf = _conf(settings)
        if memory:
            conf.set("spark.executor.memory", memory)
        return cls(SparkContext.getOrCreate(conf.setMaster(f"local[{executors}]")))

    @classmethod
    def connect(cls, master: str, settings: dict[str, str],
                cluster_file: str | None = None) -> SparkbookEngine:
        """Join a standalone cluster started with ``sparkbook local`` or ``sparkbook manager``."""
        from sparkbook.driver.context import SparkContext

        conf = _conf(settings).setMaster(master)
        if cluster_file:
            conf.set("spark.sparkbook.clusterFile", cluster_file)
        return cls(SparkContext.getOrCreate(conf))

    @property
    def running(self) -> bool:
        return not self.sc.isStopped

    @property
    def spark(self):
        """The SparkSession on this context (cells see it as ``spark``)."""
        from sparkbook.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None and active.sparkContext is self.sc:
            return active
        return SparkSession(self.sc)

    def ready_line(self, joined: bool = False) -> str:
        sc = self.sc
        executors = len(sc.cluster.executors())
        if joined:
            return (f"sparkbook: joined {sc.master} as application {sc.applicationId}, "
                    f"{executors} executors")
        return (f"sparkbook: {sc.master}, application {sc.applicationId}, "
                f"{executors} executors; `sc` is ready")

    def executors(self) -> list[dict]:
        return take_snapshot(self.sc.statusStore, [], self.history)["executors"]

    def status_lines(self) -> list[str]:
        sc = self.sc
        snap = take_snapshot(sc.statusStore, sc.statusTracker().getActiveJobsIds(), self.history)
        lines = [f"cluster: {sc.master}", f"application: {sc.applicationId} ({sc.appName})",
                 "executors:"]
        for ex in snap["executors"]:
            state = f"pid {ex['pid']}" if ex["alive"] else "lost"
            lines.append(f"  {ex['id']:>3}  {state:<12} CPU {ex['cpu']:5.1f}%  "
                         f"tasks {ex['active']} active / {ex['completed']} done / "
                         f"{ex['failed']} failed")
        lines.append(f"running jobs: {[j['id'] for j in snap['jobs']] or 'none'}")
        return lines + _manager_lines(sc)

    def kill_executor(self, executor_id: str) -> str:
        pid = self.sc.cluster.kill_executor(executor_id)
        return f"sparkbook: executor {executor_id} (pid {pid}) killed"

    def panel(self, view):
        from sparkbook.notebook.jobview import CellFeed

        return CellFeed(self.sc, view, self.history, all_jobs=True)

    def cell(self, title: str) -> CellRun:
        return SparkbookCell(self)

    def recent_jobs(self, n: int) -> dict:
        return recent_snapshot(self.sc, n)

    def stop(self) -> None:
        if self.running:
            self.sc.stop()


class SparkbookCell(CellRun):
    """The listener bus feeds the widget; task output is capped once for the cell."""

    def __init__(self, engine: SparkbookEngine) -> None:
        self.engine = engine
        self.sc = engine.sc

    def begin(self) -> None:
        self.sc.taskOutput.begin_window(held=True)

    def feed(self, view):
        from sparkbook.notebook.jobview import CellFeed

        return CellFeed(self.sc, view, self.engine.history)

    def console(self) -> Callable[[str], None] | None:
        from sparkbook.driver.progress import ConsoleProgressBar

        if self.sc.progressBar is not None:
            return None
        bar = ConsoleProgressBar(self.sc.statusStore)
        self.sc.addSparkListener(bar, synchronous=True)  # erased at each job's end

        def finish(status: str) -> None:
            self.sc.removeSparkListener(bar)
            bar.stop()

        return finish

    def end(self) -> None:
        self.sc.waitForListeners()
        dropped = self.sc.taskOutput.end_window()
        if dropped:
            print(f"[sparkbook] {dropped} more lines printed by tasks were not shown")
