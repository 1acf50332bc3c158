"""The scalar function kernels over one 1M-row record batch, in one process, against the
same work done row by row in Python (what a Python UDF costs), median of 3 after a warm-up.

Each sparkbook expression is analyzed (resolved and typed) and run by the executors'
``BatchEvaluator``, exactly as a task runs it. Run: ``python bench/sql_functions.py``.
"""

from __future__ import annotations

import datetime
import re
import statistics
import time

import pyarrow as pa

from sparkbook.sql import functions as F
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst.analyzer import resolve
from sparkbook.sql.catalyst.typecoercion import type_tree
from sparkbook.sql.execution.evaluate import BatchEvaluator
from sparkbook.sql.types import StringType


def _median_ms(f, repeat: int = 3) -> float:
    f()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    n = 1_000_000
    ts = [f"2020-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:{i % 60:02d}"
          for i in range(n)]
    words = [f"a{i % 1000}-b{i % 7}-c" for i in range(n)]
    batch = pa.RecordBatch.from_arrays([pa.array(ts), pa.array(words)], ["0", "1"])
    attrs = [e.AttributeReference("ts", StringType()), e.AttributeReference("s", StringType())]
    ev = BatchEvaluator(attrs)
    pattern = re.compile(r"(\d+)")
    cases = [
        ("to_timestamp(ts, 'yyyy-MM-dd HH:mm:ss')",
         F.to_timestamp("ts", "yyyy-MM-dd HH:mm:ss"),
         lambda: [datetime.datetime.strptime(v, "%Y-%m-%d %H:%M:%S") for v in ts]),
        ("cast(ts as timestamp)", F.col("ts").cast("timestamp"),
         lambda: [datetime.datetime.fromisoformat(v) for v in ts]),
        ("date_format(ts, 'yyyy/MM/dd')", F.date_format(F.to_timestamp("ts"), "yyyy/MM/dd"),
         lambda: [datetime.datetime.fromisoformat(v).strftime("%Y/%m/%d") for v in ts]),
        ("split(s, '-')", F.split("s", "-"), lambda: [v.split("-") for v in words]),
        ("regexp_extract(s, '(\\d+)', 1)", F.regexp_extract("s", r"(\d+)", 1),
         lambda: [(m.group(1) if (m := pattern.search(v)) else "") for v in words]),
        ("substring(s, 2, 3)", F.substring("s", 2, 3), lambda: [v[1:4] for v in words]),
    ]
    print(f"{'1M rows':44} {'kernel':>10} {'row by row':>11}")
    for label, column, by_row in cases:
        typed = type_tree(resolve(column._expr, attrs))
        kernel = _median_ms(lambda typed=typed: ev.column(typed, batch))
        python = _median_ms(by_row)
        print(f"{label:44} {kernel:8.1f} ms {python:8.1f} ms")


if __name__ == "__main__":
    main()
