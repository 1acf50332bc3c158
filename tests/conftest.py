"""Shared fixtures for the RDD suite.

The suite runs against sparkbook by default. Setting SPARKBOOK_TEST_ENGINE=pyspark
runs the very same tests against real PySpark instead: that is how the
expectations written here are checked against the reference implementation.
Nothing outside that switch imports pyspark.
"""

from __future__ import annotations

import importlib
import os
import tempfile
import time
import types
from collections.abc import Callable
from types import ModuleType

import pytest

pytest_plugins = ["chaos"]

ENGINE = os.environ.get("SPARKBOOK_TEST_ENGINE", "sparkbook").strip().lower() or "sparkbook"
if ENGINE not in ("sparkbook", "pyspark"):
    raise pytest.UsageError(
        f"SPARKBOOK_TEST_ENGINE must be 'sparkbook' or 'pyspark', not {ENGINE!r}"
    )

# Hypothesis caches data in ./.hypothesis by default; keep the work tree clean.
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY",
    os.path.join(tempfile.gettempdir(), "sparkbook-tests-hypothesis"),
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sparkbook_only: behaviour only sparkbook defines; skipped when validating against PySpark",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"RDD engine under test: {ENGINE}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ENGINE != "pyspark":
        return
    skip = pytest.mark.skip(reason="sparkbook-only behaviour, not checked against PySpark")
    for item in items:
        if item.get_closest_marker("sparkbook_only") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def engine() -> str:
    """'sparkbook' or 'pyspark': which implementation the suite is running against."""
    return ENGINE


@pytest.fixture(scope="session")
def spark_module() -> ModuleType:
    """The engine's top-level module, for names both share (StorageLevel, ...)."""
    return importlib.import_module(ENGINE)


JOB_PROPERTIES = ("spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel")


@pytest.fixture(autouse=True)
def _no_job_group_left_behind(request: pytest.FixtureRequest):
    """A test that sets a job group or description on the suite's one context does not
    name the jobs of the tests after it (the properties belong to the thread)."""
    yield
    if "sc" in request.fixturenames:
        context = request.getfixturevalue("sc")
        for key in JOB_PROPERTIES:
            context.setLocalProperty(key, None)


@pytest.fixture(scope="session")
def sc(spark_module: ModuleType):
    """One SparkContext("local[2]", "tests") for the whole run; stopped at the end."""
    if ENGINE == "pyspark":
        conf = spark_module.SparkConf().set("spark.ui.showConsoleProgress", "false")
        context = spark_module.SparkContext("local[2]", "tests", conf=conf)
        context.setLogLevel("ERROR")
    else:
        context = spark_module.SparkContext("local[2]", "tests")
    try:
        yield context
    finally:
        context.stop()


@pytest.fixture
def tmp_text(tmp_path):
    """Write a text file under tmp_path: tmp_text(name, str_or_bytes) -> path as str."""

    def write(name: str, content: str | bytes) -> str:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        path.write_bytes(data)
        return str(path)

    return write


@pytest.fixture(scope="session")
def eventually() -> Callable:
    """Poll `probe()` until `accept(value)` holds; return the last value.

    PySpark's status tracker is fed by an asynchronous listener bus, so a job
    that just finished may briefly still show as RUNNING.
    """

    def wait(probe: Callable, accept: Callable, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        value = probe()
        while not accept(value) and time.monotonic() < deadline:
            time.sleep(0.05)
            value = probe()
        return value

    return wait


@pytest.fixture
def reaper():
    """Kills, at the end of the test, every process the test started through it."""
    from procutil import Reaper

    r = Reaper()
    try:
        yield r
    finally:
        r.cleanup()


@pytest.fixture
def recorded(sc):
    """What the driver's listener bus delivers while the test runs (sparkbook only)."""
    from eventrecorder import EventRecorder

    recorder = EventRecorder()
    sc.addSparkListener(recorder)
    yield recorder
    sc.waitForListeners()
    sc.removeSparkListener(recorder)


@pytest.fixture(scope="session")
def spark(sc):
    """The engine's SparkSession on the suite's one SparkContext (both engines)."""
    session = importlib.import_module(f"{ENGINE}.sql").SparkSession.builder.getOrCreate()
    yield session


PEOPLE = [("Alice", 1, 3.5, True), ("Bob", 12, None, False), (None, 300, 1 / 3, None)]


@pytest.fixture(scope="session")
def people(spark):
    """Three rows with a NULL in every column but age: name, age, score, ok."""
    return spark.createDataFrame(PEOPLE, ["name", "age", "score", "ok"])


@pytest.fixture(scope="session")
def sql_modules(spark) -> types.SimpleNamespace:
    """The engine's sql modules: ``F`` (functions), ``T`` (types), ``Row``, ``errors``."""
    return types.SimpleNamespace(
        F=importlib.import_module(f"{ENGINE}.sql.functions"),
        T=importlib.import_module(f"{ENGINE}.sql.types"),
        Row=importlib.import_module(f"{ENGINE}.sql").Row,
        errors=importlib.import_module(f"{ENGINE}.errors"),
    )


def _sql_module_fixture(name: str):
    """A session fixture ``name``: that entry of ``sql_modules``."""

    @pytest.fixture(scope="session", name=name)
    def fixture(sql_modules):
        return getattr(sql_modules, name)

    return fixture


F = _sql_module_fixture("F")
T = _sql_module_fixture("T")
Row = _sql_module_fixture("Row")
errors = _sql_module_fixture("errors")


@pytest.fixture
def zctx():
    """A ZeroMQ context of the test's own, destroyed at its end."""
    import zmq

    ctx = zmq.Context()
    yield ctx
    ctx.destroy(0)
