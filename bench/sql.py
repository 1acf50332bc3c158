#!/usr/bin/env python3
"""The same SQL queries on sparkbook, PySpark and DuckDB over the same files.

    python bench/sql.py [--scale 1] [--only Q1,Q6] [--engines sparkbook,pyspark,duckdb]
                        [--repeat 3] [--markdown]

Q1 a groupBy-aggregate, Q2 a broadcast and a shuffled join, Q3 window functions, Q4 a sort
written to parquet, Q5 a CSV read, filtered and aggregated (with the peak memory of all
the engine's processes), Q6 the course's small monsters queries. sparkbook and PySpark run
the very same DataFrame code on ``local[2]``; DuckDB runs the same queries as SQL in one
process. The input files are generated once into ``bench/out/sql-data-scale<S>/``
(parquet for Q1–Q4, CSV for Q5) and every engine reads the same ones. Each engine runs in
a child process of its own (as in ``run.py``); each query runs once untimed, then
``--repeat`` times, and the median is reported. Every value is an integer, so the results
must agree exactly across engines; a mismatch is reported.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import report
from rssmon import PeakRSS
from run import _child_env, _describe, _reap_session, _redirect_output, _write_json

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "out"
LOG_DIR = OUT_DIR / "logs"
MONSTERS = HERE.parent / "notebooks" / "data" / "monsters.csv"
ENGINES = ("sparkbook", "pyspark", "duckdb")
MASTER = "local[2]"
SEED = 20261202
FILES = 8  # parquet files per table: neither Spark nor sparkbook cuts a small file

FACT_ROWS, GROUPS = 5_000_000, 1_000  # Q1, Q2's big side and Q4
SMALL_DIM, BIG_DIM = 100_000, 1_000_000  # Q2's two right sides
EVENT_ROWS, EVENT_KEYS = 2_000_000, 10_000  # Q3
CSV_BYTES = 2**30  # Q5
CSV_SCHEMA = "id bigint, k bigint, name string, v bigint, x double"


def paths(scale: float) -> dict[str, Path]:
    root = OUT_DIR / f"sql-data-scale{scale:g}"
    names = ("facts", "dim_small", "dim_big", "events")
    return {"root": root, **{n: root / n for n in names}, "csv": root / "rows.csv"}


# --------------------------------------------------------------------------------------
# The data, made once with numpy and pyarrow; a table is a folder of FILES parquet files.
# --------------------------------------------------------------------------------------


def _write_parquet(folder: Path, columns: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = folder.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    table = pa.table(columns)
    step = -(-table.num_rows // FILES)
    for i in range(FILES):
        pq.write_table(table.slice(i * step, step), tmp / f"part-{i:05d}.parquet")
    os.replace(tmp, folder)


def _write_csv(path: Path, size: int, rng: Any) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = pa.array([f"name{i:04d}" for i in range(GROUPS)])
    chunk, written, start = 1_000_000, 0, 0
    tmp = path.with_suffix(".tmp")
    with pacsv.CSVWriter(tmp, pa.schema([("id", pa.int64()), ("k", pa.int64()),
                                         ("name", pa.string()), ("v", pa.int64()),
                                         ("x", pa.float64())])) as writer:
        while written < size:
            k = rng.integers(0, GROUPS, chunk)
            batch = pa.record_batch({
                "id": np.arange(start, start + chunk), "k": k, "name": names.take(pa.array(k)),
                "v": rng.integers(0, 1_000, chunk), "x": np.round(rng.random(chunk), 6)})
            writer.write_batch(batch)
            start += chunk
            written = tmp.stat().st_size
    os.replace(tmp, path)


def ensure_data(scale: float, say: Callable[[str], None]) -> dict[str, Path]:
    """Generate the inputs for ``scale`` unless they exist; return their paths."""
    import numpy as np

    p = paths(scale)
    rng = np.random.default_rng(SEED)
    n, small, big = int(FACT_ROWS * scale), int(SMALL_DIM * scale), int(BIG_DIM * scale)
    if not p["facts"].exists():
        say(f"generating {p['facts']} ...")
        _write_parquet(p["facts"], {"k": rng.integers(0, GROUPS, n),
                                    "id": rng.integers(0, big, n),
                                    "v": rng.integers(0, 1_000, n)})
    for name, rows in (("dim_small", small), ("dim_big", big)):
        if not p[name].exists():
            ids = np.arange(rows)
            _write_parquet(p[name], {"id": ids, "w": ids % 7})
    if not p["events"].exists():
        m = int(EVENT_ROWS * scale)
        say(f"generating {p['events']} ...")
        _write_parquet(p["events"], {"k": rng.integers(0, EVENT_KEYS, m),
                                     "t": rng.permutation(m), "v": rng.integers(0, 1_000, m)})
    if not p["csv"].exists():
        say(f"generating {p['csv']} ({CSV_BYTES * scale / 2**20:.0f} MiB) ...")
        _write_csv(p["csv"], int(CSV_BYTES * scale), rng)
    return p


# --------------------------------------------------------------------------------------
# The queries. ``df`` is the DataFrame code that sparkbook and PySpark both run (with
# their own ``spark`` and ``functions``); ``sql`` the same query for DuckDB. Each returns
# rows of integers (or a row count), compared across engines.
# --------------------------------------------------------------------------------------


@dataclass
class Spark:
    """What a DataFrame query needs: the session, ``functions`` and ``Window``."""

    spark: Any
    F: Any
    window: Any


def _rows(rows: Any) -> list[list[Any]]:
    return sorted([list(r) for r in rows])


def q1_df(s: Spark, p: dict[str, Path]) -> Any:
    F = s.F
    facts = s.spark.read.parquet(str(p["facts"]))
    return _rows(facts.groupBy("k").agg(F.sum("v"), F.count("*"), F.max("v")).collect())


def q1_sql(p: dict[str, Path]) -> str:
    return f"SELECT k, sum(v), count(*), max(v) FROM '{p['facts']}/*.parquet' GROUP BY k"


def _join_df(s: Spark, p: dict[str, Path], dim: str, hint: bool) -> Any:
    F = s.F
    facts, right = s.spark.read.parquet(str(p["facts"])), s.spark.read.parquet(str(p[dim]))
    if hint:
        right = F.broadcast(right)
    return _rows(facts.join(right, "id").agg(F.count("*"), F.sum("w"), F.sum("v")).collect())


def _join_sql(p: dict[str, Path], dim: str) -> str:
    return (f"SELECT count(*), sum(w), sum(v) FROM '{p['facts']}/*.parquet' f "
            f"JOIN '{p[dim]}/*.parquet' d USING (id)")


def q2b_df(s: Spark, p: dict[str, Path]) -> Any:
    return _join_df(s, p, "dim_small", hint=True)


def q2s_df(s: Spark, p: dict[str, Path]) -> Any:
    # Broadcasting off, so that no engine turns the 1M side into a broadcast at run time.
    s.spark.conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")
    try:
        return _join_df(s, p, "dim_big", hint=False)
    finally:
        s.spark.conf.unset("spark.sql.autoBroadcastJoinThreshold")


def q3_df(s: Spark, p: dict[str, Path]) -> Any:
    F, W = s.F, s.window
    if W is None:
        raise NotImplementedError("this engine has no Window yet")
    by_key = W.partitionBy("k").orderBy("t")
    running = by_key.rowsBetween(W.unboundedPreceding, W.currentRow)
    events = s.spark.read.parquet(str(p["events"]))
    out = events.select(F.lag("v").over(by_key).alias("prev"),
                        F.sum("v").over(running).alias("running"))
    return _rows(out.agg(F.sum("prev"), F.sum("running"), F.count("prev")).collect())


def q3_sql(p: dict[str, Path]) -> str:
    return ("SELECT sum(prev), sum(running), count(prev) FROM (SELECT "
            "lag(v) OVER (PARTITION BY k ORDER BY t) AS prev, "
            "sum(v) OVER (PARTITION BY k ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING "
            f"AND CURRENT ROW) AS running FROM '{p['events']}/*.parquet')")


def q4_df(s: Spark, p: dict[str, Path], sink: Path) -> Any:
    # Written, not counted: Spark's optimizer drops a sort under an aggregate.
    s.spark.read.parquet(str(p["facts"])).orderBy("id", "k", "v").write.mode(
        "overwrite").parquet(str(sink))


def q4_sql(p: dict[str, Path], sink: Path) -> str:
    sink.mkdir(parents=True, exist_ok=True)
    return (f"COPY (SELECT * FROM '{p['facts']}/*.parquet' ORDER BY id, k, v) "
            f"TO '{sink}/part-00000.parquet' (FORMAT parquet)")


def q4_digest(sink: Path) -> list[Any]:
    """Rows written, and whether each file is sorted and the files join up in order."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    total, last, ordered = 0, None, True
    for f in sorted(sink.glob("*.parquet")):
        ids = pq.read_table(f, columns=["id"]).column("id")
        if len(ids) == 0:
            continue
        total += len(ids)
        np_ids = ids.to_numpy()
        ordered &= bool((np_ids[1:] >= np_ids[:-1]).all() and (last is None or last <= np_ids[0]))
        last = pc.max(ids).as_py()
    return [total, ordered]


