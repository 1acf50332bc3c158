"""Call sites: where the user's code called sparkbook, as jobs and stages are named.

A job reads "collect at wordcount.py:12", Spark's ``CallSite`` short form. Code that does
not come from a file a user would name (a notebook cell) gets its name from a *call-site
namer*: the notebook extension registers one that names a cell's code "cell 4", so that the
job reads "collect at cell 4, line 3".
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from sparkbook import PACKAGE_DIR

CallSiteNamer = Callable[[str], "str | None"]  # a code file's name -> its label, or None

_namers: list[CallSiteNamer] = []


def register_callsite_namer(namer: CallSiteNamer) -> None:
    """Ask ``namer(filename)`` for a label of the code files it knows (None for the rest);
    the first namer registered that answers wins. Registering a namer again does nothing."""
    if namer not in _namers:
        _namers.append(namer)


def unregister_callsite_namer(namer: CallSiteNamer) -> None:
    """Stop asking ``namer``; a namer that is not registered is ignored."""
    if namer in _namers:
        _namers.remove(namer)


def user_callsite() -> str:
    """Where the user's code called sparkbook: the first frame outside the package."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    filename = frame.f_code.co_filename
    for namer in list(_namers):
        label = namer(filename)
        if label:
            return f"{label}, line {frame.f_lineno}"
    return f"{os.path.basename(filename)}:{frame.f_lineno}"
