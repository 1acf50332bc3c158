"""``SplitStream``: a split's lines as a file object, by Hadoop's LineRecordReader rule (a
split that does not start the file skips its first, partial line; every split reads on
past its end to finish its last line), so that the splits of a file, read in any sizes,
hold each of its lines exactly once; and ``iter_lines`` over it."""

from __future__ import annotations

import random

import pytest

from sparkbook.rdd.input import FileSplit, SplitStream, iter_lines, split_lines

pytestmark = pytest.mark.sparkbook_only  # sparkbook's own reader, no session


def splits(path, size: int, length: int) -> list[FileSplit]:
    return [FileSplit(str(path), start, min(length, size - start))
            for start in range(0, size, length)]


def read_in_pieces(stream: SplitStream, rng: random.Random) -> bytes:
    parts = []
    while part := stream.read(rng.randint(1, 7)):
        parts.append(part)
    return b"".join(parts)


def test_every_line_once_whatever_the_split_and_read_sizes(tmp_path):
    rng = random.Random(7)
    path = tmp_path / "lines.txt"
    for _ in range(25):
        text = b"".join(rng.choice([b"a", b"bc", b"\n", b"\r\n", b"\r", b"xyz"])
                        for _ in range(rng.randint(0, 30)))
        path.write_bytes(text)
        for length in range(1, len(text) + 2):
            pieces = []
            for split in splits(path, len(text), length):
                with SplitStream(split) as stream:
                    pieces.append(read_in_pieces(stream, rng))
            assert b"".join(pieces) == text, (text, length)


def test_lines_of_a_split_straddling_its_end_and_its_start(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"one\ntwo\nthree\n")
    first, second = FileSplit(str(path), 0, 5), FileSplit(str(path), 5, 9)
    with SplitStream(first) as a, SplitStream(second) as b:
        assert a.read() + a.read() == b"one\ntwo\n"  # reads on through "two"
        assert b.read() + b.read() == b"three\n"  # skips the rest of "two"
    with SplitStream(FileSplit(str(path), 0, 14), skip_first_line=True) as header:
        assert header.read() == b"two\nthree\n"
    with SplitStream(FileSplit(str(path), 1, 2)) as inside:
        assert inside.read() == b""  # its only line started before it


@pytest.mark.parametrize("text", [b"", b"a", b"a\n", b"a\r\nb\rc\n\nd", b"\r", b"x\r\n"])
def test_iter_lines_as_split_lines(tmp_path, text):
    path = tmp_path / "t.txt"
    path.write_bytes(text)
    with SplitStream(FileSplit(str(path), 0, len(text))) as stream:
        assert list(iter_lines(stream)) == split_lines(text)


def test_iter_lines_across_pieces_keeps_a_crlf_together(tmp_path):
    from sparkbook.rdd import input as rdd_input

    # A \r ending one megabyte piece and its \n starting the next are one terminator.
    text = b"a" * (rdd_input.PIECE - 1) + b"\r\nb\n"
    path = tmp_path / "t.txt"
    path.write_bytes(text)
    with SplitStream(FileSplit(str(path), 0, len(text))) as stream:
        assert [len(line) for line in iter_lines(stream, False)] == [rdd_input.PIECE - 1, 1]
