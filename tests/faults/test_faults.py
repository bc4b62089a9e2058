"""Faults injected while a real run of `ticket_pipeline` (`airflow dags test`, real broker, real
spark-submit) reprocesses an hour that already has published artifacts.

For each fault: while it lasts, readers of the hour see its previous complete state; after it, the
run succeeds through the task's retries, and then ``read = enriched + rejected + duplicates + updates``
holds, no staging is left, the team topics hold every ticket of the hour (at least once: a
killed attempt may have published some already) and the dead-letter topic exactly the rejected
records. The job holds at a named fault point (``TICKETS_FAULT_POINT``,
spark_jobs/ticket_analysis/faults.py) so that the kill lands where it is meant to.

Run alone: ``make test PYTEST_ARGS="-m faults"``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import psutil
import pytest
from fault_checks import assert_accounted, assert_same_state, hour_state
from timeline import hour

from ticket_devstack import kafka_service
from ticket_etl import artifacts
from ticket_etl.interval import Interval, iso_utc
from ticket_etl.job_args import JobArguments
from ticket_etl.rules import parse_text
from ticket_etl.spark_submit import submission
from ticket_etl.topology import TEAMS

pytestmark = [pytest.mark.integration, pytest.mark.faults]

KILL_HOUR = hour(6)
RULES_HOUR = hour(7)
FULL_FS_HOUR = hour(12)
BROKER_DOWN_S = 20
CONF = {"tickets_per_run": 400, "malformed_share": 0.05, "seed": 13}
RUN_TIMEOUT_S = 900
HOLD_TIMEOUT_S = 600


# --- runs ---------------------------------------------------------------------------------------


def _start_run(env: dict[str, str], interval: Interval, log: Path) -> subprocess.Popen:
    """`airflow dags test` of a manual run for ``interval``, its output in ``log``."""
    conf = {**CONF, "interval_start": iso_utc(interval.start)}
    with log.open("w") as out:
        return subprocess.Popen(
            ["airflow", "dags", "test", "ticket_pipeline", "-c", json.dumps(conf)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _finish(process: subprocess.Popen, log: Path) -> str:
    """The run's output once it succeeded (the test fails with its tail otherwise)."""
    try:
        process.wait(timeout=RUN_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
    output = log.read_text(errors="replace")
    finished = [line for line in output.splitlines() if "DagRun Finished:" in line]
    assert process.returncode == 0 and finished and "state=success," in finished[-1], output[-6000:]
    return output


def _run(env: dict[str, str], interval: Interval, log: Path) -> str:
    return _finish(_start_run(env, interval, log), log)


def _wait_until(done: Callable[[], bool], what: str, process: subprocess.Popen, log: Path) -> None:
    """Until ``done()``, while ``process`` (its output in ``log``) still runs."""
    deadline = time.monotonic() + HOLD_TIMEOUT_S
    while not done():
        assert process.poll() is None, (
            f"the run ended before {what}:\n" + log.read_text(errors="replace")[-4000:]
        )
        assert time.monotonic() < deadline, f"no {what} after {HOLD_TIMEOUT_S}s"
        time.sleep(0.2)


def _wait_for(path: Path, process: subprocess.Popen, log: Path) -> None:
    _wait_until(path.exists, path.name, process, log)


def _wait_for_text(text: str, process: subprocess.Popen, log: Path) -> None:
    _wait_until(lambda: text in log.read_text(errors="replace"), repr(text), process, log)


def _job_processes(marker: Path) -> list[int]:
    """The spark-submit JVM and the job's Python driver started with ``marker`` in their
    environment (not the `airflow dags test` process, which has it too)."""
    needle = b"TICKETS_FAULT_POINT="
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ours = needle in environ and str(marker).encode() in environ
        if ours and (b"org.apache.spark.deploy.SparkSubmit" in command or b"analyze_tickets.py" in command):
            pids.append(int(entry.name))
    return pids


def _kill_job(marker: Path) -> None:
    pids = _job_processes(marker)
    assert pids, "no spark-submit process holds the fault point"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def published(airflow_env: dict[str, str], tmp_path_factory, kafka_bootstrap: str) -> dict:
    """The hour's first run: the state every fault must leave readers until a run replaces it."""
    log = tmp_path_factory.mktemp("faults") / "first.log"
    _run(airflow_env, KILL_HOUR, log)
    stats = Path(airflow_env["STATS_DIR"])
    assert_accounted(stats, KILL_HOUR, kafka_bootstrap)
    return hour_state(stats, KILL_HOUR)


# --- the faults ---------------------------------------------------------------------------------


@pytest.mark.parametrize("point", ["analysis", "promotion"])
def test_spark_job_killed(
    point: str, published: dict, airflow_env: dict[str, str], tmp_path: Path, kafka_bootstrap: str
) -> None:
    """SIGKILL of spark-submit and the job's driver in the middle of the analysis (records
    checked, nothing staged yet) or of the promotion (one dataset swapped in, the others and the
    summary not yet). The task's retry takes the hour's lock over (same run) and, after a killed
    promotion, finishes it from the complete staging before anything else."""
    stats = Path(airflow_env["STATS_DIR"])
    before = hour_state(stats, KILL_HOUR)
    marker = tmp_path / f"{point}.held"
    log = tmp_path / "run.log"
    process = _start_run({**airflow_env, "TICKETS_FAULT_POINT": f"{point}:{marker}"}, KILL_HOUR, log)
    try:
        _wait_for(marker, process, log)
        assert_same_state(hour_state(stats, KILL_HOUR), before)  # held: readers see the hour as it was
        _kill_job(marker)
        assert_same_state(hour_state(stats, KILL_HOUR), before)  # killed: still as it was
        output = _finish(process, log)
    finally:
        if process.poll() is None:
            process.kill()
    assert output.count("[DAG TEST] starting task_id=analyze ") == 2  # the killed attempt, its retry
    if point == "promotion":
        assert "staged its outputs and stopped; finishing its promotion" in output
    summary = assert_accounted(stats, KILL_HOUR, kafka_bootstrap)
    after = hour_state(stats, KILL_HOUR)
    assert summary["run"]["run_id"] != published["summary"]["run"]["run_id"]
    for name in artifacts.PARQUET_DATASETS:  # the same records give the same rows
        pd.testing.assert_frame_equal(after[name], published[name], obj=name)
    for key in ("totals", "by_type", "by_team", "rejected_by_reason"):
        assert summary[key] == published["summary"][key], key


@pytest.fixture
def rules_file(airflow_env: dict[str, str]) -> Iterator[Path]:
    """The stack's rules file (``ROUTING_RULES``, a copy of the shipped rules), put back after."""
    path = Path(airflow_env["ROUTING_RULES"])
    original = path.read_bytes()
    try:
        yield path
    finally:
        path.write_bytes(original)


def test_rules_replaced_between_check_rules_and_analyze(
    airflow_env: dict[str, str], tmp_path: Path, kafka_bootstrap: str, rules_file: Path
) -> None:
    """The rules file is replaced (every ticket to the product team) as soon as `check_rules` has
    validated it: the run applies the snapshot it validated, and records its digest."""
    restored_rules = rules_file.read_bytes()
    checked = parse_text(restored_rules.decode(), source="original")
    log = tmp_path / "run.log"
    process = _start_run(airflow_env, RULES_HOUR, log)
    try:
        _wait_for_text(f"sha256 {checked.digest}", process, log)
        replaced = restored_rules.replace(b"team: incident", b"team: produit")
        replaced = replaced.replace(b"team: support_general", b"team: produit")
        assert replaced != restored_rules
        rules_file.write_bytes(replaced)
        assert "[DAG TEST] starting task_id=analyze " not in log.read_text(errors="replace")
        output = _finish(process, log)
    finally:
        if process.poll() is None:
            process.kill()
    assert "[DAG TEST] starting task_id=analyze " in output
    summary = assert_accounted(Path(airflow_env["STATS_DIR"]), RULES_HOUR, kafka_bootstrap)
    assert summary["rules_digest"] == checked.digest
    assert {team for team, figures in summary["by_team"].items() if figures["tickets"]} == set(TEAMS)


@contextmanager
def _frozen(pid: int) -> Iterator[None]:
    """The process ``pid`` and its children stopped (SIGSTOP) for the duration: a fault lands
    inside the task that was running, whatever the machine's load."""
    processes = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    for process in processes:
        process.suspend()
    try:
        yield
    finally:
        for process in processes:
            process.resume()


def _broker_down(
    layout: kafka_service.BrokerLayout, run: subprocess.Popen, while_down: Callable[[], None]
) -> None:
    """The broker stopped (``run`` frozen meanwhile, so that it meets no broker in the step it is
    in), ``while_down()`` called, and the broker started again once the outage has lasted
    :data:`BROKER_DOWN_S`."""
    with _frozen(run.pid):
        assert kafka_service.stop(layout)
    try:
        while_down()
        time.sleep(BROKER_DOWN_S)  # the outage's length, not a wait for an event
    finally:
        kafka_service.start(layout)


def test_the_broker_stopped_during_generation_and_during_analysis(
    published: dict,
    airflow_env: dict[str, str],
    tmp_path: Path,
    kafka_bootstrap: str,
    kafka_layout: kafka_service.BrokerLayout,
) -> None:
    """The single broker of the stack is stopped while `generate_tickets` runs, and again once
    the Spark job holds the hour, each time for :data:`BROKER_DOWN_S`: the Kafka clients wait for
    it (an attempt that gives up is retried by its task), the run publishes the hour with the same
    totals, and meanwhile readers see the hour as it was. (The published hour of the kill tests:
    generation still asks the broker which of the hour's tickets it holds.)"""
    stats = Path(airflow_env["STATS_DIR"])
    before = hour_state(stats, KILL_HOUR)
    log = tmp_path / "run.log"
    process = _start_run(airflow_env, KILL_HOUR, log)
    hour_lock = Path(artifacts.hour_lock_path(str(stats), KILL_HOUR))

    def unchanged() -> None:
        assert_same_state(hour_state(stats, KILL_HOUR), before)

    try:
        _wait_for_text("[DAG TEST] starting task_id=generate_tickets ", process, log)
        _broker_down(kafka_layout, process, unchanged)
        _wait_for(hour_lock, process, log)  # the job holds the hour: it is landing or analysing
        _broker_down(kafka_layout, process, unchanged)
        output = _finish(process, log)
    finally:
        if process.poll() is None:
            process.kill()
    generation = output.split("[DAG TEST] starting task_id=generate_tickets ", 1)[1]
    assert "Connection refused" in generation.split("[DAG TEST] end task task_id=generate_tickets ", 1)[0]
    summary = assert_accounted(stats, KILL_HOUR, kafka_bootstrap)
    assert summary["totals"] == before["summary"]["totals"]
    assert summary["totals"] == published["summary"]["totals"]


def test_two_runs_of_the_same_hour_never_interleave(
    published: dict, airflow_env: dict[str, str], tmp_path: Path, kafka_bootstrap: str
) -> None:
    """A second run of an hour that a first run is processing (a manual run and a backfill of the
    same hour, say) is refused at once with one line naming the holder (exit 4: the task retries
    later); the hour stays as it was. (Last in this module: the first run is killed holding the
    hour's lock, which a later run of the hour takes over once its lease expires.)"""
    stats = Path(airflow_env["STATS_DIR"])
    before = hour_state(stats, KILL_HOUR)
    marker = tmp_path / "first.held"

    def job(run_id: str) -> list[str]:
        arguments = JobArguments(
            interval=KILL_HOUR,
            run_id=run_id,
            bootstrap=kafka_bootstrap,
            artifacts_root=airflow_env["STATS_DIR"],
        )
        return submission(arguments.argv()).command()

    first_log = tmp_path / "first.log"
    with first_log.open("w") as out:
        first = subprocess.Popen(
            job("fault-first"),
            env={**airflow_env, "TICKETS_FAULT_POINT": f"analysis:{marker}"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(marker, first, first_log)
        second = subprocess.run(
            job("fault-second"), env=airflow_env, capture_output=True, text=True, timeout=600
        )
        output = second.stdout + second.stderr  # the driver's stderr reaches spark-submit's stdout
        assert second.returncode == 4, output[-4000:]
        errors = [line for line in output.splitlines() if line.startswith("analyze_tickets: error:")]
        assert len(errors) == 1 and "another run is processing the hour" in errors[0], output[-4000:]
        assert '"run_id": "fault-first"' in errors[0]
        assert "Traceback" not in output
        assert_same_state(hour_state(stats, KILL_HOUR), before)
    finally:
        _kill_job(marker)
        first.wait(timeout=60)
    assert_same_state(hour_state(stats, KILL_HOUR), before)


@pytest.fixture
def small_file_system(tmp_path: Path) -> Iterator[Path]:
    """A 96 MiB tmpfs mounted for the test (the suite runs as root: `make test` on this machine)."""
    mount_point = tmp_path / "small-fs"
    mount_point.mkdir()
    assert os.geteuid() == 0, "the full-file-system fault mounts a tmpfs: run the suite as root"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(mount_point: Path) -> Path:
    """A file taking every free byte of ``mount_point``."""
    filler = mount_point / "filler"
    with filler.open("wb") as out:
        chunk = b"\0" * (1 << 20)
        try:
            while True:
                out.write(chunk)
                out.flush()
        except OSError:
            pass
    assert os.statvfs(mount_point).f_bavail == 0
    return filler


def test_artifacts_file_system_full(
    small_file_system: Path, airflow_env: dict[str, str], tmp_path: Path, kafka_bootstrap: str
) -> None:
    """The artifacts' file system is full while a run reprocesses a published hour: the attempt
    fails, readers keep the hour's previous state; once space is freed, the task's retry publishes
    the hour."""
    env = {**airflow_env, "STATS_DIR": str(small_file_system / "stats")}
    stats = Path(env["STATS_DIR"])
    _run(env, FULL_FS_HOUR, tmp_path / "first.log")
    before = hour_state(stats, FULL_FS_HOUR)
    filler = _fill(small_file_system)
    log = tmp_path / "run.log"
    process = _start_run(env, FULL_FS_HOUR, log)
    try:
        _wait_for_text("No space left on device", process, log)
        _wait_for_text("[DAG TEST] starting task_id=analyze ", process, log)
        assert_same_state(hour_state(stats, FULL_FS_HOUR), before)
        filler.unlink()  # the operator frees space; the retry goes through
        output = _finish(process, log)
    finally:
        if process.poll() is None:
            process.kill()
    assert output.count("[DAG TEST] starting task_id=analyze ") >= 2
    summary = assert_accounted(stats, FULL_FS_HOUR, kafka_bootstrap)
    assert summary["totals"] == before["summary"]["totals"]
