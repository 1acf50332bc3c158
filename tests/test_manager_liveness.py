"""How a driver notices that its cluster manager has gone quiet.

A local cluster's manager takes its executors with it (``test_processes.py`` shows the
driver failing its jobs then). A standalone manager does not: its executors keep
serving the drivers they already have, as Spark's applications go on when a standalone
Master dies. So there the driver asks a silent manager (``ClusterStatus``), warns once it
has been silent for ``spark.sparkbook.managerTimeout``, and runs its jobs meanwhile.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from procutil import Reaper, child_env, driver_script, python_cmd, sparkbook_cmd, start_manager

from sparkbook.driver.liveness import ManagerLiveness

pytestmark = pytest.mark.sparkbook_only


def test_a_quiet_manager_is_asked_once_a_second_then_counts_as_silent_until_it_answers():
    liveness = ManagerLiveness(timeout=5.0, now=0.0)
    assert not liveness.should_probe(1.9)  # relays come twice a second: no need to ask
    assert liveness.should_probe(2.0) and not liveness.should_probe(2.5)
    assert liveness.should_probe(3.0)
    assert not liveness.went_silent(5.0)
    assert liveness.went_silent(5.1) and not liveness.went_silent(6.0)  # said once
    assert liveness.heard(6.2) is True  # back
    assert liveness.heard(6.3) is False and not liveness.should_probe(8.0)
    assert liveness.should_probe(8.3)


LIVENESS_DRIVER = """\
import logging
said = []
class Said(logging.Handler):
    def emit(self, record):
        said.append(record.getMessage())
logging.getLogger("sparkbook.backend").addHandler(Said())
conf = SparkConf().set("spark.sparkbook.managerTimeout", "1")
sc = SparkContext(sys.argv[1], "liveness", conf=conf)
until(lambda: len(sc.cluster.executors()) == 2)
report("joined", total=sc.parallelize(range(100), 4).sum())
sys.stdin.readline()  # the test has killed the manager
t0 = time.monotonic()
until(lambda: any("has not answered" in line for line in said), 10)
noticed = time.monotonic() - t0
try:
    sc.cluster.status(0.5)
    status = None
except TimeoutError as exc:
    status = str(exc)
report("silent", said=said, noticed=noticed, status=status,
       total=sc.parallelize(range(100), 4).map(lambda x: x * 2).sum())
sc.stop()
report("stopped")
"""


def test_a_killed_standalone_manager_is_noticed_and_its_executors_keep_serving(
        reaper: Reaper, tmp_path: Path) -> None:
    manager = start_manager(reaper, tmp_path / "cluster.json")
    reaper.child(sparkbook_cmd("executor", "--manager", manager.url, "--cores", "2",
                               "--cluster-file", str(manager.cluster_file)), child_env())
    script = driver_script(tmp_path, LIVENESS_DRIVER)
    driver = reaper.child(python_cmd(script, manager.url),
                          child_env({"SPARKBOOK_CLUSTER_FILE": str(manager.cluster_file)}))
    assert driver.report("joined", 30)["total"] == 4950
    manager.child.popen.send_signal(signal.SIGKILL)
    manager.child.wait(5)
    driver.send_line("killed")
    silent = driver.report("silent", 20)
    warned = [line for line in silent["said"] if "has not answered" in line]
    assert len(warned) == 1 and "jobs go on with the 2 executors" in warned[0], silent
    assert silent["noticed"] < 5, silent
    assert silent["status"] == "the cluster manager did not answer ClusterStatus in 0.5 s"
    assert silent["total"] == 9900  # the executors still run this driver's jobs
    driver.report("stopped", 15)
    assert driver.wait(15) == 0, driver.describe()
