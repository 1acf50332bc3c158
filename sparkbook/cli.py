"""The ``sparkbook`` command: start the cluster's processes, submit applications, demo."""

from __future__ import annotations

import argparse
import os
import runpy
import signal
import subprocess
import sys
import tempfile
import time

from sparkbook.conf import parse_bytes
from sparkbook.messages import HASH_SEED


def _ensure_hash_seed() -> None:
    """Cluster processes must hash strings alike (key placement): re-exec with the seed."""
    if os.environ.get("PYTHONHASHSEED") != HASH_SEED:
        env = dict(os.environ, PYTHONHASHSEED=HASH_SEED)
        os.execve(sys.executable, [sys.executable, "-m", "sparkbook", *sys.argv[1:]], env)


def _manager(args: argparse.Namespace) -> None:
    _ensure_hash_seed()
    from sparkbook.manager.server import manager_main

    manager_main(args.host, args.port, args.cluster_file, args.heartbeat_timeout,
                 args.local_executors, args.executor_memory, args.work_dir, args.watch_stdin,
                 args.remove_work_dir)


def _local(args: argparse.Namespace) -> None:
    _ensure_hash_seed()
    from sparkbook.manager.server import manager_main

    work_dir = tempfile.mkdtemp(prefix="sparkbook-local-")
    print(f"sparkbook local: a manager and {args.executors} executors; Ctrl-C stops all",
          file=sys.stderr, flush=True)
    manager_main(args.host, args.port, args.cluster_file, args.heartbeat_timeout,
                 args.executors, args.memory, work_dir, False)


def _executor(args: argparse.Namespace) -> None:
    _ensure_hash_seed()
    from sparkbook import wire

    address = wire.parse_master_url(args.manager)
    cluster = wire.read_cluster_file(args.cluster_file or wire.default_cluster_file(args.manager))
    memory = parse_bytes(args.memory)
    if args.cores > 1:
        _executor_group(args, memory // args.cores)
        return
    from sparkbook.executor.executor import executor_main

    local_dir = args.local_dir or tempfile.mkdtemp(prefix="sparkbook-executor-")
    executor_main(address, cluster.key, memory, local_dir, args.host, args.watch_stdin,
                  manager_name=cluster.address)


def _executor_group(args: argparse.Namespace, memory_each: int) -> None:
    """--cores N: N one-core executor processes (Python's GIL makes processes the unit)."""
    base = [sys.executable, "-m", "sparkbook", "executor", "--manager", args.manager,
            "--cores", "1", "--memory", str(memory_each), "--host", args.host, "--watch-stdin"]
    if args.cluster_file:
        base += ["--cluster-file", args.cluster_file]
    procs = [subprocess.Popen(base, stdin=subprocess.PIPE) for _ in range(args.cores)]

    def stop(code: int) -> None:
        for p in procs:
            p.stdin.close()
        for p in procs:
            p.wait()
        sys.exit(code)

    signal.signal(signal.SIGTERM, lambda *_: stop(0))
    signal.signal(signal.SIGINT, lambda *_: stop(0))
    while all(p.poll() is None for p in procs):
        time.sleep(0.1)
    # An executor died on its own (wrong secret, refused registration): fail like it did.
    stop(next(p.returncode for p in procs if p.returncode is not None) or 1)


def _submit(args: argparse.Namespace) -> None:
    """Client mode, like spark-submit: the application's process is the driver."""
    if args.engine == "pyspark":
        _spark_submit(args)
    if args.master:
        os.environ["SPARK_MASTER"] = args.master
    sys.argv = [args.app, *args.app_args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(args.app)))
    runpy.run_path(args.app, run_name="__main__")


def _spark_submit(args: argparse.Namespace) -> None:
    """``--engine pyspark``: hand the application to Apache Spark's own spark-submit."""
    from sparkbook.notebook.engines.runtime import require_java, spark_submit

    try:
        command = spark_submit()
        require_java()
    except (ImportError, RuntimeError) as exc:
        sys.exit(f"sparkbook submit: {exc}")
    master = ["--master", args.master] if args.master else []
    # Spark's Python workers use the interpreter that has pyspark (and this package).
    env = dict(os.environ, PYSPARK_PYTHON=os.environ.get("PYSPARK_PYTHON", sys.executable))
    os.execve(command, [command, *master, args.app, *args.app_args], env)


def _demo(args: argparse.Namespace) -> None:
    from sparkbook.demo import run_demo

    run_demo(args.master, args.megabytes)


def _kernel(args: argparse.Namespace) -> None:
    from sparkbook.notebook.kernelspec import install

    prefix = sys.prefix if args.sys_prefix else args.prefix
    where = install(user=args.user, prefix=prefix)
    print(f"installed the Sparkbook (Python 3) kernel in {where}")


def _lessons(args: argparse.Namespace) -> None:
    from sparkbook.notebook.lessons import main as lessons_main

    sys.exit(lessons_main(args.run))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sparkbook", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("manager", help="run the standalone cluster manager")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7077)
    p.add_argument("--cluster-file", help="where to write the cluster secret")
    p.add_argument("--heartbeat-timeout", type=float, default=3.0)
    p.add_argument("--local-executors", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--executor-memory", default="1g", help=argparse.SUPPRESS)
    p.add_argument("--work-dir", help=argparse.SUPPRESS)
    p.add_argument("--watch-stdin", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--remove-work-dir", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=_manager)

    p = sub.add_parser("executor", help="run executors for a manager")
    p.add_argument("--manager", required=True, help="sparkbook://HOST:PORT")
    p.add_argument("--cores", type=int, default=1)
    p.add_argument("--memory", default="1g", help="block store memory, e.g. 512m, 2g")
    p.add_argument("--cluster-file")
    p.add_argument("--host", default="127.0.0.1", help="address to serve tasks and blocks on")
    p.add_argument("--local-dir", help=argparse.SUPPRESS)
    p.add_argument("--watch-stdin", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=_executor)

    p = sub.add_parser("local", help="a manager and N executors in the foreground")
    p.add_argument("-e", "--executors", type=int, default=2)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7077)
    p.add_argument("--memory", default="1g", help="block store memory per executor")
    p.add_argument("--cluster-file")
    p.add_argument("--heartbeat-timeout", type=float, default=3.0)
    p.set_defaults(func=_local)

    p = sub.add_parser("submit", help="run an application as the driver (client mode)",
                       usage="sparkbook submit [--engine pyspark] APP.py [--master M] "
                             "[app arguments]")
    p.add_argument("app")
    p.add_argument("--master")
    p.add_argument("--engine", choices=["sparkbook", "pyspark"], default="sparkbook",
                   help="pyspark: run it on Apache Spark with spark-submit")
    p.set_defaults(func=_submit)

    p = sub.add_parser("kernel", help="install the Sparkbook Jupyter kernel")
    p.add_argument("action", choices=["install"])
    where = p.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="for this user only")
    where.add_argument("--sys-prefix", action="store_true", help="in this Python's prefix")
    where.add_argument("--prefix", help="under this prefix (share/jupyter/kernels)")
    p.set_defaults(func=_kernel)

    p = sub.add_parser("lessons", help="list the lesson notebooks, or --run them all")
    p.add_argument("--run", action="store_true", help="execute every lesson and report")
    p.set_defaults(func=_lessons)

    p = sub.add_parser("demo", help="a word count on a local cluster, with progress")
    p.add_argument("--master", default="local[2]")
    p.add_argument("--megabytes", type=int, default=40)
    p.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "submit":
        args.app_args = extra  # what submit does not know belongs to the application
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.func(args)
