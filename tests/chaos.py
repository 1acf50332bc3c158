"""Chaos: SIGKILL executors at random, seeded moments of a running job.

A ``ChaosMonkey`` is a synchronous listener: it counts the task starts and ends the
scheduler reports and, when the count reaches one of its triggers, SIGKILLs an executor
picked at random among those registered then. Triggers and picks come from
``random.Random(seed)``, so a seed names one schedule of kills (the same event counts and
the same pick among the executors, sorted by id), which a failing run can be re-run with.

In a test, the ``chaos`` fixture (this module is a pytest plugin, loaded by conftest)::

    def test_counts_survive(sc, chaos):
        with chaos(sc, seed=7, kills=2, horizon=40) as monkey:
            assert sc.parallelize(range(1000), 8).map(slow).sum() == 499500
        assert len(monkey.kills) == 2

In a notebook (the fault-tolerance lesson), with ``tests/`` on ``sys.path``::

    import sys; sys.path.insert(0, "../tests")
    from chaos import ChaosMonkey
    monkey = ChaosMonkey(sc, seed=1, kills=1, horizon=20)
    sc.addSparkListener(monkey, synchronous=True)
    words.reduceByKey(add).collect()      # right, though an executor died under it
    sc.removeSparkListener(monkey); monkey.kills

``os.kill`` is used rather than ``sc.cluster.kill_executor``: a synchronous listener runs
on the scheduler's thread, which ``kill_executor`` would wait on. Local clusters only
(``local[N]`` or a standalone cluster whose executors run on this machine).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from sparkbook import SparkListener


@dataclass(frozen=True)
class Kill:
    """One kill: after how many task events, which executor (and pid), when (monotonic)."""

    event: int
    executor_id: str
    pid: int
    at: float


class ChaosMonkey(SparkListener):
    """SIGKILLs ``kills`` executors, each at a random task-event count in [1, horizon]."""

    def __init__(self, sc, seed: int, kills: int = 1, horizon: int = 20) -> None:
        self.sc = sc
        self.rng = random.Random(seed)
        # Distinct counts, so that two kills never fall on one event.
        self.triggers = sorted(self.rng.sample(range(1, horizon + 1), min(kills, horizon)))
        self.events = 0
        self.kills: list[Kill] = []

    def on_task_start(self, event) -> None:
        self._tick()

    def on_task_end(self, event) -> None:
        self._tick()

    def _tick(self) -> None:
        self.events += 1
        if not self.triggers or self.events < self.triggers[0]:
            return
        self.triggers.pop(0)
        pids = self.sc.cluster.executor_pids()
        if not pids:
            return  # every executor is gone already: nothing to kill at this event
        victim = self.rng.choice(sorted(pids))
        with contextlib.suppress(ProcessLookupError):
            os.kill(pids[victim], signal.SIGKILL)
        self.kills.append(Kill(self.events, victim, pids[victim], time.monotonic()))


@contextlib.contextmanager
def chaos_monkey(sc, seed: int, kills: int = 1, horizon: int = 20) -> Iterator[ChaosMonkey]:
    """A ChaosMonkey listening on ``sc`` for the block's duration."""
    monkey = ChaosMonkey(sc, seed, kills, horizon)
    sc.addSparkListener(monkey, synchronous=True)
    try:
        yield monkey
    finally:
        sc.removeSparkListener(monkey)


@pytest.fixture
def chaos() -> Callable[..., contextlib.AbstractContextManager[ChaosMonkey]]:
    """``chaos(sc, seed, kills=1, horizon=20)``: a context manager that kills executors."""
    return chaos_monkey
