"""What Apache Spark needs on this machine: pyspark, Java 17 or later, ``spark-submit``.

Checked before a JVM is started, so that a missing piece is one clear sentence instead of
a Java gateway's traceback. sparkbook's own engine needs none of them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

JAVA_NEEDED = 17  # Spark 4 runs on Java 17 and 21
INSTALL_HINT = 'pip install "sparkbook[pyspark]"'


def require_pyspark():
    """The pyspark package, or ModuleNotFoundError saying how to install it."""
    try:
        import pyspark
    except ImportError:
        raise ModuleNotFoundError(
            f"the pyspark engine needs Apache Spark's Python package: {INSTALL_HINT}",
            name="pyspark") from None
    return pyspark


def java_command() -> str | None:
    """``$JAVA_HOME/bin/java`` when JAVA_HOME is set (as Spark's launcher does), else PATH's."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.exists() else None
    return shutil.which("java")


def java_version(java: str) -> int | None:
    """The major version ``java -version`` reports (8 for ``1.8.0_x``), None if unreadable."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def require_java() -> str:
    """The java command Spark will use, or RuntimeError naming what Spark needs."""
    java = java_command()
    where = "JAVA_HOME" if os.environ.get("JAVA_HOME") else "PATH"
    if java is None:
        raise RuntimeError(
            f"Java is missing (no java on {where}): Apache Spark needs Java {JAVA_NEEDED} or "
            f"later; install a JDK (e.g. apt-get install openjdk-{JAVA_NEEDED}-jre-headless) "
            "or set JAVA_HOME")
    version = java_version(java)
    if version is None or version < JAVA_NEEDED:
        found = "an unreadable version" if version is None else f"Java {version}"
        raise RuntimeError(
            f"Apache Spark needs Java {JAVA_NEEDED} or later; {java} is {found}: install a "
            f"newer JDK or point JAVA_HOME at one")
    return java


def spark_submit() -> str:
    """The ``spark-submit`` shipped in pyspark's package (pyspark's folder is SPARK_HOME)."""
    pyspark = require_pyspark()
    return str(Path(pyspark.__file__).parent / "bin" / "spark-submit")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_connect_server(work: str, master: str = "local[2]", timeout: float = 300,
                         conf: dict[str, str] | None = None):
    """A Spark Connect server from the installed pyspark (``start-connect-server.sh``),
    logging under ``work``, on a free port; returns (``sc://`` URL, what stops it)."""
    import socket
    import time

    home = Path(require_pyspark().__file__).parent
    env = dict(os.environ, SPARK_HOME=str(home), SPARK_LOG_DIR=work, SPARK_PID_DIR=work,
               SPARK_IDENT_STRING="sparkbook")
    port = free_port()
    args = ["--master", master, "--conf", f"spark.connect.grpc.binding.port={port}"]
    for key, value in (conf or {}).items():
        args += ["--conf", f"{key}={value}"]
    subprocess.run([str(home / "sbin" / "start-connect-server.sh"), *args], env=env,
                   check=True, capture_output=True)

    def stop() -> None:
        subprocess.run([str(home / "sbin" / "stop-connect-server.sh")], env=env,
                       capture_output=True)

    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return f"sc://localhost:{port}", stop
        except OSError:
            if time.monotonic() > deadline:
                stop()
                raise TimeoutError(f"the Spark Connect server did not listen on {port} "
                                   f"within {timeout:.0f} s (its log is in {work})") from None
            time.sleep(0.5)
