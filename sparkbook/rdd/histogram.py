"""Histogram buckets for ``RDD.histogram``, with PySpark's edge rules and errors.

Buckets ``[b0, b1, ..., bn]`` are half open, ``[b(i), b(i+1))``, except the last, which
also holds its upper edge. Evenly spaced buckets find an element's bucket by arithmetic
(``int((x - min) / step)``), others by bisection; None, NaN and elements outside the
edges are not counted.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["bucket_counts", "even_buckets", "explicit_buckets", "is_comparable"]


def is_comparable(x: Any) -> bool:
    """Elements that count towards the range of evenly spaced buckets: not None, not NaN."""
    return x is not None and not (type(x) is float and math.isnan(x))


def _missing(x: Any) -> bool:
    # As PySpark: float subclasses (numpy's) count as floats here, unlike in is_comparable.
    return x is None or isinstance(x, float) and math.isnan(x)


def even_buckets(lo: Any, hi: Any, count: int) -> tuple[list, Any]:
    """``count`` equal buckets from ``lo`` to ``hi`` and their width; integer edges when the
    width is a whole number."""
    try:
        step = (hi - lo) / count
    except TypeError:
        raise TypeError("Can not generate buckets with non-number in RDD") from None
    if math.isinf(step):
        raise ValueError("Can not generate buckets with infinite value")
    if int(step) * count == hi - lo:
        step = int(step)
    else:
        step = (hi - lo) * 1.0 / count
    edges = [i * step + lo for i in range(count)]
    edges.append(hi)  # exactly hi, whatever rounding the steps accumulated
    return edges, step


def explicit_buckets(buckets: Sequence) -> Any:
    """Check user-given edges; their common width when evenly spaced, else None."""
    if len(buckets) < 2:
        raise ValueError("buckets should have more than one value")
    if any(_missing(b) for b in buckets):
        raise ValueError("can not have None or NaN in buckets")
    if sorted(buckets) != list(buckets):
        raise ValueError("buckets should be sorted")
    if len(set(buckets)) != len(buckets):
        raise ValueError("buckets should not contain duplicated values")
    try:
        steps = [b - a for a, b in zip(buckets, buckets[1:])]
    except TypeError:  # edges without subtraction (strings): bisection it is
        return None
    if max(steps) - min(steps) < 1e-10:  # equal up to rounding
        return (buckets[-1] - buckets[0]) / (len(buckets) - 1)
    return None


def bucket_counts(buckets: Sequence, step: Any, values: Iterable) -> list[int]:
    """How many of ``values`` fall in each bucket (``step`` None: not evenly spaced)."""
    lo, hi = buckets[0], buckets[-1]
    counts = [0] * len(buckets)
    for x in values:
        if _missing(x) or x > hi or x < lo:
            continue
        i = int((x - lo) / step) if step is not None else bisect.bisect_right(buckets, x) - 1
        counts[i] += 1
    last = counts.pop()  # the upper edge belongs to the last bucket
    counts[-1] += last
    return counts
