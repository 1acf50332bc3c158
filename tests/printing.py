"""What an action prints, as text: ``show()`` and ``explain()`` compared with PySpark's."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable


def printed(action: Callable[[], object]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        action()
    return out.getvalue()
