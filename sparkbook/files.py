"""Files on the local file system: text files read the way Hadoop's TextInputFormat splits
them, and the pickle files of ``saveAsPickleFile`` / ``pickleFile`` and reliable checkpoints.

A pickle file is a directory of ``part-NNNNN`` files, one a partition, each a sequence of
pickled lists (batches of the partition's elements, in order), plus an empty ``_SUCCESS``
marker written when every part is complete.
"""

from __future__ import annotations

import glob
import itertools
import os
import pickle
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

LOCAL_BLOCK_SIZE = 32 * 1024 * 1024  # fs.local.block.size
SPLIT_SLOP = 1.1


@dataclass(frozen=True)
class FileSplit:
    """A byte range of one file; the task reading it owns every line that starts in it."""

    path: str
    start: int
    length: int


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


def read_split_bytes(split: FileSplit) -> bytes:
    """The bytes of every line that starts inside the split (LineRecordReader's rule:
    a split that does not start the file skips its first, partial line; a split reads
    on past its end to finish the line that straddles it)."""
    with open(split.path, "rb") as f:
        f.seek(split.start)
        data = f.read(split.length) + _read_through_terminator(f)
    if split.start != 0:
        data = data[_end_of_first_line(data):]
    return data


def _end_of_first_line(data: bytes) -> int:
    """Index just past the first line terminator (len(data) when there is none)."""
    ends = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
    if not ends:
        return len(data)
    i = min(ends)
    return i + 2 if data[i:i + 2] == b"\r\n" else i + 1


def _read_through_terminator(f) -> bytes:
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


def iter_lines(data: bytes, use_unicode: bool = True) -> Iterator:
    """The lines of ``data``, decoded a megabyte at a time to keep a task's memory flat."""
    start, size = 0, len(data)
    while start < size:
        cut = data.find(b"\n", start + PIECE)
        end = size if cut < 0 else cut + 1
        yield from split_lines(data[start:end], use_unicode)
        start = end


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


# --- pickle files --------------------------------------------------------------------


def part_file(directory: str, index: int) -> str:
    """The file that holds partition ``index`` of a saved RDD."""
    return os.path.join(directory, f"part-{index:05d}")


def local_path(path: str) -> str:
    """An absolute file-system path from a path or a ``file:`` URI."""
    return os.path.abspath(path.removeprefix("file://").removeprefix("file:"))


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
