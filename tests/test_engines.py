"""The same notebook on three engines: sparkbook's own cluster, classic Apache Spark
(``%spark connect --engine pyspark local[2]``) and Spark Connect (``sc://``), through real
Jupyter kernels. The same cells print the same thing, and the same widget follows them.

One Spark at a time: each engine's kernel (and the Connect server) lives for one class.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sparkbook.notebook.engines import engine_for
from sparkbook.notebook.engines.compat import Kernel, compare, run_lessons
from sparkbook.notebook.engines.runtime import (
    free_port,
    java_version,
    require_java,
    require_pyspark,
    start_connect_server,
)
from sparkbook.notebook.lessons import lesson_paths

try:
    require_pyspark()
    require_java()
    SPARK = None
except (ImportError, RuntimeError) as exc:  # no pyspark, or no Java 17+: Spark cannot run
    SPARK = str(exc)

pytestmark = pytest.mark.timeout(900)  # a JVM starts slowly on a busy machine
needs_spark = pytest.mark.skipif(SPARK is not None, reason=f"Apache Spark cannot run: {SPARK}")

RDD_CELLS = [
    "from operator import add\n"
    "words = sc.parallelize(['the driver plans', 'the executors run', 'the end'] * 10, 3)\n"
    "print(sorted(words.flatMap(str.split).map(lambda w: (w, 1)).reduceByKey(add).collect()))",
    "print(sc.parallelize(range(100), 4).glom().map(len).collect())\n"
    "sc.parallelize(range(10)).map(lambda x: x * x).sum()",
]
DF_CELLS = [
    "df = spark.createDataFrame([(1, 'a', 2.5), (2, 'b', 1.0), (3, 'a', 4.0)], ['id', 'k', 'v'])\n"
    "df.groupBy('k').count().orderBy('k').show()",
    "df.filter(df.id > 1).select('k', (df.v * 2).alias('v2')).show()",
    "spark.sql('SELECT 1 + 1 AS two, 7 / 2 AS half').show()",
    "r = spark.range(10)\nr.groupBy((r.id % 3).alias('m')).count().orderBy('m').show()",
]
QUIET = "--conf spark.ui.showConsoleProgress=false"
UNCHANGED_FLOOR = 0.55  # measured 58/97 of the lessons' code cells (bench/engines.py --lessons)
DATAFRAME_LESSONS = ("10_", "11_", "12_")  # the lessons Spark Connect runs (no RDDs)
CONNECT_UNCHANGED_FLOOR = 0.6  # measured 18/26 of lessons 10-12 on Spark Connect local[2]


def spark_cells(kernel: Kernel, cells: list[str]) -> list:
    return [kernel.run("%%spark\n" + cell) for cell in cells]


def assert_ran(results) -> None:
    for r in results:
        assert r.error is None, r.error


def keys(state: dict) -> dict[str, set]:
    return {"state": set(state), **{part: {k for row in state[part] for k in row} for part in
                                    ("jobs", "stages", "executors")}}


@pytest.fixture(scope="module")
def on_sparkbook():
    """The cells on sparkbook's own local[2] cluster: what the other engines must match."""
    kernel = Kernel()
    try:
        kernel.run("%load_ext sparkbook")
        kernel.run("%spark start -e 2")
        results = spark_cells(kernel, RDD_CELLS + DF_CELLS)
        assert_ran(results)
        widgets = [kernel.widget(r) for r in results]
        kernel.run("%spark stop")
        yield results, widgets
    finally:
        kernel.close()


def test_the_engine_follows_the_master_unless_told():
    assert engine_for("sc://spark.example:15002") == "connect"
    assert engine_for("spark://host:7077") == "pyspark"
    assert engine_for("yarn") == "pyspark"
    assert engine_for("sparkbook://127.0.0.1:7077") == "sparkbook"
    assert engine_for("local[2]", "pyspark") == "pyspark"
    with pytest.raises(ValueError, match="unknown engine 'hadoop'"):
        engine_for("local[2]", "hadoop")


def test_without_pyspark_the_engine_says_how_to_install_it(monkeypatch):
    from sparkbook.notebook.session import NotebookSession

    monkeypatch.setitem(sys.modules, "pyspark", None)  # as if it were not installed
    with pytest.raises(ModuleNotFoundError, match=r'pip install "sparkbook\[pyspark\]"'):
        NotebookSession().connect("local[2]", engine="pyspark")


