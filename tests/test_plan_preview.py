"""The plan before it runs: ``rdd.explain()`` and ``%spark plan`` show the stages an
action would run, built by the DAG scheduler without running anything, and they are the
stages the action then runs, skipped ones included."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from operator import add

import pytest
from test_browser import page  # noqa: F401 - the chromium page fixture

from sparkbook.driver.planpreview import plan_of, query_stages
from sparkbook.notebook.snapshot import take_snapshot

pytestmark = pytest.mark.sparkbook_only

COMPARED = ("id", "num_tasks", "parents", "steps", "cached")


def preview(sc, rdd) -> list[dict]:
    return plan_of(rdd)


def ran(sc, recorded, before: int) -> list[dict]:
    """The stages of the jobs recorded since the first ``before`` ones."""
    assert sc.waitForListeners()
    jobs = [j.job_id for j in recorded.jobs[before:]]
    return take_snapshot(sc.statusStore, jobs)["stages"]


def same_stages(planned: list[dict], actual: list[dict]) -> None:
    """The same stages with the same shape; skipped where planned skipped, else run."""
    assert [{k: s[k] for k in COMPARED} for s in planned] == [
        {k: s[k] for k in COMPARED} for s in actual]
    assert [s["status"] for s in actual] == [
        "SKIPPED" if s["status"] == "SKIPPED" else "COMPLETE" for s in planned]
    assert [[(e["from"], e["shuffle_id"]) for e in s["edges"]] for s in planned] == [
        [(e["from"], e["shuffle_id"]) for e in s["edges"]] for s in actual]


def test_the_preview_runs_nothing_and_is_the_job_that_then_runs(sc, recorded):
    pairs = sc.parallelize([(i % 6, i) for i in range(600)], 4)
    totals = pairs.reduceByKey(add, 3).map(lambda kv: (kv[0] % 2, kv[1])).groupByKey(2)
    planned = preview(sc, totals)
    assert sc.waitForListeners() and recorded.jobs == []  # nothing ran
    assert [s["status"] for s in planned] == ["PENDING"] * 3
    assert [s["num_tasks"] for s in planned] == [4, 3, 2]
    assert [s["steps"] for s in planned] == [["parallelize"], ["reduceByKey", "map"],
                                             ["groupByKey"]]
    assert planned[2]["parents"] == [planned[1]["id"]]
    assert all(e["bytes"] is None for s in planned for e in s["edges"])  # not written yet
    assert len(totals.collect()) == 2
    same_stages(planned, ran(sc, recorded, 0))


def test_a_second_action_s_preview_skips_the_map_stage_and_knows_its_edge(sc, recorded):
    counts = sc.parallelize([f"k{i % 9}" for i in range(900)], 3).map(
        lambda w: (w, 1)).reduceByKey(add, 2)
    counts.count()
    assert sc.waitForListeners()
    before = len(recorded.jobs)
    doubled = counts.mapValues(lambda n: n * 2)
    planned = preview(sc, doubled)
    assert [s["status"] for s in planned] == ["SKIPPED", "PENDING"]
    assert sorted(doubled.collect())[0] == ("k0", 200)
    actual = ran(sc, recorded, before)
    same_stages(planned, actual)
    # The skipped shuffle's output is known: the edge says what the job then fetched.
    assert planned[1]["edges"][0]["bytes"] == actual[1]["edges"][0]["bytes"] > 0
    assert planned[1]["edges"][0]["records"] == actual[1]["edges"][0]["records"] == 3 * 9


def test_a_fully_cached_rdd_is_read_from_the_cache(sc, recorded):
    cached = sc.parallelize(range(100), 4).map(lambda x: (x % 5, x)).cache()
    try:
        assert preview(sc, cached)[0]["from_cache"] == []
        cached.count()
        (stage,) = preview(sc, cached.mapValues(str))
        assert stage["cached"] == ["map"] and stage["from_cache"] == ["map"]
    finally:
        cached.unpersist()


def test_a_join_previews_two_map_stages_feeding_one(sc, recorded):
    left = sc.parallelize([(i % 4, i) for i in range(40)], 2)
    right = sc.parallelize([(i, -i) for i in range(4)], 2)
    joined = left.join(right, 2)
    planned = preview(sc, joined)
    assert len(planned) == 3 and sorted(planned[2]["parents"]) == [planned[0]["id"],
                                                                   planned[1]["id"]]
    assert joined.count() == 40
    same_stages(planned, ran(sc, recorded, 0))


def test_explain_prints_the_plan_outside_a_notebook(sc, recorded, capsys):
    pairs = sc.parallelize(range(10), 2).map(lambda x: (x % 2, x)).cache()
    assert pairs.reduceByKey(add).explain() is None
    out = capsys.readouterr().out
    assert sc.waitForListeners() and recorded.jobs == []
    lines = out.splitlines()
    assert lines[0].startswith("Plan of ") and lines[1] == "2 stages, 1 shuffle:"
    assert lines[2].startswith("  Stage ") and "parallelize -> map*  [2 tasks; writes shuffle" \
        in lines[2]
    assert "reduceByKey  [2 tasks; result stage; reads shuffle" in lines[3]
    assert lines[-1] == "  (* persisted)"
    pairs.unpersist()


def test_spark_plan_and_closure_in_a_terminal_print_and_refuse_bad_input():
    cells = ["%load_ext sparkbook",
             "%%spark --quiet\nr = sc.parallelize(range(8), 4).map(lambda x: (x, 1))"
             ".groupByKey()",
             "%spark plan r",
             "%%spark --quiet\nbig = bytes(3_000_000)\ndef f(x): return len(big) + x",
             "%spark closure f",
             "%spark plan spark.range(3)",
             "%spark plan 42",
             "%spark plan",
             "%spark closure",
             "%spark stop",
             "r.explain()"]
    command = "; ".join(f"get_ipython().run_cell({c!r})" for c in cells)
    proc = subprocess.run([sys.executable, "-m", "IPython", "--quick", "--no-banner",
                           "--colors=NoColor", "-c", command],
                          capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert "2 stages, 1 shuffle:" in proc.stdout, out
    assert "parallelize -> map  [4 tasks; writes shuffle 0]" in proc.stdout
    # A DataFrame's stages, from its physical plan.
    assert "1 stage, 0 exchanges:\n  Stage 1: Range  [tasks set when it runs; result stage]" \
        in proc.stdout
    assert "f pickles to 2.9 MiB" in proc.stdout
    assert re.search(r"\n  global 'big' used by function f \(\S+\)\s+2.9 MiB\n", proc.stdout)
    assert "sc.broadcast(value)" in proc.stdout
    assert "TypeError: %spark plan needs an RDD or a DataFrame, not int" in out
    assert "ValueError: usage: %spark plan EXPR (an RDD or a DataFrame, e.g. a name)" in out
    assert "ValueError: usage: %spark closure FUNC (a function, e.g. a name)" in out
    assert "SparkException: Cannot call methods on a stopped SparkContext." in out


def test_in_a_notebook_the_plan_is_a_widget_in_plan_mode():
    from test_notebook import run_notebook, widget_states

    nb = run_notebook(["%load_ext sparkbook",
                       "%%spark --quiet\nfrom operator import add\n"
                       "counts = sc.parallelize(range(100), 4).map(lambda x: (x % 3, 1))"
                       ".reduceByKey(add)\ncounts.count()",
                       "%spark plan counts",
                       "%%spark --quiet\nfrom sparkbook.sql import SparkSession\n"
                       "from sparkbook.sql.functions import col\n"
                       "df = SparkSession.builder.getOrCreate().range(30).groupBy("
                       "(col('id') % 3).alias('k')).count()",
                       "%spark plan df"])
    query = widget_states(nb)[-1]
    assert query["mode"] == "plan"
    assert [(s["id"], s["steps"], s["parents"]) for s in query["stages"]] == [
        (1, ["Range", "HashAggregate", "Exchange"], []), (2, ["HashAggregate"], [1])]
    assert "2 stages, 1 exchange:" in nb.cells[4].outputs[0]["data"]["text/html"]
    plan = widget_states(nb)[-2]
    assert plan["mode"] == "plan"
    assert [s["status"] for s in plan["stages"]] == ["SKIPPED", "PENDING"]
    assert plan["stages"][1]["edges"][0]["bytes"] > 0
    html = nb.cells[2].outputs[0]["data"]["text/html"]
    assert "SKIPPED (its shuffle output exists)" in html
    json.dumps(plan)  # plain data


def test_a_stage_that_cannot_be_pickled_is_said_so_before_it_runs(sc, recorded):
    lock = threading.Lock()
    (stage,) = preview(sc, sc.parallelize(range(4), 2).map(lambda x: (x, lock)))
    (warning,) = stage["warnings"]
    assert warning.startswith("Task not serializable: Could not serialize the closure in ")
    assert "'lock'" in warning and "cannot be pickled" in warning
    assert sc.waitForListeners() and recorded.jobs == []


def query_preview(df) -> list[dict]:
    from sparkbook.sql.execution.physical import plan_query

    return query_stages(plan_query(df._plan))


def stages_the_query_ran(sc, recorded, before: int) -> list[dict]:
    """The stages the query's jobs ran (skipped ones left out): an adaptive map-stage job
    runs the map stage alone, the query's last job the rest."""
    assert sc.waitForListeners()
    jobs = [j.job_id for j in recorded.jobs[before:]]
    snap = take_snapshot(sc.statusStore, jobs)
    return [s for s in snap["stages"] if s["status"] != "SKIPPED"]


