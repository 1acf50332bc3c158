"""The executor without sockets: its SparkEnv (broadcast values, SparkFiles folders) and
the ExecutorState that every message becomes a call to."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sparkbook import serializers
from sparkbook.broadcast import Broadcast
from sparkbook.errors import SparkException
from sparkbook.executor.blockid import BroadcastBlockId, RDDBlockId, ShuffleBlockId
from sparkbook.executor.blockmanager import BlockManager
from sparkbook.executor.env import SparkEnv
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
