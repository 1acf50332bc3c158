"""Trust under faults: what the manager and the executors do when things go wrong.

* A task that holds the GIL for seconds does not silence its executor's heartbeats: they
  come from a sidecar process. A stopped or killed executor is still declared lost.
* A standalone manager killed and restarted on the same port and cluster file gets each
  executor back exactly once, under the id it had.
* The manager says why an executor went: its exit code or signal.
* A driver ended by SIGTERM leaves no ``local[N]`` folder (with its secret) behind.

Every cluster here is made of real processes the test starts, on free loopback ports.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import psutil
import pytest
import zmq
from procutil import (
    READY,
    Reaper,
    child_env,
    driver_script,
    free_port,
    python_cmd,
    sparkbook_cmd,
    wait_until,
)

from sparkbook import messages as m
from sparkbook import wire

pytestmark = pytest.mark.sparkbook_only

START_TIMEOUT = 20.0


def cluster_status(cluster_file: Path, timeout: float = 2.0) -> m.ClusterStatusReply | None:
    """Ask the manager, as any signed peer may, which executors it knows (None: no answer)."""
    cluster = wire.read_cluster_file(cluster_file)
    sock = wire.make_socket(zmq.Context.instance(), zmq.DEALER)
    try:
        sock.connect(cluster.address)
        channel = wire.Channel(sock, cluster.key, "manager", peer=cluster.address)
        channel.send(m.ClusterStatus())
        if not sock.poll(timeout * 1000):
            return None
        envelope = channel.recv()
        return None if envelope is None else envelope.message
    finally:
        sock.close()


# --- heartbeats that task code cannot stall -------------------------------------------------

HOLD_GIL = """\
from sparkbook import SparkListener

def hold_gil(_):
    # libc's sleep(5) called through ctypes.PyDLL, which (unlike CDLL) keeps the GIL for
    # the whole call: a 5 s C call that no other thread of this interpreter outlives.
    import ctypes, threading
    spins = [0]
    stop = []
    def spin():
        while not stop:
            spins[0] += 1
    threading.Thread(target=spin, daemon=True).start()
    time.sleep(1.0)  # the GIL is free: the thread spins
    free = spins[0]
    started = time.time()
    ctypes.PyDLL(None).sleep(5)
    ended = time.time()
    held = spins[0] - free
    stop.append(True)
    return (started, ended, free, held)

class Watch(SparkListener):
    def __init__(self):
        self.removed, self.beats = [], []
    def on_executor_removed(self, event):
        self.removed.append([event.executor_id, event.reason])
    def on_executor_metrics_update(self, event):
        self.beats.append([time.time(), event.executor_id])

conf = SparkConf().set("spark.sparkbook.heartbeatTimeout", "2")
sc = SparkContext("local[2]", "gil", conf=conf)
watch = Watch()
sc.addSparkListener(watch)
until(lambda: len(sc.cluster.executors()) == 2)
before = sorted(sc.cluster.executor_pids())
[(started, ended, free, held)] = sc.parallelize([0], 1).map(hold_gil).collect()
time.sleep(0.5)
sc.waitForListeners()
report("held", started=started, ended=ended, free=free, held=held, removed=watch.removed,
       beats=watch.beats, before=before, after=sorted(sc.cluster.executor_pids()))
sc.stop()
"""


def test_a_task_holding_the_gil_for_5_s_does_not_silence_its_executor(
        reaper: Reaper, tmp_path: Path) -> None:
    driver = reaper.child(python_cmd(driver_script(tmp_path, HOLD_GIL)), child_env())
    got = driver.report("held", 60)
    assert driver.wait(20) == 0, driver.describe()
    assert got["ended"] - got["started"] >= 4.9
    # The call really held the GIL: a thread that spun freely for 1 s before made next to
    # no progress in the 5 s (at most a switch interval's worth on either side of the call).
    assert got["free"] > 1000 and got["held"] < got["free"] / 10, got
    # With a 2 s heartbeat timeout, no executor was declared lost, and heartbeats from
    # both kept coming while the task held the GIL.
    assert got["removed"] == [] and got["after"] == got["before"], got
    during = [(t, e) for t, e in got["beats"] if got["started"] < t < got["ended"]]
    for executor_id in got["before"]:
        times = [got["started"], *(t for t, e in during if e == executor_id), got["ended"]]
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert max(gaps) < 1.5, (executor_id, gaps)


STOPPED = """\
from sparkbook import SparkListener

class Watch(SparkListener):
    def __init__(self):
        self.removed = {}
    def on_executor_removed(self, event):
        self.removed[event.executor_id] = [time.monotonic(), event.reason]