def q5_df(s: Spark, p: dict[str, Path]) -> Any:
    F = s.F
    rows = s.spark.read.csv(str(p["csv"]), header=True, schema=CSV_SCHEMA)
    return _rows(rows.where(F.col("v") >= 500).groupBy("name")
                 .agg(F.count("*"), F.sum("v"), F.max("id")).collect())


def q5_sql(p: dict[str, Path]) -> str:
    cols = ", ".join(f"'{c.split()[0]}': '{c.split()[1].upper()}'" for c in CSV_SCHEMA.split(", "))
    return (f"SELECT name, count(*), sum(v), max(id) FROM read_csv('{p['csv']}', header=true, "
            f"columns={{{cols}}}) WHERE v >= 500 GROUP BY name")


def q6_df(s: Spark, p: dict[str, Path]) -> Any:
    # The course's monsters: read with a header, filter, order, adjust values with `when`.
    F = s.F
    monsters = s.spark.read.csv(str(MONSTERS), header=True, inferSchema=True)
    strong = (monsters.filter(F.col("challenge_rating") >= 20)
              .orderBy(F.desc("challenge_rating"), "name")
              .withColumn("str", F.when(F.col("size") == "Huge", F.col("str") + 2)
                          .otherwise(F.col("str")))
              .select("name", "str"))
    return [list(r) for r in strong.limit(10).collect()]


