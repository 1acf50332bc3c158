"""Metric records shared by executors (who measure) and the driver (who listens)."""

from __future__ import annotations

from dataclasses import dataclass


class Record:
    """A flat record of numbers that travels as a plain dict."""

    def to_dict(self) -> dict:
        return dict(self.__dict__)  # flat numbers: no need for asdict's deep copy

    @classmethod
    def from_dict(cls, data: dict) -> Record:
        record = cls()
        record.__dict__.update(data)
        return record


@dataclass
class TaskMetrics(Record):
    """What one task did, as Spark's TaskMetrics (times in seconds, sizes in bytes)."""

    executor_run_time: float = 0.0
    executor_cpu_time: float = 0.0
    executor_deserialize_time: float = 0.0
    result_size: int = 0
    input_bytes: int = 0
    input_records: int = 0
    output_records: int = 0
    shuffle_read_bytes: int = 0
    shuffle_read_records: int = 0
    shuffle_remote_bytes: int = 0
    shuffle_fetch_wait_time: float = 0.0
    shuffle_write_bytes: int = 0
    shuffle_write_records: int = 0
    memory_bytes_spilled: int = 0
    disk_bytes_spilled: int = 0
    cache_hits: int = 0


@dataclass
class ExecutorMetrics(Record):
    """An executor's resource use, sent with every heartbeat."""

    cpu_percent: float = 0.0
    rss: int = 0
    memory_used: int = 0
    memory_limit: int = 0
    disk_used: int = 0
    active_tasks: int = 0
    completed_tasks: int = 0
    failed_tasks: int = 0
    shuffle_read_bytes: int = 0
    shuffle_write_bytes: int = 0
    timestamp: float = 0.0
    over_memory_limit: bool = False  # RSS far above memory_limit (see executor/memory.py)
