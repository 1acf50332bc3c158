"""The executor without sockets: its SparkEnv (broadcast values, SparkFiles folders) and
the ExecutorState that every message becomes a call to."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import zmq

from sparkbook import messages as m
from sparkbook import serializers, sparkfiles
from sparkbook.broadcast import Broadcast
from sparkbook.errors import SparkException
from sparkbook.executor.blockid import BroadcastBlockId, RDDBlockId, ShuffleBlockId
from sparkbook.executor.blockmanager import BlockManager
from sparkbook.executor.env import SparkEnv
from sparkbook.executor.state import ExecutorState, QueuedTask
from sparkbook.metrics import TaskMetrics
from sparkbook.sparkfiles import SparkFiles
from sparkbook.storagelevel import StorageLevel

pytestmark = pytest.mark.sparkbook_only


@pytest.fixture
def env(tmp_path):
    """An executor's environment, installed as this process's for the test."""
    env = SparkEnv(BlockManager(memory_limit=10_000, local_dir=str(tmp_path / "local")))
    SparkEnv.set(env)
    yield env
    SparkEnv.set(None)


def ship_broadcast(env: SparkEnv, bid: str, value: object) -> None:
    env.blocks.put_broadcast(BroadcastBlockId(bid), serializers.dumps(value))


# --- SparkEnv ---------------------------------------------------------------------------


def test_a_task_reads_a_broadcast_from_the_env_unpickled_once_per_executor(env):
    ship_broadcast(env, "app-1:0", {"k": [1, 2]})
    first, later = Broadcast(bid="app-1:0"), Broadcast(bid="app-1:0")  # two tasks' copies
    assert first.value == {"k": [1, 2]}
    assert later.value is first.value


def test_a_forgotten_broadcast_is_not_available_any_more(env):
    ship_broadcast(env, "app-1:0", 7)
    assert Broadcast(bid="app-1:0").value == 7
    env.forget_broadcast("app-1:0")
    assert not env.blocks.contains(BroadcastBlockId("app-1:0"))
    with pytest.raises(SparkException, match="not available on this executor"):
        _ = Broadcast(bid="app-1:0").value


def test_there_is_no_env_on_the_driver(monkeypatch):
    assert SparkEnv.get() is None
    with pytest.raises(SparkException, match="not available"):
        _ = Broadcast(bid="app-1:0").value
    monkeypatch.setattr(SparkFiles, "_root_directory", None)
    with pytest.raises(RuntimeError, match="an active SparkContext"):
        SparkFiles.getRootDirectory()


def test_sparkfiles_outside_a_task_on_an_executor_asks_for_a_task(env, monkeypatch):
    monkeypatch.setattr(SparkFiles, "_root_directory", None)
    with pytest.raises(RuntimeError, match="a running task"):
        SparkFiles.getRootDirectory()


def test_forgetting_an_application_drops_its_blocks_values_and_files_only(env):
    for app in ("app-1", "app-2"):
        ship_broadcast(env, f"{app}:0", app)
        assert Broadcast(bid=f"{app}:0").value == app
        env.blocks.put(RDDBlockId(app, 1, 0), b"rows", StorageLevel.MEMORY_ONLY)
        env.blocks.put_shuffle_output(ShuffleBlockId(app, 0, 0), [b"bucket"])
        os.makedirs(env.files_root(app))
    env.forget_application("app-1")
    assert not os.path.exists(env.files_root("app-1"))
    assert os.path.isdir(env.files_root("app-2"))
    assert env.blocks.remove_matching(RDDBlockId, "app-1") == []
    assert env.blocks.contains(RDDBlockId("app-2", 1, 0))
    assert env.blocks.contains(ShuffleBlockId("app-2", 0, 0))
    assert Broadcast(bid="app-2:0").value == "app-2"
    with pytest.raises(SparkException):
        _ = Broadcast(bid="app-1:0").value


def test_a_driver_never_loads_executor_code():
    code = ("import sys, sparkbook, sparkbook.broadcast, sparkbook.sparkfiles, "
            "sparkbook.driver.context; "
            "print(sorted(m for m in sys.modules if m.startswith('sparkbook.executor')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert out.stdout.strip() == "[]"


# --- ExecutorState ----------------------------------------------------------------------


class Interrupts:
    """Stands for raising TaskKilledError in the task thread: counts the calls."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@pytest.fixture
