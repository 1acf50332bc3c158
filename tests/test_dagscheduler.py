"""The driver's scheduling core driven by invented events and a fake clock (no sockets).

Each test builds real RDD lineage on a driver stand-in that only hands out ids, feeds the
core (``DAGScheduler.handle``) a job, and then plays the executors' part by hand: which
tasks it launched where, which succeeded, which failed and how; and reads what came out.
"""

from __future__ import annotations

import gc
import itertools
import threading
from operator import add

import pytest

from sparkbook import messages as m
from sparkbook.broadcast import Broadcast
from sparkbook.conf import SparkConf
from sparkbook.driver import scheduler_events as ev
from sparkbook.driver.dagscheduler import DAGScheduler
from sparkbook.driver.listener import (
    ExecutorRemoved,
    JobEnd,
    JobStart,
    StageCompleted,
    StageSubmitted,
    TaskEnd,
    TaskStart,
)
from sparkbook.errors import PythonException, SparkException
from sparkbook.rdd.kinds import ParallelCollectionRDD, slice_collection

pytestmark = pytest.mark.sparkbook_only


class DriverStandIn:
    """Just enough of a SparkContext to build lineage: ids, call sites, configuration."""

    def __init__(self) -> None:
        self._ids = itertools.count()
        self._shuffle_ids = itertools.count()
        self._conf = SparkConf(loadDefaults=False)

    def _new_rdd_id(self) -> int:
        return next(self._ids)

    def _new_shuffle_id(self) -> int:
        return next(self._shuffle_ids)

    def _callsite(self) -> str:
        return "test:1"

    def _cached_partition_count(self, rdd_id: int) -> int:
        return 0

    def parallelize(self, data: list, n: int) -> ParallelCollectionRDD:
        return ParallelCollectionRDD(self, slice_collection(data, n))


class Core:
    """The core, pretend one-core executors, a fake clock and everything that came out."""

    def __init__(self, executors: tuple[str, ...] = ("0", "1"), locality_wait: float = 0.0,
                 answer_kills: bool = True) -> None:
        self.now = 1000.0
        self.dag = DAGScheduler(max_failures=4, locality_wait=locality_wait,
                                clock=lambda: self.now)
        self.answer_kills = answer_kills
        self.out: list = []
        self.running: dict[int, ev.LaunchTask] = {}
        self.results: dict[int, dict[int, list]] = {}
        self.ended: dict[int, BaseException | None] = {}
        self._job_ids = itertools.count()
        for executor_id in executors:
            self.add_executor(executor_id)

    def handle(self, event: ev.Event) -> list:
        out = self.dag.handle(event)
        self.out += out
        kills = []
        for i in out:
            if isinstance(i, ev.LaunchTask):
                self.running[i.task_id] = i
            elif isinstance(i, ev.KillTask):
                kills.append(i)
            elif isinstance(i, ev.TaskResult):
                self.results.setdefault(i.job_id, {})[i.index] = i.result
            elif isinstance(i, ev.JobEnded):
                self.ended[i.job_id] = i.error
        for kill in kills if self.answer_kills else ():
            launch = self.running.pop(kill.task_id, None)
            if launch is not None:
                self.handle(ev.StatusUpdate(m.StatusUpdate(kill.task_id, kill.executor_id,
                                                           m.TaskKilled())))
        return out

    def add_executor(self, executor_id: str) -> list:
        return self.handle(ev.ExecutorAdded(m.ExecutorInfo(
            executor_id, f"tcp://127.0.0.1:{7100 + int(executor_id)}", "127.0.0.1")))

    def submit(self, rdd, op: str = "collect", properties: dict | None = None) -> int:
        job_id = next(self._job_ids)
        self.handle(ev.JobSubmitted(job_id, rdd, list, list(range(rdd.getNumPartitions())),
                                    properties or {}, op, "test:1"))
        return job_id

    def finish(self, launch: ev.LaunchTask, reason: m.TaskEndReason | None = None,
               **fields) -> list:
        del self.running[launch.task_id]
        update = m.StatusUpdate(launch.task_id, launch.executor_id, reason or m.Success(),
                                **fields)
        if reason is None and launch.kind == "shuffle_map" and update.sizes is None:
            update.sizes = [1] * 4
        return self.handle(ev.StatusUpdate(update, [b"result"]))

    def finish_all(self) -> None:
        while self.running:
            self.finish(self.launches()[0])

    def launches(self, kind: str | None = None) -> list[ev.LaunchTask]:
        return [lt for lt in self.running.values() if kind is None or lt.kind == kind]

    def stages(self) -> list[tuple[int, int]]:
        return [(e.stage_info.stage_id, e.stage_info.attempt_id) for e in self.out
                if isinstance(e, StageSubmitted)]

    def task_ends(self) -> list[str]:
        return [e.reason for e in self.out if isinstance(e, TaskEnd)]

    def succeeded(self, job_id: int) -> bool:
        return job_id in self.ended and self.ended[job_id] is None