@pytest.mark.parametrize("adaptive", ["true", "false"])
def test_a_query_s_preview_has_the_stages_its_jobs_then_run(spark, sc, recorded, adaptive):
    from sparkbook.sql import functions as F

    spark.conf.set("spark.sql.adaptive.enabled", adaptive)
    try:
        df = spark.range(300, numPartitions=3).groupBy((F.col("id") % 4).alias("k")).agg(
            F.sum("id").alias("s")).filter("s > 0")
        planned = query_preview(df)
        assert sc.waitForListeners() and recorded.jobs == []  # planning ran nothing
        assert [(s["steps"], s["parents"]) for s in planned] == [
            (["Range", "HashAggregate", "Exchange"], []), (["HashAggregate", "Filter"], [1])]
        assert planned[1]["edges"][0]["what"] == "Exchange hashpartitioning(k, 200)"
        assert sorted(r.s for r in df.collect()) == sorted(
            sum(range(k, 300, 4)) for k in range(4))
        ran_stages = stages_the_query_ran(sc, recorded, 0)
    finally:
        spark.conf.unset("spark.sql.adaptive.enabled")
    assert len(ran_stages) == len(planned) == 2
    assert ran_stages[0]["num_tasks"] == 3  # the map side: one task per range split
    assert len(recorded.jobs) == (2 if adaptive == "true" else 1)


