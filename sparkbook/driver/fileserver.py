"""The driver's file server: the files, directories and archives an application added.

``SparkContext.addFile``/``addPyFile``/``addArchive`` take a snapshot of the path here
(Spark, too, keeps the first version of a path and ignores later additions of it), install
it into the driver's own SparkFiles root, and return what the scheduler backend must ship:
each executor gets the bytes once, with the next task it runs (see docs/protocol.md).
"""

from __future__ import annotations

import os

from sparkbook.errors import SparkException
from sparkbook.rdd.input import local_path
from sparkbook.sparkfiles import file_uri, install, is_python_package, snapshot

Shipment = tuple[str, str]  # (kind, name): kind is file, pyfile, dir or archive


def listed_uri(path: str, is_dir: bool) -> str:
    """How Spark lists an added path: a URI as given; a path as ``file:/abs/path`` (with a
    ``/`` after a directory, as Java's File.toURI writes it)."""
    if path.startswith("file:"):
        return path
    return file_uri(path) + ("/" if is_dir else "")


class FileServer:
    """Snapshots of the added paths, by the ``file:`` URI Spark lists them under."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.files: dict[str, Shipment] = {}  # listFiles
        self.archives: dict[str, Shipment] = {}  # listArchives
        self.blobs: dict[Shipment, bytes] = {}
        self.python_includes: list[str] = []  # .zip/.egg/.jar added with addPyFile

    def add_file(self, path: str, recursive: bool = False,
                 python: bool = False) -> Shipment | None:
        """Add a file (or, with ``recursive``, a directory); ``python`` for addPyFile. The new
        shipment, or None when there is nothing new to send."""
        local = local_path(path)
        is_dir = os.path.isdir(local)
        uri = listed_uri(path, is_dir)
        name = os.path.basename(local)
        kind = "dir" if is_dir else "pyfile" if python and is_python_package(name) else "file"
        known = self.files.get(uri)
        if known is not None:
            if known == ("file", name) and kind == "pyfile":  # addFile, then addPyFile
                return self._register(self.files, uri, kind, name, self.blobs[known])
            return None
        if not os.path.exists(local):
            raise FileNotFoundError(f"File {uri} does not exist")
        if is_dir and not recursive:
            raise SparkException(f"[UNSUPPORTED_ADD_FILE.DIRECTORY] Don't support add file. "
                                 f"The file {uri} is a directory, consider to set "
                                 "recursive=True.")
        return self._register(self.files, uri, kind, name, snapshot(local, kind))

    def add_archive(self, path: str) -> Shipment | None:
        """Add an archive, unpacked into a folder named after it (or after a ``#alias``)."""
        path, _, alias = path.partition("#")
        local = local_path(path)
        uri = listed_uri(path, False) + (f"#{alias}" if alias else "")
        if uri in self.archives:
            return None
        if not os.path.isfile(local):
            raise FileNotFoundError(f"File {uri} does not exist")
        name = alias or os.path.basename(local)
        return self._register(self.archives, uri, "archive", name, snapshot(local, "archive"))

    def _register(self, table: dict[str, Shipment], uri: str, kind: str, name: str,
                  blob: bytes) -> Shipment | None:
        same_name = [key for key in self.blobs if key[1] == name]
        for key in same_name:
            if self.blobs[key] != blob or (key[0] == "archive") != (kind == "archive"):
                raise SparkException(f"File {os.path.join(self.root, name)} exists and does "
                                     f"not match contents of {uri}")
        table[uri] = (kind, name)
        if (kind, name) in self.blobs:
            return None
        if not same_name:
            install(self.root, kind, name, blob)
        self.blobs[(kind, name)] = blob
        if kind == "pyfile":
            self.python_includes.append(name)
        return kind, name
