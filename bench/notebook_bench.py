"""How the notebook side performs, through a real kernel (jupyter_client).

Prints two numbers the notebook issue asks for:
- the kernel's added latency per %%spark cell: the median round trip of an empty
  ``%%spark`` cell minus that of an empty plain cell (target <= 20 ms);
- the widget's update rate while a 10 s job runs: state messages (comm_msg) per second
  that the browser receives from the cell's widget (target >= 4/s).

Run: ``python bench/notebook_bench.py``.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Iterator

from jupyter_client.manager import start_new_kernel

ROUND_TRIPS = 40
JOB = ("%%spark\nimport time\n"
       "sc.parallelize(range(100), 4).map(lambda x: time.sleep(0.2) or x).count()")


def round_trip(kc, code: str) -> float:
    started = time.perf_counter()
    reply = kc.execute_interactive(code, timeout=60, output_hook=lambda msg: None)
    assert reply["content"]["status"] == "ok", reply["content"]
    return time.perf_counter() - started


@contextlib.contextmanager
def sparkbook_kernel() -> Iterator:
    """A kernel client of a fresh kernel that has loaded sparkbook and started local[2]."""
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        kc.execute_interactive("%load_ext sparkbook\n%spark start -e 2", timeout=60,
                               output_hook=lambda msg: None)
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main() -> None:
    with sparkbook_kernel() as kc:
        round_trip(kc, "%%spark\npass")  # first use imports the widget machinery
        plain = [round_trip(kc, "pass") for _ in range(ROUND_TRIPS)]
        spark = [round_trip(kc, "%%spark\npass") for _ in range(ROUND_TRIPS)]
        quiet = [round_trip(kc, "%%spark --quiet\npass") for _ in range(ROUND_TRIPS)]
        p, s, q = (statistics.median(x) * 1000 for x in (plain, spark, quiet))
        print(f"plain cell round trip     {p:7.2f} ms (median of {ROUND_TRIPS})")
        print(f"%%spark cell round trip   {s:7.2f} ms  -> added latency {s - p:6.2f} ms")
        print(f"%%spark --quiet           {q:7.2f} ms  -> added latency {q - p:6.2f} ms")

        updates: list[float] = []

        def count(msg: dict) -> None:
            if msg["msg_type"] == "comm_msg":
                updates.append(time.perf_counter())

        started = time.perf_counter()
        kc.execute_interactive(JOB, timeout=120, output_hook=count)
        took = time.perf_counter() - started
        during = [t for t in updates if t - started < took - 0.2]
        print(f"10 s job: {took:5.1f} s, {len(updates)} widget updates, "
              f"{len(during) / took:4.1f} updates/s while it ran")


if __name__ == "__main__":
    main()
