"""What goes into the driver's scheduling core and what comes out of it.

The core (``DAGScheduler.handle``, or ``handle_all`` for events that arrived together)
takes events one at a time, as Spark's ``DAGSchedulerEventProcessLoop`` does, and answers
with a list of instructions, in the order they must be carried out. It owns no sockets or
threads, and no clock but the one it is given: the scheduler backend turns socket
messages and the user's calls into events, and sends, posts and hands over what the
instructions say. Listener events (``JobStart``, ``TaskEnd``, ...) are instructions too:
"post this on the bus".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sparkbook import messages as m
from sparkbook.driver.listener import SparkListenerEvent
from sparkbook.driver.mapoutputtracker import MapOutputStatistics

# --- events (facts, so frozen) ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobSubmitted:
    """An action: run ``func`` on ``partitions`` of ``rdd``; ``job_id`` is the caller's."""

    job_id: int
    rdd: Any
    func: Callable
    partitions: list[int]
    properties: dict
    op: str
    callsite: str


@dataclass(frozen=True, slots=True)
class MapStageSubmitted:
    """Run the map stage of ``dependency`` (and the missing ones before it) as a job of
    its own, whose one result is the shuffle's ``MapOutputStatistics`` (Spark's
    ``MapStageSubmitted``, which adaptive query execution submits)."""

    job_id: int
    dependency: Any
    properties: dict
    callsite: str


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """An executor's StatusUpdate and its result frames (result tasks)."""

    update: m.StatusUpdate
    result: list = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ExecutorAdded:
    """The cluster manager granted an executor (its address, host and cores)."""

    info: m.ExecutorInfo


@dataclass(frozen=True, slots=True)
class ExecutorLost:
    """An executor is gone: its running tasks, shuffle outputs and cached blocks too;
    ``exit_caused_by_app`` when its process exited unasked (a task may have killed it)."""

    executor_id: str
    reason: str
    exit_caused_by_app: bool = False


@dataclass(frozen=True, slots=True)
class ClusterManagerLost:
    """The cluster manager is gone and its executors with it (a local cluster's manager
    process exited): every executor is lost, and this and every later job fails with a
    ``SparkException`` saying ``reason``."""

    reason: str


@dataclass(frozen=True, slots=True)
class CancelJob:
    """Fail the job with "Job N cancelled <reason>" and kill its running tasks."""

    job_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class CancelJobs:
    """Cancel every active job whose properties satisfy ``predicate`` (group, tag, all)."""

    predicate: Callable[[dict], bool]
    reason: str


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed with nothing else happening: offer free cores again, so that a task
    waiting for a local slot runs elsewhere once ``spark.locality.wait`` expires."""


@dataclass(frozen=True, slots=True)
class RddUnpersisted:
    """Also an instruction, once the core has forgotten where the RDD is cached: tell
    every executor to drop its blocks."""

    rdd_id: int


@dataclass(frozen=True, slots=True)
class BroadcastRemoved:
    """Also an instruction, once the core has forgotten who holds it: tell every executor
    to drop the broadcast."""

    bid: str


@dataclass(frozen=True, slots=True)
class ShuffleCleaned:
    """The ContextCleaner found the shuffle garbage (no RDD on the driver reads it any
    more): forget its map stage and map outputs, and have the executors drop them."""

    shuffle_id: int


@dataclass(frozen=True, slots=True)
class FileAdded:
    """A file the application added: every executor gets it with its next task."""

    shipment: tuple[str, str]


Event = (JobSubmitted | MapStageSubmitted | StatusUpdate | ExecutorAdded | ExecutorLost
         | ClusterManagerLost | CancelJob | CancelJobs | Tick | RddUnpersisted | BroadcastRemoved
         | ShuffleCleaned | FileAdded)

# --- instructions -------------------------------------------------------------------------


@dataclass(slots=True)
class LaunchTask:
    """Send ``LaunchTask`` to ``executor_id``: the message's fields but the application id,
    and its frames (``binary`` only when this executor has not had it; ``shipments`` name
    the broadcasts and added files to send after it)."""

    executor_id: str
    task_id: int
    stage_id: int
    stage_attempt: int
    partition: int
    attempt: int
    kind: str
    binary_id: tuple[int, int]
    binary: bytes | None
    split: bytes
    shipments: list[tuple[str, str]]
    shuffle_locations: dict[int, list[tuple[str, str, list[int]]]]
    properties: dict


@dataclass(slots=True)
class KillTask:
    """Send ``KillTask`` to the executor running the task."""

    executor_id: str
    task_id: int


@dataclass(slots=True)
class UpdateAccumulators:
    """A successful task's pickled accumulator updates, for the driver's accumulators."""

    blob: bytes


@dataclass(slots=True)
class TaskResult:
    """Result ``index`` of job ``job_id`` arrived (the pickled batches)."""

    job_id: int
    index: int
    result: list


@dataclass(slots=True)
class MapStageResult:
    """Map-stage job ``job_id``'s result: the statistics of the shuffle it wrote."""

    job_id: int
    statistics: MapOutputStatistics


@dataclass(slots=True)
class JobEnded:
    """The job succeeded (``error`` None) or failed with ``error``."""

    job_id: int
    error: BaseException | None = None


@dataclass(slots=True)
class RemoveBinary:
    """The stage ended: the executor may drop the stage binary it was sent."""

    executor_id: str
    binary_id: tuple[int, int]


@dataclass(slots=True)
class RemoveShuffle:
    """Send ``RemoveShuffle`` to every executor: the shuffle's map outputs are garbage."""

    shuffle_id: int


Instruction = (LaunchTask | KillTask | RemoveBinary | RddUnpersisted | BroadcastRemoved
               | RemoveShuffle | UpdateAccumulators | TaskResult | MapStageResult | JobEnded
               | SparkListenerEvent)