def pairs_rdd(driver: DriverStandIn):
    return driver.parallelize([(i % 3, i) for i in range(12)], 4)


def test_reduce_by_key_is_two_stages_and_the_reduce_stage_waits_for_the_map_stage():
    driver, core = DriverStandIn(), Core()
    job = core.submit(pairs_rdd(driver).reduceByKey(add, 4))
    assert {launch.kind for launch in core.launches()} == {"shuffle_map"}
    assert len(core.running) == 2  # two one-core executors
    core.finish_all()
    assert core.succeeded(job) and len(core.results[job]) == 4
    assert core.stages() == [(0, 0), (1, 0)]


def test_a_second_job_on_the_same_shuffle_skips_the_map_stage():
    driver, core = DriverStandIn(), Core()
    counts = pairs_rdd(driver).reduceByKey(add, 4)
    core.submit(counts)
    core.finish_all()
    job = core.submit(counts.mapValues(str), op="count")
    assert {launch.kind for launch in core.launches()} == {"result"}
    core.finish_all()
    assert core.succeeded(job)
    assert [s for s, _ in core.stages()] == [0, 1, 2]  # stage 0 was not resubmitted


def test_a_job_start_names_each_stage_s_parents_steps_and_the_stages_it_skips():
    driver, core = DriverStandIn(), Core()
    counts = pairs_rdd(driver).map(lambda kv: kv).reduceByKey(add, 4)
    core.submit(counts)
    core.finish_all()
    core.submit(counts.mapValues(str).reduceByKey(add, 2), op="count")
    first, second = [e for e in core.out if isinstance(e, JobStart)]
    assert first.skipped_stage_ids == [] and second.skipped_stage_ids == [0]
    shapes = [(s.stage_id, s.parent_ids, s.parent_shuffles, s.steps)
              for s in second.stage_infos]
    assert shapes == [(0, [], [], ["parallelize", "map"]),
                      (2, [0], [0], ["reduceByKey", "mapValues"]),
                      (3, [2], [1], ["reduceByKey"])]


def test_a_stage_over_the_closure_warning_setting_says_what_it_carries():
    driver, core = DriverStandIn(), Core()
    table = bytes(50_000)
    driver._conf.set("spark.sparkbook.closureWarningBytes", "40k")
    core.submit(driver.parallelize(range(4), 2).map(lambda x: x + len(table)))
    core.submit(driver.parallelize(range(4), 2).map(lambda x: x + 1))
    large, small = [e.stage_info.warnings for e in core.out if isinstance(e, StageSubmitted)]
    assert small == [] and len(large) == 1
    assert "(over spark.sparkbook.closureWarningBytes, 40.0 KiB)" in large[0]
    assert "It carries variable 'table' captured by function " in large[0]


def test_a_plan_changes_nothing_and_names_the_stages_the_next_job_gets():
    driver, core = DriverStandIn(), Core()
    counts = pairs_rdd(driver).reduceByKey(add, 4)
    core.submit(counts)
    core.finish_all()
    final = counts.mapValues(str).groupByKey(2)
    before = (core.dag.next_stage_id, dict(core.dag.shuffle_stages), dict(core.dag.stages),
              core.dag.map_outputs.shuffle_ids())
    stages, to_run = core.dag.plan(final, "collect", "test:1")
    assert (core.dag.next_stage_id, dict(core.dag.shuffle_stages), dict(core.dag.stages),
            core.dag.map_outputs.shuffle_ids()) == before
    assert [(s.id, s in to_run) for s in stages] == [(0, False), (2, True), (3, True)]
    core.submit(final)
    (job,) = [e for e in core.out if isinstance(e, JobStart)][1:]
    assert [s.stage_id for s in job.stage_infos] == [0, 2, 3]
    assert job.skipped_stage_ids == [0]


