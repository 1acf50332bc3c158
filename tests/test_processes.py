"""What ``local[N]`` is made of, and why it never leaves processes behind.

``SparkContext("local[2]", ...)`` is not two threads in one process, as in PySpark: it
starts a cluster manager process, and the manager starts two executor processes. The
manager runs in a session of its own with a pipe as its stdin, and it stops (and
SIGTERMs its executors) when that pipe closes. A pipe closes whenever the process
holding its other end is gone, however it went: ``sc.stop()``, the end of the script, an
uncaught exception, ``os._exit``, even SIGKILL. Executors watch a pipe from the manager
the same way. The manager also keeps N executors alive: when one dies it starts another.

Each test runs its driver in a child interpreter (only one SparkContext may live in a
process, and the test session has its own), and then checks with psutil which
processes are really there.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import psutil
import pytest
from procutil import (
    Child,
    Reaper,
    child_env,
    describe_processes,
    driver_script,
    executor_children,
    is_alive,
    processes,
    python_cmd,
    survivors,
)

pytestmark = pytest.mark.sparkbook_only

GONE_WITHIN = 5.0  # seconds for a whole local cluster to exit
START_TIMEOUT = 30.0

# A driver that starts local[2], runs a job and reports its cluster's processes; what it
# does next is the part each test appends. Each waits for a line on stdin before ending
# its cluster, so that the test has taken hold of the processes first.
START_LOCAL = """\
sc = SparkContext("local[2]", "processes-lesson")
pids = sc.cluster.local_processes()
report("started", manager=pids["manager"], executors=pids["executors"],
       registered=sc.cluster.executor_pids(), python=sys.executable,
       total=sc.parallelize(range(100), 4).map(lambda x: x * 2).sum())
"""


def start_local_driver(reaper: Reaper, tmp_path: Path, after: str,
                       drop_env: tuple[str, ...] = ()) -> tuple[Child, dict]:
    """Run START_LOCAL + ``after`` in a child; its report, with the cluster's pids tracked."""
    script = driver_script(tmp_path, START_LOCAL + after)
    driver = reaper.child(python_cmd(script), child_env(drop=drop_env))
    started = driver.report("started", START_TIMEOUT)
    reaper.track(started["manager"], *started["executors"])
    assert started["total"] == 9900, driver.describe()
    assert len(started["executors"]) == 2, started
    # The pids the manager's children have are the pids the executors registered with.
    assert sorted(started["executors"]) == sorted(started["registered"].values())
    assert all(is_alive(p) for p in cluster_processes(started))
    return driver, started


def cluster_processes(started: dict) -> list[psutil.Process]:
    return processes([started["manager"], *started["executors"]])


def assert_all_gone(procs: list[psutil.Process], why: str) -> None:
    left = survivors(procs, GONE_WITHIN)
    assert not left, f"{why}; still running after {GONE_WITHIN} s:\n{describe_processes(left)}"


def test_stop_ends_the_manager_and_every_executor(reaper: Reaper, tmp_path: Path) -> None:
    driver, started = start_local_driver(reaper, tmp_path, """\
sys.stdin.readline()  # wait until the test holds the cluster's processes
sc.stop()
report("stopped")
sys.stdin.readline()  # stay alive until the test has looked
""")
    cluster = cluster_processes(started)
    driver.send_line("stop")
    driver.report("stopped", 15)
    # The driver is still running: it is stop() that ended the cluster, not the exit.
    assert driver.popen.poll() is None
    assert_all_gone(cluster, "sc.stop() returned but the local cluster lives on")
    driver.send_line("done")
    assert driver.wait(10) == 0, driver.describe()


def test_a_sigkilled_driver_leaves_no_orphans(reaper: Reaper, tmp_path: Path) -> None:
    driver, started = start_local_driver(reaper, tmp_path, "sys.stdin.readline()\n")
    cluster = cluster_processes(started)
    manager = psutil.Process(started["manager"])
    # The manager leads a session of its own, so a terminal's Ctrl-C meant for the driver
    # does not reach it; only the stdin pipe ties it to the driver.
    assert os.getsid(manager.pid) == manager.pid
    assert manager.ppid() == driver.pid
    for executor in executor_children(manager.pid):
        assert os.getsid(executor.pid) == manager.pid

    os.kill(driver.pid, signal.SIGKILL)  # no atexit, no finally, no stop()
    assert driver.wait(5) == -signal.SIGKILL
    assert_all_gone(cluster, "the driver was SIGKILLed and its cluster was orphaned")


@pytest.mark.parametrize(("ending", "exit_code"), [
    pytest.param("", 0, id="end-of-script"),
    pytest.param("os._exit(0)\n", 0, id="os._exit-skips-atexit"),
    pytest.param("sys.exit(3)\n", 3, id="sys.exit-3"),
    pytest.param("1 / 0\n", 1, id="uncaught-exception"),
])
def test_a_driver_that_exits_without_stop_leaves_no_orphans(
        reaper: Reaper, tmp_path: Path, ending: str, exit_code: int) -> None:
    driver, started = start_local_driver(reaper, tmp_path, "sys.stdin.readline()\n" + ending)
    cluster = cluster_processes(started)
    driver.send_line("end")
    assert driver.wait(15) == exit_code, driver.describe()
    assert_all_gone(cluster, "the driver exited without stop() and left its cluster running")


