"""The cluster manager's Registry without sockets: messages in through the manager's own
dispatch table, ``Send`` instructions out."""

from __future__ import annotations

import pytest

from sparkbook import messages as m
from sparkbook.manager.registry import Registry, Send
from sparkbook.metrics import ExecutorMetrics

pytestmark = pytest.mark.sparkbook_only

PROBE = 1234  # the cluster's hash of HASH_PROBE
EXECUTOR, OTHER_EXECUTOR, DRIVER, OTHER_DRIVER = b"ex-a", b"ex-b", b"drv-a", b"drv-b"


class Manager:
    """A Registry fed as the server feeds it, with a clock the test moves."""

    def __init__(self) -> None:
        self.registry = Registry(heartbeat_timeout=3.0, hash_probe=PROBE, app_timeout=30.0,
                                 start_time=1700000000.0)
        self.dispatch = m.Dispatcher("manager", self.registry.handlers())
        self.now = 100.0

    def __call__(self, msg: m.Message, sender: bytes) -> list[Send]:
        return self.dispatch(msg, sender, self.now)

    def tick(self, seconds: float) -> list[Send]:
        self.now += seconds
        return self.registry.check_timeouts(self.now)

    def executor(self, identity: bytes = EXECUTOR, pid: int = 40, executor_id: str | None = None,
                 sidecar: bytes | None = None) -> str:
        sends = self(register_executor(pid=pid, executor_id=executor_id, sidecar=sidecar),
                     identity)
        assert isinstance(sends[0].message, m.RegisteredExecutor)
        return sends[0].message.executor_id

    def app(self, identity: bytes = DRIVER, name: str = "job", app_id: str | None = None) -> str:
        [send] = self(m.RegisterApplication(name, "ada", 7, app_id), identity)
        return send.message.app_id


@pytest.fixture
def manager() -> Manager:
    return Manager()


def register_executor(hash_probe: int = PROBE, pid: int = 40, executor_id: str | None = None,
                      sidecar: bytes | None = None) -> m.RegisterExecutor:
    return m.RegisterExecutor("tcp://127.0.0.1:5000", "127.0.0.1", 1, 1 << 20, pid, "box",
                              hash_probe, "3.11.7", executor_id, sidecar)


def sent(sends: list[Send]) -> list[tuple[bytes, type]]:
    return [(s.to, type(s.message)) for s in sends]


def test_an_executor_registers_and_every_application_is_told(manager):
    manager.app(DRIVER)
    manager.app(OTHER_DRIVER)
    sends = manager(register_executor(), EXECUTOR)
    assert sent(sends) == [(EXECUTOR, m.RegisteredExecutor), (DRIVER, m.ExecutorAdded),
                           (OTHER_DRIVER, m.ExecutorAdded)]
    info = sends[1].message.executor
    assert (info.executor_id, info.address, info.hostname, info.pid) == (
        "0", "tcp://127.0.0.1:5000", "box", 40)
    assert manager.executor(OTHER_EXECUTOR) == "1"  # ids count up


def test_an_executor_that_hashes_strings_differently_is_refused(manager):
    manager.app()
    [send] = manager(register_executor(hash_probe=PROBE + 1), EXECUTOR)
    assert send.to == EXECUTOR and isinstance(send.message, m.RegisterExecutorFailed)
    assert "PYTHONHASHSEED" in send.message.reason
    assert manager.registry.executors == {}  # and no driver hears of it


def test_without_a_probe_any_executor_is_accepted():
    registry = Registry(hash_probe=None)
    sends = registry.register_executor(register_executor(hash_probe=99), EXECUTOR, 0.0)
    assert sent(sends) == [(EXECUTOR, m.RegisteredExecutor)]