def test_a_launch_carries_the_shuffle_locations_with_executor_addresses():
    driver, core = DriverStandIn(), Core()
    core.submit(pairs_rdd(driver).reduceByKey(add, 4))
    while core.launches("shuffle_map"):
        core.finish(core.launches()[0])
    reduce = core.launches("result")[0]
    found = {(ex, address): maps for ex, address, maps in reduce.shuffle_locations[0]}
    assert sorted(m for maps in found.values() for m in maps) == [0, 1, 2, 3]
    assert all(address == f"tcp://127.0.0.1:{7100 + int(ex)}" for ex, address in found)


def test_a_fetch_failure_resubmits_the_lost_map_output_then_the_reduce_stage():
    driver, core = DriverStandIn(), Core()
    job = core.submit(pairs_rdd(driver).reduceByKey(add, 4))
    while core.launches("shuffle_map"):
        core.finish(core.launches()[0])
    holder = core.dag.map_outputs.locations(0, None)
    executor_of_map_1 = next(ex for ex, maps in holder if 1 in maps)
    core.finish(core.launches()[0], m.FetchFailed(executor_of_map_1, 0, 1, "executor lost"))
    # Map partition 1 runs again (stage 0, attempt 1) before the reduce stage's attempt 1.
    assert core.stages()[-1] == (0, 1)
    assert [(lt.kind, lt.partition) for lt in core.launches()] == [("shuffle_map", 1)]
    core.finish_all()
    assert core.stages()[-1] == (1, 1)
    assert core.succeeded(job) and len(core.results[job]) == 4
    assert "FetchFailed" in core.task_ends()


def test_a_zombie_attempt_launches_nothing_more_but_its_late_result_counts():
    driver, core = DriverStandIn(), Core(answer_kills=False)
    job = core.submit(pairs_rdd(driver).reduceByKey(add, 4))
    while core.launches("shuffle_map"):
        core.finish(core.launches()[0])
    failing, late = core.launches("result")
    holder = next(ex for ex, maps in core.dag.map_outputs.locations(0, None) if 0 in maps)
    out = core.finish(failing, m.FetchFailed(holder, 0, 0, "gone"))
    assert ev.KillTask(late.executor_id, late.task_id) in out  # the attempt's other task
    assert [(lt.kind, lt.partition) for lt in core.launches()] == [
        ("result", late.partition), ("shuffle_map", 0)]
    # The zombie attempt's task succeeds while map output 0 is recomputed: its result
    # counts, and the reduce stage's next attempt does not run its partition again.
    core.finish(late)
    core.finish_all()
    assert core.succeeded(job) and set(core.results[job]) == {0, 1, 2, 3}
    reruns = [lt for lt in core.out if isinstance(lt, ev.LaunchTask) and lt.stage_id == 1
              and lt.stage_attempt == 1]
    assert late.partition not in {lt.partition for lt in reruns}
    assert not [lt for lt in core.out[core.out.index(out[0]):] if isinstance(lt, ev.LaunchTask)
                and lt.stage_id == 1 and lt.stage_attempt == 0]


def test_a_task_whose_map_output_is_already_missing_fails_without_being_sent():
    driver, core = DriverStandIn(), Core()
    job = core.submit(pairs_rdd(driver).reduceByKey(add, 4))
    while core.launches("shuffle_map"):
        core.finish(core.launches()[0])
    on_0 = next(lt for lt in core.launches() if lt.executor_id == "0")
    on_1 = next(lt for lt in core.launches() if lt.executor_id == "1")
    del core.running[on_0.task_id]
    core.handle(ev.ExecutorLost("0", "killed"))  # its map outputs are gone with it
    sent_before = len([i for i in core.out if isinstance(i, ev.LaunchTask)])
    out = core.finish(on_1)  # frees a core: the next reduce task cannot fetch its input
    assert [e.reason for e in out if isinstance(e, TaskEnd)][-1] == "FetchFailed"
    assert all(lt.kind == "shuffle_map" for lt in out if isinstance(lt, ev.LaunchTask))
    assert len([i for i in core.out if isinstance(i, ev.LaunchTask)]) > sent_before
    core.finish_all()
    assert core.succeeded(job)


