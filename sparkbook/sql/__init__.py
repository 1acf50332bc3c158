"""DataFrames and Spark SQL on sparkbook's own executors (the API of ``pyspark.sql``).

The API (``session``, ``dataframe``, ``column``, ``functions``, ``types``, ``row``) builds
logical plans; ``catalyst`` parses expression text and analyzes plans; ``execution`` plans
them physically and runs them as ordinary RDD jobs over Arrow record batches. The package
sits on the driver's RDD machinery and never reaches into the executor or the manager.

Names are imported on first use: an executor that unpickles a task's operators loads the
execution modules only, not the API or the parser.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SparkSession": "sparkbook.sql.session",
    "RuntimeConfig": "sparkbook.sql.session",
    "DataFrame": "sparkbook.sql.dataframe",
    "Column": "sparkbook.sql.column",
    "Row": "sparkbook.sql.row",
    "Window": "sparkbook.sql.window",
    "WindowSpec": "sparkbook.sql.window",
    "AnalysisException": "sparkbook.errors",
    "ParseException": "sparkbook.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sparkbook.sql' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
