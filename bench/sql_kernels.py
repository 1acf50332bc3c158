"""How a stage's operators run over a batch: pyarrow.compute or DuckDB over Arrow.

A projection and a filter (``upper(name), age + 1 WHERE age > 30``) of one 5M-row record
batch, in one process, median of 3 after a warm-up; and the same on a 100-row batch, the
size of a course's small query. Run: ``python bench/sql_kernels.py`` (DuckDB with one
thread, as one task has one core).
"""

from __future__ import annotations

import statistics
import time

import pyarrow as pa
import pyarrow.compute as pc


def with_pyarrow(batch: pa.RecordBatch) -> pa.RecordBatch:
    kept = batch.filter(pc.greater(batch.column(1), 30))
    return pa.RecordBatch.from_arrays(
        [pc.utf8_upper(kept.column(0)), pc.add_checked(kept.column(1), 1)],
        ["upper(name)", "(age + 1)"])


def main() -> None:
    import duckdb

    n = 5_000_000
    batch = pa.RecordBatch.from_arrays(
        [pa.array([f"name{i % 1000}" for i in range(n)]), pa.array([i % 97 for i in range(n)],
                                                                   pa.int64())],
        ["name", "age"])
    con = duckdb.connect()
    con.execute("SET threads=1")

    def with_duckdb(t: pa.RecordBatch) -> pa.Table:
        return con.sql('SELECT upper(name) AS "upper(name)", age + 1 AS "(age + 1)" '
                       "FROM t WHERE age > 30").to_arrow_table()

    for label, data, repeat in (("5M rows", batch, 3), ("100 rows", batch.slice(0, 100), 200)):
        for name, f in (("pyarrow.compute", with_pyarrow), ("duckdb", with_duckdb)):
            f(data)
            times = []
            for _ in range(3):
                start = time.perf_counter()
                for _ in range(repeat):
                    f(data)
                times.append((time.perf_counter() - start) / repeat)
            print(f"{label:>9} {name:16} {statistics.median(times) * 1000:9.2f} ms")


if __name__ == "__main__":
    main()
