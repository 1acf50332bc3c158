"""Every lesson notebook runs on the Sparkbook kernel and its assertions hold: a lesson
whose claim stops being true fails here."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sparkbook.notebook.lessons import lesson_paths, run_lesson, title

# A lesson may start a JVM (lesson 9 ends on Apache Spark): slow on a busy machine.
pytestmark = [pytest.mark.sparkbook_only, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def sparkbook_kernel(tmp_path_factory):
    prefix = tmp_path_factory.mktemp("jupyter")
    subprocess.run([sys.executable, "-m", "sparkbook", "kernel", "install", "--prefix",
                    str(prefix)], check=True, capture_output=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
        yield


@pytest.mark.parametrize("path", lesson_paths(), ids=lambda p: p.stem)
def test_the_lesson_runs_and_what_it_claims_holds(sparkbook_kernel, path):
    passed, seconds, error = run_lesson(path)
    assert passed, f"{path.name} ({title(path)}): {error}"


def test_sparkbook_lessons_lists_them_in_order():
    out = subprocess.run([sys.executable, "-m", "sparkbook", "lessons"], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert [line.split()[0] for line in out] == [p.name for p in lesson_paths()]
