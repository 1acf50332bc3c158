"""sparkbook: Spark's architecture made small enough to watch.

``import sparkbook; sc = sparkbook.SparkContext("local[2]", "app")`` -- the API follows
PySpark's. Names are imported on first use, so that the manager and executor processes,
which import this package too, load only what their role needs.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

__version__ = "0.1.0"

# Frames of sparkbook's own code are left out of the tracebacks and call sites users see.
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

_EXPORTS = {
    "SparkContext": "sparkbook.driver.context",
    "SparkConf": "sparkbook.conf",
    "StorageLevel": "sparkbook.storagelevel",
    "RDD": "sparkbook.rdd",
    "Broadcast": "sparkbook.broadcast",
    "SparkFiles": "sparkbook.sparkfiles",
    "Accumulator": "sparkbook.accumulators",
    "AccumulatorParam": "sparkbook.accumulators",
    "TaskContext": "sparkbook.taskcontext",
    "SparkStatusTracker": "sparkbook.driver.statustracker",
    "SparkJobInfo": "sparkbook.driver.statustracker",
    "SparkStageInfo": "sparkbook.driver.statustracker",
    "SparkListener": "sparkbook.driver.listener",
    "Partitioner": "sparkbook.partitioner",
    "portable_hash": "sparkbook.partitioner",
    "SparkException": "sparkbook.errors",
    "PythonException": "sparkbook.errors",
}

__all__ = sorted(_EXPORTS)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext sparkbook`` in IPython or Jupyter: the %spark and %%spark magics."""
    from sparkbook.notebook import load_ipython_extension as load

    load(ipython)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sparkbook' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