def test_a_lost_executor_reruns_its_running_tasks_without_counting_failures():
    driver, core = DriverStandIn(), Core()
    job = core.submit(driver.parallelize(list(range(8)), 4).map(str))
    on_lost = [lt for lt in core.launches() if lt.executor_id == "1"]
    out = core.handle(ev.ExecutorLost("1", "killed"))
    assert isinstance(out[0], ExecutorRemoved)
    for launch in on_lost:
        del core.running[launch.task_id]
    core.finish_all()
    assert core.succeeded(job)
    assert core.task_ends().count("ExecutorLostFailure") == len(on_lost)


def test_an_executor_that_its_task_killed_counts_and_the_fourth_loss_fails_the_job():
    driver, core = DriverStandIn(), Core(executors=("0",))
    job = core.submit(driver.parallelize([1], 1).map(str))
    for attempt in range(4):
        executor_id = str(attempt)
        [launch] = core.launches()
        assert (launch.executor_id, launch.attempt) == (executor_id, attempt)
        del core.running[launch.task_id]
        core.handle(ev.ExecutorLost(executor_id, f"executor {executor_id} exited with code 1",
                                    exit_caused_by_app=True))
        core.add_executor(str(attempt + 1))  # the manager starts a replacement
    error = core.ended[job]
    assert isinstance(error, SparkException) and "failed 4 times" in str(error)
    assert "exited caused by one of the running tasks" in str(error)
    assert "executor 3 exited with code 1" in str(error)
    assert not core.launches()


def test_a_status_update_from_a_lost_executor_is_ignored():
    driver, core = DriverStandIn(), Core()
    job = core.submit(driver.parallelize(list(range(4)), 2).map(str))
    stale = next(lt for lt in core.launches() if lt.executor_id == "1")
    core.handle(ev.ExecutorLost("1", "killed"))
    assert core.finish(stale) == []
    core.finish_all()
    assert core.succeeded(job) and len(core.results[job]) == 2


def test_losing_an_executor_forgets_its_map_outputs_and_recomputes_them():
    driver, core = DriverStandIn(), Core()
    counts = pairs_rdd(driver).reduceByKey(add, 4)
    core.submit(counts)
    core.finish_all()
    core.handle(ev.ExecutorLost("0", "killed"))
    missing = core.dag.map_outputs.missing(0)
    assert missing, "the outputs written on executor 0 are gone"
    job = core.submit(counts)
    assert {(lt.kind, lt.partition) for lt in core.launches()} <= {
        ("shuffle_map", p) for p in missing}
    core.finish_all()
    assert core.succeeded(job)


def test_a_task_failing_four_times_fails_the_job_with_the_remote_error():
    driver, core = DriverStandIn(), Core()
    job = core.submit(driver.parallelize(list(range(4)), 1).map(str))
    for _ in range(4):
        core.finish(core.launches()[0], m.ExceptionFailure(
            "ValueError", "boom", "Traceback ...\nValueError: boom\n"))
    error = core.ended[job]
    assert isinstance(error, PythonException)
    assert error.remote_type == "ValueError"
    assert "failed 4 times" in str(error)
    assert core.running == {}
    assert [e.reason for e in core.out if isinstance(e, TaskEnd)] == ["ExceptionFailure"] * 4
    assert isinstance(core.out[-2], JobEnd) and not core.out[-2].succeeded


def test_a_retried_task_avoids_the_executor_it_failed_on():
    driver, core = DriverStandIn(), Core()
    core.submit(driver.parallelize(list(range(4)), 1).map(str))
    first = core.launches()[0]
    core.finish(first, m.ExceptionFailure("E", "m", ""))
    assert core.launches()[0].executor_id != first.executor_id
    assert core.launches()[0].attempt == 1


def test_a_killed_task_does_not_count_towards_the_failures():
    driver, core = DriverStandIn(), Core()
    job = core.submit(driver.parallelize(list(range(4)), 1).map(str))
    for _ in range(5):
        core.finish(core.launches()[0], m.TaskKilled("by someone else"))
    core.finish_all()
    assert core.succeeded(job)


def cache_on_executor_1(driver: DriverStandIn, core: Core):
    """A cached RDD whose four partitions executor 1 reported stored."""
    cached = driver.parallelize(list(range(8)), 4).map(str).cache()
    job = core.submit(cached)
    while core.running:
        launch = core.launches()[0]
        core.finish(launch, block_updates=[(cached.id(), launch.partition, 10)])
    assert core.succeeded(job)
    return cached


