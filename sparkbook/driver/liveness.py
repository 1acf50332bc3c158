"""ManagerLiveness: is the cluster manager still there? (the driver's side; no sockets)

A registered driver hears from its manager at least twice a second while executors
heartbeat (their ``ExecutorMetricsUpdate`` relays). When it has heard nothing for
``probe_after`` seconds, it asks (``ClusterStatus``, once a second, which every manager
answers); after ``timeout`` seconds of silence the manager counts as silent, and as back
at its next message. What silence means is the backend's to decide: a standalone
manager's executors keep serving without it, as Spark's do when a standalone Master dies.
"""

from __future__ import annotations

PROBE_AFTER = 2.0  # seconds of silence before the driver asks
PROBE_EVERY = 1.0


class ManagerLiveness:
    """See the module docstring; the caller gives the time (``time.monotonic``)."""

    def __init__(self, timeout: float, now: float, probe_after: float = PROBE_AFTER,
                 probe_every: float = PROBE_EVERY) -> None:
        self.timeout = timeout
        self.probe_after = probe_after
        self.probe_every = probe_every
        self.last_heard = now
        self.silent = False
        self._next_probe = now + probe_after

    def heard(self, now: float) -> bool:
        """A message from the manager arrived; True if it had counted as silent."""
        self.last_heard = now
        self._next_probe = now + self.probe_after
        was_silent, self.silent = self.silent, False
        return was_silent

    def should_probe(self, now: float) -> bool:
        """Whether to ask the manager now (it has been quiet, and was not asked lately)."""
        if now < self._next_probe:
            return False
        self._next_probe = now + self.probe_every
        return True

    def went_silent(self, now: float) -> bool:
        """True once, when the silence first exceeds ``timeout``."""
        if self.silent or now - self.last_heard <= self.timeout:
            return False
        self.silent = True
        return True
