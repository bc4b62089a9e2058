"""The job's file operations through the Hadoop FileSystem API of the Spark driver.

Everything the job writes or reads back (the artifacts, the staging of a run, the landing zone,
locks) goes through Spark or this class, so the artifacts root may be a local path or any URI
Hadoop knows with atomic renames (``file:///mnt/shared/stats``, ``hdfs://...``): executors on
other machines write where the driver renames. Object stores (S3A, GCS), whose directory rename
is a copy then a delete, are refused (``ticket_etl.config.artifacts_root``; docs/cluster.md).
"""

from __future__ import annotations

import _thread
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pyspark.sql import SparkSession

from ticket_etl import artifacts
from ticket_etl.storage import join

CHECKSUM_FS = "org.apache.hadoop.fs.ChecksumFileSystem"

log = logging.getLogger("analyze_tickets")


class StorageError(RuntimeError):
    """A file operation failed in a way the job cannot repair; the message says which."""


@dataclass
class HadoopStore:
    """File operations on paths or URIs, through the driver's Hadoop configuration. Each
    operation is a few calls into the driver's JVM; the file system of each scheme and authority
    is looked up once (Hadoop caches its instances the same way)."""

    spark: SparkSession
    _filesystems: dict[tuple[str, str], Any] = field(default_factory=dict, init=False, repr=False)

    @cached_property
    def _path_class(self) -> Any:
        return self.spark._jvm.org.apache.hadoop.fs.Path

    def _path(self, location: str) -> Any:
        return self._path_class(location)

    def _fs(self, location: str) -> Any:
        """The file system of ``location``; for local files the raw one: Hadoop's default local
        file system keeps a ``.crc`` file beside each file and refuses to read a file changed by
        another program (an operator's edit, a test) afterwards."""
        parts = urlsplit(location)
        key = (parts.scheme, parts.netloc)
        if key not in self._filesystems:
            fs = self._path(location).getFileSystem(self.spark._jsc.hadoopConfiguration())
            checksummed = self.spark._jvm.java.lang.Class.forName(CHECKSUM_FS).isInstance(fs)
            self._filesystems[key] = fs.getRawFileSystem() if checksummed and fs.getScheme() == "file" else fs
        return self._filesystems[key]

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
        return self.files_rows(self.data_files(location))

    def files_rows(self, files: list[str]) -> int:
        """Rows of Parquet ``files``, from their footers."""
        jvm, conf = self.spark._jvm, self.spark._jsc.hadoopConfiguration()
        total = 0
        for file in files:
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
        """Write a small text file. With ``overwrite`` false, returns False when the file exists
        already: an exclusive creation on HDFS, a check then a create on the local file system
        (locks are published with a hard link there, :meth:`create_new`)."""
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
        if _local(self._fs(location)):
            self._move_local(temporary, location)
            return
        context = jvm.org.apache.hadoop.fs.FileContext.getFileContext(
            self._path(location).toUri(), self.spark._jsc.hadoopConfiguration()
        )
        options = self.spark.sparkContext._gateway.new_array(jvm.org.apache.hadoop.fs.Options.Rename, 1)
        options[0] = jvm.org.apache.hadoop.fs.Options.Rename.OVERWRITE
        context.rename(self._path(temporary), self._path(location), options)

    def _nio_path(self, location: str) -> Any:
        """A local file's ``java.nio.file.Path``."""
        return self._fs(location).pathToFile(self._path(location)).toPath()

    def _move_local(self, source: str, target: str) -> None:
        """A POSIX rename of a local file (replaces ``target``)."""
        jvm = self.spark._jvm
        options = self.spark.sparkContext._gateway.new_array(jvm.java.nio.file.CopyOption, 1)
        options[0] = jvm.java.nio.file.StandardCopyOption.ATOMIC_MOVE
        jvm.java.nio.file.Files.move(self._nio_path(source), self._nio_path(target), options)

    @contextmanager
    def lock(self, location: str, owner: dict[str, Any], wait_s: float = 0.0) -> Iterator[Lease]:
        """Hold the lock file ``location`` while the block runs; yields the :class:`Lease`.

        The lock holds ``owner`` with this process's ``host`` and ``pid`` and a random ``token``,
        and appears whole, only if no lock is there (:meth:`create_new`). A lock held by another
        live owner is waited for up to ``wait_s`` seconds, then refused with
        :class:`LockedError`, whoever holds it (an earlier attempt of the same run too). A dead
        holder's lock is taken over (:meth:`_take_over`): one whose process, on this host, has
        ended, or one whose file the file system has not seen renewed for :data:`LEASE_S`
        (judged by the file system's clock only: hosts' clocks differ).

        While the block runs the lease renews the lock; if it loses it, the Spark jobs are
        cancelled, the main thread is interrupted and the block ends with
        :class:`LockLostError`. At the end the lock is deleted if it is still ours.

        Locks need a file system with an atomic exclusive creation and an atomic rename: the
        local one (a shared mount too) and HDFS. Object stores (S3A, GCS) are not supported.
        """
        document = {**owner, "host": socket.gethostname(), "pid": os.getpid(), "token": uuid.uuid4().hex}
        deadline = time.monotonic() + wait_s
        while not self._try_lock(location, document):
            if time.monotonic() >= deadline:
                raise LockedError(location, self._holder(location) or {})
            time.sleep(LOCK_POLL_S)
        lease = Lease(self, location, document)
        lease.start()
        try:
            yield lease
        except BaseException as error:
            self._let_go(lease, error)
            raise
        self._let_go(lease, None)

    def _let_go(self, lease: Lease, error: BaseException | None) -> None:
        """Stop ``lease`` and delete the lock if it is still ours. A lost lease raises
        :class:`LockLostError` (from ``error``, the block's own), whatever else happened: the
        interruption the lease sent above all, delivered here if the block had ended."""
        try:
            lease.stop()
            self._release(lease)
        except BaseException as failure:
            if lease.lost is None:
                raise
            error = error or failure
        if lease.lost is not None:
            raise LockLostError(lease.location, lease.lost) from (error or lease.failure)

    def _release(self, lease: Lease) -> None:
        seen = self._look(lease.location)
        holder = None if seen is None else seen.holder
        if holder is not None and holder.get("token") == lease.token:
            self.delete(lease.location)
        elif lease.lost is None:
            log.warning("the lock %s is no longer ours (%s): left as it is", lease.location, holder)

    def _try_lock(self, location: str, document: dict[str, Any]) -> bool:
        """One attempt: create the lock, or take over a dead holder's."""
        # The heartbeat (this host's clock) is for a person: expiry reads the file's time.
        text = json.dumps({**document, "heartbeat": time.time()})
        if self.create_new(location, text):
            return True
        seen = self._look(location)
        if seen is None:  # released meanwhile
            return self.create_new(location, text)
        return self._dead(location, seen) and self._take_over(location, seen, text, document["token"])

    def create_new(self, location: str, text: str) -> bool:
        """Write a small file with its whole content, only if there is none (False when there is):
        a lock, a record written once. A hard link to a complete temporary file on the local file system (link(2) fails if the name exists;
        Hadoop's local create checks, then truncates), an exclusive create elsewhere (atomic on
        HDFS's name node, the content follows: an unreadable lock is judged by its time)."""
        if not _local(self._fs(location)):
            return self.write_text(location, text, overwrite=False)
        temporary = _beside(location, "new")
        self.write_text(temporary, text)
        try:
            return self._link(location, temporary)
        finally:
            self.delete(temporary)

    def _link(self, location: str, existing: str) -> bool:
        """Give the local file ``existing`` the name ``location`` too; False if it is taken."""
        try:
            self.spark._jvm.java.nio.file.Files.createLink(self._nio_path(location), self._nio_path(existing))
        except Exception as error:
            if _java_error(error, "FileAlreadyExistsException"):
                return False
            raise
        return True

    def _move(self, source: str, target: str) -> bool:
        """Rename ``source`` to the unused name ``target``; False if ``source`` is gone (when two
        contenders move one file, one succeeds)."""
        fs = self._fs(source)
        if not _local(fs):
            return bool(fs.rename(self._path(source), self._path(target)))
        try:
            self._move_local(source, target)
        except Exception as error:
            if _java_error(error, "NoSuchFileException"):
                return False
            raise
        return True

    def _look(self, location: str) -> _Seen | None:
        """The lock file's content and modification time, or None when there is none."""
        fs, path = self._fs(location), self._path(location)
        try:
            modified_ms = fs.getFileStatus(path).getModificationTime()
            stream = fs.open(path)
            try:
                data = bytes(self.spark._jvm.org.apache.commons.io.IOUtils.toByteArray(stream))
            finally:
                stream.close()
        except Exception as error:
            if _java_error(error, "FileNotFoundException", "NoSuchFileException"):
                return None
            raise
        return _Seen(data.decode("utf-8", errors="replace"), modified_ms)

    def _dead(self, location: str, seen: _Seen) -> bool:
        """Whether the holder of the lock ``seen`` is dead: its process, on this host, has ended,
        or the lock has not been renewed for :data:`LEASE_S` by the file system's clock (any
        host's holder, an unreadable lock, a process id reused on this host)."""
        holder = seen.holder
        if holder is not None and holder.get("host") == socket.gethostname() and _ended(holder.get("pid")):
            return True
        return self._now_ms(location) - seen.modified_ms > LEASE_S * 1000

    def _now_ms(self, location: str) -> int:
        """The time of the file system that holds ``location``: a new file's modification time."""
        probe = _beside(location, "now")
        self.write_text(probe, "")
        try:
            return self._fs(probe).getFileStatus(self._path(probe)).getModificationTime()
        finally:
            self.delete(probe)

    def _take_over(self, location: str, seen: _Seen, text: str, token: str) -> bool:
        """Replace the dead lock ``seen`` by ours. It is first renamed to a name of ours: of
        contenders doing so at once one succeeds, and a lock that is no longer the one judged
        dead (renewed, or a contender's new one) is put back. Only the file moved is deleted,
        never a lock just taken by another."""
        aside = f"{location}.stale.{token}"
        if self._look(location) != seen or not self._move(location, aside):
            return False  # changed since it was judged, or another contender moved it first
        if self._look(aside) == seen:
            self.delete(aside)
            return self.create_new(location, text)  # another contender may create it first: fine
        if not self._put_back(aside, location):
            log.warning("moved the live lock %s aside and could not put it back", location)
        self.delete(aside)
        return False

    def _put_back(self, aside: str, location: str) -> bool:
        if _local(self._fs(location)):
            return self._link(location, aside)
        return bool(self._fs(location).rename(self._path(aside), self._path(location)))

    def _holder(self, location: str) -> dict[str, Any] | None:
        """The lock's content; for one that cannot be read as JSON (its creation is under way
        on HDFS, say), its file's modification time."""
        seen = self._look(location)
        if seen is None:
            return None
        return seen.holder or {"unreadable": True, "modified_ms": seen.modified_ms}


