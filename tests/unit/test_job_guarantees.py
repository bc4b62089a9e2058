"""What a run guarantees whatever happens (issue 22): the hour it accepts, how a bad command line
ends, that only checked output is promoted, and that the summary is never missing while replaced.
No service: the job's own functions on a local Spark session, and its entry point as a process."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ticket_etl import artifacts
from ticket_etl.config import SPARK_JOBS_DIR
from ticket_etl.interval import Interval
from ticket_etl.job_args import JobArguments
from ticket_etl.job_contract import ERROR_PREFIX, ExitCode, read_report

HOUR = Interval.parse("2026-11-28T04:00:00Z", "2026-11-28T05:00:00Z")
JOB = SPARK_JOBS_DIR / "analyze_tickets.py"


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-11-28T04:30:00Z", "2026-11-28T05:30:00Z"), ("2026-11-28T04:00:00Z", "2026-11-28T06:00:00Z")],
)
def test_an_interval_that_is_not_one_utc_hour_is_refused(start: str, end: str) -> None:
    with pytest.raises(ValueError, match="one UTC hour"):
        JobArguments(interval=Interval.parse(start, end), run_id="r")


def _job(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, Path]:
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, str(JOB), *args, "--report", str(report)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result, report


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["--start", "2026-11-28T04:30:00Z", "--end", "2026-11-28T05:30:00Z", "--run-id", "r"],
            "one UTC hour",
        ),
        (["--start", "2026-11-28T04:00:00Z", "--end", "2026-11-28T05:00:00Z"], "--run-id"),
        (["--start", "yesterday", "--end", "2026-11-28T05:00:00Z", "--run-id", "r"], "yesterday"),
        (
            [
                "--start",
                "2026-11-28T04:00:00Z",
                "--end",
                "2026-11-28T05:00:00Z",
                "--run-id",
                "r",
                "--output",
                "s3a://b/s",
            ],
            "s3a://",
        ),
    ],
)
def test_a_bad_command_line_is_a_data_error_with_the_jobs_line_and_report(
    tmp_path: Path, args: list[str], said: str
) -> None:
    result, report = _job(tmp_path, *args)
    assert result.returncode == ExitCode.DATA_ERROR
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(ERROR_PREFIX) and said in last, result.stderr
    assert "Traceback" not in result.stderr
    written = read_report(report)
    assert written is not None and written.exit_code is ExitCode.DATA_ERROR and said in written.error


@pytest.fixture
def store(spark):
    from ticket_analysis.storage import HadoopStore

    return HadoopStore(spark)


def _stage(store, root: str, run_id: str, holds: bool) -> dict:
    """A staged run with every dataset written, whose counts reconcile or not."""
    staged = artifacts.staging_path(root, run_id)
    for dataset in artifacts.PARQUET_DATASETS:
        store.write_bytes(f"{staged}/{dataset}/{artifacts.SUCCESS_MARKER}", b"")
    read = 10 if holds else 11
    return {
        "interval": HOUR.as_dict(),
        "run": {"run_id": run_id, "generated_at": "2026-11-28T05:01:00Z"},
        "totals": {
            "read": read,
            "enriched": 8,
            "rejected": 1,
            "duplicates": 1,
            "updates": 0,
            "earlier_tickets_updated": 0,
        },
        "reconciliation": {"read": read, "enriched_rejected_duplicates_updates": 10, "holds": holds},
    }


def test_a_staging_that_failed_its_checks_is_never_promoted(store, tmp_path: Path) -> None:
    """The attempt's checks fail; a later attempt of the same run (a cleared task, a backfill with
    --reprocess-behavior completed) must not promote what was refused."""
    from ticket_analysis import publication

    root, run_id = str(tmp_path), "manual__1"
    summary = _stage(store, root, run_id, holds=False)
    publication.stage_summary(store, artifacts.staging_path(root, run_id), summary)
    with pytest.raises(publication.PublicationError, match="reconciliation fails"):
        publication.check_staged(store, artifacts.staging_path(root, run_id), summary)
    assert publication.finish_interrupted(store, root, run_id) is False
    assert artifacts.read_summary(root, HOUR) is None


def test_a_checked_staging_is_finished_by_the_next_attempt(store, tmp_path: Path) -> None:
    from ticket_analysis import publication

    root, run_id = str(tmp_path), "manual__2"
    staged = artifacts.staging_path(root, run_id)
    summary = _stage(store, root, run_id, holds=True)
    publication.stage_summary(store, staged, summary)
    publication.check_staged(store, staged, summary)
    publication.mark_checked(store, staged, summary)
    assert publication.finish_interrupted(store, root, run_id) is True
    assert artifacts.read_summary(root, HOUR)["run"]["run_id"] == run_id


def test_a_reader_never_finds_the_summary_missing_while_it_is_replaced(store, tmp_path: Path) -> None:
    target = tmp_path / "insights_summary.json"
    store.write_json_atomic(str(target), {"version": 0})
    missing: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                json.loads(target.read_text())
            except (FileNotFoundError, json.JSONDecodeError) as error:
                missing.append(type(error).__name__)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for version in range(1, 101):
            store.write_json_atomic(str(target), {"version": version})
    finally:
        done.set()
        reader.join()
    assert missing == []
    assert json.loads(target.read_text()) == {"version": 100}
