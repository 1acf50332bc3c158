"""The static summary a saved notebook keeps: the shuffle matrices as script-free SVG heat
maps with their hot keys and hints, and the stages' warnings under the DAG, on real jobs."""

from __future__ import annotations

import html
import re
from operator import add

import pytest
from test_shuffle_matrix import skewed_clients
from test_timeline import run_under_a_feed

from sparkbook.notebook.snapshot import summary_html

pytestmark = pytest.mark.sparkbook_only


def heat_maps(page: str) -> list[str]:
    return re.findall(r"<svg[^>]*class='sb-summary-matrix'.*?</svg>", page)


def check_heat_maps(page: str, snap: dict) -> None:
    """One heat map per shuffle, a cell per entry of its matrix, each cell's bytes and
    records in its tooltip."""
    maps = heat_maps(page)
    assert len(maps) == len(snap["shuffles"]) > 0
    for picture, sh in zip(maps, snap["shuffles"]):
        cells = re.findall(r"<rect [^>]*><title>([^<]*)</title>", picture)
        assert len(cells) == sum(len(row) for row in sh["bytes"]) == len(sh["executors"]) * (
            len(sh["columns"]) if sh["columns"] else sh["partitions"])
        records = [int(re.search(r", (\d+) records$", c).group(1)) for c in cells]
        assert records == [n for row in sh["records"] for n in row]


def test_a_three_stage_job_draws_a_heat_map_per_shuffle_under_its_dag(sc):
    def action():
        counts = sc.parallelize([f"w{i % 13}" for i in range(2000)], 4).map(
            lambda w: (w, 1)).reduceByKey(add, 3)
        return sorted(counts.map(lambda kv: (kv[1], kv[0])).groupByKey(2).mapValues(
            sorted).collect())

    result, snap, _, _ = run_under_a_feed(sc, action)
    assert result[0][0] == 153 and len(snap["stages"]) == 3 and len(snap["shuffles"]) == 2
    page = summary_html(snap, "three stages")
    assert "<script" not in page
    check_heat_maps(page, snap)
    # The DAG, two heat maps, the timeline; a saved cell stays a few KiB (measured: 6.6 KiB).
    assert page.count("<svg") == 4
    assert len(page) < 16 * 1024, len(page)
    first, second = snap["shuffles"]
    assert second["map_stage"] == first["reduce_stages"][0]
    assert (f"Shuffle {second['shuffle_id']}: stage {second['map_stage']} \u2192 stage "
            f"{second['reduce_stages'][0]} &middot; 2 partitions") in page


def test_a_seeded_skewed_group_by_key_keeps_its_hot_key_and_hint(sc):
    sizes, snap, _, _ = run_under_a_feed(
        sc, lambda: dict(sc.parallelize(skewed_clients(), 4).groupByKey(8).mapValues(len)
                         .collect()))
    assert sizes["client-7"] > 15_000
    page = summary_html(snap)
    check_heat_maps(page, snap)
    (shuffle,) = snap["shuffles"]
    assert shuffle["hint"].startswith("key 'client-7' holds")
    assert f"<div class='sb-summary-hint'>{html.escape(shuffle['hint'])}</div>" in page
    hot = re.search(r"<div class='sb-summary-hot-keys'>(.*?)</div>", page).group(1)
    key, records, share = shuffle["hot_keys"][0]
    assert hot.startswith(f"hot keys (sampled): {html.escape(key)} {records} records "
                          f"({100 * share:.0f} %), ")


def test_a_200_partition_shuffle_is_binned_and_the_summary_stays_small(sc):
    n, snap, _, _ = run_under_a_feed(
        sc, lambda: sc.parallelize(range(20_000), 4).map(lambda x: (x, 1)).groupByKey(200)
        .count())
    assert n == 20_000
    (shuffle,) = snap["shuffles"]
    assert shuffle["partitions"] == 200 and len(shuffle["columns"]) == 100
    page = summary_html(snap)
    check_heat_maps(page, snap)
    assert "200 partitions (100 columns)" in page
    assert "<title>executor " in page and "partitions 198\u2013199:" in page
    assert len(page) < 64 * 1024, len(page)  # measured: 52 KiB, the heat map 25 KiB


def test_a_stage_warning_shows_under_the_dag(sc):
    big = b"x" * (2 << 20)
    n, snap, _, _ = run_under_a_feed(
        sc, lambda: sc.parallelize(range(8), 2).map(lambda x: x + len(big)).count())
    assert n == 8
    (stage,) = snap["stages"]
    (warning,) = stage["warnings"]
    assert "big" in warning
    page = summary_html(snap)
    assert (f"<ul class='sb-summary-warnings'><li>Stage {stage['id']}: "
            f"{html.escape(warning)}</li></ul>") in page
