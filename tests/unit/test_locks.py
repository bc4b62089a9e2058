"""The job's file locks exclude (issue 22, item 4): two runs never hold one lock together, a dead
holder is taken over by one contender only, a live one never, and a lock lost while held stops the
work done under it. On the local file system of a local Spark session, each race run 50 times."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ticket_analysis import storage

ROUNDS = 50
HOST = socket.gethostname()


@pytest.fixture
def store(spark) -> storage.HadoopStore:
    return storage.HadoopStore(spark)


@pytest.fixture
def location(tmp_path: Path) -> str:
    return str(tmp_path / "_locks" / "2026-11-28T04.lock")


def _owner(run_id: str) -> dict[str, Any]:
    return {"run_id": run_id, "host": HOST, "pid": os.getpid()}


def _leave(location: str, holder: dict[str, Any], age_s: float = 0.0) -> None:
    """A lock file as another process left it, its modification time ``age_s`` in the past."""
    path = Path(location)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(holder))
    if age_s:
        then = time.time() - age_s
        os.utime(path, (then, then))


def _read(location: str) -> dict[str, Any]:
    return json.loads(Path(location).read_text())


def _dead_pid() -> int:
    """The id of a process of this host that has ended (and been reaped)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def _race(store: storage.HadoopStore, location: str, run_ids: list[str], stagger_s: float = 0.0) -> list[str]:
    """Start one contender per run id at the same instant (wait_s=0), the n-th ``n * stagger_s``
    later; the run ids that got the lock. A winner holds it until every contender has tried."""
    started, tried = threading.Barrier(len(run_ids), timeout=60), threading.Barrier(len(run_ids), timeout=60)
    winners: list[str] = []
    errors: list[BaseException] = []

    def contend(run_id: str) -> None:
        try:
            started.wait()
            time.sleep(run_ids.index(run_id) * stagger_s)
            with store.lock(location, _owner(run_id)):
                winners.append(run_id)
                tried.wait()
                return
        except storage.LockedError:
            pass
        except Exception as error:  # noqa: BLE001 - reported below, with the round
            errors.append(error)
        tried.wait()

    threads = [threading.Thread(target=contend, args=(run_id,)) for run_id in run_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return winners


def _sleep_in_short_naps(seconds: float) -> None:
    """What a driver does between two Spark calls: the interruption lands between two naps."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)


def test_two_contenders_starting_together_never_both_get_the_lock(
    store: storage.HadoopStore, location: str
) -> None:
    for round_ in range(ROUNDS):
        winners = _race(store, location, [f"first-{round_}", f"second-{round_}"])
        assert len(winners) == 1, f"round {round_}: {winners} got the lock"
        assert not list(Path(location).parent.iterdir()), "released, nothing left beside it"


@pytest.mark.parametrize("dead", ["ended on this host", "expired on another host"])
def test_two_contenders_taking_over_one_dead_lock_never_both_get_it(
    store: storage.HadoopStore, location: str, monkeypatch: pytest.MonkeyPatch, dead: str
) -> None:
    monkeypatch.setattr(storage, "LEASE_S", 5.0)
    holders = {
        "ended on this host": ({"host": HOST, "pid": _dead_pid()}, 0.0),
        "expired on another host": ({"host": "another-host.invalid", "pid": 1}, 60.0),
    }
    holder, age_s = holders[dead]
    for round_ in range(ROUNDS):
        _leave(location, {"run_id": "gone", **holder, "token": "old", "heartbeat": 0.0}, age_s)
        # Together, or one a few milliseconds behind: it finds the lock being taken over.
        stagger_s = (round_ % 10) * 0.002
        winners = _race(store, location, [f"first-{round_}", f"second-{round_}"], stagger_s)
        assert len(winners) == 1, f"round {round_}: {winners} got the lock"
        assert not list(Path(location).parent.iterdir()), "released, nothing left beside it"


def test_a_retry_never_takes_over_a_live_attempt_of_its_run_but_takes_over_a_dead_one(
    store: storage.HadoopStore, location: str
) -> None:
    attempt = subprocess.Popen(["sleep", "120"])
    try:
        _leave(location, {"run_id": "run-1", "host": HOST, "pid": attempt.pid, "token": "first"})
        with pytest.raises(storage.LockedError) as refused, store.lock(location, _owner("run-1")):
            pass
        assert refused.value.holder["pid"] == attempt.pid
        assert _read(location)["token"] == "first", "the live attempt's lock is untouched"
    finally:
        attempt.kill()
        attempt.wait()
    with store.lock(location, _owner("run-1")):  # its holder has died: taken over at once
        assert _read(location)["pid"] == os.getpid()
    assert not Path(location).exists()


def test_another_hosts_lock_expires_by_its_file_time_not_by_the_holders_clock(
    store: storage.HadoopStore, location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "LEASE_S", 5.0)
    elsewhere = {"run_id": "run-9", "host": "another-host.invalid", "pid": 1, "token": "theirs"}
    # Renewed just now by a host whose clock is an hour behind: live.
    _leave(location, {**elsewhere, "heartbeat": time.time() - 3600})
    with pytest.raises(storage.LockedError), store.lock(location, _owner("run-1")):
        pass
    assert _read(location)["token"] == "theirs"
    # Not renewed for longer than the lease by a host whose clock is an hour ahead: dead.
    _leave(location, {**elsewhere, "heartbeat": time.time() + 3600}, age_s=10)
    with store.lock(location, _owner("run-1")):
        assert _read(location)["run_id"] == "run-1"


def test_release_leaves_a_lock_that_is_no_longer_ours(
    store: storage.HadoopStore, location: str, caplog: pytest.LogCaptureFixture
) -> None:
    theirs = {"run_id": "run-2", "host": HOST, "pid": os.getpid(), "token": "theirs"}
    with caplog.at_level(logging.WARNING), store.lock(location, _owner("run-1")):
        _leave(location, theirs)
    assert _read(location) == theirs
    assert any(location in record.getMessage() for record in caplog.records if record.levelname == "WARNING")


def test_a_lease_that_finds_another_token_stops_the_block_at_once(
    store: storage.HadoopStore, location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "HEARTBEAT_S", 0.1)
    theirs = {"run_id": "run-2", "host": HOST, "pid": os.getpid(), "token": "theirs"}
    started = time.monotonic()
    with pytest.raises(storage.LockLostError, match=r"2026-11-28T04\.lock"):
        with store.lock(location, _owner("run-1")):
            _leave(location, theirs)
            _sleep_in_short_naps(30)
    assert time.monotonic() - started < 10
    assert _read(location) == theirs, "another's lock is not deleted"


def test_a_lost_lease_cancels_the_spark_job_running_under_it(
    spark, store: storage.HadoopStore, location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "HEARTBEAT_S", 0.2)
    theirs = {"run_id": "run-2", "host": HOST, "pid": os.getpid(), "token": "theirs"}
    started = time.monotonic()
    with pytest.raises(storage.LockLostError) as lost:
        with store.lock(location, _owner("run-1")):
            _leave(location, theirs)
            spark.range(0, 10**14, numPartitions=2).selectExpr("sum(id % 7)").collect()  # hours
    assert time.monotonic() - started < 60
    assert lost.value.__cause__ is not None, "raised from the cancelled job's error"


def test_a_spark_job_submitted_after_the_lease_was_lost_is_cancelled_too(
    spark, store: storage.HadoopStore, location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loss is found before the job starts (on a busy machine the call submitting it can be
    in progress): one cancellation at the loss is not enough, the lease keeps cancelling."""
    monkeypatch.setattr(storage, "HEARTBEAT_S", 0.2)
    theirs = {"run_id": "run-2", "host": HOST, "pid": os.getpid(), "token": "theirs"}
    outcome: list[BaseException | None] = []

    def hold_then_compute() -> None:
        try:
            with store.lock(location, _owner("run-1")) as lease:
                _leave(location, theirs)
                while lease.lost is None:
                    time.sleep(0.05)
                # The scenario, not a wait for an event: the job is submitted well after the
                # one cancellation made at the loss, as a late call of a busy driver would be.
                time.sleep(0.5)
                spark.range(0, 10**14, numPartitions=2).selectExpr("sum(id % 7)").collect()  # hours
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - what the thread ended with is the result
            outcome.append(error)

    worker = threading.Thread(target=hold_then_compute)
    worker.start()
    worker.join(60)
    still_running = worker.is_alive()
    if still_running:
        spark.sparkContext.cancelAllJobs()  # let the session go on for the other tests
        worker.join()
    assert not still_running, "the job ran on after the lease was lost"
    assert outcome and isinstance(outcome[0], storage.LockLostError), outcome


def test_a_lease_whose_renewal_fails_stops_the_block_instead_of_dying_silently(
    store: storage.HadoopStore, location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "HEARTBEAT_S", 0.1)
    renew, failed = store.write_json_atomic, []

    def fail_once(where: str, document: dict[str, Any]) -> None:
        if not failed:
            failed.append(where)
            raise OSError("No space left on device")
        renew(where, document)

    monkeypatch.setattr(store, "write_json_atomic", fail_once)
    started = time.monotonic()
    with pytest.raises(storage.LockLostError, match="No space left on device"):
        with store.lock(location, _owner("run-1")):
            _sleep_in_short_naps(30)
    assert time.monotonic() - started < 10
    assert not Path(location).exists(), "still ours: released"


def test_a_lock_held_by_another_thread_reports_its_loss_through_the_lease(
    store: storage.HadoopStore, location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the main thread is interrupted; a worker holding a lock asks its lease."""
    monkeypatch.setattr(storage, "HEARTBEAT_S", 0.1)
    seen: list[BaseException] = []

    def worker() -> None:
        try:
            with store.lock(location, _owner("run-1")) as lease:
                _leave(location, {"run_id": "run-2", "host": HOST, "pid": os.getpid(), "token": "theirs"})
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    lease.check()
                    time.sleep(0.05)
        except BaseException as error:  # noqa: BLE001 - the test looks at it
            seen.append(error)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(timeout=30)
    assert len(seen) == 1 and isinstance(seen[0], storage.LockLostError), seen


def test_a_killed_holder_not_yet_reaped_is_dead(store: storage.HadoopStore, location: str) -> None:
    """A job killed by SIGKILL stays a zombie until its parent reaps it, which an init that does
    not reap never does: its lock is taken over at once all the same."""
    attempt = subprocess.Popen(["sleep", "120"])
    try:
        attempt.kill()
        deadline = time.monotonic() + 10
        while not storage._zombie(attempt.pid):
            assert time.monotonic() < deadline, "the killed process never became a zombie"
            time.sleep(0.05)
        _leave(location, {"run_id": "run-1", "host": HOST, "pid": attempt.pid, "token": "killed"})
        with store.lock(location, _owner("run-1")):
            assert _read(location)["pid"] == os.getpid()
    finally:
        attempt.wait()
