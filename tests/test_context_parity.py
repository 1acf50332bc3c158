"""SparkContext beyond RDD creation: whole-file inputs, files shipped to executors, job
tags and groups, checkpoint folders, broadcasts, accumulators and profiles.

Each expectation holds for PySpark 4.3 (run with SPARKBOOK_TEST_ENGINE=pyspark); what
PySpark does, as recorded while writing them, is said next to the test. Functions that run
in tasks are lambdas or closures, so that cloudpickle ships them by value.
"""

from __future__ import annotations

import getpass
import importlib
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
import textwrap
import threading
import time
import uuid
import zipfile
from pathlib import Path

import pytest

# ==========================================================================
# wholeTextFiles and binaryFiles


def uri(path) -> str:
    return "file:" + os.path.abspath(path)


@pytest.fixture
def text_dir(tmp_path: Path) -> Path:
    """a.txt (12 bytes), b.txt (100), c.txt (empty), d.txt (3: "é\\n"), plus what a listing
    skips: a file starting with "_", one starting with ".", and a subdirectory."""
    d = tmp_path / "in"
    d.mkdir()
    for name, text in [("a.txt", "hello\nworld\n"), ("b.txt", "x" * 100), ("c.txt", ""),
                       ("d.txt", "é\n"), ("_SUCCESS", "no"), (".hidden", "no")]:
        (d / name).write_text(text, encoding="utf-8")
    (d / "sub").mkdir()
    (d / "sub" / "e.txt").write_text("nested")
    return d


def test_whole_text_files_pairs_each_file_uri_with_its_text(sc, text_dir):
    got = sc.wholeTextFiles(str(text_dir)).collect()
    assert sorted(got) == [(uri(text_dir / "a.txt"), "hello\nworld\n"),
                           (uri(text_dir / "b.txt"), "x" * 100),
                           (uri(text_dir / "c.txt"), ""),
                           (uri(text_dir / "d.txt"), "é\n")]


# CombineFileInputFormat: max split = ceil(115 bytes / minPartitions); non-empty files are
# packed in listing order until a split reaches it; the rest, empty files included, share
# the last split. A glob lists files sorted (a directory lists them in file-system order).
@pytest.mark.parametrize(("min_partitions", "layout"), [
    (1, [["a", "b", "d"], ["c"]]),
    (2, [["a", "b"], ["c", "d"]]),
    (4, [["a", "b"], ["c", "d"]]),
    (10, [["a"], ["b"], ["c", "d"]]),
])
def test_whole_text_files_packs_small_files_into_partitions(sc, text_dir, min_partitions,
                                                             layout):
    rdd = sc.wholeTextFiles(str(text_dir / "*.txt"), min_partitions)
    got = [[Path(k).stem for k, _ in part] for part in rdd.glom().collect()]
    assert got == layout


def test_whole_text_files_default_min_partitions_is_default_min_partitions(sc, text_dir):
    assert sc.defaultMinPartitions == 2
    assert sc.wholeTextFiles(str(text_dir / "*.txt")).getNumPartitions() == 2


def test_whole_text_files_reads_comma_separated_paths_and_file_uris(sc, text_dir):
    a, b = text_dir / "a.txt", text_dir / "b.txt"
    got = sc.wholeTextFiles(f"file://{a},{b}").collect()
    assert sorted(got) == [(uri(a), "hello\nworld\n"), (uri(b), "x" * 100)]


def test_whole_text_files_without_unicode_gives_bytes(sc, text_dir):
    got = sc.wholeTextFiles(str(text_dir / "d.txt"), use_unicode=False).collect()
    assert got == [(uri(text_dir / "d.txt").encode(), "é\n".encode())]


def test_whole_text_files_replaces_invalid_utf8(sc, tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"ok\xff!")
    assert sc.wholeTextFiles(str(tmp_path / "bad.txt")).values().collect() == ["ok\ufffd!"]


def test_whole_text_files_of_a_missing_path_fails_at_the_action(sc, tmp_path):
    rdd = sc.wholeTextFiles(str(tmp_path / "nope"))  # lazy, as in PySpark
    with pytest.raises(Exception, match="Input path does not exist"):
        rdd.collect()