def test_without_java_17_the_engine_names_the_version_spark_needs(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(RuntimeError, match=r"Java is missing .*needs Java 17 or later"):
        require_java()
    old = tmp_path / "jdk11"
    (old / "bin").mkdir(parents=True)
    (old / "bin" / "java").write_text(
        '#!/bin/sh\necho \'openjdk version "11.0.2" 2019-01-15\' >&2\n')
    (old / "bin" / "java").chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(old))
    with pytest.raises(RuntimeError, match=r"needs Java 17 or later; .*jdk11/bin/java is Java 11"):
        require_java()


@pytest.mark.parametrize("lesson", ["00_welcome", "02_spark_api"])
def test_a_lesson_opens_and_runs_in_a_plain_python_kernel(lesson):
    """The lesson loads the magics itself (its first cell's %load_ext sparkbook)."""
    import nbformat
    from nbclient import NotebookClient

    (path,) = [p for p in lesson_paths() if p.stem == lesson]
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert first.source.startswith("%load_ext sparkbook")
    assert not any(o.get("output_type") == "error" for c in nb.cells
                   for o in c.get("outputs", []))


def _wait_in(filename: str):
    """A function whose frame looks like py4j's (its code's file is ``filename``)."""
    scope: dict = {}
    exec(compile("def wait(send):\n    send()\n    return 'answered'\n", filename, "exec"),
         scope)
    return scope["wait"]


def test_an_interrupt_inside_py4j_is_held_until_the_code_ends_and_cancels_at_once():
    import signal
    import threading

    from sparkbook.notebook.engines.interrupts import HeldInterrupts

    cancelled = threading.Event()
    guard = HeldInterrupts(cancelled.set)
    before = signal.getsignal(signal.SIGINT)
    guard.install()
    try:
        py4j_wait = _wait_in("/site-packages/py4j/clientserver.py")
        # Inside py4j: not raised there (it would strand the connection), but cancelled.
        assert py4j_wait(lambda: signal.raise_signal(signal.SIGINT)) == "answered"
        assert cancelled.wait(5)
        with pytest.raises(KeyboardInterrupt):
            guard.code_ended()  # ... and raised once the cell's code is over
        guard.install()
        with pytest.raises(KeyboardInterrupt):  # in Python code: raised at once
            _wait_in("/tmp/ipykernel_1/cell.py")(lambda: signal.raise_signal(signal.SIGINT))
        guard.code_ended()  # nothing held back
        guard.install()
        py4j_wait(lambda: signal.raise_signal(signal.SIGINT))
        with pytest.raises(KeyboardInterrupt):  # a second interrupt: the user insists
            py4j_wait(lambda: signal.raise_signal(signal.SIGINT))
    finally:
        guard.restore()
    assert signal.getsignal(signal.SIGINT) is before


@needs_spark
def test_the_java_here_is_one_spark_runs_on():
    assert java_version(require_java()) >= 17


@needs_spark
def test_sc_on_spark_connect_says_there_is_no_rdd_api():
    from pyspark.errors import PySparkAttributeError

    from sparkbook.notebook.engines.connect import NoSparkContext

    with pytest.raises(PySparkAttributeError) as caught:
        NoSparkContext().parallelize([1, 2])
    assert caught.value.getCondition() == "JVM_ATTRIBUTE_NOT_SUPPORTED"
    assert "sc.parallelize" in str(caught.value)
    if sys.version_info >= (3, 11):
        assert "--engine pyspark" in caught.value.__notes__[0]


@pytest.fixture(scope="module")
def spark_kernel():
    """One kernel for classic pyspark and then Spark Connect's local[2]: the JVM that
    classic Spark started stays up after ``%spark stop`` and runs the local Connect
    server too, so the module starts one JVM for both."""
    kernel = Kernel()
    try:
        kernel.run("%load_ext sparkbook")
        yield kernel
    finally:
        kernel.close()


def connected_cells(kernel: Kernel, target: str, cells: list[str]):
    """``%spark connect TARGET`` in the kernel, the cells run there, and ``%spark stop`` at
    the fixture's end: yields (kernel, the connect cell, the cells' results)."""
    try:
        ready = kernel.run(f"%spark connect {target} {QUIET}")
        assert ready.error is None, ready.error
        yield kernel, ready, spark_cells(kernel, cells)
    finally:
        kernel.run("%spark stop")


