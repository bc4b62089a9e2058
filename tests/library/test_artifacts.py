"""Promotion and the root summary: it follows the most recent hour that has ended, and only that."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ticket_etl import artifacts
from ticket_etl.interval import Interval


def _hour(start: datetime) -> Interval:
    return Interval(start, start + timedelta(hours=1))


def _publish(output: Path, interval: Interval, run_id: str) -> dict:
    """A staged run of ``interval`` (a summary and a manifest, as the job writes them), promoted."""
    staged = artifacts.staging_dir(output, run_id)
    summary = {"interval": interval.as_dict(), "run": {"run_id": run_id}, "totals": {"read": 1}}
    artifacts.write_json_atomic(staged / artifacts.INSIGHTS_DATASET / artifacts.SUMMARY_NAME, summary)
    artifacts.write_json_atomic(staged / artifacts.MANIFEST_NAME, {"interval": interval.as_dict()})
    return artifacts.promote(output, run_id)


def _latest(output: Path) -> str:
    return json.loads((output / artifacts.SUMMARY_NAME).read_text())["run"]["run_id"]


def test_latest_moves_forward_only(tmp_path: Path) -> None:
    _publish(tmp_path, _hour(datetime(2026, 11, 28, 4, tzinfo=UTC)), "r4")
    _publish(tmp_path, _hour(datetime(2026, 11, 28, 2, tzinfo=UTC)), "r2")  # a backfill
    assert _latest(tmp_path) == "r4"
    _publish(tmp_path, _hour(datetime(2026, 11, 28, 4, tzinfo=UTC)), "r4-again")  # a reprocessing
    assert _latest(tmp_path) == "r4-again"


def test_an_hour_that_has_not_ended_never_becomes_the_latest(tmp_path: Path) -> None:
    _publish(tmp_path, _hour(datetime(2026, 11, 28, 4, tzinfo=UTC)), "r4")
    current = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for start, run_id in ((datetime(2030, 1, 1, tzinfo=UTC), "future"), (current, "current")):
        _publish(tmp_path, _hour(start), run_id)
        assert _latest(tmp_path) == "r4"


def test_a_latest_summary_of_an_unended_hour_is_repaired_by_the_next_promotion(tmp_path: Path) -> None:
    """As left by a version without the rule: the root points at 2030; the next run repairs it."""
    _publish(tmp_path, _hour(datetime(2026, 11, 28, 4, tzinfo=UTC)), "r4")
    future = _hour(datetime(2030, 1, 1, tzinfo=UTC))
    future_summary = {"interval": future.as_dict(), "run": {"run_id": "future"}}
    artifacts.write_json_atomic(
        artifacts.partition_dir(tmp_path, "insights", future) / artifacts.SUMMARY_NAME, future_summary
    )
    artifacts.write_json_atomic(tmp_path / artifacts.SUMMARY_NAME, future_summary)
    _publish(tmp_path, _hour(datetime(2026, 11, 28, 2, tzinfo=UTC)), "r2")  # older than r4: r4 wins
    assert _latest(tmp_path) == "r4"
