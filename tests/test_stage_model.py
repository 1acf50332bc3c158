"""The stage DAG as the widget model holds it: parents, pipelined steps, cached steps,
skipped stages and shuffle edges, in the plain data ``take_snapshot`` returns."""

from __future__ import annotations

from operator import add

import pytest

from sparkbook.driver.closuresize import closure_report
from sparkbook.notebook.snapshot import take_snapshot

pytestmark = pytest.mark.sparkbook_only

TEXT = "\n".join(f"the quick fox {i % 7} jumps over the lazy dog {i % 3}" for i in range(300))


def snapshot_of(sc, recorded) -> dict:
    assert sc.waitForListeners()
    return take_snapshot(sc.statusStore, [j.job_id for j in recorded.jobs])


def read_of(recorded, stage_id: int) -> tuple[int, int]:
    tasks = [t for t in recorded.tasks if t.stage_id == stage_id]
    return (sum(t.metrics.shuffle_read_bytes for t in tasks),
            sum(t.metrics.shuffle_read_records for t in tasks))


def test_a_word_count_is_two_stages_with_one_shuffle_edge(sc, recorded, tmp_text):
    path = tmp_text("words.txt", TEXT)
    counts = (sc.textFile(path, 3).flatMap(str.split).map(lambda w: (w, 1))
              .reduceByKey(add, 2))
    assert dict(counts.collect())["fox"] == 300
    snap = snapshot_of(sc, recorded)
    map_stage, result_stage = snap["stages"]
    assert map_stage["steps"] == ["textFile", "flatMap", "map"]
    assert result_stage["steps"] == ["reduceByKey"]
    assert map_stage["parents"] == [] and map_stage["edges"] == []
    assert result_stage["parents"] == [map_stage["id"]]
    (edge,) = result_stage["edges"]
    read_bytes, read_records = read_of(recorded, result_stage["id"])
    assert edge == {"from": map_stage["id"], "shuffle_id": edge["shuffle_id"],
                    "bytes": read_bytes, "records": read_records}
    assert edge["bytes"] == result_stage["shuffle_read"] == map_stage["shuffle_write"] > 0
    assert 0 < edge["records"] <= 3 * 14  # combined map side: at most the distinct words
    assert [s["status"] for s in snap["stages"]] == ["COMPLETE", "COMPLETE"]
    assert map_stage["shuffle_id"] == edge["shuffle_id"] and result_stage["shuffle_id"] is None
    assert map_stage["shuffle_write_records"] == edge["records"]
    assert all(s["cached"] == [] and s["warnings"] == [] for s in snap["stages"])


def test_a_join_reads_two_shuffles_each_its_own_edge(sc, recorded):
    left = sc.parallelize([(i % 10, i) for i in range(200)], 4)
    right = sc.parallelize([(i, str(i)) for i in range(10)], 2)
    assert len(left.join(right, 3).collect()) == 200
    snap = snapshot_of(sc, recorded)
    *maps, result = snap["stages"]
    assert len(maps) == 2 and sorted(result["parents"]) == sorted(s["id"] for s in maps)
    assert [e["from"] for e in result["edges"]] == result["parents"]
    assert len({e["shuffle_id"] for e in result["edges"]}) == 2
    assert sum(e["bytes"] for e in result["edges"]) == result["shuffle_read"]
    by_stage = {s["id"]: s for s in maps}
    assert sum(e["records"] for e in result["edges"]) == read_of(recorded, result["id"])[1]
    for edge in result["edges"]:
        assert edge["bytes"] == by_stage[edge["from"]]["shuffle_write"]
    assert result["steps"][0] == "join" or "cogroup" in result["steps"]


def test_a_cached_step_is_marked_in_its_stage(sc, recorded):
    doubled = sc.parallelize(range(100), 2).map(lambda x: (x % 4, x)).cache()
    try:
        assert sorted(doubled.groupByKey().mapValues(len).collect()) == [
            (k, 25) for k in range(4)]
        snap = snapshot_of(sc, recorded)
        map_stage, result_stage = snap["stages"]
        assert map_stage["steps"] == ["parallelize", "map"]
        assert map_stage["cached"] == ["map"]
        assert result_stage["steps"] == ["groupByKey", "mapValues"]
        assert result_stage["cached"] == []
    finally:
        doubled.unpersist()


def test_a_second_action_on_a_shuffled_rdd_skips_its_map_stage(sc, recorded):
    counts = sc.parallelize([f"k{i % 5}" for i in range(100)], 4).map(
        lambda w: (w, 1)).reduceByKey(add)
    assert counts.count() == 5
    assert sorted(counts.values().collect()) == [20] * 5
    snap = snapshot_of(sc, recorded)
    first, second = snap["jobs"]
    stages = {(s["job_id"], s["id"]): s for s in snap["stages"]}
    map_id = min(first["stage_ids"])
    assert map_id in second["stage_ids"]
    # The first job keeps what its map stage did; the second shows it skipped.
    ran, skipped = stages[first["id"], map_id], stages[second["id"], map_id]
    assert ran["status"] == "COMPLETE" and ran["shuffle_write"] > 0
    assert skipped["status"] == "SKIPPED"
    assert skipped["steps"] == ran["steps"] == ["parallelize", "map"]
    final = stages[second["id"], max(second["stage_ids"])]
    assert final["status"] == "COMPLETE" and final["parents"] == [map_id]
    assert final["steps"] == ["reduceByKey", "values"]
    assert final["edges"][0]["bytes"] == ran["shuffle_write"]


BIG = list(range(1_000_000))  # about 4.8 MiB pickled


def test_a_stage_whose_closure_is_large_says_which_names_make_it_so(sc, recorded):
    offsets = list(range(-500_000, 500_000))

    def shift(x: int) -> int:
        return x + len(offsets) + len(BIG)

    assert sc.parallelize(range(4), 2).map(shift).sum() == 4 * 2_000_000 + 6
    (stage,) = snapshot_of(sc, recorded)["stages"]
    (warning,) = stage["warnings"]
    assert warning.startswith("the stage's closure is 9.")
    assert "(over spark.sparkbook.closureWarningBytes, 1.0 MiB)" in warning
    carried = warning.split("It carries ", 1)[1]
    assert carried.startswith("variable 'offsets' captured by function ")
    assert "global 'BIG' used by function " in carried
    assert "MiB; global 'BIG'" in carried or "MiB; variable 'offsets'" in carried
    assert "sc.broadcast(value)" in warning


def test_a_small_closure_gives_no_warning_and_the_report_lists_what_it_captures():
    n, label = 3, "x" * 2000

    def tag(x):
        return (label, x + n)

    report = closure_report(tag).splitlines()
    assert report[0].startswith("test_a_small_closure_gives_no_warning_and_the_report_lists_"
                                "what_it_captures.<locals>.tag pickles to ")
    assert report[1].lstrip().startswith("variable 'label' captured by function")
    assert report[1].endswith(" 2.0 KiB")
    assert report[2].lstrip().startswith("variable 'n' captured by function")
    assert len(report) == 3
    assert closure_report(len) == "len pickles to 31 B; it captures nothing that adds to that"