def assert_connect_widget(cell, state: dict, sparkbook_state: dict) -> None:
    """A Connect cell's widget: its queries' stages, as the progress handler reported them
    while they ran, with the executors from the REST API, in sparkbook's schema."""
    assert len(cell.updates) >= 2  # live updates, not only the final model
    assert state["status"] == "done" and state["jobs"]
    assert all(j["status"] == "SUCCEEDED" for j in state["jobs"])
    done = [s for s in state["stages"] if s["status"] == "COMPLETE"]
    assert done and all(s["completed"] == s["num_tasks"] > 0 for s in done)
    assert [e["id"] for e in state["executors"]] == ["driver"]
    assert keys(state) == keys(sparkbook_state)


@needs_spark
class TestClassicPySpark:
    """``%spark connect --engine pyspark local[2]``: a real SparkContext in the kernel."""

    @pytest.fixture(scope="class")
    def classic(self, spark_kernel, on_sparkbook):
        yield from connected_cells(spark_kernel, "--engine pyspark local[2]",
                                   RDD_CELLS + DF_CELLS)

    def test_rdd_and_dataframe_cells_print_what_they_print_on_sparkbook(self, classic,
                                                                        on_sparkbook):
        kernel, ready, results = classic
        assert "Apache Spark 4." in ready.stdout and "local[2]" in ready.stdout
        assert_ran(results)
        expected, _ = on_sparkbook
        assert [r.printed for r in results] == [r.printed for r in expected]

    def test_each_cell_widget_shows_its_own_jobs_with_spark_figures(self, classic,
                                                                    on_sparkbook):
        kernel, _, results = classic
        states = [kernel.widget(r) for r in results]
        seen: set[int] = set()
        for state in states:
            ids = {j["id"] for j in state["jobs"]}
            assert ids and not ids & seen  # a job group per cell: no job in two widgets
            seen |= ids
            assert state["status"] == "done"
            assert all(j["status"] == "SUCCEEDED" for j in state["jobs"])
            for stage in state["stages"]:  # Spark skips a stage whose shuffle output exists
                assert stage["status"] in ("COMPLETE", "SKIPPED")
                if stage["status"] == "COMPLETE":
                    assert stage["completed"] == stage["num_tasks"] > 0
        word_count = states[0]
        (job,) = word_count["jobs"]
        assert job["name"].startswith("collect at cell ") and job["name"].endswith(", line 4")
        first, last = word_count["stages"]
        assert first["shuffle_write"] > 0 and last["shuffle_read"] > 0
        assert first["duration"] > 0 and first["slowest"] is not None
        (driver,) = word_count["executors"]  # local mode: the driver runs every task
        assert driver["id"] == "driver" and driver["cores"] == 2 and driver["completed"] >= 6
        _, sparkbook_states = on_sparkbook
        assert keys(word_count) == keys(sparkbook_states[0])

    def test_the_lessons_helpers_read_spark_through_the_notebook_engine(self, classic):
        kernel, _, _ = classic
        assert kernel.run("%%spark\nsc.parallelize(range(8), 2).map(lambda x: (x % 2, x))"
                          ".reduceByKey(lambda a, b: a + b).collect()").error is None
        assert kernel.run("sc.parallelize(range(4), 4).count()").error is None  # no job group
        check = kernel.run(
            "from sparkbook.notebook.observe import executors, recent_jobs, sql\n"
            "jobs = recent_jobs(sc, 2)\n"
            "F = sql(spark).functions\n"
            "print([j['name'].split()[0] for j in jobs], [len(j['stages']) for j in jobs])\n"
            "print({s['status'] for j in jobs for s in j['stages']}, "
            "jobs[0]['stages'][0]['shuffle_write'] > 0)\n"
            "print(F.__name__, spark.range(3).select((F.col('id') + 1).alias('n')).collect())\n"
            "print([(e['id'], e['completed'] >= 6) for e in executors(sc)])")
        assert check.error is None, check.error
        assert check.stdout.splitlines() == [
            "['collect', 'count'] [2, 1]", "{'COMPLETE'} True",
            "pyspark.sql.functions [Row(n=1), Row(n=2), Row(n=3)]", "[('driver', True)]"]

    def test_status_executors_and_kill_executor_speak_of_spark(self, classic):
        kernel, _, _ = classic
        status = kernel.run("%spark status")
        assert status.error is None and "classic pyspark" in status.html[0]
        assert "driver" in status.html[0]
        kill = kernel.run("%spark kill-executor driver")
        assert "local[2] has no separate executors" in kill.stdout
        panel = kernel.run("%spark executors")
        assert panel.error is None and panel.widgets
        plan = kernel.run("%spark plan sc.parallelize(range(4),2).map(str).distinct()")
        assert plan.error is None, plan.error
        assert "no plan preview" in plan.stdout and "ParallelCollectionRDD" in plan.stdout

    def test_interrupting_a_cell_cancels_its_job_group_and_spark_stays_usable(self, classic):
        """The interrupt lands while py4j waits on the JVM's collect (a KeyboardInterrupt
        raised there broke the gateway: "Answer from Java side is empty"), then in the
        cell's own Python code; each time the cell ends at once and Spark still works."""
        kernel, _, _ = classic
        for delay in (1.5, 4):
            slow = kernel.run("%%spark\nimport time\n"
                              "sc.parallelize(range(2), 2).map(lambda x: time.sleep(300))"
                              ".collect()", interrupt_after=delay)
            assert slow.error == ("KeyboardInterrupt", ""), slow.error
            assert slow.seconds < 60  # cancelled, not waited out
            state = kernel.widget(slow)
            assert state["status"] == "interrupted"
            assert [j["status"] for j in state["jobs"]] == ["FAILED"]
            assert kernel.run("%%spark\nsc.parallelize(range(4), 2).count()").result == "4"
        python = kernel.run("%%spark\nimport time\ntime.sleep(60)", interrupt_after=1.5)
        assert python.error == ("KeyboardInterrupt", "") and python.seconds < 30
        assert kernel.run("%%spark\nsc.parallelize(range(6), 3).sum()").result == "15"