def q6_sql(p: dict[str, Path]) -> str:
    return ("SELECT name, CASE WHEN size = 'Huge' THEN str + 2 ELSE str END AS str "
            f"FROM read_csv('{MONSTERS}', header=true) WHERE challenge_rating >= 20 "
            "ORDER BY challenge_rating DESC, name LIMIT 10")


def q6g_df(s: Spark, p: dict[str, Path]) -> Any:
    # And a temp view queried with SQL: the monsters of each type.
    s.spark.read.csv(str(MONSTERS), header=True).createOrReplaceTempView("monsters")
    return _rows(s.spark.sql("SELECT type, count(*) AS n FROM monsters GROUP BY type").collect())


def q6g_sql(p: dict[str, Path]) -> str:
    return f"SELECT type, count(*) AS n FROM read_csv('{MONSTERS}', header=true) GROUP BY type"


@dataclass(frozen=True)
class Query:
    """One row of the table: the DataFrame form, the SQL form, and how it is reported."""

    key: str
    title: str
    df: Callable[..., Any]
    sql: Callable[..., str]
    ms: bool = False  # report milliseconds (the small queries)
    sink: bool = False  # writes into a fresh folder; the digest reads it back
    rss: bool = False  # also the peak RSS of the engine's processes


QUERIES = [
    Query("Q1", "Q1 groupBy 5M rows into 1,000 groups (s)", q1_df, q1_sql),
    Query("Q2b", "Q2 join 5M × 100k, broadcast (s)", q2b_df,
          lambda p: _join_sql(p, "dim_small")),
    Query("Q2s", "Q2 join 5M × 1M, shuffled (s)", q2s_df, lambda p: _join_sql(p, "dim_big")),
    Query("Q3", "Q3 lag + running sum, 10,000 keys, 2M rows (s)", q3_df, q3_sql),
    Query("Q4", "Q4 orderBy 5M rows, written to parquet (s)", q4_df, q4_sql, sink=True),
    Query("Q5", "Q5 1 GiB CSV: read, filter, aggregate (s)", q5_df, q5_sql, rss=True),
    Query("Q6", "Q6 monsters CSV: filter, orderBy, when (ms)", q6_df, q6_sql, ms=True),
    Query("Q6g", "Q6 monsters temp view, SQL GROUP BY (ms)", q6g_df, q6g_sql, ms=True),
]
BY_KEY = {q.key: q for q in QUERIES}