def test_binary_files_pairs_each_file_uri_with_its_bytes(sc, tmp_path):
    blobs = {"x.bin": bytes(range(256)), "y.bin": b"\x00\xff" * 10, "z.bin": b""}
    for name, blob in blobs.items():
        (tmp_path / name).write_bytes(blob)
    got = sc.binaryFiles(str(tmp_path)).collect()
    assert sorted(got) == sorted((uri(tmp_path / n), b) for n, b in blobs.items())


@pytest.mark.parametrize("min_partitions", [None, 1, 3, 10])
def test_binary_files_puts_small_files_in_one_partition(sc, text_dir, min_partitions):
    # Each file counts 4 MiB more (spark.files.openCostInBytes), so the split size is at
    # least 4 MiB and these few bytes fit one partition whatever minPartitions says.
    rdd = sc.binaryFiles(str(text_dir), min_partitions)
    assert rdd.getNumPartitions() == 1
    assert sorted(rdd.keys().collect()) == [uri(text_dir / f"{s}.txt") for s in "abcd"]


def test_binary_files_of_a_missing_path_fails_at_the_action(sc, tmp_path):
    with pytest.raises(Exception, match="Input path does not exist"):
        sc.binaryFiles(str(tmp_path / "nope")).collect()


# ==========================================================================
# pickleFile: what saveAsPickleFile wrote


@pytest.mark.parametrize("min_partitions", [None, 1, 3, 10])
def test_pickle_file_reads_back_a_partition_per_part_file(sc, tmp_path, min_partitions):
    data = [0, "one", (2, 2.0), {"three": [3]}, None] * 20
    sc.parallelize(data, 3).saveAsPickleFile(str(tmp_path / "saved"))
    back = sc.pickleFile(str(tmp_path / "saved"), min_partitions)
    # Small part files are never split: 3 partitions, whatever minPartitions says. (PySpark
    # lists the part files in the file system's order, sparkbook in their names'.)
    expected = sc.parallelize(data, 3).glom().collect()
    assert sorted(back.glom().collect(), key=repr) == sorted(expected, key=repr)


def test_pickle_file_of_a_missing_path_fails_at_the_action(sc, tmp_path):
    rdd = sc.pickleFile(str(tmp_path / "nope"))
    with pytest.raises(Exception, match="Input path does not exist"):
        rdd.collect()


# ==========================================================================
# addFile, addPyFile, addArchive and SparkFiles


def test_added_file_is_readable_on_the_driver_and_in_every_task(sc, spark_module, tmp_path):
    SparkFiles = spark_module.SparkFiles
    name = f"data-{uuid.uuid4().hex}.txt"
    path = tmp_path / name
    path.write_text("payload")
    assert not os.path.exists(SparkFiles.get(name))
    sc.addFile(str(path))
    assert uri(path) in sc.listFiles
    assert SparkFiles.get(name) == os.path.join(SparkFiles.getRootDirectory(), name)
    assert Path(SparkFiles.get(name)).read_text() == "payload"
    got = sc.parallelize(range(8), 8).map(lambda _: open(SparkFiles.get(name)).read()).collect()
    assert got == ["payload"] * 8


def test_adding_a_path_again_is_ignored(sc, spark_module, tmp_path):
    name = f"again-{uuid.uuid4().hex}.txt"
    path = tmp_path / name
    path.write_text("once")
    sc.addFile(str(path))
    sc.addFile(str(path))
    assert sc.listFiles.count(uri(path)) == 1
    got = sc.parallelize(range(2), 2).map(
        lambda _: open(spark_module.SparkFiles.get(name)).read()).collect()
    assert got == ["once"] * 2


