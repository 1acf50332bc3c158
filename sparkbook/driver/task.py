"""The two kinds of task a stage is cut into, and the TaskSet that carries a stage attempt."""

from __future__ import annotations

from dataclasses import dataclass, field

from sparkbook.rdd import Partition


@dataclass
class Task:
    """One partition of one stage attempt, before it is given an executor."""

    stage_id: int
    stage_attempt: int
    partition: int
    split: Partition
    preferred: list[str] = field(default_factory=list)
    split_blob: bytes | None = None  # the pickled split, kept for retries
    kind = ""

    @property
    def type_name(self) -> str:
        return type(self).__name__


@dataclass
class ShuffleMapTask(Task):
    """Computes a partition of a map stage and writes its shuffle buckets on the executor."""

    kind = "shuffle_map"


@dataclass
class ResultTask(Task):
    """Computes a partition of the final stage and sends the action's result to the driver."""

    output_index: int = 0
    kind = "result"


@dataclass
class TaskSet:
    """The missing tasks of one stage attempt, for one job's priority."""

    tasks: list[Task]
    stage_id: int
    stage_attempt: int
    priority: int
    properties: dict = field(default_factory=dict)