def test_local_executors_run_the_drivers_interpreter_with_a_fixed_hash_seed(
        reaper: Reaper, tmp_path: Path) -> None:
    # The driver runs without PYTHONHASHSEED, that is with a random string hash.
    driver, started = start_local_driver(reaper, tmp_path, "sys.stdin.readline()\n",
                                         drop_env=("PYTHONHASHSEED",))
    assert "PYTHONHASHSEED" not in psutil.Process(driver.pid).environ()
    interpreter = os.path.realpath(started["python"])
    assert interpreter == os.path.realpath(sys.executable)
    for pid in [started["manager"], *started["executors"]]:
        proc = psutil.Process(pid)
        # The same Python as the driver's (same version, same installed packages) ...
        assert os.path.realpath(proc.exe()) == interpreter, proc.cmdline()
        # ... and every cluster process hashes strings alike, so that a key's
        # partition (hash(key) % n) is the same whichever executor computes it.
        assert proc.environ().get("PYTHONHASHSEED") == "0", proc.cmdline()
    for pid in started["executors"]:
        assert psutil.Process(pid).cmdline()[1:4] == ["-m", "sparkbook", "executor"]
    driver.send_line("done")
    assert driver.wait(15) == 0, driver.describe()


def test_a_sigkilled_executor_is_replaced_and_jobs_still_work(
        reaper: Reaper, tmp_path: Path) -> None:
    driver, started = start_local_driver(reaper, tmp_path, """\
victim = int(sys.stdin.readline())  # the test SIGKILLs this executor, then tells us its pid
until(lambda: len(sc.cluster.executors()) == 2
      and victim not in sc.cluster.executor_pids().values())
report("replaced", registered=sc.cluster.executor_pids(),
       running=sc.cluster.local_processes()["executors"],
       total=sc.parallelize(range(1000), 8).map(lambda x: x * x).sum())
sys.stdin.readline()  # let the test look at the processes before they stop
sc.stop()
""")
    before: dict[str, int] = started["registered"]
    manager_pid = started["manager"]
    victim_id, victim_pid = sorted(before.items())[0]
    victim = psutil.Process(victim_pid)

    victim.send_signal(signal.SIGKILL)
    driver.send_line(str(victim_pid))
    replaced = driver.report("replaced", 30)
    for pid in replaced["running"]:
        reaper.track(pid)

    after: dict[str, int] = replaced["registered"]
    assert not is_alive(victim)
    assert len(after) == 2, replaced
    assert victim_id not in after, "the killed executor's id should be retired"
    new_ids = set(after) - set(before)
    assert len(new_ids) == 1, (before, after)
    assert after[new_ids.pop()] not in before.values()
    survivor_id = next(i for i in before if i != victim_id)
    assert after[survivor_id] == before[survivor_id], "the other executor was untouched"
    # The manager runs exactly the processes the driver knows as its executors.
    assert sorted(replaced["running"]) == sorted(after.values())
    assert sorted(p.pid for p in executor_children(manager_pid)) == sorted(after.values())
    assert replaced["total"] == sum(x * x for x in range(1000))
    driver.send_line("done")
    assert driver.wait(15) == 0, driver.describe()


def test_a_killed_manager_fails_the_running_job_and_later_ones_at_once(
        reaper: Reaper, tmp_path: Path) -> None:
    """The manager of local[N] dies: its executors exit with it, so the driver fails the
    running job within a few seconds, and every later one at once, saying so."""
    driver, started = start_local_driver(reaper, tmp_path, """\
import signal, threading
def status_error(timeout):
    try:
        sc.cluster.status(timeout)
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
os.kill(pids["manager"], signal.SIGSTOP)  # a manager that does not answer ...
silent = status_error(0.5)
os.kill(pids["manager"], signal.SIGCONT)  # ... and then does again
answering = status_error(5)
def attempt(rdd):
    t0 = time.monotonic()
    try:
        rdd.count()
        return {"error": None, "seconds": time.monotonic() - t0}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "seconds": time.monotonic() - t0}
started_job = threading.Event()
class Started:
    def on_task_start(self, event):
        started_job.set()
sc.addSparkListener(Started())
killer = threading.Thread(target=lambda: (started_job.wait(20), report("running")))
killer.start()
running = attempt(sc.parallelize(range(4), 2).map(lambda x: time.sleep(60)))
later = attempt(sc.parallelize(range(10), 2))
dead = status_error(5)
t0 = time.monotonic()
sc.stop()
report("failed", running=running, later=later, stop_seconds=time.monotonic() - t0,
       silent=silent, answering=answering, dead=dead)
""")
    driver.report("running", 20)
    os.kill(started["manager"], signal.SIGKILL)
    failed = driver.report("failed", 30)
    reason = f"the local cluster manager (pid {started['manager']}) exited with code -9"
    for attempt in (failed["running"], failed["later"]):
        assert attempt["error"].startswith("SparkException: Cluster manager died: "), failed
        assert reason in attempt["error"] and "(killed by SIGKILL)" in attempt["error"]
    assert failed["running"]["seconds"] < 5, failed
    assert failed["later"]["seconds"] < 1, failed
    assert failed["stop_seconds"] < 5, failed
    # sc.cluster.status() times out on a silent manager, and says when it died.
    assert failed["silent"] == ("TimeoutError: the cluster manager did not answer "
                                "ClusterStatus in 0.5 s") and failed["answering"] is None
    assert failed["dead"].startswith("SparkException: Cluster manager died: "), failed
    assert driver.wait(15) == 0, driver.describe()
    assert_all_gone(processes(started["executors"]), "the manager died, its executors live on")
