"""The wire: every message is signed, and what fails its signature is dropped unread."""

from __future__ import annotations

import logging
import os
import pickle
import stat
import subprocess
import sys
import time

import pytest
import zmq

from sparkbook import messages as m
from sparkbook import wire

pytestmark = pytest.mark.sparkbook_only

KEY = b"a" * 64


class Exploit:
    """A pickle that, if ever unpickled, creates a file: proof the receiver ran it."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (open, (self.marker, "w"))


@pytest.fixture
def pair():
    """A ROUTER (server) and a DEALER (client) over loopback TCP."""
    ctx = zmq.Context()
    router = wire.make_socket(ctx, zmq.ROUTER)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer = wire.make_socket(ctx, zmq.DEALER)
    dealer.connect(f"tcp://127.0.0.1:{port}")
    yield router, dealer
    ctx.destroy(0)


def recv(channel: wire.Channel, timeout: float = 2.0):
    assert channel.socket.poll(int(timeout * 1000)), "nothing arrived"
    return channel.recv()


def test_a_signed_message_arrives_with_its_type_fields_and_frames(pair):
    router, dealer = pair
    server, client = wire.Channel(router, KEY), wire.Channel(dealer, KEY)
    client.send(m.KillTask(7), [b"payload", b"x" * 100_000])
    got = recv(server)
    assert got.message == m.KillTask(7)
    assert [f.bytes for f in got.frames] == [b"payload", b"x" * 100_000]
    server.send(m.RegisteredExecutor("3"), to=got.identity)
    assert recv(client).message == m.RegisteredExecutor("3")


@pytest.mark.parametrize("wire_type, body", [
    (b"NoSuchMessage", {}),
    (b"KillTask", {"task": 7}),  # a field it does not have
    (b"KillTask", {}),  # a field missing
    (b"KillTask", [7]),  # not fields at all
])
def test_a_signed_message_of_the_wrong_shape_is_dropped_and_counted(pair, caplog, wire_type,
                                                                   body):
    router, dealer = pair
    server, client = wire.Channel(router, KEY), wire.Channel(dealer, KEY)
    with caplog.at_level(logging.WARNING, logger="sparkbook.wire"):
        client._send_signed(wire_type, pickle.dumps(body))
        assert recv(server) is None
    assert server.dropped == 1 and "malformed" in caplog.text
    client.send(m.KillTask(8))  # the channel still works
    assert recv(server).message == m.KillTask(8)


def test_every_message_type_round_trips_through_its_fields():
    for cls in m.MESSAGE_TYPES.values():
        assert m.MESSAGE_TYPES[cls.wire_type] is cls and cls.wire_type == cls.__name__.encode()
    update = m.StatusUpdate(1, "0", m.FetchFailed("2", 3, 4, "gone"), sizes=[1, 2])
    assert m.decode(b"StatusUpdate", pickle.loads(pickle.dumps(update.encode()))) == update


def test_a_dispatcher_drops_and_counts_what_its_role_does_not_handle(caplog):
    seen = []
    dispatch = m.Dispatcher("executor", {m.KillTask: lambda msg, who: seen.append((msg, who))})
    dispatch(m.KillTask(1), b"driver")
    with caplog.at_level(logging.WARNING, logger="sparkbook.messages"):
        assert dispatch(m.Shutdown()) is None
    assert seen == [(m.KillTask(1), b"driver")] and dispatch.dropped == 1
    assert "Shutdown" in caplog.text


def test_a_message_signed_with_another_secret_is_dropped_logged_and_refused(pair, caplog):
    router, dealer = pair
    server, intruder = wire.Channel(router, KEY), wire.Channel(dealer, b"b" * 64, "manager")
    with caplog.at_level(logging.WARNING, logger="sparkbook.wire"):
        intruder.send(m.RegisteredExecutor("0"))
        assert recv(server) is None
    assert "bad signature" in caplog.text and server.dropped == 1
    # The sender learns at once that it holds the wrong secret instead of waiting forever.
    with pytest.raises(wire.AuthenticationError, match="different secret"):
        recv(intruder)


def test_an_unsigned_pickle_with_side_effects_is_never_unpickled(pair, tmp_path):
    router, dealer = pair
    server = wire.Channel(router, KEY)
    marker = tmp_path / "pwned"
    payload = pickle.dumps(Exploit(str(marker)))
    dealer.send_multipart([payload])
    assert recv(server) is None
    forged_header = wire.HEADER.pack(b"s" * 16, 1, time.time())
    dealer.send_multipart([wire.MAGIC + b"\0" * 32 + forged_header + b"Heartbeat", payload])
    assert recv(server) is None
    assert not marker.exists()
    assert server.dropped == 2


def test_a_mis_signed_pickle_with_side_effects_is_never_unpickled(pair, tmp_path):
    router, dealer = pair
    server, intruder = wire.Channel(router, KEY), wire.Channel(dealer, b"c" * 64)
    marker = tmp_path / "pwned"
    intruder.send(m.RegisterExecutorFailed(Exploit(str(marker))))
    assert recv(server) is None
    assert not marker.exists()


def test_a_replayed_message_is_dropped(pair):
    router, dealer = pair
    client = wire.Channel(dealer, KEY)
    client.send(m.KillExecutor("0"))
    assert router.poll(2000)
    captured = router.recv_multipart()[1:]  # what an eavesdropper saw on the wire
    server = wire.Channel(router, KEY)
    dealer.send_multipart(captured)
    assert recv(server).message == m.KillExecutor("0")
    dealer.send_multipart(captured)  # the same bytes again
    assert recv(server) is None
    assert server.dropped == 1


def test_a_stale_message_is_dropped_even_from_a_new_session():
    guard = wire.ReplayGuard(window=300)
    now = time.time()
    assert guard.accept(b"s1", 1, now, now)
    assert not guard.accept(b"s2", 1, now - 301, now)
    assert not guard.accept(b"s1", 1, now, now)
    assert guard.accept(b"s1", 2, now, now)


def test_the_cluster_file_is_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "clusters" / "c.json"
    written = wire.write_cluster_file(path, "tcp://127.0.0.1:7077")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    read = wire.read_cluster_file(path)
    assert read.key == written.key and len(read.key) == 64
    assert read.master_url == "sparkbook://127.0.0.1:7077"


def test_a_driver_with_the_wrong_secret_gets_a_clear_error_not_a_hang(tmp_path):
    cluster_file = tmp_path / "cluster.json"
    manager = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sparkbook",
            "manager",
            "--port",
            "0",
            "--cluster-file",
            str(cluster_file),
        ],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert manager.stdout.readline().startswith(b"SPARKBOOK_MANAGER_READY")
        real = wire.read_cluster_file(cluster_file)
        wrong = wire.write_cluster_file(tmp_path / "wrong.json", real.address, b"z" * 64)
        script = (
            "import sparkbook\n"
            "conf = sparkbook.SparkConf()"
            f".set('spark.sparkbook.clusterFile', {str(wrong.path)!r})\n"
            "try:\n"
            f"    sparkbook.SparkContext({real.master_url!r}, 'intruder', conf=conf)\n"
            "except Exception as exc:\n"
            "    print(type(exc).__name__, exc)\n"
        )
        started = time.monotonic()
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=30
        ).stdout
        assert time.monotonic() - started < 15
        assert out.startswith("AuthenticationError") and "different secret" in out
    finally:
        manager.terminate()
        manager.wait(10)


def test_a_flood_of_dropped_frames_writes_one_log_line_per_interval_and_counts_them_all():
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger = logging.getLogger("sparkbook.test-drops")
    logger.addHandler(Collect())
    clock = [0.0]
    drops = m.DropCounter("executor", logger, interval=10.0, clock=lambda: clock[0])
    for i in range(200_000):
        clock[0] = i * 1e-4  # 200k frames in 20 s
        drops.drop("bad signature" if i % 2 else "malformed", "from b'x'")
    assert drops.total == 200_000 and drops.by_reason["malformed"] == 100_000
    assert len(records) == 2  # at 0 s and at 10 s
    assert "more since the last line" in records[1] and "'bad signature': 50000" in records[1]


def test_a_handler_that_fails_on_a_bad_field_drops_the_message_and_the_role_goes_on(caplog):
    handled = []
    dispatch = m.Dispatcher("manager", {m.KillTask: lambda msg: handled.append(msg.task_id + 1)})
    with caplog.at_level(logging.WARNING, logger="sparkbook.messages"):
        dispatch(m.KillTask("not a number"))
    dispatch(m.KillTask(1))
    assert handled == [2] and dispatch.dropped == 1
    assert "its handler failed" in caplog.text and "TypeError" in caplog.text


def _router(ctx: zmq.Context) -> tuple[zmq.Socket, str]:
    sock = wire.make_socket(ctx, zmq.ROUTER)
    return sock, f"tcp://127.0.0.1:{sock.bind_to_random_port('tcp://127.0.0.1')}"


def _dealer(ctx: zmq.Context, address: str, identity: bytes) -> zmq.Socket:
    sock = wire.make_socket(ctx, zmq.DEALER, identity=identity)
    sock.connect(address)
    return sock


def test_a_frame_meant_for_one_executor_is_refused_by_another(caplog):
    """Replay protection is per receiver: the route, signed, names who a frame is for."""
    ctx = zmq.Context()
    try:
        (a_sock, a_addr), (b_sock, b_addr) = _router(ctx), _router(ctx)
        a, b = wire.Channel(a_sock, KEY, local=a_addr), wire.Channel(b_sock, KEY, local=b_addr)
        driver = wire.Channel(_dealer(ctx, a_addr, b"app-1"), KEY, peer=a_addr)
        driver.send(m.KillTask(1))
        assert a_sock.poll(2000)
        captured = a_sock.recv_multipart()[1:]  # what an eavesdropper saw going to A
        # Replayed to B under the same identity: B is not the receiver the route names.
        replayer = _dealer(ctx, b_addr, b"app-1")
        replayer.send_multipart(captured)
        with caplog.at_level(logging.WARNING, logger="sparkbook.wire"):
            assert recv(b) is None
        assert "addressed to another receiver" in caplog.text
        # A reply from A, replayed by B into the driver's connection to B: not B's frame.
        a.send(m.KillTask(2), to=b"app-1")
        assert recv(driver).message == m.KillTask(2)
        to_b = wire.Channel(replayer, KEY, peer=b_addr)  # the driver's connection to B
        to_b.send(m.KillTask(3))
        assert recv(b).message == m.KillTask(3)
        a.send(m.KillTask(4), to=b"app-1")
        assert driver.socket.poll(2000)
        reply = driver.socket.recv_multipart()
        b_sock.send_multipart([b"app-1", *reply])
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="sparkbook.wire"):
            assert recv(to_b) is None
        assert "sent by another peer" in caplog.text
    finally:
        ctx.destroy(0)


def test_a_channel_refuses_a_dealer_whose_identity_it_cannot_name():
    ctx = zmq.Context()
    try:
        with pytest.raises(ValueError, match="make_socket"):
            wire.Channel(ctx.socket(zmq.DEALER), KEY)
    finally:
        ctx.destroy(0)
