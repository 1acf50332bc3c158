#!/usr/bin/env python3
"""Run the same RDD workloads on sparkbook, plain Python and PySpark, and compare them.

    python bench/run.py [--backends sparkbook,python,pyspark] [--workloads W1,W2,...]
                        [--repeat 3] [--pyspark-repeat N] [--markdown]

Each backend runs in its own child process (``--_child``), so that one backend's memory,
threads and JVM never weigh on another's numbers, and a hung engine can be killed without
losing the rest of the run. W1 starts one more fresh process per repetition (``--_w1``).
Backend output (Spark's log, progress bars) goes to ``bench/out/logs/``; the table goes to
stdout and progress to stderr, so ``--markdown > file`` captures only the table.

The functions that travel to executors are defined in this file on purpose: run as a
script it is ``__main__``, which cloudpickle ships by value (as it does for notebook
cells), so no executor needs ``bench/`` on its import path. Helper modules are only ever
used on the driver side.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, pairwise
from operator import add
from pathlib import Path
from typing import Any, TextIO

import report
import textgen

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "out"
LOG_DIR = OUT_DIR / "logs"
BACKENDS = ("sparkbook", "python", "pyspark")
MASTER = "local[2]"
SEED = 20261125

W2_RUNS = 50
W3_TASKS = 2_000
W4_N = 20_000_000
W5_BYTES = 50 * 2**20
W5_PATH = OUT_DIR / f"words-50MiB-seed{SEED}.txt"
W6_LEFT, W6_KEYS = 1_000_000, 200_000
W7_N = 2_000_000
W8_N = 200_000
W9_N = 5_000_000
W10_BYTES = 20 * 2**20

# --------------------------------------------------------------------------------------
# The user functions. Every backend calls these same objects; for sparkbook and PySpark
# they are shipped to executors, for plain Python they are passed to map/filter/sorted.
# --------------------------------------------------------------------------------------

w3_f = lambda x: x + 1
w4_square_mod7 = lambda x: x * x % 7
w4_gt2 = lambda x: x > 2
w5_pair = lambda w: (w, 1)
# Pseudo-random but seeded keys: multiplying by an odd constant modulo 2**32 is a
# bijection, so the 2M keys are distinct and scattered, and every backend gets the same
# ones without shipping a 2M-element list from the driver (which W6 already measures).
w7_pair = lambda i: (((i + SEED) * 2654435761) & 0xFFFFFFFF, i)
w7_key = lambda kv: kv[0]
w8_expensive = lambda x: sum([(x * i) % 7 for i in range(40)])


def w10_fn(b: Any) -> Callable[[int], int]:
    """The W10 map function, closing over a broadcast (or the plain-Python stand-in)."""
    return lambda x: len(b.value) + x


def summarize_sorted(keys: Iterable[int]) -> Iterator[tuple[int, Any, Any, bool]]:
    """Yield one ``(count, first, last, ascending)`` summary of a stream of keys.

    Run per partition after ``sortByKey``, it forces every partition to be sorted and
    read in full, and lets the driver check the global order without collecting 2M keys.
    """
    n, first, last, ascending = 0, None, None, True
    for k in keys:
        if n == 0:
            first = k
        elif k < last:
            ascending = False
        last = k
        n += 1
    yield (n, first, last, ascending)


class Held:
    """Plain-Python stand-in for a Broadcast: the value, already in the one process."""

    def __init__(self, value: Any) -> None:
        self.value = value


# --------------------------------------------------------------------------------------
# Workloads. ``rdd`` runs on sparkbook and PySpark with the exact same code; ``python``
# is the idiomatic single-process equivalent. Only ``rdd``/``python`` are timed; setup
# and teardown are not.
# --------------------------------------------------------------------------------------

State = dict[str, Any]


def w2_rdd(sc: Any, st: State) -> int:
    return sc.parallelize(range(10), 2).count()


def w2_py(st: State) -> int:
    return sum(1 for _ in range(10))


def w3_rdd(sc: Any, st: State) -> int:
    return sc.parallelize(range(W3_TASKS), W3_TASKS).map(w3_f).count()


def w3_py(st: State) -> int:
    # One single-element slice per "task", each counted on its own, as the tasks do.
    parts = [range(i, i + 1) for i in range(W3_TASKS)]
    return sum(sum(1 for _ in map(w3_f, part)) for part in parts)


def w4_rdd(sc: Any, st: State) -> int:
    return sc.parallelize(range(W4_N), 4).map(w4_square_mod7).filter(w4_gt2).sum()


def w4_py(st: State) -> int:
    return sum(filter(w4_gt2, map(w4_square_mod7, range(W4_N))))


def w5_rdd(sc: Any, st: State) -> int:
    return sc.textFile(str(W5_PATH), 8).flatMap(str.split).map(w5_pair).reduceByKey(add).count()


def w5_py(st: State) -> int:
    # Counter's C counting loop is how one counts words in plain Python; it replaces
    # map(w5_pair) + reduceByKey(add), which only exist to express counting as a shuffle.
    with open(W5_PATH, encoding="utf-8") as f:
        return len(Counter(chain.from_iterable(map(str.split, f))))


def w5_same_code_py(st: State) -> int:
    # The workload's own functions in one process, as the single-process figure
    # (4.5 s) measured it: split, pair each word, add the pairs up by key.
    counts: dict[str, int] = {}
    with open(W5_PATH, encoding="utf-8") as f:
        for word, n in map(w5_pair, chain.from_iterable(map(str.split, f))):
            counts[word] = add(counts[word], n) if word in counts else n
    return len(counts)


def w6_rdd(sc: Any, st: State) -> int:
    a = sc.parallelize([(i % W6_KEYS, i) for i in range(W6_LEFT)], 4)
    b = sc.parallelize([(k, -k) for k in range(0, 2 * W6_KEYS, 2)], 4)
    return a.join(b).count()


def w6_py(st: State) -> int:
    a = [(i % W6_KEYS, i) for i in range(W6_LEFT)]
    b = [(k, -k) for k in range(0, 2 * W6_KEYS, 2)]
    # A hash join: build a multimap of the smaller side, probe it with the larger one.
    table: dict[int, list[int]] = {}
    for k, w in b:
        table.setdefault(k, []).append(w)
    joined = [(k, (v, w)) for k, v in a for w in table.get(k, ())]
    return len(joined)


def w7_rdd(sc: Any, st: State) -> list[tuple[int, Any, Any, bool]]:
    pairs = sc.parallelize(range(W7_N), 4).map(w7_pair)
    return pairs.sortByKey().mapPartitions(lambda it: summarize_sorted(map(w7_key, it))).collect()


def w7_py(st: State) -> list[tuple[int, Any, Any, bool]]:
    ordered = sorted(map(w7_pair, range(W7_N)), key=w7_key)
    return list(summarize_sorted(map(w7_key, ordered)))


def w7_digest(parts: list[tuple[int, Any, Any, bool]]) -> list[Any]:
    """Combine per-partition summaries into (count, min key, max key, globally sorted)."""
    parts = [p for p in parts if p[0]]
    ascending = all(p[3] for p in parts) and all(a[2] <= b[1] for a, b in pairwise(parts))
    return [sum(p[0] for p in parts), parts[0][1], parts[-1][2], ascending]


def w8_setup(cached: bool) -> Callable[[Any, State], None]:
    def setup(sc: Any, st: State) -> None:
        if sc is None:
            if cached:  # plain Python's cache is the materialised list
                st["data"] = list(map(w8_expensive, range(W8_N)))
            return
        rdd = sc.parallelize(range(W8_N), 4).map(w8_expensive)
        if cached:
            rdd.cache()
            rdd.count()  # the warm-up action that fills the cache; not timed
        st["rdd"] = rdd

    return setup


def w8_rdd(sc: Any, st: State) -> tuple[int, ...]:
    rdd = st["rdd"]
    return (rdd.count(), rdd.sum(), rdd.min(), rdd.max(), rdd.count())


def w8_teardown(sc: Any, st: State) -> None:
    st["rdd"].unpersist()


def w8_cached_py(st: State) -> tuple[int, ...]:
    d = st["data"]
    return (len(d), sum(d), min(d), max(d), len(d))


def w8_uncached_py(st: State) -> tuple[int, ...]:
    def m() -> Iterator[int]:
        return map(w8_expensive, range(W8_N))

    return (sum(1 for _ in m()), sum(m()), min(m()), max(m()), sum(1 for _ in m()))


def w9_rdd(sc: Any, st: State) -> list[int]:
    return sc.parallelize(range(W9_N), 4).collect()


def w9_py(st: State) -> list[int]:
    return list(range(W9_N))


def w9_digest(r: list[int]) -> list[Any]:
    return [len(r), sum(r), r[:3], r[-3:], all(a < b for a, b in pairwise(r))]


def w10_setup(sc: Any, st: State) -> None:
    # The payload is the program's existing data, like W5's file: made before timing.
    st["payload"] = random.Random(SEED).randbytes(W10_BYTES)


def w10_rdd(sc: Any, st: State) -> int:
    b = st["bc"] = sc.broadcast(st["payload"])
    return sc.parallelize(range(1000), 8).map(w10_fn(b)).sum()


def w10_teardown(sc: Any, st: State) -> None:
    if "bc" in st:
        st["bc"].destroy()


def w10_py(st: State) -> int:
    b = Held(st["payload"])
    return sum(map(w10_fn(b), range(1000)))


@dataclass(frozen=True)
class Metric:
    """One row of the result table."""

    key: str
    title: str
    higher_is_better: bool = False


@dataclass(frozen=True)
class Case:
    """A timed piece of work producing one metric (and maybe a peak-RSS metric)."""

    metric: str
    rdd: Callable[[Any, State], Any]
    python: Callable[[State], Any]
    setup: Callable[[Any, State], None] | None = None  # sc is None for plain Python
    teardown: Callable[[Any, State], None] | None = None  # RDD backends only
    digest: Callable[[Any], Any] = lambda r: r
    to_unit: Callable[[float], float] = lambda s: s  # seconds -> the reported unit
    runs: int | None = None  # a fixed number of timed runs instead of --repeat
    rss_metric: str | None = None


METRICS = [
    Metric("W1", "W1 start: import + context + first job (s)"),
    Metric("W1wall", "W1 process wall incl. interpreter and stop (s)"),
    Metric("W2", f"W2 trivial job, {W2_RUNS} runs (ms)"),
    Metric("W3", f"W3 {W3_TASKS} one-element tasks (tasks/s)", higher_is_better=True),
    Metric("W4", "W4 narrow CPU map/filter/sum 20M (s)"),
    Metric("W5", "W5 word count 50 MiB (s)"),
    Metric("W5same", "W5 against the same functions in one process (s)"),
    Metric("W5rss", "W5 peak RSS, driver + descendants (MB)"),
    Metric("W6", "W6 join 1M x 200k (s)"),
    Metric("W7", "W7 sortByKey 2M pairs (s)"),
    Metric("W8cached", "W8 5 actions on cached RDD (s)"),
    Metric("W8uncached", "W8 same 5 actions, no cache (s)"),
    Metric("W9", "W9 collect 5M ints (s)"),
    Metric("W10", "W10 20 MiB broadcast in a map (s)"),
]

CASES: dict[str, list[Case]] = {
    "W2": [Case("W2", w2_rdd, w2_py, to_unit=lambda s: s * 1000, runs=W2_RUNS)],
    "W3": [Case("W3", w3_rdd, w3_py, to_unit=lambda s: W3_TASKS / s)],
    "W4": [Case("W4", w4_rdd, w4_py)],
    "W5": [Case("W5", w5_rdd, w5_py, rss_metric="W5rss"), Case("W5same", w5_rdd, w5_same_code_py)],
    "W6": [Case("W6", w6_rdd, w6_py)],
    "W7": [Case("W7", w7_rdd, w7_py, digest=w7_digest)],
    "W8": [
        Case("W8cached", w8_rdd, w8_cached_py, w8_setup(True), w8_teardown),
        Case("W8uncached", w8_rdd, w8_uncached_py, w8_setup(False)),
    ],
    "W9": [Case("W9", w9_rdd, w9_py, digest=w9_digest)],
    "W10": [Case("W10", w10_rdd, w10_py, w10_setup, w10_teardown)],
}
WORKLOADS = ("W1", *CASES)


def make_context(backend: str, app_name: str) -> Any:
    """Import the backend and create its SparkContext on ``local[2]``."""
    if backend == "sparkbook":
        import sparkbook

        return sparkbook.SparkContext(MASTER, app_name)
    if backend == "pyspark":
        import pyspark

        return pyspark.SparkContext(MASTER, app_name)
    raise ValueError(f"no SparkContext for backend {backend!r}")


def _jsonable(value: Any) -> Any:
    # Results cross process boundaries as JSON; normalise now so tuples equal lists.
    return json.loads(json.dumps(value))


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text if len(text) < 300 else text[:297] + "..."


# --------------------------------------------------------------------------------------
# Child processes.
# --------------------------------------------------------------------------------------


def w1_main(backend: str, out: Path) -> int:
    """Fresh process: time import + context + first trivial job, then stop."""
    t0 = time.perf_counter()
    if backend == "python":
        result = sum(1 for _ in range(10))
        start = time.perf_counter() - t0
        _write_json(out, {"start_s": start, "stop_s": 0.0, "result": result})
        return 0
    try:
        sc = make_context(backend, "bench-w1")
    except Exception as exc:
        traceback.print_exc()
        _write_json(out, {"skipped": f"SparkContext construction failed: {_describe(exc)}"})
        return 0
    try:
        result = sc.parallelize(range(10), 2).count()
        start = time.perf_counter() - t0
    finally:
        t1 = time.perf_counter()
        sc.stop()
    _write_json(out, {"start_s": start, "stop_s": time.perf_counter() - t1, "result": result})
    return 0


def _redirect_output(log_path: Path) -> TextIO:
    """Send fds 1 and 2 (and so the JVM's and executors' output) to the log file.

    Returns a stream on the original stderr for the harness's own progress lines.
    """
    progress = os.fdopen(os.dup(2), "w", buffering=1)
    sys.stdout.flush()
    sys.stderr.flush()
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    return progress


def _run_case(
    case: Case,
    backend: str,
    sc: Any,
    repeat: int,
    record: dict[str, Any],
    say: Callable[[str], None],
) -> None:
    reps = case.runs or repeat
    entry: dict[str, Any] = {"values": [], "results": [], "error": None}
    record["metrics"][case.metric] = entry
    rss_entry: dict[str, Any] | None = None
    if case.rss_metric:
        rss_entry = {"values": [], "results": [], "error": None}
        record["metrics"][case.rss_metric] = rss_entry
    for i in range(reps):
        st: State = {}
        try:
            if case.setup:
                case.setup(sc, st)
            gc.collect()  # don't bill this run for garbage left by the previous one
            if rss_entry is not None:
                from rssmon import PeakRSS

                with PeakRSS() as peak:
                    t0 = time.perf_counter()
                    raw = case.rdd(sc, st) if sc is not None else case.python(st)
                    elapsed = time.perf_counter() - t0
                rss_entry["values"].append(peak.peak_bytes / 1e6)
            else:
                t0 = time.perf_counter()
                raw = case.rdd(sc, st) if sc is not None else case.python(st)
                elapsed = time.perf_counter() - t0
            entry["values"].append(case.to_unit(elapsed))
            result = _jsonable(case.digest(raw))
            del raw
            if result not in entry["results"]:
                entry["results"].append(result)
        except Exception as exc:
            traceback.print_exc()
            entry["error"] = _describe(exc)
            say(f"[{backend}] {case.metric} FAILED: {entry['error']}")
            return
        finally:
            if sc is not None and case.teardown and st:
                try:
                    case.teardown(sc, st)
                except Exception as exc:
                    traceback.print_exc()
                    record["notes"].append(f"{case.metric} teardown: {_describe(exc)}")
        if reps <= 10:
            value = report.fmt_number(entry["values"][-1])
            say(f"[{backend}] {case.metric} {i + 1}/{reps}: {value}")
    if reps > 10:
        say(f"[{backend}] {case.metric}: median {report.fmt_summary(entry['values'])}")


def child_main(backend: str, workloads: list[str], repeat: int, out: Path, log: Path) -> int:
    """Run the timed workloads of one backend in this process; results go to ``out``."""
    progress = _redirect_output(log)

    def say(msg: str) -> None:
        print(msg, file=progress)

    record: dict[str, Any] = {"backend": backend, "skipped": None, "metrics": {}, "notes": []}
    sc = None
    if backend != "python":
        try:
            sc = make_context(backend, "bench")
        except Exception as exc:
            traceback.print_exc()
            record["skipped"] = f"SparkContext construction failed: {_describe(exc)}"
            _write_json(out, record)
            return 0
    try:
        # One untimed job first: the timed workloads measure a warm context; W1 is cold.
        if sc is not None:
            w2_rdd(sc, {})
        for w in workloads:
            for case in CASES[w]:
                # Saved before and after each case, so a hang or crash keeps the finished
                # cases and tells which one never returned.
                record["running"] = case.metric
                _write_json(out, record)
                _run_case(case, backend, sc, repeat, record, say)
                record["running"] = None
                _write_json(out, record)
    finally:
        if sc is not None:
            record["running"] = "sc.stop()"
            _write_json(out, record)
            t0 = time.perf_counter()
            try:
                sc.stop()
            except Exception as exc:
                traceback.print_exc()
                record["notes"].append(f"sc.stop() failed: {_describe(exc)}")
            record["notes"].append(f"sc.stop() took {time.perf_counter() - t0:.2f} s")
        record["running"] = None
        _write_json(out, record)
    return 0


# --------------------------------------------------------------------------------------
# The parent: spawns the children, checks results, prints the table.
# --------------------------------------------------------------------------------------


def _child_env(backend: str) -> dict[str, str]:
    env = dict(os.environ)
    if backend == "sparkbook":
        # Benchmark the checkout this harness lives in, installed or not; through the
        # environment so that processes sparkbook starts (manager, executors) see it too.
        paths = [str(HERE.parent), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        env["PYTHONPATH"] = os.pathsep.join(paths)
    # PySpark starts its Python workers with $PYSPARK_PYTHON (default: `python3` on PATH);
    # pin them to this interpreter so driver and workers agree on version and packages.
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    return env


def _session_procs(sid: int) -> list[Any]:
    import psutil

    procs = []
    for proc in psutil.process_iter():
        try:
            if proc.pid != os.getpid() and os.getsid(proc.pid) == sid:
                procs.append(proc)
        except (OSError, psutil.Error):
            continue
    return procs


def _reap_session(sid: int, grace: float) -> list[str]:
    """Wait for the child's whole session to exit; kill and report what outlives it.

    Children start in their own session, so everything a backend started (JVM, Python
    workers, manager, executors) shares the child's session id unless it left on purpose.
    """
    import psutil

    deadline = time.monotonic() + grace
    left = _session_procs(sid)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = _session_procs(sid)
    names = []
    for proc in left:
        try:
            names.append(f"{proc.pid} {proc.name()}")
            proc.terminate()
        except psutil.Error:
            pass
    if left:
        _, alive = psutil.wait_procs(left, timeout=3)
        for proc in alive:
            try:
                proc.kill()
            except psutil.Error:
                pass
    return names


def _spawn(
    backend: str, args: list[str], log: Path, timeout: float
) -> tuple[int | None, float, list[str]]:
    """Run ``run.py ARGS`` in a new session; return (exit code or None, wall s, leftovers)."""
    with open(log, "ab") as logf:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *args],
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=subprocess.STDOUT if "--_w1" in args else None,
            env=_child_env(backend),
            start_new_session=True,
        )
        try:
            code: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        wall = time.perf_counter() - t0
    return code, wall, _reap_session(proc.pid, grace=5.0)


def _empty_record(backend: str) -> dict[str, Any]:
    return {"backend": backend, "skipped": None, "metrics": {}, "notes": [], "errors": []}


def run_backend(backend: str, workloads: list[str], repeat: int, timeout: float) -> dict[str, Any]:
    """Run the selected workloads for one backend; return its record of values/results."""
    record = _empty_record(backend)
    log = LOG_DIR / f"{backend}.log"
    log.write_text("")
    say = lambda msg: print(msg, file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        if "W1" in workloads:
            start: dict[str, Any] = {"values": [], "results": [], "error": None}
            wall: dict[str, Any] = {"values": [], "results": [], "error": None}
            record["metrics"].update(W1=start, W1wall=wall)
            for i in range(repeat):
                out = Path(tmp) / f"w1-{i}.json"
                code, elapsed, leftovers = _spawn(
                    backend, ["--_w1", backend, "--_out", str(out)], log, min(timeout, 300)
                )
                if leftovers:
                    record["errors"].append(f"W1: processes left after exit: {leftovers}")
                data = json.loads(out.read_text()) if out.exists() else {}
                if data.get("skipped"):
                    record["skipped"] = data["skipped"]
                    say(f"[{backend}] skipped: {data['skipped']} (see {log})")
                    return record
                if "start_s" not in data:
                    how = "timed out" if code is None else f"failed (exit {code})"
                    start["error"] = f"W1 child {how}; see {log}"
                    say(f"[{backend}] {start['error']}")
                    if code is None:
                        return record  # a context that never came up would hang the rest too
                    break
                start["values"].append(data["start_s"])
                wall["values"].append(elapsed)
                if data["result"] not in start["results"]:
                    start["results"].append(data["result"])
                say(
                    f"[{backend}] W1 {i + 1}/{repeat}: start {data['start_s']:.3g} s, "
                    f"wall {elapsed:.3g} s"
                )
        rest = [w for w in workloads if w != "W1"]
        if not rest:
            return record
        out = Path(tmp) / "child.json"
        args = ["--_child", backend, "--workloads", ",".join(rest), "--repeat", str(repeat)]
        args += ["--_out", str(out), "--_log", str(log)]
        code, _, leftovers = _spawn(backend, args, log, timeout)
        data = json.loads(out.read_text()) if out.exists() else {}
    if data.get("skipped"):
        record["skipped"] = data["skipped"]
        say(f"[{backend}] skipped: {data['skipped']} (see {log})")
        return record
    record["metrics"].update(data.get("metrics", {}))
    record["notes"] += data.get("notes", [])
    if code != 0:
        why = "timed out" if code is None else f"exited with {code}"
        if data.get("running"):
            why += f" during {data['running']}"
        record["errors"].append(f"child process {why} (see {log})")
    if leftovers:
        record["errors"].append(f"processes still running after exit, killed: {leftovers}")
    return record


def check_results(records: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Compare every metric's result across repetitions and backends.

    Returns ``(metric, backend, message)`` for each disagreement; plain Python is the
    reference when it ran, otherwise the first backend that produced a result.
    """
    problems = []
    for metric in METRICS:
        seen = {
            b: r["metrics"][metric.key]["results"]
            for b, r in records.items()
            if r["metrics"].get(metric.key, {}).get("results")
        }
        for backend, results in seen.items():
            if len(results) > 1:
                msg = f"{backend} gave different results across repetitions: {results}"
                problems.append((metric.key, backend, msg))
        if len(seen) < 2:
            continue
        ref = "python" if "python" in seen else next(iter(seen))
        for backend, results in seen.items():
            if results[0] != seen[ref][0]:
                msg = f"{backend} returned {results[0]!r} but {ref} returned {seen[ref][0]!r}"
                problems.append((metric.key, backend, msg))
    return problems


