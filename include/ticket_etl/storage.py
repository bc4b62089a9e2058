"""Reading the artifacts from Python (the UI, the tests, the demo producer), for a local path or a
URI, through ``pyarrow.fs``: local files, ``file://``, ``hdfs://`` (needs Hadoop's libhdfs on the
machine), ``s3://`` (``s3a://``, Hadoop's name for it, is read as ``s3://``), ``gs://``.

The Spark job writes them through Hadoop's FileSystem API (``ticket_analysis.storage``); nothing
here writes.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyarrow.fs import FileSystem

# Hadoop's scheme -> pyarrow's scheme, for the stores both know under other names.
SCHEME_ALIASES = {"s3a": "s3", "s3n": "s3"}


def join(root: str | os.PathLike[str], *parts: str) -> str:
    """``root/part/...`` for a path (a ``Path`` too) or a URI."""
    return "/".join([os.fspath(root).rstrip("/"), *(part.strip("/") for part in parts)])


def filesystem(location: str) -> tuple[FileSystem, str]:
    """The file system of ``location`` and the path in it."""
    from pyarrow.fs import FileSystem

    scheme, sep, rest = location.partition("://")
    if sep and scheme in SCHEME_ALIASES:
        location = f"{SCHEME_ALIASES[scheme]}://{rest}"
    return FileSystem.from_uri(location)


def read_text(location: str) -> str | None:
    """A small text file, or None when it does not exist."""
    fs, path = filesystem(location)
    try:
        with fs.open_input_stream(path) as stream:
            return stream.read().decode("utf-8")
    except FileNotFoundError:
        return None


def children(location: str) -> list[str]:
    """Names of the entries of a folder, sorted (empty when it does not exist)."""
    from pyarrow.fs import FileSelector

    fs, path = filesystem(location)
    infos = fs.get_file_info(FileSelector(path, allow_not_found=True))
    return sorted(info.base_name for info in infos)


def exists(location: str) -> bool:
    from pyarrow.fs import FileType

    fs, path = filesystem(location)
    return fs.get_file_info(path).type != FileType.NotFound