@pytest.mark.sparkbook_only
def test_a_file_changed_after_add_file_reaches_tasks_as_it_was_added(sc, tmp_path):
    # PySpark's driver keeps the first version too, but its executors copy the file from
    # its path when they first need it: a file changed in between fails every later task
    # of the application ("... exists and does not match contents of ..."). sparkbook
    # sends the executors the driver's snapshot.
    from sparkbook import SparkFiles

    name = f"snap-{uuid.uuid4().hex}.txt"
    path = tmp_path / name
    path.write_text("first")
    sc.addFile(str(path))
    path.write_text("second")
    sc.addFile(str(path))
    assert Path(SparkFiles.get(name)).read_text() == "first"
    got = sc.parallelize(range(4), 4).map(lambda _: open(SparkFiles.get(name)).read()).collect()
    assert got == ["first"] * 4


def test_add_file_of_a_missing_path_raises(sc, tmp_path):
    with pytest.raises(Exception, match="does not exist"):
        sc.addFile(str(tmp_path / "missing.txt"))


def test_add_file_of_a_directory_needs_recursive(sc, spark_module, tmp_path):
    SparkFiles = spark_module.SparkFiles
    name = f"tree-{uuid.uuid4().hex}"
    (tmp_path / name / "inner").mkdir(parents=True)
    (tmp_path / name / "top.txt").write_text("top")
    (tmp_path / name / "inner" / "deep.txt").write_text("deep")
    with pytest.raises(Exception, match="is a directory"):
        sc.addFile(str(tmp_path / name))
    sc.addFile(str(tmp_path / name), True)
    assert uri(tmp_path / name) + "/" in sc.listFiles
    local = Path(SparkFiles.get(name))
    assert sorted(str(p.relative_to(local)) for p in local.rglob("*.txt")) == [
        "inner/deep.txt", "top.txt"]
    got = sc.parallelize(range(4), 4).map(
        lambda _: open(os.path.join(SparkFiles.get(name), "inner", "deep.txt")).read()).collect()
    assert got == ["deep"] * 4


def write_module(folder: Path, body: str) -> str:
    """A module with a name no other test uses (executors keep what they imported)."""
    name = f"sbmod_{uuid.uuid4().hex[:12]}"
    (folder / f"{name}.py").write_text(textwrap.dedent(body))
    return name


def test_add_py_file_makes_a_module_importable_in_tasks_and_on_the_driver(sc, tmp_path):
    name = write_module(tmp_path, """
        OFFSET = 100

        def shift(x):
            return x + OFFSET
    """)
    sc.addPyFile(str(tmp_path / f"{name}.py"))
    assert uri(tmp_path / f"{name}.py") in sc.listFiles
    assert importlib.import_module(name).shift(1) == 101
    got = sc.parallelize(range(6), 3).map(lambda x: importlib.import_module(name).shift(x))
    assert got.collect() == [x + 100 for x in range(6)]


def test_a_function_of_an_added_module_travels_by_reference(sc, tmp_path):
    # cloudpickle pickles an importable module's function by name: executors must import
    # the module, which only addPyFile gave them.
    name = write_module(tmp_path, """
        def square(x):
            return x * x
    """)
    sc.addPyFile(str(tmp_path / f"{name}.py"))
    module = importlib.import_module(name)
    assert sc.parallelize(range(5), 2).map(module.square).collect() == [0, 1, 4, 9, 16]


def test_add_py_file_of_a_zip_puts_its_packages_on_sys_path(sc, tmp_path):
    package = f"sbpkg_{uuid.uuid4().hex[:12]}"
    archive = tmp_path / f"{package}.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"{package}/__init__.py", "NAME = 'zipped'\n")
        z.writestr(f"{package}/tools.py", "def twice(x):\n    return 2 * x\n")
    sc.addPyFile(str(archive))
    assert importlib.import_module(f"{package}.tools").twice(4) == 8
    got = sc.parallelize(range(4), 2).map(
        lambda x: (importlib.import_module(package).NAME,
                   importlib.import_module(f"{package}.tools").twice(x))).collect()
    assert got == [("zipped", 2 * x) for x in range(4)]


def test_package_extensions(spark_module):
    assert spark_module.SparkContext.PACKAGE_EXTENSIONS == (".zip", ".egg", ".jar")


