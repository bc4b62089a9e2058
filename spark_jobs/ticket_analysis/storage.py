"""The job's file operations through the Hadoop FileSystem API of the Spark driver.

Everything the job writes or reads back (the artifacts, the staging of a run, the landing zone,
locks) goes through Spark or this class, so the artifacts root may be a local path or any URI
Hadoop knows with atomic renames (``file:///mnt/shared/stats``, ``hdfs://...``): executors on
other machines write where the driver renames. Object stores (S3A, GCS), whose directory rename
is a copy then a delete, are refused (``ticket_etl.config.artifacts_root``; docs/cluster.md).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pyspark.sql import SparkSession

from ticket_etl import artifacts
from ticket_etl.storage import join

CHECKSUM_FS = "org.apache.hadoop.fs.ChecksumFileSystem"


class StorageError(RuntimeError):
    """A file operation failed in a way the job cannot repair; the message says which."""


@dataclass
class HadoopStore:
    """File operations on paths or URIs, through the driver's Hadoop configuration."""

    spark: SparkSession

    def _path(self, location: str) -> Any:
        return self.spark._jvm.org.apache.hadoop.fs.Path(location)

    def _fs(self, location: str) -> Any:
        """The file system of ``location``; for local files the raw one: Hadoop's default local
        file system keeps a ``.crc`` file beside each file and refuses to read a file changed by
        another program (an operator's edit, a test) afterwards."""
        fs = self._path(location).getFileSystem(self.spark._jsc.hadoopConfiguration())
        checksummed = self.spark._jvm.java.lang.Class.forName(CHECKSUM_FS).isInstance(fs)
        return fs.getRawFileSystem() if checksummed and fs.getScheme() == "file" else fs

    def exists(self, location: str) -> bool:
        return bool(self._fs(location).exists(self._path(location)))

    def delete(self, location: str) -> None:
        """Delete a file or a folder with its content (nothing when absent)."""
        self._fs(location).delete(self._path(location), True)

    def rename(self, source: str, target: str) -> None:
        """Move ``source`` to ``target``, which must not exist (its parent is created)."""
        fs = self._fs(source)
        parent = self._path(target).getParent()
        if parent is not None:
            fs.mkdirs(parent)
        if fs.exists(self._path(target)):
            raise StorageError(f"cannot move {source} to {target}: the target exists")
        if not fs.rename(self._path(source), self._path(target)):
            raise StorageError(f"cannot move {source} to {target}")

    def children(self, location: str) -> list[str]:
        """Names of the entries of a folder (empty when it does not exist)."""
        fs, path = self._fs(location), self._path(location)
        if not fs.exists(path):
            return []
        return sorted(status.getPath().getName() for status in fs.listStatus(path))

    def data_files(self, location: str) -> list[str]:
        """The data files under a folder, at any depth (names starting with ``_`` or ``.`` are
        Spark's and Hadoop's own, and skipped, as Spark's readers do)."""
        fs, path = self._fs(location), self._path(location)
        if not fs.exists(path):
            return []
        files, iterator = [], fs.listFiles(path, True)
        while iterator.hasNext():
            file_path = iterator.next().getPath()
            relative = file_path.toUri().getPath()[len(path.toUri().getPath()) :]
            if not any(part.startswith(("_", ".")) for part in relative.split("/") if part):
                files.append(file_path.toString())
        return files

    def parquet_rows(self, location: str) -> int:
        """Rows of a Parquet dataset (a folder, at any depth), from its files' footers: no Spark
        job, a few reads per file."""
        jvm, conf = self.spark._jvm, self.spark._jsc.hadoopConfiguration()
        total = 0
        for file in self.data_files(location):
            input_file = jvm.org.apache.parquet.hadoop.util.HadoopInputFile.fromPath(self._path(file), conf)
            reader = jvm.org.apache.parquet.hadoop.ParquetFileReader.open(input_file)
            try:
                total += reader.getRecordCount()
            finally:
                reader.close()
        return total

    def read_text(self, location: str) -> str | None:
        """A small text file, or None when it does not exist."""
        fs, path = self._fs(location), self._path(location)
        if not fs.exists(path):
            return None
        stream = fs.open(path)
        try:
            return bytes(self.spark._jvm.org.apache.commons.io.IOUtils.toByteArray(stream)).decode("utf-8")
        finally:
            stream.close()

    def read_json(self, location: str) -> dict[str, Any] | None:
        text = self.read_text(location)
        return None if text is None else json.loads(text)

    def write_text(self, location: str, text: str, overwrite: bool = True) -> bool:
        """Write a small text file. With ``overwrite`` false the creation is exclusive: returns
        False when the file exists already (how locks are taken)."""
        return self._write(location, text.encode("utf-8"), overwrite)

    def write_bytes(self, location: str, data: bytes) -> None:
        """Write a file (replacing one there)."""
        self._write(location, data, overwrite=True)

    def _write(self, location: str, data: bytes, overwrite: bool) -> bool:
        fs, path = self._fs(location), self._path(location)
        try:
            stream = fs.create(path, overwrite)
        except Exception as error:
            if not overwrite and "FileAlreadyExists" in str(error):
                return False
            raise
        try:
            stream.write(bytearray(data))
            stream.close()
        except Exception:
            _discard(fs, path, stream)  # a full file system, say: leave no empty or partial file
            raise
        return True

    def write_json_atomic(self, location: str, document: dict[str, Any]) -> None:
        """Write JSON to a temporary file, then rename it over ``location`` in one step: readers
        see the old or the new document, never a part and never none. On the local file system
        that is a POSIX rename (Hadoop's rename with overwrite deletes first, then renames)."""
        temporary = join(location.rsplit("/", 1)[0], f".{location.rsplit('/', 1)[1]}.tmp")
        self.write_text(temporary, artifacts.json_text(document))
        jvm = self.spark._jvm
        fs, target = self._fs(location), self._path(location)
        if fs.getUri().getScheme() == "file":
            source, replaced = (fs.pathToFile(path).toPath() for path in (self._path(temporary), target))
            options = self.spark.sparkContext._gateway.new_array(jvm.java.nio.file.CopyOption, 1)
            options[0] = jvm.java.nio.file.StandardCopyOption.ATOMIC_MOVE
            jvm.java.nio.file.Files.move(source, replaced, options)
            return
        context = jvm.org.apache.hadoop.fs.FileContext.getFileContext(
            self._path(location).toUri(), self.spark._jsc.hadoopConfiguration()
        )
        options = self.spark.sparkContext._gateway.new_array(jvm.org.apache.hadoop.fs.Options.Rename, 1)
        options[0] = jvm.org.apache.hadoop.fs.Options.Rename.OVERWRITE
        context.rename(self._path(temporary), self._path(location), options)

    @contextmanager
    def lock(self, location: str, owner: dict[str, Any], wait_s: float = 0.0) -> Iterator[None]:
        """Hold the lock file ``location`` while the block runs (see :class:`Lease`).

        A lock held by another live owner is waited for up to ``wait_s`` seconds, then refused
        with :class:`LockedError`. A lock left by a dead owner (no heartbeat for
        :data:`LEASE_S`), or by an earlier attempt of the same run, is taken over.
        """
        deadline = time.monotonic() + wait_s
        while not self._try_lock(location, owner):
            if time.monotonic() >= deadline:
                raise LockedError(location, self._holder(location) or {})
            time.sleep(LOCK_POLL_S)
        lease = Lease(self, location, owner)
        lease.start()
        try:
            yield
        finally:
            lease.stop()
            self.delete(location)

    def _try_lock(self, location: str, owner: dict[str, Any]) -> bool:
        if self.write_text(location, json.dumps({**owner, "heartbeat": time.time()}), overwrite=False):
            return True
        holder = self._holder(location)
        if holder is None or holder.get("run_id") == owner.get("run_id") or _expired(holder):
            self.delete(location)  # taken over: the next exclusive create decides among contenders
            return self.write_text(location, json.dumps({**owner, "heartbeat": time.time()}), overwrite=False)
        return False

    def _holder(self, location: str) -> dict[str, Any] | None:
        """The lock's content; for one that cannot be read as JSON (its creation failed halfway,
        on a full file system say), its file's time stands for the heartbeat: it expires."""
        try:
            return self.read_json(location)
        except ValueError:
            fs, path = self._fs(location), self._path(location)
            try:
                modified_ms = fs.getFileStatus(path).getModificationTime()
            except Exception:  # noqa: BLE001 - deleted meanwhile: free
                return None
            return {"heartbeat": modified_ms / 1000, "unreadable": True}


