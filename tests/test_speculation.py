"""Speculative execution (spark.speculation): a straggler gets a copy on another executor,
the first attempt to finish wins and the other is killed. Off by default, as in Spark."""

from __future__ import annotations

from pathlib import Path

import pytest
from procutil import Reaper, child_env, driver_script, python_cmd
from test_dagscheduler import Core, DriverStandIn

from sparkbook import messages as m
from sparkbook.driver import scheduler_events as ev
from sparkbook.driver.dagscheduler import DAGScheduler
from sparkbook.driver.listener import TaskStart
from sparkbook.driver.tasksetmanager import Speculation

pytestmark = pytest.mark.sparkbook_only


def speculating_core(rule: Speculation | None) -> Core:
    core = Core(executors=())
    core.dag = DAGScheduler(max_failures=4, locality_wait=0.0, clock=lambda: core.now,
                            speculation=rule)
    for executor_id in ("0", "1"):
        core.add_executor(executor_id)
    return core


def run_all_but_one(core: Core, leave: int = 0) -> ev.LaunchTask:
    """Finish, a second each, every task of the job but the first one executor 0 ran
    (and ``leave`` more); the straggler."""
    straggler = next(lt for lt in core.launches() if lt.executor_id == "0")
    for _ in range(9 - leave):  # the other tasks run one after another on executor 1
        core.now += 1.0
        core.finish(next(lt for lt in core.launches() if lt is not straggler))
    return straggler


def copies(out: list) -> list[ev.LaunchTask]:
    return [i for i in out if isinstance(i, ev.LaunchTask)]


def test_a_straggler_gets_a_copy_elsewhere_and_the_first_to_finish_wins():
    driver, core = DriverStandIn(), speculating_core(Speculation())
    job = core.submit(driver.parallelize(list(range(10)), 10).map(str))
    straggler = run_all_but_one(core, leave=1)
    core.now += 10.0  # slow, but only 8 of 10 have finished: under the 0.9 quantile
    assert not copies(core.handle(ev.Tick()))
    core.finish(next(lt for lt in core.launches() if lt is not straggler))
    out = core.handle(ev.Tick())
    [copy] = copies(out)
    assert (copy.partition, copy.executor_id, copy.attempt) == (straggler.partition, "1", 1)
    assert [e.task_info.speculative for e in out if isinstance(e, TaskStart)] == [True]
    out = core.finish(copy)
    assert ev.KillTask("0", straggler.task_id) in out  # the original lost the race
    assert core.succeeded(job) and len(core.results[job]) == 10
    assert core.task_ends().count("TaskKilled") == 1


def test_when_the_original_finishes_first_the_copy_is_killed():
    driver, core = DriverStandIn(), speculating_core(Speculation(min_runtime=0.5))
    job = core.submit(driver.parallelize(list(range(10)), 10).map(str))
    straggler = run_all_but_one(core)
    core.now += 10.0
    copy = next(i for i in core.handle(ev.Tick()) if isinstance(i, ev.LaunchTask))
    out = core.finish(straggler)
    assert ev.KillTask(copy.executor_id, copy.task_id) in out
    assert core.succeeded(job) and len(core.results[job]) == 10


def test_without_spark_speculation_a_straggler_is_left_alone():
    driver, core = DriverStandIn(), speculating_core(None)
    core.submit(driver.parallelize(list(range(10)), 10).map(str))
    run_all_but_one(core)
    core.now += 1000.0
    assert not copies(core.handle(ev.Tick()))


def test_a_failed_copy_does_not_requeue_a_task_whose_original_still_runs():
    driver, core = DriverStandIn(), speculating_core(Speculation())
    core.submit(driver.parallelize(list(range(10)), 10).map(str))
    run_all_but_one(core)
    core.now += 10.0
    copy = next(i for i in core.handle(ev.Tick()) if isinstance(i, ev.LaunchTask))
    out = core.finish(copy, m.ExceptionFailure("OSError", "disk", ""))
    assert not copies(out)


SLOW_FIRST_ATTEMPT = """\
from sparkbook import SparkListener, TaskContext

conf = (SparkConf().set("spark.speculation", "true")
        .set("spark.speculation.quantile", "0.5").set("spark.speculation.multiplier", "2"))
sc = SparkContext("local[2]", "speculation", conf=conf)
starts, ends = [], []


class Tasks(SparkListener):
    def on_task_start(self, event):
        starts.append(event.task_info)

    def on_task_end(self, event):
        ends.append(event.reason)


sc.addSparkListener(Tasks())


def slow_first_attempt(index, it):
    if index == 0 and TaskContext.get().attemptNumber() == 0:
        for _ in range(1200):  # a minute, in steps a kill can interrupt
            time.sleep(0.05)
    return [sum(it)]


started = time.monotonic()
got = sc.parallelize(range(100), 4).mapPartitionsWithIndex(slow_first_attempt).collect()
seconds = time.monotonic() - started
until(lambda: "TaskKilled" in ends)
report("done", got=got, seconds=seconds, ends=ends,
       copies=[[i.index, i.attempt] for i in starts if i.speculative])
sc.stop()
"""


def test_a_slow_executor_is_overtaken_on_a_real_cluster(reaper: Reaper, tmp_path: Path):
    """Partition 0's first attempt would take a minute; its copy finishes at once."""
    driver = reaper.child(python_cmd(driver_script(tmp_path, SLOW_FIRST_ATTEMPT)),
                          child_env())
    done = driver.report("done", 60)
    assert done["got"] == [sum(range(i * 25, i * 25 + 25)) for i in range(4)]
    assert done["seconds"] < 30, done
    assert done["copies"] == [[0, 1]]  # one copy, of partition 0, as its attempt 1
    assert "TaskKilled" in done["ends"]  # the first attempt lost the race and was killed
    assert driver.wait(30) == 0, driver.describe()
