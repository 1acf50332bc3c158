"""Every message of docs/protocol.md as a type, and how a task ended (``TaskEndReason``).

A message travels as its class name (the envelope's type) and a pickled dict of its
fields; ``decode`` rebuilds it and refuses a type or a body that does not fit, so role
code reads attributes, never string keys. Each role dispatches with a table from message
type to handler (``Dispatcher``).

Also here: the constants every process of a cluster must agree on.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from sparkbook.metrics import ExecutorMetrics, TaskMetrics

log = logging.getLogger("sparkbook.messages")

# Every process of a cluster hashes strings alike (PySpark's choice of seed); the manager
# checks an executor's hash of HASH_PROBE at registration.
HASH_SEED = "0"
HASH_PROBE = "sparkbook-hash-probe"
# The line a manager prints on stdout once it listens: READY master-url cluster-file.
MANAGER_READY = "SPARKBOOK_MANAGER_READY"

MESSAGE_TYPES: dict[bytes, type[Message]] = {}


class MalformedMessage(ValueError):
    """A verified frame whose type or body is not a message of this protocol."""


@dataclass
class Message:
    """A message of the protocol; subclasses are registered by their class name."""

    wire_type: ClassVar[bytes] = b""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.wire_type = cls.__name__.encode()
        MESSAGE_TYPES[cls.wire_type] = cls

    def encode(self) -> dict:
        return dict(self.__dict__)


# Field annotations that decode checks (records are added below their classes).
_CHECKED: dict[str, tuple[type, ...]] = {"int": (int,), "str": (str,), "bool": (bool,),
                                         "float": (int, float), "bytes": (bytes,)}
_FIELD_CHECKS: dict[type, list[tuple[str, tuple[type, ...]]]] = {}


def _field_checks(cls: type) -> list[tuple[str, tuple[type, ...]]]:
    """(field, accepted types) for the fields of a checked type, ``X | None`` included."""
    checks = _FIELD_CHECKS.get(cls)
    if checks is None:
        checks = []
        for f in fields(cls):
            kind, _, none = str(f.type).partition(" | ")
            if kind in _CHECKED and none in ("", "None"):
                checks.append((f.name, _CHECKED[kind] + ((type(None),) if none else ())))
        _FIELD_CHECKS[cls] = checks
    return checks


def decode(wire_type: bytes, body: object) -> Message:
    """The message of ``wire_type`` with ``body``'s fields, or MalformedMessage (an unknown
    type, a missing or extra field, or a field of the wrong type)."""
    cls = MESSAGE_TYPES.get(wire_type)
    if cls is None:
        raise MalformedMessage(f"unknown message type {wire_type[:40]!r}")
    if not isinstance(body, dict):
        raise MalformedMessage(f"{cls.__name__}: body is a {type(body).__name__}, not fields")
    for name, kinds in _field_checks(cls):
        if name in body and not isinstance(body[name], kinds):
            raise MalformedMessage(f"{cls.__name__}.{name} is a {type(body[name]).__name__}")
    try:
        return cls(**body)
    except TypeError as exc:
        raise MalformedMessage(f"{cls.__name__}: {exc}") from None


class DropCounter:
    """Counts dropped messages by reason. The first drop of a burst is logged at once,
    the rest in one line per ``interval`` seconds, so a flood of hostile frames cannot
    flood the log."""

    def __init__(self, name: str, logger: logging.Logger, interval: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.by_reason: Counter[str] = Counter()
        self._log = logger
        self._interval = interval
        self._clock = clock
        self._unlogged: Counter[str] = Counter()
        self._next_line = 0.0

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())

    def drop(self, reason: str, detail: str = "", exc_info: bool = False) -> None:
        self.by_reason[reason] += 1
        now = self._clock()
        if now < self._next_line:
            self._unlogged[reason] += 1
            return
        since = (f" (and {sum(self._unlogged.values())} more since the last line: "
                 f"{dict(self._unlogged)})") if self._unlogged else ""
        self._log.warning("%s: dropped a message: %s%s%s", self.name, reason,
                          f": {detail}" if detail else "", since, exc_info=exc_info)
        self._unlogged.clear()
        self._next_line = now + self._interval


class Dispatcher:
    """A table from message type to handler, for one role's socket.

    ``dispatch(msg, *context)`` calls ``handler(msg, *context)`` and returns what it
    returns. A message with no handler here, or whose handler raises (a body whose fields
    are of the wrong kind), is dropped, logged and counted: a peer's bad message must not
    stop the role.
    """

    def __init__(self, name: str, handlers: dict[type[Message], Callable[..., Any]]) -> None:
        self.handlers = handlers
        self.drops = DropCounter(name, log)

    @property
    def dropped(self) -> int:
        return self.drops.total

    def __call__(self, msg: Message, *context: Any) -> Any:
        handler = self.handlers.get(type(msg))
        if handler is None:
            self.drops.drop("not handled here", type(msg).__name__)
            return None
        try:
            return handler(msg, *context)
        except Exception:  # noqa: BLE001 - logged with its traceback, counted
            self.drops.drop("its handler failed", type(msg).__name__, exc_info=True)
            return None


# --- records carried inside messages -------------------------------------------------------


@dataclass
class ExecutorInfo:
    """What drivers and the manager know of an executor."""

    executor_id: str
    address: str
    host: str = ""
    hostname: str = ""
    cores: int = 1
    memory: int = 0
    pid: int = 0


# --- how a task ended (Spark's TaskEndReason) ----------------------------------------------


@dataclass
class TaskEndReason:
    """Why a task ended; ``counts_towards_task_failures`` as Spark's
    ``countTowardsTaskFailures``: only those failures bring a task set nearer its abort."""

    state: ClassVar[str] = "FAILED"  # Spark's TaskState: FINISHED, FAILED or KILLED
    counts_towards_task_failures: ClassVar[bool] = True

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def message(self) -> str | None:
        return None


@dataclass
class Success(TaskEndReason):
    state: ClassVar[str] = "FINISHED"
    counts_towards_task_failures: ClassVar[bool] = False


@dataclass
class ExceptionFailure(TaskEndReason):
    """User code raised: the remote type, message and traceback."""

    type: str
    description: str
    traceback: str

    @property
    def message(self) -> str:
        return f"{self.type}: {self.description}"


@dataclass
class FetchFailed(TaskEndReason):
    """A reduce task could not read map output ``map_id`` of ``shuffle_id``; the map stage
    runs again, so this never counts towards the task's failures."""

    counts_towards_task_failures: ClassVar[bool] = False
    executor_id: str
    shuffle_id: int
    map_id: int
    description: str = ""

    @property
    def message(self) -> str:
        return self.description


