"""The console progress bar in a terminal: the line it draws on is clean before the
program's own output continues."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.sparkbook_only

JOB = "sc.parallelize(range(8), 8).map(lambda x: time.sleep(0.3) or x).sum()"


def run_merged(args: list[str]) -> str:
    """stdout and stderr on one pipe, as a terminal interleaves them (bytes: a text pipe
    would turn the bar's carriage returns into newlines)."""
    proc = subprocess.run([sys.executable, "-u", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=120)
    out = proc.stdout.decode()
    assert proc.returncode == 0, out[-2000:]
    return out


def assert_bar_erased_before(out: str, printed: str) -> None:
    before, found, _ = out.partition(printed)
    assert found, out[-2000:]
    assert "[Stage 0:" in before and "/ 8]" in before
    # The bar's last drawing was overwritten with blanks and the cursor sent back.
    assert before.endswith("\r"), repr(before[-120:])
    assert before[:-1].rsplit("\r", 1)[-1].strip() == "", repr(before[-120:])


def test_the_bar_is_erased_before_the_result_of_its_job_prints():
    out = run_merged(["-c", "import time, sparkbook\n"
                      "conf = sparkbook.SparkConf().set('spark.ui.showConsoleProgress', 'true')\n"
                      "sc = sparkbook.SparkContext('local[2]', 'bar', conf=conf)\n"
                      f"print('sum', {JOB})\n"
                      f"print('again', {JOB})\n"
                      "sc.stop()"])
    assert_bar_erased_before(out, "sum 28")
    assert_bar_erased_before(out, "again 28")


def test_in_ipython_a_spark_cell_s_output_starts_on_a_clean_line():
    cell = f"import time\nprint('sum', {JOB})\nprint('again', {JOB})"
    command = ("ip = get_ipython(); ip.run_line_magic('load_ext', 'sparkbook'); "
               f"ip.run_cell_magic('spark', '', {json.dumps(cell)})")
    out = run_merged(["-m", "IPython", "--quick", "--no-banner", "--colors=NoColor", "-c",
                      command])
    assert_bar_erased_before(out, "sum 28")
    assert_bar_erased_before(out, "again 28")
