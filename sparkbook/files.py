"""Reading text files the way Hadoop's TextInputFormat splits and reads them."""

from __future__ import annotations

import glob
import os
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
    for path, size in zip(files, sizes, strict=False):
        if size == 0:
            splits.append(FileSplit(path, 0, 0))
            continue
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
    if split.length == 0:
        return b""
    with open(split.path, "rb") as f:
        f.seek(split.start)
        data = f.read(split.length)
        tail = f.readline()
    if split.start != 0:
        first_newline = data.find(b"\n")
        if first_newline < 0:
            return b""
        data = data[first_newline + 1:]
    return data + tail if tail else data


def split_lines(data: bytes, use_unicode: bool = True) -> list:
    """Lines without their terminators (\\n, \\r\\n)."""
    if not data:
        return []
    text = data.decode("utf-8", errors="replace") if use_unicode else data
    sep = "\n" if use_unicode else b"\n"
    lines = text.split(sep)
    if lines[-1] in ("", b""):
        lines.pop()
    cr = "\r" if use_unicode else b"\r"
    if cr in text:
        lines = [line[:-1] if line.endswith(cr) else line for line in lines]
    return lines
