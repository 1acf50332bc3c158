"""String functions over whole columns with ``pyarrow.compute``: ``concat``, ``concat_ws``,
``split``, ``regexp_replace``, ``regexp_extract``, ``rlike``, ``substring`` (Spark's 1-based
and negative positions), ``trim``, ``initcap``, ``lpad``/``rpad``, ``upper``... Regular
expressions run in RE2, which reads the common Java patterns alike (no look-around, no
back-references)."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sparkbook.errors import SparkRuntimeException
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.execution.values import Kernel, Value, as_array, literal_value

NULL_STRING = pa.scalar(None, pa.string())


def _concat(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    if not args:
        return pa.scalar("")
    return pc.binary_join_element_wise(*args, pa.scalar(""))


def _concat_ws(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    separator = literal_value(x.children[0])
    if separator is None:
        return NULL_STRING
    values = [_joined(as_array(a, n), separator) if pa.types.is_list(a.type) else a
              for a in args[1:]]
    # NULL values are skipped. Arrow drops a row whose values are all NULL, so the join
    # starts from an empty string that is always there, and its separator is cut off.
    joined = pc.binary_join_element_wise(pa.scalar(""), *values, pa.scalar(separator),
                                         null_handling="skip")
    return pc.utf8_slice_codeunits(as_array(joined, n), len(separator), 1 << 62)


def _joined(lists: pa.Array, separator: str) -> pa.Array:
    """Each array's non-NULL strings joined by ``separator`` (a NULL array stays NULL)."""
    from sparkbook.sql.execution.arrays import Lists

    parts = Lists(lists)
    elements = parts.elements()
    kept = elements.is_valid().to_numpy(zero_copy_only=False)
    counts = np.bincount(parts.rows[kept], minlength=len(lists))
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    strings = elements.filter(pa.array(kept)).cast(pa.string())
    rebuilt = pa.ListArray.from_arrays(offsets, strings, mask=lists.is_null())
    return pc.binary_join(rebuilt, separator)


def _pattern(x: e.ScalarFunction, i: int) -> str:
    return literal_value(x.children[i])


