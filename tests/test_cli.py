"""The ``sparkbook`` command: a standalone cluster built by hand, one process at a time.

Apache Spark's standalone mode has a master, workers and drivers that find each other
over the network. sparkbook's are ``sparkbook manager`` (prints where it listens and
writes a *cluster file* holding the shared secret), ``sparkbook executor`` (one process
per core, each registering with the manager) and any driver program that creates
``SparkContext("sparkbook://HOST:PORT", ...)``. Every message between them is signed
with the secret from the cluster file, so a process holding another secret is turned
away, and told so at once instead of waiting forever.

All processes here are real children of the test, on free ports of the loopback
interface, with their cluster files under the test's temporary directory.
"""

from __future__ import annotations

import json
import os
import signal
import stat
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from procutil import (
    READY,
    Child,
    Manager,
    Reaper,
    child_env,
    describe_processes,
    driver_script,
    executor_children,
    free_port,
    port_accepts,
    processes,
    python_cmd,
    sigint_default,
    sparkbook_cmd,
    start_manager,
    survivors,
    wait_until,
)

pytestmark = pytest.mark.sparkbook_only

START_TIMEOUT = 20.0

# A driver that joins the cluster at sys.argv[1] (secret from SPARKBOOK_CLUSTER_FILE),
# waits until two executors have registered, and runs one job.
JOIN = """\
sc = SparkContext(sys.argv[1], "cli-lesson")
until(lambda: len(sc.cluster.executors()) == 2)
report("joined", executors=sc.cluster.executor_pids(), app_id=sc.applicationId,
       total=sc.parallelize(range(100), 4).map(lambda x: x * 2).sum())
sc.stop()
"""

# A driver that tries to join with the secret of another cluster.
WRONG_KEY_DRIVER = """\
started = time.monotonic()
try:
    SparkContext(sys.argv[1], "intruder")
except Exception as exc:
    report("refused", error=type(exc).__module__ + "." + type(exc).__qualname__,
           message=str(exc), seconds=time.monotonic() - started)
else:
    report("joined")
"""


def write_foreign_cluster_file(path: Path, address: str) -> None:
    """A well-formed cluster file for ``address`` whose secret is not the cluster's."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"address": address, "key": "0" * 64, "signature_scheme": "hmac-sha256"}, f)


def run_driver(reaper: Reaper, tmp_path: Path, body: str, manager: Manager,
               cluster_file: Path | None = None, name: str = "driver.py") -> Child:
    script = driver_script(tmp_path, body, name)
    env = child_env({"SPARKBOOK_CLUSTER_FILE": str(cluster_file or manager.cluster_file)})
    return reaper.child(python_cmd(script, manager.url), env)


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Manager, Child]]:
    """One manager and ``sparkbook executor --cores 2``, shared by this module's tests."""
    module_reaper = Reaper()
    try:
        home = tmp_path_factory.mktemp("standalone")
        manager = start_manager(module_reaper, home / "cluster.json")
        executors = module_reaper.child(
            sparkbook_cmd("executor", "--manager", manager.url, "--cores", "2",
                          "--memory", "256m", "--cluster-file", str(manager.cluster_file)),
            child_env())
        yield manager, executors
    finally:
        module_reaper.cleanup()