def test_tasks_prefer_the_executor_that_caches_their_partition():
    driver, core = DriverStandIn(), Core(executors=("1",), locality_wait=3.0)
    cached = cache_on_executor_1(driver, core)
    core.add_executor("0")
    core.submit(cached)
    assert [lt.executor_id for lt in core.launches()] == ["1"]
    assert core.dag.cached_partition_count(cached.id()) == 4


def test_a_task_runs_elsewhere_once_the_locality_wait_expires():
    driver, core = DriverStandIn(), Core(executors=("1",), locality_wait=3.0)
    cached = cache_on_executor_1(driver, core)
    core.add_executor("0")
    core.submit(cached)
    core.now += 2.9
    assert core.handle(ev.Tick()) == []  # executor 0 is free, but not local: wait
    core.now += 0.2
    out = core.handle(ev.Tick())
    assert [lt.executor_id for lt in out if isinstance(lt, ev.LaunchTask)] == ["0"]
    assert isinstance(out[0], TaskStart) and out[0].task_info.launch_time == core.now


def test_a_tick_with_nothing_pending_says_nothing():
    core = Core()
    assert core.handle(ev.Tick()) == []


def test_unpersisting_an_rdd_forgets_where_it_is_cached_and_tells_the_executors():
    driver, core = DriverStandIn(), Core(executors=("1",))
    cached = cache_on_executor_1(driver, core)
    assert core.handle(ev.RddUnpersisted(cached.id())) == [ev.RddUnpersisted(cached.id())]
    assert core.dag.cached_partition_count(cached.id()) == 0


def test_cancelling_a_job_kills_its_tasks_and_ends_it():
    driver, core = DriverStandIn(), Core()
    job = core.submit(pairs_rdd(driver).reduceByKey(add, 4))
    running = core.launches()
    out = core.handle(ev.CancelJob(job, "by the user"))
    assert {(k.executor_id, k.task_id) for k in out if isinstance(k, ev.KillTask)} == {
        (lt.executor_id, lt.task_id) for lt in running}
    assert "cancelled by the user" in str(core.ended[job])
    assert any(isinstance(e, StageCompleted) and e.stage_info.failure_reason for e in out)
    assert core.running == {} and core.task_ends() == ["TaskKilled", "TaskKilled"]
    assert not any(isinstance(i, ev.LaunchTask) for i in out)


def test_cancelling_a_job_group_leaves_the_other_jobs_running():
    driver, core = DriverStandIn(), Core(executors=("0", "1", "2"))
    mine = core.submit(driver.parallelize([1], 1), properties={"spark.jobGroup.id": "g"})
    other = core.submit(driver.parallelize([2], 1), properties={"spark.jobGroup.id": "h"})
    core.handle(ev.CancelJobs(lambda p: p.get("spark.jobGroup.id") == "g", "in group g"))
    assert "cancelled in group g" in str(core.ended[mine])
    core.finish_all()
    assert core.succeeded(other)


def test_the_stage_binary_goes_once_to_each_executor_and_is_removed_when_the_stage_ends():
    driver, core = DriverStandIn(), Core()
    job = core.submit(driver.parallelize(list(range(8)), 4).map(str))
    first = core.launches()
    assert all(lt.binary is not None for lt in first)
    core.finish_all()
    later = [i for i in core.out if isinstance(i, ev.LaunchTask)][2:]
    assert later and all(lt.binary is None for lt in later)
    assert {(r.executor_id, r.binary_id) for r in core.out if isinstance(r, ev.RemoveBinary)} \
        == {("0", (0, 0)), ("1", (0, 0))}
    assert core.succeeded(job)


def test_broadcasts_and_files_ship_once_per_executor_and_again_after_unpersist():
    driver, core = DriverStandIn(), Core(executors=("0",))
    b = Broadcast(driver, [1, 2, 3], "app:0")
    core.handle(ev.FileAdded(("file", "data.txt")))
    rdd = driver.parallelize(list(range(4)), 2).map(lambda x: x + len(b.value))
    core.submit(rdd)
    first = core.launches()[0]
    assert first.shipments == [("broadcast", "app:0"), ("file", "data.txt")]
    core.finish(first)
    assert core.launches()[0].shipments == []
    assert core.handle(ev.BroadcastRemoved("app:0")) == [ev.BroadcastRemoved("app:0")]
    core.finish_all()
    core.submit(rdd)
    assert core.launches()[0].shipments == [("broadcast", "app:0")]


