"""Packed sort keys (sparkbook.sql.execution.sortkeys) against pyarrow's multi-key sort, the
oracle: random integer, date, timestamp and boolean keys with NULLs, in every direction and
NULL placement; and the keys that cannot be packed fall back to pyarrow."""

from __future__ import annotations

import datetime
import itertools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.execution import sortkeys
from sparkbook.sql.types import LongType

pytestmark = pytest.mark.sparkbook_only


def orders(directions: list[tuple[bool, bool]]) -> list[e.SortOrder]:
    return [e.SortOrder(e.AttributeReference(f"c{i}", LongType()), ascending, nulls_first)
            for i, (ascending, nulls_first) in enumerate(directions)]


def with_nulls(rng: np.random.Generator, values: list, share: float = 0.2) -> list:
    return [None if rng.random() < share else v for v in values]


def keys_table(rng: np.random.Generator, n: int) -> pa.Table:
    day = datetime.date(2020, 1, 1)
    return pa.table({
        "0": pa.array(with_nulls(rng, rng.integers(-5, 5, n).tolist()), pa.int64()),
        "1": pa.array(with_nulls(rng, [day + datetime.timedelta(int(d))
                                       for d in rng.integers(0, 4, n)]), pa.date32()),
        "2": pa.array(with_nulls(rng, rng.integers(0, 2, n).astype(bool).tolist())),
        "3": pa.array(with_nulls(rng, rng.integers(0, 3, n).tolist()), pa.int8()),
        "4": pa.array(with_nulls(rng, rng.integers(0, 10**6, n).tolist()),
                      pa.timestamp("us")),
    })


@pytest.mark.parametrize("seed", range(4))
def test_packed_keys_sort_as_pyarrow_sorts_in_every_direction(seed):
    rng = np.random.default_rng(seed)
    keys = keys_table(rng, 500)
    for directions in itertools.islice(itertools.product(
            itertools.product((True, False), repeat=2), repeat=5), seed, None, 97):
        order = orders(list(directions))
        expected = pc.sort_indices(keys, sort_keys=sortkeys.arrow_sort_keys(order))
        assert np.array_equal(np.asarray(sortkeys.sort_indices(keys, order)),
                              expected.to_numpy()), directions


def test_packed_rows_fall_among_bounds_as_a_sort_of_both_places_them():
    rng = np.random.default_rng(7)
    keys = keys_table(rng, 400).select(["0", "3"]).rename_columns(["0", "1"])
    order = orders([(True, True), (False, False)])
    ordered = keys.take(pc.sort_indices(keys, sort_keys=sortkeys.arrow_sort_keys(order)))
    bounds = ordered.take(pa.array([50, 120, 121, 300]))
    packed_bounds, packed_rows = sortkeys.pack([bounds, keys], order)
    assert np.all(np.diff(packed_bounds) >= 0)
    placed = np.searchsorted(packed_bounds, packed_rows, side="right")
    both = pa.concat_tables([bounds, keys])
    together = pc.sort_indices(both, sort_keys=sortkeys.arrow_sort_keys(order)).to_numpy()
    before = np.cumsum(together < 4)
    expected = np.empty(keys.num_rows, np.int64)
    expected[together[together >= 4] - 4] = before[together >= 4]
    assert np.array_equal(placed, expected)


@pytest.mark.parametrize("column", [
    pa.array([1.5, None, -2.0]),
    pa.array(["b", None, "a"]),
    pa.array([0, 2**62, -(2**62)], pa.int64()),  # a range beyond 63 bits
])
def test_keys_that_cannot_be_packed_are_sorted_by_pyarrow(column):
    keys = pa.table({"0": column})
    order = orders([(True, True)])
    assert sortkeys.pack([keys], order) is None
    assert sortkeys.sort_indices(keys, order).to_pylist() == \
        pc.sort_indices(keys, sort_keys=sortkeys.arrow_sort_keys(order)).to_pylist()


def test_the_radix_argsort_is_stable_and_sorts_wide_values():
    rng = np.random.default_rng(3)
    values = rng.integers(0, 2**50, 10_000) & ~np.int64(0xFFFF)  # equal low digits
    values[::7] = values[0]
    assert np.array_equal(sortkeys.radix_argsort(values), np.argsort(values, kind="stable"))
    assert sortkeys.radix_argsort(np.zeros(0, np.int64)).tolist() == []
