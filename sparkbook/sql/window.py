"""``Window`` and ``WindowSpec`` (the API of ``pyspark.sql.Window``): which rows a window
function sees — the partition (``partitionBy``), their order (``orderBy``) and the frame
around the current row (``rowsBetween``, ``rangeBetween``). ``Column.over(spec)`` turns a
function into a window expression."""

from __future__ import annotations

import sys

from sparkbook.errors import PySparkTypeError
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst import windows as w
from sparkbook.sql.column import name_expr
from sparkbook.sql.types import IntegerType, LongType

_JAVA_LONG_MIN, _JAVA_LONG_MAX = -(1 << 63), (1 << 63) - 1


def _names(cols: tuple) -> list[e.Expression]:
    if len(cols) == 1 and isinstance(cols[0], (list, tuple)):
        cols = tuple(cols[0])
    return [name_expr(c, "cols") for c in cols]


def _order(cols: tuple) -> list[e.Expression]:
    return [x if isinstance(x, e.SortOrder) else e.SortOrder(x) for x in _names(cols)]


class WindowSpec:
    """A window's partitioning, ordering and frame; each call returns a new spec."""

    def __init__(self, partition: list[e.Expression] | None = None,
                 order: list[e.Expression] | None = None,
                 frame: w.WindowFrame | None = None) -> None:
        self._partition = partition or []
        self._order = order or []
        self._frame = frame or w.WindowFrame(None)

    def partitionBy(self, *cols) -> WindowSpec:
        return WindowSpec(_names(cols), self._order, self._frame)

    def orderBy(self, *cols) -> WindowSpec:
        return WindowSpec(self._partition, _order(cols), self._frame)

    def rowsBetween(self, start: int, end: int) -> WindowSpec:
        """A frame of rows: ``start`` and ``end`` count rows from the current one (0);
        ``Window.unboundedPreceding``/``unboundedFollowing`` reach the partition's ends."""
        return WindowSpec(self._partition, self._order,
                          _frame("RowFrame", start, end, IntegerType()))

    def rangeBetween(self, start: int, end: int) -> WindowSpec:
        """A frame of values: rows whose order key lies within ``start`` and ``end`` of
        the current row's (0 is the current row and its peers)."""
        return WindowSpec(self._partition, self._order,
                          _frame("RangeFrame", start, end, LongType()))

    def _definition(self) -> w.WindowSpecDefinition:
        return w.WindowSpecDefinition(self._partition, self._order, self._frame)


def _frame(kind: str, start: int, end: int, dtype) -> w.WindowFrame:
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise PySparkTypeError(
                f"[NOT_EXPECTED_TYPE] Argument `{name}` should be int, got "
                f"{type(value).__name__}.", "NOT_EXPECTED_TYPE",
                {"arg_name": name, "expected_type": "int", "arg_type": type(value).__name__})

    def bound(v: int, unbounded: w.SpecialFrameBoundary) -> e.Expression:
        if v <= Window._PRECEDING_THRESHOLD and unbounded is w.UNBOUNDED_PRECEDING:
            return unbounded
        if v >= Window._FOLLOWING_THRESHOLD and unbounded is w.UNBOUNDED_FOLLOWING:
            return unbounded
        if v == 0:
            return w.CURRENT_ROW
        return e.Literal(v, dtype)

    return w.WindowFrame(kind, bound(start, w.UNBOUNDED_PRECEDING),
                         bound(end, w.UNBOUNDED_FOLLOWING))


class Window:
    """Where window specs start: ``Window.partitionBy("name").orderBy("time")``."""

    unboundedPreceding = _JAVA_LONG_MIN
    unboundedFollowing = _JAVA_LONG_MAX
    currentRow = 0
    _PRECEDING_THRESHOLD = -sys.maxsize  # at or beyond: unbounded, as PySpark reads it
    _FOLLOWING_THRESHOLD = sys.maxsize

    @staticmethod
    def partitionBy(*cols) -> WindowSpec:
        return WindowSpec().partitionBy(*cols)

    @staticmethod
    def orderBy(*cols) -> WindowSpec:
        return WindowSpec().orderBy(*cols)

    @staticmethod
    def rowsBetween(start: int, end: int) -> WindowSpec:
        return WindowSpec().rowsBetween(start, end)

    @staticmethod
    def rangeBetween(start: int, end: int) -> WindowSpec:
        return WindowSpec().rangeBetween(start, end)
