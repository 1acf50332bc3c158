"""Correctly signed messages of the wrong shape: the manager and executors drop them, count
them, and go on serving (a peer's bug or a hostile cluster member must not stop a role)."""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import pytest
import zmq
from procutil import Reaper, child_env, driver_script, python_cmd, sparkbook_cmd, start_manager

from sparkbook import messages as m
from sparkbook import wire

pytestmark = pytest.mark.sparkbook_only

COUNT = """\
sc = SparkContext(sys.argv[1], "after-hostile-frames")
report("counted", n=sc.parallelize(range(1000), 4).map(lambda x: x * 2).sum())
sc.stop()
"""


def connect(zctx: zmq.Context, address: str, key: bytes) -> wire.Channel:
    sock = wire.make_socket(zctx, zmq.DEALER)
    sock.connect(address)
    return wire.Channel(sock, key, address, peer=address)


def cluster_status(manager: wire.Channel) -> m.ClusterStatusReply:
    manager.send(m.ClusterStatus())
    assert manager.socket.poll(5000), "the manager did not answer ClusterStatus"
    return manager.recv().message


def test_signed_frames_of_the_wrong_shape_are_dropped_and_the_cluster_still_runs_jobs(
        reaper: Reaper, tmp_path: Path, zctx: zmq.Context) -> None:
    manager_proc = start_manager(reaper, tmp_path / "cluster.json")
    executor_proc = reaper.child(sparkbook_cmd(
        "executor", "--manager", manager_proc.url, "--memory", "128m",
        "--cluster-file", str(manager_proc.cluster_file)), child_env())
    cluster = wire.read_cluster_file(manager_proc.cluster_file)
    manager = connect(zctx, cluster.address, cluster.key)
    deadline = time.monotonic() + 20
    while not (status := cluster_status(manager)).executors:
        assert time.monotonic() < deadline, "no executor registered"
        time.sleep(0.1)
    executor = connect(zctx, status.executors[0]["address"], cluster.key)

    hostile = [
        (manager, b"Heartbeat", {"executor_id": ["unhashable"], "metrics": None}),
        (manager, b"RegisterExecutor", {"address": 5}),  # missing fields, wrong type
        (manager, b"AppHeartbeat", {"app_id": "x", "extra": 1}),
        (manager, b"NoSuchMessage", {}),
        (manager, b"LaunchTask", "not a dict"),
        (executor, b"KillTask", {"task_id": [1]}),
        (executor, b"ExecutorLost", {"executor_id": 7}),
        (executor, b"Heartbeat", {"executor_id": "0", "metrics": "junk"}),
    ]
    for channel, wire_type, body in hostile:
        channel._send_signed(wire_type, pickle.dumps(body))  # signed as a member would
    # Well-formed fields, but a LaunchTask without the frames it promises: its handler
    # fails, and the dispatch table drops it.
    executor.send(m.LaunchTask("app-x", 1, 0, 0, 0, 0, "result", (0, 0), True, [], {}, {}))
    executor.send(m.ExecutorLost("no-such-peer"))  # a message it handles, for good measure

    driver = reaper.child(python_cmd(driver_script(tmp_path, COUNT), manager_proc.url),
                          child_env({"SPARKBOOK_CLUSTER_FILE": str(cluster.path)}))
    assert driver.report("counted", 30)["n"] == 2 * sum(range(1000))
    assert driver.wait(20) == 0, driver.describe()
    assert manager_proc.child.popen.poll() is None, manager_proc.child.describe()
    assert executor_proc.popen.poll() is None, executor_proc.describe()
    assert len(cluster_status(manager).executors) == 1
    # Each role logged what it dropped (the first of a burst at once).
    assert "dropped a message: malformed" in manager_proc.child.stderr
    assert "dropped a message: malformed" in executor_proc.stderr
    assert "dropped a message: its handler failed: LaunchTask" in executor_proc.stderr
