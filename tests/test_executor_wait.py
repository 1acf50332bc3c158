"""Every executor of a standalone cluster lost at once: the job waits for new executors up
to spark.sparkbook.executorWaitTimeout, resumes on one that registers, or fails saying so.

Real processes: a manager, one executor (SIGKILLed mid-job) and a driver, on loopback.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from procutil import Reaper, child_env, driver_script, python_cmd, sparkbook_cmd, start_manager

pytestmark = pytest.mark.sparkbook_only

JOB = """\
conf = SparkConf().set("spark.sparkbook.executorWaitTimeout", sys.argv[2])
sc = SparkContext(sys.argv[1], "executor-wait", conf=conf)
until(lambda: len(sc.cluster.executors()) == 1)


def slow(x):
    time.sleep(0.05)
    return (x % 4, x)


report("ready", pids=sc.cluster.executor_pids())
started = time.monotonic()
try:
    got = sc.parallelize(range(40), 4).map(slow).reduceByKey(lambda a, b: a + b).collectAsMap()
    report("ended", got=sorted(got.items()), seconds=time.monotonic() - started,
           executors=sorted(sc.cluster.executor_pids()))
except Exception as exc:
    report("ended", type=type(exc).__name__, message=str(exc),
           seconds=time.monotonic() - started)
sc.stop()
"""


def start_executor(reaper: Reaper, manager):
    return reaper.child(sparkbook_cmd("executor", "--manager", manager.url, "--cores", "1",
                                      "--memory", "256m", "--cluster-file",
                                      str(manager.cluster_file)), child_env())


def run_and_kill(reaper: Reaper, tmp_path: Path, wait: str):
    manager = start_manager(reaper, tmp_path / "cluster.json")
    start_executor(reaper, manager)
    driver = reaper.child(python_cmd(driver_script(tmp_path, JOB), manager.url, wait),
                          child_env({"SPARKBOOK_CLUSTER_FILE": str(manager.cluster_file)}))
    [(executor_id, pid)] = driver.report("ready", 30)["pids"].items()
    time.sleep(0.5)  # the job's tasks are running
    os.kill(pid, signal.SIGKILL)
    return manager, driver, executor_id


def test_a_job_whose_executors_all_died_resumes_on_a_new_executor(
        reaper: Reaper, tmp_path: Path) -> None:
    manager, driver, killed = run_and_kill(reaper, tmp_path, "60s")
    time.sleep(4.0)  # the manager declares the executor lost; the job has none to run on
    start_executor(reaper, manager)
    ended = driver.report("ended", 60)
    assert ended.get("got") == [[k, sum(x for x in range(40) if x % 4 == k)] for k in range(4)], \
        ended
    assert len(ended["executors"]) == 1 and ended["executors"] != [killed]
    assert driver.wait(20) == 0, driver.describe()


def test_a_job_left_without_executors_fails_once_the_wait_times_out(
        reaper: Reaper, tmp_path: Path) -> None:
    _, driver, _ = run_and_kill(reaper, tmp_path, "2s")
    ended = driver.report("ended", 30)
    assert ended.get("type") == "SparkException", ended
    assert "no executors for 2 s (spark.sparkbook.executorWaitTimeout)" in ended["message"]
    # The loss is noticed within the manager's heartbeat timeout, then 2 s of waiting.
    assert 2.0 < ended["seconds"] < 15.0, ended
    assert driver.wait(20) == 0, driver.describe()
