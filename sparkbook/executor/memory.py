"""Handing an idle executor's freed memory back to the operating system.

Arrow's allocator and glibc's malloc keep the pages a finished task freed, for reuse; an
executor that sorted 5M rows stays hundreds of MB above its size between jobs, and every
executor of a local cluster does so at once. So the executor returns what is free (Arrow's
pool first, then glibc's heap, ``malloc_trim``) when a task of at least ``LONG_TASK``
seconds ends with none queued, and once it has had no task for ``IDLE_BEFORE_RELEASE``
seconds. A release walks the heap (0.1-0.3 ms): paid after every short task, it would
slow a stream of small ones by a third.
"""

from __future__ import annotations

import ctypes
import sys

try:
    _malloc_trim = ctypes.CDLL(None).malloc_trim  # glibc only
except (AttributeError, OSError):
    _malloc_trim = None

LONG_TASK = 0.05  # s: a release costs such a task under 1 %
IDLE_BEFORE_RELEASE = 0.2  # s


def release_free_memory() -> None:
    """Return the allocators' free pages to the OS (a no-op where it cannot)."""
    pa = sys.modules.get("pyarrow")  # an executor that never ran a SQL task has no Arrow pool
    if pa is not None:
        pa.default_memory_pool().release_unused()
    if _malloc_trim is not None:
        _malloc_trim(0)