@dataclass
class TaskKilled(TaskEndReason):
    state: ClassVar[str] = "KILLED"
    counts_towards_task_failures: ClassVar[bool] = False
    description: str = "killed"

    @property
    def message(self) -> str:
        return self.description


@dataclass
class ExecutorLostFailure(TaskEndReason):
    """The task's executor was lost; it counts only when the task itself caused the loss."""

    executor_id: str
    exit_caused_by_app: bool = False
    description: str = ""

    @property
    def counts_towards_task_failures(self) -> bool:  # type: ignore[override]
        return self.exit_caused_by_app

    @property
    def message(self) -> str:
        why = ("caused by one of the running tasks" if self.exit_caused_by_app
               else "unrelated to the running tasks")
        return f"ExecutorLostFailure (executor {self.executor_id} exited {why}) Reason: " + (
            self.description)


_CHECKED.update({cls.__name__: (cls,) for cls in (ExecutorInfo, TaskEndReason, ExecutorMetrics,
                                                  TaskMetrics)})


# --- executor -> manager -------------------------------------------------------------------


@dataclass
class RegisterExecutor(Message):
    address: str
    host: str
    cores: int
    memory: int
    pid: int
    hostname: str
    hash_probe: int
    python: str
    executor_id: str | None = None  # the id it had, to keep across a manager's restart
    heartbeat_identity: bytes | None = None  # its heartbeat sidecar's socket identity


@dataclass
class Heartbeat(Message):
    executor_id: str
    metrics: ExecutorMetrics


# --- manager -> executor -------------------------------------------------------------------


@dataclass
class RegisteredExecutor(Message):
    executor_id: str


@dataclass
class RegisterExecutorFailed(Message):
    reason: str


@dataclass
class UnknownExecutor(Message):
    """The manager does not know this executor: it registers again, and first clears its
    state when the manager had ``declared_lost`` it (a restarted manager merely forgot)."""

    executor_id: str
    declared_lost: bool = True


@dataclass
class ApplicationRemoved(Message):
    app_id: str


@dataclass
class KillExecutor(Message):
    """Driver -> manager: SIGKILL that executor; manager -> executor: SIGKILL yourself."""

    executor_id: str = ""


@dataclass
class Shutdown(Message):
    pass


