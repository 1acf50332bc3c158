"""Approximate answers: ``BoundedFloat`` and the HyperLogLog sketch of ``countApproxDistinct``.

A HyperLogLog sketch keeps, for each of ``m = 2**p`` registers, the longest run of
leading zero bits seen among the hashes routed to it; the registers of a partition are a
few hundred bytes, and two sketches merge by taking the larger register. The estimate
from the registers is Ertl's "improved raw estimator" (2017), which needs neither the
bias tables of HyperLogLog++ nor a switch to linear counting for small cardinalities.
Spark's sketch is HyperLogLog++ over a different hash, so the two engines give different
estimates, each within the requested relative standard deviation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["BoundedFloat", "HyperLogLog"]

_MASK64 = (1 << 64) - 1


class BoundedFloat(float):
    """A float with the confidence and the [low, high] bounds of an approximate result."""

    confidence: float
    low: float
    high: float

    def __new__(cls, mean: float, confidence: float, low: float, high: float) -> BoundedFloat:
        value = super().__new__(cls, mean)
        value.confidence = confidence
        value.low = low
        value.high = high
        return value


def _mix64(x: int) -> int:
    """splitmix64's finalizer: spreads a 32-bit hash over 64 well-mixed bits."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def precision_for(relative_sd: float) -> int:
    """Register-index bits for a relative standard deviation (Spark's rule: 1.04/sqrt(m))."""
    p = math.ceil(2.0 * math.log(1.054 / relative_sd) / math.log(2))
    if p < 4:
        raise ValueError(f"requirement failed: p ({p}) must be >= 4")
    return p


class HyperLogLog:
    """Registers of a HyperLogLog sketch over 32-bit hashes."""

    def __init__(self, p: int) -> None:
        self.p = p
        self.registers = bytearray(1 << p)

    def add_all(self, hashes: Iterable[int]) -> HyperLogLog:
        q = 64 - self.p
        low_bits = (1 << q) - 1
        registers = self.registers
        for h in hashes:
            x = _mix64(h)
            index, rest = x >> q, x & low_bits
            rank = q - rest.bit_length() + 1  # leading zeros of the q low bits, plus one
            if rank > registers[index]:
                registers[index] = rank
        return self

    def merge(self, other: HyperLogLog) -> HyperLogLog:
        self.registers = bytearray(map(max, self.registers, other.registers))
        return self

    def cardinality(self) -> int:
        m, q = len(self.registers), 64 - self.p
        counts = [0] * (q + 2)
        for r in self.registers:
            counts[r] += 1
        z = m * _tau(1.0 - counts[q + 1] / m)
        for k in range(q, 0, -1):
            z = 0.5 * (z + counts[k])
        z += m * _sigma(counts[0] / m)
        return round(m * m / (2.0 * math.log(2) * z))


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        previous = z
        z += x * y
        y += y
        if z == previous:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y, z = 1.0, 1.0 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        z -= (1.0 - x) ** 2 * y
        if z == previous:
            return z / 3.0