def test_a_query_s_exchanges_cut_its_plan_into_stages(spark, sc, recorded):
    from sparkbook.sql import functions as F

    left = spark.range(100).groupBy((F.col("id") % 3).alias("k")).count()
    joined = left.join(spark.range(50).withColumnRenamed("id", "k"), "k").orderBy("k")
    planned = query_preview(joined)
    assert [(s["id"], s["steps"], s["parents"]) for s in planned] == [
        (1, ["Range", "HashAggregate", "Exchange"], []),
        (2, ["HashAggregate", "BroadcastHashJoin", "Project", "Exchange"], [1, 3]),
        (3, ["Range", "Project", "BroadcastExchange"], []),
        (4, ["Sort"], [2])]
    assert planned[2]["writes"] == "BroadcastExchange"
    from sparkbook.sql.execution.physical import explain_string, plan_query

    marked = {int(n) for n in re.findall(r"\*\((\d+)\)", explain_string(plan_query(
        joined._plan)))}
    assert marked == {s["id"] for s in planned}  # the *(n) of explain()
    # A union's inputs are numbered apart but run in one stage, as the job then shows.
    union = spark.range(10).union(spark.range(5, numPartitions=1)).groupBy("id").count()
    planned = query_preview(union)
    assert [(s["id"], s["steps"], s["parents"]) for s in planned] == [
        (1, ["Range", "Range", "Union", "HashAggregate", "Exchange"], []),
        (3, ["HashAggregate"], [1])]
    spark.conf.set("spark.sql.adaptive.enabled", "false")
    try:
        before = len(recorded.jobs)
        assert len(union.collect()) == 10
        ran_stages = stages_the_query_ran(sc, recorded, before)
    finally:
        spark.conf.unset("spark.sql.adaptive.enabled")
    assert len(ran_stages) == len(planned) and ran_stages[0]["num_tasks"] == 2 + 1


def test_a_query_s_preview_draws_its_boxes_and_arrows(spark, page):  # noqa: F811
    from test_browser import render

    from sparkbook.notebook.jobview import WIDGETS
    from sparkbook.sql import functions as F

    left = spark.range(100).groupBy((F.col("id") % 3).alias("k")).count()
    planned = query_preview(left.join(spark.range(50).withColumnRenamed("id", "k"), "k"))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_content(f"<style>{(WIDGETS / 'sparkbook.css').read_text()}</style>"
                     "<div id='host'></div>")
    render(page, {"mode": "plan", "title": "plan", "status": "plan", "jobs": [], "tasks": [],
                  "executors": [], "shuffles": [], "stages": planned})
    view = page.locator(".sparkbook-widget[data-mode='plan']")
    assert view.locator(".sb-dag-box").count() == len(planned) == 3
    assert view.locator(".sb-dag-edge").count() == 2  # the hash exchange, the broadcast
    assert "? tasks" in view.locator(".sb-dag-box").first.text_content()
    assert "BroadcastHashJoin" in view.locator(".sb-dag-box[data-stage-id='2']").text_content()
    assert errors == []