@pytest.mark.parametrize("fmt", ["zip", "gztar"])
def test_add_archive_unpacks_it_into_a_folder_named_after_it(sc, spark_module, tmp_path, fmt):
    SparkFiles = spark_module.SparkFiles
    (tmp_path / "src" / "conf").mkdir(parents=True)
    (tmp_path / "src" / "conf" / "settings.txt").write_text("unpacked")
    base = tmp_path / f"arch-{uuid.uuid4().hex}"
    archive = shutil.make_archive(str(base), fmt, str(tmp_path / "src"))
    name = os.path.basename(archive)
    sc.addArchive(archive)
    assert uri(archive) in sc.listArchives
    assert Path(SparkFiles.get(name), "conf", "settings.txt").read_text() == "unpacked"
    got = sc.parallelize(range(4), 4).map(
        lambda _: open(os.path.join(SparkFiles.get(name), "conf", "settings.txt")).read())
    assert got.collect() == ["unpacked"] * 4


@pytest.mark.sparkbook_only
def test_added_files_are_shipped_to_every_executor_process(sc, tmp_path):
    from sparkbook import SparkFiles

    name = f"shipped-{uuid.uuid4().hex}.txt"
    (tmp_path / name).write_text("over the wire")
    sc.addFile(str(tmp_path / name))
    executors = set(sc.cluster.executor_pids().values())

    def where(_):
        time.sleep(0.05)  # long enough for both executors to take tasks
        return os.getpid(), SparkFiles.getRootDirectory(), open(SparkFiles.get(name)).read()

    got = sc.parallelize(range(8), 8).map(where).collect()
    pids = {pid for pid, _, _ in got}
    assert pids == executors and os.getpid() not in pids
    assert {text for _, _, text in got} == {"over the wire"}
    roots = {root for _, root, _ in got}
    assert len(roots) == len(executors) and SparkFiles.getRootDirectory() not in roots
    assert all(f"userFiles-{sc.applicationId}" in root for root in roots)


@pytest.mark.sparkbook_only
def test_a_file_with_the_name_of_another_added_file_is_refused(sc, tmp_path):
    # PySpark raises too ("... exists and does not match contents of ..."), but registers
    # the file all the same, and every later task of the application then fails.
    name = f"same-{uuid.uuid4().hex}.txt"
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    (tmp_path / "one" / name).write_text("one")
    (tmp_path / "two" / name).write_text("two")
    sc.addFile(str(tmp_path / "one" / name))
    with pytest.raises(Exception, match="exists and does not match contents of"):
        sc.addFile(str(tmp_path / "two" / name))
    assert uri(tmp_path / "two" / name) not in sc.listFiles
    assert sc.parallelize([1], 1).map(lambda x: x).collect() == [1]


# ==========================================================================
# Checkpoint folder


def test_set_checkpoint_dir_makes_a_uuid_folder_inside_it(sc, tmp_path):
    sc.setCheckpointDir(str(tmp_path / "ck"))
    made = os.listdir(tmp_path / "ck")
    assert len(made) == 1 and uuid.UUID(made[0])
    assert sc.getCheckpointDir() == uri(tmp_path / "ck" / made[0])
    sc.setCheckpointDir(f"file://{tmp_path / 'ck'}")
    assert len(os.listdir(tmp_path / "ck")) == 2


# ==========================================================================
# Local properties, job groups and job tags (all per thread)


