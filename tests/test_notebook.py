"""The notebook as the driver, through real Jupyter kernels (nbclient, jupyter_client)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

pytestmark = pytest.mark.sparkbook_only

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
THREE_STAGES = """%%spark --name three stages
from operator import add
pairs = sc.parallelize(range(1000), 4).map(lambda x: (x % 10, x))
totals = pairs.reduceByKey(add).map(lambda kv: (kv[1] % 3, kv[0])).groupByKey()
sorted((k, sorted(v)) for k, v in totals.collect())"""


@pytest.fixture(scope="module")
def kernel_prefix(tmp_path_factory):
    """The Sparkbook kernelspec, installed the way users install it, in a private prefix."""
    prefix = tmp_path_factory.mktemp("jupyter")
    subprocess.run([sys.executable, "-m", "sparkbook", "kernel", "install", "--prefix",
                    str(prefix)], check=True, capture_output=True)
    return prefix


def run_notebook(cells: list[str], kernel: str = "python3", prefix=None,
                 allow_errors: bool = False) -> nbformat.NotebookNode:
    """Execute the cells in a fresh kernel, as `jupyter nbconvert --execute` would."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    with pytest.MonkeyPatch.context() as mp:
        if prefix is not None:
            mp.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
        NotebookClient(nb, kernel_name=kernel, timeout=120, allow_errors=allow_errors).execute()
    return nb


def widget_states(nb) -> list[dict]:
    """The saved state of every sparkbook widget, in the order the cells displayed them."""
    states = nb.metadata["widgets"][WIDGET_STATE]["state"]
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if view:
                found.append(states[view["model_id"]]["state"])
    return found


def test_the_sparkbook_kernel_preloads_the_magics_and_the_widget_ends_exact(kernel_prefix):
    nb = run_notebook([THREE_STAGES, "%spark status", "%spark stop"], "sparkbook",
                      kernel_prefix)
    result = nb.cells[0].outputs[-1]["data"]["text/plain"]
    expected = {}
    for k in range(10):
        expected.setdefault(sum(range(k, 1000, 10)) % 3, []).append(k)
    assert result == repr(sorted(expected.items()))
    (state,) = widget_states(nb)
    assert state["title"] == "three stages" and state["status"] == "done"
    (job,) = state["jobs"]
    assert job["status"] == "SUCCEEDED" and job["name"] == "collect at cell 1, line 5"
    stages = state["stages"]
    assert len(stages) == 3 and [s["id"] for s in stages] == sorted(s["id"] for s in stages)
    for stage in stages:
        assert stage["status"] == "COMPLETE"
        assert stage["completed"] == stage["num_tasks"] == 4
        assert stage["active"] == 0 and stage["failed"] == 0
    assert stages[0]["shuffle_write"] > 0 and stages[-1]["shuffle_read"] > 0
    assert [e["id"] for e in state["executors"]] == ["0", "1"]
    assert sum(e["completed"] for e in state["executors"]) == 12
    status = nb.cells[1].outputs[0]["data"]["text/html"]
    assert "cluster: local[2]" in status and "pid" in status
    # ... and beside the driver's view, the cluster manager's own (ClusterStatus).
    assert "cluster manager's view: executors 2, applications 1" in status
    assert "(this one)" in status and "lost executors: none" in status


def test_a_saved_notebook_keeps_a_static_summary_of_each_cell(kernel_prefix):
    from nbconvert import HTMLExporter

    nb = run_notebook([THREE_STAGES], "sparkbook", kernel_prefix)
    saved = nbformat.reads(nbformat.writes(nb), as_version=4)  # as a file on disk holds it
    saved.metadata.pop("widgets", None)  # opened where no widget state is kept (GitHub)
    page, _ = HTMLExporter().from_notebook_node(saved)
    for text in ("three stages", "Job 0", "Stage 0", "Stage 2", "4/4 tasks", "complete"):
        assert text in page


def test_a_plain_kernel_with_load_ext_behaves_the_same():
    nb = run_notebook(["%load_ext sparkbook",
                       "%spark start -e 2",
                       "%%spark\nsc.parallelize(range(100), 4).sum()"])
    assert "2 executors" in nb.cells[1].outputs[0]["text"]
    assert nb.cells[2].outputs[-1]["data"]["text/plain"] == "4950"
    (state,) = widget_states(nb)
    assert state["stages"][0]["completed"] == 4