def test_accumulator_updates_come_before_the_result_and_the_job_end():
    driver, core = DriverStandIn(), Core(executors=("0",))
    job = core.submit(driver.parallelize([1], 1))
    out = core.finish(core.launches()[0], accumulators=b"acc")
    kinds = [type(i).__name__ for i in out]
    assert kinds == ["TaskEnd", "UpdateAccumulators", "TaskResult", "StageCompleted",
                     "RemoveBinary", "JobEnd", "JobEnded"]
    assert core.results[job] == {0: [b"result"]}


def test_a_job_on_no_partitions_ends_at_once():
    driver, core = DriverStandIn(), Core()
    rdd = driver.parallelize([1, 2], 2)
    core.handle(ev.JobSubmitted(7, rdd, list, [], {}, "collect", "test:1"))
    assert core.succeeded(7) and core.running == {}


def test_a_stage_that_keeps_failing_to_fetch_is_aborted_after_four_attempts():
    driver, core = DriverStandIn(), Core(executors=("0",))
    job = core.submit(pairs_rdd(driver).reduceByKey(add, 4))
    for _ in range(4):
        while core.launches("shuffle_map"):
            core.finish(core.launches()[0])
        core.finish(core.launches()[0], m.FetchFailed("0", 0, 0, "gone again"))
    assert "failed the maximum allowable number of times: 4" in str(core.ended[job])
    assert core.running == {}


def test_a_stage_that_cannot_be_pickled_fails_its_job():
    driver, core = DriverStandIn(), Core()
    lock = threading.Lock()
    job = core.submit(driver.parallelize([1, 2], 2).map(lambda x: (x, lock)))
    assert core.running == {}
    assert "lock" in str(core.ended[job]).lower()


# --- the ContextCleaner's events ---------------------------------------------------------


def test_a_cleaned_shuffle_forgets_its_map_stage_and_outputs_and_tells_the_executors():
    driver, core = DriverStandIn(), Core()
    core.submit(pairs_rdd(driver).reduceByKey(add, 4))
    core.finish_all()
    assert list(core.dag.shuffle_stages) == [0] and core.dag.map_outputs.is_available(0)
    assert core.handle(ev.ShuffleCleaned(0)) == [ev.RemoveShuffle(0)]
    assert core.dag.shuffle_stages == {} and core.dag.stages == {}
    assert core.dag.map_outputs.locations(0, None) == []  # no executor holds any of it


def test_a_shuffle_cleaned_while_a_job_reads_it_is_removed_when_the_job_ends():
    driver, core = DriverStandIn(), Core()
    job = core.submit(pairs_rdd(driver).reduceByKey(add, 4))
    while core.launches("shuffle_map"):
        core.finish(core.launches()[0])
    assert core.handle(ev.ShuffleCleaned(0)) == []  # the reduce stage still reads it
    assert 0 in core.dag.shuffle_stages
    while core.running:
        out = core.finish(core.launches()[0])
    assert core.succeeded(job) and len(core.results[job]) == 4
    kinds = [type(i).__name__ for i in out]
    assert kinds.index("RemoveShuffle") < kinds.index("JobEnded")
    assert core.dag.shuffle_stages == {} and core.dag.cleaning == set()


def test_a_shuffle_under_another_stage_is_cleaned_with_that_stage():
    driver, core = DriverStandIn(), Core()
    twice = pairs_rdd(driver).reduceByKey(add, 4).map(lambda kv: (kv[1] % 2, 1))
    core.submit(twice.reduceByKey(add, 2))
    core.finish_all()
    assert sorted(core.dag.shuffle_stages) == [0, 1]
    assert core.handle(ev.ShuffleCleaned(0)) == []  # shuffle 1's map stage reads it
    assert core.handle(ev.ShuffleCleaned(1)) == [ev.RemoveShuffle(1), ev.RemoveShuffle(0)]
    assert core.dag.stages == {}


def test_a_shuffle_that_never_ran_is_cleaned_without_a_message():
    core = Core()
    assert core.handle(ev.ShuffleCleaned(3)) == []
    assert core.dag.cleaning == set()


