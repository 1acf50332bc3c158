"""The per-task aggregation kernel, measured: pyarrow's ``Table.group_by().aggregate()``
against DuckDB over the same Arrow table, 5M rows into 1,000 groups (sum, avg, count,
min, max), median of 3. Run: ``python3 bench/sql_aggregate.py``."""

from __future__ import annotations

import statistics
import time

import numpy as np
import pyarrow as pa

ROWS, GROUPS = 5_000_000, 1_000


def table() -> pa.Table:
    rng = np.random.default_rng(0)
    return pa.table({"k": pa.array(rng.integers(0, GROUPS, ROWS)),
                     "name": pa.array([f"n{i}" for i in range(GROUPS)]).take(
                         pa.array(rng.integers(0, GROUPS, ROWS))),
                     "v": pa.array(rng.random(ROWS))})


def with_pyarrow(t: pa.Table, key: str) -> pa.Table:
    return t.group_by(key, use_threads=False).aggregate(
        [("v", "sum"), ("v", "mean"), ("v", "count"), ("v", "min"), ("v", "max")])


def with_duckdb(t: pa.Table, key: str) -> pa.Table:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads TO 1")  # one task, one core: as a task runs
    con.register("t", t)
    return con.execute(f"SELECT {key}, sum(v), avg(v), count(v), min(v), max(v) FROM t "
                       f"GROUP BY {key}").to_arrow_table()


def with_sparkbook(t: pa.Table, key: str) -> pa.Table:
    """sparkbook's partial step itself (dense group ids, then each aggregate by id)."""
    from sparkbook.sql import functions as F
    from sparkbook.sql.catalyst import expressions as e
    from sparkbook.sql.catalyst.typecoercion import type_tree
    from sparkbook.sql.execution.aggregate import partial
    from sparkbook.sql.types import DoubleType, LongType, StringType

    attrs = [e.AttributeReference("k", LongType()), e.AttributeReference("name", StringType()),
             e.AttributeReference("v", DoubleType())]
    by = {a.name: a for a in attrs}
    funcs = [type_tree(f(by["v"]._expr if hasattr(by["v"], "_expr") else F.col("v")._expr))
             for f in ()]
    from sparkbook.sql.catalyst.aggregates import AggregateFunction

    funcs = [type_tree(AggregateFunction(n, [by["v"]])) for n in
             ("sum", "avg", "count", "min", "max")]
    named = t.rename_columns(["0", "1", "2"])
    return partial(named, attrs, [by[key]], funcs)


def median_seconds(f, *args) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        f(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


if __name__ == "__main__":
    t = table()
    for key in ("k", "name"):
        for name, f in (("pyarrow", with_pyarrow), ("duckdb", with_duckdb),
                        ("sparkbook", with_sparkbook)):
            print(f"{name:8} group by {key:5} {median_seconds(f, t, key) * 1000:8.1f} ms")