@needs_spark
class TestSparkConnectLocal:
    """``%spark connect --engine connect local[2]``: pyspark starts a Spark Connect server
    inside the kernel from the installed package, and DataFrame cells run on it."""

    @pytest.fixture(scope="class")
    def local_connect(self, spark_kernel, on_sparkbook):
        yield from connected_cells(spark_kernel, "--engine connect local[2]", DF_CELLS)

    def test_dataframe_cells_run_and_the_widget_gets_progress(self, local_connect,
                                                              on_sparkbook):
        kernel, ready, results = local_connect
        assert "Spark Connect 4." in ready.stdout and "at local[2]" in ready.stdout
        assert "Spark UI http" in ready.stdout  # the in-kernel server's own UI
        assert_ran(results)
        expected, sparkbook_states = on_sparkbook
        assert [r.printed for r in results] == [r.printed for r in expected[len(RDD_CELLS):]]
        assert_connect_widget(results[0], kernel.widget(results[0]),
                              sparkbook_states[len(RDD_CELLS)])
        status = kernel.run("%spark status")
        assert status.error is None and "cluster: local[2] (Spark Connect 4." in status.html[0]


@pytest.fixture(scope="class")
def connect_server(tmp_path_factory):
    """A Spark Connect server on local[2], started as users start one."""
    url, stop = start_connect_server(str(tmp_path_factory.mktemp("connect")), conf={
        "spark.ui.port": str(free_port()), "spark.ui.showConsoleProgress": "false"})
    try:
        yield url
    finally:
        stop()


@needs_spark
class TestSparkConnect:
    """``%spark connect sc://HOST:PORT``: DataFrames on a Spark Connect server."""

    @pytest.fixture(scope="class")
    def connected(self, connect_server, on_sparkbook):
        kernel = Kernel()
        try:
            kernel.run("%load_ext sparkbook")
            ready = kernel.run(f"%spark connect {connect_server}")
            assert ready.error is None, ready.error
            yield kernel, ready, spark_cells(kernel, DF_CELLS)
        finally:
            kernel.run("%spark stop")
            kernel.close()

    def test_dataframe_cells_print_what_they_print_on_sparkbook(self, connected, on_sparkbook):
        kernel, ready, results = connected
        assert "Spark Connect 4." in ready.stdout
        assert_ran(results)
        expected, _ = on_sparkbook
        assert [r.printed for r in results] == [r.printed for r in expected[len(RDD_CELLS):]]

    def test_the_widget_follows_stages_through_the_progress_handler(self, connected,
                                                                    on_sparkbook):
        kernel, _, results = connected
        _, sparkbook_states = on_sparkbook
        # The groupBy: an exchange, so several stages.
        assert_connect_widget(results[0], kernel.widget(results[0]),
                              sparkbook_states[len(RDD_CELLS)])

    def test_rdd_calls_say_spark_connect_has_none(self, connected):
        kernel, _, _ = connected
        rdd = kernel.run("%%spark\nsc.parallelize(range(3)).count()")
        assert rdd.error[0] == "PySparkAttributeError"
        assert "JVM_ATTRIBUTE_NOT_SUPPORTED" in rdd.error[1]
        kill = kernel.run("%spark kill-executor driver")
        assert "cannot kill executors" in kill.stdout


