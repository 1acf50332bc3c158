"""What the function kernels take and give: a column of a batch, or one scalar that stands
for every row (a literal), and the literal arguments (patterns, formats) read as Python."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sparkbook.sql.catalyst import expressions as e

Value = pa.Array | pa.ChunkedArray | pa.Scalar

# A function's kernel: its expression, its evaluated arguments and the batch's row count.
Kernel = Callable[[e.ScalarFunction, list[Value], int], Value]


def as_array(value: Value, n: int) -> pa.Array:
    """``value`` as an array of ``n`` rows (a scalar repeated)."""
    if isinstance(value, pa.Scalar):
        return pa.repeat(value, n) if value.is_valid else pa.nulls(n, value.type)
    if isinstance(value, pa.ChunkedArray):
        return value.combine_chunks()
    return value


def literal_value(x: e.Expression) -> Any:
    """The Python value of a literal argument (through the casts coercion put on it)."""
    while isinstance(x, e.Cast):
        x = x.child
    return x.value if isinstance(x, e.Literal) else None


def first_bad(values: pa.Array, bad: pa.Array) -> Any:
    """The first value where ``bad`` holds (to name it in an error)."""
    return values.filter(pc.fill_null(bad, False))[0].as_py()
