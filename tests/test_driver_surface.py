"""The driver's public surface for notebooks and lessons, on the session's real local[2]
cluster: listeners, the status store, the cluster view and call-site namers."""

from __future__ import annotations

import inspect
import io
import os
import time
from pathlib import Path

import psutil
import pytest
from eventrecorder import EventRecorder

from sparkbook.driver.callsite import register_callsite_namer, unregister_callsite_namer

pytestmark = pytest.mark.sparkbook_only


def next_line() -> int:
    """The number of the line after the caller's."""
    return inspect.currentframe().f_back.f_lineno + 1


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_listener_hears_a_job_until_it_is_removed(sc):
    heard = EventRecorder()
    sc.addSparkListener(heard)
    try:
        line = next_line()
        assert sc.parallelize(range(10), 5).count() == 10
        assert sc.waitForListeners()
        (job,) = heard.jobs
        assert job.call_site == f"test_driver_surface.py:{line}"
        assert [e.job_id for e in heard.job_ends] == [job.job_id] and heard.job_ends[0].succeeded
        assert sorted(t.task_info.index for t in heard.tasks) == [0, 1, 2, 3, 4]
        assert heard.task_threads == {"sparkbook-listener-bus"}  # delivered on the bus's thread
    finally:
        sc.removeSparkListener(heard)
    sc.parallelize(range(10), 5).count()
    assert sc.waitForListeners()
    assert len(heard.jobs) == 1 and len(heard.tasks) == 5  # nothing more after removal


def test_a_synchronous_listener_hears_each_event_on_the_scheduler_s_thread(sc):
    heard = EventRecorder()
    sc.addSparkListener(heard, synchronous=True)
    try:
        sc.parallelize(range(4), 2).count()
    finally:
        sc.removeSparkListener(heard)
    # No waitForListeners: a synchronous listener has heard every event by the time the
    # job's result is back.
    assert len(heard.jobs) == 1 and len(heard.job_ends) == 1 and len(heard.tasks) == 2
    assert heard.task_threads and "sparkbook-listener-bus" not in heard.task_threads


def test_the_status_store_is_what_the_status_tracker_reads(sc):
    heard = EventRecorder()
    sc.addSparkListener(heard)
    try:
        sc.parallelize(range(100), 4).map(lambda x: (x % 3, x)).reduceByKey(max).count()
        assert sc.waitForListeners()
    finally:
        sc.removeSparkListener(heard)
    (job,) = heard.jobs
    store = sc.statusStore
    with store.lock:
        status = store.jobs[job.job_id]
        stages = [store.stages[s] for s in status.stage_ids]
        executors = {eid: dict(ex) for eid, ex in store.executors.items()}
    assert status.status == sc.statusTracker().getJobInfo(job.job_id).status == "SUCCEEDED"
    assert [(s.num_tasks, s.completed, s.status) for s in stages] == [(4, 4, "COMPLETE")] * 2
    assert set(sc.cluster.executor_pids()) <= {e for e, ex in executors.items() if ex["alive"]}


def test_the_cluster_view_lists_the_executor_processes_that_run_the_tasks(sc):
    wait_for(lambda: len(sc.cluster.executors()) == 2)
    executors = sc.cluster.executors()
    assert [e.executor_id for e in executors] == sorted(sc.cluster.executor_pids(), key=int)
    assert {e.executor_id: e.pid for e in executors} == sc.cluster.executor_pids()
    for e in executors:
        process = psutil.Process(e.pid)
        assert process.cmdline()[1:4] == ["-m", "sparkbook", "executor"]
        assert e.address.startswith("tcp://127.0.0.1:") and e.host == "127.0.0.1"
        assert e.cores == 1 and e.memory > 0
    local = sc.cluster.local_processes()
    assert local["manager"] != os.getpid()
    assert {e.pid for e in executors} <= set(local["executors"])
    assert all(psutil.Process(e.pid).ppid() == local["manager"] for e in executors)
    ran_on = set(sc.parallelize(range(8), 8).map(lambda _: (time.sleep(0.05), os.getpid())[1])
                 .collect())
    assert ran_on == {e.pid for e in executors}