@needs_spark
def test_submit_with_the_pyspark_engine_hands_the_app_to_spark_submit(tmp_path):
    app = tmp_path / "app.py"
    out = tmp_path / "out.txt"
    app.write_text(
        "import sys\nfrom pyspark import SparkContext\n"
        "sc = SparkContext(appName='tiny')\n"
        "total = sc.parallelize(range(int(sys.argv[1])), 2).sum()\n"
        "open(sys.argv[2], 'w').write(f'{sc.master} {total}')\nsc.stop()\n")
    done = subprocess.run([sys.executable, "-m", "sparkbook", "submit", "--engine", "pyspark",
                           str(app), "--master", "local[2]", "10", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert out.read_text() == "local[2] 45"


def report(engine: str, base: list, other: list) -> tuple[int, int, list[dict]]:
    """Print each lesson's cells that ran unchanged on ``engine``; (ran, cells, rows)."""
    by_path = {run.path: run for run in base}
    rows = [compare(by_path[run.path], run) for run in other]
    total, ran, same = (sum(r[k] for r in rows) for k in ("cells", "ran", "same_output"))
    for row in rows:
        print(f"{row['lesson']:<40} {row['ran']:>3}/{row['cells']:<3} ran, "
              f"{row['same_output']:>3} same output, failed: {row['failed']}")
    print(f"{engine}: {ran}/{total} cells ran unchanged, {same}/{total} printed the same")
    return ran, total, rows


@needs_spark
@pytest.mark.lessons_on_spark
def test_every_lesson_runs_on_sparkbook_and_most_cells_run_unchanged_on_spark():
    """The compatibility suite: every lesson, cell by cell, on sparkbook and on classic
    pyspark local[2] (cells tagged sparkbook-only skipped there), and the DataFrame lessons
    on Spark Connect local[2] (cells tagged needs-sparkcontext skipped too), with what
    their cells print."""
    paths = lesson_paths()
    base = run_lessons(paths, "sparkbook")
    for run in base:
        failed = [r.error for r in run.cells if r is not None and r.error is not None]
        assert not failed, f"{run.path.name} on sparkbook: {failed}"
    ran, total, rows = report("pyspark local[2]", base, run_lessons(paths, "pyspark"))
    lesson9 = next(r for r in rows if r["lesson"].startswith("09_"))
    assert not lesson9["failed"]  # its Apache Spark ending runs on Apache Spark too
    assert ran / total >= UNCHANGED_FLOOR
    frames = [p for p in paths if p.name.startswith(DATAFRAME_LESSONS)]
    ran, total, _ = report("Spark Connect local[2]", base, run_lessons(frames, "connect"))
    assert ran / total >= CONNECT_UNCHANGED_FLOOR


README = Path(__file__).resolve().parents[1] / "README.md"
# book.txt for the README's word count: the five commonest words have distinct counts.
BOOK = " ".join(["the"] * 9 + ["driver"] * 7 + ["stage"] * 5 + ["task"] * 4 + ["shuffle"] * 3
                + ["executor", "job", "partition", "lineage"] * 2) + "\n"


def readme_examples() -> list[str]:
    """The README's Python examples, as a reader would paste them."""
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def run_example(code: str, engine: str, folder: Path) -> str:
    """What the example prints, run as a program in ``folder``; on pyspark with its one
    change, the import (``sparkbook`` names ``pyspark``), as lesson 9 says."""
    if engine == "pyspark":
        code = re.sub(r"\bsparkbook\b", "pyspark", code)
    done = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"{engine}: {done.stderr[-2000:]}"
    return done.stdout


@needs_spark
@pytest.mark.lessons_on_spark
def test_the_readme_examples_print_the_same_on_sparkbook_and_on_pyspark(tmp_path):
    examples = readme_examples()
    assert examples  # the README's opening word count at least
    (tmp_path / "book.txt").write_text(BOOK)
    for code in examples:
        on_sparkbook = run_example(code, "sparkbook", tmp_path)
        assert on_sparkbook.strip()
        assert run_example(code, "pyspark", tmp_path) == on_sparkbook
