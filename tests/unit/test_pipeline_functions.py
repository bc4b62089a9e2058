"""The interval a run processes, by run type."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from timeline import in_progress_hour_start

from ticket_airflow.tasks import DataError, resolve_interval


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _airflow_run_types() -> list:
    from airflow.sdk.api.datamodels._generated import DagRunType  # what tasks get: str() is "DagRunType.X"

    return [DagRunType.SCHEDULED, DagRunType.BACKFILL]


@pytest.mark.parametrize("run_type", ["scheduled", "backfill", *_airflow_run_types()])
def test_scheduled_and_backfill_runs_use_their_data_interval(run_type) -> None:
    interval = resolve_interval(
        run_type,
        _utc(2026, 11, 28, 4),
        _utc(2026, 11, 28, 5),
        _utc(2026, 11, 28, 4),
        _utc(2026, 11, 28, 5),
        None,
    )
    assert (interval.start, interval.end) == (_utc(2026, 11, 28, 4), _utc(2026, 11, 28, 5))


def test_manual_run_processes_the_last_complete_hour() -> None:
    interval = resolve_interval(
        "manual",
        _utc(2026, 11, 28, 12, 27),
        _utc(2026, 11, 28, 13, 27),
        _utc(2026, 11, 28, 13, 27),
        _utc(2026, 11, 28, 13, 27, 10),
        None,
    )
    assert (interval.start, interval.end) == (_utc(2026, 11, 28, 12), _utc(2026, 11, 28, 13))


def test_manual_run_with_a_logical_date_processes_the_hour_before_it() -> None:
    interval = resolve_interval(
        "manual",
        _utc(2026, 11, 27, 10),
        _utc(2026, 11, 27, 11),
        _utc(2026, 11, 27, 11),
        _utc(2026, 11, 28, 13, 2),
        None,
    )
    assert (interval.start, interval.end) == (_utc(2026, 11, 27, 10), _utc(2026, 11, 27, 11))


def test_manual_run_without_data_interval() -> None:
    interval = resolve_interval("manual", None, None, None, _utc(2026, 11, 28, 0, 5), None)
    assert (interval.start, interval.end) == (_utc(2026, 11, 27, 23), _utc(2026, 11, 28, 0))


def test_interval_start_param_wins_and_must_be_on_the_hour() -> None:
    interval = resolve_interval("manual", None, None, None, _utc(2026, 11, 28, 13), "2026-11-20T07:00:00Z")
    assert (interval.start, interval.end) == (_utc(2026, 11, 20, 7), _utc(2026, 11, 20, 8))
    with pytest.raises(DataError, match="on the hour"):
        resolve_interval("manual", None, None, None, _utc(2026, 11, 28, 13), "2026-11-20T07:30:00Z")


@pytest.mark.parametrize("hour", ["2030-01-01T00:00:00Z", "current"])
def test_an_hour_that_has_not_ended_is_a_data_error(hour: str) -> None:
    now = datetime.now(UTC)
    start = in_progress_hour_start(now).isoformat() if hour == "current" else hour
    with pytest.raises(DataError, match=r"has not ended \(it is .* now\)"):
        resolve_interval("manual", None, None, None, now, start)
