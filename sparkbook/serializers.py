"""How closures and data travel: cloudpickle for code, pickle protocol 5 for data.

Functions and classes defined in ``__main__`` (every notebook cell) travel by value;
imported modules travel by reference and must be importable on the executor.
"""

from __future__ import annotations

import inspect
import pickle
import types
from typing import Any

import cloudpickle

PROTOCOL = 5


class ClosureSerializationError(pickle.PicklingError):
    """A function shipped to the executors captures something that cannot be pickled."""


def dumps(obj: Any) -> bytes:
    """Data: plain pickle, falling back to cloudpickle for lambdas and cell-defined classes."""
    try:
        return pickle.dumps(obj, PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError):
        return cloudpickle.dumps(obj, PROTOCOL)


loads = pickle.loads

RESULT_BATCH = 65536


def dumps_batches(obj: Any) -> list[bytes]:
    """A task's result as frames: a long list in batches, so that the driver decodes it
    in steps and its scheduler thread gets a turn between them."""
    if type(obj) is list and len(obj) > RESULT_BATCH:
        return [dumps(obj[i:i + RESULT_BATCH]) for i in range(0, len(obj), RESULT_BATCH)]
    return [dumps(obj)]


def loads_batches(frames: list[bytes]) -> Any:
    if len(frames) == 1:
        return loads(frames[0])
    out: list = []
    for frame in frames:
        out.extend(loads(frame))
    return out


def dumps_closure(obj: Any, what: str = "") -> bytes:
    """Code: cloudpickle, naming the captured object that cannot travel when it fails."""
    try:
        return cloudpickle.dumps(obj, PROTOCOL)
    except Exception as exc:
        if isinstance(exc, ClosureSerializationError):
            raise
        culprit = find_unpicklable(obj)
        where = f" in {what}" if what else ""
        detail = culprit or f"{type(exc).__name__}: {exc}"
        raise ClosureSerializationError(
            f"Could not serialize the closure{where}: {detail}"
        ) from exc


def find_unpicklable(obj: Any, path: str = "", depth: int = 0, seen: set | None = None) -> str:
    """Walk a function's captured variables, globals and defaults to name what fails to pickle."""
    seen = seen if seen is not None else set()
    if depth > 6 or id(obj) in seen:
        return ""
    seen.add(id(obj))
    for label, value in _captured(obj):
        try:
            cloudpickle.dumps(value, PROTOCOL)
        except Exception as exc:
            here = f"{path}{label}"
            refusal = _refuses_pickling(value)
            deeper = "" if refusal else find_unpicklable(value, here + " -> ", depth + 1, seen)
            if deeper:
                return deeper
            exc = refusal or exc
            return (f"{here} (of type {type(value).__module__}.{type(value).__qualname__}) "
                    f"cannot be pickled: {type(exc).__name__}: {exc}")
    return ""


def _refuses_pickling(obj: Any) -> Exception | None:
    """The error an object's own __reduce_ex__ raises (a SparkContext, an RDD), if any."""
    if isinstance(obj, (types.FunctionType, types.MethodType, list, tuple, set, dict)):
        return None
    try:
        obj.__reduce_ex__(PROTOCOL)
    except Exception as exc:
        return exc
    return None


def _captured(obj: Any) -> list[tuple[str, Any]]:
    """The (label, value) pairs an object drags along when it is pickled."""
    if isinstance(obj, types.MethodType):
        return [(f"bound object of method {obj.__func__.__qualname__}", obj.__self__)]
    if isinstance(obj, types.FunctionType):
        name = _describe_function(obj)
        found = []
        code = obj.__code__
        for var, cell in zip(code.co_freevars, obj.__closure__ or (), strict=False):
            try:
                found.append((f"variable '{var}' captured by {name}", cell.cell_contents))
            except ValueError:
                continue
        for var in _global_names(code):
            if var in obj.__globals__:
                value = obj.__globals__[var]
                if not isinstance(value, types.ModuleType):
                    found.append((f"global '{var}' used by {name}", value))
        for i, value in enumerate(obj.__defaults__ or ()):
            found.append((f"default argument {i} of {name}", value))
        return found
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [(f"item {i}", v) for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        return [(f"key {k!r}", v) for k, v in obj.items()]
    # What the object itself says it pickles (an RDD leaves its SparkContext behind).
    getstate = getattr(obj, "__getstate__", None)
    try:
        state = getstate() if callable(getstate) else getattr(obj, "__dict__", None)
    except Exception:
        state = getattr(obj, "__dict__", None)
    if isinstance(state, dict):
        kind = type(obj).__qualname__
        return [(f"{kind}.{k}", v) for k, v in state.items()]
    return []


def _global_names(code: types.CodeType) -> list[str]:
    names = list(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names.extend(_global_names(const))
    return names


def _describe_function(fn: types.FunctionType) -> str:
    try:
        line = inspect.getsourcelines(fn)[1]
    except (OSError, TypeError):
        line = fn.__code__.co_firstlineno
    return f"function {fn.__qualname__} ({fn.__code__.co_filename}:{line})"
