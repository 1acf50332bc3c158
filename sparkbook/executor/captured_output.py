"""What tasks print: caught on the executor, sent with the task's result, printed by the
driver with each line marked by its executor -- and capped, so that a chatty job cannot
flood a notebook."""

from __future__ import annotations

import io

TASK_LINE_LIMIT = 1000


class CapturedOutput(io.TextIOBase):
    """A task's stdout and stderr as lines, keeping the first ``limit`` of them."""

    def __init__(self, limit: int = TASK_LINE_LIMIT) -> None:
        self.limit = limit
        self.lines: list[str] = []
        self.dropped = 0
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *complete, self._partial = (self._partial + text).split("\n")
        for line in complete:
            self._keep(line)
        return len(text)

    def _keep(self, line: str) -> None:
        if len(self.lines) < self.limit:
            self.lines.append(line)
        else:
            self.dropped += 1

    def finish(self) -> tuple[list[str], int]:
        """The lines (a last unterminated one included) and how many were dropped."""
        if self._partial:
            self._keep(self._partial)
            self._partial = ""
        return self.lines, self.dropped
