"""Running the analysis job as its callers do, through spark-submit, and reading its run report."""

from __future__ import annotations

import dataclasses
import subprocess
import tempfile
from pathlib import Path

from ticket_etl.job_args import JobArguments
from ticket_etl.job_contract import RunReport, read_report
from ticket_etl.spark_submit import submission


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
    errors = [line for line in result.stderr.splitlines() if "analyze_tickets: error" in line]
    assert result.returncode == 0 and report is not None, errors or result.stderr[-3000:]
    return report.as_dict()