def build_table(records: dict[str, dict[str, Any]], mismatched: set[str], markdown: bool) -> str:
    """The result table: one row per metric, one column per backend, then the ratios."""
    header = [
        "workload",
        *(f"{b} median (min–max)" for b in BACKENDS),
        "sparkbook/python",
        "sparkbook/pyspark",
    ]
    rows = []
    for metric in METRICS:
        if not any(metric.key in r["metrics"] for r in records.values()):
            continue
        values: dict[str, list[float]] = {}
        cells = [metric.title]
        for backend in BACKENDS:
            rec = records.get(backend)
            entry = rec["metrics"].get(metric.key) if rec else None
            if rec is None:
                cells.append("not run")
            elif rec["skipped"]:
                cells.append("skipped")
            elif not entry or (entry["error"] and not entry["values"]):
                cells.append("error" if entry else "–")
            else:
                values[backend] = entry["values"]
                cell = report.fmt_summary(entry["values"])
                if entry["error"]:
                    cell += " (error)"
                if (metric.key, backend) in mismatched:
                    cell += " **MISMATCH**" if markdown else " MISMATCH"
                cells.append(cell)
        sb = values.get("sparkbook", [])
        for other in ("python", "pyspark"):
            cells.append(report.slowdown(sb, values.get(other, []), metric.higher_is_better))
        rows.append(cells)
    return report.render(header, rows, markdown)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; the ``--_*`` ones are the parent-to-child protocol."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--backends", default=",".join(BACKENDS), help="comma-separated subset of %(default)s"
    )
    p.add_argument(
        "--workloads", default=",".join(WORKLOADS), help="comma-separated subset of %(default)s"
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="timed repetitions per workload; the median is reported",
    )
    p.add_argument(
        "--pyspark-repeat",
        type=int,
        default=1,
        help="repetitions for the pyspark backend (its W3 alone takes ~1 min; default: 1)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=1200,
        help="seconds before a backend's child process is killed",
    )
    p.add_argument("--markdown", action="store_true", help="print a GitHub markdown table")
    hidden = argparse.SUPPRESS
    p.add_argument("--_w1", metavar="BACKEND", help=hidden)
    p.add_argument("--_child", metavar="BACKEND", help=hidden)
    p.add_argument("--_out", type=Path, help=hidden)
    p.add_argument("--_log", type=Path, help=hidden)
    args = p.parse_args(argv)
    args.backends = [b.strip().lower() for b in args.backends.split(",") if b.strip()]
    wanted = {w.strip().upper() for w in args.workloads.split(",") if w.strip()}
    wanted = {w if w.startswith("W") else f"W{w}" for w in wanted}
    unknown = sorted(set(args.backends) - set(BACKENDS)) + sorted(wanted - set(WORKLOADS))
    if unknown:
        p.error(f"unknown backend or workload: {', '.join(unknown)}")
    args.workloads = [w for w in WORKLOADS if w in wanted]
    if args.repeat < 1 or args.pyspark_repeat < 1:
        p.error("repetitions must be at least 1")
    args.reps = {b: args.pyspark_repeat if b == "pyspark" else args.repeat for b in BACKENDS}
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the backends, print the table, exit 1 on errors or mismatches."""
    args = parse_args(argv)
    if args._w1:
        return w1_main(args._w1, args._out)
    if args._child:
        return child_main(args._child, args.workloads, args.repeat, args._out, args._log)

    LOG_DIR.mkdir(parents=True, exist_ok=True)
    if "W5" in args.workloads:
        if not W5_PATH.exists():
            print(f"generating {W5_PATH} (once) ...", file=sys.stderr, flush=True)
        textgen.ensure_corpus(W5_PATH, W5_BYTES, SEED)
    records = {}
    t0 = time.perf_counter()
    for backend in args.backends:
        reps = args.reps[backend]
        print(f"== {backend}: {', '.join(args.workloads)} x{reps}", file=sys.stderr, flush=True)
        records[backend] = run_backend(backend, args.workloads, reps, args.timeout)
    elapsed = time.perf_counter() - t0

    # Raw values and result digests, for a closer look than the table gives.
    _write_json(OUT_DIR / "last-run.json", {"argv": sys.argv[1:], "records": records})
    problems = check_results(records)
    mismatched = {(metric, backend) for metric, backend, _ in problems}
    for metric, _, msg in problems:
        print(f"!!! RESULT MISMATCH in {metric}: {msg}", file=sys.stderr, flush=True)
    print(build_table(records, mismatched, args.markdown))

    bullet = "- " if args.markdown else "  "
    notes = [
        f"python {sys.version.split()[0]}, master {MASTER}, {os.cpu_count()} CPUs, "
        f"total harness time {elapsed:.0f} s; ratios are sparkbook ÷ other on medians, "
        "inverted for tasks/s, so >1× always means sparkbook is slower"
    ]
    errors = []
    for backend, rec in records.items():
        reps = args.reps[backend]
        if rec["skipped"]:
            notes.append(f"{backend} skipped: {rec['skipped']}")
        else:
            notes.append(f"{backend}: {reps} repetition(s) per workload (W2: {W2_RUNS} runs)")
        notes += [f"{backend}: {n}" for n in rec["notes"]]
        errors += [f"{backend}: {e}" for e in rec["errors"]]
        errors += [f"{backend}: {k}: {m['error']}" for k, m in rec["metrics"].items() if m["error"]]
    notes += [f"ERROR {e}" for e in errors]
    notes += [f"MISMATCH in {metric}: {msg}" for metric, _, msg in problems]
    print("\n" + "\n".join(bullet + n for n in notes))
    return 1 if problems or errors else 0


if __name__ == "__main__":
    sys.exit(main())
