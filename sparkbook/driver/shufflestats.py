"""What a shuffle moved, for the widget's shuffle matrix: bytes and records from each map
executor to each reduce partition, the spread of reduce-partition sizes, the hottest keys
(sampled by the map tasks), and a hint when one partition is far above the median."""

from __future__ import annotations

import statistics

from sparkbook.driver.statustracker import StageStatus

HOT_KEYS_SHOWN = 10
MAX_COLUMNS = 128  # reduce partitions the matrix shows one by one
SKEW_RATIO = 4.0  # the largest reduce partition over the median that counts as skew
SKEW_MIN_RECORDS = 1000  # below this a shuffle is too small for skew to matter
SKEW_MIN_BYTES = 1 << 20
KEY_SHARE = 0.5  # a key this share of the largest partition is its cause


def is_sql_exchange(map_stage: StageStatus) -> bool:
    """An sparkbook.sql Exchange: its records are Arrow IPC blocks, its keys partition ids."""
    return bool(map_stage.steps) and map_stage.steps[-1].startswith("Exchange ")


def shuffle_summary(map_stage: StageStatus, reduce_stages: list[int]) -> dict:
    """The shuffle the map stage wrote (its current attempt's tasks), as plain data.

    Past ``MAX_COLUMNS`` reduce partitions, each column of the matrix and each entry of
    ``partition_bytes``/``partition_records`` sums a run of neighbouring partitions, named
    in ``columns`` as ``[first, end)`` (None when every column is one partition), so that
    a 5,000-partition shuffle stays a small model; totals are exact either way."""
    executors = sorted(map_stage.write_bytes, key=_executor_order)
    bytes_rows = [map_stage.write_bytes[e] for e in executors]
    records_rows = [map_stage.write_records[e] for e in executors]
    partition_bytes, partition_records = _column_sums(bytes_rows), _column_sums(records_rows)
    n = len(partition_bytes)
    blocks = is_sql_exchange(map_stage)
    total = sum(partition_records)
    hot = [] if blocks or not total else [
        [key, count, round(count / total, 4)] for key, count in
        sorted(map_stage.hot_keys.items(), key=lambda kv: -kv[1])[:HOT_KEYS_SHOWN]]
    hint = skew_hint(partition_bytes if blocks else partition_records, hot,
                     map_stage.aggregation, "bytes" if blocks else "records")
    columns = None
    if n > MAX_COLUMNS:
        step = -(-n // MAX_COLUMNS)
        columns = [[i, min(i + step, n)] for i in range(0, n, step)]
        bytes_rows = [_binned(row, step) for row in bytes_rows]
        records_rows = [_binned(row, step) for row in records_rows]
        partition_bytes = _binned(partition_bytes, step)
        partition_records = _binned(partition_records, step)
    return {
        "shuffle_id": map_stage.shuffle_id,
        "map_stage": map_stage.stage_id,
        "reduce_stages": reduce_stages,
        "executors": executors,
        "partitions": n,
        "columns": columns,
        "bytes": bytes_rows,
        "records": records_rows,
        "records_are": "Arrow IPC blocks" if blocks else "records",
        "partition_bytes": partition_bytes,
        "partition_records": partition_records,
        "hot_keys": hot,
        "hint": hint,
    }


def _binned(row: list[int], step: int) -> list[int]:
    return [sum(row[i:i + step]) for i in range(0, len(row), step)]


def skew_hint(sizes: list[int], hot_keys: list, aggregation: str,
              unit: str = "records") -> str | None:
    """A plain hint when the largest reduce partition is far above the median one."""
    if len(sizes) < 2 or sum(sizes) < (SKEW_MIN_BYTES if unit == "bytes" else SKEW_MIN_RECORDS):
        return None
    largest = max(sizes)
    median = statistics.median(sizes)
    if largest < SKEW_RATIO * max(median, 1) or largest < 2 * statistics.fmean(sizes):
        return None
    if hot_keys and hot_keys[0][1] >= KEY_SHARE * largest:
        key, _, share = hot_keys[0]
        # (a shuffle that combines map-side has one record per key and map task: no key
        # is hot in it, and its map tasks sample none)
        cure = ("salt it, or combine before the shuffle with reduceByKey"
                if aggregation == "reduce-side" else
                "salt it, or, in a join, broadcast the smaller side")
        return f"key {key} holds {share * 100:.0f} % of the {unit}: {cure}"
    where, total = sizes.index(largest), sum(sizes)
    spread = (f"{largest / median:.0f}× the median partition's {unit} ({largest:,} of "
              f"{total:,})" if median else
              f"{largest:,} of {total:,} {unit} and most partitions none")
    return (f"reduce partition {where} holds {spread}: use more partitions, or a "
            "partitioner that spreads the keys")


def _executor_order(executor_id: str) -> tuple:
    return (0, int(executor_id), "") if executor_id.isdigit() else (1, 0, executor_id)


def _column_sums(rows: list[list[int]]) -> list[int]:
    return [sum(column) for column in zip(*rows)]
