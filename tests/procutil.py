"""Helpers for tests that start real sparkbook processes and watch them come and go.

Every cluster in these tests lives in processes the test starts itself: only one
SparkContext may be active per Python process, and the test session's own ``sc`` belongs
to conftest. So a test runs the driver as a small script in a child interpreter, or runs
the ``sparkbook`` command, and reads what they print. Nothing here mocks anything: the
helpers start processes, read pipes, send signals and ask psutil what is still alive.

* ``Child`` wraps a ``subprocess.Popen`` whose output is read by threads, so a test can
  wait for one line with a deadline and still show everything printed when it fails.
* ``Reaper`` remembers each process a test started (and, at the end, their descendants)
  and kills whatever is left, so a failing test never leaves a cluster behind.
* ``driver_script`` writes a driver program with a tiny ``report(tag, **fields)``
  protocol: the driver prints ``@@ tag {json}`` lines that ``Child.report`` parses.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]
READY = "SPARKBOOK_MANAGER_READY"
REPORT = "@@ "


def child_env(extra: Mapping[str, str] | None = None, drop: Iterable[str] = ()) -> dict[str, str]:
    """This process's environment, with sparkbook importable and unbuffered output.

    Variables that would point a child at some other cluster are removed, so each test
    says explicitly which manager and which cluster file its processes use.
    """
    env = dict(os.environ)
    for name in ("SPARK_MASTER", "SPARKBOOK_CLUSTER_FILE", *drop):
        env.pop(name, None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def sparkbook_cmd(*args: str) -> list[str]:
    """The ``sparkbook`` command, run by this interpreter (``python -m sparkbook``)."""
    return [sys.executable, "-m", "sparkbook", *args]


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def sigint_default() -> Iterator[None]:
    """Children started inside get SIGINT's default action, even if ours is to ignore it.

    A shell starts background jobs with SIGINT ignored, and an ignored signal stays
    ignored across fork and exec; a handled one is reset to the default. So while a
    child is started, this (main) thread handles SIGINT the way Python normally does.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Child:
    """A child process whose stdout and stderr are drained by threads."""

    def __init__(
        self,
        cmd: list[str],
        env: Mapping[str, str],
        cwd: str | Path | None = None,
        new_session: bool = True,
    ) -> None:
        self.cmd = cmd
        self.popen = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            text=True,
            bufsize=1,
            start_new_session=new_session,
        )
        self.stdout_lines: list[str] = []
        self.stderr_lines: list[str] = []
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(
                target=self._drain, args=(self.popen.stdout, self.stdout_lines, True), daemon=True
            ),
            threading.Thread(
                target=self._drain, args=(self.popen.stderr, self.stderr_lines, False), daemon=True
            ),
        ]
        for t in self._threads:
            t.start()

    def _drain(self, stream: IO[str], sink: list[str], forward: bool) -> None:
        for line in stream:
            sink.append(line)
            if forward:
                self._lines.put(line)
        if forward:
            self._lines.put(None)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def stdout(self) -> str:
        return "".join(self.stdout_lines)

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)

    def describe(self) -> str:
        """Everything the child printed so far, for assertion messages."""
        return (
            f"command: {' '.join(self.cmd)}\nexit code: {self.popen.poll()}\n"
            f"--- stdout ---\n{self.stdout}--- stderr ---\n{self.stderr}"
        )

    def expect(self, prefix: str, timeout: float) -> str:
        """The next stdout line starting with ``prefix``; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self._lines.get(timeout=max(0.0, left))
            except queue.Empty:
                raise AssertionError(
                    f"no line starting with {prefix!r} within {timeout} s\n" + self.describe()
                ) from None
            if line is None:
                self._lines.put(None)  # keep signalling EOF to later calls
                self.wait_quietly(2.0)
                raise AssertionError(
                    f"the child ended its output before printing a line "
                    f"starting with {prefix!r}\n" + self.describe()
                )
            if line.startswith(prefix):
                return line.rstrip("\n")

    def report(self, tag: str, timeout: float) -> dict:
        """The fields of the driver script's next ``report(tag, ...)``."""
        line = self.expect(f"{REPORT}{tag} ", timeout)
        return json.loads(line[len(REPORT) + len(tag) + 1 :])

    def send_line(self, text: str) -> None:
        """Write one line to the child's stdin (the driver scripts wait on these)."""
        assert self.popen.stdin is not None
        self.popen.stdin.write(text + "\n")
        self.popen.stdin.flush()

    def wait(self, timeout: float) -> int:
        """The exit code; fails (showing the output) if the child runs past ``timeout``."""
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running after {timeout} s\n" + self.describe()) from None
        for t in self._threads:
            t.join(2.0)
        return code

    def wait_quietly(self, timeout: float) -> int | None:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


