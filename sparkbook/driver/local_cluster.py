"""The embedded cluster behind ``local[N]``: a private manager and N executor processes.

The manager is started with a pipe as its stdin and stops (with its executors) when that
pipe closes, which happens when this driver stops, exits, or is killed, even by SIGKILL;
so ``local[N]`` never leaves orphan processes behind.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile

from sparkbook import wire
from sparkbook.messages import HASH_SEED, MANAGER_READY


class LocalCluster:
    """Start a manager with ``executors`` one-core executors on loopback."""

    def __init__(self, executors: int, executor_memory: str, heartbeat_timeout: float,
                 timeout: float = 30.0) -> None:
        self.work_dir = tempfile.mkdtemp(prefix="sparkbook-local-")
        cluster_file = os.path.join(self.work_dir, "cluster.json")
        cmd = [sys.executable, "-m", "sparkbook", "manager", "--host", "127.0.0.1",
               "--port", "0", "--cluster-file", cluster_file, "--local-executors",
               str(executors), "--executor-memory", executor_memory, "--work-dir",
               self.work_dir, "--heartbeat-timeout", str(heartbeat_timeout), "--watch-stdin",
               "--remove-work-dir"]
        # Executors import what the driver can import (cloudpickle ships modules by name).
        path = [os.path.abspath(p or os.curdir) for p in sys.path]
        env = dict(os.environ, PYTHONHASHSEED=HASH_SEED, PYTHONPATH=os.pathsep.join(path))
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=env, start_new_session=True)
        line = self._read_ready_line(timeout)
        _, master_url, path = line.split()
        self.master_url = master_url
        self.cluster = wire.read_cluster_file(path)

    def _read_ready_line(self, timeout: float) -> str:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith(MANAGER_READY):
            self.stop()
            raise RuntimeError(f"the local cluster manager did not start in {timeout:.0f} s"
                               f" (exit code {self.proc.poll()})")
        return line

    @property
    def pids(self) -> dict:
        """The manager's pid and its executors' pids (for the architecture lesson)."""
        import psutil

        try:
            children = psutil.Process(self.proc.pid).children()
        except psutil.NoSuchProcess:
            children = []
        return {"manager": self.proc.pid, "executors": [c.pid for c in children]}

    def exit_reason(self) -> str | None:
        """How the manager process ended (its exit code), or None while it runs."""
        code = self.proc.poll()
        if code is None:
            return None
        how = ""
        if code < 0:
            try:
                how = f" (killed by {signal.Signals(-code).name})"
            except ValueError:
                how = f" (killed by signal {-code})"
        return f"the local cluster manager (pid {self.proc.pid}) exited with code {code}{how}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()  # the manager reads EOF and stops its executors
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        shutil.rmtree(self.work_dir, ignore_errors=True)
