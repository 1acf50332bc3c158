"""Plain-Python oracles for the RDD tests.

Each function here computes, without any Spark, what PySpark produces for a
given input: how `parallelize` slices data, how `coalesce` groups partitions,
how `textFile` splits files (Hadoop's rule), and where `partitionBy` puts a key
(PySpark's `portable_hash`). The test modules compare the engine against them.
"""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence

# --------------------------------------------------------------------------
# parallelize / range slicing


def parallelize_slices(data: Sequence, num_slices: int) -> list[list]:
    """How PySpark's `sc.parallelize(list, n)` cuts a list into partitions.

    PySpark pickles the list in batches of `max(1, min(len // n, 1024))`
    elements and the JVM slices the *batches* (not the elements) at positions
    `i * num_batches // n`. So `parallelize(range-as-list(10), 4)` gives
    [[0, 1], [2, 3], [4, 5], [6, 7, 8, 9]], not the element-wise
    [[0, 1], [2, 3, 4], [5, 6], [7, 8, 9]].
    """
    items = list(data)
    batch = max(1, min(len(items) // num_slices, 1024))
    batches = [items[i : i + batch] for i in range(0, len(items), batch)]
    nb = len(batches)
    return [
        [x for b in batches[i * nb // num_slices : (i + 1) * nb // num_slices] for x in b]
        for i in range(num_slices)
    ]


def range_slice_starts(r: range, num_slices: int) -> list[int | None]:
    """First element of each partition of `sc.parallelize(range, n)`.

    PySpark computes slice i of a range as
    `range(start + int(i * size / n) * step, start + int((i + 1) * size / n) * step, step)`:
    note the *float* division, which differs from `i * size // n` for huge ranges.
    Empty slices are reported as None.
    """
    size = len(r)
    if size == 0:
        return [None] * num_slices
    step = r[1] - r[0] if size > 1 else 1
    starts = []
    for i in range(num_slices):
        lo = r[0] + int(i * size / num_slices) * step
        hi = r[0] + int((i + 1) * size / num_slices) * step
        part = range(lo, hi, step)
        starts.append(part[0] if len(part) else None)
    return starts


def range_slices(r: range, num_slices: int) -> list[list[int]]:
    """Every partition of `sc.parallelize(range, n)` (small ranges only)."""
    size = len(r)
    if size == 0:
        return [[] for _ in range(num_slices)]
    step = r[1] - r[0] if size > 1 else 1
    out = []
    for i in range(num_slices):
        lo = r[0] + int(i * size / num_slices) * step
        hi = r[0] + int((i + 1) * size / num_slices) * step
        out.append(list(range(lo, hi, step)))
    return out


# --------------------------------------------------------------------------
# coalesce


def coalesce_groups(num_parents: int, num_target: int) -> list[range]:
    """Which parent partitions `coalesce(n)` (no shuffle) merges into each child.

    With no locality preferences (parallelized data) Spark's
    DefaultPartitionCoalescer gives child i the contiguous parents
    `[i * parents // n, (i + 1) * parents // n)`. Asking for more partitions
    than exist keeps the parent's partitions unchanged.
    """
    if num_target >= num_parents:
        return [range(i, i + 1) for i in range(num_parents)]
    return [
        range(i * num_parents // num_target, (i + 1) * num_parents // num_target)
        for i in range(num_target)
    ]


def coalesced(parent_partitions: list[list], num_target: int) -> list[list]:
    groups = coalesce_groups(len(parent_partitions), num_target)
    return [[x for p in g for x in parent_partitions[p]] for g in groups]


# --------------------------------------------------------------------------
# textFile: Hadoop's FileInputFormat + LineRecordReader

LOCAL_FS_BLOCK_SIZE = 32 * 1024 * 1024  # fs.local.block.size
SPLIT_SLOP = 1.1


def hadoop_splits(sizes: Sequence[int], min_partitions: int) -> list[tuple[int, int, int]]:
    """Byte ranges `(file_index, start, end)` that `sc.textFile` reads as partitions.

    goal = total_bytes // minPartitions; split = max(1, min(goal, block size));
    each file is cut into `split`-byte pieces while the remainder is more than
    1.1 splits; the remainder becomes the last piece. Empty files give no
    partition at all (Spark's `spark.hadoopRDD.ignoreEmptySplits`).
    """
    goal = sum(sizes) // max(min_partitions, 1)
    split_size = max(1, min(goal, LOCAL_FS_BLOCK_SIZE))
    out = []
    for index, length in enumerate(sizes):
        if length == 0:
            continue
        remaining = length
        while remaining / split_size > SPLIT_SLOP:
            start = length - remaining
            out.append((index, start, start + split_size))
            remaining -= split_size
        out.append((index, length - remaining, length))
    return out


def hadoop_lines(data: bytes) -> list[tuple[int, bytes]]:
    """Lines with their starting byte offset; terminators are \\n, \\r and \\r\\n only."""
    out = []
    start = i = 0
    while i < len(data):
        c = data[i : i + 1]
        if c == b"\n":
            out.append((start, data[start:i]))
            i += 1
            start = i
        elif c == b"\r":
            out.append((start, data[start:i]))
            i += 2 if data[i + 1 : i + 2] == b"\n" else 1
            start = i
        else:
            i += 1
    if start < len(data):
        out.append((start, data[start:]))
    return out


def text_file_partitions(contents: Sequence[bytes], min_partitions: int) -> list[list[str]]:
    """Lines of every partition of `sc.textFile` over files with these contents.

    A line belongs to the split whose byte range (start, end] contains the
    line's first byte (the first split of a file also owns offset 0): a reader
    skips the partial line it starts in and reads past its end to finish the
    last line it started.
    """
    parts = []
    for index, start, end in hadoop_splits([len(c) for c in contents], min_partitions):
        parts.append(
            [
                line.decode("utf-8")
                for offset, line in hadoop_lines(contents[index])
                if start < offset <= end or offset == start == 0
            ]
        )
    return parts


# --------------------------------------------------------------------------
# hash partitioning: pyspark.rdd.portable_hash


def portable_hash(x: Hashable) -> int:
    """pyspark.rdd.portable_hash: None -> 0, tuples combined element-wise, else hash(x)."""
    if x is None:
        return 0
    if isinstance(x, tuple):
        h = 0x345678
        for i in x:
            h ^= portable_hash(i)
            h *= 1000003
            h &= sys.maxsize
        h ^= len(x)
        if h == -1:
            h = -2
        return int(h)
    return hash(x)


def _needs_seeded_interpreter(key: object) -> bool:
    if isinstance(key, tuple):
        return any(_needs_seeded_interpreter(k) for k in key)
    return isinstance(key, (str, bytes))


def worker_hash_seed() -> str:
    """PYTHONHASHSEED of PySpark's Python workers: the driver's, or "0" if unset."""
    return os.environ.get("PYTHONHASHSEED", "0")


def portable_hashes(keys: Sequence[Hashable]) -> list[int]:
    """`portable_hash(k)` for each key, as computed in a worker.

    Int, float and None hashes do not depend on PYTHONHASHSEED, so they are
    computed here. str/bytes hashes do, so those are computed in a fresh
    interpreter started with the workers' PYTHONHASHSEED (keys travel as repr).
    """
    keys = list(keys)
    if not any(_needs_seeded_interpreter(k) for k in keys):
        return [portable_hash(k) for k in keys]
    script = "\n".join(
        [
            "import ast, sys",
            "from collections.abc import Hashable",
            inspect.getsource(portable_hash),
            "keys = ast.literal_eval(sys.stdin.read())",
            "print(repr([portable_hash(k) for k in keys]))",
        ]
    )
    env = {**os.environ, "PYTHONHASHSEED": worker_hash_seed()}
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=repr(keys),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return ast.literal_eval(done.stdout)


def hash_placement(keys: Iterable[Hashable], num_partitions: int) -> list[set]:
    """The set of keys that hash partitioning puts in each partition.

    Placement is `portable_hash(key) % num_partitions` (Python's %, so never
    negative; note hash(-1) == -2 in CPython).
    """
    unique = list(dict.fromkeys(keys))
    placed: list[set] = [set() for _ in range(num_partitions)]
    for key, h in zip(unique, portable_hashes(unique), strict=True):
        placed[h % num_partitions].add(key)
    return placed


# --------------------------------------------------------------------------
# pair-RDD oracles


def reduce_by_key(pairs, func):
    out: dict = {}
    for k, v in pairs:
        out[k] = func(out[k], v) if k in out else v
    return out


def group_by_key(pairs) -> dict:
    out: dict = defaultdict(list)
    for k, v in pairs:
        out[k].append(v)
    return {k: sorted(vs) for k, vs in out.items()}


def inner_join(left, right) -> Counter:
    by_key: dict = defaultdict(list)
    for k, w in right:
        by_key[k].append(w)
    return Counter((k, (v, w)) for k, v in left for w in by_key.get(k, []))


def outer_join(left, right, how: str) -> Counter:
    """leftOuterJoin / rightOuterJoin / fullOuterJoin: the inner join plus the unmatched
    pairs of the kept side(s), with None for the missing value."""
    lefts: dict = defaultdict(list)
    rights: dict = defaultdict(list)
    for k, v in left:
        lefts[k].append(v)
    for k, w in right:
        rights[k].append(w)
    out = Counter()
    for k in lefts.keys() | rights.keys():
        vs = lefts.get(k) or ([None] if how in ("right", "full") else [])
        ws = rights.get(k) or ([None] if how in ("left", "full") else [])
        out.update((k, (v, w)) for v in vs for w in ws)
    return out


def cogroup(*pair_lists) -> dict:
    """cogroup / groupWith: each key with the sorted values it has in each input."""
    keys = {k for pairs in pair_lists for k, _ in pairs}
    return {k: tuple(sorted(v for kk, v in pairs if kk == k) for pairs in pair_lists)
            for k in keys}


def histogram_counts(values, edges) -> list[int]:
    """How many values fall in each bucket [e(i), e(i+1)), the last bucket closed."""
    counts = [0] * (len(edges) - 1)
    for x in values:
        for i in range(len(edges) - 1):
            last = i == len(edges) - 2
            if edges[i] <= x < edges[i + 1] or (last and x == edges[-1]):
                counts[i] += 1
                break
    return counts