def is_alive(proc: psutil.Process) -> bool:
    """Running and not a zombie: a zombie has exited and only awaits its parent's wait()."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def processes(pids: Iterable[int]) -> list[psutil.Process]:
    """psutil handles for pids, taken now: a handle notices if its pid is later reused."""
    return [psutil.Process(pid) for pid in pids]


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def survivors(procs: Iterable[psutil.Process], timeout: float) -> list[psutil.Process]:
    """The processes still alive once all have exited or ``timeout`` seconds passed."""
    procs = list(procs)
    wait_until(lambda: not any(is_alive(p) for p in procs), timeout)
    return [p for p in procs if is_alive(p)]


def describe_processes(procs: Iterable[psutil.Process]) -> str:
    lines = []
    for p in procs:
        try:
            lines.append(f"pid {p.pid}: {' '.join(p.cmdline())}")
        except psutil.Error:
            lines.append(f"pid {p.pid}: (gone)")
    return "\n".join(lines)


def executor_children(parent_pid: int) -> list[psutil.Process]:
    """The live ``sparkbook executor`` processes directly below ``parent_pid``."""
    try:
        children = psutil.Process(parent_pid).children()
    except psutil.NoSuchProcess:
        return []
    found = []
    for c in children:
        try:
            if "executor" in c.cmdline() and is_alive(c):
                found.append(c)
        except psutil.Error:
            pass
    return found


class Reaper:
    """Kills, at the end of a test, every process it was told about and their descendants."""

    def __init__(self) -> None:
        self._procs: list[psutil.Process] = []

    def track(self, *pids: int) -> None:
        for pid in pids:
            try:
                self._procs.append(psutil.Process(pid))
            except psutil.NoSuchProcess:
                pass

    def child(
        self,
        cmd: list[str],
        env: Mapping[str, str],
        cwd: str | Path | None = None,
        new_session: bool = True,
    ) -> Child:
        """Start a ``Child`` and track it."""
        child = Child(cmd, env, cwd, new_session)
        self.track(child.pid)
        return child

    def cleanup(self) -> None:
        family: dict[int, psutil.Process] = {}
        for p in self._procs:
            if not is_alive(p):
                continue
            family[p.pid] = p
            try:
                for d in p.children(recursive=True):
                    family.setdefault(d.pid, d)
            except psutil.NoSuchProcess:
                pass
        for p in family.values():
            try:
                p.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(list(family.values()), timeout=5)


def driver_script(directory: Path, body: str, name: str = "driver.py") -> Path:
    """Write a driver program: ``body`` after a prelude with ``report`` and ``until``."""
    prelude = textwrap.dedent("""\
        import json, os, sys, time
        from sparkbook import SparkConf, SparkContext

        def report(tag, **fields):
            print("@@ " + tag + " " + json.dumps(fields), flush=True)

        def until(predicate, timeout=15.0):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    if predicate():
                        return True
                except RuntimeError:  # a dict the scheduler thread was changing
                    pass
                time.sleep(0.05)
            return False

        """)
    path = directory / name
    path.write_text(prelude + textwrap.dedent(body))
    return path


def python_cmd(script: Path, *args: str) -> list[str]:
    return [sys.executable, str(script), *args]


@dataclass
class Manager:
    child: Child
    url: str
    port: int
    cluster_file: Path


def start_manager(reaper: Reaper, cluster_file: Path, *args: str,
                  timeout: float = 20.0) -> Manager:
    """``sparkbook manager --port 0``: wait for its ready line and read the URL from it."""
    child = reaper.child(sparkbook_cmd("manager", "--port", "0", "--cluster-file",
                                       str(cluster_file), *args), child_env())
    line = child.expect(READY, timeout)
    _, url, path = line.split()
    assert path == str(cluster_file)
    return Manager(child, url, int(url.rsplit(":", 1)[1]), cluster_file)
