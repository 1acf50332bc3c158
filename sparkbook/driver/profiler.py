"""ProfilerCollector: the Python profiles of tasks, merged per RDD (``spark.python.profile``).

With profiling on, each task runs under cProfile on its executor, and its statistics come
back with the task's accumulator updates, keyed by the id of the RDD its stage computes;
here they add up, one ``pstats.Stats`` per RDD, for ``sc.show_profiles()`` and
``sc.dump_profiles(path)``.
"""

from __future__ import annotations

import os
import pstats
import sys
import threading

INCORRECT_CONF_FOR_PROFILE = (
    "[INCORRECT_CONF_FOR_PROFILE] `spark.python.profile` or `spark.python.profile.memory` "
    "configuration must be set to `true` to enable Python profile.")


class _RawStats:
    """A profile's statistics dict in the shape ``pstats.Stats`` loads from."""

    def __init__(self, stats: dict) -> None:
        self.stats = stats

    def create_stats(self) -> None:
        pass


class ProfilerCollector:
    """Profiles by RDD id; each is printed once by ``show``, as PySpark does."""

    def __init__(self) -> None:
        self._stats: dict[int, pstats.Stats] = {}
        self._shown: set[int] = set()
        self._lock = threading.Lock()  # tasks report on the scheduler thread

    def add(self, rdd_id: int, stats: dict) -> None:
        with self._lock:
            if rdd_id in self._stats:
                self._stats[rdd_id].add(_RawStats(stats))
            else:
                self._stats[rdd_id] = pstats.Stats(_RawStats(stats))

    def show(self) -> None:
        """Print the profiles not printed yet, slowest functions first."""
        with self._lock:
            fresh = sorted((i, s) for i, s in self._stats.items() if i not in self._shown)
            self._shown.update(i for i, _ in fresh)
        for rdd_id, stats in fresh:
            print("=" * 60)
            print(f"Profile of RDD<id={rdd_id}>")
            print("=" * 60)
            stats.stream = sys.stdout
            stats.sort_stats("time", "cumulative").print_stats()

    def dump(self, path: str) -> None:
        """Write each profile to ``path/rdd_<id>.pstats`` (readable with ``pstats.Stats``)."""
        os.makedirs(path, exist_ok=True)
        with self._lock:
            for rdd_id, stats in self._stats.items():
                stats.dump_stats(os.path.join(path, f"rdd_{rdd_id}.pstats"))
