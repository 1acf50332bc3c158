"""SparkFiles: where the files added with ``SparkContext.addFile`` (and ``addPyFile``,
``addArchive``) are found, on the driver and inside tasks.

Each process has one SparkFiles root folder per application: the driver makes its own when
the SparkContext starts; an executor makes ``userFiles-<app id>`` under its local folder and
points SparkFiles at it before each task of that application. The driver snapshots an added
file once; both sides then install the same bytes with ``install``: a file as it is, a
directory (``addFile(dir, recursive=True)``) from a tar stream, an archive unpacked into a
folder named after it.
"""

from __future__ import annotations

import importlib
import io
import os
import shutil
import sys
import tarfile
import tempfile
import zipfile

from sparkbook.rdd.input import local_path

__all__ = ["SparkFiles"]

# Added files with these endings go on sys.path (PySpark's SparkContext.PACKAGE_EXTENSIONS).
PACKAGE_EXTENSIONS = (".zip", ".egg", ".jar")


class SparkFiles:
    """Resolves paths to files added through ``SparkContext.addFile``."""

    _root_directory: str | None = None

    def __init__(self) -> None:
        raise NotImplementedError("Do not construct SparkFiles objects")

    @classmethod
    def get(cls, filename: str) -> str:
        """The absolute path of a file added through ``SparkContext.addFile``."""
        return os.path.abspath(os.path.join(cls.getRootDirectory(), filename))

    @classmethod
    def getRootDirectory(cls) -> str:
        """The folder that holds the files added through ``SparkContext.addFile``."""
        if cls._root_directory is None:
            from sparkbook.executor.env import SparkEnv  # executor code, imported if needed

            where = ("a running task" if SparkEnv.get() is not None
                     else "an active SparkContext")
            raise RuntimeError(f"SparkFiles needs {where}")
        return cls._root_directory


def file_uri(path: str) -> str:
    """The ``file:`` URI Spark shows for a local path (``file:/abs/path``)."""
    return "file:" + local_path(path)


def snapshot(path: str, kind: str) -> bytes:
    """The bytes that stand for an added path: a file's content, or a directory as a tar."""
    if kind != "dir":
        with open(path, "rb") as f:
            return f.read()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(path, arcname=".")
    return buffer.getvalue()


def install(root: str, kind: str, name: str, blob: bytes) -> str:
    """Put an added file (``file``/``pyfile``), directory (``dir``) or archive (``archive``)
    into ``root`` under ``name``; the path it now has. Written to a temporary name first and
    renamed, so that a task never sees half a file."""
    os.makedirs(root, exist_ok=True)
    dest = os.path.join(root, name)
    staging = tempfile.mkdtemp(prefix=".incoming-", dir=root)
    try:
        if kind == "dir":
            _extract_tar(blob, os.path.join(staging, name))
        elif kind == "archive":
            _unpack(name, blob, os.path.join(staging, name))
        else:
            with open(os.path.join(staging, name), "wb") as f:
                f.write(blob)
        _remove(dest)
        os.replace(os.path.join(staging, name), dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def _unpack(name: str, blob: bytes, dest: str) -> None:
    """Unpack an archive as Spark does (.zip, .jar, .tar, .tar.gz, .tgz); anything else is
    copied into the folder as it is."""
    lower = name.lower()
    os.makedirs(dest)
    if lower.endswith((".zip", ".jar")):
        with zipfile.ZipFile(io.BytesIO(blob)) as z:
            z.extractall(dest)
    elif lower.endswith((".tar", ".tar.gz", ".tgz")):
        _extract_tar(blob, dest)
    else:
        with open(os.path.join(dest, name), "wb") as f:
            f.write(blob)


def _extract_tar(blob: bytes, dest: str) -> None:
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        if hasattr(tarfile, "data_filter"):  # refuse links and paths that leave ``dest``
            tar.extractall(dest, filter="data")
        else:  # Python < 3.10.12 has no filters
            tar.extractall(dest)


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def is_python_package(name: str) -> bool:
    return name.lower().endswith(PACKAGE_EXTENSIONS)


# --- sys.path on executors ------------------------------------------------------------

_active_paths: list[str] = []


def activate(root: str, includes: list[str], new_files: bool) -> None:
    """Make one application's files the current ones for the tasks that follow: SparkFiles
    resolves under ``root``, and ``root`` and the application's .zip/.egg files lead
    sys.path (after the script's folder, as PySpark's worker puts them). The previous
    application's entries are taken off, since one executor serves many applications.
    ``new_files`` says files arrived since the last task: the import system's cached
    folder listings may predate them."""
    global _active_paths
    SparkFiles._root_directory = root
    wanted = [os.path.join(root, name) for name in reversed(includes)] + [root]
    if wanted != _active_paths:
        os.makedirs(root, exist_ok=True)
        for path in _active_paths:
            while path in sys.path:
                sys.path.remove(path)
        sys.path[1:1] = wanted
        _active_paths = wanted
        new_files = True
    if new_files:
        importlib.invalidate_caches()


def deactivate() -> None:
    """The application has ended: its files leave sys.path and SparkFiles."""
    global _active_paths
    for path in _active_paths:
        while path in sys.path:
            sys.path.remove(path)
    _active_paths = []
    SparkFiles._root_directory = None
