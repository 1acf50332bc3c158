"""docs/protocol.md and sparkbook.messages describe the same protocol."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sparkbook import messages as m

pytestmark = pytest.mark.sparkbook_only

DOC = Path(__file__).resolve().parents[1] / "docs" / "protocol.md"


def _documented(section: str) -> set[str]:
    """The first column's names of every table under the '## <section>' heading."""
    text = DOC.read_text().split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(\w+)` \|", text, re.MULTILINE))


def test_the_doc_lists_every_message_type_and_only_those():
    reasons = {cls.__name__ for cls in (m.Success, m.ExceptionFailure, m.FetchFailed,
                                        m.TaskKilled, m.ExecutorLostFailure)}
    documented = _documented("Messages") - reasons
    assert documented == {cls.__name__ for cls in m.MESSAGE_TYPES.values()}


def test_every_task_end_reason_is_documented():
    documented = _documented("Messages")
    assert {cls.__name__ for cls in m.TaskEndReason.__subclasses__()} <= documented
