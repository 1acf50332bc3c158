"""Several hosts: the manager and two executors each in a network namespace of their own,
joined by a bridge, the driver outside them all. One executor's host is cut off mid-job;
its work is recovered from lineage elsewhere and the answer stays right.

The namespaces, the bridge and its addresses (10.213.0.0/24) are made by this test and
removed after it; nothing leaves the machine. Where the sandbox does not permit network
namespaces (no CAP_NET_ADMIN), the test is skipped and says so.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from procutil import (
    READY,
    Reaper,
    child_env,
    driver_script,
    free_port,
    python_cmd,
    sparkbook_cmd,
)

pytestmark = pytest.mark.sparkbook_only

SUBNET = "10.213.0"


def ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True)


@dataclass
class Hosts:
    """Host name -> (namespace, address, the root side of its veth link)."""

    namespaces: dict[str, tuple[str, str, str]]
    bridge_address: str

    def run(self, host: str, cmd: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.namespaces[host][0], *cmd]

    def cut_off(self, host: str) -> None:
        assert ip("link", "set", self.namespaces[host][2], "down").returncode == 0


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    if shutil.which("ip") is None:
        pytest.skip("no `ip` command (iproute2) to make network namespaces with")
    tag = uuid.uuid4().hex[:4]
    bridge = f"sbbr{tag}"
    made: list[str] = []
    if ip("link", "add", bridge, "type", "bridge").returncode != 0:
        pytest.skip("this sandbox does not permit network namespaces (no CAP_NET_ADMIN)")
    try:
        ip("addr", "add", f"{SUBNET}.1/24", "dev", bridge)
        ip("link", "set", bridge, "up")
        namespaces = {}
        for i, host in enumerate(("manager", "exec-a", "exec-b"), start=11):
            ns, root_end, ns_end = f"sb{tag}{host}", f"sb{tag}r{i}", f"sb{tag}n{i}"
            steps = [("netns", "add", ns),
                     ("link", "add", root_end, "type", "veth", "peer", "name", ns_end),
                     ("link", "set", root_end, "master", bridge),
                     ("link", "set", root_end, "up"),
                     ("link", "set", ns_end, "netns", ns),
                     ("-n", ns, "addr", "add", f"{SUBNET}.{i}/24", "dev", ns_end),
                     ("-n", ns, "link", "set", ns_end, "up"),
                     ("-n", ns, "link", "set", "lo", "up")]
            for step in steps:
                done = ip(*step)
                if done.returncode != 0:
                    pytest.skip(f"could not make network namespace {ns}: {done.stderr.strip()}")
            made.append(ns)
            namespaces[host] = (ns, f"{SUBNET}.{i}", root_end)
        yield Hosts(namespaces, f"{SUBNET}.1")
    finally:
        for ns in made:
            ip("netns", "del", ns)
        ip("link", "del", bridge)


TWO_HOSTS = """\
import threading

sc = SparkContext(sys.argv[1], "two-hosts")
until(lambda: len(sc.cluster.executors()) == 2, 30)
report("joined", hosts={e.executor_id: e.host for e in sc.cluster.executors()})
result = {}


def slow_pair(x):
    time.sleep(0.015)
    return (x % 7, x)


def run():
    pairs = sc.parallelize(range(800), 16).map(slow_pair)
    result["counts"] = sorted(pairs.reduceByKey(lambda a, b: a + b).collect())


started = time.monotonic()
job = threading.Thread(target=run)
job.start()
until(lambda: sum(s.completed for s in sc.statusStore.stages.values()) >= 4, 30)
report("running")
job.join(90)
store = sc.statusStore
with store.lock:
    lost = {k: e.get("removed_reason") for k, e in store.executors.items() if not e["alive"]}
report("done", counts=result.get("counts"), seconds=time.monotonic() - started, lost=lost)
sc.stop()
"""


def test_a_host_cut_off_mid_job_costs_a_retry_not_the_answer(
        hosts: Hosts, reaper: Reaper, tmp_path: Path) -> None:
    port, cluster_file = free_port(), tmp_path / "cluster.json"
    manager_ip = hosts.namespaces["manager"][1]
    manager = reaper.child(hosts.run("manager", sparkbook_cmd(
        "manager", "--host", manager_ip, "--port", str(port), "--cluster-file",
        str(cluster_file), "--heartbeat-timeout", "2")), child_env())
    manager.expect(READY, 20)
    url = f"sparkbook://{manager_ip}:{port}"
    for host in ("exec-a", "exec-b"):
        reaper.child(hosts.run(host, sparkbook_cmd(
            "executor", "--manager", url, "--host", hosts.namespaces[host][1],
            "--memory", "256m", "--cluster-file", str(cluster_file))), child_env())
    driver = reaper.child(python_cmd(driver_script(tmp_path, TWO_HOSTS), url),
                          child_env({"SPARKBOOK_CLUSTER_FILE": str(cluster_file)}))
    joined = driver.report("joined", 40)
    assert sorted(joined["hosts"].values()) == sorted(
        hosts.namespaces[h][1] for h in ("exec-a", "exec-b")), joined
    driver.report("running", 40)
    cut = time.monotonic()
    hosts.cut_off("exec-b")
    done = driver.report("done", 100)
    expected = sorted([k, sum(x for x in range(800) if x % 7 == k)] for k in range(7))
    assert done["counts"] == expected, done
    [reason] = done["lost"].values()  # exec-b's executor, declared lost by its silence
    assert "no heartbeat" in reason, done
    assert time.monotonic() - cut < 60
    assert driver.wait(20) == 0, driver.describe()
