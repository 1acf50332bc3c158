"""The cluster manager process: the Registry behind a signed ROUTER socket.

It is never on the data path: it only tracks who is alive and tells drivers. With
``local_executors`` it also starts executor processes on this machine and starts a new
one whenever one dies, as a Spark standalone Worker does; it notices such a death at once
(the process exits) instead of waiting for the heartbeat timeout.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time

import zmq

from sparkbook import messages as m
from sparkbook import wire
from sparkbook.manager.registry import Registry, Send

log = logging.getLogger("sparkbook.manager")

TICK = 0.1


class ExecutorLauncher:
    """Starts and restarts this machine's executor processes for the manager."""

    def __init__(self, count: int, master_url: str, cluster_file: str, memory: str,
                 work_dir: str) -> None:
        self.master_url = master_url
        self.cluster_file = cluster_file
        self.memory = memory
        self.work_dir = work_dir
        self.procs: list[subprocess.Popen] = []
        self._serial = 0
        for _ in range(count):
            self.launch()

    def launch(self) -> None:
        self._serial += 1
        local_dir = os.path.join(self.work_dir, f"executor-{self._serial}")
        env = dict(os.environ, PYTHONHASHSEED=m.HASH_SEED)
        cmd = [sys.executable, "-m", "sparkbook", "executor", "--manager", self.master_url,
               "--cluster-file", self.cluster_file, "--memory", self.memory,
               "--local-dir", local_dir, "--watch-stdin"]
        # stdin is a pipe we never write: when this manager dies, the executor reads EOF.
        # stdout goes where this manager's stderr goes: a driver reads our stdout only
        # for the ready line, and a chatty task must never fill an unread pipe.
        self.procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=sys.stderr,
                                           env=env))

    def reap(self) -> list[tuple[int, int]]:
        """(pid, returncode) of executors that exited since the last call; each is
        replaced. A returncode of -N means killed by signal N."""
        dead = [p for p in self.procs if p.poll() is not None]
        for proc in dead:
            self.procs.remove(proc)
            self.launch()
        return [(p.pid, p.returncode) for p in dead]

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 2.0
        for proc in self.procs:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class ManagerServer:
    """Serves the Registry over ZeroMQ until stopped."""

    def __init__(self, host: str, port: int, cluster_file: str | None,
                 heartbeat_timeout: float = 3.0, watch_stdin: bool = False,
                 remove_work_dir: str | None = None) -> None:
        self.zctx = zmq.Context.instance()
        sock = wire.make_socket(self.zctx, zmq.ROUTER)
        if port:
            sock.bind(f"tcp://{host}:{port}")
        else:
            port = sock.bind_to_random_port(f"tcp://{host}")
        self.cluster = _cluster_file_for(f"tcp://{host}:{port}", cluster_file)
        self.channel = wire.Channel(sock, self.cluster.key, "manager",
                                    local=self.cluster.address)
        self.registry = Registry(heartbeat_timeout, hash(m.HASH_PROBE), start_time=time.time())
        self.watch_stdin = watch_stdin
        # local[N]'s folder (its cluster secret, its executors' spill) goes when this
        # manager stops, even when the driver was killed and could not remove it.
        self.remove_work_dir = remove_work_dir
        self.launcher: ExecutorLauncher | None = None
        self._stopping = False
        self.dispatch = m.Dispatcher("manager", self.registry.handlers())

    def serve(self) -> None:
        poller = zmq.Poller()
        poller.register(self.channel.socket, zmq.POLLIN)
        if self.watch_stdin:
            poller.register(sys.stdin.fileno(), zmq.POLLIN)
        while not self._stopping:
            for sock, _ in poller.poll(TICK * 1000):
                if sock is self.channel.socket:
                    self._on_message()
                elif not os.read(sys.stdin.fileno(), 1024):
                    log.info("parent process went away; stopping")
                    self._stopping = True
            now = time.monotonic()
            self._deliver(self.registry.check_timeouts(now))
            if self.launcher is not None:
                for pid, code in self.launcher.reap():
                    self._deliver(self.registry.executor_process_exited(pid, code))
        self.stop()

    def stop(self) -> None:
        self._stopping = True
        if self.launcher is not None:
            self.launcher.stop()
            self.launcher = None
        self._deliver(self.registry.shutdown())
        if self.remove_work_dir:
            shutil.rmtree(self.remove_work_dir, ignore_errors=True)

    def _on_message(self) -> None:
        envelope = self.channel.recv()
        if envelope is not None:
            sends = self.dispatch(envelope.message, envelope.identity, time.monotonic())
            self._deliver(sends or [])

    def _deliver(self, sends: list[Send]) -> None:
        for send in sends:
            if isinstance(send.message, m.RegisteredExecutor):
                log.info("registered executor %s", send.message.executor_id)
            elif isinstance(send.message, m.RegisteredApplication):
                log.info("registered application %s", send.message.app_id)
            elif isinstance(send.message, m.ExecutorRemoved):
                log.info("executor %s removed: %s", send.message.executor_id,
                         send.message.reason)
            try:
                self.channel.send(send.message, to=send.to)
            except zmq.ZMQError as exc:
                log.info("could not deliver %s: %s", type(send.message).__name__, exc)


def _cluster_file_for(address: str, path: str | None) -> wire.ClusterFile:
    """Write the cluster file, keeping the secret of an earlier manager at this address."""
    target = path or wire.default_cluster_file("sparkbook://" + address[len("tcp://"):])
    key = None
    if os.path.exists(target):
        try:
            existing = wire.read_cluster_file(target)
            key = existing.key if existing.address == address else None
        except (ValueError, KeyError):
            key = None
    return wire.write_cluster_file(target, address, key)


def manager_main(host: str, port: int, cluster_file: str | None, heartbeat_timeout: float,
                 local_executors: int, executor_memory: str, work_dir: str | None,
                 watch_stdin: bool, remove_work_dir: bool = False) -> None:
    """Entry point of ``sparkbook manager`` and ``sparkbook local``."""
    logging.basicConfig(level=os.environ.get("SPARKBOOK_LOG_LEVEL", "WARNING"),
                        format="%(asctime)s manager %(levelname)s %(message)s")
    server = ManagerServer(host, port, cluster_file, heartbeat_timeout, watch_stdin,
                           work_dir if remove_work_dir else None)
    cluster = server.cluster
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: setattr(server, "_stopping", True))
    print(f"{m.MANAGER_READY} {cluster.master_url} {cluster.path}", flush=True)
    if local_executors:
        server.launcher = ExecutorLauncher(local_executors, cluster.master_url,
                                           str(cluster.path), executor_memory,
                                           work_dir or os.path.dirname(cluster.path))
    server.serve()