conf = SparkConf().set("spark.sparkbook.heartbeatTimeout", "2")
sc = SparkContext("local[2]", "stopped", conf=conf)
watch = Watch()
sc.addSparkListener(watch)
until(lambda: len(sc.cluster.executors()) == 2)
pids = sc.cluster.executor_pids()
victim = sorted(pids)[0]
report("pids", pids=pids, victim=victim)
sys.stdin.readline()
stopped = time.monotonic()
until(lambda: victim in watch.removed, timeout=10)
seconds, reason = watch.removed.get(victim, [None, None])
report("removed", seconds=seconds and seconds - stopped, reason=reason)
sys.stdin.readline()
sc.stop()
"""


def test_a_stopped_executor_is_still_declared_lost_and_a_killed_ones_sidecar_goes_too(
        reaper: Reaper, tmp_path: Path) -> None:
    driver = reaper.child(python_cmd(driver_script(tmp_path, STOPPED)), child_env())
    got = driver.report("pids", START_TIMEOUT)
    victim = psutil.Process(got["pids"][got["victim"]])
    [sidecar] = victim.children()
    os.kill(victim.pid, signal.SIGSTOP)
    try:
        driver.send_line("go")
        removed = driver.report("removed", 15)
    finally:
        os.kill(victim.pid, signal.SIGCONT)
    assert removed["seconds"] is not None and removed["seconds"] < 4.0, removed
    assert "no heartbeat" in removed["reason"], removed
    # Its sidecar was silent, not gone; once the executor is SIGKILLed, it goes at once.
    assert sidecar.is_running()
    os.kill(victim.pid, signal.SIGKILL)
    assert wait_until(lambda: not sidecar.is_running() or sidecar.status() == "zombie", 3.0)
    driver.send_line("stop")
    assert driver.wait(20) == 0, driver.describe()


# --- a restarted standalone manager -----------------------------------------------------------


def start_manager_at(reaper: Reaper, port: int, cluster_file: Path, *args: str):
    child = reaper.child(sparkbook_cmd("manager", "--port", str(port), "--cluster-file",
                                       str(cluster_file), *args),
                         child_env({"SPARKBOOK_LOG_LEVEL": "INFO"}))
    child.expect(READY, START_TIMEOUT)
    return child


def registrations(manager) -> list[str]:
    return re.findall(r"registered executor (\S+)", manager.stderr)


def live_executors(cluster_file: Path) -> dict[str, int]:
    status = cluster_status(cluster_file)
    return {} if status is None else {e["executor_id"]: e["pid"] for e in status.executors}


def test_a_restarted_manager_gets_each_executor_back_once_under_its_id(
        reaper: Reaper, tmp_path: Path) -> None:
    port, cluster_file = free_port(), tmp_path / "cluster.json"
    manager = start_manager_at(reaper, port, cluster_file)
    reaper.child(sparkbook_cmd("executor", "--manager", f"sparkbook://127.0.0.1:{port}",
                               "--cores", "2", "--memory", "256m", "--cluster-file",
                               str(cluster_file)), child_env())
    assert wait_until(lambda: len(live_executors(cluster_file)) == 2, START_TIMEOUT)
    before = live_executors(cluster_file)

    os.kill(manager.pid, signal.SIGKILL)
    manager.wait(5)
    time.sleep(2.0)  # heartbeats fall due meanwhile: they must not pile up
    restarted = start_manager_at(reaper, port, cluster_file)
    back = time.monotonic()
    assert wait_until(lambda: live_executors(cluster_file) == before, 5.0), (
        before, live_executors(cluster_file), restarted.stderr)
    assert time.monotonic() - back < 5.0
    time.sleep(1.5)  # and no late re-registration follows
    assert live_executors(cluster_file) == before
    assert sorted(registrations(restarted)) == sorted(before), restarted.stderr


RUN_ACROSS_A_RESTART = """\
sc = SparkContext(sys.argv[1], "across-a-restart")
until(lambda: len(sc.cluster.executors()) == 2)
words = sc.parallelize(["a", "b", "a", "c"] * 250, 4).map(lambda w: (w, 1)).cache()
counts = words.reduceByKey(lambda a, b: a + b)
report("before", app_id=sc.applicationId, counts=sorted(counts.collect()),
       executors=sc.cluster.executor_pids())
sys.stdin.readline()  # the manager is killed and restarted meanwhile
started = time.monotonic()
got = sorted(counts.mapValues(lambda n: n * 2).collect())  # the shuffle's outputs, reused
seconds = time.monotonic() - started
store = sc.statusStore
with store.lock:
    job = max(store.jobs.values(), key=lambda j: j.job_id)
    stages = sorted(store.stages[s].status for s in job.stage_ids)
cached = words.count()
# The application registers again with its next heartbeat (within a second).
until(lambda: sc.applicationId in [a["app_id"] for a in sc.cluster.status().applications])
report("after", seconds=seconds, counts=got, cached=cached, stages=stages,
       executors=sc.cluster.executor_pids(), app_id=sc.applicationId)
