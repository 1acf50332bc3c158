"""``sparkbook lessons [--run]``: list the lesson notebooks, or execute them all headless
(nbclient, on the Sparkbook kernel) and report each one's pass/fail and time. A lesson
asserts what it teaches, so a claim that stops being true fails its run."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

LESSONS = Path(__file__).resolve().parents[2] / "notebooks"


def lesson_paths(folder: Path = LESSONS) -> list[Path]:
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def title(path: Path) -> str:
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"]).strip().splitlines()
            return text[0].lstrip("# ").strip() if text else path.stem
    return path.stem


def run_lesson(path: Path, timeout: float = 300) -> tuple[bool, float, str]:
    """Execute one lesson in its own folder; (passed, seconds, error summary)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="sparkbook",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    except CellExecutionError as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        return False, time.perf_counter() - started, lines[-1] if lines else "failed"
    return True, time.perf_counter() - started, ""


def main(run: bool) -> int:
    paths = lesson_paths()
    if not run:
        for path in paths:
            print(f"{path.name:<40} {title(path)}")
        return 0
    from sparkbook.notebook.kernelspec import install

    failures = 0
    with tempfile.TemporaryDirectory() as prefix:
        install(prefix=prefix)  # the kernel, for this interpreter, wherever we run
        os.environ["JUPYTER_PATH"] = os.pathsep.join(
            [str(Path(prefix) / "share" / "jupyter"), os.environ.get("JUPYTER_PATH", "")])
        total = time.perf_counter()
        for path in paths:
            passed, seconds, error = run_lesson(path)
            failures += not passed
            print(f"{'pass' if passed else 'FAIL'}  {seconds:6.1f} s  {path.name}"
                  f"{'  ' + error if error else ''}", flush=True)
        print(f"{len(paths) - failures} passed, {failures} failed "
              f"in {time.perf_counter() - total:.1f} s")
    return 1 if failures else 0
