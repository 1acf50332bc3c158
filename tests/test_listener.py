"""What the listener bus shows: jobs per action, stages per shuffle, metrics per task."""

from __future__ import annotations

import io
import time
from operator import add

import pytest

from sparkbook.driver.progress import ConsoleProgressBar, render

pytestmark = pytest.mark.sparkbook_only


def settle(sc) -> None:
    assert sc.waitForListeners()


def stage_metric(recorder, stage_id: int, name: str) -> int:
    return sum(getattr(t.metrics, name) for t in recorder.tasks if t.stage_id == stage_id)


WORDS = [f"w{i % 5}" for i in range(1000)]


def test_transformations_run_nothing_and_each_action_is_one_job(sc, recorded):
    rdd = sc.parallelize(range(100), 4).map(lambda x: x + 1).filter(lambda x: x % 2)
    settle(sc)
    assert recorded.jobs == []
    rdd.count()
    rdd.collect()
    settle(sc)
    assert len(recorded.jobs) == 2


def test_reduce_by_key_shuffles_once_and_combines_map_side(sc, recorded):
    pairs = sc.parallelize(WORDS, 4).map(lambda w: (w, 1))
    assert dict(pairs.reduceByKey(add).collect()) == {f"w{i}": 200 for i in range(5)}
    settle(sc)
    (job,) = recorded.jobs
    assert len(job.stage_infos) == 2
    map_stage = min(s.stage_id for s in job.stage_infos)
    # Combined before the shuffle: at most 5 keys leave each of the 4 map tasks.
    assert stage_metric(recorded, map_stage, "shuffle_write_records") <= 20
    written = stage_metric(recorded, map_stage, "shuffle_write_bytes")
    read = sum(t.metrics.shuffle_read_bytes for t in recorded.tasks if t.stage_id != map_stage)
    assert written == read > 0


def test_group_by_key_ships_every_record_across_the_shuffle(sc, recorded):
    grouped = sc.parallelize(WORDS, 4).map(lambda w: (w, 1)).groupByKey()
    assert {k: len(v) for k, v in grouped.collect()} == {f"w{i}": 200 for i in range(5)}
    settle(sc)
    map_stage = min(s.stage_id for s in recorded.jobs[0].stage_infos)
    assert stage_metric(recorded, map_stage, "shuffle_write_records") == len(WORDS)


def test_the_second_action_on_a_cached_rdd_reads_the_cache(sc, recorded):
    cached = sc.parallelize(range(1000), 4).map(lambda x: x * 2).cache()
    cached.count()
    cached.count()
    settle(sc)
    first, second = recorded.jobs
    hits = {job.job_id: 0 for job in recorded.jobs}
    stage_to_job = {s.stage_id: job.job_id for job in recorded.jobs for s in job.stage_infos}
    for task in recorded.tasks:
        hits[stage_to_job[task.stage_id]] += task.metrics.cache_hits
    assert hits[first.job_id] == 0 and hits[second.job_id] == 4
    cached.unpersist()


def test_status_tracker_reports_jobs_of_a_group_and_their_stages(sc):
    sc.setJobGroup("lesson", "counting")
    try:
        sc.parallelize(range(10), 3).map(lambda x: (x % 2, x)).reduceByKey(add).count()
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    tracker = sc.statusTracker()
    (job_id,) = tracker.getJobIdsForGroup("lesson")
    info = tracker.getJobInfo(job_id)
    assert info.status == "SUCCEEDED" and len(info.stageIds) == 2
    stages = [tracker.getStageInfo(s) for s in info.stageIds]
    assert [s.numTasks for s in stages] == [3, 3]
    assert all(s.numCompletedTasks == s.numTasks and s.numActiveTasks == 0 for s in stages)


def test_executors_report_cpu_and_memory_at_least_once_a_second(sc, recorded):
    time.sleep(1.6)
    settle(sc)
    by_executor = {}
    for event in recorded.metrics:
        by_executor.setdefault(event.executor_id, []).append(event.metrics)
    assert len(by_executor) >= 2
    for reports in by_executor.values():
        assert len(reports) >= 2
        assert all(r.rss > 10_000_000 and r.memory_limit > 0 for r in reports)


def test_the_console_progress_bar_draws_spark_s_format():
    line = render([(1, 3, 2, 8)])
    assert line.startswith("[Stage 1:") and line.endswith("(3 + 2) / 8]")
    assert len(line) == 80 and "=" in line and ">" in line