def test_a_lost_cluster_manager_fails_the_running_job_and_every_later_one():
    driver, core = DriverStandIn(), Core()
    running = core.submit(pairs_rdd(driver).reduceByKey(add, 4))
    assert len(core.running) == 2
    out = core.handle(ev.ClusterManagerLost("Cluster manager died: exit code -9"))
    assert [e.executor_id for e in out if isinstance(e, ExecutorRemoved)] == ["0", "1"]
    assert "Cluster manager died: exit code -9" == str(core.ended[running])
    assert isinstance(core.ended[running], SparkException)
    assert [type(e).__name__ for e in out][-2:] == ["JobEnd", "JobEnded"]
    later = core.submit(driver.parallelize([1, 2], 2))
    assert str(core.ended[later]) == "Cluster manager died: exit code -9"
    # Nothing joins a cluster whose manager is gone, and nothing is left to run.
    assert core.add_executor("2") == [] and core.dag.jobs == {}


def lose_every_executor(core: Core) -> None:
    for executor_id in sorted(core.dag.task_scheduler.executors):
        core.handle(ev.ExecutorLost(executor_id, "killed"))
    core.running.clear()  # the lost executors' tasks will never answer


def test_a_job_whose_executors_are_all_lost_waits_and_resumes_on_a_new_one():
    driver, core = DriverStandIn(), Core()
    job = core.submit(pairs_rdd(driver).reduceByKey(add, 2))
    lose_every_executor(core)
    for _ in range(59):  # a minute of ticks, one a second: still waiting
        core.now += 1.0
        core.handle(ev.Tick())
    assert job not in core.ended and not core.launches()
    core.add_executor("2")
    assert {lt.executor_id for lt in core.launches()} == {"2"}
    core.finish_all()
    assert core.succeeded(job) and core.results[job]


def test_a_job_with_no_executor_for_the_wait_timeout_fails_naming_the_setting():
    driver, core = DriverStandIn(), Core()
    job = core.submit(driver.parallelize(list(range(8)), 4).map(str))
    lose_every_executor(core)
    core.handle(ev.Tick())  # the wait starts
    core.now += 59.9
    core.handle(ev.Tick())
    assert job not in core.ended
    core.now += 0.1
    core.handle(ev.Tick())
    error = core.ended[job]
    assert isinstance(error, SparkException)
    assert "no executors for 60 s (spark.sparkbook.executorWaitTimeout)" in str(error)
    assert core.dag.jobs == {}
    # The wait is per outage: a new executor then a second loss starts it again.
    core.add_executor("2")
    later = core.submit(driver.parallelize([1, 2], 2))
    lose_every_executor(core)
    core.handle(ev.Tick())
    core.now += 30.0
    core.handle(ev.Tick())
    assert later not in core.ended


def test_an_idle_driver_without_executors_does_not_wait():
    core = Core()
    lose_every_executor(core)
    core.handle(ev.Tick())
    core.now += 120.0
    assert core.handle(ev.Tick()) == [] and core.dag._no_executors_since is None


def test_a_finished_map_stage_that_loses_outputs_while_its_sibling_runs_runs_again():
    """A join's two map stages: the first finishes, an executor holding some of its outputs
    is lost while the second still runs; once the second ends, the first reruns the lost
    part instead of leaving the join waiting forever."""
    driver, core = DriverStandIn(), Core()
    left = driver.parallelize([(i % 3, i) for i in range(8)], 4)
    right = driver.parallelize([(k, k) for k in range(3)], 2).map(lambda kv: kv)
    job = core.submit(left.join(right, 2))
    first = core.launches()[0].stage_id
    while any(lt.stage_id == first for lt in core.launches()):
        core.finish(next(lt for lt in core.launches() if lt.stage_id == first))
    assert core.launches() and all(lt.stage_id != first for lt in core.launches())
    core.handle(ev.ExecutorLost("0", "killed"))
    for launch in [lt for lt in core.launches() if lt.executor_id == "0"]:
        del core.running[launch.task_id]
    core.add_executor("2")
    core.finish_all()
    assert core.succeeded(job), core.ended
    assert (first, 1) in core.stages()  # the first map stage's second attempt


# --- map-stage jobs (Spark's submitMapStage, which adaptive execution uses) --------------


def submit_map_stage(core: Core, dep) -> int:
    job_id = next(core._job_ids)
    core.handle(ev.MapStageSubmitted(job_id, dep, {}, "test:1"))
    return job_id


def statistics(core: Core, job_id: int):
    (result,) = [i for i in core.out if isinstance(i, ev.MapStageResult) and i.job_id == job_id]
    return result.statistics