def select_queries(only: str | None) -> list[Query]:
    """``--only Q1,Q2``: a bare ``Q2``/``Q6`` selects both of its rows."""
    if not only:
        return QUERIES
    wanted = {w.strip().upper() for w in only.split(",") if w.strip()}
    chosen = [q for q in QUERIES if q.key.upper() in wanted or q.key[:2] in wanted]
    if not chosen:
        raise SystemExit(f"no query matches --only {only}")
    return chosen


# --------------------------------------------------------------------------------------
# One engine, in a child process.
# --------------------------------------------------------------------------------------


def open_engine(engine: str) -> tuple[Any, Callable[[], None]]:
    """A ``Spark`` (sparkbook, pyspark) or a DuckDB connection, and how to close it."""
    if engine == "duckdb":
        import duckdb

        con = duckdb.connect()
        return con, con.close
    if engine == "sparkbook":
        from sparkbook.sql import SparkSession, functions
    else:
        from pyspark.sql import SparkSession, functions
    spark = SparkSession.builder.master(MASTER).appName("bench-sql").getOrCreate()
    try:
        if engine == "sparkbook":
            from sparkbook.sql import Window
        else:
            from pyspark.sql import Window
    except ImportError:
        Window = None  # noqa: N806 - Q3 then fails and is reported as not supported yet
    return Spark(spark, functions, Window), spark.stop


