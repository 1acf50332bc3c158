"""The wire fuzzer (tests/wirefuzz.py) against every role's sockets, loopback only.

* The manager's and an executor's ROUTERs, in real processes: seeded hostile frames,
  interleaved with probes each must answer within 5 s (nothing hangs); then neither has
  crashed, their logs stay a few lines long however many frames came, and a job runs right.
  The reliability run (200k frames) also waits out the log's rate limit and checks that
  the log lines account for every frame the role dropped.
* The driver's sockets are DEALERs connected to executors and the manager, so nothing
  outside can reach them without posing as one of those ROUTERs. They are fuzzed
  in-process: a ROUTER in the manager's place sends the frames to a driver-side
  ``wire.Channel`` and the driver's dispatch table, which must count every drop exactly
  (and so must a ROUTER-side channel, the manager's and executors' kind).
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
import zmq
from procutil import Reaper, child_env, driver_script, python_cmd, sparkbook_cmd, start_manager
from test_hostile_frames import COUNT, cluster_status
from wirefuzz import KINDS, Fuzzer, drops_logged

from sparkbook import messages as m
from sparkbook import wire

pytestmark = pytest.mark.sparkbook_only

def fuzz_pair(zctx: zmq.Context, seed: int, frames: int, router_receives: bool) -> dict:
    """``frames`` fuzzed messages between an in-process ROUTER and DEALER; the receiving
    end's drops (its channel's and its dispatch table's) and what it should have dropped."""
    key = os.urandom(32)
    router = wire.make_socket(zctx, zmq.ROUTER)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    address = f"tcp://127.0.0.1:{port}"
    dealer = wire.make_socket(zctx, zmq.DEALER)
    dealer.connect(address)
    identity = dealer.getsockopt(zmq.IDENTITY)
    channels = {True: wire.Channel(router, key, "manager", local=address),
                False: wire.Channel(dealer, key, "driver (from the manager)", peer=address)}
    receiver = channels[router_receives]
    dispatch = m.Dispatcher("driver (from the manager)", {m.ClusterStatusReply: lambda _: "ok",
                                                           m.ClusterStatus: lambda _: "ok"})
    rng = random.Random(seed)
    if router_receives:  # the DEALER plays a hostile executor
        fuzzer = Fuzzer(rng, key, identity, address.encode(), m.ShuffleBlocks(0, 0))
    else:  # the ROUTER plays a hostile manager, writing to the driver's identity
        fuzzer = Fuzzer(rng, key, address.encode(), identity, m.ShuffleBlocks(0, 0))
        channels[False].send(m.ClusterStatus())  # hello: now the ROUTER knows the identity
        assert router.poll(5000) and channels[True].recv() is not None
    expected = sent = 0
    while sent < frames:
        batch, drops = fuzzer.batch()
        expected += drops
        for parts in batch:
            (dealer.send_multipart(parts) if router_receives
             else router.send_multipart([identity, *parts]))
            sent += 1
            assert receiver.socket.poll(5000), "the receiving end stopped hearing frames"
            envelope = receiver.recv()
            if envelope is not None:
                dispatch(envelope.message)
    # A good message still gets through afterwards.
    if router_receives:
        channels[False].send(m.ClusterStatus())
    else:
        channels[True].send(m.ClusterStatusReply([], [], {}), to=identity)
    assert receiver.socket.poll(5000)
    good = receiver.recv()
    assert good is not None and dispatch(good.message) == "ok"
    router.close()
    dealer.close()
    return {"dropped": receiver.dropped + dispatch.dropped, "expected": expected,
            "by_reason": dict(receiver.drops.by_reason), "kinds": fuzzer.sent}


@pytest.mark.parametrize("router_receives", [False, True], ids=["driver-dealer", "router"])
def test_every_fuzzed_frame_is_dropped_and_counted_once(zctx, router_receives):
    got = fuzz_pair(zctx, seed=9, frames=600, router_receives=router_receives)
    assert got["dropped"] == got["expected"], got
    assert all(got["kinds"][k] for k in KINDS if k != "oversized"), got
    reasons = set(got["by_reason"])
    assert {"bad signature", "not a sparkbook message", "malformed", "replayed or stale message",
            "addressed to another receiver", "sent by another peer"} <= reasons, got


def probe_manager(channel: wire.Channel) -> None:
    channel.send(m.ClusterStatus())
    assert channel.socket.poll(5000), "the manager hangs"
    assert isinstance(channel.recv().message, m.ClusterStatusReply)


def probe_executor(channel: wire.Channel) -> None:
    channel.send(m.FetchShuffleBlocks("no-app", 0, [0], 0, 1))
    assert channel.socket.poll(5000), "the executor hangs"
    assert isinstance(channel.recv().message, m.ShuffleBlocks)