def interrupts() -> Interrupts:
    return Interrupts()


@pytest.fixture
def state(env, interrupts) -> ExecutorState:
    state = ExecutorState(env, interrupts)
    state.registered("3")
    return state


@pytest.fixture
def files_sandbox(monkeypatch):
    """Let a test make an application's files current without leaving them on sys.path
    or SparkFiles for the rest of the session."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sparkfiles, "_active_paths", list(sparkfiles._active_paths))
    monkeypatch.setattr(SparkFiles, "_root_directory", SparkFiles._root_directory)


def launch(state: ExecutorState, task_id: int, app: str = "app-1", stage: int = 0,
           binary: bytes | None = b"stage binary",
           shipments: list[tuple[str, str, bytes]] = ()) -> QueuedTask:
    """Deliver a LaunchTask as the socket side would: partition, binary, shipments."""
    desc = m.LaunchTask(app, task_id, stage, 0, task_id, 0, "result", (stage, 0),
                        binary is not None, [(k, n) for k, n, _ in shipments], {}, {})
    frames = [b"split", *([binary] if binary is not None else []),
              *(blob for _, _, blob in shipments)]
    return state.launch(desc, [zmq.Frame(f) for f in frames], b"driver-" + app.encode())


def finished(state: ExecutorState, task: QueuedTask, reason: m.TaskEndReason,
             **metrics: int) -> m.StatusUpdate:
    """The task thread's run of ``task`` ended with ``reason``; back on the socket side."""
    state.start_task(task.desc.task_id)
    state.finish_task(task.desc.task_id)
    update = m.StatusUpdate(task.desc.task_id, "", reason, TaskMetrics(**metrics))
    return state.task_finished(task.desc.app_id, update)


def test_a_stage_binary_is_kept_per_application_for_the_stage_s_later_tasks(state):
    first = launch(state, 1, "app-1")
    later = launch(state, 2, "app-1", binary=None)  # the driver sends it once
    other = launch(state, 3, "app-2", binary=None)  # same stage id, another application
    assert first.binary == later.binary == b"stage binary"
    assert other.binary is None
    assert (later.identity, later.split) == (b"driver-app-1", b"split")


def test_remove_binary_forgets_only_that_stage_attempt(state):
    launch(state, 1, "app-1", stage=0)
    launch(state, 2, "app-1", stage=1)
    state.remove_binary("app-1", (0, 0))
    assert launch(state, 3, "app-1", stage=0, binary=None).binary is None
    assert launch(state, 4, "app-1", stage=1, binary=None).binary == b"stage binary"


def test_shipped_broadcasts_are_stored_at_once_and_files_wait_for_the_task_thread(
        state, env, files_sandbox):
    launch(state, 1, "app-1", shipments=[("broadcast", "app-1:0", serializers.dumps(42)),
                                         ("file", "data.txt", b"hello"),
                                         ("pyfile", "lib.zip", b"PK")])
    assert Broadcast(bid="app-1:0").value == 42
    root = env.files_root("app-1")
    assert [name for _, name, _ in state.incoming_files["app-1"]] == ["data.txt", "lib.zip"]
    assert not os.path.exists(os.path.join(root, "data.txt"))  # not written by the socket side
    state.enter_application("app-1")  # the task thread, before the task
    with open(SparkFiles.get("data.txt")) as f:
        assert f.read() == "hello"
    assert SparkFiles.getRootDirectory() == root
    assert sys.path[1:3] == [os.path.join(root, "lib.zip"), root]
    assert not state.incoming_files["app-1"]
    assert state.python_includes["app-1"] == ["lib.zip"]


