"""RDDs whose records are whole files: ``wholeTextFiles`` and ``binaryFiles``.

Spark reads these with Hadoop's CombineFileInputFormat: files are never split, and small
files are packed together into partitions of about ``max_split_size`` bytes.
``combine_files`` is that packing for local files (one host, one rack), so partition
counts and contents match PySpark's for the same file order.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass

from sparkbook.files import list_input_files
from sparkbook.rdd.rdd import RDD, FilePartition, Partition

FILES_MAX_PARTITION_BYTES = 128 * 1024 * 1024  # spark.files.maxPartitionBytes
FILES_OPEN_COST_IN_BYTES = 4 * 1024 * 1024  # spark.files.openCostInBytes

FileEntry = tuple[str, int]  # (absolute path, size in bytes)


def combine_files(files: list[FileEntry], max_split_size: int) -> list[list[FileEntry]]:
    """CombineFileInputFormat.getSplits for local files, in listing order.

    Hadoop first packs the blocks that live on a host (here: every non-empty file) until a
    split reaches ``max_split_size``; what is left, together with the empty files (which have
    no host, only the default rack), goes into one last split, in listing order. A
    ``max_split_size`` of 0 means no limit: one split.
    """
    splits: list[list[FileEntry]] = []
    current: list[int] = []
    placed: set[int] = set()
    size = 0
    for i, (_, length) in enumerate(files):
        if length == 0 or max_split_size == 0:
            continue
        current.append(i)
        size += length
        if size >= max_split_size:
            splits.append([files[j] for j in current])
            placed.update(current)
            current, size = [], 0
    rest = [entry for i, entry in enumerate(files) if i not in placed]
    if rest:
        splits.append(rest)
    return splits


@dataclass(frozen=True)
class CombineFileSplit:
    """The whole files one task reads (Hadoop's CombineFileSplit)."""

    files: tuple[FileEntry, ...]


class WholeFileRDD(RDD):
    """(``file:`` URI, content) for every file of a path, a directory, a glob or a
    comma-separated list of them; subclasses say how large a split may be and what the
    content is."""

    def __init__(self, ctx, path: str, min_partitions: int, op: str) -> None:
        super().__init__(ctx, [], op)
        self.path = path
        self.min_partitions = min_partitions

    def max_split_size(self, sizes: list[int]) -> int:
        raise NotImplementedError

    def value(self, data: bytes):
        raise NotImplementedError

    def key(self, uri: str):
        return uri

    def _get_partitions(self) -> list[Partition]:
        files = [(os.path.abspath(p), os.path.getsize(p)) for p in list_input_files(self.path)]
        splits = combine_files(files, self.max_split_size([size for _, size in files]))
        return [FilePartition(i, CombineFileSplit(tuple(split)))
                for i, split in enumerate(splits)]

    def compute(self, split: FilePartition, context) -> Iterator:
        for path, _ in split.split.files:
            with open(path, "rb") as f:
                data = f.read()
            context.metrics.input_bytes += len(data)
            yield self.key("file:" + path), self.value(data)

    def __repr__(self) -> str:
        return f"{self.path} {super().__repr__()}"


class WholeTextFileRDD(WholeFileRDD):
    """``wholeTextFiles``: contents decoded as UTF-8 (bad bytes become U+FFFD, as Hadoop's
    Text does); with ``use_unicode=False`` keys and values are UTF-8 bytes."""

    def __init__(self, ctx, path: str, min_partitions: int, use_unicode: bool) -> None:
        super().__init__(ctx, path, min_partitions, "wholeTextFiles")
        self.use_unicode = use_unicode

    def max_split_size(self, sizes: list[int]) -> int:
        return math.ceil(sum(sizes) / (self.min_partitions or 1))

    def value(self, data: bytes):
        text = data.decode("utf-8", errors="replace")
        return text if self.use_unicode else text.encode("utf-8")

    def key(self, uri: str):
        return uri if self.use_unicode else uri.encode("utf-8")


class BinaryFileRDD(WholeFileRDD):
    """``binaryFiles``: contents as bytes, packed as Spark's StreamFileInputFormat packs them
    (each file counts ``spark.files.openCostInBytes`` more, so small files share one
    partition)."""

    def __init__(self, ctx, path: str, min_partitions: int) -> None:
        super().__init__(ctx, path, min_partitions, "binaryFiles")

    def max_split_size(self, sizes: list[int]) -> int:
        parallelism = max(self._driver().defaultParallelism, self.min_partitions)
        total = sum(size + FILES_OPEN_COST_IN_BYTES for size in sizes)
        return min(FILES_MAX_PARTITION_BYTES, max(FILES_OPEN_COST_IN_BYTES,
                                                  total // parallelism))

    def value(self, data: bytes):
        return data
