"""The root summary's rule: it follows the most recent hour that has ended, and only that (the job
applies it at promotion: tests/spark/test_landing_zone.py runs it for real)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from timeline import in_progress_hour_start

from ticket_etl.artifacts import next_latest
from ticket_etl.interval import Interval


def _summary(start: datetime, run_id: str) -> dict:
    return {"interval": Interval.hour_starting(start).as_dict(), "run": {"run_id": run_id}}


H4 = _summary(datetime(2026, 11, 28, 4, tzinfo=UTC), "r4")
H2 = _summary(datetime(2026, 11, 28, 2, tzinfo=UTC), "r2")
FUTURE = _summary(datetime(2030, 1, 1, tzinfo=UTC), "future")


def _never_asked() -> dict:
    raise AssertionError("the published hours are read only to repair the root summary")


def test_the_latest_moves_forward_only() -> None:
    assert next_latest(H2, H4, _never_asked) == H4
    assert next_latest(H4, H2, _never_asked) is None  # a backfill of an older hour
    again = _summary(datetime(2026, 11, 28, 4, tzinfo=UTC), "r4-again")
    assert next_latest(H4, again, _never_asked) == again  # a reprocessing of the latest hour


def test_an_hour_that_has_not_ended_never_becomes_the_latest() -> None:
    assert next_latest(H4, FUTURE, _never_asked) is None
    now = datetime.now(UTC)
    current = _summary(in_progress_hour_start(now), "current")
    assert next_latest(H4, current, _never_asked, now=now) is None


def test_a_latest_summary_of_an_unended_hour_is_repaired() -> None:
    """As left by a version without the rule: the root points at 2030; the next promotion puts
    the most recent published hour that has ended there."""
    assert next_latest(FUTURE, H2, lambda: H4) == H4
    assert next_latest(None, H2, lambda: H2) == H2  # no root summary yet


def test_the_allowance_for_clock_skew() -> None:
    hour = Interval.hour_starting(datetime(2026, 11, 28, 4, tzinfo=UTC))
    just_before_end = hour.end - timedelta(seconds=30)
    assert next_latest(H2, _summary(hour.start, "r"), _never_asked, now=just_before_end) is not None