def in_fresh_thread(fn):
    """Run ``fn`` in a new thread (fresh local properties); its result, or raise its error."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            box["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(60)
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_job_tags_are_a_comma_separated_local_property(sc):
    def scenario():
        tags = lambda: set(sc.getJobTags())  # noqa: E731 - PySpark gives a py4j JavaSet
        seen = [tags()]
        sc.addJobTag("etl")
        sc.addJobTag("nightly")
        sc.addJobTag("etl")
        seen += [tags(), sc.getLocalProperty("spark.job.tags")]
        sc.removeJobTag("etl")
        sc.removeJobTag("never-added")
        seen.append(tags())
        sc.clearJobTags()
        seen += [tags(), sc.getLocalProperty("spark.job.tags")]
        return seen

    assert in_fresh_thread(scenario) == [set(), {"etl", "nightly"}, "etl,nightly", {"nightly"},
                                         set(), None]


def test_job_tags_belong_to_the_thread_that_adds_them(sc):
    def scenario():
        sc.addJobTag("mine")
        return set(in_fresh_thread(sc.getJobTags)), set(sc.getJobTags())

    assert in_fresh_thread(scenario) == (set(), {"mine"})


@pytest.mark.parametrize(("tag", "message"), [
    ("", "Spark job tag cannot be an empty string."),
    ("a,b", "Spark job tag cannot contain ','."),
    (None, "Spark job tag cannot be null."),
])
def test_invalid_job_tags_are_refused(sc, tag, message):
    for method in (sc.addJobTag, sc.removeJobTag, sc.cancelJobsWithTag):
        if tag is None and method is not sc.addJobTag:
            continue
        with pytest.raises(Exception, match=message.replace(".", r"\.")):
            method(tag)


def slow_count(sc, n: int = 20) -> int:
    return sc.parallelize(range(n), 2).map(lambda x: (time.sleep(0.2), x)[1]).count()


def run_tagged(sc, tag: str, out: dict) -> threading.Thread:
    def job():
        sc.addJobTag(tag)
        try:
            out[tag] = slow_count(sc)
        except Exception as exc:  # noqa: BLE001 - recorded for the test
            out[tag] = exc

    worker = threading.Thread(target=job)
    worker.start()
    return worker


def wait_for_active_jobs(sc, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(sc.statusTracker().getActiveJobsIds()) < count:
        assert time.monotonic() < deadline, "jobs did not start"
        time.sleep(0.02)


def test_cancel_jobs_with_tag_cancels_only_the_tagged_jobs(sc):
    results: dict = {}
    workers = [run_tagged(sc, "doomed", results), run_tagged(sc, "kept", results)]
    wait_for_active_jobs(sc, 2)
    sc.cancelJobsWithTag("doomed")
    for worker in workers:
        worker.join(60)
    assert results["kept"] == 20
    assert isinstance(results["doomed"], Exception)
    # PySpark: "[SPARK_JOB_CANCELLED] Job 0 cancelled part of cancelled job tags doomed"
    assert "cancelled part of cancelled job tags doomed" in str(results["doomed"])
    sc.cancelJobsWithTag("no-such-tag")  # nothing to cancel: no error


def test_job_group_properties_and_cancellation(sc):
    def scenario():
        sc.setJobGroup("grp", "a slow job")
        props = [sc.getLocalProperty(k) for k in
                 ("spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel")]
        sc.setInterruptOnCancel(True)
        props.append(sc.getLocalProperty("spark.job.interruptOnCancel"))
        sc.setJobGroup("grp", None, True)
        props += [sc.getLocalProperty("spark.job.description"),
                  sc.getLocalProperty("spark.job.interruptOnCancel")]
        return props

    assert in_fresh_thread(scenario) == ["grp", "a slow job", "false", "true", None, "true"]

    results: dict = {}

    def job():
        sc.setJobGroup("to-cancel", "slow")
        try:
            results["error"] = slow_count(sc)
        except Exception as exc:  # noqa: BLE001 - recorded for the test
            results["error"] = exc

    worker = threading.Thread(target=job)
    worker.start()
    wait_for_active_jobs(sc, 1)
    sc.cancelJobGroup("to-cancel")
    worker.join(60)
    assert "cancelled part of cancelled job group to-cancel" in str(results["error"])


def test_local_properties_set_get_and_remove(sc):
    def scenario():
        sc.setLocalProperty("lesson", "three")
        seen = [sc.getLocalProperty("lesson"), in_fresh_thread(
            lambda: sc.getLocalProperty("lesson"))]
        sc.setLocalProperty("lesson", None)
        seen += [sc.getLocalProperty("lesson"), sc.getLocalProperty("never-set")]
        # PySpark: "Method setLocalProperty([class java.lang.String, class
        # java.lang.Integer]) does not exist"
        with pytest.raises(Exception, match="setLocalProperty"):
            sc.setLocalProperty("lesson", 3)
        return seen

    assert in_fresh_thread(scenario) == ["three", None, None, None]


def test_local_properties_reach_the_tasks(sc, spark_module):
    TaskContext = spark_module.TaskContext  # noqa: N806 - the class, under its own name

    def scenario():
        sc.setLocalProperty("lesson", "tasks see me")
        sc.addJobTag("visible")
        return sc.parallelize([0], 1).map(
            lambda _: (TaskContext.get().getLocalProperty("lesson"),
                       TaskContext.get().getLocalProperty("spark.job.tags"))).collect()

    assert in_fresh_thread(scenario) == [("tasks see me", "visible")]


# ==========================================================================
# The context's own facts


def test_set_log_level_accepts_spark_levels_in_any_case(sc, engine):
    import logging

    before = logging.getLogger("sparkbook").level
    try:
        sc.setLogLevel("warn")
        with pytest.raises(Exception, match="Supplied level NOPE did not match one of: "
                                            "ALL,DEBUG,ERROR,WARN,INFO,OFF,FATAL,TRACE"):
            sc.setLogLevel("NOPE")
    finally:
        sc.setLogLevel("ERROR")
        if engine == "sparkbook":
            logging.getLogger("sparkbook").setLevel(before)


def test_run_job_concatenates_the_results_of_the_chosen_partitions(sc):
    rdd = sc.parallelize(range(10), 3)  # [0, 1, 2], [3, 4, 5], [6, 7, 8, 9]
    assert sc.runJob(rdd, lambda it: [sum(it)]) == [3, 12, 30]
    assert sc.runJob(rdd, lambda it: [x * 2 for x in it], [0, 2]) == [0, 2, 4, 12, 14, 16, 18]
    assert sc.runJob(rdd, lambda it: (x for x in it if x % 2), [1], True) == [3, 5]
    assert sc.runJob(rdd, lambda it: [1], []) == []
    with pytest.raises(Exception, match="Attempting to access a non-existent partition: 5. "
                                        "Total number of partitions: 3"):
        sc.runJob(rdd, lambda it: [1], [5])


def test_context_facts(sc):
    now = time.time() * 1000
    assert isinstance(sc.startTime, int) and now - 86_400_000 < sc.startTime <= now
    assert sc.sparkUser() == getpass.getuser()
    assert isinstance(sc.applicationId, str) and sc.applicationId
    assert isinstance(sc.version, str)
    assert sc.defaultMinPartitions == min(sc.defaultParallelism, 2)
    assert sc.resources == {}
    assert sc.uiWebUrl is None or sc.uiWebUrl.startswith("http")
    conf = sc.getConf()
    conf.set("spark.sparkbook.test.only", "1")
    assert sc.getConf().get("spark.sparkbook.test.only") is None
    assert sc.getConf().get("spark.app.name") == "tests"


# ==========================================================================
# Broadcasts


def test_broadcast_survives_unpersist_and_dies_with_destroy(sc):
    b = sc.broadcast({"k": [1, 2, 3]})
    read = sc.parallelize(range(3), 3).map(lambda i: b.value["k"][i])
    assert read.collect() == [1, 2, 3]
    b.unpersist()
    assert b.value == {"k": [1, 2, 3]}
    assert read.collect() == [1, 2, 3]  # shipped again
    b.unpersist(blocking=True)
    b.destroy()
    # PySpark: "[INTERNAL_ERROR_BROADCAST] Attempted to use Broadcast(3) after it was
    # destroyed (destroy at NativeMethodAccessorImpl.java:0)", raised as the job starts
    # ("Task not serializable") and by a second destroy() or unpersist().
    with pytest.raises(Exception, match="after it was destroyed"):
        read.collect()
    with pytest.raises(Exception, match="after it was destroyed"):
        b.destroy()
    with pytest.raises(Exception, match="after it was destroyed"):
        b.unpersist()
    assert sc.parallelize(range(3), 3).sum() == 3  # the context is still fine


@pytest.mark.sparkbook_only
def test_broadcast_value_on_the_driver_after_destroy_raises(sc):
    # PySpark returns the value if it was read before, else a FileNotFoundError.
    from sparkbook import SparkException

    b = sc.broadcast(7)
    b.destroy(blocking=True)
    with pytest.raises(SparkException, match=r"Attempted to use Broadcast\(\d+\) after it was "
                                             r"destroyed \(destroy at test_context_parity"):
        _ = b.value


def test_broadcast_dump_load_and_load_from_path(sc, tmp_path):
    b = sc.broadcast([1, 2, 3])
    with open(tmp_path / "value.pkl", "wb") as f:
        b.dump({"a": 1}, f)
        assert f.closed  # dump closes the file
    with open(tmp_path / "value.pkl", "rb") as f:
        assert b.load(f) == {"a": 1}
    assert b.load_from_path(str(tmp_path / "value.pkl")) == {"a": 1}
    with pytest.raises(pickle.PicklingError, match="Could not serialize broadcast: TypeError"):
        b.dump(threading.Lock(), io.BytesIO())


# ==========================================================================
# Accumulators


def test_a_custom_accumulator_param_adds_vectors(sc, spark_module):
    class VectorParam(spark_module.AccumulatorParam):
        def zero(self, value):
            return [0.0] * len(value)

        def addInPlace(self, v1, v2):
            for i in range(len(v1)):
                v1[i] += v2[i]
            return v1

    vector = sc.accumulator([1.0, 2.0, 3.0], VectorParam())
    data = list(range(10))
    sc.parallelize(data, 3).foreach(lambda x: vector.add([x, 1.0, 2 * x]))
    assert vector.value == [1.0 + sum(data), 2.0 + len(data), 3.0 + 2 * sum(data)]


def test_default_accumulator_params(sc):
    flag = sc.accumulator(True)  # a bool is an int
    sc.parallelize([1, 2, 3], 2).foreach(lambda x: flag.add(x))
    assert flag.value == 7
    assert sc.accumulator(1.5).value == 1.5
    with pytest.raises(TypeError, match="No default accumulator param for type <class 'list'>"):
        sc.accumulator([1])


def test_accumulator_value_cannot_be_read_or_set_inside_tasks(sc):
    acc = sc.accumulator(0)
    message = r"\[VALUE_NOT_ACCESSIBLE\] Value `Accumulator.value` cannot be accessed inside tasks"
    with pytest.raises(Exception, match=message):
        sc.parallelize([1], 1).map(lambda x: acc.value).collect()
    with pytest.raises(Exception, match=message):
        sc.parallelize([1], 1).foreach(lambda x: setattr(acc, "value", 3))

    def kind_of_error(_):
        try:
            _ = acc.value
        except Exception as exc:  # noqa: BLE001 - its kind is the result
            return isinstance(exc, RuntimeError)
        return None

    assert sc.parallelize([1], 1).map(kind_of_error).collect() == [True]
    acc.value = 10  # fine on the driver
    acc += 5
    assert acc.value == 15 and repr(acc) == f"Accumulator<id={acc.aid}, value=15>"


# ==========================================================================
# Profiles


def test_profiles_need_spark_python_profile(sc, tmp_path):
    message = (r"\[INCORRECT_CONF_FOR_PROFILE\] `spark.python.profile` or "
               r"`spark.python.profile.memory` configuration\s+must be set to `true`")
    with pytest.raises(RuntimeError, match=message):
        sc.show_profiles()
    with pytest.raises(RuntimeError, match=message):
        sc.dump_profiles(str(tmp_path))


PROFILED_APP = """
import json, os, sys
from {engine} import SparkConf, SparkContext

