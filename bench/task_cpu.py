"""CPU per task of W3 (one-element tasks) in each process of a local[2] cluster.

    python bench/task_cpu.py [--jobs 3] [--tasks 2000]

Runs W3's job ``--jobs`` times and divides each process's user + system CPU time (psutil)
by the number of tasks: what one task costs the driver, each executor and the manager.
"""

from __future__ import annotations

import argparse
import os
import time

import psutil

import sparkbook


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=2000)
    args = parser.parse_args()
    sc = sparkbook.SparkContext("local[2]", "task-cpu")
    try:
        pids = sc.cluster.local_processes()
        names = {os.getpid(): "driver", pids["manager"]: "manager"}
        names.update({pid: f"executor {i}" for i, pid in enumerate(pids["executors"])})
        procs = {name: psutil.Process(pid) for pid, name in names.items()}
        sc.parallelize(range(args.tasks), args.tasks).count()  # warm up
        before = {name: cpu_seconds(p) for name, p in procs.items()}
        started = time.perf_counter()
        for _ in range(args.jobs):
            sc.parallelize(range(args.tasks), args.tasks).map(lambda x: x).count()
        elapsed = time.perf_counter() - started
        tasks = args.jobs * args.tasks
        print(f"{tasks / elapsed:,.0f} tasks/s")
        for name, p in procs.items():
            print(f"{name:>10}: {(cpu_seconds(p) - before[name]) / tasks * 1e6:6.0f} µs a task")
    finally:
        sc.stop()


if __name__ == "__main__":
    main()