def _discard(fs: Any, path: Any, stream: Any) -> None:
    """Close ``stream`` and delete the file it was writing, both at best (the write failed)."""
    for attempt in (stream.close, lambda: fs.delete(path, False)):
        try:
            attempt()
        except Exception:  # noqa: BLE001 - the write's own error is the one to report
            pass


def _local(fs: Any) -> bool:
    return fs.getUri().getScheme() == "file"


def _beside(location: str, purpose: str) -> str:
    """A new hidden file name next to ``location``, unique to this call."""
    folder, name = location.rsplit("/", 1)
    return join(folder, f".{name}.{purpose}.{uuid.uuid4().hex}")


def _java_error(error: BaseException, *names: str) -> bool:
    """Whether ``error`` is a py4j call's Java exception of one of the classes ``names``."""
    java = getattr(error, "java_exception", None)
    return java is not None and java.getClass().getSimpleName() in names


def _ended(pid: Any) -> bool:
    """Whether ``pid`` names no running process of this host: none, or a zombie (killed, not yet
    reaped by a parent that may never do it, such as an init that does not reap)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's
        pass
    return _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (not Linux), or just ended
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"  # the state follows "(command)"


@dataclass(frozen=True)
class _Seen:
    """A lock file as read: what two reads compare to know whether it changed in between."""

    text: str
    modified_ms: int

    @property
    def holder(self) -> dict[str, Any] | None:
        """Its JSON document, None when it cannot be read as one."""
        try:
            document = json.loads(self.text)
        except ValueError:
            return None
        return document if isinstance(document, dict) else None


# A lock whose file has not been renewed for this long is abandoned (a job killed by SIGKILL on
# another host); its holder renews it every HEARTBEAT_S (well under LEASE_S / 2, the lateness at
# which a holder gives its lease up). Module attributes, read at each use: tests shorten them.
LEASE_S = 120.0
HEARTBEAT_S = 20.0
LOCK_POLL_S = 2.0


class Lease(threading.Thread):
    """Renews a lock every :data:`HEARTBEAT_S` seconds, while it is still ours, until stopped.

    Each renewal reads the lock and replaces it only if it holds our token (:attr:`token`);
    the file system stamps the new file's time. The lease is lost when a renewal finds the lock
    gone or another's, fails, or comes later than half a lease after the previous one (another
    contender may have judged us dead). Then it logs why, cancels the Spark jobs and, if the
    lock was taken in the main thread, interrupts it (``KeyboardInterrupt``, which
    :meth:`HadoopStore.lock` turns into :class:`LockLostError`); another thread asks :meth:`check`.
    Until stopped it then cancels the jobs again every heartbeat: a job submitted just after the
    loss (the interruption waits for the call in progress) does not run to its end.
    """

    def __init__(self, store: HadoopStore, location: str, document: dict[str, Any]) -> None:
        super().__init__(name=f"lease {location}", daemon=True)
        self.store, self.location, self.document = store, location, document
        self.token: str = document["token"]
        self.lost: str | None = None  # why, once lost
        self.failure: BaseException | None = None
        self._interrupts_main = threading.current_thread() is threading.main_thread()
        self._stopped = threading.Event()
        self._guard = threading.Lock()
        self._renewed = time.monotonic()

    def run(self) -> None:
        try:
            while not self._stopped.wait(HEARTBEAT_S):
                self._renew()
        except Exception as error:  # noqa: BLE001 - never silent: the job stops (_lose)
            self._lose(error)
        while not self._stopped.wait(HEARTBEAT_S):  # a job submitted after the loss stops too
            self._cancel_jobs()

    def _renew(self) -> None:
        started = time.monotonic()
        if started - self._renewed > LEASE_S / 2:
            raise _Lost(f"not renewed for {started - self._renewed:.0f}s: another may have taken it over")
        seen = self.store._look(self.location)
        holder = None if seen is None else seen.holder
        if holder is None or holder.get("token") != self.token:
            raise _Lost("the lock file is gone" if seen is None else f"the lock is now {seen.text[:300]}")
        self.store.write_json_atomic(self.location, {**self.document, "heartbeat": time.time()})
        self._renewed = started

    def _lose(self, error: Exception) -> None:
        lost = isinstance(error, _Lost)
        with self._guard:
            self.failure = error  # first: whoever sees ``lost`` finds its cause
            self.lost = str(error) if lost else f"its renewal failed: {error!r}"
            running = not self._stopped.is_set()
        log.error("lost the lock %s: %s", self.location, self.lost, exc_info=not lost)
        if not running:
            return
        self._cancel_jobs()
        if self._interrupts_main:
            _thread.interrupt_main()

    def _cancel_jobs(self) -> None:
        """Cancel the session's Spark jobs: the block's work no longer holds the lock."""
        try:
            self.store.spark.sparkContext.cancelAllJobs()
        except Exception:  # the interruption still stops the job
            log.exception("could not cancel the Spark jobs after losing the lock %s", self.location)

    def check(self) -> None:
        """Raise :class:`LockLostError` if the lock has been lost."""
        if self.lost is not None:
            raise LockLostError(self.location, self.lost) from self.failure

    def stop(self) -> None:
        with self._guard:
            self._stopped.set()
        self.join()


class _Lost(Exception):
    """A renewal found the lock no longer ours."""


class LockedError(StorageError):
    """A lock is held by someone else."""

    def __init__(self, location: str, holder: dict[str, Any]) -> None:
        super().__init__(f"{location} is held by {json.dumps(holder, sort_keys=True)}")
        self.location = location
        self.holder = holder


class LockLostError(StorageError):
    """A lock was lost while its block ran: the work done under it may not have been alone."""

    def __init__(self, location: str, reason: str) -> None:
        super().__init__(f"lost the lock {location} while holding it ({reason}): stopped")
        self.location = location
        self.reason = reason