def fuzz_cluster(reaper: Reaper, tmp_path: Path, zctx: zmq.Context, frames: int,
                 seed: int, account: bool) -> dict:
    """Fuzz a real manager and executor with ``frames`` messages each, then run a job."""
    manager_proc = start_manager(reaper, tmp_path / "cluster.json")
    executor_proc = reaper.child(sparkbook_cmd(
        "executor", "--manager", manager_proc.url, "--memory", "128m",
        "--cluster-file", str(manager_proc.cluster_file)), child_env())
    cluster = wire.read_cluster_file(manager_proc.cluster_file)
    targets = {}
    for role, address in (("manager", cluster.address), ("executor", None)):
        if address is None:
            deadline = time.monotonic() + 20
            while not (status := cluster_status(targets["manager"][0])).executors:
                assert time.monotonic() < deadline, "no executor registered"
                time.sleep(0.1)
            address = status.executors[0]["address"]
        probe = wire.make_socket(zctx, zmq.DEALER)
        probe.connect(address)
        hostile = zctx.socket(zmq.DEALER)
        hostile.setsockopt(zmq.LINGER, 0)
        hostile.setsockopt(zmq.SNDHWM, 1000)  # back-pressure: the role sets the pace
        hostile.setsockopt(zmq.IDENTITY, b"F" + os.urandom(15))
        hostile.connect(address)
        fuzzer = Fuzzer(random.Random(f"{seed}-{role}"), cluster.key,
                        hostile.getsockopt(zmq.IDENTITY), address.encode(),
                        m.ShuffleBlocks(0, 0))
        targets[role] = (wire.Channel(probe, cluster.key, role, peer=address), hostile,
                         fuzzer, [0, 0])  # messages sent, drops they must cost
    started = time.monotonic()
    while any(t[3][0] < frames for t in targets.values()):
        for role, (channel, hostile, fuzzer, counts) in targets.items():
            for _ in range(100):
                batch, drops = fuzzer.batch()
                for parts in batch:
                    hostile.send_multipart(parts)
                counts[0] += len(batch)
                counts[1] += drops
            (probe_manager if role == "manager" else probe_executor)(channel)
    seconds = time.monotonic() - started
    probe_manager(targets["manager"][0])
    probe_executor(targets["executor"][0])
    if account:
        # DropCounter logs a burst's first drop, then one line per 10 s with the rest:
        # wait that out and drop one more frame at the channel (mis-signed) and one at the
        # dispatch table (unhandled) of each, so that their last lines name every drop.
        time.sleep(10.5)
        for _, hostile, fuzzer, counts in targets.values():
            hostile.send_multipart(fuzzer.good(key=os.urandom(32)))
            hostile.send_multipart(fuzzer.good())
            counts[1] += 2
        probe_manager(targets["manager"][0])
        probe_executor(targets["executor"][0])
        time.sleep(0.5)
    driver = reaper.child(python_cmd(driver_script(tmp_path, COUNT), manager_proc.url),
                          child_env({"SPARKBOOK_CLUSTER_FILE": str(cluster.path)}))
    assert driver.report("counted", 30)["n"] == 2 * sum(range(1000))
    assert driver.wait(20) == 0, driver.describe()
    procs = {"manager": manager_proc.child, "executor": executor_proc}
    for proc in procs.values():
        assert proc.popen.poll() is None, proc.describe()
    result = {"seconds": round(seconds, 1)}
    for role, (channel, hostile, fuzzer, counts) in targets.items():
        stderr = procs[role].stderr
        result[role] = {"sent": counts[0], "must_drop": counts[1], "logged": drops_logged(stderr),
                        "log_bytes": len(stderr.encode()), "kinds": fuzzer.sent}
        channel.socket.close()
        hostile.close()
    return result


def test_a_few_hundred_fuzzed_frames_leave_the_manager_and_an_executor_serving(
        reaper: Reaper, tmp_path: Path, zctx: zmq.Context) -> None:
    got = fuzz_cluster(reaper, tmp_path, zctx, frames=300, seed=1, account=False)
    for role in ("manager", "executor"):
        # The first drop of each reason is logged at once; the rest wait for the next line.
        assert 1 <= got[role]["logged"] <= len(KINDS) * 2, got
        assert got[role]["log_bytes"] < 20_000, got


@pytest.mark.reliability
@pytest.mark.timeout(1800)
def test_reliability_200k_fuzzed_frames_each_dropped_and_accounted_for(
        reaper: Reaper, tmp_path: Path, zctx: zmq.Context) -> None:
    frames = int(os.environ.get("SPARKBOOK_FUZZ_FRAMES", "100000"))  # per role: 200k in all
    got = fuzz_cluster(reaper, tmp_path, zctx, frames=frames, seed=2, account=True)
    print("\nfuzzer:", got)
    for role in ("manager", "executor"):
        assert got[role]["logged"] == got[role]["must_drop"], got
        assert got[role]["log_bytes"] < 200_000, got