def test_an_application_is_granted_the_live_executors(manager):
    manager.executor(EXECUTOR)
    manager.executor(OTHER_EXECUTOR)
    [send] = manager(m.RegisterApplication("job", "ada", 7), DRIVER)
    assert send.to == DRIVER
    assert send.message.app_id == "app-1700000000-0000"
    assert [e.executor_id for e in send.message.executors] == ["0", "1"]
    assert manager.app(OTHER_DRIVER) == "app-1700000000-0001"


def test_heartbeats_are_relayed_to_every_application(manager):
    ex = manager.executor()
    manager.app(DRIVER)
    manager.app(OTHER_DRIVER)
    metrics = ExecutorMetrics(cpu_percent=50.0, active_tasks=2)
    sends = manager(m.Heartbeat(ex, metrics), EXECUTOR)
    assert sent(sends) == [(DRIVER, m.ExecutorMetricsUpdate),
                           (OTHER_DRIVER, m.ExecutorMetricsUpdate)]
    assert sends[0].message == m.ExecutorMetricsUpdate(ex, metrics)
    assert manager.registry.executors[ex].metrics == metrics


def test_a_heartbeat_from_an_unknown_or_impostor_executor_is_answered_unknown(manager):
    ex = manager.executor(EXECUTOR)
    for executor_id, sender in [("42", EXECUTOR), (ex, OTHER_EXECUTOR)]:
        assert manager(m.Heartbeat(executor_id, ExecutorMetrics()), sender) == [
            Send(sender, m.UnknownExecutor(executor_id, declared_lost=False))]
    assert manager.registry.executors[ex].identity == EXECUTOR  # the impostor changed nothing


def test_silent_executors_are_declared_lost_and_then_told_they_are_unknown(manager):
    quiet = manager.executor(EXECUTOR)
    chatty = manager.executor(OTHER_EXECUTOR)
    manager.app()
    assert manager.tick(2.0) == []
    manager(m.Heartbeat(chatty, ExecutorMetrics()), OTHER_EXECUTOR)
    sends = manager.tick(1.5)  # quiet: 3.5 s of silence; chatty: 1.5 s
    assert sent(sends) == [(DRIVER, m.ExecutorRemoved)]
    assert sends[0].message.executor_id == quiet
    assert "no heartbeat for 3.5 s" in sends[0].message.reason
    assert set(manager.registry.executors) == {chatty}
    assert quiet in manager.registry.lost
    # It was only slow: its next heartbeat makes it start afresh (and register again).
    assert manager(m.Heartbeat(quiet, ExecutorMetrics()), EXECUTOR) == [
        Send(EXECUTOR, m.UnknownExecutor(quiet, declared_lost=True))]
    # Which clears its blocks, and it may not have its old id back: drivers forgot it.
    assert manager.executor(EXECUTOR, executor_id=quiet) not in (quiet, chatty)


def test_an_exited_executor_process_is_lost_at_once(manager):
    ex = manager.executor(pid=40)
    manager.executor(OTHER_EXECUTOR, pid=41)
    manager.app()
    sends = manager.registry.executor_process_exited(40, 1)
    assert sends == [Send(DRIVER, m.ExecutorRemoved(
        ex, f"executor {ex} exited with code 1", exit_code=1, exit_caused_by_app=True))]
    assert manager.registry.executor_process_exited(40, 1) == []


def test_silent_applications_are_finished_and_executors_drop_their_state(manager):
    manager.executor(EXECUTOR)
    manager.executor(OTHER_EXECUTOR)
    quiet = manager.app(DRIVER)
    alive = manager.app(OTHER_DRIVER)
    for _ in range(16):  # executors keep heartbeating; only one driver does
        for identity, ex in [(EXECUTOR, "0"), (OTHER_EXECUTOR, "1")]:
            manager(m.Heartbeat(ex, ExecutorMetrics()), identity)
        assert manager(m.AppHeartbeat(alive), OTHER_DRIVER) == []
        sends = manager.tick(2.0)
        if sends:
            break
    assert sends == [Send(EXECUTOR, m.ApplicationRemoved(quiet)),
                     Send(OTHER_EXECUTOR, m.ApplicationRemoved(quiet))]
    assert set(manager.registry.apps) == {alive}
    assert manager(m.AppHeartbeat(quiet), DRIVER) == [
        Send(DRIVER, m.UnknownApplication(quiet))]


