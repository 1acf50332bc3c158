"""Input from local files: text files split the way Hadoop's TextInputFormat splits them
(``textFile``), whole files (``wholeTextFiles``, ``binaryFiles``), and the pickle files of
``saveAsPickleFile`` / ``pickleFile`` and reliable checkpoints.

A pickle file is a directory of ``part-NNNNN`` files, one a partition, each a sequence of
pickled lists (batches of the partition's elements, in order), plus an empty ``_SUCCESS``
marker written when every part is complete.

Spark reads whole files with Hadoop's CombineFileInputFormat: files are never split, and
small files are packed together into partitions of about ``max_split_size`` bytes.
``combine_files`` is that packing for local files (one host, one rack), so partition
counts and contents match PySpark's for the same file order.
"""

from __future__ import annotations

import glob
import io
import itertools
import math
import os
import pickle
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from sparkbook.rdd.rdd import RDD, Partition


def local_path(path: str) -> str:
    """An absolute file-system path from a path or a ``file:`` URI."""
    return os.path.abspath(path.removeprefix("file://").removeprefix("file:"))


def list_input_files(path: str) -> list[str]:
    """Files named by a path, a comma-separated list, a directory or a glob (sorted)."""
    found: list[str] = []
    for part in path.split(","):
        part = part.removeprefix("file://")
        matches = sorted(glob.glob(part)) if glob.has_magic(part) else [part]
        if not matches:
            raise FileNotFoundError(f"Input Pattern file:{part} matches 0 files")
        for match in matches:
            if os.path.isdir(match):
                found.extend(
                    os.path.join(match, name) for name in sorted(os.listdir(match))
                    if not name.startswith((".", "_"))
                    and os.path.isfile(os.path.join(match, name))
                )
            elif os.path.exists(match):
                found.append(match)
            else:
                raise FileNotFoundError(f"Input path does not exist: file:{os.path.abspath(match)}")
    return found


class FilePartition(Partition):
    """A partition that reads its split of the input: a byte range of a file (a whole part
    file: all of it), or whole files."""

    __slots__ = ("split",)

    def __init__(self, index: int, split: FileSplit) -> None:
        super().__init__(index)
        self.split = split

    def __getstate__(self) -> tuple:
        return (self.index, self.split)

    def __setstate__(self, state: tuple) -> None:
        self.index, self.split = state


# --- text files --------------------------------------------------------------------

LOCAL_BLOCK_SIZE = 32 * 1024 * 1024  # fs.local.block.size
SPLIT_SLOP = 1.1


@dataclass(frozen=True)
class FileSplit:
    """A byte range of one file; the task reading it owns every line that starts in it."""

    path: str
    start: int
    length: int


def compute_splits(files: list[str], min_partitions: int) -> list[FileSplit]:
    """Hadoop's FileInputFormat.getSplits for uncompressed local files."""
    sizes = [os.path.getsize(f) for f in files]
    goal = sum(sizes) // max(min_partitions, 1)
    splits: list[FileSplit] = []
    for path, size in zip(files, sizes):
        if size == 0:
            continue  # Spark drops empty splits (spark.hadoopRDD.ignoreEmptySplits)
        split_size = max(1, min(goal, LOCAL_BLOCK_SIZE))
        remaining = size
        while remaining / split_size > SPLIT_SLOP:
            splits.append(FileSplit(path, size - remaining, split_size))
            remaining -= split_size
        if remaining:
            splits.append(FileSplit(path, size - remaining, remaining))
    return splits


def line_range(split: FileSplit, skip_first_line: bool = False) -> tuple[int, int]:
    """The byte range ``[start, end)`` of the lines that start inside the split
    (LineRecordReader's rule: a split that does not start the file skips its first,
    partial line; a split reads on past its end to finish the line that straddles it).
    With ``skip_first_line`` the split's first line is skipped even at the file's start
    (a CSV header)."""
    split_end = split.start + split.length
    with open(split.path, "rb") as f:
        f.seek(split.start)
        start = split.start
        if split.start != 0 or skip_first_line:
            start += len(_read_through_terminator(f))
        if start > split_end:  # the skipped line straddled the end: no line starts here
            return start, start
        f.seek(split_end)
        return start, split_end + len(_read_through_terminator(f))


class SplitStream(io.RawIOBase):
    """A read-only file object over the lines that start inside a split (``line_range``),
    so a task reads its split a piece at a time instead of holding it whole."""

    def __init__(self, split: FileSplit, skip_first_line: bool = False) -> None:
        super().__init__()
        start, self._end = line_range(split, skip_first_line)
        self._file = open(split.path, "rb")
        self._file.seek(start)
        self.bytes_read = 0  # of the lines served

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        left = self._end - self._file.tell()
        data = self._file.read(left if size is None or size < 0 else min(size, left))
        self.bytes_read += len(data)
        return data

    def readall(self) -> bytes:
        return self.read()

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._file.close()
        super().close()


def read_split_bytes(split: FileSplit) -> bytes:
    """The bytes of every line that starts inside the split (see ``SplitStream``)."""
    with SplitStream(split) as stream:
        return stream.readall()