def test_manager_writes_a_private_cluster_file(reaper: Reaper, tmp_path: Path) -> None:
    cluster_file = tmp_path / "secrets" / "cluster.json"
    manager = start_manager(reaper, cluster_file)
    assert manager.url.startswith("sparkbook://127.0.0.1:")
    assert manager.port > 0, "--port 0 asks the system for a free port"
    assert port_accepts(manager.port), "the manager listens where its ready line says"

    # Only the owner may read the secret, like ssh keys and Jupyter connection files.
    assert stat.S_IMODE(cluster_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(cluster_file.parent.stat().st_mode) == 0o700
    content = json.loads(cluster_file.read_text())
    assert content["address"] == f"tcp://127.0.0.1:{manager.port}"
    key = content["key"]
    assert len(key) == 64 and int(key, 16) >= 0, "256 random bits, hex encoded"
    assert content["signature_scheme"] == "hmac-sha256"

    manager.child.popen.send_signal(signal.SIGTERM)
    assert manager.child.wait(10) == 0, manager.child.describe()
    assert not port_accepts(manager.port)


def test_a_driver_joins_a_manager_and_a_two_core_executor(
        reaper: Reaper, tmp_path: Path, standalone: tuple[Manager, Child]) -> None:
    manager, executors = standalone
    driver = run_driver(reaper, tmp_path, JOIN, manager)
    joined = driver.report("joined", START_TIMEOUT)
    assert driver.wait(15) == 0, driver.describe()

    assert joined["total"] == 9900
    assert len(joined["executors"]) == 2, joined
    # --cores 2 means two one-core executor processes (the GIL makes the process the
    # unit of parallelism), both children of the `sparkbook executor` command.
    children = executor_children(executors.pid)
    assert sorted(c.pid for c in children) == sorted(joined["executors"].values())
    for c in children:
        assert c.cmdline()[c.cmdline().index("--cores") + 1] == "1"


@pytest.mark.parametrize("order", ["app-then-options", "options-then-app"])
def test_submit_runs_the_application_as_the_driver(
        reaper: Reaper, tmp_path: Path, standalone: tuple[Manager, Child], order: str) -> None:
    manager, _ = standalone
    app = tmp_path / "app.py"
    app.write_text(
        "import sys\n"
        "from sparkbook import SparkContext\n"
        "\n"
        "sc = SparkContext(appName='submitted')  # the master comes from sparkbook submit\n"
        "try:\n"
        "    print('master=' + sc.master)\n"
        "    print('result=' + str(sc.parallelize(range(100), 4).map(lambda x: x * 2).sum()))\n"
        "    print('args=' + repr(sys.argv[1:]))\n"
        "    print('name=' + __name__)\n"
        "finally:\n"
        "    sc.stop()\n")
    if order == "app-then-options":
        args = ["submit", str(app), "--master", manager.url, "arg1"]
    else:
        args = ["submit", "--master", manager.url, str(app), "arg1"]
    env = child_env({"SPARKBOOK_CLUSTER_FILE": str(manager.cluster_file)})
    submit = reaper.child(sparkbook_cmd(*args), env)
    assert submit.wait(30) == 0, submit.describe()
    printed = dict(line.rstrip("\n").split("=", 1) for line in submit.stdout_lines)
    # The app ran in the submit process itself, as __main__, against the given master,
    # and its sys.argv holds only its own arguments.
    assert printed == {"master": manager.url, "result": "9900", "args": "['arg1']",
                       "name": "__main__"}, submit.describe()


@pytest.mark.parametrize("signal_to", ["process", "process-group"])
def test_local_runs_a_cluster_in_the_foreground_until_interrupted(
        reaper: Reaper, tmp_path: Path, signal_to: str) -> None:
    cluster_file = tmp_path / "local-cluster.json"
    port = free_port()
    with sigint_default():  # as from an interactive shell, where Ctrl-C works
        local = reaper.child(sparkbook_cmd("local", "-e", "2", "--port", str(port),
                                           "--cluster-file", str(cluster_file)), child_env())
    url = local.expect(READY, START_TIMEOUT).split()[1]
    assert url == f"sparkbook://127.0.0.1:{port}"
    manager = Manager(local, url, port, cluster_file)

    driver = run_driver(reaper, tmp_path, JOIN, manager)
    joined = driver.report("joined", START_TIMEOUT)
    assert driver.wait(15) == 0, driver.describe()
    assert joined["total"] == 9900
    executors = executor_children(local.pid)
    assert sorted(p.pid for p in executors) == sorted(joined["executors"].values())
    cluster = [*processes([local.pid]), *executors]

    # Ctrl-C in a terminal sends SIGINT to the whole foreground process group; a `kill
    # -INT` reaches the one process. Either way, everything stops.
    if signal_to == "process":
        os.kill(local.pid, signal.SIGINT)
    else:
        os.killpg(os.getpgid(local.pid), signal.SIGINT)
    assert local.wait(10) == 0, local.describe()
    left = survivors(cluster, 5.0)
    assert not left, "orphans after SIGINT:\n" + describe_processes(left)
    assert not port_accepts(port)


@pytest.mark.parametrize("cores", [1, 2])
def test_an_executor_with_the_wrong_secret_fails_fast(
        reaper: Reaper, tmp_path: Path, standalone: tuple[Manager, Child], cores: int) -> None:
    manager, _ = standalone
    foreign = tmp_path / "foreign.json"
    write_foreign_cluster_file(foreign, f"tcp://127.0.0.1:{manager.port}")
    executor = reaper.child(sparkbook_cmd("executor", "--manager", manager.url, "--cores",
                                          str(cores), "--cluster-file", str(foreign)),
                            child_env())
    code = executor.wait(10)
    assert code != 0, "a refused executor must exit with an error\n" + executor.describe()
    assert "different secret" in executor.stderr, executor.describe()
    assert manager.child.popen.poll() is None, "the manager shrugs off the intruder"


def test_a_driver_with_the_wrong_secret_gets_an_authentication_error(
        reaper: Reaper, tmp_path: Path, standalone: tuple[Manager, Child]) -> None:
    manager, _ = standalone
    foreign = tmp_path / "foreign.json"
    write_foreign_cluster_file(foreign, f"tcp://127.0.0.1:{manager.port}")
    driver = run_driver(reaper, tmp_path, WRONG_KEY_DRIVER, manager, cluster_file=foreign)
    refused = driver.report("refused", 15)
    assert driver.wait(15) == 0, driver.describe()
    assert refused["error"] == "sparkbook.wire.AuthenticationError", refused
    assert "different secret" in refused["message"]
    # Told at once by the manager, well before the 10 s connect timeout would expire.
    assert refused["seconds"] < 8.0, refused
    assert manager.child.popen.poll() is None


def test_demo_counts_words_on_a_local_cluster(reaper: Reaper, tmp_path: Path) -> None:
    from sparkbook.demo import WORDS, write_corpus

    demo = reaper.child(sparkbook_cmd("demo", "--megabytes", "5"), child_env(), cwd=tmp_path)
    assert demo.wait(60) == 0, demo.describe()
    lines = [line.rstrip("\n") for line in demo.stdout_lines]
    assert lines[0].startswith("sparkbook demo: local[2]"), demo.describe()
    assert "2 executors" in lines[0]
    assert lines[-1].startswith("done in "), demo.describe()

    # The corpus is deterministic: count it here in plain Python and compare.
    corpus = tmp_path / "corpus.txt"
    write_corpus(str(corpus), 5)
    expected = Counter(corpus.read_text().split())
    header = next(i for i, line in enumerate(lines) if "the most frequent:" in line)
    assert f"{len(expected)} distinct words" in lines[header]
    assert len(expected) == len(set(WORDS))
    top = [line.split() for line in lines[header + 1:header + 11]]
    assert [(w, int(n.replace(",", ""))) for w, n in top] == expected.most_common(10)

    # The executors it named are gone with it.
    pids = [int(p) for p in lines[0].split("pids [", 1)[1].rstrip(")]").split(",")]
    assert len(pids) == 2
    assert wait_until(lambda: not any(psutil.pid_exists(p) for p in pids), 5.0), pids
