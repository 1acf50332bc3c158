"""The live widget in a real browser: JupyterLab and Notebook 7 on loopback, Debian's
chromium, Playwright.

The model's state is asserted without a browser elsewhere (test_timeline.py,
test_notebook.py); here the drawing is checked against it: as many DAG boxes and arrows
as the model has stages and edges, a timeline bar per task, a sparkline of many points.
Screenshots land in tests/artifacts/ (ignored by git), light and dark.
"""

from __future__ import annotations

import json
import os
import re
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
# A minute of CPU history needs time: the cluster runs a while before the job.
START = "%spark start -e 2\nimport time\ntime.sleep(5)"
CELL = """%%spark --name three stages
from operator import add
import time
pairs = sc.parallelize(range(4000), 6).map(lambda x: (x % 50, x))
sums = pairs.reduceByKey(add).map(lambda kv: (kv[0] % 5, kv[1]))
grouped = sums.groupByKey().mapValues(lambda v: time.sleep(0.6) or len(v))
sorted(grouped.collect())"""
# What the model holds for the job above, printed by the next cell to compare the drawing
# with: the stages (with their edges) and the tasks each ran.
MODEL = """import json
from sparkbook.notebook.observe import recent_jobs
(job,) = recent_jobs(sc)
print(json.dumps([{"id": s["id"], "status": s["status"],
                   "arrows": len(s.get("edges") or s.get("parents") or []),
                   "tasks": s["completed"] + s["failed"] + s["killed"]} for s in job["stages"]]))"""