def _end_of_first_line(data: bytes) -> int:
    """Index just past the first line terminator (len(data) when there is none)."""
    ends = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
    if not ends:
        return len(data)
    i = min(ends)
    return i + 2 if data[i:i + 2] == b"\r\n" else i + 1


def _read_through_terminator(f: BinaryIO) -> bytes:
    """From the file's position up to and including the next line terminator."""
    parts = []
    while chunk := f.read(8192):
        end = _end_of_first_line(chunk)
        if end < len(chunk) or chunk.endswith(b"\n"):
            parts.append(chunk[:end])
            break
        parts.append(chunk)
        if chunk.endswith(b"\r"):
            if f.read(1) == b"\n":
                parts.append(b"\n")
            break
    return b"".join(parts)


PIECE = 1 << 20


def iter_lines(stream: BinaryIO, use_unicode: bool = True) -> Iterator:
    """The lines of a stream, read and decoded a megabyte at a time to keep a task's memory
    flat."""
    rest = b""
    while piece := stream.read(PIECE):
        piece = rest + piece
        # Cut after the last terminator, keeping a final \r back: a \n may follow it.
        cut = max(piece.rfind(b"\n"), piece.rfind(b"\r", 0, len(piece) - 1)) + 1
        rest = piece[cut:]
        yield from split_lines(piece[:cut], use_unicode)
    yield from split_lines(rest, use_unicode)


def split_lines(data: bytes, use_unicode: bool = True) -> list:
    """Lines without their terminators (\\n, \\r\\n)."""
    if not data:
        return []
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if data.endswith(b"\n"):
        data = data[:-1]
    if use_unicode:
        return data.decode("utf-8", errors="replace").split("\n")
    return data.split(b"\n")


class HadoopRDD(RDD):
    """Lines of text files, split into byte ranges the way Hadoop's TextInputFormat does."""

    def __init__(self, ctx, path: str, min_partitions: int, use_unicode: bool = True) -> None:
        super().__init__(ctx, [], "textFile")
        self.path = path
        self.use_unicode = use_unicode
        self.min_partitions = min_partitions

    def _get_partitions(self) -> list[Partition]:
        splits = compute_splits(list_input_files(self.path), self.min_partitions)
        return [FilePartition(i, s) for i, s in enumerate(splits)]

    def compute(self, split: FilePartition, context) -> Iterator:
        return _counted_lines(SplitStream(split.split), context, self.use_unicode)

    def __repr__(self) -> str:
        return f"{self.path} {super().__repr__()}"


def _counted_lines(stream: SplitStream, context, use_unicode: bool) -> Iterator:
    with stream:
        try:
            yield from iter_lines(stream, use_unicode)
        finally:
            context.metrics.input_bytes += stream.bytes_read


# --- pickle files ------------------------------------------------------------------


def part_file(directory: str, index: int) -> str:
    """The file that holds partition ``index`` of a saved RDD."""
    return os.path.join(directory, f"part-{index:05d}")


def write_pickle_part(path: str, records: Iterable, batch_size: int) -> int:
    """Write one partition as pickled batches of ``batch_size`` elements; the element count."""
    written = 0
    it = iter(records)
    with open(path, "wb") as f:
        while batch := list(itertools.islice(it, batch_size)):
            pickle.dump(batch, f, protocol=5)
            written += len(batch)
    return written


def read_pickle_part(path: str) -> Iterator:
    """The elements of one part file, a batch at a time."""
    with open(path, "rb") as f:
        while True:
            try:
                batch = pickle.load(f)
            except EOFError:
                return
            yield from batch


def load_pickle_file(path: str) -> Iterator:
    """Every element of a saved pickle file (a directory, a glob or a comma-separated list),
    part after part: what ``SparkContext.pickleFile`` reads."""
    for part in list_input_files(path):
        yield from read_pickle_part(part)


class PickleFileRDD(RDD):
    """The elements of a pickle file (``saveAsPickleFile``'s directory): a partition a part
    file, listed when the partitions are first needed."""

    def __init__(self, ctx, path: str, op: str = "pickleFile") -> None:
        super().__init__(ctx, [], op)
        self.path = local_path(path)

    def _get_partitions(self) -> list[Partition]:
        return [FilePartition(i, FileSplit(f, 0, os.path.getsize(f)))
                for i, f in enumerate(list_input_files(self.path))]

    def compute(self, split: FilePartition, context) -> Iterator:
        context.metrics.input_bytes += split.split.length
        return read_pickle_part(split.split.path)


# --- whole files -------------------------------------------------------------------

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

    def value(self, data: bytes) -> str | bytes:
        raise NotImplementedError

    def key(self, uri: str) -> str | bytes:
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

    def value(self, data: bytes) -> str | bytes:
        text = data.decode("utf-8", errors="replace")
        return text if self.use_unicode else text.encode("utf-8")

    def key(self, uri: str) -> str | bytes:
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

    def value(self, data: bytes) -> str | bytes:
        return data
