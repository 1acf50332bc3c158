"""Stages and jobs as the DAGScheduler sees them (Spark's Stage, ShuffleMapStage,
ResultStage and ActiveJob), and how a stage's lineage is found."""

from __future__ import annotations

import weakref
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field

from sparkbook import serializers
from sparkbook.broadcast import Broadcast, collecting_broadcasts
from sparkbook.driver import closuresize
from sparkbook.driver.listener import StageInfo
from sparkbook.rdd import RDD
from sparkbook.rdd.dependency import NarrowDependency, ShuffleDependency
from sparkbook.rdd.rdd import shipping_lineage


class Stage:
    """A set of tasks that run the same pipelined functions, one per partition."""

    shuffle_id: int | None = None  # a ShuffleMapStage's, and how it aggregates
    aggregation = ""

    def __init__(self, stage_id: int, rdd: RDD, num_tasks: int, parents: list[Stage],
                 first_job_id: int) -> None:
        self.id = stage_id
        self.rdd = rdd
        self.num_tasks = num_tasks
        self.parents = parents
        self.first_job_id = first_job_id
        self.job_ids: set[int] = set()
        self.latest_attempt = -1
        self.failed_attempts = 0
        self.name = f"{rdd.op} at {rdd.callsite}"
        self.info: StageInfo | None = None
        lineage, self.reads = stage_lineage(rdd)
        self.lineage_ids = set(lineage)
        # What the stage pipelines, first to last (an RDD's id is larger than its parents').
        pipelined = [lineage[i] for i in sorted(lineage)]
        # (an RDD an API method adds behind its main one is no step of its own)
        self.steps = [r.op for r in pipelined if not getattr(r, "_internal_step", False)]
        self.cached = [r.op for r in pipelined if r.is_cached]
        self.warnings: list[str] = []
        self.pending: set[int] = set()
        self.binary: bytes | None = None
        self.broadcasts: dict[str, Broadcast] = {}  # read by its binary, kept until it ends

    @property
    def action(self) -> object:
        """What its tasks do with the records: write a shuffle, or the job's function."""
        raise NotImplementedError

    def serialize(self) -> tuple[bytes, dict[str, Broadcast], list[str]]:
        """The stage's binary (its lineage and action, cloudpickled), the broadcasts it
        reads, and a warning naming what makes it large when it is over
        ``spark.sparkbook.closureWarningBytes``."""
        shipped = (self.rdd, self.action)
        with shipping_lineage(self.lineage_ids), collecting_broadcasts() as used:
            binary = serializers.dumps_closure(shipped, self.name)
            limit = closuresize.warning_bytes(self.rdd.ctx)
            warnings = [] if len(binary) <= limit else [closuresize.stage_warning(
                len(binary), limit, closuresize.captured_sizes(shipped))]
        return binary, used, warnings

    def new_info(self, num_tasks: int) -> StageInfo:
        self.latest_attempt += 1
        self.info = self.describe(self.latest_attempt, num_tasks)
        return self.info

    def describe(self, attempt: int, num_tasks: int) -> StageInfo:
        """A StageInfo of the stage's attempt: its parents, steps and the shuffles it reads."""
        return StageInfo(self.id, attempt, self.name, num_tasks, [p.id for p in self.parents],
                         rdd_name=repr(self.rdd),
                         is_shuffle_map=isinstance(self, ShuffleMapStage),
                         parent_shuffles=[p.shuffle_id for p in self.parents],
                         steps=list(self.steps), cached=list(self.cached),
                         warnings=list(self.warnings),
                         shuffle_id=self.shuffle_id, aggregation=self.aggregation)


