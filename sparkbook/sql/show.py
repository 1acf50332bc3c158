"""The text ``DataFrame.show()`` prints, character for character as Spark's ``showString``:
NULL, Java's doubles, ``true``/``false``, cells cut to ``truncate`` characters, columns
right-aligned (left-aligned when nothing is truncated), East Asian wide characters counted
twice."""

from __future__ import annotations

import datetime
import decimal
import unicodedata
from typing import Any

from sparkbook.sql.types import (
    ArrayType,
    DataType,
    DoubleType,
    FloatType,
    MapType,
    StructType,
    java_number_str,
)

MIN_COL_WIDTH = 3


def cell(value: Any, dt: DataType | None) -> str:
    """One value as ``show()`` writes it."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) or isinstance(dt, (DoubleType, FloatType)):
        return java_number_str(float(value), dt)
    if isinstance(value, datetime.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        if value.microsecond:
            text += f".{value.microsecond:06d}".rstrip("0")
        return text
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, (bytes, bytearray)):
        return "[" + " ".join(f"{b:02X}" for b in value) + "]"
    if isinstance(dt, ArrayType) or isinstance(value, list):
        inner = dt.elementType if isinstance(dt, ArrayType) else None
        return "[" + ", ".join(cell(v, inner) for v in value) + "]"
    if isinstance(dt, MapType) or isinstance(value, dict):
        kt, vt = (dt.keyType, dt.valueType) if isinstance(dt, MapType) else (None, None)
        return "{" + ", ".join(f"{cell(k, kt)} -> {cell(v, vt)}" for k, v in value.items()) + "}"
    if isinstance(dt, StructType) or isinstance(value, tuple):
        types = [f.dataType for f in dt.fields] if isinstance(dt, StructType) else [None] * len(
            value)
        return "{" + ", ".join(cell(v, t) for v, t in zip(value, types)) + "}"
    return str(value)


def half_width(text: str) -> int:
    """Display width: East Asian wide and full-width characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _cut(text: str, truncate: int) -> str:
    if truncate > 0 and len(text) > truncate:
        return text[:truncate] if truncate < 4 else text[:truncate - 3] + "..."
    return text


def _pad(text: str, width: int, left: bool) -> str:
    fill = " " * max(0, width - half_width(text))
    return fill + text if left else text + fill


def show_string(names: list[str], types: list[DataType], rows: list[tuple], num_rows: int,
                truncate: int, vertical: bool) -> str:
    """``rows`` holds up to ``num_rows + 1`` rows: one more means there are more to say."""
    has_more = len(rows) > num_rows
    data = [[_cut(cell(v, t), truncate) for v, t in zip(row, types)] for row in rows[:num_rows]]
    header = list(names)  # Spark cuts the cells, never the column names
    footer = ""
    if has_more:
        footer = f"only showing top {num_rows} {'row' if num_rows == 1 else 'rows'}"
    if vertical:
        return _vertical(header, data) + footer
    widths = [MIN_COL_WIDTH] * len(names)
    for line in [header, *data]:
        widths = [max(w, half_width(c)) for w, c in zip(widths, line)]
    sep = "+" + "+".join("-" * w for w in widths) + "+\n"
    right = truncate > 0

    def line(cells: list[str]) -> str:
        return "|" + "|".join(_pad(c, w, right) for c, w in zip(cells, widths)) + "|\n"

    return sep + line(header) + sep + "".join(line(r) for r in data) + sep + footer


def _vertical(names: list[str], data: list[list[str]]) -> str:
    if not data:
        return "(0 rows)\n"
    name_width = max(half_width(n) for n in names) if names else 0
    data_width = max((half_width(c) for row in data for c in row), default=0)
    out = []
    for i, row in enumerate(data):
        head = f"-RECORD {i}"
        out.append(head + "-" * max(0, name_width + data_width + 5 - len(head)) + "\n")
        for name, value in zip(names, row):
            out.append(f" {_pad(name, name_width, False)} | {_pad(value, data_width, False)} \n")
    return "".join(out)
