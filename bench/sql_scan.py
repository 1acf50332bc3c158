"""File scans after the optimizer, measured: a query that reads one or two of seven columns
of 1M rows, from CSV (columns pruned: pyarrow parses only those) and parquet (columns
pruned, the filter pushed into pyarrow, row groups skipped by their statistics on a sorted
column), on sparkbook ``local[2]``, median of 3 (the schema inference is not timed). Run
``python3 bench/sql_scan.py`` (``PYTHONPATH`` chooses the tree, to compare two)."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

ROWS = 1_000_000


def write_files(folder: Path) -> None:
    rng = np.random.default_rng(1)
    table = pa.table({
        "a": rng.integers(0, 1000, ROWS), "b": rng.random(ROWS),
        "c": pa.array([f"name{i % 5000}" for i in range(ROWS)]),
        "d": rng.integers(0, 10 ** 9, ROWS), "e": rng.random(ROWS),
        "f": pa.array([f"city{i % 97}" for i in range(ROWS)]), "s": np.arange(ROWS)})
    pcsv.write_csv(table, folder / "wide.csv")
    pq.write_table(table, folder / "wide.parquet", row_group_size=100_000)


def main() -> None:
    from sparkbook.sql import SparkSession
    from sparkbook.sql import functions as F

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_files(folder)
        spark = SparkSession.builder.master("local[2]").getOrCreate()
        csv = spark.read.csv(str(folder / "wide.csv"), header=True, inferSchema=True)
        par = spark.read.parquet(str(folder / "wide.parquet"))
        queries = {
            "csv: sum(d) where a < 10": lambda: csv.where("a < 10").agg(F.sum("d")).collect(),
            "parquet: sum(d) where a < 10":
                lambda: par.where("a < 10").agg(F.sum("d")).collect(),
            "parquet: count where s < 1000 (sorted)": lambda: par.where("s < 1000").count(),
        }
        for name, query in queries.items():
            times = []
            for _ in range(3):
                started = time.perf_counter()
                query()
                times.append(time.perf_counter() - started)
            print(f"{name:42s} median {statistics.median(times):.3f} s", file=sys.stdout)
        spark.stop()


if __name__ == "__main__":
    main()
