"""The Window operator's kernel, measured: sparkbook's numpy kernel against DuckDB's window
operator (one thread, as one task runs) over the same Arrow table, already sorted by
(partition key, order key) as the Sort before a Window leaves it: 2M rows in 1,000
partitions, ``row_number``, ``lag``, a running ``sum`` (RANGE, ties share it) and a sliding
``max`` over 10 rows, median of 3. Run: ``python3 bench/sql_window.py``."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from sql_aggregate import median_seconds  # bench/ is the script's folder

ROWS, KEYS = 2_000_000, 1_000


def table() -> pa.Table:
    rng = np.random.default_rng(0)
    t = pa.table({"k": pa.array(rng.integers(0, KEYS, ROWS)),
                  "t": pa.array(rng.integers(0, ROWS // 10, ROWS)),
                  "v": pa.array(rng.random(ROWS))})
    return t.sort_by([("k", "ascending"), ("t", "ascending")])


def with_duckdb(t: pa.Table) -> pa.Table:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads TO 1")
    con.register("t", t)
    return con.sql(
        "SELECT k, t, v, row_number() OVER w, lag(v) OVER w, sum(v) OVER w, "
        "max(v) OVER (w ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) FROM t "
        "WINDOW w AS (PARTITION BY k ORDER BY t)").to_arrow_table()


def sparkbook_kernel():
    """The kernel and what the driver hands it: the window expressions, typed and framed."""
    from sparkbook.sql import functions as F
    from sparkbook.sql.catalyst import expressions as e
    from sparkbook.sql.catalyst.typecoercion import type_tree
    from sparkbook.sql.catalyst.windows import resolve_frames
    from sparkbook.sql.execution.window import _prepare, _window
    from sparkbook.sql.types import DoubleType, LongType
    from sparkbook.sql.window import Window

    attrs = [e.AttributeReference("k", LongType()), e.AttributeReference("t", LongType()),
             e.AttributeReference("v", DoubleType())]
    k, o, v = (F.col(a.name) for a in attrs)
    w = Window.partitionBy(k).orderBy(o)
    columns = [F.row_number().over(w), F.lag(v).over(w), F.sum(v).over(w),
               F.max(v).over(w.rowsBetween(-10, 0))]
    from sparkbook.sql.catalyst.analyzer import resolve

    exprs = [resolve_frames(type_tree(resolve(c._expr, attrs))) for c in columns]
    functions = [_prepare(x, x.dtype) for x in exprs]
    spec = exprs[0].spec
    return lambda t: list(_window(attrs, spec.partition, spec.order, functions,
                                  iter(t.rename_columns(["0", "1", "2"]).to_batches())))


if __name__ == "__main__":
    t = table()
    kernel = sparkbook_kernel()
    out = pa.Table.from_batches(kernel(t))
    reference = with_duckdb(t)
    # The same row numbers (ties of (k, t), whose order either may choose, are rare here).
    assert out.column(3).to_pylist()[:1000] == reference.column(3).to_pylist()[:1000]
    for name, f in (("duckdb", with_duckdb), ("sparkbook", kernel)):
        print(f"{name:10} {median_seconds(f, t) * 1000:8.1f} ms")