def test_an_application_heartbeat_from_another_driver_is_answered_unknown(manager):
    app = manager.app(DRIVER)
    assert manager(m.AppHeartbeat(app), OTHER_DRIVER) == [
        Send(OTHER_DRIVER, m.UnknownApplication(app))]


def test_an_application_that_unregisters_is_removed_from_every_executor(manager):
    manager.executor()
    app = manager.app()
    assert manager(m.UnregisterApplication(app), DRIVER) == [
        Send(EXECUTOR, m.ApplicationRemoved(app))]
    assert manager(m.UnregisterApplication(app), DRIVER) == []
    assert manager(register_executor(), OTHER_EXECUTOR)[1:] == []  # no driver to tell


def test_kill_executor_is_routed_to_that_executor_only(manager):
    manager.executor(EXECUTOR)
    target = manager.executor(OTHER_EXECUTOR)
    assert manager(m.KillExecutor(target), DRIVER) == [Send(OTHER_EXECUTOR, m.KillExecutor())]
    assert manager(m.KillExecutor("42"), DRIVER) == []


def test_cluster_status_lists_executors_applications_and_the_lost(manager):
    gone = manager.executor(EXECUTOR, pid=40)
    live = manager.executor(OTHER_EXECUTOR, pid=41)
    metrics = ExecutorMetrics(rss=1 << 20)
    manager(m.Heartbeat(live, metrics), OTHER_EXECUTOR)
    app = manager.app(DRIVER, name="wordcount")
    manager.registry.executor_process_exited(40, -9)
    [send] = manager(m.ClusterStatus(), OTHER_DRIVER)
    reply = send.message
    assert send.to == OTHER_DRIVER and isinstance(reply, m.ClusterStatusReply)
    assert [(e["executor_id"], e["pid"], e["metrics"]) for e in reply.executors] == [
        (live, 41, metrics)]
    assert reply.applications == [{"app_id": app, "name": "wordcount", "user": "ada",
                                   "pid": 7}]
    assert reply.lost == {gone: f"executor {gone} killed by signal 9 (SIGKILL)"}


def test_shutdown_tells_every_executor(manager):
    manager.executor(EXECUTOR)
    manager.executor(OTHER_EXECUTOR)
    assert manager.registry.shutdown() == [Send(EXECUTOR, m.Shutdown()),
                                           Send(OTHER_EXECUTOR, m.Shutdown())]


def test_a_message_the_manager_does_not_handle_is_dropped_and_counted(manager):
    assert manager(m.Shutdown(), DRIVER) is None
    assert manager.dispatch.dropped == 1


# --- heartbeats from a sidecar process ----------------------------------------------------

SIDECAR = b"hb-a"


def test_heartbeats_come_from_the_executors_sidecar_too(manager):
    ex = manager.executor(EXECUTOR, sidecar=SIDECAR)
    manager.app()
    for identity in (SIDECAR, EXECUTOR):
        manager.tick(2.0)
        assert sent(manager(m.Heartbeat(ex, ExecutorMetrics()), identity)) == [
            (DRIVER, m.ExecutorMetricsUpdate)]
    assert manager.tick(2.5) == [] and ex in manager.registry.executors
    # Another executor's sidecar cannot keep it alive.
    other = manager.executor(OTHER_EXECUTOR, pid=41, sidecar=b"hb-b")
    assert manager(m.Heartbeat(other, ExecutorMetrics()), SIDECAR) == [
        Send(SIDECAR, m.UnknownExecutor(other, declared_lost=False))]


# --- a restarted manager ------------------------------------------------------------------