class ShuffleMapStage(Stage):
    """An intermediate stage: its tasks write shuffle outputs for the stages after it.

    It holds its ShuffleDependency weakly: the RDDs that read the shuffle (and the stages
    that do) keep it alive, and once none does, the ContextCleaner cleans the shuffle."""

    def __init__(self, stage_id: int, dep: ShuffleDependency, parents: list[Stage],
                 first_job_id: int) -> None:
        super().__init__(stage_id, dep.rdd, dep.rdd.getNumPartitions(), parents, first_job_id)
        self.shuffle_id = dep.shuffle_id
        self.aggregation = ("" if dep.aggregator is None else
                            "map-side" if dep.map_side_combine else "reduce-side")
        self._dep = weakref.ref(dep)
        self.name = f"{dep.rdd.op} at {dep.rdd.callsite}"
        self.map_stage_jobs: list[ActiveJob] = []  # jobs of this stage alone (submitMapStage)

    @property
    def action(self) -> ShuffleDependency:
        return self.shuffle_dep

    @property
    def shuffle_dep(self) -> ShuffleDependency:
        dep = self._dep()
        if dep is None:  # only a stage nothing reads any more, which never runs again
            raise RuntimeError(f"shuffle {self.shuffle_id} is garbage: its stage cannot run")
        return dep


class ResultStage(Stage):
    """The final stage of a job: its tasks run the action's function on each partition."""

    def __init__(self, stage_id: int, rdd: RDD, func: Callable, partitions: list[int],
                 parents: list[Stage], job_id: int, op: str, callsite: str) -> None:
        super().__init__(stage_id, rdd, len(partitions), parents, job_id)
        self.func = func
        self.partitions = partitions
        self.job: ActiveJob | None = None
        self.name = f"{op} at {callsite}"

    @property
    def action(self) -> Callable:
        return self.func


@dataclass
class ActiveJob:
    """A job: a ResultStage's, or a map-stage job's (its one result the map statistics)."""

    job_id: int
    final_stage: Stage
    properties: dict
    finished: list[bool] = field(default_factory=list)
    num_finished: int = 0
    # A map-stage job's shuffle, held while the job runs: its stage holds it only weakly,
    # and a caller that gave up on the job (its query failed elsewhere) may drop the last
    # other reference before the stage's tasks end.
    dependency: ShuffleDependency | None = None


def parent_stages(rdd: RDD, stages: MutableMapping[int, ShuffleMapStage],
                  new_map_stage: Callable[[ShuffleDependency, list[Stage]], ShuffleMapStage]
                  ) -> list[Stage]:
    """The map stages of the shuffles the stage ending at ``rdd`` reads: from ``stages``
    (shuffle id -> stage), or made by ``new_map_stage`` once their own parents exist and
    added to ``stages`` (Spark's getOrCreateParentStages)."""
    _, reads = stage_lineage(rdd)
    found: list[Stage] = []
    for dep, _ in reads:
        stage = stages.get(dep.shuffle_id)
        if stage is None:
            stage = new_map_stage(dep, parent_stages(dep.rdd, stages, new_map_stage))
            stages[dep.shuffle_id] = stage
        found.append(stage)
    return found


def stage_lineage(rdd: RDD) -> tuple[dict[int, RDD], list[tuple[ShuffleDependency, bool]]]:
    """The RDDs a stage pipelines (by id), and the shuffles it reads, each with whether
    the stage's partition i reads exactly reduce partition i of it."""
    ids: dict[int, RDD] = {}
    reads: dict[int, tuple[ShuffleDependency, bool]] = {}
    seen: set[tuple[int, bool]] = set()
    stack = [(rdd, True)]
    while stack:
        current, one_to_one = stack.pop()
        if (current.rdd_id, one_to_one) in seen:
            continue
        seen.add((current.rdd_id, one_to_one))
        ids[current.rdd_id] = current
        for dep in current.deps:
            if isinstance(dep, ShuffleDependency):
                earlier = reads.get(dep.shuffle_id, (dep, True))[1]
                reads[dep.shuffle_id] = (dep, earlier and one_to_one)
            else:
                stack.append((dep.rdd, one_to_one and type(dep) is NarrowDependency))
    return ids, list(reads.values())
