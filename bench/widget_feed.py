"""What the live widget sends while a 5,000-partition job runs, through a real kernel.

Counts the cell widget's state messages (iopub ``comm_msg``) the front end receives:
messages per second while the job runs, their bytes (JSON as sent), the largest one, and
the timeline's bars in the final state (merged per core lane past 2,000 tasks). The
bounds: at most 8 messages a second and about 256 KiB of state a second
(``jobview.BYTES_PER_SECOND``), well under the Jupyter server's 1,000 messages/s and
1 MB/s.

Run: ``python bench/widget_feed.py [--partitions 5000] [--sleep 0.002]``.
"""

from __future__ import annotations

import argparse
import json
import time

from notebook_bench import sparkbook_kernel  # bench/ is this script's folder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--partitions", type=int, default=5000)
    ap.add_argument("--sleep", type=float, default=0.002, help="seconds each task sleeps")
    opts = ap.parse_args()
    job = (f"%%spark --name feed\nimport time\n"
           f"sc.parallelize(range({opts.partitions}), {opts.partitions})"
           f".map(lambda x: time.sleep({opts.sleep}) or x).count()")
    with sparkbook_kernel() as kc:
        kc.execute_interactive("%%spark\nsc.parallelize(range(4), 4).count()", timeout=60,
                               output_hook=lambda msg: None)  # imports the widget
        sent: list[tuple[float, int, dict]] = []

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "comm_msg":
                data = msg["content"]["data"]
                sent.append((time.perf_counter(), len(json.dumps(msg["content"])),
                             data.get("state", {})))

        started = time.perf_counter()
        kc.execute_interactive(job, timeout=600, output_hook=hook)
        took = time.perf_counter() - started
        sizes = [n for _, n, _ in sent]
        tasks = [state["tasks"] for _, _, state in sent if "tasks" in state]
        final = tasks[-1] if tasks else []
        print(f"{opts.partitions} partitions: {took:5.1f} s, {len(sent)} state messages, "
              f"{len(sent) / took:4.1f} messages/s")
        print(f"bytes: {sum(sizes):,} in all, {sum(sizes) / took / 1024:6.1f} KiB/s, "
              f"largest message {max(sizes, default=0):,} B")
        print(f"timeline: at most {max(map(len, tasks), default=0)} bars in a message, "
              f"{len(final)} bars at the end covering "
              f"{sum(b.get('count', 1) for b in final)} tasks")


if __name__ == "__main__":
    main()