conf = SparkConf().set("spark.python.profile", "true").set("spark.ui.showConsoleProgress",
                                                          "false")
sc = SparkContext("local[2]", "profiled", conf=conf, pyFiles=[sys.argv[2]])
sc.setLogLevel("ERROR")
module = os.path.basename(sys.argv[2])[:-3]
mapped = sc.parallelize(range(1000), 2).map(
    lambda x: __import__(module).triple(x))
total = mapped.sum()
sc.show_profiles()
print("AGAIN")
sc.show_profiles()  # each profile is shown once
sc.dump_profiles(sys.argv[1])
root = os.path.dirname(__import__(module).__file__)
sc.stop()
print(json.dumps({{"total": total, "dumped": sorted(os.listdir(sys.argv[1])),
                  "root_on_path": root in sys.path}}))
"""


def test_profiles_are_gathered_per_rdd_shown_once_and_dumped(engine, tmp_path):
    lib = tmp_path / "lib"  # not the script's folder: the driver imports it from SparkFiles
    lib.mkdir()
    module = write_module(lib, """
        def triple(x):
            return 3 * x
    """)
    script = tmp_path / "app.py"
    script.write_text(PROFILED_APP.format(engine=engine))
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "dump"),
                           str(lib / f"{module}.py")], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    shown, again = done.stdout.split("AGAIN")
    result = json.loads(again.strip().splitlines()[-1])
    assert result["total"] == 3 * sum(range(1000))
    assert shown.count("Profile of RDD<id=") == 1
    assert "function calls" in shown and "triple" in shown
    assert "Profile of RDD" not in again
    assert len(result["dumped"]) == 1 and result["dumped"][0].startswith("rdd_")
    assert result["dumped"][0].endswith(".pstats")
    if engine == "sparkbook":  # PySpark leaves its folder on sys.path after stop()
        assert not result["root_on_path"]


# ==========================================================================
# The API table


PYSPARK_CONTEXT_NAMES = """
PACKAGE_EXTENSIONS accumulator addArchive addFile addJobTag addPyFile applicationId
binaryFiles binaryRecords broadcast cancelAllJobs cancelJobGroup cancelJobsWithTag
clearJobTags defaultMinPartitions defaultParallelism dump_profiles emptyRDD getCheckpointDir
getConf getJobTags getLocalProperty getOrCreate getSystemProperty hadoopFile hadoopRDD
listArchives listFiles newAPIHadoopFile newAPIHadoopRDD parallelize pickleFile range
removeJobTag resources runJob sequenceFile setCheckpointDir setInterruptOnCancel
setJobDescription setJobGroup setLocalProperty setLogLevel setSystemProperty show_profiles
sparkUser startTime statusTracker stop textFile uiWebUrl union version wholeTextFiles
""".split()  # dir(pyspark.SparkContext) without the private names, PySpark 4.3.0


@pytest.mark.sparkbook_only
def test_api_table_covers_every_pyspark_context_name():
    import sparkbook

    table = Path(__file__).parent.parent / "docs" / "api.md"
    rows = {}
    for line in table.read_text().split("## RDD")[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].startswith("`"):
            rows[cells[0].strip("`").split("(")[0]] = cells[1]
    assert sorted(rows) == sorted(PYSPARK_CONTEXT_NAMES)
    for name, status in rows.items():
        assert status in ("supported", "not supported"), name
        if status == "supported":
            assert hasattr(sparkbook.SparkContext, name), name
    assert len(rows) == 54


def test_sparkfiles_root_is_a_folder_on_the_driver(spark_module, sc):
    root = spark_module.SparkFiles.getRootDirectory()
    assert os.path.isdir(root) and root in sys.path


def test_add_file_accepts_file_uris(sc, spark_module, tmp_path):
    name = f"uri-{uuid.uuid4().hex}.txt"
    (tmp_path / name).write_text("by uri")
    sc.addFile(f"file://{tmp_path / name}")
    assert f"file://{tmp_path / name}" in sc.listFiles  # a URI is listed as given
    assert Path(spark_module.SparkFiles.get(name)).read_text() == "by uri"


def test_add_archive_of_a_tar(sc, spark_module, tmp_path):
    name = f"plain-{uuid.uuid4().hex}.tar"
    (tmp_path / "inside.txt").write_text("tarred")
    with tarfile.open(tmp_path / name, "w") as tar:
        tar.add(tmp_path / "inside.txt", arcname="inside.txt")
    sc.addArchive(str(tmp_path / name))
    got = sc.parallelize([0], 1).map(
        lambda _: open(os.path.join(spark_module.SparkFiles.get(name), "inside.txt")).read())
    assert got.collect() == ["tarred"]
