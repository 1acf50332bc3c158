"""SparkContext: the driver program's entry point (the API of ``pyspark.SparkContext``).

Creating one registers an application with a cluster manager: a private one started on
demand for ``local[N]`` (N one-core executor *processes*, where PySpark's ``local[N]``
means N threads in one JVM), or a running one for ``sparkbook://HOST:PORT``.
"""

from __future__ import annotations

import atexit
import getpass
import itertools
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sparkbook import accumulators, serializers, sparkfiles, wire
from sparkbook.broadcast import Broadcast
from sparkbook.conf import SparkConf
from sparkbook.driver.backend import SchedulerBackend
from sparkbook.driver.callsite import user_callsite
from sparkbook.driver.cleaner import ContextCleaner
from sparkbook.driver.cluster import ClusterView
from sparkbook.driver.fileserver import FileServer, Shipment
from sparkbook.driver.jobwaiter import SimpleFutureAction
from sparkbook.driver.listener import (
    ApplicationEnd,
    ApplicationStart,
    LiveListenerBus,
    SparkListener,
)
from sparkbook.driver.local_cluster import LocalCluster
from sparkbook.driver.profiler import INCORRECT_CONF_FOR_PROFILE, ProfilerCollector
from sparkbook.driver.progress import ConsoleProgressBar
from sparkbook.driver.statustracker import AppStatusStore, SparkStatusTracker
from sparkbook.driver.taskoutputprinter import TaskOutputPrinter
from sparkbook.driver.tasksetmanager import Speculation
from sparkbook.errors import PySparkRuntimeError, SparkException
from sparkbook.rdd import RDD
from sparkbook.rdd.dependency import ShuffleDependency
from sparkbook.rdd.input import (
    BinaryFileRDD,
    HadoopRDD,
    PickleFileRDD,
    WholeTextFileRDD,
    local_path,
)
from sparkbook.rdd.kinds import ParallelCollectionRDD, slice_collection, union_of

log = logging.getLogger("sparkbook.context")

_LOCAL = re.compile(r"^local(?:\[(\d+|\*)(?:,\s*\d+)?\])?$")

JOB_TAGS = "spark.job.tags"  # the local property that carries a job's tags, comma-separated

# setLogLevel's names (Spark's log4j levels) in Python's logging levels.
LOG_LEVELS = {"ALL": 1, "DEBUG": logging.DEBUG, "ERROR": logging.ERROR,
              "WARN": logging.WARNING, "INFO": logging.INFO, "OFF": logging.CRITICAL + 10,
              "FATAL": logging.CRITICAL, "TRACE": 5}

SPARK_5063 = (
    "It appears that you are attempting to reference SparkContext from a broadcast "
    "variable, action, or transformation. SparkContext can only be used on the driver, "
    "not in code that it run on workers. For more information, see SPARK-5063."
)