sc.stop()
"""


def test_a_driver_keeps_running_right_across_a_manager_restart(
        reaper: Reaper, tmp_path: Path) -> None:
    """Jobs after the restart run at once on the same executors, whose shuffle outputs and
    cached blocks lived on, and the application registers again exactly once, as itself."""
    port, cluster_file = free_port(), tmp_path / "cluster.json"
    url = f"sparkbook://127.0.0.1:{port}"
    manager = start_manager_at(reaper, port, cluster_file)
    reaper.child(sparkbook_cmd("executor", "--manager", url, "--cores", "2", "--memory",
                               "256m", "--cluster-file", str(cluster_file)), child_env())
    driver = reaper.child(python_cmd(driver_script(tmp_path, RUN_ACROSS_A_RESTART), url),
                          child_env({"SPARKBOOK_CLUSTER_FILE": str(cluster_file)}))
    before = driver.report("before", 30)
    assert before["counts"] == [["a", 500], ["b", 250], ["c", 250]]
    os.kill(manager.pid, signal.SIGKILL)
    manager.wait(5)
    time.sleep(2.5)  # app heartbeats fall due meanwhile: they must not pile up either
    restarted = start_manager_at(reaper, port, cluster_file)
    assert wait_until(lambda: len(live_executors(cluster_file)) == 2, 5.0)
    driver.send_line("go")
    after = driver.report("after", 30)
    assert after["counts"] == [["a", 1000], ["b", 500], ["c", 500]]
    assert after["cached"] == 1000 and after["seconds"] < 5.0, after
    assert after["stages"] == ["COMPLETE", "SKIPPED"], after  # the map outputs lived on
    assert after["executors"] == before["executors"] and after["app_id"] == before["app_id"]
    assert driver.wait(20) == 0, driver.describe()
    apps = re.findall(r"registered application (\S+)", restarted.stderr)
    assert apps == [before["app_id"]], restarted.stderr


KILL_OWN_EXECUTOR = """\
sc = SparkContext("local[2]", "suicidal-task")


def die(x):
    os._exit(3)  # the task kills its own executor


started = time.monotonic()
try:
    sc.parallelize([1, 2], 2).map(die).count()
except Exception as exc:
    report("failed", type=type(exc).__name__, message=str(exc),
           seconds=time.monotonic() - started)
report("after", total=sc.parallelize(range(10), 2).sum())
sc.stop()
"""


def test_a_task_that_kills_its_executor_fails_its_job_after_four_attempts(
        reaper: Reaper, tmp_path: Path) -> None:
    """Each loss counts towards spark.task.maxFailures, as in Spark: no endless retries."""
    driver = reaper.child(python_cmd(driver_script(tmp_path, KILL_OWN_EXECUTOR)), child_env())
    failed = driver.report("failed", 60)
    assert failed["type"] == "SparkException", failed
    assert "failed 4 times" in failed["message"], failed
    assert "exited caused by one of the running tasks" in failed["message"], failed
    assert "exited with code 3" in failed["message"], failed
    assert driver.report("after", 30)["total"] == 45  # the replacements serve the next job
    assert driver.wait(20) == 0, driver.describe()


# --- why an executor went -----------------------------------------------------------------------


def test_the_manager_says_how_a_local_executor_went(reaper: Reaper, tmp_path: Path) -> None:
    cluster_file = tmp_path / "cluster.json"
    reaper.child(sparkbook_cmd("manager", "--port", "0", "--cluster-file", str(cluster_file),
                               "--local-executors", "2", "--executor-memory", "256m",
                               "--work-dir", str(tmp_path)), child_env())
    assert wait_until(lambda: cluster_file.exists() and len(live_executors(cluster_file)) == 2,
                      START_TIMEOUT)
    (first, pid), (second, _) = sorted(live_executors(cluster_file).items())
    os.kill(pid, signal.SIGKILL)
    # A KillExecutor, as a driver would send it (the fault-tolerance lesson's button).
    cluster = wire.read_cluster_file(cluster_file)
    sock = wire.make_socket(zmq.Context.instance(), zmq.DEALER)
    sock.connect(cluster.address)
    wire.Channel(sock, cluster.key, "manager", peer=cluster.address).send(
        m.KillExecutor(second))

    def lost() -> dict[str, str]:
        status = cluster_status(cluster_file)
        return {} if status is None else status.lost

    assert wait_until(lambda: len(lost()) == 2, 10.0), lost()
    sock.close()
    assert lost() == {first: f"executor {first} killed by signal 9 (SIGKILL)",
                      second: f"executor {second} killed by signal 9 (SIGKILL), as a driver asked"}


# --- a driver ended by SIGTERM ------------------------------------------------------------------

LOCAL = """\
sc = SparkContext("local[2]", "terminated")
report("started", work_dir=sc._local_cluster.work_dir, count=sc.parallelize(range(10), 2).count())
sys.stdin.readline()
"""


def test_a_driver_ended_by_sigterm_leaves_no_local_cluster_folder(
        reaper: Reaper, tmp_path: Path) -> None:
    driver = reaper.child(python_cmd(driver_script(tmp_path, LOCAL)), child_env())
    got = driver.report("started", START_TIMEOUT)
    work_dir = Path(got["work_dir"])
    assert (work_dir / "cluster.json").exists() and got["count"] == 10
    driver.popen.send_signal(signal.SIGTERM)
    assert driver.wait(10) == -signal.SIGTERM
    assert wait_until(lambda: not work_dir.exists(), 8.0), sorted(work_dir.rglob("*"))
