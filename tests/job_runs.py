"""Running the analysis job as its callers do, through spark-submit, and reading its run report."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ticket_etl.interval import Interval
from ticket_etl.job_args import JobArguments
from ticket_etl.job_contract import ERROR_PREFIX, RunReport, read_report
from ticket_etl.spark_submit import submission


def zone_args(zone: dict, interval: Interval, run_id: str, **extra) -> JobArguments:
    """The job's arguments for a test's own source topic (``zone``: ``bootstrap``, ``source``,
    ``output``), its dead-letter topic ``<source>_dlq``, and ``extra``."""
    return JobArguments(
        interval=interval,
        run_id=run_id,
        bootstrap=zone["bootstrap"],
        topic=zone["source"],
        dead_letter_topic=f"{zone['source']}_dlq",
        artifacts_root=zone["output"],
        **extra,
    )


def run_job(
    args: JobArguments, master: str | None = None, timeout: int = 900
) -> tuple[subprocess.CompletedProcess, RunReport | None]:
    """One spark-submit of the job with ``args``; its process and the report it wrote."""
    with tempfile.TemporaryDirectory(prefix="job-report-") as folder:
        report = Path(folder) / "report.json"
        reporting = dataclasses.replace(args, report=str(report))
        command = submission(reporting.argv()).command(master)
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        return result, read_report(report)


def published(args: JobArguments, master: str | None = None) -> dict:
    """The run report (as the ``analyze`` task returns it) of a run that must succeed."""
    result, report = run_job(args, master)
    output = (result.stdout + result.stderr).splitlines()
    errors = [line for line in output if line.startswith(ERROR_PREFIX)] or ([report.error] if report else [])
    assert result.returncode == 0 and report is not None, errors or result.stderr[-3000:]
    return report.as_dict()


def killed_at(args: JobArguments, point: str, folder: Path, deadline_s: float = 600) -> None:
    """One spark-submit of the job that holds at the fault point ``point``
    (``ticket_analysis.faults``) and is SIGKILLed there, with its whole process group; fails when
    the job ends before reaching it. ``folder``: where the point's marker file goes."""
    marker = folder / f"{point}.marker"
    env = {**os.environ, "TICKETS_FAULT_POINT": f"{point}:{marker}"}
    command = submission(args.argv()).command()
    job = subprocess.Popen(
        command, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + deadline_s
        while not marker.exists() and job.poll() is None and time.monotonic() < deadline:
            time.sleep(1)
        assert marker.exists(), f"the job did not reach the fault point {point} (exit code {job.poll()})"
    finally:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()


def held_at(
    args: JobArguments, point: str, folder: Path, while_held: Callable[[], None], timeout_s: float = 900
) -> tuple[int, RunReport | None]:
    """One spark-submit of the job that holds at the fault point ``point``; ``while_held()`` runs
    there, then the job goes on. Its exit code and report."""
    marker = folder / f"{point}.marker"
    report = folder / "report.json"
    env = {**os.environ, "TICKETS_FAULT_POINT": f"{point}:{marker}"}
    command = submission(dataclasses.replace(args, report=str(report)).argv()).command()
    job = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not marker.exists() and job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert marker.exists(), f"the job did not reach the fault point {point} (exit code {job.poll()})"
        while_held()
        marker.unlink()
        return job.wait(timeout=timeout_s), read_report(report)
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
