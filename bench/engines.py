"""The three engines side by side, through real kernels: the figures issue 11 asks for.

- how long ``%spark connect --engine pyspark local[2]`` takes to be ready (a fresh kernel
  each time: the JVM's start is the point), beside sparkbook's ``%spark start -e 2``;
- the widget's update rate on each engine while a job of about 8 s runs (widget state
  messages per second the front end receives);
- with ``--lessons`` (alone): every lesson on sparkbook and on classic pyspark ``local[2]``, the
  fraction of code cells that run unchanged and of those that print what they print on
  sparkbook (cells tagged ``sparkbook-only`` count as not unchanged).

Run: ``python bench/engines.py [--repeat 3] [--lessons]`` (needs the pyspark extra and
Java 17). One Spark at a time: every kernel is stopped before the next starts.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

from sparkbook.notebook.engines.compat import Kernel, compare, run_lessons
from sparkbook.notebook.engines.runtime import start_connect_server
from sparkbook.notebook.lessons import lesson_paths

QUIET = "--conf spark.ui.showConsoleProgress=false"
RDD_JOB = ("%%spark\nimport time\n"
           "sc.parallelize(range(16), 4).map(lambda x: time.sleep(1) or x).count()")
# Spark Connect has no RDDs: a query whose four tasks sleep 1 s each, four times.
SQL_JOB = ("%%spark\nlen(spark.range(0, 16, 1, 4).selectExpr(\"reflect('java.lang.Thread', "
           "'sleep', cast(1000 as bigint)) AS s\").collect())")


def ready_seconds(start: str) -> float:
    kernel = Kernel()
    try:
        kernel.run("%load_ext sparkbook")
        cell = kernel.run(start)
        assert cell.error is None, cell.error
        return cell.seconds
    finally:
        kernel.run("%spark stop")
        kernel.close()


def update_rate(start: str, job: str) -> tuple[float, float, float]:
    """Widget updates per second over the whole cell and between its first and last
    update (Spark Connect reports nothing while a query is planned), and the cell's time."""
    kernel = Kernel()
    try:
        kernel.run("%load_ext sparkbook")
        assert kernel.run(start).error is None
        kernel.run("%%spark\nspark.range(4).count()" if "sc://" in start
                   else "%%spark\nsc.parallelize(range(4), 4).count()")  # warm the workers
        cell = kernel.run(job)
        assert cell.error is None, cell.error
        times = cell.updates
        live = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
        return len(times) / cell.seconds, live, cell.seconds
    finally:
        kernel.run("%spark stop")
        kernel.close()


def lessons() -> None:
    paths = lesson_paths()
    base = run_lessons(paths, "sparkbook")
    spark = run_lessons(paths, "pyspark")
    total = ran = same = 0
    print(f"{'lesson':<40} {'cells':>5} {'skipped':>7} {'ran':>4} {'same output':>11}")
    for b, s in zip(base, spark):
        row = compare(b, s)
        total, ran, same = total + row["cells"], ran + row["ran"], same + row["same_output"]
        print(f"{row['lesson']:<40} {row['cells']:>5} {row['skipped']:>7} {row['ran']:>4} "
              f"{row['same_output']:>11}")
        for index, (name, value) in row["failed"].items():
            print(f"    cell {index}: {name}: {value.splitlines()[0][:100] if value else ''}")
    broken = sum(r is not None and r.error is not None for run in base for r in run.cells)
    print(f"sparkbook: {total - broken}/{total} code cells ran")
    print(f"pyspark local[2]: {ran}/{total} code cells ran unchanged ({ran / total:.0%}), "
          f"{same}/{total} printed what they print on sparkbook ({same / total:.0%})")
    print(f"lesson run time: sparkbook {sum(r.seconds for r in base):.0f} s, "
          f"pyspark {sum(r.seconds for r in spark):.0f} s")


def report(label: str, rate: float, live: float, took: float) -> None:
    print(f"widget: {label:<10} {rate:4.1f} updates/s over a {took:.1f} s cell, "
          f"{live:4.1f}/s from its first update to its last", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lessons", action="store_true",
                        help="only the lessons' compatibility run")
    args = parser.parse_args()
    if args.lessons:
        lessons()
        return
    for label, start in (("sparkbook %spark start -e 2", "%spark start -e 2"),
                         ("%spark connect --engine pyspark local[2]",
                          f"%spark connect --engine pyspark local[2] {QUIET}")):
        times = [ready_seconds(start) for _ in range(args.repeat)]
        print(f"ready: {label:<42} median {statistics.median(times):5.1f} s "
              f"(min {min(times):.1f}, max {max(times):.1f}, n={len(times)})", flush=True)
    for label, start, job in (("sparkbook", "%spark start -e 2", RDD_JOB),
                              ("pyspark", f"%spark connect --engine pyspark local[2] {QUIET}",
                               RDD_JOB)):
        report(label, *update_rate(start, job))
    url, stop = start_connect_server(tempfile.mkdtemp(prefix="sparkbook-bench-connect-"))
    try:
        report("connect", *update_rate(f"%spark connect {url}", SQL_JOB))
    finally:
        stop()


if __name__ == "__main__":
    main()
