"""The plan before it runs: the stages an action on an RDD would run, built by the DAG
scheduler's own stage construction (``DAGScheduler.plan``) without submitting anything.

Each stage is a dict in the widget model's schema (``snapshot.take_snapshot``): its
parents and shuffle edges, pipelined steps, cached steps, and ``"SKIPPED"`` where the
shuffle output it would write already exists. ``from_cache`` names the steps whose
partitions are all in the executors' block stores, so they would be read, not computed.
"""

from __future__ import annotations

from sparkbook.driver.dagscheduler import DAGScheduler
from sparkbook.driver.stage import ResultStage, Stage, stage_lineage
from sparkbook.errors import SparkException
from sparkbook.rdd.rdd import RDD


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


def plan_text(stages: list[dict]) -> str:
    """The plan as lines of text, one stage a line, for a terminal."""
    shuffles = sum(1 for s in stages if s["shuffle_id"] is not None)
    lines = [f"{len(stages)} stage{'s' if len(stages) != 1 else ''}, {shuffles} "
             f"shuffle{'s' if shuffles != 1 else ''}:"]
    for s in stages:
        steps = " -> ".join(f"{step}{'*' if step in s['cached'] else ''}" for step in s["steps"])
        kind = ("result stage" if s["shuffle_id"] is None
                else f"writes shuffle {s['shuffle_id']}")
        reads = ", ".join(f"shuffle {e['shuffle_id']} of stage {e['from']}" + (
            "" if e["bytes"] is None else f" ({e['bytes']:,} bytes, {e['records']:,} records)")
            for e in s["edges"])
        what = ("SKIPPED (its shuffle output exists)" if s["status"] == "SKIPPED"
                else f"{s['num_tasks']} task{'s' if s['num_tasks'] != 1 else ''}")
        line = f"  Stage {s['id']}: {steps}  [{what}; {kind}"
        line += f"; reads {reads}]" if reads else "]"
        if s["from_cache"]:
            line += f"  reads {', '.join(s['from_cache'])} from the cache"
        lines.append(line)
        lines += [f"    ! {w}" for w in s["warnings"]]
    if any(s["cached"] for s in stages):
        lines.append("  (* persisted)")
    return "\n".join(lines)