# --- driver -> manager ---------------------------------------------------------------------


@dataclass
class RegisterApplication(Message):
    name: str
    user: str
    pid: int
    app_id: str | None = None  # the id it had, to keep across a manager's restart


@dataclass
class AppHeartbeat(Message):
    app_id: str


@dataclass
class UnregisterApplication(Message):
    app_id: str


@dataclass
class ClusterStatus(Message):
    pass


# --- manager -> driver ---------------------------------------------------------------------


@dataclass
class RegisteredApplication(Message):
    app_id: str
    executors: list[ExecutorInfo]


@dataclass
class UnknownApplication(Message):
    app_id: str


@dataclass
class ExecutorAdded(Message):
    executor: ExecutorInfo


@dataclass
class ExecutorRemoved(Message):
    """``exit_code``/``exit_signal`` when the manager saw the process exit;
    ``exit_caused_by_app`` when nobody asked it to (Spark's ``ExecutorExited``)."""

    executor_id: str
    reason: str
    exit_code: int | None = None
    exit_signal: int | None = None
    exit_caused_by_app: bool = False


@dataclass
class ExecutorMetricsUpdate(Message):
    """The manager relays every executor heartbeat's metrics to every driver."""

    executor_id: str
    metrics: ExecutorMetrics


@dataclass
class ClusterStatusReply(Message):
    executors: list[dict]
    applications: list[dict]
    lost: dict[str, str]


# --- driver -> executor --------------------------------------------------------------------


@dataclass
class LaunchTask(Message):
    """Spark's TaskDescription. Frames: the pickled partition, the stage binary when
    ``has_binary``, then one frame per shipment (broadcasts and added files)."""

    app_id: str
    task_id: int
    stage_id: int
    stage_attempt: int
    partition: int
    attempt: int
    kind: str  # "shuffle_map" or "result"
    binary_id: tuple[int, int]
    has_binary: bool
    shipments: list[tuple[str, str]]
    shuffle_locations: dict[int, list[tuple[str, str, list[int]]]]
    properties: dict
    profile: bool = False


@dataclass
class KillTask(Message):
    task_id: int


@dataclass
class ExecutorLost(Message):
    """A peer executor is gone: fetches from it fail at once."""

    executor_id: str


@dataclass
class RemoveRdd(Message):
    app_id: str
    rdd_id: int


@dataclass
class RemoveShuffle(Message):
    app_id: str
    shuffle_id: int


@dataclass
class RemoveBroadcast(Message):
    app_id: str
    bid: str


@dataclass
class RemoveBinary(Message):
    app_id: str
    binary_id: tuple[int, int]


# --- executor -> driver --------------------------------------------------------------------


@dataclass
class StatusUpdate(Message):
    """How a task ended, with what it did. Frames: a result task's pickled result in
    batches."""

    task_id: int
    executor_id: str
    reason: TaskEndReason
    metrics: TaskMetrics = field(default_factory=TaskMetrics)
    block_updates: list[tuple[int, int, int]] = field(default_factory=list)
    dropped_blocks: list[tuple[int, int]] = field(default_factory=list)
    accumulators: bytes | None = None  # successful tasks: pickled {accumulator id: value}
    sizes: list[int] | None = None  # map tasks: bytes per reduce partition
    records: list[int] | None = None  # map tasks: records per reduce partition
    hot_keys: list[tuple[str, int]] = field(default_factory=list)  # map tasks: sampled
    output: list[str] = field(default_factory=list)  # what the task printed (capped)
    output_dropped: int = 0
    shuffle_reads: list[tuple[int, int, int]] = field(default_factory=list)  # per shuffle

    @property
    def state(self) -> str:
        return self.reason.state


# --- executor <-> executor -----------------------------------------------------------------


@dataclass
class FetchShuffleBlocks(Message):
    """Buckets ``[reduce_start, reduce_end)`` of each listed map output: neighbouring reduce
    partitions in one batch, as Spark's ``spark.sql.adaptive.fetchShuffleBlocksInBatch``."""

    app_id: str
    shuffle_id: int
    map_ids: list[int]
    reduce_start: int
    reduce_end: int


@dataclass
class ShuffleBlocks(Message):
    """One frame per requested map id: its buckets of the reduce range, one after the
    other, ``sizes`` long (map id major); none when ``missing`` names a map id the executor
    lacks."""

    shuffle_id: int
    reduce_start: int
    missing: int | None = None
    sizes: list[int] = field(default_factory=list)