def test_the_console_progress_bar_follows_a_running_stage(sc):
    out = io.StringIO()
    bar = ConsoleProgressBar(sc.statusStore, out)
    try:
        sc.parallelize(range(8), 8).map(lambda x: time.sleep(0.25) or x).count()
    finally:
        bar.stop()
    drawn = out.getvalue()
    assert "[Stage " in drawn and "/ 8]" in drawn



def test_a_retried_stage_keeps_the_failures_of_its_earlier_attempt_in_sight():
    from sparkbook.driver.listener import StageInfo, StageSubmitted, TaskEnd, TaskInfo
    from sparkbook.driver.statustracker import AppStatusStore
    from sparkbook.metrics import TaskMetrics

    store = AppStatusStore()

    def end(attempt: int, reason: str) -> TaskEnd:
        return TaskEnd(0, attempt, "ShuffleMapTask", reason, TaskInfo(1, 0, 0, 0.0, "0"),
                       TaskMetrics())

    store.on_stage_submitted(StageSubmitted(StageInfo(0, 0, "map at x:1", 4, [])))
    store.on_task_end(end(0, "FetchFailed"))
    store.on_stage_submitted(StageSubmitted(StageInfo(0, 1, "map at x:1", 1, [])))
    store.on_task_end(end(0, "ExecutorLostFailure"))  # the old attempt's straggler
    store.on_task_end(end(1, "Success"))
    stage = store.stages[0]
    assert (stage.attempt, stage.completed, stage.failed, stage.earlier_failed) == (1, 1, 0, 2)


def test_the_status_store_keeps_only_the_retained_finished_jobs_stages_and_dead_executors():
    from sparkbook.driver.listener import (
        ExecutorAdded,
        ExecutorRemoved,
        JobEnd,
        JobStart,
        StageCompleted,
        StageInfo,
    )
    from sparkbook.driver.statustracker import AppStatusStore, SparkStatusTracker
    from sparkbook.messages import ExecutorInfo

    store = AppStatusStore(retained_jobs=10, retained_stages=20, retained_dead_executors=3)
    tracker = SparkStatusTracker(store)
    running = StageInfo(0, 0, "running", 1, [])
    store.on_job_start(JobStart(0, 0.0, [running], {}, "cell"))
    for job in range(1, 1000):  # a notebook that runs for days: two stages a job
        infos = [StageInfo(2 * job + i, 0, f"s{i}", 1, []) for i in range(2)]
        store.on_job_start(JobStart(job, 0.0, infos, {}, "cell"))
        for info in infos:
            info.completion_time = 1.0
            store.on_stage_completed(StageCompleted(info))
        store.on_job_end(JobEnd(job, 1.0, True))
    assert len(store.jobs) <= 11 and len(store.stages) <= 21
    assert tracker.getJobInfo(999).status == "SUCCEEDED" and tracker.getJobInfo(1) is None
    # What still runs is never forgotten.
    assert tracker.getJobInfo(0).status == "RUNNING" and 0 in store.stages
    for i in range(10):
        store.on_executor_added(ExecutorAdded(str(i), 0.0, ExecutorInfo(str(i), "tcp://x")))
        store.on_executor_removed(ExecutorRemoved(str(i), 1.0, "killed"))
    store.on_executor_added(ExecutorAdded("live", 0.0, ExecutorInfo("live", "tcp://y")))
    assert "live" in store.executors and len(store.executors) <= 4


def test_a_map_stage_job_shows_as_a_job_of_its_one_stage(sc, recorded):
    shuffled = sc.parallelize(WORDS, 4).map(lambda w: (w, 1)).partitionBy(3)
    future = sc.submitMapStage(shuffled.deps[0])
    stats = future.get()
    assert len(stats.bytes_by_partition_id) == 3 and sum(stats.records_by_partition_id) == 1000
    settle(sc)
    (job,) = recorded.jobs
    assert job.job_id == future.jobIds[0]
    assert [(s.is_shuffle_map, s.num_tasks) for s in job.stage_infos] == [(True, 4)]
    written = stage_metric(recorded, job.stage_infos[0].stage_id, "shuffle_write_bytes")
    assert written == sum(stats.bytes_by_partition_id) > 0
    assert sc.statusTracker().getJobInfo(job.job_id).status == "SUCCEEDED"
    assert len(shuffled.collect()) == 1000  # the next job skips the map stage
    settle(sc)
    assert recorded.jobs[1].skipped_stage_ids == [job.stage_infos[0].stage_id]


def test_submit_map_stage_takes_a_shuffle_dependency_only(sc):
    rdd = sc.parallelize(range(4), 2).map(str)
    with pytest.raises(TypeError, match="submitMapStage takes a ShuffleDependency, not "
                                        "NarrowDependency"):
        sc.submitMapStage(rdd.deps[0])