def _discard(fs: Any, path: Any, stream: Any) -> None:
    """Close ``stream`` and delete the file it was writing, both at best (the write failed)."""
    for attempt in (stream.close, lambda: fs.delete(path, False)):
        try:
            attempt()
        except Exception:  # noqa: BLE001 - the write's own error is the one to report
            pass


# A lock whose owner has not renewed it for this long is abandoned (a job killed by SIGKILL).
LEASE_S = 120.0
HEARTBEAT_S = 20.0
LOCK_POLL_S = 2.0


def _expired(holder: dict[str, Any]) -> bool:
    return time.time() - float(holder.get("heartbeat", 0)) > LEASE_S


class Lease(threading.Thread):
    """Renews a lock's heartbeat every :data:`HEARTBEAT_S` seconds until stopped."""

    def __init__(self, store: HadoopStore, location: str, owner: dict[str, Any]) -> None:
        super().__init__(name=f"lease {location}", daemon=True)
        self.store, self.location, self.owner = store, location, owner
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(HEARTBEAT_S):
            self.store.write_json_atomic(self.location, {**self.owner, "heartbeat": time.time()})

    def stop(self) -> None:
        self._stopped.set()
        self.join()


class LockedError(StorageError):
    """A lock is held by someone else."""

    def __init__(self, location: str, holder: dict[str, Any]) -> None:
        super().__init__(f"{location} is held by {json.dumps(holder, sort_keys=True)}")
        self.location = location
        self.holder = holder
