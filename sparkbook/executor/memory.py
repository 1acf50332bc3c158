"""Handing an idle executor's freed memory back to the operating system.

Arrow's allocator and glibc's malloc keep the pages a finished task freed, for reuse; an
executor that sorted 5M rows stays hundreds of MB above its size between jobs, and every
executor of a local cluster does so at once. Once no task has come for
``IDLE_BEFORE_RELEASE`` seconds, or after a long task that grew the process by
``GROWTH_BEFORE_RELEASE``, the executor returns what is free: Arrow's pool first, then
glibc's heap (``malloc_trim``).
"""

from __future__ import annotations

import ctypes
import sys

try:
    _malloc_trim = ctypes.CDLL(None).malloc_trim  # glibc only
except (AttributeError, OSError):
    _malloc_trim = None


# Idle this long, an executor gives its free memory back (a job's tasks follow each other
# closer than that; the next query's, after its planning, often not).
IDLE_BEFORE_RELEASE = 0.2
# And after a task of LONG_TASK seconds or more that left the process this much above its
# size after the last release (a 5M-row sort; not a stream of map tasks reusing their
# pages): the next query may start sooner than IDLE_BEFORE_RELEASE. Reading the size
# costs 12 us, so short tasks are not measured.
GROWTH_BEFORE_RELEASE = 128 << 20
LONG_TASK = 0.02


def release_free_memory() -> None:
    """Return the allocators' free pages to the OS (a no-op where it cannot)."""
    pa = sys.modules.get("pyarrow")  # an executor that never ran a SQL task has no Arrow pool
    if pa is not None:
        pa.default_memory_pool().release_unused()
    if _malloc_trim is not None:
        _malloc_trim(0)
