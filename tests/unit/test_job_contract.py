"""The job's contract: the run report round trip, and how the operator reads an outcome."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowException

from ticket_airflow import tasks
from ticket_airflow.operators import outcome_error
from ticket_etl.interval import Interval
from ticket_etl.job_contract import ExitCode, RunReport, read_report, write_report

HOUR = Interval.parse("2026-11-28T04:00:00Z", "2026-11-28T05:00:00Z")
PREVIOUS = Interval.parse("2026-11-28T03:00:00Z", "2026-11-28T04:00:00Z")
SUMMARY = {
    "interval": HOUR.as_dict(),
    "run": {"run_id": "manual-1", "generated_at": "2026-11-28T05:01:00Z"},
    "rules_version": "3",
    "totals": {
        "read": 10,
        "enriched": 8,
        "rejected": 1,
        "duplicates": 1,
        "updates": 0,
        "earlier_tickets_updated": 0,
    },
    "reconciliation": {"read": 10, "enriched_rejected_duplicates_updates": 10, "holds": True},
    "published": {"tickets_enriched": 8},
    "ingest": {
        "records": 12,
        "hours": {},
        "late_hours": [{**HOUR.as_dict(), "records": 2}],
        "unpublished_hours": [{**PREVIOUS.as_dict(), "records": 7}],
    },
    "alerts": [{"term": "paiement refusé", "kind": "phrase", "tickets": 60, "expected": 2.0, "score": 250.0}],
    "routing_changes": {
        "tickets": 2,
        "moves": {"support_general -> produit": 2},
        "tombstones": {"tickets_equipe_support_general": 2},
    },
    "updated_later": 1,
}


def test_a_report_survives_its_file_and_carries_the_asset_figures(tmp_path: Path) -> None:
    report = RunReport.of_summary(SUMMARY, "/data/stats")
    write_report(tmp_path / "report.json", report)
    read = read_report(tmp_path / "report.json")
    assert read == report and read.hour == HOUR and read.exit_code is ExitCode.OK
    assert tasks.asset_extra(report.as_dict()) == {
        "interval": HOUR.as_dict(),
        "run_id": "manual-1",
        "location": "/data/stats",
        "rules_version": "3",
        **SUMMARY["totals"],
        "published": {"tickets_enriched": 8},
        "late_hours": [{**HOUR.as_dict(), "records": 2}],
        "unpublished_hours": [{**PREVIOUS.as_dict(), "records": 7}],
        "alerts": SUMMARY["alerts"],
        "routing_changes": SUMMARY["routing_changes"],
        "updated_later": 1,
    }
    (late_run,) = tasks.late_hour_runs(report.as_dict(), "scheduled__x")
    assert late_run["conf"]["interval_start"] == "2026-11-28T04:00:00Z"


def test_no_report_is_none(tmp_path: Path) -> None:
    assert read_report(tmp_path / "absent.json") is None


@pytest.mark.parametrize(
    ("code", "retried"),
    [
        (ExitCode.DATA_ERROR, False),
        (ExitCode.FAILURE, True),
        (ExitCode.SOURCE_UNREADABLE, True),
        (ExitCode.BUSY, True),
    ],
)
def test_only_a_data_error_is_not_retried(code: ExitCode, retried: bool) -> None:
    error = outcome_error(RunReport.failed(code, "the reason"), AirflowException("spark-submit failed"))
    assert isinstance(error, AirflowException) == retried
    assert isinstance(error, tasks.DataError) != retried
    assert "the reason" in str(error)


def test_a_job_killed_before_its_report_keeps_the_providers_error() -> None:
    provider = AirflowException("Cannot execute: spark-submit ... Error code is: -9.")
    assert outcome_error(None, provider) is provider


def test_the_data_error_adapter_fails_without_retry() -> None:
    from airflow.sdk.exceptions import AirflowFailException

    @tasks.data_error_fails
    def bad() -> None:
        raise tasks.DataError("rules file not found: x.yaml")

    with pytest.raises(AirflowFailException, match=r"^data error \(not retried\): rules file not found"):
        bad()
