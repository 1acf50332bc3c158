"""The live widget in a real browser: JupyterLab on loopback, Debian's chromium, Playwright."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.sparkbook_only

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-quic"]
CELL = """%%spark --name three stages
from operator import add
import time
pairs = sc.parallelize(range(4000), 6).map(lambda x: (x % 50, x))
sums = pairs.reduceByKey(add).map(lambda kv: (kv[0] % 5, kv[1]))
grouped = sums.groupByKey().mapValues(lambda v: time.sleep(0.2) or len(v))
sorted(grouped.collect())"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """JupyterLab serving a folder with one notebook, the Sparkbook kernel installed."""
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed (scripts/test installs it with apt-get)")
    root = tmp_path_factory.mktemp("lab")
    prefix = root / "prefix"
    subprocess.run([sys.executable, "-m", "sparkbook", "kernel", "install", "--prefix",
                    str(prefix)], check=True, capture_output=True)
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "sparkbook", "display_name": "Sparkbook (Python 3)", "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(CELL)]
    (root / "work").mkdir()
    nbformat.write(nb, root / "work" / "widget.ipynb")
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_PATH=str(prefix / "share" / "jupyter"),
               JUPYTER_CONFIG_DIR=str(root / "config"), JUPYTER_RUNTIME_DIR=str(root / "rt"))
    lab = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root / 'work'}", "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=subprocess.DEVNULL, stderr=open(root / "lab.log", "w"))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or lab.poll() is not None:
                    raise RuntimeError((root / "lab.log").read_text()[-2000:]) from None
                time.sleep(0.25)
        yield base, token
    finally:
        lab.terminate()
        try:
            lab.wait(10)
        except subprocess.TimeoutExpired:
            lab.kill()


def run_the_cell(page) -> None:
    """Run the notebook's cell and wait until its widget draws a stage."""
    for _ in range(3):
        page.click(".jp-Cell .cm-content")
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_selector(".sparkbook-widget .sb-stage", timeout=20_000)
            return
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "widget-retry.png"), full_page=True)
    raise AssertionError("the cell never showed its widget (see widget-retry.png)")


def test_the_widget_draws_three_stages_reaching_100_percent_and_a_row_per_executor(jupyterlab):
    from playwright.sync_api import sync_playwright

    base, token = jupyterlab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{base}/lab/tree/widget.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            # The status bar says when the kernel has started; a cell run earlier is lost.
            page.get_by_text("Sparkbook (Python 3) | Idle").wait_for(timeout=60_000)
            run_the_cell(page)
            seen_running = page.locator(".sparkbook-widget .sb-job").count() > 0
            page.wait_for_selector(".sparkbook-widget[data-status='done']", timeout=120_000)
            widget = page.locator(".sparkbook-widget")
            stages = widget.locator(".sb-stage")
            assert stages.count() == 3
            assert stages.locator(".sb-stage-pct").all_inner_texts() == ["100%"] * 3
            assert widget.locator(".sb-executor").count() == 2
            assert "three stages" in widget.locator(".sb-heading").first.inner_text()
            assert seen_running
            page.screenshot(path=str(ARTIFACTS / "widget.png"), full_page=True)
            result = page.locator(".jp-OutputArea-output").last.inner_text()
            assert json.loads(result.replace("(", "[").replace(")", "]")) == [
                [k, 10] for k in range(5)]
        finally:
            browser.close()
