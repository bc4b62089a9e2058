"""The interval a run processes, by run type; the runs it starts for hours that received late
records (bounded, no chains, unique run ids)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from timeline import in_progress_hour_start

from ticket_airflow import tasks
from ticket_airflow.tasks import DataError, resolve_interval
from ticket_etl.interval import Interval
from ticket_etl.job_contract import ExitCode, RunReport


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


NOW = datetime(2026, 11, 28, 12, 5, 30, tzinfo=UTC)


def _report(*hours: int) -> dict:
    """A run report that landed late records for these hours of 2026-11-28."""
    late = [{**Interval.hour_starting(_utc(2026, 11, 28, h)).as_dict(), "records": 2} for h in hours]
    return RunReport(exit_code=ExitCode.OK, ingest={"late_hours": late}).as_dict()


def test_late_hours_start_a_bounded_number_of_runs_the_newest_hours_first() -> None:
    runs = tasks.late_hour_runs(_report(*range(10)), "scheduled__2026-11-28T12:00:00+00:00", now=NOW)
    assert tasks.MAX_LATE_HOUR_RUNS == 6
    assert [run["conf"]["interval_start"] for run in runs] == [
        f"2026-11-28T{h:02d}:00:00Z" for h in (9, 8, 7, 6, 5, 4)
    ]


def test_a_late_hour_run_starts_no_late_hour_runs_of_its_own() -> None:
    """A producer with a skewed clock makes every run find late hours: the runs started for them
    do not start more (no chain)."""
    (run,) = tasks.late_hour_runs(_report(4), "scheduled__x", now=NOW)
    assert run["conf"] == {
        "interval_start": "2026-11-28T04:00:00Z",
        "generate": False,
        "reprocess_late_hours": False,
    }


def test_no_late_hour_runs_when_the_param_is_off() -> None:
    assert tasks.late_hour_runs(_report(4, 5), "scheduled__x", enabled=False, now=NOW) == []


def _run_ids(hours: tuple[int, ...], parent: str, now: datetime = NOW) -> list[str]:
    return [run["trigger_run_id"] for run in tasks.late_hour_runs(_report(*hours), parent, now=now)]


def test_late_hour_run_ids_are_readable() -> None:
    assert _run_ids((4,), "scheduled__2026-11-28T12:00:00+00:00") == [
        "late__2026-11-28T04:00:00Z__at__2026-11-28T12:05:30Z__after__scheduled__2026-11-28T12:00:00+00:00"
    ]


def test_late_hour_run_ids_are_unique_and_within_airflows_limits() -> None:
    """Parent run ids too long for Airflow's limit that differ only at their end; the same parent
    run id again later (a backfill with --reprocess-behavior completed reuses its run ids)."""
    from airflow.configuration import conf
    from airflow.models.base import ID_LEN

    allowed = re.compile(conf.get("scheduler", "allowed_run_id_pattern"))
    long_ids = [f"manual__{'x' * 300}{end}" for end in "ab"]
    ids = [
        *_run_ids((4, 5), long_ids[0]),
        *_run_ids((4, 5), long_ids[1]),
        *_run_ids((4, 5), "scheduled__x"),
        *_run_ids((4, 5), "scheduled__x", now=NOW + timedelta(minutes=40)),
    ]
    assert len(set(ids)) == len(ids), ids
    assert all(len(run_id) <= ID_LEN and allowed.fullmatch(run_id) for run_id in ids), ids
    assert all(run_id.startswith("late__2026-11-28T0") for run_id in ids)


def test_an_hour_waits_for_the_running_runs_of_the_hours_its_analysis_reads(monkeypatch) -> None:
    """The runs of the 24 hours before (their logical dates: each hour's start), running ones only:
    a failed or queued earlier hour does not hold the later ones."""
    monkeypatch.setenv("KEYWORD_BASELINE_HOURS", "6")
    asked: list[dict] = []

    def count_runs(running: int):
        def count(**criteria) -> int:
            asked.append(criteria)
            return running

        return count

    hour = Interval.hour_starting(datetime(2026, 11, 28, 4, tzinfo=UTC))
    assert tasks.earlier_hours_done(hour, count_runs(0)) is True
    assert tasks.earlier_hours_done(hour, count_runs(1)) is False
    dates = asked[0]["logical_dates"]
    assert asked[0]["states"] == ["running"]
    assert len(dates) == 24 and dates[0] == hour.start - timedelta(hours=1)
    assert dates[-1] == hour.start - timedelta(hours=24)
    monkeypatch.setenv("KEYWORD_BASELINE_HOURS", "48")
    tasks.earlier_hours_done(hour, count_runs(0))
    assert len(asked[-1]["logical_dates"]) == 48
