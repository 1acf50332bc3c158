"""An executor registering again, against a stand-in manager socket in this process.

When a manager answers a heartbeat with ``UnknownExecutor``, the executor registers again
exactly once, asking for the id it had. A manager that merely forgot it (a restart) lets
it keep its blocks; one that had declared it lost, or gives it another id, makes it start
afresh. Nothing the executor sends while the manager is away is queued for later.
"""

from __future__ import annotations

import time

import pytest
import zmq

from sparkbook import messages as m
from sparkbook import wire
from sparkbook.executor.blockid import ShuffleBlockId
from sparkbook.executor.env import SparkEnv
from sparkbook.executor.executor import Executor

pytestmark = pytest.mark.sparkbook_only

KEY = b"k" * 32
BLOCK = ShuffleBlockId("app-1", 0, 0)


class FakeManager:
    """A signed ROUTER where the manager would be."""

    def __init__(self, port: int = 0) -> None:
        self.socket = wire.make_socket(zmq.Context.instance(), zmq.ROUTER)
        if port:
            self.socket.bind(f"tcp://127.0.0.1:{port}")
        else:
            port = self.socket.bind_to_random_port("tcp://127.0.0.1")
        self.port = port
        self.address = f"tcp://127.0.0.1:{port}"
        self.channel = wire.Channel(self.socket, KEY, "manager", local=self.address)

    def received(self, seconds: float = 0.3) -> list[wire.Envelope]:
        """What arrives in the next ``seconds``."""
        got = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.socket.poll(left * 1000):
                envelope = self.channel.recv()
                if envelope is not None:
                    got.append(envelope)
        return got

    def close(self) -> None:
        self.socket.close()


@pytest.fixture
def manager():
    fake = FakeManager()
    yield fake
    fake.close()


@pytest.fixture
def executor(manager, tmp_path):
    ex = Executor(manager.address, KEY, 1 << 30, str(tmp_path / "blocks"))
    yield ex
    SparkEnv.set(None)
    for sock in (ex.manager.socket, ex.router.socket, ex.results):
        sock.close()


def first_registration(ex: Executor, manager: FakeManager) -> wire.Envelope:
    """Drive the executor's registration as its loop does, until the manager has it."""
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        if ex._register_due is not None and time.monotonic() >= ex._register_due:
            ex._register()
        if manager.socket.poll(10):
            return manager.channel.recv()
    raise AssertionError("the executor never registered")


def answer(ex: Executor, manager: FakeManager, to: bytes, message: m.Message) -> None:
    manager.channel.send(message, to=to)
    assert ex.manager.socket.poll(2000)
    ex._on_manager()


def registered(ex: Executor, manager: FakeManager, executor_id: str) -> bytes:
    envelope = first_registration(ex, manager)
    answer(ex, manager, envelope.identity, m.RegisteredExecutor(executor_id))
    ex.blocks.put_shuffle_output(BLOCK, [b"bucket"])
    return envelope.identity


def registrations(manager: FakeManager) -> list[m.RegisterExecutor]:
    return [e.message for e in manager.received()
            if isinstance(e.message, m.RegisterExecutor)]


def test_an_executor_a_restarted_manager_forgot_keeps_its_id_and_blocks(executor, manager):
    identity = registered(executor, manager, "3")
    for _ in range(5):  # one answer per heartbeat that reached the new manager
        executor._unknown("3", declared_lost=False)
    [again] = registrations(manager)  # registers once, asking for its id back
    assert again.executor_id == "3"
    answer(executor, manager, identity, m.RegisteredExecutor("3"))
    assert executor.state.executor_id == "3"
    assert executor.blocks.get_shuffle_bucket(BLOCK, 0) == b"bucket"
    # Registered, a later UnknownExecutor (the manager restarted again) counts again.
    executor._unknown("3", declared_lost=False)
    assert len(registrations(manager)) == 1


def test_an_executor_declared_lost_starts_afresh_under_a_new_id(executor, manager):
    identity = registered(executor, manager, "3")
    executor._unknown("3", declared_lost=True)
    executor._unknown("3", declared_lost=True)
    [again] = registrations(manager)
    assert again.executor_id is None  # its drivers forgot it: it asks for no id
    assert executor.blocks.get_shuffle_bucket(BLOCK, 0) is None
    answer(executor, manager, identity, m.RegisteredExecutor("4"))
    assert executor.state.executor_id == "4"


def test_an_executor_whose_id_was_given_away_drops_its_blocks(executor, manager):
    identity = registered(executor, manager, "3")
    executor._unknown("3", declared_lost=False)
    assert [r.executor_id for r in registrations(manager)] == ["3"]
    answer(executor, manager, identity, m.RegisteredExecutor("5"))
    assert executor.state.executor_id == "5"
    assert executor.blocks.get_shuffle_bucket(BLOCK, 0) is None


def test_an_unknown_executor_about_another_id_is_ignored(executor, manager):
    registered(executor, manager, "3")
    executor._unknown("2", declared_lost=True)  # an answer about the id we had before
    assert registrations(manager) == []
    assert executor.blocks.get_shuffle_bucket(BLOCK, 0) == b"bucket"


def test_heartbeats_due_while_the_manager_is_away_are_dropped_not_queued(executor, manager):
    registered(executor, manager, "3")
    manager.received()
    port = manager.port
    manager.close()
    time.sleep(0.3)  # the executor's socket notices the connection is gone
    for _ in range(10):
        executor._heartbeat()  # no sidecar here: the socket thread heartbeats itself
    back = FakeManager(port)
    try:
        time.sleep(1.0)  # reconnected by now: anything queued would arrive
        assert back.received() == []
        executor._heartbeat()
        [beat] = back.received(1.0)
        assert beat.message.executor_id == "3"
    finally:
        back.close()