def tree_cpu() -> float:
    """CPU seconds (user + system) used so far by this process and all its descendants
    alive now: far less moved by other work on a loaded machine than the wall time."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass  # a process that exits between listing and reading
    return total


def run_once(engine: str, handle: Any, q: Query, p: dict[str, Path], sink: Path) -> Any:
    """Run ``q`` once; return its result (for Q4, what was written)."""
    args = (p, sink) if q.sink else (p,)
    if engine == "duckdb":
        rows = handle.execute(q.sql(*args)).fetchall()
        result = None if q.sink else _rows(rows)
        if q.key == "Q6":
            result = [list(r) for r in rows]
    else:
        result = q.df(handle, *args)
    return q4_digest(sink) if q.sink else json.loads(json.dumps(result))


def child_main(engine: str, queries: list[Query], scale: float, repeat: int, out: Path,
               log: Path) -> int:
    progress = _redirect_output(log)
    say = lambda msg: print(msg, file=progress)  # noqa: E731
    record: dict[str, Any] = {"engine": engine, "skipped": None, "queries": {}}
    try:
        handle, close = open_engine(engine)
    except Exception as exc:
        traceback.print_exc()
        record["skipped"] = _describe(exc)
        _write_json(out, record)
        return 0
    p = paths(scale)
    with tempfile.TemporaryDirectory(prefix="bench-sql-") as tmp:
        try:
            for q in queries:
                entry: dict[str, Any] = {"values": [], "cpu": [], "rss_mb": [],
                                         "results": [], "error": None}
                record["queries"][q.key] = entry
                record["running"] = q.key
                _write_json(out, record)
                for i in range(repeat + 1):  # the first run warms up and is not counted
                    sink = Path(tmp) / f"{q.key}-{i}"
                    gc.collect()
                    try:
                        # Sampled only where reported: the sampler thread takes the GIL.
                        with PeakRSS() if q.rss else contextlib.nullcontext() as peak:
                            cpu0, t0 = tree_cpu(), time.perf_counter()
                            result = run_once(engine, handle, q, p, sink)
                            elapsed = time.perf_counter() - t0
                            cpu = tree_cpu() - cpu0
                    except Exception as exc:
                        traceback.print_exc()
                        entry["error"] = _describe(exc)
                        say(f"[{engine}] {q.key} FAILED: {entry['error']}")
                        break
                    shutil.rmtree(sink, ignore_errors=True)
                    if result not in entry["results"]:
                        entry["results"].append(result)
                    value = elapsed * 1000 if q.ms else elapsed
                    if i == 0:
                        say(f"[{engine}] {q.key} warm-up: {report.fmt_number(value)}")
                        continue
                    entry["values"].append(value)
                    entry["cpu"].append(cpu * 1000 if q.ms else cpu)
                    if q.rss:
                        entry["rss_mb"].append(peak.peak_bytes / 1e6)
                    say(f"[{engine}] {q.key} {i}/{repeat}: {report.fmt_number(value)}")
                record["running"] = None
                _write_json(out, record)
        finally:
            close()
    record["running"] = None
    _write_json(out, record)
    return 0


def run_engine(engine: str, queries: list[Query], scale: float, repeat: int,
               timeout: float) -> dict[str, Any]:
    log = LOG_DIR / f"sql-{engine}.log"
    log.write_text("")
    with tempfile.TemporaryDirectory(prefix="bench-sql-") as tmp:
        out = Path(tmp) / "child.json"
        args = [sys.executable, str(Path(__file__).resolve()), "--_child", engine,
                "--only", ",".join(q.key for q in queries), "--scale", str(scale),
                "--repeat", str(repeat), "--_out", str(out), "--_log", str(log)]
        with open(log, "ab") as logf:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf,
                                    env=_child_env(engine), start_new_session=True)
            try:
                code: int | None = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                code = None
        leftovers = _reap_session(proc.pid, grace=0.0 if code is None else 5.0)
        if code is None:
            proc.wait()
        record = json.loads(out.read_text()) if out.exists() else {"queries": {}}
    record.setdefault("skipped", None)
    record["errors"] = []
    if code != 0:
        why = "timed out" if code is None else f"exited with {code}"
        record["errors"].append(f"{why} during {record.get('running')} (see {log})")
    if leftovers:
        record["errors"].append(f"processes left running after exit, killed: {leftovers}")
    return record


# --------------------------------------------------------------------------------------
# The parent: the data, the engines one after the other, the table.
# --------------------------------------------------------------------------------------


def cell(rec: dict[str, Any] | None, key: str, field: str = "values") -> str:
    if rec is None:
        return "not run"
    if rec.get("skipped"):
        return "skipped"
    entry = rec["queries"].get(key)
    if not entry:
        return "–"
    if entry["error"] and not entry[field]:
        if rec["engine"] == "sparkbook" and key == "Q3":
            return "not supported yet"
        return "error"
    return report.fmt_summary(entry[field])


def medians(rec: dict[str, Any] | None, key: str, field: str = "values") -> list[float]:
    entry = (rec or {}).get("queries", {}).get(key) or {}
    return entry.get(field) or []


def build_table(records: dict[str, dict[str, Any]], queries: list[Query], markdown: bool,
                mismatched: set[tuple[str, str]]) -> str:
    engines = [e for e in ENGINES if e in records]
    header = ["query", *(f"{e} median (min–max)" for e in engines),
              "pyspark ÷ sparkbook (target ≥ 5×)", "sparkbook ÷ duckdb (target ≤ 3×)"]
    rows = []
    for q in queries:
        unit = "ms" if q.ms else "s"
        rows_for = [("values", q.title), ("cpu", f"{q.key}: CPU {unit} of all its processes")]
        if q.rss:
            rows_for.append(("rss_mb", "Q5 peak RSS of all the engine's processes (MB)"))
        for field, title in rows_for:
            cells = [title]
            for e in engines:
                text = cell(records.get(e), q.key, field)
                if (q.key, e) in mismatched:
                    text += " **MISMATCH**" if markdown else " MISMATCH"
                cells.append(text)
            sb = medians(records.get("sparkbook"), q.key, field)
            cells.append(report.slowdown(medians(records.get("pyspark"), q.key, field), sb,
                                         False))
            cells.append("–" if q.ms else report.slowdown(
                sb, medians(records.get("duckdb"), q.key, field), False))
            rows.append(cells)
    return report.render(header, rows, markdown)


def check_results(records: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Each engine's results against DuckDB's (or the first engine's), and across its runs."""
    problems = []
    for key in BY_KEY:
        seen = {e: r["queries"][key]["results"] for e, r in records.items()
                if r.get("queries", {}).get(key, {}).get("results")}
        for e, results in seen.items():
            if len(results) > 1:
                problems.append((key, e, f"{e} gave different results across runs"))
        ref = "duckdb" if "duckdb" in seen else next(iter(seen), None)
        for e, results in seen.items():
            if results[0] != seen[ref][0]:
                brief = lambda r: json.dumps(r)[:200]  # noqa: E731
                problems.append((key, e, f"{e} returned {brief(results[0])} but {ref} "
                                          f"returned {brief(seen[ref][0])}"))
    return problems


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--scale", type=float, default=1.0,
                   help="multiply every row count and the CSV size (0.1 for a quick run)")
    p.add_argument("--only", help="comma-separated queries, e.g. Q1,Q6 (default: all)")
    p.add_argument("--engines", default=",".join(ENGINES), help="subset of %(default)s")
    p.add_argument("--repeat", type=int, default=3, help="timed runs after one warm-up")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per engine")
    p.add_argument("--markdown", action="store_true", help="print a GitHub markdown table")
    hidden = argparse.SUPPRESS
    p.add_argument("--_child", help=hidden)
    p.add_argument("--_out", type=Path, help=hidden)
    p.add_argument("--_log", type=Path, help=hidden)
    args = p.parse_args(argv)
    args.engines = [e.strip().lower() for e in args.engines.split(",") if e.strip()]
    if set(args.engines) - set(ENGINES):
        p.error(f"unknown engine: {', '.join(sorted(set(args.engines) - set(ENGINES)))}")
    args.queries = select_queries(args.only)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args._child:
        return child_main(args._child, args.queries, args.scale, args.repeat, args._out,
                          args._log)
    say = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    ensure_data(args.scale, say)
    records = {}
    t0 = time.perf_counter()
    for engine in args.engines:
        say(f"== {engine}: {', '.join(q.key for q in args.queries)}, "
            f"1 warm-up + {args.repeat} runs each")
        records[engine] = run_engine(engine, args.queries, args.scale, args.repeat,
                                     args.timeout)
    elapsed = time.perf_counter() - t0
    _write_json(OUT_DIR / "sql-last-run.json", {"argv": sys.argv[1:], "records": records})
    problems = check_results(records)
    for key, _, msg in problems:
        say(f"!!! RESULT MISMATCH in {key}: {msg}")
    mismatched = {(key, e) for key, e, _ in problems}
    print(build_table(records, args.queries, args.markdown, mismatched))
    load = os.getloadavg()
    notes = [f"scale {args.scale:g}, master {MASTER}, {os.cpu_count()} CPUs, python "
             f"{sys.version.split()[0]}, {time.strftime('%Y-%m-%d %H:%M')}, load average at "
             f"the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, harness {elapsed:.0f} s"]
    errors = []
    for engine, rec in records.items():
        if rec.get("skipped"):
            notes.append(f"{engine} skipped: {rec['skipped']}")
        errors += [f"{engine}: {e}" for e in rec["errors"]]
        errors += [f"{engine}: {k}: {q['error']}" for k, q in rec["queries"].items()
                   if q["error"]]
    notes += [f"ERROR {e}" for e in errors] + [f"MISMATCH in {k}: {m}" for k, _, m in problems]
    bullet = "- " if args.markdown else "  "
    print("\n" + "\n".join(bullet + n for n in notes))
    return 1 if problems or errors else 0


if __name__ == "__main__":
    sys.exit(main())
