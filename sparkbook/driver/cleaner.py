"""ContextCleaner: what the driver's garbage collector frees, the cluster frees too.

As Spark's ``ContextCleaner``: when the driver no longer holds a shuffle's
ShuffleDependency (no RDD or stage reads it), a persisted RDD or a broadcast, the
shuffle's map stage and map outputs, the RDD's cached blocks, or the broadcast's copies
are removed, on the driver and on every executor. Each is watched by a
``weakref.finalize`` on its driver-side object, made where the driver makes the object
(``ShuffleDependency.__init__``, ``RDD.persist``, ``SparkContext.broadcast``); the copies
that cloudpickle rebuilds on executors are never constructed that way, so they never
register. A finalizer runs on whichever thread the collector happens to run, so it only
hands an event to the scheduler backend's queue (``post``, which never blocks); the
scheduling core does the work on the scheduler thread.

``spark.cleaner.referenceTracking=false`` turns it off, as in Spark.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

from sparkbook.driver import scheduler_events as ev


class ContextCleaner:
    """Turns the driver-side objects' deaths into scheduler events; see the module."""

    def __init__(self, post: Callable[[ev.Event], object]) -> None:
        self._post: Callable[[ev.Event], object] | None = post
        # Reentrant: the collector may run a finalizer inside another one's post.
        self._lock = threading.RLock()
        self._persisted: set[int] = set()  # persisted RDDs already watched
        self.cleaned: dict[str, int] = {"shuffle": 0, "rdd": 0, "broadcast": 0}

    def register_shuffle(self, dep: object, shuffle_id: int) -> None:
        """Clean the shuffle once its ShuffleDependency is garbage: no RDD and no stage
        that reads it is left (its own map stage holds it weakly)."""
        self._watch(dep, "shuffle", ev.ShuffleCleaned(shuffle_id))

    def register_rdd(self, rdd: object, rdd_id: int) -> None:
        """Drop the persisted RDD's cached blocks once it is garbage."""
        with self._lock:
            if rdd_id in self._persisted:
                return
            self._persisted.add(rdd_id)
        self._watch(rdd, "rdd", ev.RddUnpersisted(rdd_id),
                    lambda: self._persisted.discard(rdd_id))

    def register_broadcast(self, broadcast: object, bid: str,
                           forget: Callable[[str], None]) -> None:
        """Drop the broadcast on the executors, and ``forget(bid)`` on the driver, once
        the driver's ``Broadcast`` object is garbage."""
        self._watch(broadcast, "broadcast", ev.BroadcastRemoved(bid), lambda: forget(bid))

    def stop(self) -> None:
        """From now on finalizers do nothing: the backend they would post to is gone."""
        with self._lock:
            self._post = None

    def _watch(self, obj: object, kind: str, event: ev.Event,
               also: Callable[[], None] | None = None) -> None:
        # The finalizer must not hold obj; event and also hold ids only.
        finalizer = weakref.finalize(obj, self._cleaned, kind, event, also)
        finalizer.atexit = False  # at exit the whole application goes: nothing to clean

    def _cleaned(self, kind: str, event: ev.Event, also: Callable[[], None] | None) -> None:
        with self._lock:
            post = self._post
            if post is None:
                return
            if also is not None:
                also()
            self.cleaned[kind] += 1
            post(event)