class SparkContext:
    """Main entry point for sparkbook: a connection to a cluster, and the RDD factory."""

    _active_spark_context: SparkContext | None = None
    _lock = threading.RLock()
    PACKAGE_EXTENSIONS = sparkfiles.PACKAGE_EXTENSIONS

    def __init__(self, master: str | None = None, appName: str | None = None,
                 sparkHome: str | None = None, pyFiles: list[str] | None = None,
                 environment: dict | None = None, batchSize: int = 0, serializer: Any = None,
                 conf: SparkConf | None = None, **_ignored: Any) -> None:
        with SparkContext._lock:
            active = SparkContext._active_spark_context
            if active is not None:
                raise ValueError(
                    f"Cannot run multiple SparkContexts at once; existing SparkContext(app="
                    f"{active.appName}, master={active.master}) created by __init__ at "
                    f"{active._created_at}")
            SparkContext._active_spark_context = self
        try:
            self._start(master, appName, conf)
            for path in pyFiles or ():
                self.addPyFile(path)
        except BaseException:
            with SparkContext._lock:
                SparkContext._active_spark_context = None
            atexit.unregister(self.stop)
            self._teardown()
            raise

    def _start(self, master: str | None, appName: str | None, conf: SparkConf | None) -> None:
        self._conf = conf.copy() if conf is not None else SparkConf()
        self.master = (master or self._conf.get("spark.master")
                       or os.environ.get("SPARK_MASTER") or "local[*]")
        self.appName = appName or self._conf.get("spark.app.name") or "sparkbook"
        self._conf.setMaster(self.master).setAppName(self.appName)
        self._created_at = self._callsite()
        self._ids = itertools.count()
        self._shuffle_ids = itertools.count()
        self._broadcast_ids = itertools.count()
        self._accumulators: dict[int, accumulators.Accumulator] = {}
        # Pickled values only: holding the Broadcast objects would keep them from the cleaner.
        self._broadcast_blobs: dict[str, bytes] = {}
        self._cleaner: ContextCleaner | None = None
        self._local = threading.local()
        self._stopped = False
        self._checkpoint_dir: str | None = None
        # The driver's SparkFiles root, on sys.path as PySpark puts it.
        self._temp_dir = tempfile.mkdtemp(prefix="sparkbook-driver-")
        self._files = FileServer(os.path.join(self._temp_dir, f"userFiles-{uuid.uuid4()}"))
        sparkfiles.activate(self._files.root, [], True)
        self._profiler = (ProfilerCollector()
                          if self._conf.get("spark.python.profile", "false") == "true" else None)
        self._local_cluster: LocalCluster | None = None
        self._progress: ConsoleProgressBar | None = None
        self._backend: SchedulerBackend | None = None
        self._bus = LiveListenerBus()
        self._status = AppStatusStore(self._conf.get_int("spark.ui.retainedJobs", 1000),
                                      self._conf.get_int("spark.ui.retainedStages", 1000),
                                      self._conf.get_int("spark.ui.retainedDeadExecutors", 100))
        self._bus.add_listener(self._status, synchronous=True)
        self._task_output = TaskOutputPrinter()
        self._bus.add_listener(self._task_output)
        self._start_time = int(time.time() * 1000)
        heartbeat_timeout = self._conf.get_seconds("spark.sparkbook.heartbeatTimeout", 3.0)
        local = _LOCAL.match(self.master)
        if local:
            count = local.group(1)
            self._local_executors = (1 if count is None else os.cpu_count() or 1
                                     if count == "*" else int(count))
            memory = self._conf.get("spark.executor.memory", "1g")
            self._local_cluster = LocalCluster(self._local_executors, memory, heartbeat_timeout)
            cluster = self._local_cluster.cluster
            manager_address = cluster.address
        elif self.master.startswith("sparkbook://"):
            self._local_executors = 0
            path = (self._conf.get("spark.sparkbook.clusterFile")
                    or os.environ.get("SPARKBOOK_CLUSTER_FILE")
                    or wire.default_cluster_file(self.master))
            cluster = wire.read_cluster_file(path)
            manager_address = wire.parse_master_url(self.master)
        else:
            raise ValueError(
                f"Could not parse Master URL: '{self.master}' (sparkbook runs local, local[N], "
                "local[*] and sparkbook://HOST:PORT; for an Apache Spark cluster use PySpark)")
        self._backend = SchedulerBackend(
            manager_address, cluster.address, cluster.key, self.appName, self._bus,
            self._apply_accumulators, self._payload,
            self._conf.get_int("spark.task.maxFailures", 4),
            self._conf.get_seconds("spark.locality.wait", 3.0), self._profiler is not None,
            self._local_cluster.exit_reason if self._local_cluster is not None else None,
            self._conf.get_seconds("spark.sparkbook.managerTimeout", 5.0),
            self._speculation(),
            self._conf.get_seconds("spark.sparkbook.executorWaitTimeout", 60.0))
        self._backend.start(timeout=self._conf.get_seconds("spark.sparkbook.connectTimeout",
                                                           10.0))
        if self._local_executors:
            self._backend.wait_for_executors(self._local_executors, 30.0)
        self._app_id = self._backend.app_id
        if self._conf.get("spark.cleaner.referenceTracking", "true").lower() == "true":
            self._cleaner = ContextCleaner(self._backend.clean)
        show = self._conf.get("spark.ui.showConsoleProgress")
        if show == "true" or (show is None and sys.stderr.isatty()):
            self._progress = ConsoleProgressBar(self._status)
            self._bus.add_listener(self._progress, synchronous=True)  # erased at a job's end
        self._bus.post(ApplicationStart(self.applicationId, self.appName, time.time(),
                                        getpass.getuser()))
        atexit.register(self.stop)

    @classmethod
    def getOrCreate(cls, conf: SparkConf | None = None) -> SparkContext:
        with cls._lock:
            if cls._active_spark_context is None:
                cls(conf=conf or SparkConf())
            return cls._active_spark_context

    def __reduce__(self) -> tuple:
        raise RuntimeError(SPARK_5063)

    def __enter__(self) -> SparkContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SparkContext master={self.master} appName={self.appName}>"

    # --- lifecycle ---------------------------------------------------------------------

    def stop(self) -> None:
        """Unregister from the cluster; a local[N] cluster's processes all exit."""
        if getattr(self, "_stopped", True):
            return
        self._stopped = True
        atexit.unregister(self.stop)
        if self._profiler is not None:  # PySpark shows or dumps the profiles at exit
            dump_to = self._conf.get("spark.python.profile.dump")
            if dump_to:
                self._profiler.dump(dump_to)
            else:
                self._profiler.show()
        self._bus.post(ApplicationEnd(time.time()))
        self._teardown()
        with SparkContext._lock:
            if SparkContext._active_spark_context is self:
                SparkContext._active_spark_context = None

    def _teardown(self) -> None:
        if getattr(self, "_cleaner", None) is not None:
            self._cleaner.stop()  # before the backend it posts to goes
        if getattr(self, "_progress", None) is not None:
            self._progress.stop()
        if getattr(self, "_backend", None) is not None:
            self._backend.stop()
        if getattr(self, "_local_cluster", None) is not None:
            self._local_cluster.stop()
        if getattr(self, "_temp_dir", None) is not None:
            sparkfiles.deactivate()
            shutil.rmtree(self._temp_dir, ignore_errors=True)

    # --- properties ----------------------------------------------------------------------

    @property
    def applicationId(self) -> str:
        """The application's id, given by the cluster manager."""
        return self._app_id

    @property
    def startTime(self) -> int:
        """When the context started, in milliseconds since the epoch."""
        return self._start_time

    @property
    def defaultParallelism(self) -> int:
        """spark.default.parallelism, else N for local[N], else the cluster's cores (>= 2)."""
        if self._conf.contains("spark.default.parallelism"):
            return int(self._conf.get("spark.default.parallelism"))
        if self._local_cluster is not None:
            return self._local_executors
        return max(sum(info.cores for info in self._backend.executor_infos()), 2)

    def _speculation(self) -> Speculation | None:
        """spark.speculation and its settings, or None when it is off (the default)."""
        if self._conf.get("spark.speculation", "false").lower() != "true":
            return None
        conf = self._conf
        return Speculation(float(conf.get("spark.speculation.multiplier", "3.0")),
                           float(conf.get("spark.speculation.quantile", "0.9")),
                           conf.get_seconds("spark.speculation.minTaskRuntime", 0.1))

    @property
    def defaultMinPartitions(self) -> int:
        return min(self.defaultParallelism, 2)

    @property
    def version(self) -> str:
        from sparkbook import __version__

        return __version__

    @property
    def uiWebUrl(self) -> str | None:
        """None: sparkbook has no web UI (the notebook's widget shows jobs and executors)."""
        return None

    @property
    def resources(self) -> dict:
        """Resources (GPUs, ...) allocated to the driver: sparkbook schedules none."""
        return {}

    def sparkUser(self) -> str:
        return getpass.getuser()

    def getConf(self) -> SparkConf:
        return self._conf.copy()

    def setLogLevel(self, logLevel: str) -> None:
        """Set the driver's log level: ALL, DEBUG, ERROR, FATAL, INFO, OFF, TRACE or WARN."""
        level = LOG_LEVELS.get(str(logLevel).upper())
        if level is None:
            raise ValueError(f"requirement failed: Supplied level {logLevel} did not match one "
                             f"of: {','.join(LOG_LEVELS)}")
        logging.getLogger("sparkbook").setLevel(level)

    def statusTracker(self) -> SparkStatusTracker:
        return SparkStatusTracker(self._status)

    # --- local properties and job groups ---------------------------------------------------

    def _properties(self) -> dict:
        props = getattr(self._local, "props", None)
        if props is None:
            props = self._local.props = {}
        return props

    def setLocalProperty(self, key: str, value: str | None) -> None:
        """Set a property of this thread's later jobs (None removes it)."""
        if value is None:
            self._properties().pop(key, None)
        elif not isinstance(value, str):
            raise TypeError(f"setLocalProperty takes a str or None as the value, not "
                            f"{type(value).__name__}")
        else:
            self._properties()[key] = value

    def getLocalProperty(self, key: str) -> str | None:
        return self._properties().get(key)

    def setJobDescription(self, value: str) -> None:
        self.setLocalProperty("spark.job.description", value)

    def setJobGroup(self, groupId: str, description: str,
                    interruptOnCancel: bool = False) -> None:
        """Put this thread's later jobs in a group, which ``cancelJobGroup`` cancels."""
        self.setLocalProperty("spark.jobGroup.id", groupId)
        self.setLocalProperty("spark.job.description", description)
        self.setInterruptOnCancel(interruptOnCancel)

    def setInterruptOnCancel(self, interruptOnCancel: bool) -> None:
        """Recorded with this thread's later jobs; sparkbook always stops the running tasks
        of a cancelled job, as if it were true."""
        self.setLocalProperty("spark.job.interruptOnCancel", str(bool(interruptOnCancel)).lower())

    def cancelJobGroup(self, groupId: str) -> None:
        self._cancel_jobs(lambda p: p.get("spark.jobGroup.id") == groupId,
                          f"part of cancelled job group {groupId}")

    def cancelAllJobs(self) -> None:
        self._cancel_jobs(lambda p: True, "as part of cancellation of all jobs")

    def _cancel_jobs(self, predicate: Callable[[dict], bool], reason: str) -> None:
        self._backend.cancel_jobs(predicate, reason).result()

    # --- job tags (Spark 3.5): a job carries every tag its thread has when it starts -------

    def addJobTag(self, tag: str) -> None:
        """Tag this thread's later jobs with ``tag`` (no commas), for ``cancelJobsWithTag``."""
        _check_tag(tag)
        tags = self._job_tags()
        if tag not in tags:
            self._set_job_tags([*tags, tag])

    def removeJobTag(self, tag: str) -> None:
        _check_tag(tag)
        self._set_job_tags([t for t in self._job_tags() if t != tag])

    def getJobTags(self) -> set[str]:
        return set(self._job_tags())

    def clearJobTags(self) -> None:
        self.setLocalProperty(JOB_TAGS, None)

    def cancelJobsWithTag(self, tag: str) -> None:
        """Cancel the active jobs (of any thread) that carry ``tag``."""
        _check_tag(tag)
        self._cancel_jobs(lambda p: tag in p.get(JOB_TAGS, "").split(","),
                          f"part of cancelled job tags {tag}")

    def _job_tags(self) -> list[str]:
        return [t for t in (self.getLocalProperty(JOB_TAGS) or "").split(",") if t]

    def _set_job_tags(self, tags: list[str]) -> None:
        self.setLocalProperty(JOB_TAGS, ",".join(tags) or None)

    # --- files for tasks, checkpoints, profiles ---------------------------------------

    def addFile(self, path: str, recursive: bool = False) -> None:
        """Ship a file (or, with ``recursive``, a directory) to every executor; tasks and the
        driver find it at ``SparkFiles.get(name)``. A path added again is ignored."""
        self._ship(self._files.add_file(path, recursive))

    def addPyFile(self, path: str) -> None:
        """Like ``addFile``, and importable: a .py file's module, or the packages inside a
        .zip/.egg, can be imported in tasks and on the driver."""
        self._ship(self._files.add_file(path, python=True))
        sparkfiles.activate(self._files.root, self._files.python_includes, True)

    def addArchive(self, path: str) -> None:
        """Ship an archive (.zip, .jar, .tar, .tar.gz, .tgz) to every executor, unpacked into
        the folder ``SparkFiles.get(name)`` (``path#name`` chooses the name)."""
        self._ship(self._files.add_archive(path))

    @property
    def listFiles(self) -> list[str]:
        """The ``file:`` URIs of the files added with addFile and addPyFile."""
        return list(self._files.files)

    @property
    def listArchives(self) -> list[str]:
        """The ``file:`` URIs of the archives added with addArchive."""
        return list(self._files.archives)

    def _ship(self, shipment: Shipment | None) -> None:
        if shipment is not None:
            self._backend.add_file(shipment).result()

    def _payload(self, kind: str, name: str) -> bytes:
        """What the scheduler backend sends an executor: a broadcast or an added file."""
        if kind == "broadcast":
            return self._broadcast_blobs[name]
        return self._files.blobs[(kind, name)]

    def setCheckpointDir(self, dirName: str) -> None:
        """Checkpoints go to a new folder (named by a UUID, as Spark does) inside dirName."""
        path = os.path.join(local_path(dirName), str(uuid.uuid4()))
        os.makedirs(path)
        self._checkpoint_dir = path

    def getCheckpointDir(self) -> str | None:
        """The checkpoint folder as a ``file:`` URI, or None before setCheckpointDir."""
        return None if self._checkpoint_dir is None else sparkfiles.file_uri(self._checkpoint_dir)

    def show_profiles(self) -> None:
        """Print the task profiles gathered per RDD (``spark.python.profile=true``)."""
        self._profiles().show()

    def dump_profiles(self, path: str) -> None:
        """Write the task profiles to ``path/rdd_<id>.pstats``."""
        self._profiles().dump(path)

    def _profiles(self) -> ProfilerCollector:
        if self._profiler is None:
            raise PySparkRuntimeError(INCORRECT_CONF_FOR_PROFILE)
        return self._profiler

    # --- creating RDDs ---------------------------------------------------------------------

    def _new_rdd_id(self) -> int:
        return next(self._ids)

    def _new_shuffle_id(self) -> int:
        return next(self._shuffle_ids)

    def parallelize(self, c: Iterable, numSlices: int | None = None) -> RDD:
        """Distribute a local collection; a ``range`` is sliced without being materialized."""
        n = int(numSlices) if numSlices is not None else self.defaultParallelism
        if n <= 0:
            raise ValueError("Number of partitions must be positive.")
        return ParallelCollectionRDD(self, slice_collection(c, n))

    def range(self, start: int, end: int | None = None, step: int = 1,
              numSlices: int | None = None) -> RDD:
        if end is None:
            start, end = 0, start
        return self.parallelize(range(start, end, step), numSlices)

    def textFile(self, name: str, minPartitions: int | None = None,
                 use_unicode: bool = True) -> RDD:
        """Lines of a text file, a directory of them, or a glob."""
        return HadoopRDD(self, name, self._min_partitions(minPartitions), use_unicode)

    def wholeTextFiles(self, path: str, minPartitions: int | None = None,
                       use_unicode: bool = True) -> RDD:
        """(``file:`` URI, text) for each file of a path, a directory, a glob or a list;
        small files share partitions."""
        return WholeTextFileRDD(self, path, self._min_partitions(minPartitions), use_unicode)

    def binaryFiles(self, path: str, minPartitions: int | None = None) -> RDD:
        """(``file:`` URI, bytes) for each file of a path, a directory, a glob or a list."""
        return BinaryFileRDD(self, path, self._min_partitions(minPartitions))

    def pickleFile(self, name: str, minPartitions: int | None = None) -> RDD:
        """The elements ``RDD.saveAsPickleFile`` wrote, a partition per part file (PySpark
        also splits part files larger than ``total size / minPartitions``; sparkbook reads
        each part file whole, so minPartitions changes nothing)."""
        return PickleFileRDD(self, name)

    def _min_partitions(self, minPartitions: int | None) -> int:
        return minPartitions if minPartitions is not None else self.defaultMinPartitions

    def union(self, rdds: list[RDD]) -> RDD:
        if not rdds:
            raise ValueError("union() needs at least one RDD")
        return union_of(self, list(rdds))

    def emptyRDD(self) -> RDD:
        return ParallelCollectionRDD(self, [])

    def broadcast(self, value: Any) -> Broadcast:
        """Ship ``value`` to each executor once, for every task that reads ``b.value``."""
        bid = f"{self.applicationId}:{next(self._broadcast_ids)}"
        b = Broadcast(self, value, bid)
        self._broadcast_blobs[bid] = b._blob
        if self._cleaner is not None:
            self._cleaner.register_broadcast(b, bid, self._destroy_broadcast)
        return b

    def accumulator(self, value: Any,
                    accum_param: accumulators.AccumulatorParam | None = None
                    ) -> accumulators.Accumulator:
        param = accum_param or accumulators.default_param(value)
        acc = accumulators.Accumulator(len(self._accumulators), value, param)
        self._accumulators[acc.aid] = acc
        return acc

    def _apply_accumulators(self, blob: bytes) -> None:
        for aid, value in serializers.loads(blob).items():
            if isinstance(aid, tuple):  # (accumulators.PROFILE, rdd id): a task's profile
                if self._profiler is not None:
                    self._profiler.add(aid[1], value)
                continue
            acc = self._accumulators.get(aid)
            if acc is not None:
                acc._value = acc.accum_param.addInPlace(acc._value, value)

    def _unpersist_broadcast(self, bid: str, blocking: bool) -> None:
        future = self._backend.remove_broadcast(bid)
        if blocking:
            future.result()

    def _destroy_broadcast(self, bid: str) -> None:
        self._broadcast_blobs.pop(bid, None)

    def _remove_rdd_blocks(self, rdd_id: int, blocking: bool) -> None:
        future = self._backend.unpersist_rdd(rdd_id)
        if blocking:
            future.result()

    def _cached_partition_count(self, rdd_id: int) -> int:
        return self._backend.cached_partition_count(rdd_id)

    # --- running jobs --------------------------------------------------------------------

    def runJob(self, rdd: RDD, partitionFunc: Callable[[Iterable], Iterable],
               partitions: list[int] | None = None, allowLocal: bool = False) -> list:
        """Run ``partitionFunc`` on the given partitions; the results, concatenated."""
        results = self._run_job(rdd, lambda it: list(partitionFunc(it)), partitions, "runJob")
        return list(itertools.chain.from_iterable(results))

    def submitMapStage(self, dependency: ShuffleDependency) -> SimpleFutureAction:
        """Run the map stage of a shuffle (a ShuffledRDD's ``deps[0]``), and the missing
        stages before it, as a job of its own (Spark's internal ``submitMapStage``, which
        adaptive query execution uses). The future's ``get()`` waits for it and returns
        the shuffle's ``MapOutputStatistics``: bytes per reduce partition."""
        self._check_running()
        if not isinstance(dependency, ShuffleDependency):
            raise TypeError(f"submitMapStage takes a ShuffleDependency, not "
                            f"{type(dependency).__name__}")
        props = dict(self._properties())
        _, callsite = self._job_name(props, "")
        waiter = self._backend.submit_map_stage(dependency, props, callsite)
        return SimpleFutureAction(waiter, self._backend.cancel_job,
                                  value=lambda results: results[0])

    def _check_running(self) -> None:
        if self._stopped:
            raise SparkException("Cannot call methods on a stopped SparkContext.")

    def _job_name(self, props: dict, op: str) -> tuple[str, str]:
        """The job's (op, call site): a library running a job for the user (sparkbook.sql)
        names it with Spark's property ``callSite.short``, "what at where", and the job
        and its final stage take that name."""
        short = props.get("callSite.short")
        if short and " at " in short:
            what, _, callsite = short.rpartition(" at ")
            return what, callsite
        return op, self._callsite()

    def _run_job(self, rdd: RDD, func: Callable, partitions: Iterable[int] | None,
                 op: str) -> list:
        self._check_running()
        n = rdd.getNumPartitions()
        parts = list(range(n)) if partitions is None else list(partitions)
        for p in () if partitions is None else parts:
            if not 0 <= p < n:
                raise ValueError(f"Attempting to access a non-existent partition: {p}. "
                                 f"Total number of partitions: {n}")
        props = dict(self._properties())
        op, callsite = self._job_name(props, op)
        waiter = self._backend.submit_job(rdd, func, parts, props, op, callsite)
        return SimpleFutureAction(waiter, self._backend.cancel_job,
                                  serializers.loads_batches).get()

    def _callsite(self) -> str:
        return user_callsite()

    # --- listeners, status and the cluster: Spark's Scala names and sparkbook's own -------

    def addSparkListener(self, listener: SparkListener, synchronous: bool = False) -> None:
        """Deliver every later event to ``listener``: on the listener bus's thread, or with
        ``synchronous`` on the scheduler's thread as each event is posted (keep it quick)."""
        self._bus.add_listener(listener, synchronous)

    def removeSparkListener(self, listener: SparkListener) -> None:
        """Stop delivering events to ``listener`` (events already queued are dropped)."""
        self._bus.remove_listener(listener)

    def waitForListeners(self, timeout: float = 10.0) -> bool:
        """Wait until every event posted so far has reached every listener (Spark's
        ``listenerBus.waitUntilEmpty``); False if that took longer than ``timeout``."""
        return self._bus.wait_until_empty(timeout)

    @property
    def statusStore(self) -> AppStatusStore:
        """The live jobs, stages and executors the widgets show (read under its ``lock``)."""
        return self._status

    @property
    def progressBar(self) -> ConsoleProgressBar | None:
        """The console progress bar, when ``spark.ui.showConsoleProgress`` drew one."""
        return self._progress

    @property
    def taskOutput(self) -> TaskOutputPrinter:
        """The listener that prints on the driver what tasks print on the executors."""
        return self._task_output

    @property
    def isStopped(self) -> bool:
        return self._stopped

    @property
    def cluster(self) -> ClusterView:
        """The executors and processes of the cluster this context runs on."""
        return ClusterView(self._backend, self._local_cluster)


def _check_tag(tag: str) -> None:
    """Spark's rules for a job tag."""
    if tag is None:
        raise ValueError("Spark job tag cannot be null.")
    if "," in tag:
        raise ValueError("Spark job tag cannot contain ','.")
    if not tag:
        raise ValueError("Spark job tag cannot be an empty string.")