def test_a_spark_cell_binds_spark_beside_sc_and_its_dataframe_job_shows_in_the_widget():
    nb = run_notebook(["%load_ext sparkbook",
                       "%%spark\n"
                       "people = spark.createDataFrame([('Alice', 1), ('Bob', 12)], "
                       "['name', 'age'])\n"
                       "people.select('name', people.age + 1).show()\n"
                       "spark.sparkContext is sc"])
    outputs = nb.cells[1].outputs
    printed = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    assert printed == ("+-----+---------+\n| name|(age + 1)|\n+-----+---------+\n"
                       "|Alice|        2|\n|  Bob|       13|\n+-----+---------+\n\n")
    assert outputs[-1]["data"]["text/plain"] == "True"
    (state,) = widget_states(nb)
    (stage,) = state["stages"]
    # show() takes 21 rows: CollectLimit, in the same stage as the operators under it.
    assert stage["name"] == ("CollectLimit 21 <- Project [name, (age + 1)] <- "
                             "Scan ExistingRDD[name,age] at cell 2, line 3")
    assert stage["status"] == "COMPLETE" and stage["completed"] == stage["num_tasks"]


def test_a_failing_cell_shows_the_remote_traceback_and_marks_the_failed_stage():
    code = ("%%spark\n"
            "def explode(x):\n"
            "    raise ValueError('bad record %d' % x)\n"
            "sc.parallelize(range(4), 2).map(explode).count()")
    nb = run_notebook(["%load_ext sparkbook", code], allow_errors=True)
    error = next(o for o in nb.cells[1].outputs if o["output_type"] == "error")
    assert error["ename"] == "PythonException"
    text = "\n".join(error["traceback"])
    assert "ValueError: bad record" in text and "explode" in text
    (state,) = widget_states(nb)
    assert state["status"] == "failed"
    assert state["jobs"][0]["status"] == "FAILED"
    assert state["stages"][0]["status"] == "FAILED" and state["stages"][0]["failed"] >= 4


def test_interrupting_a_cell_cancels_its_job_and_the_cluster_stays_usable():
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        printed: list[str] = []

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "stream":
                printed.append(msg["content"]["text"])
            elif msg["msg_type"] == "execute_result":
                printed.append(msg["content"]["data"]["text/plain"])

        kc.execute_interactive("%load_ext sparkbook\n%spark start -e 2", timeout=60)
        slow = ("%%spark\nimport time\n"
                "sc.parallelize(range(400), 4).map(lambda x: time.sleep(0.1) or x).count()")
        msg_id = kc.execute(slow)
        time.sleep(2.0)
        interrupted_at = time.monotonic()
        km.interrupt_kernel()
        while True:
            reply = kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        assert time.monotonic() - interrupted_at < 5
        kc.execute_interactive(
            "import time\n"
            "deadline = time.monotonic() + 3\n"
            "while any(e.get('active_tasks') for e in sc.statusStore.executors.values()) "
            "and time.monotonic() < deadline: time.sleep(0.05)\n"
            "print('active', sum(e.get('active_tasks', 0)\n"
            "                    for e in sc.statusStore.executors.values()))",
            timeout=30, output_hook=hook)
        kc.execute_interactive("%%spark\nsc.parallelize(range(10), 2).sum()", timeout=60,
                               output_hook=hook)
        assert "active 0\n" in printed and "45" in printed
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_killing_an_executor_mid_job_still_gives_the_right_answer():
    code = ("%%spark\n"
            "import threading, time\n"
            "from operator import add\n"
            "killer = threading.Timer(1.0, get_ipython().run_line_magic, "
            "('spark', 'kill-executor 0'))\n"
            "killer.start()\n"
            "rdd = sc.parallelize(range(2000), 8).map(lambda x: time.sleep(0.004) or (x % 7, x))\n"
            "result = dict(rdd.reduceByKey(add).collect())\n"
            "killer.join()\n"
            "result == {k: sum(range(k, 2000, 7)) for k in range(7)}")
    nb = run_notebook(["%load_ext sparkbook", "%spark start -e 2", code, "%spark status"])
    assert nb.cells[2].outputs[-1]["data"]["text/plain"] == "True"
    printed = "".join(o.get("text", "") for o in nb.cells[2].outputs)
    assert "executor 0" in printed and "killed" in printed
    (state,) = widget_states(nb)
    assert state["jobs"][-1]["status"] == "SUCCEEDED"
    assert any(not e["alive"] for e in state["executors"])
    # The panel keeps the lost executor, with why; the timeline shows its lost tasks.
    (lost,) = [e for e in state["executors"] if not e["alive"]]
    assert lost["lost_reason"].startswith("executor 0 killed by signal 9")
    assert any(t["executor"] == "0" and t["status"] == "FAILED" for t in state["tasks"])
    status = nb.cells[3].outputs[0]["data"]["text/html"]
    assert ("lost executors:\n      0  executor 0 killed by signal 9 (SIGKILL), as a driver "
            "asked") in status


