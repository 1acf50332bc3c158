"""The plan before it runs: the stages an action on an RDD would run, built by the DAG
scheduler's own stage construction (``DAGScheduler.plan``) without submitting anything.

Each stage is a dict in the widget model's schema (``snapshot.take_snapshot``): its
parents and shuffle edges, pipelined steps, cached steps, and ``"SKIPPED"`` where the
shuffle output it would write already exists. ``from_cache`` names the steps whose
partitions are all in the executors' block stores, so they would be read, not computed.
A DataFrame's stages come from its physical plan instead (``query_stages``), alike.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sparkbook.driver.dagscheduler import DAGScheduler
from sparkbook.driver.stage import ResultStage, Stage, stage_lineage
from sparkbook.errors import SparkException
from sparkbook.rdd.rdd import RDD

if TYPE_CHECKING:
    from sparkbook.sql.execution.physical import SparkPlan


def plan_of(rdd: RDD, op: str = "collect") -> list[dict]:
    """The stages ``rdd.explain()`` shows, as plain data a lesson or a test can assert: a
    job of ``op`` on ``rdd``, planned by the running context's scheduler, unsubmitted."""
    ctx = rdd._driver()
    if ctx._stopped:
        raise SparkException("Cannot call methods on a stopped SparkContext.")
    return ctx._backend.plan(rdd, op, ctx._callsite())


def preview_stages(dag: DAGScheduler, rdd: RDD, op: str = "collect",
                   callsite: str = "") -> list[dict]:
    """The stages of a job of ``op`` on every partition of ``rdd`` (call on the scheduler's
    thread, which owns ``dag``)."""
    stages, to_run = dag.plan(rdd, op, callsite)
    outputs = dag.map_outputs
    return [_describe(dag, s, s in to_run, outputs) for s in stages]


def _describe(dag: DAGScheduler, s: Stage, runs: bool, outputs) -> dict:
    tasks = s.num_tasks
    if runs and not isinstance(s, ResultStage) and s.id in dag.stages:
        tasks = len(outputs.missing(s.shuffle_id))  # an existing one runs what is missing
    edges = []
    for parent in s.parents:
        known = outputs.is_available(parent.shuffle_id)
        written = outputs.written(parent.shuffle_id) if known else (None, None)
        edges.append({"from": parent.id, "shuffle_id": parent.shuffle_id,
                      "bytes": written[0], "records": written[1]})
    lineage, _ = stage_lineage(s.rdd)
    from_cache = [r.op for _, r in sorted(lineage.items()) if runs and r.is_cached
                  and dag.cached_partition_count(r.rdd_id) == r.getNumPartitions()]
    warnings: list[str] = []
    if runs:  # what submitting it would ship, and warn of
        try:
            warnings = s.serialize()[2]
        except Exception as exc:  # noqa: BLE001 - the job would fail: say why, beforehand
            warnings = [f"Task not serializable: {exc}"]
    return {"id": s.id, "name": s.name, "status": "PENDING" if runs else "SKIPPED",
            "num_tasks": tasks, "parents": [p.id for p in s.parents], "steps": list(s.steps),
            "cached": list(s.cached), "from_cache": from_cache, "edges": edges,
            "warnings": warnings, "shuffle_id": s.shuffle_id}


def query_stages(plan: SparkPlan) -> list[dict]:
    """The stages a DataFrame's physical plan runs, cut at its exchanges: the steps are the
    operator names in each stage (its scans first, the exchange it writes last), an edge
    per exchange it reads. A stage is numbered with the least of ``explain()``'s ``*(n)``
    inside it (a ``Union``'s inputs have their own numbers but run in its stage). Their
    tasks are unknown beforehand (``None``): adaptive execution picks the reduce side's
    after the map side has run, as its own job (``exchange.shuffle``)."""
    from sparkbook.sql.execution.physical import stage_name, stage_numbers

    numbers = stage_numbers(plan)
    members: dict[int, list[SparkPlan]] = {}  # by id() of the stage's last operator

    def visit(node: SparkPlan, last: SparkPlan) -> None:
        for child in node.children:
            visit(child, child if getattr(child, "exchange", False) else last)
        members.setdefault(id(last), []).append(node)

    visit(plan, plan)
    ids = {key: min(numbers[id(n)] for n in nodes) for key, nodes in members.items()}
    stages = []
    for key, nodes in members.items():
        reads = [c for n in nodes for c in n.children if getattr(c, "exchange", False)]
        last = nodes[-1]
        stages.append({
            "id": ids[key], "name": stage_name(last), "status": "PENDING", "num_tasks": None,
            "parents": [ids[id(c)] for c in reads],
            "steps": [re.match(r"\w+", n.node_line(ids=False)).group() for n in nodes],
            "cached": [], "from_cache": [], "warnings": [], "shuffle_id": None,
            "edges": [{"from": ids[id(c)], "shuffle_id": None, "bytes": None,
                       "records": None, "what": c.node_line(ids=False)} for c in reads],
            "writes": last.node_line(ids=False) if getattr(last, "exchange", False) else None})
    return sorted(stages, key=lambda stage: stage["id"])


def plan_text(stages: list[dict], exchange: str = "shuffle") -> str:
    """The plan as lines of text, one stage a line, for a terminal (``exchange``: what
    the summary calls what a stage writes for the next)."""
    def writes(s: dict) -> str | None:
        return s.get("writes") or (None if s["shuffle_id"] is None
                                   else f"shuffle {s['shuffle_id']}")

    shuffles = sum(1 for s in stages if writes(s))
    lines = [f"{len(stages)} stage{'s' if len(stages) != 1 else ''}, {shuffles} "
             f"{exchange}{'s' if shuffles != 1 else ''}:"]
    for s in stages:
        steps = " -> ".join(f"{step}{'*' if step in s['cached'] else ''}" for step in s["steps"])
        kind = f"writes {writes(s)}" if writes(s) else "result stage"
        reads = ", ".join(f"{e.get('what') or 'shuffle ' + str(e['shuffle_id'])} of stage "
                          f"{e['from']}" + ("" if e["bytes"] is None else
                                            f" ({e['bytes']:,} bytes, {e['records']:,} records)")
                          for e in s["edges"])
        n = s["num_tasks"]
        what = ("SKIPPED (its shuffle output exists)" if s["status"] == "SKIPPED"
                else "tasks set when it runs" if n is None
                else f"{n} task{'s' if n != 1 else ''}")
        line = f"  Stage {s['id']}: {steps}  [{what}; {kind}"
        line += f"; reads {reads}]" if reads else "]"
        if s["from_cache"]:
            line += f"  reads {', '.join(s['from_cache'])} from the cache"
        lines.append(line)
        lines += [f"    ! {w}" for w in s["warnings"]]
    if any(s["cached"] for s in stages):
        lines.append("  (* persisted)")
    return "\n".join(lines)