def test_a_map_stage_job_runs_only_the_map_stage_and_ends_with_its_bytes_per_partition():
    driver, core = DriverStandIn(), Core()
    counts = pairs_rdd(driver).map(lambda kv: kv).reduceByKey(add, 3)
    job = submit_map_stage(core, counts.deps[0])
    (start,) = [e for e in core.out if isinstance(e, JobStart)]
    assert [(s.stage_id, s.is_shuffle_map) for s in start.stage_infos] == [(0, True)]
    assert {launch.kind for launch in core.launches()} == {"shuffle_map"}
    for i, launch in enumerate(sorted(core.launches(), key=lambda lt: lt.partition)):
        core.finish(launch, sizes=[i, 10, 0], records=[1, 1, 0])
    while core.running:  # the other two map tasks
        core.finish(core.launches()[0], sizes=[1, 2, 3], records=[1, 1, 1])
    assert core.succeeded(job) and job not in core.results
    stats = statistics(core, job)
    assert stats.shuffle_id == 0
    assert stats.bytes_by_partition_id == [0 + 1 + 1 + 1, 10 + 10 + 2 + 2, 3 + 3]
    assert stats.records_by_partition_id == [4, 4, 2]
    assert [e.succeeded for e in core.out if isinstance(e, JobEnd)] == [True]
    # A job reading the shuffle then skips the map stage it ran.
    reader = core.submit(counts)
    assert {launch.kind for launch in core.launches()} == {"result"}
    core.finish_all()
    assert core.succeeded(reader)
    assert [e for e in core.out if isinstance(e, JobStart)][1].skipped_stage_ids == [0]


def test_a_map_stage_job_ends_after_its_caller_dropped_the_shuffle():
    # A query whose other side failed drops the shuffle of a map-stage job still running.
    driver, core = DriverStandIn(), Core()
    counts = pairs_rdd(driver).reduceByKey(add, 3)
    job = submit_map_stage(core, counts.deps[0])
    del counts
    gc.collect()
    core.finish_all()
    assert core.succeeded(job)
    assert statistics(core, job).shuffle_id == 0


def test_a_map_stage_job_runs_the_missing_stages_before_its_own():
    driver, core = DriverStandIn(), Core()
    second = pairs_rdd(driver).reduceByKey(add, 2).map(lambda kv: kv).partitionBy(2)
    job = submit_map_stage(core, second.deps[0])
    core.finish_all()
    assert core.succeeded(job)
    assert core.stages() == [(0, 0), (1, 0)]
    assert len(statistics(core, job).bytes_by_partition_id) == 2


def test_a_map_stage_job_on_outputs_that_exist_ends_at_once_skipping_its_stage():
    driver, core = DriverStandIn(), Core()
    counts = pairs_rdd(driver).reduceByKey(add, 4)
    core.submit(counts)
    core.finish_all()
    launched = len(core.out)
    job = submit_map_stage(core, counts.deps[0])
    assert core.succeeded(job) and not core.running
    assert not any(isinstance(i, ev.LaunchTask) for i in core.out[launched:])
    start = [e for e in core.out if isinstance(e, JobStart)][-1]
    assert start.skipped_stage_ids == [0]
    assert statistics(core, job).bytes_by_partition_id == [4, 4, 4, 4]


def test_two_map_stage_jobs_run_at_once_and_a_failed_one_fails_alone():
    driver, core = DriverStandIn(), Core(executors=tuple("01234567"))
    left = driver.parallelize([(1, 1), (2, 2)], 2).reduceByKey(add, 2)
    right = driver.parallelize([(1, 1)], 2).partitionBy(2)
    ok, bad = submit_map_stage(core, left.deps[0]), submit_map_stage(core, right.deps[0])
    assert {lt.stage_id for lt in core.launches()} == {0, 1}  # both stages in flight
    for _ in range(4):
        (launch,) = [lt for lt in core.launches() if lt.stage_id == 1 and lt.partition == 0]
        core.finish(launch, m.ExceptionFailure("ValueError", "bad", "tb"))
    assert isinstance(core.ended[bad], PythonException) and ok not in core.ended
    core.finish_all()
    assert core.succeeded(ok)


def test_a_cancelled_map_stage_job_kills_its_tasks():
    driver, core = DriverStandIn(), Core()
    job = submit_map_stage(core, pairs_rdd(driver).reduceByKey(add, 2).deps[0])
    running = set(core.running)
    core.handle(ev.CancelJob(job, "by the test"))
    assert {i.task_id for i in core.out if isinstance(i, ev.KillTask)} == running
    assert "cancelled by the test" in str(core.ended[job])
    assert not core.dag.jobs and not core.dag.running