def test_the_cluster_manager_s_status_lists_this_application_and_its_executors(sc, eventually):
    wait_for(lambda: len(sc.cluster.executors()) == 2)
    status = eventually(sc.cluster.status, lambda st: all(
        e["metrics"] is not None for e in st.executors) and len(st.executors) == 2)
    mine = [a for a in status.applications if a["app_id"] == sc.applicationId]
    assert mine == [{"app_id": sc.applicationId, "name": sc.appName,
                     "user": sc.sparkUser(), "pid": os.getpid()}]
    # The manager's executors are the ones this driver uses, with their last heartbeat.
    assert [(e["executor_id"], e["pid"]) for e in status.executors] == [
        (e.executor_id, e.pid) for e in sc.cluster.executors()]
    assert all(e["metrics"].memory_limit == e["memory"] > 0 for e in status.executors)
    assert isinstance(status.lost, dict)  # executors this run killed on purpose, by id


def test_kill_executor_takes_one_away_and_the_manager_replaces_it(sc):
    wait_for(lambda: len(sc.cluster.executors()) == 2)
    heard = EventRecorder()
    sc.addSparkListener(heard)
    try:
        before = sc.cluster.executor_pids()
        victim = sc.cluster.executors()[0].executor_id
        assert sc.cluster.kill_executor(victim) == before[victim]
        wait_for(lambda: gone(before[victim]))
        wait_for(lambda: len(sc.cluster.executors()) == 2
                 and victim not in sc.cluster.executor_pids())
        after = sc.cluster.executor_pids()
        assert sc.waitForListeners()
    finally:
        sc.removeSparkListener(heard)
    (new,) = set(after) - set(before)
    assert after[new] not in before.values()
    assert [e.executor_id for e in heard.removed] == [victim]
    assert new in [e.executor_id for e in heard.added]
    assert sc.parallelize(range(100), 4).sum() == 4950  # the cluster works on
    with pytest.raises(ValueError, match="no executor 'nobody'"):
        sc.cluster.kill_executor("nobody")


def test_a_registered_call_site_namer_names_jobs_until_unregistered(sc):
    this_file = __file__

    def namer(filename: str) -> str | None:
        return "the surface test" if filename == this_file else None

    heard = EventRecorder()
    sc.addSparkListener(heard)
    register_callsite_namer(namer)
    register_callsite_namer(namer)  # once is enough
    try:
        named = next_line()
        sc.parallelize([1], 1).count()
        unregister_callsite_namer(namer)
        plain = next_line()
        sc.parallelize([1], 1).count()
        assert sc.waitForListeners()
    finally:
        unregister_callsite_namer(namer)  # again: ignored
        sc.removeSparkListener(heard)
    assert [j.call_site for j in heard.jobs] == [f"the surface test, line {named}",
                                                 f"test_driver_surface.py:{plain}"]


def test_task_output_is_the_printer_that_shows_what_tasks_print(sc):
    printer, out = sc.taskOutput, io.StringIO()
    printer.out = out
    try:
        sc.parallelize(["hello from a task"], 1).foreach(print)
        assert sc.waitForListeners()
    finally:
        printer.out = None
    assert out.getvalue().startswith("[executor ") and "] hello from a task\n" in out.getvalue()


def test_the_additions_table_in_the_api_docs_names_what_sparkcontext_has(sc):
    assert sc.isStopped is False
    text = (Path(__file__).parent.parent / "docs" / "api.md").read_text()
    section = text.split("## sparkbook's additions")[1].split("\n## ")[0]
    names = [line.split("`")[1].split("(")[0] for line in section.splitlines()
             if line.startswith("| `")]
    assert {"addSparkListener", "removeSparkListener", "waitForListeners", "statusStore",
            "progressBar", "taskOutput", "isStopped", "cluster", "cluster.kill_executor"
            } <= set(names)
    for name in names:  # each documented name is there: sc.NAME, or sc.cluster.NAME
        owner = sc
        for part in name.split(".")[:-1]:
            owner = getattr(owner, part)
        assert hasattr(owner, name.split(".")[-1]), name