def test_in_a_terminal_the_magics_draw_the_console_progress_bar():
    cell = ("import time\n"
            "print('sum', sc.parallelize(range(8), 8).map(lambda x: time.sleep(0.3) or x).sum())")
    command = ("ip = get_ipython(); ip.run_line_magic('load_ext', 'sparkbook'); "
               f"ip.run_cell_magic('spark', '', {json.dumps(cell)})")
    proc = subprocess.run([sys.executable, "-m", "IPython", "--quick", "--no-banner",
                           "--colors=NoColor", "-c", command],
                          capture_output=True, text=True, timeout=120)
    assert "sum 28" in proc.stdout
    assert "[Stage 0:" in proc.stderr and "/ 8]" in proc.stderr


def test_the_executor_panel_shows_one_live_row_per_executor():
    nb = run_notebook(["%load_ext sparkbook", "%spark start -e 2", "%spark executors",
                       "%%spark --quiet\nsc.parallelize(range(8), 8).count()",
                       "import time; time.sleep(1.2)"])
    (panel,) = widget_states(nb)
    assert panel["mode"] == "executors"
    rows = panel["executors"]
    assert [r["id"] for r in rows] == ["0", "1"] and all(r["alive"] for r in rows)
    assert sum(r["completed"] for r in rows) == 8
    assert all(r["cpu_history"] and r["memory_limit"] > 0 and r["rss"] > 0 for r in rows)


def test_connect_joins_a_standalone_cluster_and_config_applies_at_start(tmp_path):
    cluster_file = tmp_path / "cluster.json"
    local = subprocess.Popen([sys.executable, "-m", "sparkbook", "local", "-e", "2", "--port",
                              "0", "--cluster-file", str(cluster_file)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = local.stdout.readline().split()[1]
        nb = run_notebook([
            "%load_ext sparkbook",
            "%spark config spark.app.name=joined-from-a-notebook",
            f"%spark connect {url} --cluster-file {cluster_file}",
            "%%spark\nimport time; time.sleep(0.5)\n"
            "(sc.appName, len(sc.cluster.executors()), sc.parallelize(range(10), 2).sum())",
            "%spark stop"])
        assert "joined" in nb.cells[2].outputs[0]["text"]
        assert nb.cells[3].outputs[-1]["data"]["text/plain"] == \
            "('joined-from-a-notebook', 2, 45)"
    finally:
        local.terminate()
        local.wait(10)


def test_what_tasks_print_appears_under_the_cell_marked_by_executor_and_capped():
    nb = run_notebook(["%load_ext sparkbook",
                       "%%spark\ndef shout(x):\n    print('record', x)\n    return x\n"
                       "sc.parallelize(range(6), 2).map(shout).count()",
                       "%%spark\nsc.parallelize(range(5000), 4).foreach(print)"])
    printed = "".join(o.get("text", "") for o in nb.cells[1].outputs
                      if o["output_type"] == "stream")
    lines = sorted(line for line in printed.splitlines() if "record" in line)
    assert len(lines) == 6
    assert all(line.startswith(("[executor 0] record ", "[executor 1] record "))
               for line in lines)
    chatty = "".join(o.get("text", "") for o in nb.cells[2].outputs
                     if o["output_type"] == "stream").splitlines()
    assert len([line for line in chatty if line.startswith("[executor ")]) == 1000
    assert chatty[-1] == "[sparkbook] 4000 more lines printed by tasks were not shown"