def _split(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    pattern, limit = _pattern(x, 1), literal_value(x.children[2])
    values = as_array(args[0], n)
    if pattern == "":
        # Every character apart (Java's split of ""); the regex splitter needs a separator.
        return _characters(values)
    splits = None if limit is None or limit <= 0 else limit - 1
    return pc.split_pattern_regex(values, pattern=pattern, max_splits=splits)


def _characters(values: pa.Array) -> pa.Array:
    # Each character marked by a NUL before it, the first mark dropped, split at the marks.
    marked = pc.replace_substring_regex(values, pattern="(?s)(.)", replacement="\x00\\1")
    return pc.split_pattern(pc.utf8_slice_codeunits(marked, 1, 1 << 62), pattern="\x00")


def _java_replacement(text: str) -> str:
    # Java writes groups as $1; RE2 as \1 (and a literal backslash doubled).
    text = text.replace("\\", "\\\\")
    return re.sub(r"\$(\d)", r"\\\1", text)


def _regexp_replace(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    position = literal_value(x.children[3]) if len(x.children) > 3 else 1
    if position != 1:
        raise SparkRuntimeException("[UNSUPPORTED_FEATURE] regexp_replace from a position "
                                    "other than 1 is not supported in this version of "
                                    "sparkbook.", "UNSUPPORTED_FEATURE")
    return pc.replace_substring_regex(args[0], pattern=_pattern(x, 1),
                                      replacement=_java_replacement(_pattern(x, 2)))


def _named_groups(pattern: str) -> tuple[str, int] | None:
    """The pattern with its capturing groups named ``g1``, ``g2``... (RE2 extracts only
    named groups) and how many there are; None for a pattern that names its own."""
    out, count, i, in_class = [], 0, 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(" and pattern[i + 1:i + 2] != "?":
            count += 1
            out.append(f"(?P<g{count}>")
            i += 1
            continue
        elif ch == "(" and pattern[i + 1:i + 3] in ("?P", "?<"):
            return None
        out.append(ch)
        i += 1
    return "".join(out), count


def _regexp_extract(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    pattern, group = _pattern(x, 1), literal_value(x.children[2])
    values = as_array(args[0], n)
    named = _named_groups(pattern)
    if named is not None and group <= named[1]:
        parts = pc.extract_regex(values, pattern=f"(?P<g0>{named[0]})")
        # No match is "" (and a NULL string NULL).
        taken = pc.struct_field(parts, f"g{group}")
        return pc.if_else(pc.is_valid(parts), taken,
                          pc.if_else(pc.is_valid(values), "", NULL_STRING))
    found = pc.match_substring_regex(values, pattern=pattern)
    # The leftmost match, found by matching the whole text around it: group 1 is the match,
    # the pattern's own groups follow it.
    whole = f"(?s)^.*?({pattern}).*$"
    taken = pc.replace_substring_regex(values, pattern=whole, replacement=f"\\{group + 1}",
                                       max_replacements=1)
    return pc.if_else(found, taken, "")


def _rlike(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    return pc.match_substring_regex(args[0], pattern=_pattern(x, 1))


def _substring(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    pos = literal_value(x.children[1])
    length = literal_value(x.children[2]) if len(x.children) > 2 else None
    if length is not None and length <= 0:
        return pc.if_else(pc.is_valid(args[0]), "", NULL_STRING)
    # Spark's positions are 1-based, 0 is 1, and a negative one counts from the end: the
    # same cut as a Python slice from pos - 1 (or pos) of ``length`` characters.
    start = pos - 1 if pos > 0 else pos
    stop = None if length is None or length >= 2**31 - 1 else start + length
    if pos < 0 and stop is not None and stop >= 0:
        stop = None
    if stop is None:
        stop = 1 << 62
    return pc.utf8_slice_codeunits(args[0], start=start, stop=stop)


def _trim(function):
    def kernel(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
        characters = literal_value(x.children[1]) if len(x.children) > 1 else " "
        return function(args[0], characters=characters)

    return kernel


def _initcap(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    # Spark lowers the text and raises the first letter of each word between spaces.
    values = as_array(args[0], n)
    words = pc.split_pattern(values, pattern=" ")
    capitalized = pc.utf8_capitalize(pc.list_flatten(words))
    rebuilt = pa.ListArray.from_arrays(words.offsets, capitalized, mask=pc.is_null(words))
    return pc.binary_join(rebuilt, " ")


def _pad(function):
    def kernel(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
        width = literal_value(x.children[1])
        padding = literal_value(x.children[2]) if len(x.children) > 2 else " "
        if width is None or padding is None:
            return NULL_STRING
        if width <= 0:
            return pc.if_else(pc.is_valid(args[0]), "", NULL_STRING)
        if len(padding) != 1:
            raise SparkRuntimeException("[UNSUPPORTED_FEATURE] A padding of more than one "
                                        "character is not supported in this version of "
                                        "sparkbook.", "UNSUPPORTED_FEATURE")
        padded = function(args[0], width=width, padding=padding)
        # Spark also cuts a longer string to the width (from the left for both).
        return pc.utf8_slice_codeunits(padded, 0, width)

    return kernel


def _length(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    binary = pa.types.is_binary(args[0].type)
    return pc.cast(pc.binary_length(args[0]) if binary else pc.utf8_length(args[0]),
                   pa.int32())


def _predicate(function):
    def kernel(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
        return function(args[0], pattern=_pattern(x, 1))

    return kernel


def _unary(function) -> Kernel:
    def kernel(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
        return function(args[0])

    return kernel


KERNELS: dict[str, Kernel] = {
    "upper": _unary(pc.utf8_upper), "lower": _unary(pc.utf8_lower), "length": _length,
    "startswith": _predicate(pc.starts_with), "endswith": _predicate(pc.ends_with),
    "contains": _predicate(pc.match_substring), "concat": _concat, "concat_ws": _concat_ws,
    "split": _split, "regexp_replace": _regexp_replace, "regexp_extract": _regexp_extract,
    "rlike": _rlike, "substring": _substring, "trim": _trim(pc.utf8_trim),
    "ltrim": _trim(pc.utf8_ltrim), "rtrim": _trim(pc.utf8_rtrim), "initcap": _initcap,
    "lpad": _pad(pc.utf8_lpad), "rpad": _pad(pc.utf8_rpad),
}
