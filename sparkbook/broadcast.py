"""Broadcast variables: a read-only value shipped once to each executor.

On the driver a ``Broadcast`` holds the value and its pickled bytes. Pickling one (when a
stage's closures are shipped) leaves only its id behind and records that the stage uses
it; the driver then sends the bytes along with the first task that each executor runs
for that stage, unless the executor already has them. On the executor, ``value`` asks the
executor's ``SparkEnv``, which unpickles the bytes once and keeps the result for every
later task.
"""

from __future__ import annotations

import pickle
import threading
from typing import IO, Any

from sparkbook import serializers
from sparkbook.errors import SparkException

_collecting = threading.local()


class collecting_broadcasts:  # noqa: N801 - used as a context manager
    """Record the broadcasts pickled inside this block, by id. Whoever keeps the record
    keeps them alive: a stage must be able to send them until it ends, even when the
    closure that read one reached it through a global the user has since rebound."""

    def __enter__(self) -> dict[str, Broadcast]:
        _collecting.found = {}
        return _collecting.found

    def __exit__(self, *exc: object) -> None:
        _collecting.found = None


class Broadcast:
    """A read-only value available to every task as ``b.value``."""

    def __init__(self, sc=None, value: Any = None, bid: str | None = None) -> None:
        self._sc = sc
        self._bid = bid
        self._destroyed_at: str | None = None  # where destroy() was called
        self._loaded = sc is not None  # an executor's copy is loaded at its first use
        self._value = value
        if sc is not None:
            self._blob = serializers.dumps(value)

    @property
    def bid(self) -> str:
        return self._bid

    def _assert_valid(self) -> None:
        """Spark's check: a destroyed broadcast cannot be read, shipped or destroyed again."""
        if self._destroyed_at is not None:
            number = self._bid.rsplit(":", 1)[-1]  # Spark shows the number alone
            raise SparkException(f"[INTERNAL_ERROR_BROADCAST] Attempted to use "
                                 f"Broadcast({number}) after it was destroyed (destroy at "
                                 f"{self._destroyed_at})")

    @property
    def value(self) -> Any:
        self._assert_valid()
        if not self._loaded:
            self._value = _executor_value(self._bid)
            self._loaded = True
        return self._value

    def unpersist(self, blocking: bool = False) -> None:
        """Drop the executors' copies; the value is sent again if a later task uses it."""
        if self._sc is None:
            raise RuntimeError("Broadcast can only be unpersisted in driver")
        self._assert_valid()
        self._sc._unpersist_broadcast(self._bid, blocking)

    def destroy(self, blocking: bool = False) -> None:
        """Drop the value everywhere; using it afterwards is an error."""
        if self._sc is None:
            raise RuntimeError("Broadcast can only be destroyed in driver")
        self.unpersist(blocking)
        self._sc._destroy_broadcast(self._bid)
        self._destroyed_at = self._sc._callsite()
        self._value = self._blob = None

    def dump(self, value: Any, f: IO[bytes]) -> None:
        """Write ``value`` pickled to the open file ``f``, then close it (as PySpark does)."""
        try:
            pickle.dump(value, f, serializers.PROTOCOL)
        except pickle.PickleError:
            raise
        except Exception as exc:
            raise pickle.PicklingError(
                f"Could not serialize broadcast: {type(exc).__name__}: {exc}") from exc
        f.close()

    def load_from_path(self, path: str) -> Any:
        """Read a value that ``dump`` wrote to ``path``."""
        with open(path, "rb", 1 << 20) as f:
            return self.load(f)

    def load(self, file: IO[bytes]) -> Any:
        """Read a value that ``dump`` wrote from the open file ``file``."""
        return pickle.load(file)

    def __reduce__(self) -> tuple:
        self._assert_valid()
        found = getattr(_collecting, "found", None)
        if found is not None:
            found[self._bid] = self
        return (_broadcast_from_id, (self._bid,))

    def __repr__(self) -> str:
        return f"<Broadcast {self._bid}>"


def _broadcast_from_id(bid: str) -> Broadcast:
    return Broadcast(bid=bid)


def _executor_value(bid: str) -> Any:
    """A broadcast's value inside a task, from the executor's SparkEnv."""
    from sparkbook.executor.env import SparkEnv  # executor code, imported where it runs

    env = SparkEnv.get()
    if env is not None:
        try:
            return env.broadcast_value(bid)
        except KeyError:
            pass
    raise SparkException(f"Broadcast({bid}) is not available on this executor (it was "
                         "unpersisted or destroyed)")