# The plan of the same RDD again: its two map stages' shuffle output exists, so they skip.
PLAN = "grouped.explain()"
APPS = {"lab": ("jupyterlab", "lab/tree/widget.ipynb", "LabApp"),
        "notebook": ("notebook", "notebooks/widget.ipynb", "JupyterNotebookApp")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", params=sorted(APPS))
def jupyter(request, tmp_path_factory):
    """JupyterLab or Notebook 7 serving one notebook, the Sparkbook kernel installed."""
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed (scripts/test installs it with apt-get)")
    app = request.param
    module, path, app_class = APPS[app]
    root = tmp_path_factory.mktemp(app)
    prefix = root / "prefix"
    subprocess.run([sys.executable, "-m", "sparkbook", "kernel", "install", "--prefix",
                    str(prefix)], check=True, capture_output=True)
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "sparkbook", "display_name": "Sparkbook (Python 3)", "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(c) for c in (START, CELL, MODEL, PLAN)]
    (root / "work").mkdir()
    nbformat.write(nb, root / "work" / "widget.ipynb")
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_PATH=str(prefix / "share" / "jupyter"),
               JUPYTER_CONFIG_DIR=str(root / "config"), JUPYTER_RUNTIME_DIR=str(root / "rt"),
               JUPYTERLAB_SETTINGS_DIR=str(root / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(root / "workspaces"))
    server = subprocess.Popen(
        [sys.executable, "-m", module, "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root / 'work'}", f"--{app_class}.news_url=",
         f"--{app_class}.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=subprocess.DEVNULL, stderr=open(root / "server.log", "w"))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError((root / "server.log").read_text()[-2000:]) from None
                time.sleep(0.25)
        yield app, f"{base}/{path}?token={token}", (base, token)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def wait_for_an_idle_kernel(api, timeout: float = 60.0) -> None:
    """A cell run before the kernel has started is lost: ask the server until it is idle."""
    base, token = api
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sessions = json.load(urllib.request.urlopen(f"{base}/api/sessions?token={token}"))
        if sessions and sessions[0]["kernel"]["execution_state"] == "idle":
            return
        time.sleep(0.5)
    raise AssertionError(f"no idle kernel after {timeout} s")


def run_cell(page, n: int, wait_for: str, shot: str) -> None:
    """Run the notebook's ``n``th cell and wait until ``wait_for`` shows."""
    for _ in range(3):
        page.locator(".jp-Cell .cm-content").nth(n).click()
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_selector(wait_for, timeout=20_000)
            return
        except Exception:
            page.screenshot(path=str(ARTIFACTS / f"{shot}-retry.png"), full_page=True)
    raise AssertionError(f"the cell never showed {wait_for} (see {shot}-retry.png)")


def path_points(d: str) -> int:
    return len(re.findall(r"[ML]\s*-?[\d.]+,-?[\d.]+", d))


@pytest.fixture
def page():
    """A page of Debian's chromium, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=CHROMIUM_FLAGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


def test_the_widget_draws_the_dag_the_timeline_and_the_sparklines_the_model_holds(jupyter, page):
    app, url, api = jupyter
    page.goto(url)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    wait_for_an_idle_kernel(api)
    run_cell(page, 0, ".jp-Cell:nth-child(1) .jp-OutputArea-output", f"{app}-start")
    wait_for_an_idle_kernel(api)
    run_cell(page, 1, ".sparkbook-widget .sb-dag-box", f"{app}-widget")
    seen_running = page.locator(".sparkbook-widget[data-status='running']").count() > 0
    page.wait_for_selector(".sparkbook-widget[data-status='done']", timeout=120_000)
    page.wait_for_timeout(300)  # the last state's redraw is one animation frame late
    result = page.locator(".jp-OutputArea-output").last.inner_text()
    assert json.loads(result.replace("(", "[").replace(")", "]")) == [
        [k, 10] for k in range(5)]
    run_cell(page, 2, ".jp-Cell:nth-child(3) .jp-OutputArea-output", f"{app}-model")
    stages = json.loads(page.locator(".jp-OutputArea-output").last.inner_text())

    widget = page.locator(".sparkbook-widget")
    assert seen_running
    assert "three stages" in widget.locator(".sb-heading").first.inner_text()
    boxes = widget.locator(".sb-dag-box")
    assert boxes.count() == len(stages) == 3
    assert [int(i) for i in widget.locator(".sb-dag-box").evaluate_all(
        "bs => bs.map(b => b.dataset.stageId)")] == [s["id"] for s in stages]
    assert boxes.locator(".sb-box-pct").all_text_contents() == ["6/6 · 100%"] * 3
    assert widget.locator(".sb-dag-edge").count() == sum(s["arrows"] for s in stages) == 2
    assert widget.locator(".sb-shuffle").count() == 2  # a heat map per shuffle
    bars = widget.locator(".sb-timeline .sb-task")
    assert bars.count() == sum(s["tasks"] for s in stages) == 18
    assert sorted(int(b) for b in bars.evaluate_all(
        "bs => bs.map(b => b.dataset.stage)")) == sorted(
        s["id"] for s in stages for _ in range(s["tasks"]))
    rows = widget.locator(".sb-executor")
    assert rows.count() == 2
    for d in widget.locator(".sb-spark-line").evaluate_all(
            "ps => ps.map(p => p.getAttribute('d'))"):
        assert path_points(d) >= 10, d
    widget.screenshot(path=str(ARTIFACTS / f"{app}-widget.png"))
    light = widget.locator(".sb-box-title").first.evaluate("t => getComputedStyle(t).fill")
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text="Theme").first.click()
    page.locator(".lm-Menu-itemLabel").get_by_text("JupyterLab Dark", exact=True).click()
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_timeout(500)
    dark = widget.locator(".sb-box-title").first.evaluate("t => getComputedStyle(t).fill")
    assert light != dark  # the pictures follow the theme's colours
    widget.screenshot(path=str(ARTIFACTS / f"{app}-widget-dark.png"))

    run_cell(page, 3, ".sparkbook-widget[data-mode='plan'] .sb-dag-box", f"{app}-plan")
    plan = page.locator(".sparkbook-widget[data-mode='plan']")
    assert plan.locator(".sb-dag-box").count() == 3
    assert plan.locator(".sb-dag-box.sb-status-skipped").count() == 2
    assert plan.locator(".sb-dag-edge").count() == 2
    assert plan.locator(".sb-timeline, .sb-executors").count() == 0
    plan.screenshot(path=str(ARTIFACTS / f"{app}-plan-dark.png"))


def test_hand_written_state_draws_skipped_retried_cached_lost_and_the_shuffle_matrix(page):
    """What a small job rarely shows at once, drawn from a state written by hand."""
    from sparkbook.notebook.jobview import WIDGETS

    state = hand_written_state()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_content(f"<style>{(WIDGETS / 'sparkbook.css').read_text()}</style>"
                     "<div id='host'></div>")
    render(page, state)
    assert errors == []
    w = page.locator(".sparkbook-widget")
    assert w.locator(".sb-dag-box").count() == 4
    assert w.locator(".sb-dag-box.sb-status-skipped").count() == 1
    assert w.locator(".sb-dag-edge").count() == 3
    assert w.locator(".sb-edge-label").first.text_content() == "2.0 KiB · 50 rec"
    assert "attempt 1" in w.locator(".sb-dag-box[data-stage-id='1']").text_content()
    assert w.locator(".sb-cached").text_content().startswith("→ map ●")
    assert "closure" in w.locator(".sb-warning").inner_text()
    assert w.locator(".sb-task").count() == 5
    assert w.locator(".sb-task-failed").count() == 1
    assert w.locator(".sb-task-merged").count() == 1
    assert w.locator(".sb-task-retry").count() == 1
    assert w.locator(".sb-matrix-cell").count() == 8 + 3  # 300 partitions in 3 columns
    assert "(3 columns)" in w.locator(".sb-shuffle[data-shuffle-id='1']").inner_text()
    assert "41 %" in w.locator(".sb-hot-key").first.inner_text()
    assert "salt it" in w.locator(".sb-hint").inner_text()
    lost = w.locator(".sb-executor.sb-lost")
    assert lost.count() == 1 and "signal 9" in w.locator(".sb-ex-lost-reason").inner_text()
    (d,) = w.locator(".sb-executor").first.locator(".sb-spark-line").evaluate_all(
        "ps => ps.map(p => p.getAttribute('d'))")
    assert path_points(d) == 120
    assert w.locator(".sb-ex-cores").all_text_contents() == ["2 cores", "1 core"]
    assert w.locator(".sb-ex-gc").all_text_contents() == ["GC 2.5 s"]  # executor 1: none
    page.screenshot(path=str(ARTIFACTS / "hand-written.png"), full_page=True)
    # A plan preview (mode "plan", stages only) is the DAG alone.
    render(page, {**state, "mode": "plan", "title": "plan", "jobs": [], "tasks": [],
                  "executors": [], "shuffles": []})
    assert w.locator(".sb-dag-box").count() == 4
    assert w.locator(".sb-timeline, .sb-executors, .sb-shuffle").count() == 0
    assert errors == []


def render(page, state: dict) -> None:
    """Draw ``state`` with the widget's module, as anywidget would, in a blank page."""
    from sparkbook.notebook.jobview import front_end

    page.evaluate("""async ([code, state]) => {
      const url = URL.createObjectURL(new Blob([code], {type: "text/javascript"}));
      const widget = (await import(url)).default;
      const host = document.getElementById("host");
      host.replaceChildren();
      widget.render({model: {get: (k) => state[k], on: () => {}}, el: host});
    }""", [front_end(), state])


def hand_written_state() -> dict:
    def stage(i, status, parents=(), edges=(), steps=(), **more):
        return {"id": i, "job_id": 0, "attempt": 0, "name": f"stage {i}", "status": status,
                "num_tasks": 4, "completed": 4 if status == "COMPLETE" else 0, "active": 0,
                "failed": 0, "killed": 0, "earlier_failed": 0, "duration": 1.0,
                "shuffle_read": 0, "shuffle_write": 0, "parents": list(parents),
                "steps": list(steps), "cached": [], "edges": list(edges), "warnings": [],
                **more}

    def edge(src, shuffle_id, size, records):
        return {"from": src, "shuffle_id": shuffle_id, "bytes": size, "records": records}

    def task(executor, stage_id, start, end, status="SUCCESS", **more):
        return {"executor": executor, "lane": 0, "stage": stage_id, "stage_attempt": 0,
                "attempt": 0, "index": 0, "start": start, "end": end, "status": status,
                "speculative": False, **more}

    def executor(i, alive, history, **more):
        return {"id": i, "host": "127.0.0.1", "pid": 10, "alive": alive, "lost_reason": None,
                "cores": 1, "cpu": 50.0, "rss": 50 << 20, "memory_used": 3 << 20,
                "memory_limit": 1 << 30, "active": 0, "completed": 4, "failed": 0,
                "cpu_history": history, **more}

    stages = [
        stage(0, "COMPLETE", steps=["textFile", "flatMap", "map"], cached=["map"]),
        stage(1, "COMPLETE", [0], [edge(0, 0, 2048, 50)], ["reduceByKey", "map"], attempt=1,
              earlier_failed=2, warnings=["its closure is 2.3 MB: broadcast `table`"]),
        stage(3, "SKIPPED", steps=["parallelize"]),
        stage(2, "ACTIVE", [1, 3], [edge(1, 1, 512, 10), edge(3, 2, 100, 3)],
              ["groupByKey", "mapValues"]),
    ]
    return {
        "title": "by hand", "mode": "cell", "status": "running", "updates": 1, "now": 3.0,
        "jobs": [{"id": 0, "name": "collect", "status": "RUNNING", "duration": 3.0,
                  "stage_ids": [0, 1, 2, 3], "error": None}],
        "stages": stages,
        "tasks": [task("0", 0, 0.0, 0.5), task("0", 1, 0.6, 1.0, "FAILED"),
                  task("0", 2, 1.2, None, "RUNNING"), task("1", 0, 0.0, 0.9, count=4),
                  task("1", 1, 1.0, 2.0, attempt=1)],
        "executors": [executor("0", True, [float(i % 100) for i in range(120)], cores=2,
                               gc_time=2.46),
                      executor("1", False, [10.0, 20.0],
                               lost_reason="executor 1 killed by signal 9")],
        "shuffles": [{"shuffle_id": 0, "map_stage": 0, "reduce_stages": [1],
                      "executors": ["0", "1"], "partitions": 4,
                      "bytes": [[100, 900, 50, 30], [120, 700, 40, 20]],
                      "records": [[10, 80, 5, 3], [12, 70, 4, 2]],
                      "partition_bytes": [220, 1600, 90, 50],
                      "partition_records": [22, 150, 9, 5],
                      "hot_keys": [["'client-7'", 120, 0.41], ["'client-2'", 20, 0.07]],
                      "hint": "key 'client-7' holds 41 % of the records: salt it, or "
                              "combine before the shuffle with reduceByKey"},
                     {"shuffle_id": 1, "map_stage": 1, "reduce_stages": [2], "executors": ["0"],
                      "partitions": 300, "columns": [[0, 100], [100, 200], [200, 300]],
                      "bytes": [[10, 20, 30]], "records": [[1, 2, 3]],
                      "partition_bytes": [10, 20, 30], "partition_records": [1, 2, 3],
                      "hot_keys": [], "hint": None}],
    }