def test_a_restarted_manager_gives_executors_back_their_ids():
    fresh = Manager()  # what a manager restarted on the same port starts with
    assert fresh(m.Heartbeat("3", ExecutorMetrics()), SIDECAR) == [
        Send(SIDECAR, m.UnknownExecutor("3", declared_lost=False))]  # keep your blocks
    assert fresh.executor(EXECUTOR, executor_id="3", sidecar=SIDECAR) == "3"
    assert fresh.executor(OTHER_EXECUTOR, pid=41, executor_id="1") == "1"
    # New executors' ids skip past the ones handed back.
    assert fresh.executor(b"ex-c", pid=42) == "4"
    # An id this registry gave away is not handed back twice.
    assert fresh.executor(b"ex-d", pid=43, executor_id="3") == "5"


def test_an_executor_that_registers_twice_is_registered_once(manager):
    manager.app()
    ex = manager.executor(EXECUTOR, executor_id="7")
    again = manager(register_executor(executor_id="7"), EXECUTOR)
    assert again == [Send(EXECUTOR, m.RegisteredExecutor(ex))]  # no second ExecutorAdded
    assert manager(register_executor(), EXECUTOR) == [Send(EXECUTOR, m.RegisteredExecutor(ex))]
    assert list(manager.registry.executors) == [ex]


def test_a_restarted_manager_gives_applications_back_their_ids():
    fresh = Manager()
    assert fresh.app(DRIVER, app_id="app-1600000000-0003") == "app-1600000000-0003"
    assert fresh.app(OTHER_DRIVER, app_id="app-1700000000-0002") == "app-1700000000-0002"
    assert fresh.app(b"drv-c") == "app-1700000000-0003"  # past the one it handed back
    assert fresh.app(b"drv-d", app_id="app-1600000000-0003") == "app-1700000000-0004"
    assert fresh(m.AppHeartbeat("app-1600000000-0003"), DRIVER) == []
    # A registration sent again gets the same answer.
    [send] = fresh(m.RegisterApplication("job", "ada", 7, "app-1600000000-0003"), DRIVER)
    assert send.message.app_id == "app-1600000000-0003" and len(fresh.registry.apps) == 4


# --- why an executor went -----------------------------------------------------------------


def test_an_executor_that_exits_by_itself_was_lost_to_the_application(manager):
    ex = manager.executor(pid=40)
    manager.app()
    [send] = manager.registry.executor_process_exited(40, -11)
    assert send.message == m.ExecutorRemoved(ex, f"executor {ex} killed by signal 11 (SIGSEGV)",
                                             exit_signal=11, exit_caused_by_app=True)


def test_an_executor_a_driver_had_killed_was_not_lost_to_the_application(manager):
    ex = manager.executor(pid=40)
    manager.app()
    manager(m.KillExecutor(ex), DRIVER)
    [send] = manager.registry.executor_process_exited(40, -9)
    assert send.message.exit_signal == 9 and not send.message.exit_caused_by_app
    assert send.message.reason == f"executor {ex} killed by signal 9 (SIGKILL), as a driver asked"


def test_a_heartbeat_timeout_is_not_blamed_on_the_application(manager):
    ex = manager.executor()
    manager.app()
    [send] = manager.tick(3.5)
    assert send.message.executor_id == ex
    assert (send.message.exit_code, send.message.exit_signal) == (None, None)
    assert not send.message.exit_caused_by_app


def test_an_executor_killed_far_over_its_memory_limit_names_memory_as_the_cause(manager):
    ex = manager.executor(pid=40)
    manager.app()
    manager(m.Heartbeat(ex, ExecutorMetrics(rss=900 << 20, memory_limit=256 << 20,
                                            over_memory_limit=True)), EXECUTOR)
    [send] = manager.registry.executor_process_exited(40, -9)
    assert send.message.exit_caused_by_app
    assert send.message.reason.startswith(f"executor {ex} killed by signal 9 (SIGKILL); it was "
                                          "using 900 MB, far over its memory limit of 256 MB")
    assert "exceeding memory limits" in send.message.reason
