"""What a closure carries: the captured names (closure cells, globals, defaults) that make
a pickled function large, with their pickled sizes, largest first.

The DAG scheduler asks when a stage's binary is over ``spark.sparkbook.closureWarningBytes``
(1 MiB unless set) and puts the answer in the stage's warnings; ``%spark closure FUNC``
prints the same table for any function. The walk goes through functions and sparkbook's
own objects (RDDs, dependencies, the wrappers ``map`` and friends build) to the values
the user's functions captured; those values are what it weighs.
"""

from __future__ import annotations

import functools
import sys
import types
from typing import Any

import cloudpickle

from sparkbook.conf import parse_bytes
from sparkbook.serializers import PROTOCOL, _captured

DEFAULT_WARNING_BYTES = 1 << 20
SETTING = "spark.sparkbook.closureWarningBytes"
SHOWN = 5  # captured names a stage warning lists, of those this large
LISTED_BYTES = 1024
MAX_DEPTH = 8


def warning_bytes(ctx: Any) -> int:
    """The setting's value on the context an RDD was built on."""
    conf = getattr(ctx, "_conf", None)
    raw = conf.get(SETTING, None) if conf is not None else None
    return DEFAULT_WARNING_BYTES if raw is None else parse_bytes(raw)


def captured_sizes(obj: Any) -> list[tuple[str, int]]:
    """(what, pickled bytes) of the values ``obj`` carries, largest first: every closure
    cell, global and default of the functions in it, through sparkbook's own objects and
    functions that cloudpickle ships by value; -1 for a value that cannot be pickled."""
    found: dict[str, int] = {}
    _walk(obj, found, set(), 0, inside=_is_sparkbook(obj) or isinstance(obj, tuple))
    return sorted(found.items(), key=lambda kv: -kv[1])


def _walk(obj: Any, found: dict[str, int], seen: set[int], depth: int, inside: bool) -> None:
    if depth > MAX_DEPTH or id(obj) in seen:
        return
    seen.add(id(obj))
    for label, value in _captured(obj):
        if _goes_through(value, inside):
            _walk(value, found, seen, depth + 1, _is_sparkbook(value))
        elif not inside and not _by_reference(value) and label not in found:
            # What a function captured (sparkbook's own fields are not the user's doing).
            found[label] = _pickled_size(value)


def _goes_through(value: Any, inside: bool) -> bool:
    """Whether to weigh what ``value`` holds rather than ``value`` itself: functions shipped
    by value, partials, sparkbook's objects, and the containers those hold."""
    if isinstance(value, types.FunctionType):
        return not _by_reference(value)
    if isinstance(value, functools.partial):
        return True
    if isinstance(value, (list, tuple, dict)):
        return inside
    return _is_sparkbook(value) and not isinstance(value, type)


def _is_sparkbook(value: Any) -> bool:
    return type(value).__module__.startswith("sparkbook.")


def _by_reference(value: Any) -> bool:
    """Whether cloudpickle ships ``value`` by name (a module, or a function or class that
    its importable module holds under its own name), so that it adds nothing."""
    if isinstance(value, types.ModuleType):
        return True
    if not isinstance(value, (types.FunctionType, type)):
        return False
    module = sys.modules.get(getattr(value, "__module__", None) or "")
    if module is None or module.__name__ == "__main__":
        return False
    found: Any = module
    for part in value.__qualname__.split("."):
        found = getattr(found, part, None)
    return found is value


def _pickled_size(value: Any) -> int:
    try:
        return len(cloudpickle.dumps(value, PROTOCOL))
    except Exception:  # noqa: BLE001 - a value that cannot travel is shown as such
        return -1


def format_size(n: int) -> str:
    if n < 0:
        return "cannot be pickled"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def stage_warning(binary_size: int, limit: int, sizes: list[tuple[str, int]]) -> str:
    """The stage warning: how large its closure is and what makes it so."""
    heavy = [(what, n) for what, n in sizes if n < 0 or n >= LISTED_BYTES][:SHOWN]
    carried = ("It carries " + "; ".join(f"{what}: {format_size(n)}" for what, n in heavy)
               if heavy else "No captured name is large: its lineage is")
    return (f"the stage's closure is {format_size(binary_size)} (over {SETTING}, "
            f"{format_size(limit)}), and every task gets a copy. {carried}. "
            "Share large read-only data once per executor with sc.broadcast(value) and "
            "read .value inside the function")


def closure_report(func: Any) -> str:
    """What ``func`` pickles to, and the table of what it carries (``%spark closure``)."""
    total = _pickled_size(func)
    name = getattr(func, "__qualname__", type(func).__name__)
    lines = [f"{name} pickles to {format_size(total)}"]
    sizes = captured_sizes(func)
    if not sizes:
        return lines[0] + "; it captures nothing that adds to that"
    width = max(len(what) for what, _ in sizes)
    lines += [f"  {what:<{width}}  {format_size(n):>16}" for what, n in sizes]
    if total > DEFAULT_WARNING_BYTES:
        lines.append("Large read-only data travels once per executor with sc.broadcast(value)"
                     "; read .value inside the function.")
    return "\n".join(lines)
