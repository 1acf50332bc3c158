"""StatCounter: count, mean, variance, min and max of numbers in one pass (``RDD.stats()``).

Each partition folds its numbers into a StatCounter with Welford's update; the driver
merges the partitions' counters in partition order with the pairwise formula of Chan et
al. These are PySpark's formulas, applied in PySpark's order, so the results agree with
PySpark's to the last digit. Like PySpark, numpy's ``maximum``/``minimum``/``sqrt`` are
used when numpy is installed (RDDs of numpy arrays get element-wise statistics); without
numpy the same float results come from plain Python.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from typing import Any


def _maximum_py(a: Any, b: Any) -> float:
    return math.nan if a != a or b != b else float(max(a, b))


def _minimum_py(a: Any, b: Any) -> float:
    return math.nan if a != a or b != b else float(min(a, b))


def _sqrt_py(x: float) -> float:
    return math.sqrt(x) if x >= 0 else math.nan


# Until first used, each of these loads the real ones (_load_ops) and calls it.
def _maximum(a: Any, b: Any) -> Any:
    _load_ops()
    return _maximum(a, b)


def _minimum(a: Any, b: Any) -> Any:
    _load_ops()
    return _minimum(a, b)


def _sqrt(x: Any) -> Any:
    _load_ops()
    return _sqrt(x)


def _load_ops() -> None:
    """numpy's maximum, minimum and sqrt when numpy is installed, else the same floats
    from plain Python (NaN wins, ints become floats). Loaded on first use, so that every
    executor does not pay numpy's import at start."""
    global _maximum, _minimum, _sqrt
    try:
        from numpy import maximum, minimum, sqrt
    except ImportError:
        maximum, minimum, sqrt = _maximum_py, _minimum_py, _sqrt_py
    _maximum, _minimum, _sqrt = maximum, minimum, sqrt


__all__ = ["StatCounter"]


class StatCounter:
    """Running statistics of numbers, the fields and methods of ``pyspark.StatCounter``."""

    def __init__(self, values: Iterable | None = None) -> None:
        self.n = 0  # how many values
        self.mu = 0.0  # their running mean
        self.m2 = 0.0  # the running sum of squared distances from the mean
        self.maxValue: Any = float("-inf")
        self.minValue: Any = float("inf")
        for v in values or ():
            self.merge(v)

    def merge(self, value: Any) -> StatCounter:
        """Add one value (Welford's update)."""
        delta = value - self.mu
        self.n += 1
        self.mu += delta / self.n
        self.m2 += delta * (value - self.mu)
        self.maxValue = _maximum(self.maxValue, value)
        self.minValue = _minimum(self.minValue, value)
        return self

    def mergeStats(self, other: StatCounter) -> StatCounter:
        """Add the values another counter has seen."""
        if not isinstance(other, StatCounter):
            raise TypeError(f"Can only merge StatCounter but got {type(other)}")
        if other is self:
            return self.mergeStats(other.copy())
        if self.n == 0:
            self.n, self.mu, self.m2 = other.n, other.mu, other.m2
            self.maxValue, self.minValue = other.maxValue, other.minValue
        elif other.n != 0:
            n, m = self.n, other.n
            delta = other.mu - self.mu
            # Lean on the larger side's mean, which is the more precise of the two.
            if m * 10 < n:
                self.mu = self.mu + (delta * m) / (n + m)
            elif n * 10 < m:
                self.mu = other.mu - (delta * n) / (n + m)
            else:
                self.mu = (self.mu * n + other.mu * m) / (n + m)
            self.maxValue = _maximum(self.maxValue, other.maxValue)
            self.minValue = _minimum(self.minValue, other.minValue)
            self.m2 += other.m2 + (delta * delta * n * m) / (n + m)
            self.n = n + m
        return self

    def copy(self) -> StatCounter:
        return copy.deepcopy(self)

    def count(self) -> int:
        return int(self.n)

    def mean(self) -> float:
        return self.mu

    def sum(self) -> float:
        return self.n * self.mu

    def min(self) -> Any:
        return self.minValue

    def max(self) -> Any:
        return self.maxValue

    def variance(self) -> float:
        """The population variance (divided by n); NaN when empty."""
        return self.m2 / self.n if self.n else float("nan")

    def sampleVariance(self) -> float:
        """The sample variance (divided by n - 1); NaN for fewer than two values."""
        return self.m2 / (self.n - 1) if self.n > 1 else float("nan")

    def stdev(self) -> float:
        return _sqrt(self.variance())

    def sampleStdev(self) -> float:
        return _sqrt(self.sampleVariance())

    def asDict(self, sample: bool = False) -> dict[str, Any]:
        """The fields as a dict. As in PySpark, ``sample=False`` (the default) gives the
        *sample* stdev and variance and ``sample=True`` the population ones."""
        return {
            "count": self.count(),
            "mean": self.mean(),
            "sum": self.sum(),
            "min": self.min(),
            "max": self.max(),
            "stdev": self.stdev() if sample else self.sampleStdev(),
            "variance": self.variance() if sample else self.sampleVariance(),
        }

    def __repr__(self) -> str:
        return (f"(count: {self.count()}, mean: {self.mean()}, stdev: {self.stdev()}, "
                f"max: {self.max()}, min: {self.min()})")