def test_incoming_files_are_queued_per_application(state):
    launch(state, 1, "app-1", shipments=[("file", "a.txt", b"a")])
    launch(state, 2, "app-2", shipments=[("file", "b.txt", b"b")])
    assert {app: [n for _, n, _ in q] for app, q in state.incoming_files.items()} == {
        "app-1": ["a.txt"], "app-2": ["b.txt"]}


def test_a_task_killed_while_queued_never_starts(state, interrupts):
    launch(state, 1)
    state.kill_task(1)
    assert interrupts.count == 0
    assert not state.start_task(1)
    assert not state.finish_task(1)  # no kill is on its way into the task thread
    assert state.killed == set() and state.queued == set()


def test_a_running_task_is_interrupted_and_its_kill_settled_when_it_ends(state, interrupts):
    launch(state, 1)
    assert state.start_task(1)
    state.kill_task(1)
    state.kill_task(1)  # the driver asked twice: one interrupt is enough
    assert interrupts.count == 1
    assert state.finish_task(1)  # a kill was sent: the task thread lets it fire harmlessly
    assert state.killed == set() and state.running is None


def test_a_kill_for_an_ended_or_unknown_task_is_ignored(state, interrupts):
    task = launch(state, 1)
    finished(state, task, m.Success())
    state.kill_task(1)
    state.kill_task(99)
    assert interrupts.count == 0 and state.killed == set()
    assert state.start_task(launch(state, 2).desc.task_id)  # the next task runs


def test_lost_peers_are_remembered_for_the_shuffle_client(state):
    assert not state.is_lost("7")
    state.executor_lost("7")
    assert state.is_lost("7") and not state.is_lost("8")


def test_task_counts_and_shuffle_bytes_feed_the_heartbeat(state, env):
    ok, killed, failed = launch(state, 1), launch(state, 2), launch(state, 3)
    assert state.metrics(12.5, 1000, 5.0).active_tasks == 3
    finished(state, ok, m.Success(), shuffle_read_bytes=10, shuffle_write_bytes=20)
    finished(state, killed, m.TaskKilled("killed by driver"))
    finished(state, failed, m.ExceptionFailure("ValueError", "bad", ""),
             shuffle_read_bytes=5)
    env.blocks.put(RDDBlockId("app-1", 0, 0), b"x" * 100, StorageLevel.MEMORY_ONLY)
    metrics = state.metrics(12.5, 1000, 5.0)
    assert (metrics.active_tasks, metrics.completed_tasks, metrics.failed_tasks) == (0, 1, 2)
    assert (metrics.shuffle_read_bytes, metrics.shuffle_write_bytes) == (15, 20)
    assert (metrics.cpu_percent, metrics.rss, metrics.timestamp) == (12.5, 1000, 5.0)
    assert (metrics.memory_used, metrics.memory_limit) == (100, 10_000)


def test_a_status_update_names_the_executor_and_its_application_s_dropped_blocks(state, env):
    for split, app in enumerate(["app-1", "app-2"] * 3):
        env.blocks.put(RDDBlockId(app, 5, split), b"x" * 4000, StorageLevel.MEMORY_ONLY)
    update = finished(state, launch(state, 1, "app-1"), m.Success())
    assert update.executor_id == "3"
    assert update.dropped_blocks == [(5, 0), (5, 2)]  # app-2's drops wait for app-2's driver


def test_remove_rdd_and_remove_shuffle_drop_only_their_blocks(state, env):
    blocks = env.blocks
    blocks.put(RDDBlockId("app-1", 1, 0), b"a", StorageLevel.MEMORY_ONLY)
    blocks.put(RDDBlockId("app-1", 2, 0), b"b", StorageLevel.MEMORY_ONLY)
    blocks.put_shuffle_output(ShuffleBlockId("app-1", 0, 0), [b"s0", b"s1"])
    blocks.put_shuffle_output(ShuffleBlockId("app-1", 1, 0), [b"t0", b"t1"])
    blocks.put_shuffle_output(ShuffleBlockId("app-2", 0, 0), [b"u0", b"u1"])
    state.remove_rdd("app-1", 1)
    state.remove_shuffle("app-1", 0)  # RemoveShuffle, as a ContextCleaner would send it
    assert not blocks.contains(RDDBlockId("app-1", 1, 0))
    assert blocks.contains(RDDBlockId("app-1", 2, 0))
    assert not blocks.contains(ShuffleBlockId("app-1", 0, 0))
    assert blocks.contains(ShuffleBlockId("app-1", 1, 0))
    assert blocks.contains(ShuffleBlockId("app-2", 0, 0))


