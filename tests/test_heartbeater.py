"""The heartbeat sidecar's loop, run on a thread of the test against a stand-in manager.

It heartbeats for an executor process (here a ``sleep`` the test starts) with what the
executor published in the shared counters, stays silent while that process is stopped,
relays the manager's ``UnknownExecutor`` answers, flags memory far over the limit, and
ends when the executor's end of the socket pair closes.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import threading

import pytest
from test_executor_registration import KEY, FakeManager

from sparkbook import messages as m
from sparkbook.executor.heartbeater import SharedCounters, _serve, over_limit
from sparkbook.metrics import ExecutorMetrics

pytestmark = pytest.mark.sparkbook_only

INTERVAL = 0.05


def start_sidecar(executor: subprocess.Popen):
    manager = FakeManager()
    counters = SharedCounters()
    ours, theirs = socket.socketpair()
    thread = threading.Thread(target=_serve, args=(
        theirs, counters, b"Hsidecar", executor.pid, manager.address, manager.address, KEY,
        INTERVAL), daemon=True)
    thread.start()
    return manager, counters, ours, executor, thread


def stop_sidecar(manager, counters, ours, executor, thread) -> None:
    ours.close()
    thread.join(5)
    executor.kill()
    executor.wait()
    manager.close()


@pytest.fixture
def sidecar():
    """(manager, counters, the executor's end of the pair, the executor process, thread)."""
    parts = start_sidecar(subprocess.Popen(["sleep", "60"]))
    yield parts
    stop_sidecar(*parts)


def beats(manager: FakeManager, timeout: float = 0.5) -> list[m.Heartbeat]:
    return [e.message for e in manager.received(timeout) if isinstance(e.message, m.Heartbeat)]


def test_the_sidecar_heartbeats_what_the_executor_published(sidecar):
    manager, counters, _, executor, _ = sidecar
    assert beats(manager) == []  # not registered yet: nothing to say
    counters.write("3", ExecutorMetrics(memory_used=100, memory_limit=1 << 30, active_tasks=1,
                                        completed_tasks=7))
    got = beats(manager)
    assert len(got) >= 3 and {b.executor_id for b in got} == {"3"}
    last = got[-1].metrics
    assert (last.memory_used, last.active_tasks, last.completed_tasks) == (100, 1, 7)
    assert last.rss > 0 and last.timestamp > 0 and not last.over_memory_limit


def test_a_stopped_executor_gets_no_heartbeats_until_it_runs_again(sidecar):
    manager, counters, _, executor, _ = sidecar
    counters.write("3", ExecutorMetrics(memory_limit=1 << 30))
    assert beats(manager)
    executor.send_signal(signal.SIGSTOP)
    beats(manager, 0.2)  # one may have been on its way
    assert beats(manager) == []
    executor.send_signal(signal.SIGCONT)
    assert beats(manager)


def test_unknown_executor_answers_reach_the_executor(sidecar):
    manager, counters, ours, _, _ = sidecar
    counters.write("3", ExecutorMetrics(memory_limit=1 << 30))
    [first, *_] = manager.received()
    manager.channel.send(m.UnknownExecutor("3", declared_lost=False), to=first.identity)
    manager.channel.send(m.UnknownExecutor("3", declared_lost=True), to=first.identity)
    ours.settimeout(2.0)
    received = b""
    while received.count(b"\n") < 2:
        received += ours.recv(100)
    assert received == b"forgot 3\nlost 3\n"


def test_an_executor_far_over_its_memory_limit_is_flagged_and_logged_once(caplog):
    assert over_limit(256 << 20) == 384 << 20 and over_limit(1 << 20) == 129 << 20
    hog = subprocess.Popen([sys.executable, "-c", "import sys, time; b = b'x' * (300 << 20); "
                            "print(flush=True); time.sleep(60)"], stdout=subprocess.PIPE)
    hog.stdout.readline()  # its 300 MB are resident now
    parts = start_sidecar(hog)
    manager, counters = parts[:2]
    try:
        with caplog.at_level(logging.WARNING, "sparkbook.executor"):
            counters.write("3", ExecutorMetrics(memory_limit=64 << 20))  # limit: 64 MB
            got = beats(manager)
            counters.write("3", ExecutorMetrics(memory_limit=1 << 30))
            below = beats(manager)
    finally:
        stop_sidecar(*parts)
    assert got and all(b.metrics.over_memory_limit for b in got)
    assert got[-1].metrics.rss > 300 << 20
    assert below and not below[-1].metrics.over_memory_limit
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith("executor 3 uses ") and "far over its memory limit of 64 MB" in line


def test_the_sidecar_ends_when_its_executor_does(sidecar):
    _, _, ours, _, thread = sidecar
    ours.close()
    thread.join(2.0)
    assert not thread.is_alive()
