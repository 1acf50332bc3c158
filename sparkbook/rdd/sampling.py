"""Per-partition random samplers, drawing exactly the random numbers PySpark draws.

Every sampler gives partition ``split`` its own generator, ``random.Random(seed ^ split)``
warmed up by ten draws (neighbouring partitions' seeds differ in a bit or two; the draws
decorrelate them), then draws one number per element in the partition's order. Used by
``sample``, ``randomSplit``, ``sampleByKey`` and ``takeSample``: with the same seed they
pick the same elements as PySpark does.
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Hashable, Iterable, Iterator

__all__ = ["BernoulliSampler", "RangeSampler", "StratifiedSampler", "fraction_for_sample_size"]


def _random_seed() -> int:
    return random.randint(0, sys.maxsize)


def partition_random(seed: int, split: int) -> random.Random:
    """The generator of one partition (PySpark's ``initRandomGenerator``)."""
    rng = random.Random(seed ^ split)
    for _ in range(10):
        rng.randint(0, 1)
    return rng


def poisson(rng: random.Random, mean: float) -> int:
    """How many copies of an element a sample with replacement keeps (Knuth's method)."""
    k = 0
    if mean < 20.0:
        limit, p = math.exp(-mean), rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
    else:  # in the log domain, where exp(-mean) would underflow
        p = rng.expovariate(mean)
        while p < 1.0:
            k += 1
            p += rng.expovariate(mean)
    return k


def _keep(rng: random.Random, with_replacement: bool, fraction: float) -> int:
    """Copies of the next element to keep: 0/1 by a uniform draw, or a Poisson count."""
    if with_replacement:
        return poisson(rng, fraction)
    return 1 if rng.random() < fraction else 0


class BernoulliSampler:
    """``sample``: each element kept with probability ``fraction`` (or Poisson copies)."""

    def __init__(self, with_replacement: bool, fraction: float, seed: int | None) -> None:
        self.with_replacement = with_replacement
        self.fraction = fraction
        self.seed = seed if seed is not None else _random_seed()

    def func(self, split: int, it: Iterable) -> Iterator:
        rng = partition_random(self.seed, split)
        if not self.with_replacement:
            fraction, uniform = self.fraction, rng.random
            return (x for x in it if uniform() < fraction)
        return (x for x in it for _ in range(poisson(rng, self.fraction)))


class RangeSampler:
    """One split of ``randomSplit``: the elements whose draw falls in [lower, upper).

    All splits share the seed, so each element draws the same number in every split and
    lands in exactly one of them.
    """

    def __init__(self, lower: float, upper: float, seed: int) -> None:
        self.lower = lower
        self.upper = upper
        self.seed = seed

    def func(self, split: int, it: Iterable) -> Iterator:
        uniform = partition_random(self.seed, split).random
        lower, upper = self.lower, self.upper
        return (x for x in it if lower <= uniform() < upper)


class StratifiedSampler:
    """``sampleByKey``: each (key, value) kept with its key's fraction."""

    def __init__(self, with_replacement: bool, fractions: dict[Hashable, float],
                 seed: int | None) -> None:
        self.with_replacement = with_replacement
        self.fractions = fractions
        self.seed = seed if seed is not None else _random_seed()

    def func(self, split: int, it: Iterable[tuple]) -> Iterator[tuple]:
        rng = partition_random(self.seed, split)
        for k, v in it:
            for _ in range(_keep(rng, self.with_replacement, self.fractions[k])):
                yield k, v


def fraction_for_sample_size(num: int, total: int, with_replacement: bool) -> float:
    """A sampling fraction that yields at least ``num`` of ``total`` elements 99.99% of
    the time (``takeSample``'s oversampling, PySpark's bounds)."""
    fraction = float(num) / total
    if with_replacement:
        # Poisson tail: 5 standard deviations suffice from 12 elements on, 9 below.
        num_stdev = 5 if num >= 12 else 9
        return fraction + num_stdev * math.sqrt(fraction / total)
    delta = 0.00005  # binomial tail bound for a 1 - delta success rate
    gamma = -math.log(delta) / total
    return min(1, fraction + gamma + math.sqrt(gamma * gamma + 2 * gamma * fraction))