def test_a_peer_s_fetch_is_served_or_names_the_first_missing_map_output(state, env):
    env.blocks.put_shuffle_output(ShuffleBlockId("app-1", 4, 0), [b"a0", b"a1"])
    env.blocks.put_shuffle_output(ShuffleBlockId("app-1", 4, 1), [b"b0", b"b1"])
    reply, frames = state.shuffle_blocks(m.FetchShuffleBlocks("app-1", 4, [0, 1], 1, 2))
    assert (reply.shuffle_id, reply.reduce_start, reply.missing, frames) == (4, 1, None,
                                                                         [b"a1", b"b1"])
    reply, frames = state.shuffle_blocks(m.FetchShuffleBlocks("app-1", 4, [0, 1], 0, 2))
    assert (reply.sizes, frames) == ([2, 2, 2, 2], [b"a0a1", b"b0b1"])  # one frame a map
    state.remove_shuffle("app-1", 4)
    reply, frames = state.shuffle_blocks(m.FetchShuffleBlocks("app-1", 4, [0, 1], 1, 2))
    assert (reply.missing, frames) == (0, [])


def test_remove_broadcast_drops_the_block_and_the_value(state, env):
    launch(state, 1, shipments=[("broadcast", "app-1:0", serializers.dumps("v"))])
    assert Broadcast(bid="app-1:0").value == "v"
    state.remove_broadcast("app-1:0")
    with pytest.raises(SparkException):
        _ = Broadcast(bid="app-1:0").value


def test_unknown_executor_resets_blocks_binaries_files_and_identity(state, env):
    launch(state, 1, shipments=[("broadcast", "app-1:0", serializers.dumps(1)),
                                ("file", "a.txt", b"a")])
    env.blocks.put(RDDBlockId("app-1", 0, 0), b"x", StorageLevel.MEMORY_AND_DISK)
    assert Broadcast(bid="app-1:0").value == 1
    state.python_includes["app-1"] = ["lib.zip"]
    state.reset()
    assert state.executor_id is None
    assert env.blocks.memory_used == env.blocks.disk_used == 0
    assert not env.blocks.contains(RDDBlockId("app-1", 0, 0))
    assert state.binaries == {} and state.incoming_files == {} and state.python_includes == {}
    with pytest.raises(SparkException):
        _ = Broadcast(bid="app-1:0").value
    assert launch(state, 2, binary=None).binary is None  # the stage binary went too


def test_application_removed_leaves_nothing_of_that_application(state, env, files_sandbox):
    for n, app in enumerate(["app-1", "app-2"]):
        launch(state, n, app, shipments=[("broadcast", f"{app}:0", serializers.dumps(app)),
                                         ("pyfile", "lib.zip", b"PK")])
        state.enter_application(app)
        launch(state, 10 + n, app, shipments=[("file", "late.txt", b"late")])
        env.blocks.put(RDDBlockId(app, 0, 0), b"x", StorageLevel.MEMORY_ONLY)
    state.application_removed("app-1")
    assert not os.path.exists(env.files_root("app-1"))
    assert "app-1" not in state.incoming_files and "app-1" not in state.python_includes
    assert [key[0] for key in state.binaries] == ["app-2"]
    assert not env.blocks.contains(RDDBlockId("app-1", 0, 0))
    assert env.blocks.contains(RDDBlockId("app-2", 0, 0))
    assert os.path.isdir(env.files_root("app-2"))
    assert Broadcast(bid="app-2:0").value == "app-2"
    with pytest.raises(SparkException):
        _ = Broadcast(bid="app-1:0").value
